"""How much ImageNet content do the pretrained networks recognise in a task's images? The
Inception score (exp of the mean KL divergence of each image's predicted ImageNet classes from
their average) of EfficientNet-Lite0 and -Lite2's own classifier heads, on a seeded sample of
500 images fed as bench feeds them (scaled to [-1, 1], upscaled to 192 px). A candidate gate for
the pretrained-first prior (docs/ranking.md: drawn images and 8x8 pixels); not adopted.

    python benchmarks/experiments/imagenet_recognition.py
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import tasks  # noqa: E402
from bench.representation import SAMPLE  # noqa: E402
from models.pretrained import EfficientNetLite  # noqa: E402


def class_probabilities(net: EfficientNetLite, x: torch.Tensor, batch: int = 50) -> np.ndarray:
    """ImageNet class probabilities from the network's own head, on the features bench takes
    (its `encode`: the same preprocessing, the pooled last feature map)."""
    with torch.no_grad():
        return torch.cat([net.net._fc(net.encode(x[i:i + batch])).softmax(1)
                          for i in range(0, len(x), batch)]).double().numpy()


def inception_score(p: np.ndarray) -> float:
    average = p.mean(axis=0, keepdims=True)
    return float(np.exp((p * (np.log(p + 1e-12) - np.log(average + 1e-12))).sum(axis=1).mean()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=[*tasks.TASKS, *tasks.FRESH], choices=[*tasks.TASKS, *tasks.FRESH],
                   help="tasks of benchmarks/tasks.py (default: all)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds of the 500-image sample, as a run's")
    args = p.parse_args()
    nets = {v: EfficientNetLite(v, 192) for v in ("lite0", "lite2")}  # as in `effnets`
    print(f"{'task':22s} seed  lite0  lite2  both")
    for name in args.tasks:
        images = tasks.load(name).x
        for seed in args.seeds:
            rows = np.sort(np.random.default_rng(seed).permutation(len(images))[:SAMPLE])
            x = torch.from_numpy(np.ascontiguousarray(images[rows])).float()
            p0, p2 = (class_probabilities(nets[v], x) for v in ("lite0", "lite2"))
            print(f"{name:22s} {seed:4d} {inception_score(p0):6.2f} {inception_score(p2):6.2f} "
                  f"{inception_score((p0 + p2) / 2):5.2f}", flush=True)


if __name__ == "__main__":
    main()
