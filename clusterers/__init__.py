"""Clusterer registry: sklearn-style estimators with `fit_predict(E) -> (N,)` labels.

Each entry is a factory taking `n_clusters` and `seed`. A clusterer may mark noise as -1;
scoring and the ensemble handle it.
"""

from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.mixture import GaussianMixture

from bench.registry import Registry

CLUSTERERS = Registry("clusterer")


@CLUSTERERS.register("kmeans")
def kmeans(n_clusters: int = 2, seed: int = 0):
    """KMeans (k-means++, sklearn defaults), as the seed tutorial."""
    return KMeans(n_clusters, random_state=seed)


@CLUSTERERS.register("gmm")
def gmm(n_clusters: int = 2, covariance_type: str = "full", reg_covar: float = 1e-4,
        seed: int = 0):
    """Gaussian mixture (full covariance; reg_covar 1e-4 keeps flat directions fittable)."""
    return GaussianMixture(n_clusters, covariance_type=covariance_type, reg_covar=reg_covar,
                           random_state=seed)


@CLUSTERERS.register("ward")
def ward(n_clusters: int = 2, seed: int = 0):
    """Agglomerative clustering, Ward linkage (O(N^2) memory: fine to ~20k images)."""
    return AgglomerativeClustering(n_clusters, linkage="ward")
