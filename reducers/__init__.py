"""Reducer registry: sklearn-style estimators with `fit_transform(Z) -> (N, d)`.

Each entry is a factory taking `seed` and returning an estimator or a `sklearn.pipeline`
chain. Standardisation of the encoder output (as the seed does) is the first step of a chain.
Entries whose cost grows quadratically with N fit on a bounded, seeded subsample and extend
to every point (`Subsampled`).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA, KernelPCA, TruncatedSVD
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from bench import jit
from bench.registry import Registry

# the parameters that no sklearn estimator checks for us (the rest are checked by sklearn)
REDUCERS = Registry("reducer", constraints={
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "max_fit": [Interval(Integral, 2, None, closed="left")],
    "perplexity": [Interval(Real, 0, None, closed="neither")],
    "theta": [Interval(Real, 0, None, closed="left")],
    "n_iter": [Interval(Integral, 1, None, closed="left")],
    "n_epochs": [Interval(Integral, 1, None, closed="left")],
    "n_neighbors": [Interval(Integral, 2, None, closed="left")],
    "min_dist": [Interval(Real, 0, None, closed="left")],
})


class Subsampled(TransformerMixin, BaseEstimator):
    """Fit `estimator` on at most `max_fit` seeded rows, then transform all rows."""

    def __init__(self, estimator, max_fit: int = 2000, seed: int = 0):
        self.estimator, self.max_fit, self.seed = estimator, max_fit, seed

    def fit(self, x, y=None):
        x = validate_data(self, x, dtype=[np.float64, np.float32], ensure_min_samples=2)
        rows = np.random.default_rng(self.seed).permutation(len(x))[:self.max_fit]
        self.estimator_ = clone(self.estimator).fit(x[np.sort(rows)])
        return self

    def transform(self, x):
        check_is_fitted(self)
        return self.estimator_.transform(validate_data(self, x, dtype=[np.float64, np.float32], reset=False))


class AtMost:
    """Keep at most as many components as the data has features, and one fewer than its rows
    (centred, the last holds nothing, and whitening would blow its noise up), so a small input
    or a narrow latent gets what it allows rather than an error (as t-SNE's perplexity does)."""

    def fit(self, x, y=None):
        self.fit_transform(x)
        return self

    def fit_transform(self, x, y=None):
        asked = self.n_components
        if isinstance(asked, Integral):  # a variance fraction or "mle" needs no cap
            rows, features = np.shape(x)
            self.n_components = max(1, min(asked, rows - 1, features))
        try:
            return super().fit_transform(x)
        finally:
            self.n_components = asked  # fitted attributes say what was kept; the parameter stays


class AtMostPCA(AtMost, PCA):
    pass


class AtMostSVD(AtMost, TruncatedSVD):
    pass


def pca(n_components: int = 32, whiten: bool = False, seed: int = 0):
    """Standardize, then PCA."""
    return make_pipeline(StandardScaler(), AtMostPCA(n_components, whiten=whiten, random_state=seed))


def svd(n_components: int = 50, seed: int = 0):
    """Truncated SVD of the raw (uncentred, unscaled) encoder output."""
    return AtMostSVD(n_components, random_state=seed)


def kernel_pca(n_components: int = 32, gamma: float | None = None, max_fit: int = 2000, seed: int = 0):
    """Standardize, PCA(50), then RBF kernel PCA fitted on a subsample."""
    return make_pipeline(StandardScaler(), AtMostPCA(50, random_state=seed),
                         Subsampled(KernelPCA(n_components, kernel="rbf", gamma=gamma,
                                              random_state=seed), max_fit, seed))


class OpenTSNE(TransformerMixin, BaseEstimator):
    """openTSNE as an sklearn step: the FFT-accelerated gradient in 2-D, Barnes-Hut above;
    about 3x sklearn's Barnes-Hut for the same clusters (docs/performance.md)."""

    def __init__(self, n_components: int = 2, perplexity: float = 30.0, theta: float = 0.8, n_iter: int = 500,
                 seed: int = 0):
        self.n_components, self.perplexity, self.theta, self.n_iter, self.seed = (
            n_components, perplexity, theta, n_iter, seed)

    def fit(self, x, y=None):  # sklearn pipelines ask for it; t-SNE only embeds what it fits
        self.fit_transform(x)
        return self

    def fit_transform(self, x, y=None):
        from openTSNE import TSNE as FastTSNE
        x = validate_data(self, x, dtype=np.float64, ensure_min_samples=2)
        method = "fft" if self.n_components <= 2 else "bh"
        perplexity = min(self.perplexity, (len(x) - 1) / 3)  # small inputs: what the data allows
        self.embedding_ = np.asarray(FastTSNE(self.n_components, perplexity=perplexity,
                                              negative_gradient_method=method, theta=self.theta,
                                              n_iter=self.n_iter, n_jobs=1, random_state=self.seed).fit(x))
        return self.embedding_


def pca_tsne(n_components: int = 2, pca_components: int = 50, perplexity: float = 30.0,
             theta: float = 0.8, n_iter: int = 500, seed: int = 0):
    """Standardize, PCA, then t-SNE (openTSNE) to 2-3 dims."""
    # theta: Barnes-Hut's coarseness (3-D only; the 2-D FFT gradient ignores it). 0.8 instead of
    # openTSNE's 0.5 took a 9000-image 3-D map from 60 to 35 s with the same KMeans ACC.
    # n_iter: iterations after the 250 of early exaggeration (openTSNE's 500; `tsne2` takes 250)
    return make_pipeline(StandardScaler(), AtMostPCA(pca_components, random_state=seed),
                         OpenTSNE(n_components, perplexity, theta, n_iter, seed))


def pca_umap(n_components: int = 10, n_neighbors: int = 15, min_dist: float = 0.0,
             pca_components: int = 50, n_epochs: int = 200, seed: int = 0):
    """Standardize, PCA, then UMAP (min_dist 0 packs clusters tightly, as for clustering)."""
    # n_epochs: UMAP's own choice above 10000 points; its 500 below that doubled the time for the
    # same clusters (docs/performance.md: entry settings chosen for speed)
    from umap import UMAP  # imported here: numba compiles on import, seconds we spend only when used
    jit.cache_compiled("umap", "pynndescent")
    return make_pipeline(StandardScaler(), AtMostPCA(pca_components, random_state=seed),
                         UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist,
                              n_epochs=n_epochs, random_state=seed, n_jobs=1))


def identity(seed: int = 0):
    """The encoder output unchanged."""
    return FunctionTransformer()


TSNE_SCALES = "approximate k-NN affinities, N log N gradient (openTSNE), never N x N"
# cost: rough seconds at 9000 images on one core, so the executor starts the slowest first
REDUCERS.register("pca32", pca, n_components=32, cost=1, summary="standardize -> PCA(32), as the seed tutorial")
REDUCERS.register("pca50w", pca, n_components=50, whiten=True, cost=1, summary="standardize -> PCA(50, whitened)")
REDUCERS.register("svd50", svd, n_components=50, cost=1, summary="truncated SVD(50) of the raw encoder output")
REDUCERS.register("kpca32", kernel_pca, n_components=32, cost=5,
                  scales="kernel fit on 2000 seeded rows, all rows projected",
                  summary="standardize -> PCA(50) -> RBF kernel PCA(32)")
# t-SNE and UMAP are local (neighbour embeddings): at k = 2 the default ranks their combos after
# an encoder's others (bench.defaults). tsne2: 250 iterations halve its time and its best combo
# held; tsne3's did not, so it keeps 500 (docs/performance.md: entry settings chosen for speed)
REDUCERS.register("tsne2", pca_tsne, n_components=2, n_iter=250, cost=15, scales=TSNE_SCALES, local=True,
                  summary="standardize -> PCA(50) -> t-SNE(2)")
REDUCERS.register("tsne3", pca_tsne, n_components=3, cost=60, scales=TSNE_SCALES, local=True,
                  summary="standardize -> PCA(50) -> t-SNE(3)")
REDUCERS.register("umap2", pca_umap, n_components=2, cost=8, local=True, summary="standardize -> PCA(50) -> UMAP(2)")
REDUCERS.register("umap10", pca_umap, n_components=10, cost=8, local=True, summary="standardize -> PCA(50) -> UMAP(10)")
REDUCERS.register("identity", identity, cost=0.1)
