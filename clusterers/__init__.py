"""Clusterer registry: sklearn-style estimators with `fit_predict(E) -> (N,)` labels.

Each entry is a factory taking `n_clusters` and `seed`. A clusterer may mark noise as -1;
scoring and the ensemble handle it.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.cluster import AgglomerativeClustering, Birch, KMeans, MiniBatchKMeans, SpectralClustering
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from bench.registry import Registry

# the parameters that no sklearn estimator checks for us (the rest are checked by sklearn)
CLUSTERERS = Registry("clusterer", constraints={
    "max_fit": [Interval(Integral, 2, None, closed="left")],
    "min_cluster_size": [Interval(Integral, 2, None, closed="left")],
    "min_samples": [Interval(Integral, 1, None, closed="left")],
    "noise": [StrOptions({"assign", "keep"})],
})


@CLUSTERERS.register("kmeans", cost=1)
def kmeans(n_clusters: int = 2, seed: int = 0):
    """KMeans (k-means++, sklearn defaults), as the seed tutorial."""
    return KMeans(n_clusters, random_state=seed)


@CLUSTERERS.register("minibatch", cost=1)
def minibatch(n_clusters: int = 2, batch_size: int = 1024, seed: int = 0):
    """MiniBatchKMeans (3 inits, batches of 1024): KMeans for large N."""
    return MiniBatchKMeans(n_clusters, batch_size=batch_size, n_init=3, random_state=seed)


@CLUSTERERS.register("gmm", cost=3)
def gmm(n_clusters: int = 2, covariance_type: str = "full", reg_covar: float = 1e-4,
        seed: int = 0):
    """Gaussian mixture (full covariance; reg_covar 1e-4 keeps flat directions fittable)."""
    return GaussianMixture(n_clusters, covariance_type=covariance_type, reg_covar=reg_covar,
                           random_state=seed)


class FitOnSample(ClusterMixin, BaseEstimator):
    """Cluster at most `max_fit` seeded rows with `estimator`; every other row takes the label of
    its nearest clustered row (and so does a new row in `predict`). Bounds the cost of methods
    that grow faster than N."""

    def __init__(self, estimator, max_fit: int = 5000, seed: int = 0):
        self.estimator, self.max_fit, self.seed = estimator, max_fit, seed

    def fit(self, x, y=None):
        x = validate_data(self, x, dtype=[np.float64, np.float32], ensure_min_samples=2)
        rows = np.arange(len(x))
        if len(x) > self.max_fit:
            rows = np.sort(np.random.default_rng(self.seed).permutation(len(x))[:self.max_fit])
        self.estimator_ = clone(self.estimator)
        self.fit_labels_ = np.asarray(self.estimator_.fit_predict(x[rows]))
        self.neighbours_ = NearestNeighbors(n_neighbors=1).fit(x[rows])
        self.labels_ = self.fit_labels_ if len(rows) == len(x) else self._nearest(x)
        return self

    def _nearest(self, x):
        return self.fit_labels_[self.neighbours_.kneighbors(x, return_distance=False)[:, 0]]

    def predict(self, x):
        check_is_fitted(self)
        return self._nearest(validate_data(self, x, dtype=[np.float64, np.float32], reset=False))


@CLUSTERERS.register("ward", cost=30, scales="fit on 5000 seeded rows, the rest join their nearest")
def ward(n_clusters: int = 2, max_fit: int = 5000, seed: int = 0):
    """Agglomerative clustering, Ward linkage."""
    # full Ward is quadratic in time and memory, and merging along a k-NN graph instead ran out of
    # memory at 60k (sklearn joins the graph's components pair by pair); 5000 rows lost no ACC
    # worth the name (docs/performance.md: scaling with N)
    return FitOnSample(AgglomerativeClustering(n_clusters, linkage="ward"), max_fit, seed)


@CLUSTERERS.register("spectral", cost=2,
                     scales="fit on 5000 seeded rows (sparse 10-NN graph), the rest join their nearest")
def spectral(n_clusters: int = 2, n_neighbors: int = 10, max_fit: int = 5000, seed: int = 0):
    """Spectral clustering on a 10-nearest-neighbour graph."""
    # LOBPCG: ARPACK's time depended on the graph, not only on N; LOBPCG finds the same
    # eigenvectors an order of magnitude faster (docs/performance.md: entry settings chosen for speed)
    return FitOnSample(SpectralClustering(n_clusters, affinity="nearest_neighbors", n_neighbors=n_neighbors,
                                          eigen_solver="lobpcg", assign_labels="cluster_qr",
                                          random_state=seed), max_fit, seed)


@CLUSTERERS.register("birch", cost=2,
                     scales="fit on 5000 seeded rows, the rest join their nearest")
def birch(n_clusters: int = 2, threshold: float = 0.5, max_fit: int = 5000, seed: int = 0):
    """Birch (one pass over a CF tree, then agglomerative on its leaves)."""
    # in 50 whitened dimensions nearly every point is its own leaf, and the agglomerative step
    # on the leaves is quadratic: 32 s at 20k images, killed for memory at 60k on 24 GB
    return FitOnSample(Birch(n_clusters=n_clusters, threshold=threshold), max_fit, seed)


class HDBSCANClusterer(ClusterMixin, BaseEstimator):
    """HDBSCAN, whose cluster count follows the density, not `n_clusters`. Noise points are
    given the label of their nearest clustered neighbour (`noise="assign"`, default), so every
    image gets a group, or left as -1 (`noise="keep"`)."""

    def __init__(self, min_cluster_size: int = 50, min_samples: int = 10, noise: str = "assign"):
        self.min_cluster_size, self.min_samples, self.noise = min_cluster_size, min_samples, noise

    def fit(self, x, y=None):
        import hdbscan
        # a copy: hdbscan's compiled code writes to its input (a read-only array fails)
        x = validate_data(self, x, dtype=np.float64, ensure_min_samples=2, copy=True)
        labels = hdbscan.HDBSCAN(min_cluster_size=self.min_cluster_size,
                                 min_samples=self.min_samples).fit_predict(x)
        noise = labels < 0
        if self.noise == "assign" and noise.any() and not noise.all():
            nearest = NearestNeighbors(n_neighbors=1).fit(x[~noise]).kneighbors(x[noise])[1][:, 0]
            labels[noise] = labels[~noise][nearest]
        self.labels_ = np.asarray(labels)
        return self


@CLUSTERERS.register("hdbscan", cost=20, scales="fit on 10000 seeded rows, the rest join their nearest")
def hdbscan_(n_clusters: int = 2, min_cluster_size: int = 50, min_samples: int = 10,
             noise: str = "assign", max_fit: int = 10000, seed: int = 0):
    """HDBSCAN (density; finds its own cluster count); noise assigned to the nearest cluster."""
    # its spanning tree grows faster than N in many dimensions: 211 s at 60k images (whitened
    # PCA(50)), the slowest clusterer there; see benchmarks/experiments/sample_size.py for the bound
    return FitOnSample(HDBSCANClusterer(min_cluster_size, min_samples, noise), max_fit, seed)


from clusterers import scan  # noqa: E402,F401  registers "scan" (torch; its own module)
