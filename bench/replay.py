"""Replay: a rerun with the very inputs of a finished run copies its results instead of
assembling them again.

A run's results depend only on its inputs: the bytes of its data, labels and grid file, every
option except where files go and how the work is spread, bench's own source, and the versions
of Python and the installed packages. `key` hashes all of them. A finished run leaves its key
in the cache (`runs/KEY.json`: its folder and a hash of each file in it); a later run with the
same key copies that folder to a new run folder and prints its report, importing neither torch
nor scikit-learn. A file of the old folder changed or gone means a normal run instead (its
stages then come from the stage cache), as does anything that cannot be hashed.
"""

import hashlib
import importlib.metadata
import json
import shutil
import sys
import time
from pathlib import Path

# options that decide where files go and how the work is spread, never what is computed
# (results are byte-identical across --jobs and backends: tests/test_executor.py)
NOT_RESULTS = {"out", "cache", "jobs", "backend", "scheduler", "quiet", "list", "no_replay"}
ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "models", "reducers", "clusterers")


def _hash_files(root: Path, files) -> str:
    """Hash of `files`' paths under `root` and their bytes: a file moved to another folder
    (a module to another package, an image to another class folder) changes it too."""
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _contents(path) -> str | None:
    """Hash of a file's bytes, or of every file under a folder; None for no path."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        return _hash_files(path, sorted(p for p in path.rglob("*") if p.is_file()))
    return _hash_files(path.parent, [path])


def key(args) -> str | None:
    """The hash of everything `args`' run's results depend on; None when an input cannot be read
    (the normal run then says what is wrong with it)."""
    from bench.data import DEFAULT_DATA
    data = args.data if args.data is not None or not DEFAULT_DATA.exists() else str(DEFAULT_DATA)
    try:
        parts = {
            "options": {k: v for k, v in vars(args).items() if k not in NOT_RESULTS},
            "data": _contents(data), "labels": _contents(args.labels),
            "grid": _contents(args.grid) if Path(args.grid).is_file() else None,  # else a named grid: code
            "code": _hash_files(ROOT, sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))),
            "python": sys.version,
            "packages": sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()),
        }
    except OSError:
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _memo(cache_root: Path, run_key: str) -> Path:
    return cache_root / "runs" / f"{run_key}.json"


def _file_hashes(folder: Path) -> dict:
    return {p.name: _hash_files(folder, [p]) for p in sorted(folder.iterdir()) if p.is_file()}


def remember(cache_root: Path, run_key: str | None, folder: Path) -> None:
    """Note that finished run `folder` has inputs `run_key`, for later runs to replay."""
    if run_key is None:
        return
    memo = _memo(cache_root, run_key)
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_suffix(".tmp")
    tmp.write_text(json.dumps({"folder": str(folder.resolve()), "files": _file_hashes(folder)}))
    tmp.replace(memo)  # whole or absent, never half-written


def replay(args, cache_root: Path, run_key: str | None, console) -> Path | None:
    """Copy the finished run with inputs `run_key` to a new run folder and print its report; None
    (nothing written) when there is no such run, or its folder changed since."""
    if run_key is None:
        return None
    started = time.perf_counter()
    try:
        memo = json.loads(_memo(cache_root, run_key).read_text())
        source = Path(memo["folder"])
        if _file_hashes(source) != memo["files"]:
            return None
        record = json.loads((source / "run.json").read_text())
        grid_name = record["grid"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    from bench.export import RunFolder, check_writable
    check_writable(Path(args.out))  # made if new; else the normal run's one-line error
    folder = RunFolder(Path(args.out), grid_name)
    try:
        shutil.copytree(source, folder.staging, dirs_exist_ok=True)
        record.update(args=vars(args), replay_of=str(source))
        record["timings_s"]["replay"] = round(time.perf_counter() - started, 3)
        folder.write_json("run.json", record)
        path = folder.commit()
    except OSError:  # e.g. --out full or read-only: the normal run says so, in one line
        folder.discard()
        return None
    except BaseException:
        folder.discard()
        raise
    from bench.report import write_index
    from bench.show import show
    remember(cache_root, run_key, path)  # the newest copy: the old folder may now be deleted
    write_index(Path(args.out))
    console.print(f"[bold]replay[/] same data, options, code and packages as {source}: "
                  "nothing recomputed, its results copied")
    show(path, console)
    return path
