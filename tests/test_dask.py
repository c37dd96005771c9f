"""The same stages on a real dask.distributed cluster (scheduler and worker processes on
loopback) give the same leaderboard and submission as local processes."""

import pandas as pd
import pytest

from bench.leaderboard import TIME_COLUMNS
from conftest import run_dirs

distributed = pytest.importorskip("dask.distributed")


def _result(out):
    [folder] = run_dirs(out)
    board = pd.read_csv(folder / "leaderboard.csv").drop(columns=TIME_COLUMNS)
    return board, (folder / "submission.csv").read_text()


def test_dask_cluster_matches_local_processes(digits_npz, run_cli, tmp_path):
    common = ["--data", digits_npz, "--grid", "quick", "--epochs", "2", "--no-plots"]
    code, _, err = run_cli(*common, "--jobs", "2", out=tmp_path / "local")
    assert code == 0, err
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        code, out, err = run_cli(*common, "--backend", "dask", "--scheduler", cluster.scheduler_address,
                                 out=tmp_path / "dask")
        assert code == 0, err
        # every stage ran on the cluster's workers, and wrote into the shared cache
        assert "18 computed" in out
    (local_board, local_submission), (dask_board, dask_submission) = _result(tmp_path / "local"), _result(tmp_path / "dask")
    pd.testing.assert_frame_equal(local_board, dask_board)
    assert local_submission == dask_submission


def test_dask_backend_starts_its_own_local_cluster(digits_npz, run_cli, tmp_path):
    code, _, err = run_cli("--data", digits_npz, "--grid", "seed", "--epochs", "1", "--no-plots",
                           "--backend", "dask", "--jobs", "1")
    assert code == 0, err


def test_unreachable_scheduler_is_one_line(digits_npz, run_cli):
    code, _, err = run_cli("--data", digits_npz, "--grid", "seed", "--backend", "dask",
                           "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and err.startswith("error: --scheduler tcp://127.0.0.1:9: cannot connect")
