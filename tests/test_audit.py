"""The selection audit (`python -m bench.audit`, `bench.run_audit`): its figures on a board
computed by hand, on real runs (what a run ranked by the default rule did), read back from
finished runs, and its bad input."""

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from bench.audit import main
from bench.defaults import DEFAULT_RANK
from bench.selection_audit import SETTINGS, LabelledRun, evaluate

TRUTH = np.repeat([0, 1], 4)
LABELS = {  # ACC against TRUTH: a 1, b 7/8, c 1/2, d 6/8; e found 3 clusters, f is degenerate
    "a": [0, 0, 0, 0, 1, 1, 1, 1], "b": [0, 0, 0, 1, 1, 1, 1, 1], "c": [0, 0, 1, 1, 1, 1, 0, 0],
    "d": [0, 0, 0, 1, 1, 1, 1, 0], "e": [0, 0, 0, 0, 1, 1, 2, 2], "f": [0, 0, 0, 0, 0, 0, 0, 1]}


def board(top_k: int = 3, min_nmi: float = 0.0) -> LabelledRun:
    table = pd.DataFrame({
        "combo": list("abcdef"), "status": ["ok"] * 5 + ["degenerate: smallest cluster 1/8"],
        "clusters": [2, 2, 2, 2, 3, 2], "silhouette": [0.1, 0.8, 0.9, 0.7, 0.85, 0.99],
        "agreement": [0.9, 0.5, 0.2, 0.6, 0.1, 0.95], "acc": [1, 7 / 8, 1 / 2, 6 / 8, 7 / 8, 5 / 8]})
    return LabelledRun("hand", 0, 2, table, {c: np.array(v) for c, v in LABELS.items()}, TRUTH, None,
                       {**SETTINGS, "top_k": top_k, "min_nmi": min_nmi})


def test_figures_on_a_board_computed_by_hand():
    rows = {r["rule"]: r for r in evaluate(board(), ["silhouette", "agreement"], ("vote",))}
    # silhouette: c (0.9) first, then e, b, d, a; f is degenerate, never ranked
    by_silhouette = rows["silhouette"]
    assert by_silhouette["top_combo"] == "c" and by_silhouette["oracle"] == 1.0
    assert by_silhouette["regret"] == pytest.approx(0.5)
    # members c, b, d (e found 3 clusters); b and d aligned to c keep their names; the vote per
    # image is 0 0 0 1 1 1 1 0: d's labels, ACC 6/8; the best member b
    assert by_silhouette["ensemble"] == pytest.approx(6 / 8) and by_silhouette["best_member"] == 7 / 8
    # order c e b d a against ACC 1/2 7/8 7/8 6/8 1: ranks 5 4 3 2 1 against 1 3.5 3.5 2 5,
    # deviations 2 1 0 -1 -2 against -2 .5 .5 -1 2
    assert by_silhouette["spearman"] == pytest.approx(-6.5 / np.sqrt(10 * 9.5))
    # agreement: a, d, b, c, e: the top-1 is the best combo, but its members a d b outvote it on
    # image 3 (d and b say 1): the vote is b's labels, 7/8
    by_agreement = rows["agreement"]
    assert by_agreement["top_combo"] == "a" and by_agreement["regret"] == 0.0
    assert by_agreement["ensemble"] == 7 / 8 and by_agreement["spearman"] == pytest.approx(4 / np.sqrt(10 * 9.5))


def test_members_need_min_nmi_with_the_top_one():
    # by silhouette, b and d share almost nothing with c (NMI < 0.3): c votes alone
    [row] = evaluate(board(min_nmi=0.3), ["silhouette"], ("vote",))
    assert row["ensemble"] == pytest.approx(0.5) and row["best_member"] == 0.5


def write_task(path, classes):
    digits = load_digits()
    keep = np.isin(digits.target, classes)
    x = np.round(digits.images[keep] * (255 / 16)).astype(np.uint8)
    np.savez(path, x=x, y=np.unique(digits.target[keep], return_inverse=True)[1])
    return path


GRID = """encoders = ["pixels"]
reducers = ["pca32", "svd50"]
clusterers = ["kmeans", "gmm", "ward"]
"""


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """Two small labelled tasks (digits 0/1 and 3/4/7) audited from scratch."""
    root = tmp_path_factory.mktemp("audit")
    (root / "grid.toml").write_text(GRID)
    tasks = [write_task(root / "zero-one.npz", [0, 1]), write_task(root / "three.npz", [3, 4, 7])]
    code = main(["--data", *map(str, tasks), "--grid", str(root / "grid.toml"), "--out", str(root / "out"),
                 "--jobs", "1", "--seeds", "0", "1", "--epochs", "2", "--quiet"])
    assert code == 0
    [folder] = root.glob("out/*-audit")
    return root, folder


def test_the_default_rule_measures_what_a_run_did(audited):
    _, folder = audited
    runs = pd.read_csv(folder / "audit.csv")
    default = runs[(runs["rule"] == DEFAULT_RANK) & (runs["method"] == "vote")]
    assert sorted(zip(default["task"], default["seed"])) == [("three", 0), ("three", 1), ("zero-one", 0),
                                                             ("zero-one", 1)]
    for run in json.loads((folder / "audit.json").read_text())["tasks"]:
        for seed, path in zip(run["seeds"], run["runs"]):
            record = json.loads((Path(path) / "run.json").read_text())
            board = pd.read_csv(Path(path) / "leaderboard.csv")
            row = default[(default["task"] == run["task"]) & (default["seed"] == seed)].iloc[0]
            # the run was ranked by the default rule: its top-1 and its ensemble are the audit's
            assert row["regret"] == pytest.approx(board["acc"].max() - board["acc"].iloc[0], abs=1e-6)
            assert row["ensemble"] == pytest.approx(record["ensemble"]["metrics"]["acc"], abs=1e-6)
    assert set(runs["method"]) == {"vote", "weighted", "coassoc"}
    assert (runs["top1"] <= runs["oracle"]).all() and (runs["best_member"] <= runs["oracle"]).all()


def test_finished_runs_audit_as_when_computed(audited, tmp_path):
    root, folder = audited
    assert main(["--runs", str(root / "out" / "audit-runs"), "--out", str(tmp_path), "--quiet"]) == 0
    [again] = tmp_path.glob("*-audit")
    assert (again / "audit.csv").read_bytes() == (folder / "audit.csv").read_bytes()


def test_the_choice_is_a_command_a_run_accepts(audited):
    import shlex

    from bench.run import parser
    root, folder = audited
    choice = json.loads((folder / "audit.json").read_text())["choice"]
    page = html.unescape((folder / "audit.html").read_text())
    assert choice["command"] in page and 'alt="score_vs_acc"' in page
    words = shlex.split(choice["command"].replace("YOUR_IMAGES", "x.npy"))
    assert words[:3] == ["python", "-m", "bench.run"]
    args = parser().parse_args(words[3:])
    assert (args.rank_by, args.ensemble, args.grid) == (choice["rule"], choice["method"], str(root / "grid.toml"))
    assert args.epochs == 2  # the audited runs' settings go with it


def test_the_default_stays_unless_beaten_by_more_than_the_margin():
    from bench.defaults import DEFAULT_RANK
    from bench.selection_audit import MARGIN, Audit

    def audit(ahead):
        rows = [{"task": t, "seed": 0, "rule": rule, "method": "vote", "regret": 0.0, "spearman": 0.0,
                 "ensemble": 0.8 + (ahead if rule == "silhouette" else 0)}
                for t in ("a", "b") for rule in (DEFAULT_RANK, "silhouette")]
        return Audit(pd.DataFrame(rows), pd.DataFrame(), dict(SETTINGS))
    assert audit(MARGIN / 2).choice["rule"] == DEFAULT_RANK
    assert audit(MARGIN * 2).choice["rule"] == "silhouette"
    assert audit(0.0).summary.index[0] == (DEFAULT_RANK, "vote")  # a tie: the default first


def test_a_choice_without_the_default_says_why_and_whether_it_tied():
    from bench.defaults import DEFAULT_RANK
    from bench.selection_audit import Audit
    rows = [{"task": t, "seed": 0, "rule": rule, "method": "vote", "regret": 0.0, "spearman": 0.0, "ensemble": 0.8}
            for t in ("a", "b") for rule in ("silhouette", "agreement")]
    why = Audit(pd.DataFrame(rows), pd.DataFrame(), dict(SETTINGS), undefined=[DEFAULT_RANK]).choice["why"]
    assert why == (f"the best by mean ensemble ACC (0.800, which 1 more reach too); the default "
                   f"({DEFAULT_RANK}, vote) was not audited: its scores have no values in these runs (one combo "
                   "per encoder leaves encoder_agreement none)")


def test_from_python_with_arrays(tmp_path):
    import bench
    digits = load_digits()
    keep = np.isin(digits.target, [0, 1])
    images = np.round(digits.images[keep] * (255 / 16)).astype(np.uint8)
    grid = bench.make_grid(["pixels"], ["pca32"], ["kmeans", "gmm"])
    audit = bench.run_audit({"zero-one": (images, digits.target[keep])}, grid=grid, rules=["silhouette", "agreement"],
                            methods=["vote"], out=tmp_path, jobs=1, progress=False)
    assert set(audit.runs["rule"]) == {"silhouette", "agreement"} and list(audit.tasks["task"]) == ["zero-one"]
    # read back from its run folder, the run audits as it does in memory
    [folder] = audit.tasks["runs"][0]
    result = bench.run_grid(images, grid=grid, labels=digits.target[keep], out=tmp_path / "again", jobs=1,
                            progress=False, cache=tmp_path / "cache")
    live = LabelledRun("zero-one", 0, 2, result.leaderboard, result.combo_labels, result.dataset.y, None)
    expected = pd.DataFrame(evaluate(live, ["silhouette", "agreement"], ("vote",)))
    pd.testing.assert_frame_equal(audit.runs, expected, atol=1e-6)
    assert folder.startswith(str(tmp_path / "audit-runs"))
    assert audit.write().parent == tmp_path  # beside its runs, as the command writes it


@pytest.mark.parametrize("problem, expected", [
    ("unlabelled", "no labels"),
    ("miscounted", "labels for"),
    ("rule", "rule (--rules) 'silhouete': not a ranking rule (did you mean 'silhouette'?)"),
    ("no-runs", "no labelled run"),
    ("runs-and-grid", "--grid is for --data"),
    ("seed-twice", "seeds [0, 0]: seed 0 is given twice"),
    ("minus-one", "task minus: labels: 3 images labelled -1 beside 2 classes"),  # not after `good` has run
])
def test_bad_input_is_one_line_and_runs_nothing(problem, expected, tmp_path, capsys):
    good = write_task(tmp_path / "good.npz", [0, 1])
    np.savez(tmp_path / "bare.npz", x=np.load(good)["x"])
    np.save(tmp_path / "few.npy", np.zeros(3, dtype=np.int64))
    x = np.load(good)["x"]
    np.savez(tmp_path / "minus.npz", x=x[::-1], y=np.r_[[-1] * 3, np.arange(len(x) - 3) % 2])  # -1: unlabelled
    args = {"unlabelled": ["--data", str(good), str(tmp_path / "bare.npz")],
            "miscounted": ["--data", str(good), f"{tmp_path / 'bare.npz'}:{tmp_path / 'few.npy'}"],
            "rule": ["--data", str(good), "--rules", "silhouete"],
            "no-runs": ["--runs", str(tmp_path)], "runs-and-grid": ["--runs", str(tmp_path), "--grid", "seed"],
            "seed-twice": ["--data", str(good), "--seeds", "0", "0"],
            "minus-one": ["--data", str(good), str(tmp_path / "minus.npz")]}[problem]
    code = main([*args, *([] if "--runs" in args else ["--grid", "seed"]), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and expected in err, err
    assert not (tmp_path / "out" / "audit-runs").exists()  # checked before the first task ran


def test_one_task_is_allowed_with_a_warning(tmp_path, capsys):
    task = write_task(tmp_path / "one.npz", [0, 1])
    (tmp_path / "grid.toml").write_text(GRID.replace('"pca32", "svd50"', '"pca32"'))
    code = main(["--data", str(task), "--grid", str(tmp_path / "grid.toml"), "--out", str(tmp_path / "out"),
                 "--jobs", "1", "--rules", "silhouette", "--methods", "vote"])
    out = capsys.readouterr().out
    assert code == 0 and "one task is weak evidence" in out and "run with it" in out


def test_runs_among_other_folders(audited, tmp_path, capsys):
    """--runs on a results folder: labelled runs below it are audited; unlabelled ones and runs
    from before combo_labels.npz passed over with a note; pages, caches and half-written
    (hidden) folders ignored."""
    import shutil
    root, folder = audited
    [one, *_] = sorted((root / "out" / "audit-runs").glob("*/*/run.json"))
    results = tmp_path / "results"
    shutil.copytree(one.parent, results / "mine")
    shutil.copytree(one.parent, results / ".half.partial")
    old = shutil.copytree(one.parent, results / "old")
    (old / "combo_labels.npz").unlink()
    bare = shutil.copytree(one.parent, results / "bare")
    record = json.loads((bare / "run.json").read_text())
    record["data"]["ground_truth"] = False
    (bare / "run.json").write_text(json.dumps(record))
    (results / "index.html").write_text("<html></html>")
    assert main(["--runs", str(results), "--out", str(tmp_path / "out"), "--rules", "silhouette"]) == 0
    out = capsys.readouterr().out
    assert "passed over 2 run(s)" in out and "one task is weak evidence" in out
    [audit] = (tmp_path / "out").glob("*-audit")
    assert [t["runs"] for t in json.loads((audit / "audit.json").read_text())["tasks"]] == [[str(results / "mine")]]


def test_two_runs_of_one_task_and_seed_are_refused(audited, tmp_path, capsys):
    import shutil
    root, _ = audited
    [one, *_] = sorted((root / "out" / "audit-runs").glob("*/*/run.json"))
    for name in ("a", "b"):
        shutil.copytree(one.parent, tmp_path / name)
    assert main(["--runs", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")]) == 2
    assert "two runs" in capsys.readouterr().err


def test_a_task_that_is_not_a_pair_or_repeats_another_is_one_error(tmp_path):
    import bench
    from bench.errors import UserError
    with pytest.raises(UserError, match=r"^task a: a tuple of 1; give \(images, labels\)$"):
        bench.run_audit({"a": (np.zeros((4, 8, 8)),)}, out=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []
    images = np.arange(4 * 64).reshape(4, 8, 8).astype(np.uint8)
    with pytest.raises(UserError, match=r"^tasks a and b: the same images; give each once$"):  # twice the evidence
        bench.run_audit({"a": (images, [0, 0, 1, 1]), "b": (images, [0, 1, 0, 1])}, out=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_table_of_a_metric_or_method_the_audit_lacks_is_one_line():
    from bench.errors import UserError
    from bench.selection_audit import Audit
    rows = [{"task": t, "seed": 0, "rule": "silhouette", "method": "vote", "regret": 0.1, "spearman": 0.0,
             "ensemble": 0.8} for t in ("a", "b")]
    audit = Audit(pd.DataFrame(rows), pd.DataFrame(), dict(SETTINGS))
    assert audit.table("ensemble").loc["silhouette", "mean"] == pytest.approx(0.8)
    with pytest.raises(UserError, match="^metric 'acc': not one of regret, ensemble, spearman$"):
        audit.table("acc")
    with pytest.raises(UserError, match=r"^method 'coassoc': not audited here \(vote\)$"):
        audit.table("ensemble", "coassoc")
