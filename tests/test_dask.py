"""The same stages on a real dask.distributed cluster (scheduler and worker processes on
loopback) give the same leaderboard and submission as a local run (one process: that local
processes give what one does is test_run's jobs-independence test)."""

import pandas as pd
import pytest

from bench.leaderboard import TIME_COLUMNS
from conftest import run_dirs

distributed = pytest.importorskip("dask.distributed")
import dask  # noqa: E402  (after the skip: dask comes with distributed)


def _result(out):
    [folder] = run_dirs(out)
    board = pd.read_csv(folder / "leaderboard.csv").drop(columns=TIME_COLUMNS)
    return board, (folder / "submission.csv").read_text()


def test_dask_cluster_matches_a_local_run(digits_npz, run_cli, tmp_path):
    common = ["--data", digits_npz, "--grid", "quick", "--epochs", "2", "--no-plots"]
    code, _, err = run_cli(*common, "--jobs", "1", out=tmp_path / "local")
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


def test_unreachable_scheduler_is_one_line(digits_npz, run_cli, monkeypatch):
    import bench.cluster
    monkeypatch.setattr(bench.cluster, "CONNECT_TIMEOUT", "1s")  # nothing answers: no need to wait 10
    code, _, err = run_cli("--data", digits_npz, "--grid", "seed", "--backend", "dask",
                           "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and err.startswith("error: --scheduler tcp://127.0.0.1:9: cannot connect")
    for address in ("notaurl", "http://127.0.0.1:8787"):  # no port; the dashboard's address
        code, out, err = run_cli("--data", digits_npz, "--grid", "seed", "--backend", "dask", "--scheduler", address)
        assert code == 2 and err.startswith(f"error: --scheduler {address}: not a scheduler address (")
        assert err.count("\n") == 1 and "Traceback" not in out + err


def _kill_tasks(tmp_path, kills: dict):
    """Stage-like tasks whose dask worker the OS kills: never, the first time, or always."""
    from joblib import delayed

    def task(key, root, kill):  # local, so the workers get it by value
        import os
        import signal
        from pathlib import Path

        from bench.stages import Record
        marker = Path(root) / f"{key}.tried"
        if kill == "always" or (kill == "once" and not marker.exists()):
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return Record("cluster", key, True, 0.1)
    return [([key], delayed(task)(key, str(tmp_path), kill)) for key, kill in kills.items()]


def _map_on(cluster, calls, tmp_path):
    from bench.cache import Cache
    from bench.executor import Executor
    with distributed.Client(cluster):
        executor = Executor(Cache(tmp_path), jobs=2, backend="dask")
        return {r.key: r for r in executor._map("cluster", "cluster", calls, None)}, executor


def test_a_killed_dask_worker_is_retried_and_a_task_that_always_kills_fails_in_one_line(tmp_path):
    import time

    import bench.cluster
    kills = {"a": "never", "b": "once", "c": "always", "d": "never"}
    started = time.monotonic()
    # one death allowed per task, not three: each death restarts a worker process
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address=None) as cluster:
        records, executor = _map_on(cluster, _kill_tasks(tmp_path, kills), tmp_path)
    assert time.monotonic() - started < 120  # joblib's dask backend waited here forever
    assert set(records) == set(kills)  # nothing lost, the run goes on
    assert records["b"].ok  # its worker died once; dask ran it again elsewhere
    assert [k for k, r in records.items() if not r.ok] == ["c"]
    assert records["c"].error == bench.cluster.KILLED_ALONE
    # the nanny's and scheduler's log lines are kept for run.json, not printed
    assert any("distributed" in w for w in executor.warnings)


def test_a_cluster_without_workers_fails_the_stage_in_bounded_time(tmp_path, monkeypatch):
    import time

    import bench.cluster
    monkeypatch.setattr(bench.cluster, "NO_WORKER_S", 1)
    started = time.monotonic()
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        records, _ = _map_on(cluster, _kill_tasks(tmp_path, {"a": "never", "b": "never"}), tmp_path)
    assert time.monotonic() - started < 30
    assert {k: r.error for k, r in records.items()} == {k: "dask: no worker alive for 1 s" for k in "ab"}
