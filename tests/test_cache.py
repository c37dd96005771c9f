import importlib.util

import numpy as np

from bench import cache as cache_module
from bench.cache import Cache, code_version, make_key


def test_roundtrip_and_meta(tmp_path):
    cache = Cache(tmp_path)
    cache.save("encode", "k1", {"x": np.arange(6).reshape(2, 3)}, {"seconds": 1.5, "loss": [0.1]})
    arrays, meta = cache.load("encode", "k1")
    assert arrays["x"].tolist() == [[0, 1, 2], [3, 4, 5]] and meta == {"seconds": 1.5, "loss": [0.1]}
    assert cache.has("encode", "k1") and not cache.has("encode", "k2")
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "encode").iterdir())
    assert cache.path("encode", "k1").stat().st_mode & 0o777 == 0o644  # readable by other workers


def test_truncated_entry_is_discarded(tmp_path):
    cache = Cache(tmp_path)
    cache.save("reduce", "k", {"x": np.ones((100, 10))}, {"seconds": 0})
    path = cache.path("reduce", "k")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert cache.load("reduce", "k") is None
    assert not path.exists()


def test_key_changes_with_every_input():
    base = dict(stage="encode", data="abc", entry="baseline", params=(("epochs", 2),), seed=0, code="c")
    key = make_key(**base)
    assert key == make_key(**base)
    for field, other in [("data", "abd"), ("params", (("epochs", 3),)), ("seed", 1), ("code", "d"),
                         ("entry", "pixels")]:
        assert make_key(**{**base, field: other}) != key


def test_code_version_follows_the_source(tmp_path):
    path = tmp_path / "entry_mod.py"
    path.write_text("def f():\n    return 1\n")
    spec = importlib.util.spec_from_file_location("entry_mod", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = code_version(module.f)
    path.write_text("def f():\n    return 2\n")
    cache_module._file_hash.cache_clear()
    assert code_version(module.f) != before


def test_sweep_removes_only_old_temporary_files(tmp_path):
    import os
    import time
    cache = Cache(tmp_path)
    cache.save("encode", "k", {"x": np.zeros(3)}, {"seconds": 0})
    old, fresh = tmp_path / "encode" / ".k.abc.tmp", tmp_path / "encode" / ".k.def.tmp"
    old.write_bytes(b"torn")
    fresh.write_bytes(b"being written")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert cache.sweep(max_age_s=3600) == 1
    assert not old.exists() and fresh.exists() and cache.has("encode", "k")


def _session(source: str) -> dict:
    """Functions and classes defined as a notebook cell defines them: no file behind them."""
    namespace = {"__name__": "__main__"}
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


def test_an_entry_from_a_notebook_is_versioned_by_its_own_code_and_the_classes_it_names():
    from bench.cache import code_version
    cell = "class Mine:\n    scale = {}\n\ndef factory():\n    return Mine()\n\ndef ping():\n    return pong()\n\ndef pong():\n    return ping()\n"
    one, same, other = (_session(cell.format(s)) for s in (1, 1, 2))
    assert code_version(one["factory"]) == code_version(same["factory"])
    assert code_version(one["factory"]) != code_version(other["factory"])  # its class changed
    assert code_version(one["ping"]) == code_version(same["ping"])  # names each other: no endless walk
