"""How a sampled clusterer's time and ACC change with its sample size (`max_fit`): each
clusterer fitted on a seeded sample of each size and extended to every image by nearest
neighbour ("full": fitted on every image), on one encoder's reduced output. Single-threaded,
as in a bench worker. Either CIFAR-10 pixels (train + test: up to 60000 images), or a task of
the audit suite (benchmarks/tasks.py) through any encoder; ACC is the mean over `--seeds`.

    python benchmarks/experiments/sample_size.py --clusterer hdbscan --n 60000 --sizes 5000 10000 20000 full
    python benchmarks/experiments/sample_size.py --task vehicles --n 9000 --encoder effnet --clusterer ward birch \\
        --reducer pca32 umap10 --sizes 2000 5000 full --seeds 0 1 2
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from common import SHARED
from tasks import TASKS, load
from bench.scoring import external
from clusterers import CLUSTERERS
from models import create_encoder
from models.train import fit_encoder
from reducers import REDUCERS


def cifar(n: int):
    parts = [np.load(SHARED / f) for f in ("cifar10_train.npz", "cifar10_test.npz")]
    x = np.concatenate([p["x"] for p in parts])[:n]
    y = np.concatenate([p["y"] for p in parts])[:n]
    return (x.reshape(len(x), -1) / 127.5 - 1).astype(np.float32), y


def encoded(task: str, n: int, encoder: str):
    data = load(task, n)
    model = create_encoder(encoder, in_channels=data.x.shape[1], image_size=data.x.shape[2:])
    latent, _ = fit_encoder(model, np.array(data.x), seed=0, device=torch.device("cpu"))
    return latent, data.y


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=list(TASKS), help="a task of the suite (default: CIFAR-10 pixels)")
    p.add_argument("--encoder", default="pixels", help="with --task: the encoder")
    p.add_argument("--clusterer", nargs="+", default=["hdbscan"])
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--k", type=int, default=10, help="clusters, for CIFAR-10 pixels (a task knows its own)")
    p.add_argument("--reducer", nargs="+", default=["pca50w"])
    p.add_argument("--sizes", nargs="+", default=["5000", "10000", "20000", "full"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = p.parse_args()
    with threadpool_limits(1):
        torch.set_num_threads(1)
        start = time.perf_counter()
        x, y = encoded(args.task, args.n, args.encoder) if args.task else cifar(args.n)
        k = len(np.unique(y)) if args.task else args.k
        print(f"{args.task or 'cifar10 pixels'}: {len(x)} images, {args.encoder if args.task else 'pixels'} "
              f"{x.shape[1]}-d in {time.perf_counter() - start:.1f} s, k={k}, seeds {args.seeds}")
        print(f"{'reducer':>8} {'clusterer':>9} {'max_fit':>8} {'seconds':>8} {'ACC':>6} {'NMI':>6}")
        for reducer in args.reducer:
            embeddings = {s: REDUCERS.create(reducer, seed=s).fit_transform(x) for s in args.seeds}
            for clusterer in args.clusterer:
                for size in args.sizes:
                    max_fit = len(x) if size == "full" else int(size)
                    start, scores = time.perf_counter(), []
                    for s in args.seeds:
                        labels = CLUSTERERS.create(clusterer, n_clusters=k, seed=s,
                                                   max_fit=max_fit).fit_predict(embeddings[s])
                        scores.append(external(y, labels))
                    seconds = (time.perf_counter() - start) / len(args.seeds)
                    print(f"{reducer:>8} {clusterer:>9} {size:>8} {seconds:>8.1f} "
                          f"{np.mean([m['acc'] for m in scores]):>6.3f} {np.mean([m['nmi'] for m in scores]):>6.3f}",
                          flush=True)


if __name__ == "__main__":
    main()
