"""How much each encoder's best combo moves with the seed: one grid on one data file, run once
per seed (one shared cache), then per encoder its best-combo ACC for each seed, the mean and
the spread (max - min), and the ensemble's ACC per seed. Ground truth is used for these
figures only.

    python benchmarks/seeds.py --grid benchmarks/experiments/simclr_full.toml --seeds 0 1 2
"""

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from common import VEHICLES, bench_run

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data", default=str(VEHICLES))
parser.add_argument("--grid", default="full", help="a named grid or a grid TOML")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
parser.add_argument("--jobs", type=int, default=2)
parser.add_argument("--cache", help="stage cache to reuse (default: a fresh one)")
args = parser.parse_args()

cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-seeds-")) / "cache"
best, ensemble = {}, {}
for seed in args.seeds:
    start = time.perf_counter()
    run, folder, _ = bench_run("--data", args.data, "--grid", args.grid, "--seed", seed, "--jobs", args.jobs,
                               "--cache", cache, "--no-plots")
    board = pd.read_csv(folder / "leaderboard.csv")
    ok = board[board["status"] == "ok"]
    for encoder, rows in ok.groupby("encoder", sort=False):
        best.setdefault(encoder, {})[seed] = rows["acc"].max()
    ensemble[seed] = run["ensemble"]["metrics"]["acc"]
    print(f"seed {seed}: {len(board)} combos, {time.perf_counter() - start:.0f} s", flush=True)

table = pd.DataFrame(best).T.rename(columns=lambda s: f"seed {s}")
table["mean"], table["spread"] = table.mean(axis=1), table.max(axis=1) - table.min(axis=1)
print(f"\n{Path(args.data).name}, grid {args.grid}: best-combo ACC per encoder and seed")
print(table.to_string(float_format="%.4f"))
print("ensemble ACC: " + ", ".join(f"seed {s} {a:.4f}" for s, a in ensemble.items()))
