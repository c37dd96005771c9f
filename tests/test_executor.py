import numpy as np

from bench import executor as executor_module
from bench.cache import Cache
from bench.data import Dataset
from bench.executor import EpochBars, Executor, stage_keys
from bench.grids import Grid, Spec


def tiny_dataset():
    x = np.zeros((10, 1, 8, 8), np.float32)
    return Dataset(x, None, "tiny", "fp")


def test_encoders_are_spread_over_gpus_one_task_each(monkeypatch, tmp_path):
    monkeypatch.setattr(executor_module, "_gpu_devices", lambda: ["cuda:0", "cuda:1"])
    todo = {Spec(f"e{i}"): f"key{i}" for i in range(5)}
    bars = EpochBars(None, in_process=False, remote=False)
    calls = Executor(Cache(tmp_path), jobs=4)._encode_calls(todo, tiny_dataset(), 0, bars)
    assert len(calls) == 2  # one task per device, each training its share in turn
    shares = {kwargs["device"]: [key for _, key, _ in args[0]] for _, args, kwargs in calls}
    assert shares == {"cuda:0": ["key0", "key2", "key4"], "cuda:1": ["key1", "key3"]}


def test_stage_keys_share_upstream_stages():
    grid = Grid("g", [Spec("baseline"), Spec("pixels")], [Spec("pca32")], [Spec("kmeans"), Spec("gmm")])
    enc, red, clu = stage_keys(grid, tiny_dataset(), n_clusters=2, seed=0)
    assert len(set(enc.values())) == 2 and len(set(red.values())) == 2 and len(set(clu.values())) == 4
    _, _, clu3 = stage_keys(grid, tiny_dataset(), n_clusters=3, seed=0)
    assert not set(clu.values()) & set(clu3.values())
    enc1, _, _ = stage_keys(grid, tiny_dataset(), n_clusters=2, seed=1)
    assert not set(enc.values()) & set(enc1.values())
