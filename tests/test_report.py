"""Pictures, report.html, bench.show, and plain console output off a terminal."""

import json
import re

import pytest
from PIL import Image

from bench.show import main as show_main
from conftest import run_dirs


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, digits_npz):
    """One quick-grid run on 300 real digits with ground truth; (folder, console output)."""
    from bench.run import main
    import contextlib
    import io
    out = tmp_path_factory.mktemp("report") / "results"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["--data", str(digits_npz), "--grid", "quick", "--epochs", "3", "--jobs", "1",
                     "--out", str(out)])
    assert code == 0
    [folder] = run_dirs(out)
    return folder, buffer.getvalue()


def test_every_picture_is_a_valid_png(finished_run):
    folder, _ = finished_run
    names = {p.name for p in folder.glob("*.png")}
    assert {f"cluster_{i}.png" for i in range(10)} <= names
    assert {"map.png", "agreement.png", "scores.png", "encoder_baseline_epochs_3.png"} <= names
    assert not any(n.startswith("encoder_pixels") for n in names)  # nothing trained, nothing to show
    for path in folder.glob("*.png"):
        with Image.open(path) as im:
            im.verify()
            assert im.format == "PNG" and min(im.size) >= 60 and 300 <= max(im.size) <= 4000, path.name


def test_report_is_self_contained_and_lists_the_leaderboard(finished_run):
    import pandas as pd
    folder, _ = finished_run
    page = (folder / "report.html").read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:)", page)
    assert "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') == len(list(folder.glob("*.png")))
    assert page.count('src="data:image/jpeg;base64,') == len(list(folder.glob("*.jpg"))) == 10
    for combo in pd.read_csv(folder / "leaderboard.csv")["combo"]:
        assert f">{combo}<" in page


def test_board_leads_with_the_ranking_columns_then_acc(finished_run):
    folder, _ = finished_run
    page = (folder / "report.html").read_text()
    board = page[page.index('<table id="board">'):]
    headings = re.findall(r"<th>([^<]*)</th>", board[:board.index("</thead>")])
    # k = 10: the global level does not rank, so its column is not among the first
    assert headings[:6] == ["rank", "combo", "enc_pretrained", "enc_halves", "encoder_agreement", "acc"]
    assert "warnings" not in headings and len(headings) == len(set(headings))
    # the grid at a glance names each encoder with its encoder score (halves), not a level flag
    import pandas as pd

    from bench.report import _cell
    table = pd.read_csv(folder / "leaderboard.csv")
    glance = page[:page.index('<table id="board">')]
    for encoder, halves in table.groupby("encoder")["enc_halves"].first().items():
        assert f"{encoder} ({_cell(halves)})" in glance
    first_row = board[board.index('<tbody class="ok">'):].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(?:<span[^>]*>)?([^<]*)", first_row)
    assert len(cells) == len(headings) and re.fullmatch(r"\d+\.\d", cells[headings.index("encode_s")])


def test_show_reprints_the_leaderboard(finished_run, capsys):
    folder, printed = finished_run
    assert show_main([str(folder)]) == 0
    shown = capsys.readouterr().out
    table = printed[printed.index("Leaderboard"):printed.index("run summary")]
    assert table in shown
    assert show_main(["--out", str(folder.parent)]) == 0  # the latest run by default
    assert table in capsys.readouterr().out


def test_show_reads_a_run_from_before_the_warnings_column(finished_run, tmp_path, capsys):
    import shutil

    import pandas as pd
    folder, printed = finished_run
    old = shutil.copytree(folder, tmp_path / folder.name)
    board = pd.read_csv(old / "leaderboard.csv")
    board.drop(columns="warnings").to_csv(old / "leaderboard.csv", index=False)
    assert show_main([str(old)]) == 0
    assert printed[printed.index("Leaderboard"):printed.index("run summary")] in capsys.readouterr().out


def test_a_run_from_before_the_global_column_gets_it_from_the_registry(tmp_path):
    import pandas as pd

    from bench.show import read_run
    (tmp_path / "run.json").write_text("{}")
    pd.DataFrame({"combo": list("abcde"), "reducer": ["umap10", "pca32", "tsne2(perplexity=50)", "mine", "pca32(n_components=8)"],
                  "enc_pretrained": 0.0, "acc": 0.5}).to_csv(tmp_path / "leaderboard.csv", index=False)
    _, table = read_run(tmp_path)
    assert list(table.columns) == ["combo", "reducer", "enc_pretrained", "red_global", "acc"]
    assert list(table["red_global"]) == [0.0, 1.0, 0.0, 1.0, 1.0]  # a name the registry lacks: global


def test_show_compare_names_what_moved_between_two_runs(finished_run, tmp_path, capsys):
    import shutil

    import pandas as pd
    folder, _ = finished_run
    other = shutil.copytree(folder, tmp_path / "other")
    board = pd.read_csv(other / "leaderboard.csv")
    board.loc[[0, 1], "combo"] = board.loc[[1, 0], "combo"].to_numpy()  # the top two swapped
    board.loc[2, "status"] = "cluster failed: ValueError: boom"
    board = board[board["combo"] != board["combo"].iloc[-1]]  # the last combo gone
    board.to_csv(other / "leaderboard.csv", index=False)
    assert show_main(["--compare", str(folder), str(other)]) == 0
    printed = capsys.readouterr().out
    first, second = pd.read_csv(folder / "leaderboard.csv")["combo"].iloc[:2]
    assert "3 of 11 shared combos changed rank or status" in printed
    from bench.console import short_combo
    assert short_combo(second) in printed and "2 -> 1" in printed and "1 -> 2" in printed
    assert "ok -> cluster failed" in printed
    assert f"only in {folder.name} (1): " in printed
    assert "different images" not in printed
    record = json.loads((other / "run.json").read_text())
    record["data"]["fingerprint"] = "another"
    (other / "run.json").write_text(json.dumps(record))
    shutil.copy(folder / "leaderboard.csv", other / "leaderboard.csv")
    assert show_main(["--compare", str(folder), str(other)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "different images (their fingerprints differ)" in printed
    assert "none of the 12 shared combos changed rank or status" in printed and "largest moves" not in printed


def test_index_lists_every_run_newest_first(finished_run):
    folder, _ = finished_run
    index = (folder.parent / "index.html").read_text()
    assert f'href="{folder.name}/report.html"' in index and "<p>1 run, newest first" in index


def test_show_refuses_a_folder_without_a_run(tmp_path, capsys, finished_run):
    assert show_main([str(tmp_path)]) == 2
    assert "not a finished run folder" in capsys.readouterr().err
    assert show_main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'}: no such folder\n"
    runs = finished_run[0].parent  # results/: a folder of runs, not a run
    assert show_main([str(runs)]) == 2
    assert f"holds runs, is not one; name one of them, or --out {runs} for the newest" in capsys.readouterr().err


def test_console_off_a_terminal_has_no_control_codes(finished_run):
    _, printed = finished_run
    assert "\x1b" not in printed and "\r" not in printed
    assert "run summary" in printed and "encode (train encoders)" in printed


def test_the_leaderboard_fits_80_columns_and_loses_nothing(finished_run):
    """Off a terminal rich is 80 columns wide and crops what is wider: the table must narrow its
    combo column instead, even with the longest rule, slow stages and failed combos."""
    import io

    import pandas as pd
    from rich.console import Console

    from bench.console import leaderboard_table
    folder, _ = finished_run
    table = pd.read_csv(folder / "leaderboard.csv")
    table.loc[0, ["encode_s", "reduce_s", "cluster_s"]] = [1234.5, 0.0, 0.0]  # shown as their sum
    reason = "degenerate: smallest cluster 2 images, 0.04% of an even share (< 5%)"
    table.loc[len(table) - 1, "status"] = reason
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(leaderboard_table(
        table, [1, 2], "pretrained > halves > encoder_agreement"))
    printed = buffer.getvalue()
    assert max(map(len, printed.splitlines())) <= 80
    words = " ".join(printed.split())
    assert "pretrained > halves > encoder_agreement; ensemble members bold green, failed dimmed" in words
    assert reason in words and "1234.5" in words
    header = next(line for line in printed.splitlines() if " combo " in line).split()
    assert header[-4:] == ["k", "sec", "acc", "nmi"]

def test_no_plots_skips_pictures(digits_npz, run_cli, tmp_path):
    code, _, err = run_cli("--data", digits_npz, "--grid", "seed", "--epochs", "1", "--no-plots")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    assert sorted(p.name for p in folder.iterdir()) == ["combo_labels.npz", "leaderboard.csv", "run.json",
                                                        "submission.csv"]


def test_quiet_prints_nothing(digits_npz, run_cli):
    code, out, err = run_cli("--data", digits_npz, "--grid", "seed", "--epochs", "1", "--no-plots", "--quiet")
    assert code == 0 and out == "" and err == ""


def test_a_rerun_from_cache_reuses_the_pictures_and_a_changed_run_redraws(digits_npz, run_cli, tmp_path,
                                                                          monkeypatch):
    from bench import report
    drawn = []
    real = report.draw_pictures
    monkeypatch.setattr(report, "draw_pictures", lambda *a, **kw: drawn.append(1) or real(*a, **kw))
    args = ["--data", digits_npz, "--grid", "seed", "--epochs", "1", "--quiet"]
    for extra in ([], [], ["--rank-by", "silhouette"]):  # cold, warm, then another ranking of the same stages
        code, _, err = run_cli(*args, *extra, plots=True)
        assert code == 0, err
    first, second, third = run_dirs(tmp_path / "results")
    assert len(drawn) == 2  # the warm rerun drew nothing
    pictures = sorted(p.name for p in first.iterdir() if p.suffix in (".png", ".jpg"))
    assert pictures and pictures == sorted(p.name for p in second.iterdir() if p.suffix in (".png", ".jpg"))
    assert all((first / name).read_bytes() == (second / name).read_bytes() for name in pictures)
    assert (third / "report.html").exists()
