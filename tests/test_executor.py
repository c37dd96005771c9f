import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from rich.progress import Progress

import bench.stages
import models.base
import models.train
from bench import executor as executor_module
from bench.cache import Cache
from bench.data import Dataset
from bench.executor import EpochBars, Executor, stage_keys
from bench.grids import Grid, Spec
from models import MODELS


def tiny_dataset():
    x = np.zeros((10, 1, 8, 8), np.float32)
    return Dataset(x, None, "tiny", "fp")


def test_the_main_process_counts_gpus_without_initialising_cuda(monkeypatch):
    """torch.cuda.is_available() initialises CUDA, and a worker forked afterwards (the
    multiprocessing backend) could not use it: device choices count through NVML instead."""
    import torch

    from bench.grids import check_entries
    from clusterers import CLUSTERERS
    from models.scan import on_device
    from models.train import pick_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: pytest.fail("CUDA initialised by is_available()"))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert executor_module._gpu_devices() == ["cuda:0", "cuda:1"] and pick_device(3) == torch.device("cuda", 1)
    assert on_device(5) == 20  # the GPU's longer schedule
    grid = Grid("g", [Spec("simclr-scan")], [Spec("pca32")], [Spec("scan")])
    check_entries(grid, Dataset(np.zeros((10, 3, 32, 32), np.float32), None, "t", "fp"), n_clusters=2, seed=0)
    assert CLUSTERERS.create("scan", n_clusters=2, seed=0).device == "cpu"  # never one context per worker


def test_encoders_are_spread_over_gpus_one_task_each(monkeypatch, tmp_path):
    monkeypatch.setattr(executor_module, "_gpu_devices", lambda: ["cuda:0", "cuda:1"])
    todo = {Spec("pixels", label=f"e{i}"): f"key{i}" for i in range(5)}
    bars = EpochBars(None, in_process=False, remote=False)
    calls = Executor(Cache(tmp_path), jobs=4)._encode_calls(todo, tiny_dataset(), 0, bars, n_clusters=3)
    assert len(calls) == 2  # one task per device, each training its share in turn
    shares = {kwargs["device"]: [job[1] for job in args[0]] for _, (_, args, kwargs) in calls}
    assert all(kwargs["n_clusters"] == 3 for _, (_, _, kwargs) in calls)  # for an encoder that clusters
    assert shares == {"cuda:0": ["key0", "key2", "key4"], "cuda:1": ["key1", "key3"]}
    assert [keys for keys, _ in calls] == [["key0", "key2", "key4"], ["key1", "key3"]]  # a kill fails both


def test_stage_keys_share_upstream_stages():
    grid = Grid("g", [Spec("baseline"), Spec("pixels")], [Spec("pca32")], [Spec("kmeans"), Spec("gmm")])
    enc, red, clu = stage_keys(grid, tiny_dataset(), n_clusters=2, seed=0)
    assert len(set(enc.values())) == 2 and len(set(red.values())) == 2 and len(set(clu.values())) == 4
    enc3, _, clu3 = stage_keys(grid, tiny_dataset(), n_clusters=3, seed=0)
    assert not set(clu.values()) & set(clu3.values())
    assert enc3 == enc  # the cluster count matters only to an encoder that clusters (simclr-scan)
    enc1, red1, _ = stage_keys(grid, tiny_dataset(), n_clusters=2, seed=1)
    assert enc1[Spec("baseline")] != enc[Spec("baseline")]  # trained from a seeded start
    assert enc1[Spec("pixels")] == enc[Spec("pixels")]  # ignores the seed: computed once for all
    assert not set(red.values()) & set(red1.values())


def test_a_gpu_machines_stages_are_keyed_apart_from_a_cpu_machines(monkeypatch):
    from bench.cache import make_key
    grid = Grid("g", [Spec("pixels")], [Spec("pca32")], [Spec("kmeans")])
    cpu, _, _ = stage_keys(grid, tiny_dataset(), n_clusters=2, seed=0)
    assert cpu[Spec("pixels")] == make_key(  # as before GPUs were keyed: a CPU cache stays valid
        stage="encode", data="fp", entry="pixels", params=(), in_channels=1, seed=None,
        code=executor_module.code_version(MODELS.get("pixels").factory, models.train, models.base, bench.stages))
    monkeypatch.setattr(executor_module, "_gpu_devices", lambda: ["cuda:0"])
    gpu, _, _ = stage_keys(grid, tiny_dataset(), n_clusters=2, seed=0)
    assert gpu[Spec("pixels")] != cpu[Spec("pixels")]


def test_task_order_by_cost_and_cached_ones_skipped(tmp_path):
    grid = Grid("g", [Spec("pixels"), Spec("simclr"), Spec("baseline")], [Spec("pca32")], [Spec("kmeans")])
    enc, _, _ = stage_keys(grid, tiny_dataset(), n_clusters=2, seed=0)
    cache = Cache(tmp_path)
    cache.save("encode", enc[Spec("baseline")], {"x": np.zeros((10, 2), np.float32)}, {"seconds": 1.0})
    cost = {"pixels": 0.1, "simclr": 330, "baseline": 25}
    executor = Executor(cache, jobs=2)
    todo = executor._todo("encode", enc, lambda e: cost[e.name])
    assert [e.name for e in todo] == ["simclr", "pixels"]  # slowest first; baseline is in the cache
    assert executor.cache_hits == 1
    sequential = Executor(cache, jobs=1)._todo("encode", enc, lambda e: cost[e.name])
    assert [e.name for e in sequential] == ["pixels", "simclr"]  # one process: quickest first


def test_each_stage_records_its_own_peak_memory(tmp_path):
    from bench import stages

    def task(megabytes):
        def compute(cache):
            block = np.ones(megabytes * 2**20 // 8)  # touched, so resident
            return {"x": np.zeros((2, 2), np.float32)}, {"sum": float(block[0])}
        return compute

    stages._run("reduce", "big", tmp_path, task(400))
    stages._run("reduce", "small", tmp_path, task(1))
    big, small = (Cache(tmp_path).meta("reduce", key)["peak_mib"] for key in ("big", "small"))
    assert big >= 400
    assert small < big - 300  # counted afresh for each task, not the process's lifetime peak


def test_each_stage_records_its_user_and_system_cpu_time(tmp_path):
    from bench import stages

    def busy(cache):
        total = sum(i * i for i in range(3_000_000))  # user time, in this thread
        return {"x": np.zeros((2, 2), np.float32)}, {"total": total}
    for key in ("first", "second"):
        stages._run("reduce", key, tmp_path, busy)
        meta = Cache(tmp_path).meta("reduce", key)
        # its own: the second task's CPU time holds none of the first's (a busy machine may
        # leave it waiting, so only the upper bound is its wall time)
        assert 0.02 < meta["user_s"] + meta["sys_s"] <= meta["seconds"] + 0.05
        assert meta["user_s"] > meta["sys_s"] >= 0


def test_a_killed_worker_is_retried_alone_and_recorded_if_killed_again(tmp_path):
    from joblib import delayed

    def task(key: str, cache_root, kill: str):  # local, so a worker gets it by value, without this module's imports
        """A stage-like task whose worker the OS kills: never, always, or the first time only."""
        import os
        import signal
        import time

        from bench.stages import Record
        marker = Path(cache_root) / f"{key}.tried"
        if kill == "always":  # not before the "once" task has been killed beside others, as the test says
            deadline = time.monotonic() + 10
            while not list(Path(cache_root).glob("*.tried")) and time.monotonic() < deadline:
                time.sleep(0.01)
        if kill == "always" or (kill == "once" and not marker.exists()):
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return Record("cluster", key, True, 0.1)
    kills = {"a": "never", "b": "once", "c": "always", "d": "never", "e": "never"}
    calls = [([key], delayed(task)(key, tmp_path, kill)) for key, kill in kills.items()]
    records = {r.key: r for r in Executor(Cache(tmp_path), jobs=2)._map("cluster", "cluster", calls, None)}
    assert set(records) == set(kills)  # nothing lost, the run went on
    assert [key for key, r in records.items() if not r.ok] == ["c"]
    assert records["c"].error == executor_module.KILLED and records["c"].stage == "cluster"
    assert records["b"].ok  # killed beside others, then fine alone


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_worker_threads_keep_one_blas_thread_while_another_task_ends():
    """With --backend threading, each task's own limit is no guard: OpenBLAS's pool is
    process-wide, and the first task to finish restored every core under the others."""
    import threading

    from threadpoolctl import threadpool_limits

    from bench.stages import single_threaded
    entered, first_done, seen = threading.Event(), threading.Event(), []

    def first():
        with threadpool_limits(1):  # as each stage limits itself
            entered.wait()
        first_done.set()

    def second():
        with threadpool_limits(1):
            entered.set()
            first_done.wait()
            seen.append(_blas_threads())  # still computing after the first task ended
    with threadpool_limits(2), single_threaded():  # a machine with a core to spare
        threads = [threading.Thread(target=f) for f in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _blas_threads() == 1
    assert seen == [1]


def test_training_noise_does_not_come_from_the_shared_global_rng(tmp_path):
    """Trainings in threads (--backend threading) share torch's global RNG: one training beside
    another must give what it gives alone (denoise draws noise, vae samples, simclr augments)."""
    import itertools
    import threading

    from bench import stages
    images = np.random.default_rng(0).uniform(-1, 1, (64, 1, 8, 8)).astype(np.float32)

    def latent(spec, key, busy):
        stop = threading.Event()

        def train_others():  # another encoder task, seeded and trained again and again
            for i in itertools.count():
                if stop.is_set():
                    return
                stages.encode(Spec("denoise", (("epochs", 1),)), images, f"other{i}", tmp_path, seed=i)
        other = threading.Thread(target=train_others)
        if busy:
            other.start()
        try:
            assert stages.encode(spec, images, key, tmp_path, seed=0).ok
        finally:
            stop.set()
            if busy:
                other.join()
        return Cache(tmp_path).load("encode", key)[0]["x"]
    for name in ("denoise", "vae", "simclr"):
        # simclr: its first 8 steps, not the 240 it trains at least on a real run
        spec = Spec(name, (("batch_size", 16), ("epochs", 2)) + ((("min_steps", 0),) if name == "simclr" else ()))
        np.testing.assert_array_equal(latent(spec, f"{name}-alone", False),
                                      latent(spec, f"{name}-beside", True), err_msg=name)


def test_the_worker_pools_own_warnings_are_kept_not_printed(digits_npz, run_cli, tmp_path, monkeypatch):
    """loky warns from its management thread when it replaces a worker; that must not land
    across the progress bars, but in run.json and one console line."""
    import json
    import warnings

    from conftest import run_dirs
    parallel = executor_module.Parallel

    def warning_parallel(*args, **kwargs):
        warnings.warn("A worker stopped while some jobs were given to the executor.", UserWarning)
        return parallel(*args, **kwargs)
    monkeypatch.setattr(executor_module, "Parallel", warning_parallel)
    (tmp_path / "g.toml").write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["kmeans"]\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # printed or raised to the caller: this test fails
        code, out, err = run_cli("--data", digits_npz, "--grid", tmp_path / "g.toml", "--jobs", "2", "--no-plots")
    assert code == 0, err
    assert "A worker stopped" not in err
    assert "1 warning(s) from loky's worker pool, kept in run.json" in out
    [folder] = run_dirs(tmp_path / "results")
    run = json.loads((folder / "run.json").read_text())
    assert run["executor_warnings"] == ["UserWarning: A worker stopped while some jobs were given to the executor."]


def test_a_plateau_stop_completes_its_training_bar():
    progress = Progress(console=Console(file=io.StringIO()))
    bars = EpochBars(progress, in_process=True, remote=False)
    stopped = bars.callback(Spec("baseline", (("epochs", 10),)), 100)
    full = bars.callback(Spec("baseline", (("epochs", 2),)), 100)
    for epoch, last in ((0, False), (1, False), (2, True)):
        stopped(epoch, 1.0, last)
    full(0, 1.0, False)
    full(1, 1.0, True)
    [stopped_task, full_task] = progress.tasks
    assert stopped_task.finished and stopped_task.total == 3 and "plateau" in stopped_task.fields["loss"]
    assert full_task.finished and full_task.total == 2 and "plateau" not in full_task.fields["loss"]
