"""Every encoder against each other on the shared tasks (vehicles-vs-animals, k=2; CIFAR-10
test, k=10): per encoder the ACC/NMI/ARI of its best and median combo, the label-free top-1
combo, the ensemble with and without pretrained weights, and the seed pipeline, side by side
in one run, with wall times. Ground truth is used for these figures only."""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from common import SHARED, bench_run

GRID = """
encoders = ["baseline", "conv", "dense", "vae", "denoise", "pixels", "handcrafted", "simclr", "effnet"]
reducers = ["pca50w", "umap10", "tsne3"]
clusterers = ["kmeans", "gmm", "ward"]
"""

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data", nargs="+", default=[str(SHARED / "vehicles_vs_animals_9000.npz"),
                                                  str(SHARED / "cifar10_test.npz")])
parser.add_argument("--jobs", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--grid", help="a grid TOML instead of the built-in one")
args = parser.parse_args()

work = Path(tempfile.mkdtemp(prefix="bench-encoders-"))
grid = Path(args.grid) if args.grid else work / "encoders.toml"
if not args.grid:
    grid.write_text(GRID)
cache = work / "cache"
common = ["--seed", args.seed, "--jobs", args.jobs, "--cache", cache, "--no-plots"]


def fmt(row) -> str:
    return f"{row['acc']:.3f} {row['nmi']:.3f} {row['ari']:.3f}"


for data in args.data:
    start = time.perf_counter()
    run, folder, grid_s = bench_run("--data", data, "--grid", grid, *common)
    board = pd.read_csv(folder / "leaderboard.csv")
    plain, plain_folder, plain_s = bench_run("--data", data, "--grid", grid, "--no-pretrained", *common)
    plain_board = pd.read_csv(plain_folder / "leaderboard.csv")
    seed_run, _, seed_s = bench_run("--data", data, "--grid", "seed", *common)
    print(f"\n=== {Path(data).name}: {run['data']['shape'][0]} images, k={run['data']['n_clusters']}, "
          f"{run['grid']['combos']} combos, seed {args.seed} ===")
    print(f"{'encoder':<12} {'best combo (ACC NMI ARI)':<48} {'median ACC NMI ARI':>20}")
    ok = board[board["status"] == "ok"]
    for encoder, rows in ok.groupby("encoder", sort=False):
        best = rows.loc[rows["acc"].idxmax()]
        median = {m: statistics.median(rows[m]) for m in ("acc", "nmi", "ari")}
        print(f"{encoder:<12} {best['combo']:<32} {fmt(best):>15} {fmt(median):>20}")
    failed = board[board["status"] != "ok"]
    for row in failed.itertuples():
        print(f"  failed: {row.combo}: {row.status[:100]}")
    print(f"oracle best combo      {fmt(ok.loc[ok['acc'].idxmax()])}  {ok.loc[ok['acc'].idxmax(), 'combo']}")
    print(f"label-free top-1       {fmt(board.iloc[0])}  {board.iloc[0]['combo']}")
    print(f"  without pretrained   {fmt(plain_board.iloc[0])}  {plain_board.iloc[0]['combo']}")
    m = run["ensemble"]["metrics"]
    print(f"ensemble (top-5)       {m['acc']:.3f} {m['nmi']:.3f} {m['ari']:.3f}  "
          f"{[x['combo'] for x in run['ensemble']['members']]}")
    m = plain["ensemble"]["metrics"]
    print(f"  without pretrained   {m['acc']:.3f} {m['nmi']:.3f} {m['ari']:.3f}")
    m = seed_run["ensemble"]["metrics"]
    print(f"seed pipeline          {m['acc']:.3f} {m['nmi']:.3f} {m['ari']:.3f}")
    print(f"wall s: grid (cold) {grid_s:.0f}, no-pretrained rerun {plain_s:.0f}, seed {seed_s:.0f}, "
          f"all {time.perf_counter() - start:.0f}", flush=True)
