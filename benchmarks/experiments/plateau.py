"""What a plateau stop saves and costs. Each trainable encoder is trained once for its full
epochs per task and seed; its latent is also taken at the epoch where `plateau=F` would have
stopped (a seeded training that stops is this one's prefix: same batches, same weights), and
both latents go through the same quick combos (PCA32, PCA50w, SVD50 x KMeans, GMM, Ward).
Prints, mean over seeds, the epochs trained, the training seconds and the best combo's ACC,
full training beside each plateau. One task per process, single-threaded, as in a bench worker.

    python benchmarks/experiments/plateau.py --tasks vehicles cifar10-test --seeds 0 1 2 --plateau 0.01 0.02
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from tasks import TASKS, load
from bench.scoring import external
from clusterers import CLUSTERERS
from models import create_encoder
from models.train import encode, plateaued, train
from reducers import REDUCERS

TRAINABLE = ["baseline", "conv", "dense", "vae", "denoise", "simclr"]
REDUCERS_USED, CLUSTERERS_USED = ["pca32", "pca50w", "svd50"], ["kmeans", "gmm", "ward"]


def best_acc(latent, y, seed):
    k = len(np.unique(y))
    return max(external(y, CLUSTERERS.create(c, n_clusters=k, seed=seed).fit_predict(embedding))["acc"]
               for r in REDUCERS_USED for embedding in [REDUCERS.create(r, seed=seed).fit_transform(latent)]
               for c in CLUSTERERS_USED)


def one(task, n, encoder, seed, plateaus):
    with threadpool_limits(1):
        torch.set_num_threads(1)
        data = load(task, n)
        torch.manual_seed(seed)
        model = create_encoder(encoder, in_channels=data.x.shape[1], image_size=data.x.shape[2:])
        x = torch.from_numpy(np.array(data.x))
        history, ends, snapshots = [], [], {}  # snapshots: plateau -> (latent, epochs trained)
        start, paused = time.perf_counter(), [0.0]  # paused: time spent encoding snapshots

        def on_epoch(epoch, loss, last):
            history.append(loss)
            ends.append(time.perf_counter() - start - paused[0])
            for f in plateaus:
                if f not in snapshots and plateaued(history, f):
                    t = time.perf_counter()
                    snapshots[f] = (encode(model, x), len(history))
                    model.train()  # encode switched to eval; the training goes on exactly as before
                    paused[0] += time.perf_counter() - t
        train(model, x, seed=seed, on_epoch=on_epoch)
        rows = [{"plateau": 0.0, "epochs": len(history), "train_s": ends[-1],
                 "acc": best_acc(encode(model, x), data.y, seed)}]
        for f in plateaus:
            if f in snapshots:
                latent, epochs = snapshots[f]
                acc = best_acc(latent, data.y, seed)
            else:  # never plateaued: the full run
                epochs, acc = len(history), rows[0]["acc"]
            rows.append({"plateau": f, "epochs": epochs, "train_s": ends[epochs - 1], "acc": acc})
        return [{"task": task, "encoder": encoder, "seed": seed, **row} for row in rows]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=["vehicles", "cifar10-test"], choices=list(TASKS))
    p.add_argument("--encoders", nargs="+", default=TRAINABLE)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--plateau", type=float, nargs="+", default=[0.01, 0.02])
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    start = time.perf_counter()
    work = [(t, e, s) for t in args.tasks for s in args.seeds for e in args.encoders]
    work.sort(key=lambda w: w[1] != "simclr")  # the longest first
    parts = Parallel(n_jobs=args.jobs)(delayed(one)(t, args.n, e, s, args.plateau) for t, e, s in work)
    table = pd.DataFrame([row for part in parts for row in part])
    mean = table.groupby(["task", "encoder", "plateau"]).mean(numeric_only=True).drop(columns="seed")
    print(f"{args.n} images per task, seeds {args.seeds}; mean over seeds; wall {time.perf_counter() - start:.0f} s")
    print(mean.to_string(float_format="%.3f"))
    full = mean.xs(0.0, level="plateau")
    for f in args.plateau:
        at = mean.xs(f, level="plateau")
        print(f"plateau {f}: training seconds {at.train_s.sum():.0f} of {full.train_s.sum():.0f} "
              f"({at.train_s.sum() / full.train_s.sum():.0%}); best-combo ACC change per encoder and task: "
              f"min {(at.acc - full.acc).min():+.3f}, mean {(at.acc - full.acc).mean():+.3f}")


if __name__ == "__main__":
    main()
