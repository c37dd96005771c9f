"""The labelled tasks every selection audit runs on, defined in one place.

Each task is a set of real images with ground truth (for measuring only) and a cluster count:
the two shared hw4-shaped tasks, other groupings of the CIFAR-10 training images (easy and hard
pairs, k from 2 to 10) and the embedded digits. Images are a seeded, class-balanced subsample
of `n` (the grids users run are audited whole; images are what is cut for time).
"""

from functools import partial

import numpy as np

from common import SHARED
from bench.data import Dataset, embedded_default, fingerprint, normalise

CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _sample(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0):
    """A seeded subsample of `n` images, as many per class as the classes allow."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per = n // len(classes)
    rows = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per] for c in classes]))
    return x[rows], y[rows]


def _dataset(name: str, x: np.ndarray, y: np.ndarray) -> Dataset:
    return Dataset(normalise(x, name), np.unique(y, return_inverse=True)[1].astype(np.int64), name,
                   fingerprint(x))


def shared(file: str, name: str, n: int) -> Dataset:
    with np.load(SHARED / file) as d:
        return _dataset(name, *_sample(d["x"], d["y"], n))


def cifar_classes(classes: list[str], name: str, n: int) -> Dataset:
    """CIFAR-10 training images of `classes`, one cluster each."""
    with np.load(SHARED / "cifar10_train.npz") as d:
        keep = np.isin(d["y"], [CIFAR.index(c) for c in classes])
        return _dataset(name, *_sample(d["x"][keep], d["y"][keep], n))


def digits(name: str, n: int) -> Dataset:
    data = embedded_default()
    data.source = name
    return data  # all 1797: small already


TASKS = {  # name -> loader(n)
    "vehicles": partial(shared, "vehicles_vs_animals_9000.npz", "vehicles"),
    "cifar10-test": partial(shared, "cifar10_test.npz", "cifar10-test"),
    "cat-dog": partial(cifar_classes, ["cat", "dog"], "cat-dog"),  # hard pair
    "ship-frog": partial(cifar_classes, ["ship", "frog"], "ship-frog"),  # easy pair
    "car-deer-plane": partial(cifar_classes, ["automobile", "deer", "airplane"], "car-deer-plane"),
    "cifar5-animals": partial(cifar_classes, ["bird", "cat", "deer", "dog", "horse"], "cifar5-animals"),
    "digits": partial(digits, "digits"),
}


def load(name: str, n: int = 2000) -> Dataset:
    return TASKS[name](n=n)
