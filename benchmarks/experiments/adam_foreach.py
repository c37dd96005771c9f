"""Adam's foreach step against torch's CPU default (a Python loop over the parameters): the same
weights bitwise, and the time of a SCAN head fit and a conv training, interleaved, one thread.

    python benchmarks/experiments/adam_foreach.py
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import clusterers.scan as scan  # noqa: E402
import models.train as train  # noqa: E402
from models import MODELS  # noqa: E402

REPS = 5
torch.set_num_threads(1)
foreach = train.adam


def loop(params, **kwargs):
    return foreach(params, foreach=False, **kwargs)


rng = np.random.default_rng(0)
points = rng.normal(size=(2000, 32)).astype(np.float32)
points[:1000] += 0.8
with np.load(Path(__file__).resolve().parents[3] / "shared/data/vehicles_vs_animals_9000.npz") as data:
    images = (data["x"][:2000].astype(np.float32) / 127.5 - 1).transpose(0, 3, 1, 2).copy()


def scan_fit():
    return scan.SCANHead(2, seed=0).fit(points).predict_proba(points)


def conv_fit():
    torch.manual_seed(0)  # the initial weights, as a stage seeds them
    return train.fit_encoder(MODELS.create("conv", in_channels=3, epochs=2), images, seed=0,
                             device=torch.device("cpu"))[0]


for name, fit in (("scan head, 2000 points", scan_fit), ("conv, 2 epochs of 2000 images", conv_fit)):
    seconds, outputs = {"loop": [], "foreach": []}, {}
    fit()  # imports and first-call costs out of the timing
    for _ in range(REPS):
        for variant, make in (("loop", loop), ("foreach", foreach)):
            train.adam = make
            start = time.perf_counter()
            outputs[variant] = fit()
            seconds[variant].append(time.perf_counter() - start)
    loop_s, foreach_s = np.median(seconds["loop"]), np.median(seconds["foreach"])
    print(f"{name}: loop {loop_s:.2f} s, foreach {foreach_s:.2f} s (median of {REPS}), "
          f"x{loop_s / foreach_s:.2f}; outputs bitwise equal: {np.array_equal(outputs['loop'], outputs['foreach'])}")
