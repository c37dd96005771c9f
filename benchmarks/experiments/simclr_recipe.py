"""SimCLR's training recipe side by side: the default (at least 240 batches, cosine learning
rate) against the 8 constant-rate epochs it replaced, or any other parameters. Each variant is
trained per task and seed (one process each, single-threaded, as in a bench worker); prints,
mean over seeds, the batches trained, the training seconds, the 20-NN label purity of the
standardised latents (cosine) and the best combo's ACC over PCA32/PCA50w/SVD50 x
KMeans/GMM/Ward (`plateau.py`'s measure), and the spread of that ACC across seeds.

    python benchmarks/experiments/simclr_recipe.py --tasks vehicles cifar10-test --seeds 0 1 2
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from plateau import best_acc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from tasks import TASKS, load
from clusterers.scan import nearest_neighbours
from models import create_encoder, planned_epochs
from models.base import batches
from models.train import fit_encoder

VARIANTS = {"default": {}, "8 epochs, constant": {"min_steps": 0, "schedule": "constant"}}


def purity(latent: np.ndarray, y: np.ndarray, k: int = 20) -> float:
    """Share of each image's k nearest neighbours (cosine, standardised: `scan`'s search) with
    its label."""
    z = StandardScaler().fit_transform(latent)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return float((y[nearest_neighbours(z, k)] == y[:, None]).mean())


def one(task, n, variant, params, seed):
    with threadpool_limits(1):
        torch.set_num_threads(1)
        data = load(task, n)
        torch.manual_seed(seed)
        model = create_encoder("simclr", in_channels=data.x.shape[1], **params)
        start = time.perf_counter()
        latent, history = fit_encoder(model, data.x, seed=seed, device=torch.device("cpu"))
        return {"task": task, "variant": variant, "seed": seed,
                "batches": len(history) * batches(len(data.x), model.batch_size),
                "planned": planned_epochs("simclr", params, len(data.x)) == len(history),
                "train_s": time.perf_counter() - start, "purity": purity(latent, data.y),
                "acc": best_acc(latent, data.y, seed)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=["vehicles", "cifar10-test"], choices=list(TASKS))
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variant", nargs=2, action="append", metavar=("NAME", "JSON"),
                   help="another variant: a name and simclr's parameters as JSON, e.g. "
                        "long '{\"epochs\": 100}'")
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    variants = VARIANTS | {name: json.loads(params) for name, params in args.variant or []}
    start = time.perf_counter()
    work = [(t, v, s) for t in args.tasks for s in args.seeds for v in variants]
    rows = Parallel(n_jobs=args.jobs)(delayed(one)(t, args.n, v, variants[v], s) for t, v, s in work)
    table = pd.DataFrame(rows)
    assert table.planned.all(), "the progress bar's planned epochs differ from those trained"
    summary = table.groupby(["task", "variant"]).agg(
        batches=("batches", "mean"), train_s=("train_s", "mean"), purity=("purity", "mean"),
        acc=("acc", "mean"), acc_spread=("acc", lambda a: a.max() - a.min()))
    print(f"{args.n} images per task, seeds {args.seeds}; mean over seeds; wall {time.perf_counter() - start:.0f} s")
    print(summary.to_string(float_format="%.3f"))


if __name__ == "__main__":
    main()
