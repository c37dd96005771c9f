"""SCAN's clustering step on a fixed embedding (Van Gansbeke et al. 2020, "SCAN: Learning to
Classify Images without Labels"): mine each point's nearest neighbours, then train a softmax
head so that a point and its neighbours get the same cluster, with an entropy term that keeps
the clusters from collapsing into one. Several heads train side by side and the one with the
lowest loss labels the points, as in the paper. The paper's backbone fine-tuning and
self-labelling need image augmentations, which a clusterer never sees: this is its head alone,
as TEMI (Adaloglou et al. 2023) trains one on frozen features.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from clusterers import CLUSTERERS


def nearest_neighbours(x: np.ndarray, k: int) -> np.ndarray:
    """(N, k) indices of each row's k nearest other rows by cosine (rows are L2-normalised), exact:
    a k-d tree in 2-3 dims (60000 points in 0.3 s), else brute force in memory-bounded chunks
    (60000 points of 10-32 dims in 4-6 s, where a k-d tree takes 17 s at 10 dims and NN-descent's
    first call in a process 25-30 s, as it compiles its kernel in every process)."""
    k = min(k, len(x) - 1)
    algorithm = "kd_tree" if x.shape[1] <= 3 else "brute"
    found = NearestNeighbors(n_neighbors=k + 1, algorithm=algorithm).fit(x).kneighbors(x, return_distance=False)
    # a point is usually its own first neighbour, but duplicates may come first: drop itself wherever
    others = found != np.arange(len(x))[:, None]
    others[others.all(axis=1), -1] = False
    return found[others].reshape(len(x), k)


def scan_loss(p_anchor, p_neighbour, entropy_weight: float):
    """Neighbours agree (-log of their dot product), clusters stay used (entropy of the mean)."""
    import torch
    consistency = -torch.log((p_anchor * p_neighbour).sum(dim=1).clamp_min(1e-7)).mean()
    mean = p_anchor.mean(dim=0)
    entropy = -(mean * torch.log(mean.clamp_min(1e-7))).sum()
    return consistency - entropy_weight * entropy


def _head(dim: int, hidden: int, n_clusters: int, generator):
    """A linear softmax head, or with `hidden` units one hidden layer (batch-normed, as SCAN's
    MLP heads): on low-dimensional embeddings (2-50 dims) a linear head split along an
    arbitrary direction in one seed and along the clusters in the next. Its weights are drawn
    from `generator` as torch's default initialisation draws them (uniform within
    1/sqrt(fan-in)), not from the global RNG, which other threads of a run share."""
    import torch.nn as nn
    from torch.nn.utils import skip_init  # nn.Linear would draw its own weights from the global RNG

    def linear(a, b):
        return skip_init(nn.Linear, a, b)
    layers = [linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), linear(hidden, n_clusters)] \
        if hidden else [linear(dim, n_clusters)]
    head = nn.Sequential(*layers)
    for layer in head:
        if isinstance(layer, nn.Linear):
            bound = layer.in_features ** -0.5
            for p in (layer.weight, layer.bias):
                p.data.uniform_(-bound, bound, generator=generator)
    return head


class SCANHead(ClusterMixin, BaseEstimator):
    """`heads` softmax heads trained side by side for `epochs` passes over the points, or fewer
    where that many would take more than `max_steps` optimizer steps, with the SCAN loss on
    cosine neighbours; labels are the argmax of the head with the lowest loss."""

    def __init__(self, n_clusters: int = 2, n_neighbors: int = 20, heads: int = 3, epochs: int = 50,
                 hidden: int = 128, entropy_weight: float = 5.0, batch_size: int = 256, lr: float = 1e-3,
                 max_steps: int = 1000, seed: int = 0, device: str = "auto"):
        self.n_clusters, self.n_neighbors, self.heads, self.epochs = n_clusters, n_neighbors, heads, epochs
        self.max_steps = max_steps
        self.hidden, self.entropy_weight, self.batch_size, self.lr = hidden, entropy_weight, batch_size, lr
        self.seed, self.device = seed, device

    def passes(self, n_points: int) -> int:
        """Passes over `n_points`: `epochs`, fewer where they would exceed `max_steps` steps."""
        batches = -(-n_points // self.batch_size)
        return max(1, min(self.epochs, -(-self.max_steps // batches)))

    def _points(self, x):
        """Cosine geometry about the fitted centroid (a cluster at the origin keeps a direction),
        scaled by sqrt(dims) so the head's inputs have unit-sized coordinates."""
        return (normalize(x - self.center_) * np.sqrt(x.shape[1])).astype(np.float32)

    def fit(self, x, y=None):
        import torch
        from models.train import adam, pick_device
        x = validate_data(self, x, dtype=np.float32, ensure_min_samples=2)
        device = pick_device() if self.device == "auto" else torch.device(self.device)
        self.center_ = x.mean(axis=0)
        points = self._points(x)
        neighbours = torch.from_numpy(nearest_neighbours(points, self.n_neighbors)).to(device)
        points = torch.from_numpy(points).to(device)
        generator = torch.Generator().manual_seed(self.seed)  # weights, batches, neighbour picks
        heads = torch.nn.ModuleList(_head(points.shape[1], self.hidden, self.n_clusters, generator)
                                    for _ in range(self.heads)).to(device)
        optimizer = adam(heads.parameters(), lr=self.lr, weight_decay=1e-4)
        k = neighbours.shape[1]
        heads.train()
        for _ in range(self.passes(len(points))):
            losses = torch.zeros(self.heads, device=device)
            for rows in torch.randperm(len(points), generator=generator).split(self.batch_size):
                if len(rows) < 2:  # batch norm needs two rows; a last single row waits a pass
                    continue
                pick = torch.randint(k, (len(rows),), generator=generator)
                rows, pick = rows.to(device), pick.to(device)
                anchor, neighbour = points[rows], points[neighbours[rows, pick]]
                loss = torch.stack([scan_loss(head(anchor).softmax(1), head(neighbour).softmax(1),
                                              self.entropy_weight) for head in heads])
                optimizer.zero_grad()
                loss.sum().backward()
                optimizer.step()
                losses += loss.detach() * len(rows)
        self.head_ = heads[int(losses.argmin())].cpu().eval()  # by the last pass's loss, as SCAN picks
        self.labels_ = self._probabilities(points.cpu()).argmax(axis=1).astype(np.int64)
        return self

    def _probabilities(self, points):
        import torch
        with torch.no_grad():
            return self.head_(points).softmax(1).numpy()

    def predict_proba(self, x):
        """Each row's cluster probabilities under the chosen head."""
        import torch
        check_is_fitted(self)
        x = validate_data(self, x, dtype=np.float32, reset=False)
        return self._probabilities(torch.from_numpy(self._points(x)))

    def predict(self, x):
        return self.predict_proba(x).argmax(axis=1).astype(np.int64)


CLUSTERERS.constraints.update({
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "heads": [Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "max_steps": [Interval(Integral, 1, None, closed="left")],
    "hidden": [Interval(Integral, 0, None, closed="left")],
    "entropy_weight": [Interval(Real, 0, None, closed="left")],
})


@CLUSTERERS.register("scan", cost=20, scales="50 passes up to 5120 points, then about 1000 steps of 256; "
                    "exact neighbours (N^2 above 3 dims: ~6 s for 60000 of 32 dims)")
def scan(n_clusters: int = 2, n_neighbors: int = 20, heads: int = 3, epochs: int = 50, hidden: int = 128,
         entropy_weight: float = 5.0, max_steps: int = 1000, seed: int = 0):
    """SCAN clustering head (learned): a softmax head trained so that nearest neighbours agree."""
    # max_steps: the head's parameters do not grow with N, so neither need its training; fewer
    # passes at every N cost ACC where the steps were few, so the bound is on steps and leaves
    # small runs as they were (docs/performance.md: entry settings chosen for speed)
    # on the CPU: a head this small gains little from a GPU, and each of the fan-out's workers
    # would hold a CUDA context of its own on one card
    return SCANHead(n_clusters, n_neighbors, heads, epochs, hidden, entropy_weight, max_steps=max_steps, seed=seed,
                    device="cpu")
