"""`simclr-scan`'s learning rate across its three phases, trained side by side, one thread each:

- "one decay" (bench's): one warm-up and cosine decay over all of the training, so the
  clustering and self-labelling phases train at the decay's tail (a quarter of `lr` and less);
- "per phase": each phase its own warm-up and cosine decay from `lr`, as separate trainings;
- "paper": the pretext phase's own decay (as `simclr` alone), then a constant 1e-4 for the
  clustering phases, SCAN's setting.

Prints SCAN's argmax ACC and k-means ACC on its backbone features (standardize, PCA 32), with
the seconds, for each.

    python benchmarks/experiments/scan_schedule.py --tasks vehicles cifar10-test --n 2000 --seeds 0
"""

import argparse
import itertools
import sys
import time
from pathlib import Path

import torch
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scan_end_to_end import kmeans_acc
from tasks import load

import models.train
from bench.scoring import accuracy
from models import create_encoder
from models.base import batches

VARIANTS = ["one decay", "per phase", "paper"]
cosine = models.train.learning_rate_factor


def phased(variant: str, model, n_images: int):
    """The training loop's schedule maker, replaced in this process for `variant`."""
    steps = [epochs * batches(n_images, model.batch_size) for epochs in model.phases(n_images)]
    starts = list(itertools.accumulate(steps, initial=0))
    decays = [cosine(model.schedule, max(1, n)) for n in steps]  # each phase's, built once

    def factor(step: int) -> float:
        phase = max(i for i in range(3) if starts[i] <= step)
        if variant == "paper":
            return decays[0](step) if phase == 0 else 1e-4 / model.lr
        return decays[phase](step - starts[phase])
    return lambda schedule, total: factor


def trained(variant: str, task: str, n: int, seed: int) -> tuple[float, float, float]:
    torch.set_num_threads(1)
    data = load(task, n)
    k = data.n_classes
    torch.manual_seed(seed)
    model = create_encoder("simclr-scan", in_channels=data.x.shape[1], n_clusters=k)
    # set on every call: a worker that trained another variant before still has its schedule
    models.train.learning_rate_factor = cosine if variant == "one decay" else phased(variant, model, len(data.x))
    started = time.perf_counter()
    latent, _ = models.train.fit_encoder(model, data.x, seed=seed, device=torch.device("cpu"))
    seconds = time.perf_counter() - started
    return accuracy(data.y, latent[:, -k:].argmax(1)), kmeans_acc(latent[:, :-k], data, seed), seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=["vehicles"])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    args = p.parse_args()
    jobs = [(variant, task, seed) for task in args.tasks for seed in args.seeds for variant in args.variants]
    results = Parallel(n_jobs=2)(delayed(trained)(v, t, args.n, s) for v, t, s in jobs)
    for (variant, task, seed), (argmax, kmeans, seconds) in zip(jobs, results):
        print(f"{task} seed {seed} {variant:>9}: argmax {argmax:.3f}, k-means on features {kmeans:.3f} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
