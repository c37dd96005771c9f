"""bench from Python: `bench.run_grid`, its `Result`, grids built in Python, and entries
registered in the caller's own `__main__`."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench
from bench.errors import UserError
from conftest import run_dirs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits(digits_npz):
    with np.load(digits_npz) as archive:
        return archive["x"], archive["y"]


def test_the_api_and_the_cli_write_the_same_files(digits, digits_npz, run_cli, tmp_path):
    code, _, err = run_cli("--data", digits_npz, "--grid", "quick", "--epochs", "1", "--jobs", "1",
                           "--no-plots", out=tmp_path / "cli")
    assert code == 0, err
    x, y = digits
    result = bench.run_grid(x, grid="quick", labels=y, epochs=1, jobs=1, out=tmp_path / "cli", progress=False)
    folder = result.write(tmp_path / "api", plots=False)
    [cli] = run_dirs(tmp_path / "cli")
    for name in ("leaderboard.csv", "submission.csv"):
        assert (folder / name).read_bytes() == (cli / name).read_bytes(), name
    written = pd.read_csv(folder / "leaderboard.csv")
    assert list(result.leaderboard.columns) == list(written.columns)
    assert (result.leaderboard["combo"] == written["combo"]).all()
    record = json.loads((folder / "run.json").read_text())
    assert record["args"]["grid"] == "quick" and record["args"]["epochs"] == 1
    assert record["timings_s"]["total"] >= record["timings_s"]["stages"]


def test_a_result_holds_the_run(digits, tmp_path, monkeypatch):
    from bench import plots
    panels = []
    drawn = plots.audit_scatter
    monkeypatch.setattr(plots, "audit_scatter", lambda folder, table, columns, ranks:
                        panels.extend(columns) or drawn(folder, table, columns, ranks))
    x, y = digits
    result = bench.run_grid(x[:200], 3, grid="seed", labels=y[:200], epochs=np.int64(1), jobs=1, out=tmp_path,
                            progress=False, seed=np.int64(0))  # as from `for seed in np.arange(3)`
    assert isinstance(result.labels, np.ndarray) and result.labels.shape == (200,)
    assert set(np.unique(result.labels)) <= {0, 1, 2}
    assert result.leaderboard.loc[0, "combo"] == "baseline(epochs=1) | pca32 | kmeans"
    assert list(result.members.columns) == ["rank", "combo", "agreement"]
    assert 0 <= result.audit["ensemble_acc"] <= 1 and result.audit["regret"] == 0  # one combo
    assert result.timings["stages"] > 0 and result.record["data"]["n_clusters"] == 3
    page = result._repr_html_()
    assert "<table" in page and "baseline(epochs=1) | pca32 | kmeans" in page and "200 images" in page
    assert "NaN" not in page and "n/a" in page  # encoder_agreement: undefined with one combo
    assert not run_dirs(tmp_path)  # nothing written until asked
    folder = result.write()
    assert folder.parent == tmp_path and (folder / "report.html").exists()
    assert "silhouette" in panels and "agreement" not in panels  # one combo: no agreement to draw
    labels = pd.read_csv(folder / "submission.csv")["label"].to_numpy()
    assert (labels == result.labels).all()
    again = json.loads((result.write(plots=False) / "run.json").read_text(),
                       parse_constant=lambda word: pytest.fail(f"run.json holds {word}, which is not JSON"))
    assert "report" not in again["timings_s"]  # each folder's own timings, not the last write's
    assert again["audit"]["spearman_with_acc"]["agreement"] is None  # one combo: undefined, null
    from bench.report import summary_lines
    assert "agreement n/a" in dict(summary_lines(again))["  rho"]  # as `bench.show` reads it back
    assert repr(result).startswith("<bench Result: grid 'seed', 1 combo on 200 images")
    assert result.record["ensemble"]["caution"] is None  # one encoder: nothing to tell apart
    import pickle
    clone = pickle.loads(pickle.dumps(result))  # for joblib.dump, %store, another process
    assert (clone.labels == result.labels).all() and clone.members.equals(result.members)
    assert result in [result] and clone != result  # two objects, compared as such, not by their tables
    with pytest.raises(UserError, match="^out: empty; name a folder$"):
        result.write("")
    assert (clone.write(plots=False) / "submission.csv").read_text() == (folder / "submission.csv").read_text()


def test_help_on_the_package_lists_the_api():
    """The API loads on first use; help(bench) in a notebook must still show it."""
    import pydoc
    text = pydoc.render_doc(bench, renderer=pydoc.plaintext)
    for name in ("run_grid(", "make_grid(", "run_audit(", "audit_runs(", "class Result", "class UserError"):
        assert name in text, name


def test_grids_built_in_python(digits, tmp_path):
    grid = bench.make_grid(["pixels", ("baseline", {"epochs": 1, "label": "ae"})], ["pca32"],
                           [{"name": "kmeans"}, "gmm"], name="mine/v1.5 try")
    assert [s.label for s in grid.encoders] == ["pixels", "ae"]
    assert grid.encoders[1].kwargs == {"epochs": 1} and len(grid.combos()) == 4
    result = bench.run_grid(digits[0][:150], 2, grid=grid, jobs=1, out=tmp_path, progress=False)
    assert set(result.leaderboard["combo"]) == {f"{e} | pca32 | {c}" for e in ("pixels", "ae")
                                                for c in ("kmeans", "gmm")}
    assert result.write(plots=False).name.endswith("-mine-v1.5-try")  # one folder, the whole name
    with pytest.raises(UserError, match="unknown model 'pixel' \\(did you mean 'pixels'\\?\\)"):
        bench.make_grid(["pixel"], ["pca32"], ["kmeans"])
    with pytest.raises(UserError, match="model 'pixels' takes no parameter 'epochs'"):
        bench.make_grid([("pixels", {"epochs": 3})], ["pca32"], ["kmeans"])
    with pytest.raises(UserError, match="grid custom: encoders must be a list of entries, got 'pixels'"):
        bench.make_grid("pixels", ["pca32"], ["kmeans"])
    with pytest.raises(UserError, match="^grid None: 'name' must be a non-empty string, got None$"):
        bench.make_grid(["pixels"], ["pca32"], ["kmeans"], name=None)  # refused now, not when written


@pytest.mark.parametrize("options, message", [
    ({"top_k": 0}, "top_k (--top-k) 0: must be 1 or more"),
    ({"min_nmi": 1.5}, "min_nmi (--min-nmi) 1.5: must be from 0 to 1"),
    ({"seed": "1"}, "seed (--seed) '1': expected a whole number"),
    ({"rank_by": "silhuette"}, "rank_by (--rank-by) 'silhuette': not a ranking rule (did you mean 'silhouette'?); a rule is a score (silhouette, "),
    ({"grid": ["pixels"]}, "grid ['pixels']: give a named grid"),
    ({"backend": "spark"}, "unknown backend (--backend) 'spark'"),
    ({"n_clusters": 500}, "n_clusters (--n-clusters) 500: need 2 <= clusters < number of images (300)"),
    ({"seed": np.int64(2**32)}, "seed (--seed) 4294967296: must be from 0 to 4294967295"),
    ({"pretrained": "no"}, "pretrained 'no': expected True or False"),
])
def test_bad_options_are_one_error_before_any_work(digits, tmp_path, options, message):
    with pytest.raises(UserError) as raised:
        bench.run_grid(digits[0], out=tmp_path / "out", progress=False, **{"grid": "seed", **options})
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_an_empty_folder_name_is_refused_not_read_as_the_working_folder(digits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("out", "cache"):
        with pytest.raises(UserError, match=rf"^{name} \(--{name}\): empty; name a folder$"):
            bench.run_grid(digits[0], grid="seed", progress=False, **{"out": tmp_path / "o", name: " "})
    assert list(tmp_path.iterdir()) == []


USER_SCRIPT = textwrap.dedent('''
    import json
    import sys

    import numpy as np
    import torch

    import bench
    from models import MODELS
    from models.base import Encoder


    class MeanColour(Encoder):
        """A user's own features: each image's mean and spread per channel."""
        def encode(self, x):
            return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)


    @MODELS.register("mean_colour", seeded=False)
    def mean_colour(in_channels: int = 3):
        return MeanColour()


    @MODELS.register("mean_colour", seeded=False)  # a notebook cell run again: it replaces the first
    def mean_colour(in_channels: int = 3):
        return MeanColour()


    if __name__ == "__main__":
        rng = np.random.default_rng(0)
        x = np.concatenate([rng.integers(0, 90, (30, 8, 8, 3)), rng.integers(160, 256, (30, 8, 8, 3))])
        grid = bench.make_grid(["mean_colour", "pixels"], ["identity"], ["kmeans", "gmm"])
        result = bench.run_grid(x.astype(np.uint8), 2, grid=grid, jobs=2, backend=sys.argv[1],
                                out=sys.argv[2], progress=False)
        print(json.dumps({"status": dict(zip(result.leaderboard["combo"], result.leaderboard["status"])),
                          "labels": result.labels.tolist()}))
''')


def test_an_encoder_registered_in_a_scripts_main_runs_on_two_loky_workers(tmp_path):
    script = tmp_path / "mine.py"
    script.write_text(USER_SCRIPT)
    done = subprocess.run([sys.executable, str(script), "loky", str(tmp_path / "results")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["status"] == {f"{e} | identity | {c}": "ok" for e in ("mean_colour", "pixels") for c in ("kmeans", "gmm")}
    assert found["labels"] == [0] * 30 + [1] * 30  # dark and bright apart, the first five zeros kept


def test_an_entry_that_cannot_reach_the_workers_is_one_clear_error(tmp_path):
    # an interactive session (no file for a spawned worker to re-run) on multiprocessing
    code = ("import multiprocessing, sys; multiprocessing.set_start_method('spawn'); "
            f"sys.argv = ['-', 'multiprocessing', {str(tmp_path / 'results')!r}]; "
            f"exec(compile({USER_SCRIPT!r}, '<session>', 'exec'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 1
    assert ("UserError: encoder 'mean_colour' is defined in this interactive session, which the "
            "multiprocessing backend cannot send to its workers") in done.stderr
    assert not (tmp_path / "results").exists() or not run_dirs(tmp_path / "results")


def test_minus_one_labels_are_a_class_unless_they_sit_beside_zero(digits, tmp_path):
    x, y = digits
    grid = bench.make_grid(["pixels"], ["pca32"], ["kmeans"])
    plus_minus = np.where(y[:60] % 2, 1, -1)  # the ±1 convention: two classes, two clusters
    result = bench.run_grid(x[:60], grid=grid, labels=plus_minus, jobs=1, out=tmp_path, progress=False)
    assert result.record["data"]["n_clusters"] == 2 and set(np.unique(result.labels)) == {0, 1}
    three = np.where(y[:60] % 3 == 0, -1, y[:60] % 3 - 1)  # -1, 0, 1: three classes once k says so
    with pytest.raises(UserError, match="labelled -1 beside 2 classes"):
        bench.run_grid(x[:60], grid=grid, labels=three, jobs=1, out=tmp_path, progress=False)
    result = bench.run_grid(x[:60], 3, grid=grid, labels=three, jobs=1, out=tmp_path, progress=False)
    assert result.record["data"]["n_clusters"] == 3
