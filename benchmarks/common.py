"""Helpers shared by the benchmark scripts."""

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import main  # noqa: E402

# a leaderboard repeats a combo's encoder and reducer times on each of its rows: (stage, entry
# column, the columns that name one stage task) count every shared stage once
STAGES = (("encode", "encoder", ["encoder"]), ("reduce", "reducer", ["encoder", "reducer"]),
          ("cluster", "clusterer", ["combo"]))

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


def stage_seconds(board):
    """Compute seconds of one run's leaderboard per (stage, entry), each shared stage once."""
    import pandas as pd
    return pd.concat({stage: board.drop_duplicates(keys).groupby(column)[f"{stage}_s"].sum()
                      for stage, column, keys in STAGES}, names=["stage", "entry"]).rename("seconds")
