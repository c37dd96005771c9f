"""Hand-crafted features: a colour histogram and a histogram of oriented gradients (HOG),
computed in torch on whole batches. Nothing to train."""

import math

import torch
import torch.nn.functional as F

from models import MODELS
from models.base import Encoder


def colour_histogram(x: torch.Tensor, bins: int) -> torch.Tensor:
    """Joint RGB histogram (bins^3 cells), or a grey-level one, as fractions of the pixels."""
    idx = ((x + 1) / 2 * bins).long().clamp(0, bins - 1)  # (N, C, H, W)
    if x.shape[1] == 3:
        idx = (idx[:, 0] * bins + idx[:, 1]) * bins + idx[:, 2]
        cells = bins ** 3
    else:
        idx, cells = idx[:, 0], bins
    counts = torch.zeros(len(x), cells, device=x.device)
    counts.scatter_add_(1, idx.flatten(1), torch.ones_like(idx.flatten(1), dtype=counts.dtype))
    return counts / idx[0].numel()


def hog(x: torch.Tensor, orientations: int, cells: int) -> torch.Tensor:
    """Unsigned gradient orientations, magnitude-weighted, pooled on a cells x cells grid,
    L2-normalised per image."""
    grey = x.mean(dim=1, keepdim=True)
    gx = F.conv2d(F.pad(grey, (1, 1, 0, 0), mode="replicate"), torch.tensor([[[[-1.0, 0.0, 1.0]]]], device=x.device))
    gy = F.conv2d(F.pad(grey, (0, 0, 1, 1), mode="replicate"), torch.tensor([[[[-1.0], [0.0], [1.0]]]], device=x.device))
    magnitude = torch.sqrt(gx ** 2 + gy ** 2)
    angle = torch.atan2(gy, gx) % math.pi
    bin_ = (angle / math.pi * orientations).long().clamp(0, orientations - 1)
    votes = torch.zeros(len(x), orientations, *x.shape[2:], device=x.device)
    votes.scatter_(1, bin_, magnitude)
    pooled = F.adaptive_avg_pool2d(votes, cells).flatten(1)
    return pooled / (pooled.norm(dim=1, keepdim=True) + 1e-6)


class Handcrafted(Encoder):
    def __init__(self, bins: int = 4, orientations: int = 9, cells: int = 4):
        super().__init__()
        self.bins, self.orientations, self.cells = bins, orientations, cells

    def encode(self, x):
        return torch.cat([colour_histogram(x, self.bins), hog(x, self.orientations, self.cells)], dim=1)


@MODELS.register("handcrafted", cost=20, seeded=False)
def handcrafted(in_channels: int = 3, bins: int = 4, orientations: int = 9, cells: int = 4) -> Handcrafted:
    """Colour histogram (4^3 bins) + HOG (9 orientations, 4x4 cells); no training."""
    return Handcrafted(bins, orientations, cells)
