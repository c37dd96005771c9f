"""Helpers shared by the benchmark scripts."""

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import main  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VEHICLES = SHARED / "vehicles_vs_animals_9000.npz"


def bench_run(*args) -> tuple[dict, Path, float]:
    """Run bench in-process into a fresh folder; returns (run.json, run folder, wall seconds)."""
    out = Path(tempfile.mkdtemp(prefix="bench-"))
    start = time.perf_counter()
    code = main([*map(str, args), "--out", str(out), "--quiet"])
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"bench run failed with exit code {code}")
    [folder] = [p for p in out.iterdir() if p.is_dir() and p.name != "cache"]
    return json.loads((folder / "run.json").read_text()), folder, wall
