"""SCAN end to end (Van Gansbeke et al., ECCV 2020) on bench's SimCLR backbone, in three phases
of one training:

1. the pretext task: SimCLR's NT-Xent on two augmented views (`models.simclr`);
2. each image's nearest neighbours are mined in that embedding, then the backbone and a
   clustering head train together so that an image and one of its neighbours, each under a fresh
   augmentation, get the same cluster (`clusterers.scan.scan_loss`: their agreement, with an
   entropy term that keeps every cluster in use);
3. self-labelling: the images the model is sure of (top probability >= `threshold` on the image
   itself) become pseudo-labels for a cross-entropy on strongly augmented views, each class
   weighted by how rare it is among them.

Unlike the `scan` clusterer, which trains a head on frozen features, this updates the features.
The latent is the backbone's features followed by the cluster probabilities, so every reducer
and clusterer crosses with it.
"""

import torch
import torch.nn.functional as F
from torch import nn

from models import MODELS
from models.base import epochs_for
from models.simclr import SimCLR, augment

# clustering and self-labelling epochs are multiplied by this where CUDA trains them: on the CPU
# the defaults keep the whole training near 3x SimCLR's; the paper trains those phases for ~100
# epochs, which a GPU affords
CUDA_FACTOR = 4


def on_device(epochs: int) -> int:
    """A clustering or self-labelling phase's epochs where it trains: CUDA_FACTOR times more with CUDA."""
    from models.train import cuda_count
    return epochs * (CUDA_FACTOR if cuda_count() else 1)


def cut_out(x: torch.Tensor, generator: torch.Generator | None, side: float = 0.4) -> torch.Tensor:
    """Each image with one square of `side` x its size, at a random place, set to 0 (grey)."""
    n, _, h, w = x.shape
    size_h, size_w = max(1, round(side * h)), max(1, round(side * w))
    top = torch.randint(0, h - size_h + 1, (n,), generator=generator, device=x.device)
    left = torch.randint(0, w - size_w + 1, (n,), generator=generator, device=x.device)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < (top + size_h)[:, None, None])
              & (cols >= left[:, None, None]) & (cols < (left + size_w)[:, None, None]))
    return x.masked_fill(inside[:, None], 0.0)


def strong_augment(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Self-labelling's strong view: SimCLR's augmentations, then cut-out (as the paper's
    RandAugment + Cutout, without a policy search)."""
    return cut_out(augment(x, generator), generator)


def self_label_loss(logits_weak: torch.Tensor, logits_strong: torch.Tensor, threshold: float) -> torch.Tensor:
    """Cross-entropy of the strong views' logits against the weak views' argmax, on the images
    whose weak top probability is >= `threshold` only, each class weighted by the inverse of
    its count among them; 0 (with a gradient path) when no image is that sure."""
    with torch.no_grad():
        probability, target = logits_weak.softmax(dim=1).max(dim=1)
        sure = probability >= threshold
    if not sure.any():
        return logits_strong.sum() * 0.0
    counts = torch.bincount(target[sure], minlength=logits_weak.shape[1]).float()
    weight = torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts))
    return F.cross_entropy(logits_strong[sure], target[sure], weight=weight)


class SCAN(SimCLR):
    wants_rows = True

    def __init__(self, in_channels: int, n_clusters: int, width: int, feature_dim: int, temperature: float,
                 scan_epochs: int, self_label_epochs: int, neighbours: int, entropy_weight: float,
                 threshold: float, **train_args):
        super().__init__(in_channels, width, feature_dim, temperature, **train_args)
        self.cluster_head = nn.Linear(feature_dim, n_clusters)
        self.scan_epochs, self.self_label_epochs = scan_epochs, self_label_epochs
        self.neighbours, self.entropy_weight, self.threshold = neighbours, entropy_weight, threshold
        self.phase = "pretext"
        self.images = self.neighbour_rows = None

    def phases(self, n_images: int) -> tuple[int, int, int]:
        """Epochs of (pretext, clustering, self-labelling) on `n_images`."""
        return super().planned_epochs(n_images), self.scan_epochs, self.self_label_epochs

    def planned_epochs(self, n_images: int) -> int:
        return sum(self.phases(n_images))

    def begin_epoch(self, epoch: int, x) -> None:
        pretext, clustering, _ = self.phases(len(x))
        self.phase = "pretext" if epoch < pretext else "scan" if epoch < pretext + clustering else "self-label"
        if epoch == pretext and clustering:
            self.images, self.neighbour_rows = x, self.mine(x)

    @torch.no_grad()
    def mine(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's `neighbours` nearest others by cosine in the pretext features."""
        from clusterers.scan import nearest_neighbours
        self.eval()
        features = torch.cat([self.backbone(batch) for batch in x.split(self.encode_batch_size)])
        self.train()
        found = nearest_neighbours(F.normalize(features, dim=1).cpu().numpy(), self.neighbours)
        return torch.from_numpy(found).to(x.device)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        return self.cluster_head(self.backbone(x)).softmax(dim=1)

    def training_loss(self, x, rows=None):
        from clusterers.scan import scan_loss
        if self.phase == "pretext":
            return super().training_loss(x)
        if self.phase == "scan":
            k = self.neighbour_rows.shape[1]
            pick = torch.randint(k, (len(rows),), generator=self.generator, device=x.device)
            partners = self.images[self.neighbour_rows[rows, pick]]
            both = self.probabilities(torch.cat([augment(x, self.generator), augment(partners, self.generator)]))
            anchor, neighbour = both.chunk(2)
            return scan_loss(anchor, neighbour, self.entropy_weight)
        logits = self.cluster_head(self.backbone(torch.cat([x, strong_augment(x, self.generator)])))
        weak, strong = logits.chunk(2)
        return self_label_loss(weak.detach(), strong, self.threshold)

    def encode(self, x):
        features = self.backbone(x)
        return torch.cat([features, self.cluster_head(features).softmax(dim=1)], dim=1)


@MODELS.register("simclr-scan", cost=900)
def simclr_scan(in_channels: int = 3, n_clusters: int = 2, width: int = 32, feature_dim: int = 128,
                temperature: float = 0.5, epochs: int = 8, lr: float = 1e-3, batch_size: int = 256,
                min_steps: int = 240, schedule: str = "cosine", scan_epochs: int = 10,
                self_label_epochs: int = 5, neighbours: int = 20, entropy_weight: float = 5.0,
                threshold: float = 0.9) -> SCAN:
    """SCAN end to end: SimCLR's pretext training, then the backbone and a clustering head on
    mined neighbours (scan_epochs), then self-labelling of the sure images (x4 each with CUDA).

    `threshold` 0.9, not the paper's 0.99: after this few clustering epochs the top
    probabilities sit near 0.93, and at 0.99 no image would teach."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    return SCAN(in_channels, n_clusters, width, feature_dim, temperature, on_device(scan_epochs),
                on_device(self_label_epochs), neighbours, entropy_weight, threshold, epochs=epochs, lr=lr,
                batch_size=batch_size, min_steps=min_steps, schedule=schedule)



def _planned_epochs(given: dict, n_images: int) -> int:
    """simclr-scan's epochs on `n_images` with every parameter `given` (`models.planned_epochs`
    merges the defaults), without building it: for the progress bars."""
    return (epochs_for(n_images, given["epochs"], given["batch_size"], given["min_steps"])
            + on_device(given["scan_epochs"]) + on_device(given["self_label_epochs"]))


simclr_scan.planned_epochs = _planned_epochs
