"""How a sampled clusterer's time and ACC change with its sample size (`max_fit`): on the
CIFAR-10 images (train + test: up to 60000) as pixels -> standardize -> PCA(50, whitened),
each clusterer fitted on a seeded sample of each size and extended to every image by nearest
neighbour ("full": fitted on every image). Single-threaded, as in a bench worker.

    python benchmarks/sample_size.py --clusterer hdbscan --n 60000 --sizes 5000 10000 20000 full
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from common import SHARED
from bench.scoring import external
from clusterers import CLUSTERERS
from reducers import REDUCERS


def cifar(n: int):
    parts = [np.load(SHARED / f) for f in ("cifar10_train.npz", "cifar10_test.npz")]
    x = np.concatenate([p["x"] for p in parts])[:n]
    y = np.concatenate([p["y"] for p in parts])[:n]
    return (x.reshape(len(x), -1) / 127.5 - 1).astype(np.float32), y


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clusterer", default="hdbscan")
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--reducer", default="pca50w")
    p.add_argument("--sizes", nargs="+", default=["5000", "10000", "20000", "full"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    x, y = cifar(args.n)
    with threadpool_limits(1):
        start = time.perf_counter()
        embedding = REDUCERS.create(args.reducer, seed=args.seed).fit_transform(x)
        print(f"{args.n} images, {args.reducer} {embedding.shape[1]}-d in {time.perf_counter() - start:.1f} s")
        print(f"{'max_fit':>8} {'seconds':>8} {'clusters':>8} {'ACC':>6} {'NMI':>6}")
        for size in args.sizes:
            max_fit = args.n if size == "full" else int(size)
            start = time.perf_counter()
            labels = CLUSTERERS.create(args.clusterer, n_clusters=args.k, seed=args.seed,
                                       max_fit=max_fit).fit_predict(embedding)
            seconds = time.perf_counter() - start
            m = external(y, labels)
            print(f"{size:>8} {seconds:>8.1f} {len(np.unique(labels)):>8} {m['acc']:>6.3f} {m['nmi']:>6.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
