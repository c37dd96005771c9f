"""End-to-end runs of `python -m bench.run` on 300 real digits."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.registry import Entry
from clusterers import CLUSTERERS
from reducers import REDUCERS
from conftest import ONE_THREAD, run_dirs

QUICK = ["--grid", "quick", "--epochs", "2"]
ROOT = Path(__file__).resolve().parents[1]


def _outputs(folder):
    board = pd.read_csv(folder / "leaderboard.csv")
    return board, (folder / "submission.csv").read_text(), json.loads((folder / "run.json").read_text())


def test_seed_grid_writes_a_valid_submission(digits_npz, run_cli, tmp_path):
    code, out, err = run_cli("--data", digits_npz, "--grid", "seed", "--epochs", "2", "--jobs", "1")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    submission = pd.read_csv(folder / "submission.csv")
    assert list(submission.columns) == ["id", "label"]
    assert submission["id"].tolist() == list(range(300))
    assert set(submission["label"]) == set(range(10))
    board, _, run = _outputs(folder)
    assert board.loc[0, "combo"] == "baseline(epochs=2) | pca32 | kmeans"
    assert run["data"]["n_clusters"] == 10 and run["data"]["shape"] == [300, 8, 8, 1]
    assert 0 <= run["ensemble"]["metrics"]["acc"] <= 1 and "ACC" in out
    assert not list((tmp_path / "results").glob(".*partial"))


def test_known_zeros_orients_the_submission(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(0, 40, (30, 8, 8, 1)), rng.integers(215, 256, (30, 8, 8, 1))])
    x = x[::-1].astype(np.uint8)  # bright images first, so the raw cluster ids could go either way
    np.save(tmp_path / "two.npy", x)
    for known in (5, 0):
        code, _, err = run_cli("--data", tmp_path / "two.npy", "--grid", "seed", "--epochs", "1",
                               "--known-zeros", known, out=tmp_path / f"r{known}")
        assert code == 0, err
    [oriented] = run_dirs(tmp_path / "r5")
    labels = pd.read_csv(oriented / "submission.csv")["label"].to_numpy()
    assert labels[:30].tolist() == [0] * 30 and labels[30:].tolist() == [1] * 30


def test_quick_grid_rerun_is_served_from_cache(digits_npz, run_cli, tmp_path):
    code, out, err = run_cli("--data", digits_npz, *QUICK, "--jobs", "1")
    assert code == 0, err
    assert "0/18 stages from cache, 18 computed" in out
    code, out, err = run_cli("--data", digits_npz, *QUICK, "--jobs", "1", "--no-replay")
    assert code == 0, err
    assert "18/18 stages from cache, 0 computed" in out
    first, second = run_dirs(tmp_path / "results")
    (b1, s1, r1), (b2, s2, r2) = _outputs(first), _outputs(second)
    assert s1 == s2
    # byte-identical, times too: a cached stage reports its original time
    assert (first / "leaderboard.csv").read_bytes() == (second / "leaderboard.csv").read_bytes()
    assert (r1["cache"]["hits"], r2["cache"]["hits"]) == (0, 18)
    assert r2["timings_s"]["stages"] < r1["timings_s"]["stages"]


def test_a_rerun_with_the_same_inputs_copies_the_finished_run(digits_npz, run_cli, tmp_path):
    inputs = ("--data", digits_npz, "--grid", "seed", "--epochs", "2", "--cache", tmp_path / "cache")
    assert run_cli(*inputs, "--jobs", "1", plots=True)[0] == 0
    # how many workers and where the files go are not inputs (a new --out folder is made)
    code, out, err = run_cli(*inputs, "--jobs", "2", out=tmp_path / "new" / "out", plots=True)
    assert code == 0 and "nothing recomputed" in out and "/3 stages from cache" not in out, err
    [first], [second] = run_dirs(tmp_path / "results"), run_dirs(tmp_path / "new" / "out")
    for name in ("leaderboard.csv", "submission.csv", "report.html", "cluster_0.png"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    record = json.loads((second / "run.json").read_text())
    assert record["replay_of"] == str(first.resolve()) and record["args"]["jobs"] == 2
    # assembled again from the stage cache: an option that changes results, a file of the run
    # to copy changed since, or --no-replay
    code, out, _ = run_cli(*inputs, "--top-k", "2", plots=True)
    assert code == 0 and "3/3 stages from cache" in out and "nothing recomputed" not in out
    assert "nothing recomputed" in run_cli(*inputs, "--top-k", "2", plots=True)[1]
    newest = run_dirs(tmp_path / "results")[-1]
    (newest / "submission.csv").write_text("edited by hand\n")
    code, out, _ = run_cli(*inputs, "--top-k", "2", plots=True)
    assert code == 0 and "3/3 stages from cache" in out and (newest / "submission.csv").read_text() == "edited by hand\n"
    code, out, _ = run_cli(*inputs, "--top-k", "2", "--no-replay", plots=True)
    assert code == 0 and "3/3 stages from cache" in out


def test_a_replay_imports_neither_torch_nor_scikit_learn(digits_npz, run_cli, tmp_path):
    argv = ["--data", str(digits_npz), "--grid", "seed", "--epochs", "2", "--out", str(tmp_path / "results")]
    assert run_cli(*argv[:-2], plots=True)[0] == 0
    script = (f"import sys; from bench.run import main; code = main({argv!r}); "
              "print(code, [m for m in ('torch', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert "nothing recomputed" in result.stdout and result.stdout.strip().endswith("0 []"), result.stderr


def test_a_changed_parameter_recomputes_only_what_depends_on_it(digits_npz, run_cli):
    run_cli("--data", digits_npz, "--grid", "seed", "--epochs", "2", "--jobs", "1")
    code, out, _ = run_cli("--data", digits_npz, "--grid", "seed", "--epochs", "3", "--jobs", "1")
    assert code == 0 and "0/3 stages from cache" in out
    code, out, _ = run_cli("--data", digits_npz, "--grid", "seed", "--epochs", "3", "--jobs", "1",
                           "--n-clusters", "4")
    assert code == 0 and "2/3 stages from cache" in out  # only clustering depends on k


def test_results_do_not_depend_on_jobs(digits_npz, run_cli, tmp_path):
    grid = tmp_path / "quick_and_scan.toml"  # the quick grid, and the torch-trained clusterer
    grid.write_text('encoders = [{name = "baseline", epochs = 2}, "pixels"]\nreducers = ["pca32", "pca50w"]\n'
                    'clusterers = ["kmeans", "gmm", "ward", {name = "scan", epochs = 5}]\n')
    outputs = []
    for jobs, backend in ((1, "loky"), (2, "loky"), (2, "threading")):
        out = tmp_path / f"jobs{jobs}-{backend}"
        code, printed, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", jobs, "--backend", backend,
                                     out=out)
        assert code == 0, err
        # per-epoch training bars, fed from worker processes and threads too
        assert "train baseline(epochs=2)" in printed and "2/2" in printed and "loss 0." in printed
        [folder] = run_dirs(out)
        outputs.append(_outputs(folder))
    timing = ["encode_s", "reduce_s", "cluster_s"]
    (b1, s1, _), *others = outputs
    for board, submission, _ in others:
        assert submission == s1
        pd.testing.assert_frame_equal(b1.drop(columns=timing), board.drop(columns=timing))


def test_the_core_count_changes_no_result(digits_npz, tmp_path):
    # fresh processes, one with one BLAS thread and one with the machine's own count: the
    # run-level scores of the main process broke a near-tie of cross_space the other way
    # with more threads, before they ran on one thread as the stages do; one job, so the stages
    # run in this process too, on one thread as in a worker
    grid = tmp_path / "small.toml"
    grid.write_text('encoders = [{name = "baseline", epochs = 1}, "pixels"]\nreducers = ["pca32"]\n'
                    'clusterers = ["kmeans", "gmm"]\n')
    machines_own = {k: v for k, v in os.environ.items() if k not in ONE_THREAD}  # (conftest sets one under xdist)
    for name, env in (("one", {**machines_own, **ONE_THREAD}), ("all", machines_own)):
        done = subprocess.run([sys.executable, "-m", "bench.run", "--data", str(digits_npz), "--grid", str(grid),
                               "--no-plots", "--quiet", "--jobs", "1", "--out", str(tmp_path / name)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
    (b1, s1, _), (b2, s2, _) = (_outputs(run_dirs(tmp_path / name)[0]) for name in ("one", "all"))
    timing = ["encode_s", "reduce_s", "cluster_s"]
    assert s1 == s2
    pd.testing.assert_frame_equal(b1.drop(columns=timing), b2.drop(columns=timing))


class Broken:
    """A stand-in estimator that misbehaves in a chosen way."""

    def __init__(self, how, n_clusters=2, seed=0):
        self.how, self.n_clusters = how, n_clusters

    def fit_predict(self, x):
        if self.how == "raise":
            raise RuntimeError("this clusterer always fails")
        if self.how == "warn":
            for _ in range(2):
                warnings.warn("this clusterer warns\nsecond line", UserWarning)
            warnings.warn("hidden, as Python does by default", DeprecationWarning)
            return (x[:, 0] > np.median(x[:, 0])).astype(int)
        if self.how == "outliers":  # one big cluster and the 3 farthest points: silhouette near 1
            labels = np.zeros(len(x), int)
            labels[np.argsort(-np.linalg.norm(x - x.mean(axis=0), axis=1))[:3]] = 1
            return labels
        if self.how == "more":  # answers another question: two clusters more than asked for
            from sklearn.cluster import KMeans
            return KMeans(self.n_clusters + 2, n_init=4, random_state=0).fit_predict(x)
        return {"shape": np.zeros((len(x), 2), int), "one": np.zeros(len(x), int)}[self.how]

    def fit_transform(self, x):
        return np.full((len(x), 2), np.nan)


@pytest.fixture
def broken_entries(monkeypatch):
    """Registers clusterers boom/shape/one/warn/outliers/more and reducer nan for one test
    (in-process: --jobs 1)."""
    for name, how in (("boom", "raise"), ("shape", "shape"), ("one", "one"), ("warn", "warn"),
                      ("outliers", "outliers"), ("more", "more")):
        monkeypatch.setitem(CLUSTERERS._entries, name,
                            Entry(name, lambda n_clusters=2, seed=0, how=how: Broken(how, n_clusters)))
    monkeypatch.setitem(REDUCERS._entries, "nan", Entry("nan", lambda seed=0: Broken("nan")))


failing_clusterer = broken_entries


def test_a_failing_entry_does_not_stop_the_run(failing_clusterer, digits_npz, run_cli, tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["boom", "kmeans"]\n')
    code, out, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", "1")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    board = pd.read_csv(folder / "leaderboard.csv").set_index("clusterer")
    assert board.loc["kmeans", "status"] == "ok" and board.loc["kmeans", "rank"] == 1
    assert board.loc["boom", "status"].startswith("cluster failed: RuntimeError: this clusterer always fails")
    assert np.isnan(board.loc["boom", "score"])


def test_bad_results_are_recorded_and_the_rest_goes_on(broken_entries, digits_npz, run_cli, tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('encoders = ["pixels"]\nreducers = ["pca32", "nan"]\n'
                    'clusterers = ["kmeans", "shape", "one"]\n')
    code, out, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", "1")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    board = pd.read_csv(folder / "leaderboard.csv").set_index("combo")
    status = board["status"].to_dict()
    assert status["pixels | pca32 | kmeans"] == "ok"
    assert status["pixels | pca32 | shape"].startswith("cluster failed: ValueError: labels have shape (300, 2)")
    assert status["pixels | pca32 | one"] == "degenerate: 1 cluster"
    for clusterer in ("kmeans", "shape", "one"):
        assert status[f"pixels | nan | {clusterer}"].startswith(
            "reduce failed: ValueError: embedding contains NaN or inf")
    assert board.loc["pixels | pca32 | kmeans", "rank"] == 1
    assert board["score"].notna().sum() == 1
    members = json.loads((folder / "run.json").read_text())["ensemble"]["members"]
    assert members == [{"rank": 1, "combo": "pixels | pca32 | kmeans", "agreement": 1.0}]


def test_a_combo_with_another_cluster_count_ranks_below_those_that_found_k(broken_entries, digits_npz,
                                                                           run_cli, tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["more", "kmeans"]\n')
    code, out, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", "1", "--no-plots",
                             "--n-clusters", "2", "--rank-by", "silhouette")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    board = pd.read_csv(folder / "leaderboard.csv").set_index("clusterer")
    assert board.loc["more", "clusters"] == 4 and board.loc["more", "status"] == "ok"
    assert board.loc["more", "silhouette"] > board.loc["kmeans", "silhouette"]  # what it would lead by
    assert board.loc["kmeans", "rank"] == 1 and board.loc["more", "rank"] == 2
    record = json.loads((folder / "run.json").read_text())
    assert [m["combo"] for m in record["ensemble"]["members"]] == ["pixels | pca32 | kmeans"]
    assert record["audit"]["top1_acc"] == pytest.approx(board.loc["kmeans", "acc"])  # rank 1 is the leader


def test_one_big_cluster_plus_outliers_never_leads_nor_votes(broken_entries, digits_npz, run_cli, tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["outliers", "kmeans", "gmm"]\n')
    code, out, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", "1", "--no-plots",
                             "--n-clusters", "2")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    board = pd.read_csv(folder / "leaderboard.csv").set_index("clusterer")
    outliers = board.loc["outliers"]
    assert outliers["silhouette"] > board.loc[["kmeans", "gmm"], "silhouette"].max()  # what it would win by
    assert outliers["rank"] == 3 and outliers["status"] == (
        "degenerate: smallest cluster 3 images, 2.00% of an even share (< 5%)")
    assert outliers["acc"] < board.loc[["kmeans", "gmm"], "acc"].min()  # measured, shown, not ranked
    members = [m["combo"] for m in json.loads((folder / "run.json").read_text())["ensemble"]["members"]]
    assert "pixels | pca32 | outliers" not in members and len(members) >= 1
    assert "#3 pixels pca32 outliers: degenerate: smallest cluster 3 images" in " ".join(out.split())
    # the threshold is the user's: at 0 any split counts, and ranked by silhouette this one leads
    code, out, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", "1", "--no-plots",
                             "--n-clusters", "2", "--min-share", "0", "--rank-by", "silhouette",
                             out=tmp_path / "any")
    [folder] = run_dirs(tmp_path / "any")
    assert pd.read_csv(folder / "leaderboard.csv").loc[0, "combo"] == "pixels | pca32 | outliers"


def test_library_warnings_are_kept_with_their_combo_not_printed(broken_entries, digits_npz, run_cli, tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["kmeans", "warn"]\n')
    for run in ("cold", "warm"):  # the warm run reads them back from the cache
        code, out, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", "1", "--no-plots",
                                 out=tmp_path / "results")
        assert code == 0 and "Warning" not in err, err
        assert "1 combo raised library warnings" in out
        folder = run_dirs(tmp_path / "results")[-1]
        board = pd.read_csv(folder / "leaderboard.csv", keep_default_na=False).set_index("clusterer")
        assert board.loc["warn", "warnings"] == "cluster: UserWarning: this clusterer warns", run
        assert board.loc["kmeans", "warnings"] == ""


def test_every_combo_failing_exits_non_zero(failing_clusterer, digits_npz, run_cli, tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["boom"]\n')
    code, out, err = run_cli("--data", digits_npz, "--grid", grid, "--jobs", "1", "--quiet")
    # why, in the error's one line: --quiet shows no leaderboard
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: no combo worked; 1 of 1: cluster failed: RuntimeError: "), err
    assert run_dirs(tmp_path / "results") == []


def test_list_shows_registries_and_grids(run_cli):
    code, out, _ = run_cli("--list")
    assert code == 0
    for name in ("baseline", "pixels", "pca32", "kmeans", "quick", "full"):
        assert name in out
    assert out.count("local: at k = 2") == 4  # t-SNE's and UMAP's two entries each


@pytest.mark.parametrize("method", ["weighted", "coassoc"])
def test_ensemble_variants_from_the_command_line(digits_npz, run_cli, tmp_path, method):
    code, _, err = run_cli("--data", digits_npz, *QUICK, "--jobs", "1", "--no-plots", "--ensemble", method)
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    run = json.loads((folder / "run.json").read_text())
    assert run["ensemble"]["method"] == method and run["ensemble"]["metrics"]["acc"] > 0.5
    labels = pd.read_csv(folder / "submission.csv")["label"]
    assert len(labels) == 300 and labels.between(0, 9).all()


def test_rank_by_another_score(digits_npz, run_cli, tmp_path):
    code, _, err = run_cli("--data", digits_npz, *QUICK, "--jobs", "1", "--no-plots", "--rank-by", "ref_silhouette")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    board = pd.read_csv(folder / "leaderboard.csv")
    ranked = board["ref_silhouette"].dropna().to_numpy()
    assert len(ranked) >= 10 and (np.diff(ranked) <= 0).all()
    assert not board["score"].is_monotonic_decreasing  # a different order than the default
    members = json.loads((folder / "run.json").read_text())["ensemble"]["members"]
    assert [m["combo"] for m in members] == board["combo"].head(5).tolist()


def test_min_nmi_passes_over_combos_that_tell_another_story(digits_npz, run_cli, tmp_path):
    code, _, err = run_cli("--data", digits_npz, *QUICK, "--jobs", "1", "--no-plots", "--min-nmi", "0.8",
                           "--rank-by", "silhouette")  # the order this case was built on
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    ensemble = json.loads((folder / "run.json").read_text())["ensemble"]
    ranks = [m["rank"] for m in ensemble["members"]]
    board = pd.read_csv(folder / "leaderboard.csv")
    passed_over = board[(board["rank"] < ranks[-1]) & ~board["rank"].isin(ranks)]
    assert len(ranks) >= 2 and len(passed_over) >= 1  # the case tests both sides of the threshold
    assert [note.split(" (")[0] for note in ensemble["skipped"]] == passed_over["combo"].tolist()
    assert all(float(note.split("NMI ")[1].split()[0]) < 0.8 for note in ensemble["skipped"])


@pytest.mark.parametrize("command", ["bench.run", "bench.audit"])
def test_help_shows_each_real_default_once(command):
    import argparse
    import importlib
    import re
    parser = importlib.import_module(command).parser()
    text = " ".join(parser.format_help().split())  # unwrapped
    assert "(default: None)" not in text and "(default: False)" not in text
    assert not re.search(r"\(default[^)]*\)\s*\(default", text)  # none said twice
    for action in parser._actions:
        if action.default not in (None, False, argparse.SUPPRESS) and action.help:
            assert f"(default: {action.default})" in text, action.dest
