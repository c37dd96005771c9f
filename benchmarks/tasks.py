"""The labelled tasks every selection audit runs on, defined in one place.

Each task is a set of images with ground truth (for measuring only) and a cluster count:
the two shared hw4-shaped tasks, other groupings of the CIFAR-10 training images (easy and hard
pairs, k from 2 to 10) and the embedded digits; then image kinds that bench was not tuned on
(`HELD_OUT`): the hw4 task in grey and at 16x16, grey textures and colour patches cut from the
photographs that scikit-image ships; and (`FRESH`) tasks made after the default rule was chosen,
which chose nothing: more CIFAR-10 groupings, drawn images (typeset digits, flat shapes:
`drawn.py`) and 8x8 pixels. Images are a seeded, class-balanced subsample of `n` (the
grids users run are audited whole; images are what is cut for time).
"""

from functools import partial
from pathlib import Path

import numpy as np

import drawn
from common import SHARED
from bench.data import Dataset, _digits, fingerprint, normalise

CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _sample(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0):
    """A seeded subsample of `n` images, as many per class as the classes allow."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per = n // len(classes)
    rows = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per] for c in classes]))
    return x[rows], y[rows]


def shared(file: str, n: int):
    with np.load(SHARED / file) as d:
        return _sample(d["x"], d["y"], n)


def cifar_classes(classes: list[str], n: int):
    """CIFAR-10 training images of `classes`, one cluster each."""
    with np.load(SHARED / "cifar10_train.npz") as d:
        keep = np.isin(d["y"], [CIFAR.index(c) for c in classes])
        return _sample(d["x"][keep], d["y"][keep], n)


def grey(x: np.ndarray) -> np.ndarray:
    """RGB uint8 (N, H, W, 3) -> luminance (N, H, W) (ITU-R 601 weights)."""
    return np.rint(x @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)


def downscaled(x: np.ndarray, factor: int = 2) -> np.ndarray:
    """(N, H, W[, C]) -> uint8 (N, H/factor, W/factor[, C]), each output pixel the mean of a
    factor x factor block."""
    n, h, w, *channels = x.shape
    blocks = x.reshape(n, h // factor, factor, w // factor, factor, *channels)
    return np.rint(blocks.mean(axis=(2, 4))).astype(np.uint8)


def transformed(load, n: int, transform):
    """Another task's images (`load`: its loader) through `transform`."""
    x, y = load(n)
    return transform(x), y


def patches(photos: list[str], n: int, size: int = 32, zoom: int = 2):
    """Seeded `size`-pixel patches cut from scikit-image's bundled photographs (`photos`: names
    in `skimage.data`), n / len(photos) from each, one cluster per photograph; each patch covers
    `zoom` times `size` pixels of the photograph, averaged down, to show more than one grain."""
    import skimage.data
    rng, per, side = np.random.default_rng(0), n // len(photos), size * zoom
    xs, ys = [], []
    for label, photo in enumerate(photos):
        image = np.asarray(getattr(skimage.data, photo)(), dtype=np.float64)
        tops = rng.integers(0, image.shape[0] - side + 1, per)
        lefts = rng.integers(0, image.shape[1] - side + 1, per)
        xs.append(downscaled(np.stack([image[t:t + side, l:l + side] for t, l in zip(tops, lefts)]), zoom))
        ys.append(np.full(per, label))
    return np.concatenate(xs), np.concatenate(ys)


def digits(n: int):
    return _digits()  # all 1797: small already


TASKS = {  # name -> loader(n) of (raw images, labels)
    "vehicles": partial(shared, "vehicles_vs_animals_9000.npz"),
    "cifar10-test": partial(shared, "cifar10_test.npz"),
    "cat-dog": partial(cifar_classes, ["cat", "dog"]),  # hard pair
    "ship-frog": partial(cifar_classes, ["ship", "frog"]),  # easy pair
    "car-deer-plane": partial(cifar_classes, ["automobile", "deer", "airplane"]),
    "cifar5-animals": partial(cifar_classes, ["bird", "cat", "deer", "dog", "horse"]),
    "digits": digits,
    # image kinds the defaults were not tuned on (README of benchmarks: the task suite)
    "vehicles-grey": partial(transformed, partial(shared, "vehicles_vs_animals_9000.npz"), transform=grey),
    "vehicles-16px": partial(transformed, partial(shared, "vehicles_vs_animals_9000.npz"), transform=downscaled),
    "textures": partial(patches, ["brick", "grass", "gravel", "moon"]),  # grey, k=4
    "photo-patches": partial(patches, ["astronaut", "coffee", "chelsea", "hubble_deep_field",
                                       "immunohistochemistry"]),  # colour, k=5
}
HELD_OUT = ["vehicles-grey", "vehicles-16px", "textures", "photo-patches"]
# made after the default rule was chosen on TASKS, and never used to choose or tune anything:
# how the default does on tasks it has not seen (docs/ranking.md: fresh tasks)
FRESH = {
    "plane-bird": partial(cifar_classes, ["airplane", "bird"]),  # both on sky
    "car-truck": partial(cifar_classes, ["automobile", "truck"]),  # a fine-grained pair
    "deer-truck-grey": partial(transformed, partial(cifar_classes, ["deer", "truck"]), transform=grey),
    "frog-horse-ship-16px": partial(transformed, partial(cifar_classes, ["frog", "horse", "ship"]),
                                    transform=downscaled),
    # a second batch, made on 2026-12-05 to test the pretrained-first prior where it could fail:
    # drawn images (no photograph in them) and 8x8 pixels
    "glyphs": drawn.glyphs,  # grey typeset digits, k=10
    "shapes": drawn.shapes,  # flat colour shapes on flat backgrounds, k=4
    "glyphs-8px": partial(transformed, drawn.glyphs, transform=partial(downscaled, factor=4)),
    "vehicles-8px": partial(transformed, partial(shared, "vehicles_vs_animals_9000.npz"),
                            transform=partial(downscaled, factor=4)),
}


def raw(name: str, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Task `name`'s images as they are (uint8, channels last) and its labels 0..k-1."""
    x, y = {**TASKS, **FRESH}[name](n=n)
    return x, np.unique(y, return_inverse=True)[1].astype(np.int64)


def load(name: str, n: int = 2000) -> Dataset:
    x, y = raw(name, n)
    return Dataset(normalise(x, name), y, name, fingerprint(x))


def write(folder: Path, names: list[str], n: int = 2000) -> list[Path]:
    """Each task as FOLDER/NAME.npz (`x`, `y`), for `python -m bench.audit --data`: the same
    pixels, so the same stage cache keys, as the scripts here."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        x, y = raw(name, n)
        np.savez(folder / f"{name}.npz", x=x, y=y)
        paths.append(folder / f"{name}.npz")
    return paths


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="write the suite's tasks as .npz files for python -m bench.audit")
    p.add_argument("folder", type=Path)
    p.add_argument("--tasks", nargs="+", default=[t for t in TASKS if t not in HELD_OUT], choices=[*TASKS, *FRESH])
    p.add_argument("--n", type=int, default=2000, help="images per task (a seeded, class-balanced sample)")
    args = p.parse_args()
    print("\n".join(map(str, write(args.folder, args.tasks, args.n))))
