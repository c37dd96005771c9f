"""SCAN end to end (`simclr-scan`) against its own pretext features, on the shared tasks: k-means
on SimCLR's features (step 1 alone), then SCAN's argmax after the clustering phase (step 2),
then after self-labelling too (step 3), with each training's time. On CUDA the clustering and
self-labelling phases train 4x the epochs (models.scan.CUDA_FACTOR); on the CPU use `--n` to
sample. Labels measure only.

    python benchmarks/scan_end_to_end.py                                   # both shared tasks, whole, CUDA if present
    python benchmarks/scan_end_to_end.py --tasks vehicles --n 2000 --seeds 0   # a CPU check
"""

import argparse
import time

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from tasks import load

from bench.scoring import accuracy
from models import create_encoder
from models.train import fit_encoder, pick_device


def trained(name: str, data, seed: int, **params):
    torch.manual_seed(seed)
    model = create_encoder(name, in_channels=data.x.shape[1], n_clusters=data.n_classes, **params)
    started = time.perf_counter()
    latent, _ = fit_encoder(model, data.x, seed=seed, device=pick_device())
    return latent, time.perf_counter() - started


def kmeans_acc(features: np.ndarray, data, seed: int) -> float:
    points = PCA(32, random_state=seed).fit_transform(StandardScaler().fit_transform(features))
    return accuracy(data.y, KMeans(data.n_classes, n_init=10, random_state=seed).fit_predict(points))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=["vehicles", "cifar10-test"])
    p.add_argument("--n", type=int, default=100_000, help="images per task (default: all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    print(f"device {pick_device()}")
    for task in args.tasks:
        for seed in args.seeds:
            data = load(task, args.n)
            k = data.n_classes
            pretext, pretext_s = trained("simclr", data, seed)
            no_self_label, step2_s = trained("simclr-scan", data, seed, self_label_epochs=0)
            full, step3_s = trained("simclr-scan", data, seed)
            print(f"{task} ({len(data.x)} images, k={k}) seed {seed}: "
                  f"step 1 k-means {kmeans_acc(pretext, data, seed):.3f} ({pretext_s:.0f} s); "
                  f"step 2 argmax {accuracy(data.y, no_self_label[:, -k:].argmax(1)):.3f}, "
                  f"k-means on its features {kmeans_acc(no_self_label[:, :-k], data, seed):.3f} ({step2_s:.0f} s); "
                  f"step 3 argmax {accuracy(data.y, full[:, -k:].argmax(1)):.3f} ({step3_s:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
