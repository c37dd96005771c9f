"""On-disk cache of stage results, keyed by what produced them.

A key hashes the data fingerprint, the entry and its parameters, the seed, the library
versions and the source of the code that ran, so a change to any of them misses the cache
instead of serving a stale result. Each entry is one .npz (arrays plus a JSON `meta`), written
to a temporary file and renamed into place: a reader sees a whole entry or none, and a
crashed or killed run leaves no half entry behind. Entries are never unpickled.
"""

import functools
import hashlib
import inspect
import json
import marshal
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=None)
def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _own_source(o, seen: frozenset = frozenset()) -> str:
    """The hash of an object defined where no file holds it (a notebook cell, exec'd text):
    its source where IPython keeps it, else its compiled code; for a function, with that of
    the classes and functions of the same session it names (its encoder class, most often)."""
    try:
        text = inspect.getsource(o).encode()
    except (OSError, TypeError):
        text = _compiled(o)
    names = getattr(getattr(o, "__code__", None), "co_names", ())
    seen = seen | {id(o)}
    used = [v for v in (getattr(o, "__globals__", {}).get(n) for n in names)
            if (inspect.isclass(v) or inspect.isfunction(v)) and v.__module__ == o.__module__
            and id(v) not in seen]
    return hashlib.sha256(text + "".join(_own_source(v, seen) for v in used).encode()).hexdigest()


def _compiled(o) -> bytes:
    """A function's compiled code, or a class's attributes with its methods' code: what an
    object without source text (a notebook's class, often) does."""
    if inspect.isclass(o):
        return b"".join(name.encode() + _compiled(value) for name, value in sorted(vars(o).items())
                        if name not in ("__dict__", "__weakref__"))
    code = getattr(o, "__code__", None)
    return marshal.dumps(code) if code is not None else repr(o).encode()


def _source_hash(o) -> str:
    try:
        return _file_hash(inspect.getsourcefile(o))
    except (OSError, TypeError):  # no file on disk (None, or a notebook's cell name)
        return _own_source(o)


def code_version(*objects) -> str:
    """Hash of the source files that define `objects` (functions, classes or modules); for one
    defined in a notebook or a script's text without a file, of its own source."""
    hashes = sorted({_source_hash(o) for o in objects})
    return hashlib.sha256("".join(hashes).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def library_versions() -> dict:
    import sklearn
    import torch
    return {"numpy": np.__version__, "sklearn": sklearn.__version__, "torch": torch.__version__}


def make_key(**parts) -> str:
    """A stable hash of `parts` (JSON-serialisable values, or their repr)."""
    text = json.dumps({**parts, "versions": library_versions()}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / f"{key}.npz"

    def has(self, stage: str, key: str) -> bool:
        """True when a readable entry exists; an unreadable one is deleted."""
        return self.meta(stage, key) is not None

    def meta(self, stage: str, key: str) -> dict | None:
        return self._read(stage, key, arrays=False)

    def load(self, stage: str, key: str) -> tuple[dict, dict] | None:
        """(arrays, meta), or None when absent or corrupt (a corrupt entry is deleted)."""
        return self._read(stage, key, arrays=True)

    def array(self, stage: str, key: str, name: str = "x") -> np.ndarray | None:
        """A finished stage's result (`x`: latents, embedding or labels), or None when absent."""
        loaded = self.load(stage, key)
        return None if loaded is None else loaded[0][name]

    def _read(self, stage, key, arrays):
        path = self.path(stage, key)
        try:
            with np.load(path, allow_pickle=False) as archive:
                meta = json.loads(archive["__meta__"].tobytes())
                if not arrays:
                    return meta
                return {k: archive[k] for k in archive.files if k != "__meta__"}, meta
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)  # torn or damaged: recompute rather than trust it
            return None

    def sweep(self, max_age_s: float = 3600) -> int:
        """Delete temporary files older than `max_age_s`: what killed writers left behind (a
        live writer's file is seconds old). Returns how many went."""
        import time
        gone = 0
        for tmp in self.root.glob("*/.*.tmp"):
            try:
                if time.time() - tmp.stat().st_mtime > max_age_s:
                    tmp.unlink()
                    gone += 1
            except FileNotFoundError:  # another run swept it first
                pass
        return gone

    def remember(self, stage: str, key: str, compute):
        """`compute()`'s JSON-able value, computed once per key and kept in the cache (for the
        run-level scores that depend only on cached stage results)."""
        meta = self.meta(stage, key)
        if meta is None:
            meta = {"value": compute()}
            self.save(stage, key, {}, meta)
        return meta["value"]

    def save(self, stage: str, key: str, arrays: dict, meta: dict) -> None:
        path = self.path(stage, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {**arrays, "__meta__": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **payload)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a shared cache must be readable
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
