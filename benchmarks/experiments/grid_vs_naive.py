"""A 2 encoders x 2 reducers x 2 clusterers grid on vehicles-vs-animals: bench (shared stages,
parallel workers, cold cache) against a naive loop that runs every combo from scratch, as a
hand-written script would. Also: the ensemble's ACC next to the best and median member's."""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from common import VEHICLES, bench_run

from bench.data import load_dataset
from bench.grids import read_grid_file
from bench.scoring import external
from clusterers import CLUSTERERS
from models import MODELS
from models.train import fit_encoder
from reducers import REDUCERS

GRID = """
encoders = ["baseline", "pixels"]
reducers = ["pca32", "pca50w"]
clusterers = ["kmeans", "gmm"]
"""

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data", default=str(VEHICLES))
parser.add_argument("--jobs", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

grid_file = Path(tempfile.mkdtemp()) / "bench2x2x2.toml"
grid_file.write_text(GRID)
grid = read_grid_file(grid_file)
dataset = load_dataset(args.data)
k = dataset.n_classes

start = time.perf_counter()
naive = []
for combo in grid.combos():  # what a loop over combos does: everything again, every time
    torch.manual_seed(args.seed)
    model = MODELS.create(combo.encoder.name, in_channels=dataset.x.shape[1])
    latent, _ = fit_encoder(model, dataset.x, seed=args.seed, device=torch.device("cpu"))
    embedding = REDUCERS.create(combo.reducer.name, seed=args.seed).fit_transform(latent)
    labels = CLUSTERERS.create(combo.clusterer.name, n_clusters=k, seed=args.seed).fit_predict(embedding)
    naive.append((combo.label, external(dataset.y, labels)["acc"]))
naive_s = time.perf_counter() - start

run, folder, bench_s = bench_run("--data", args.data, "--grid", grid_file, "--seed", args.seed,
                                 "--jobs", args.jobs)
_, _, warm_s = bench_run("--data", args.data, "--grid", grid_file, "--seed", args.seed,
                         "--jobs", args.jobs, "--cache", run["cache"]["path"])
board = pd.read_csv(folder / "leaderboard.csv")
accs = board["acc"].dropna()

print(f"{len(grid.combos())} combos on {args.data} ({len(dataset.x)} images), seed {args.seed}")
print(f"{'':28} {'wall s':>8}")
print(f"{'naive loop (from scratch)':28} {naive_s:>8.1f}")
print(f"{f'bench cold, --jobs {args.jobs}':28} {bench_s:>8.1f}   speed-up x{naive_s / bench_s:.2f}")
print(f"{'bench warm cache':28} {warm_s:>8.1f}   {100 * warm_s / bench_s:.1f}% of cold")
print()
print(board[["rank", "combo", "silhouette", "agreement", "score", "acc", "nmi", "ari"]].to_string(index=False))
print()
members = run["ensemble"]["members"]
print(f"ensemble of {len(members)} (top-{len(members)} by label-free score): "
      f"ACC {run['ensemble']['metrics']['acc']:.4f}")
print(f"best member ACC {accs.max():.4f}, median member ACC {statistics.median(accs):.4f}, "
      f"label-free top-1 ACC {board.loc[0, 'acc']:.4f}")
print(f"naive loop ACC per combo agrees with bench: "
      f"{np.allclose(sorted(a for _, a in naive), sorted(accs), atol=0.02)}")
