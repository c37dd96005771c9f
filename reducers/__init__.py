"""Reducer registry: sklearn-style estimators with `fit_transform(Z) -> (N, d)`.

Each entry is a factory taking `seed` and returning an estimator or a `sklearn.pipeline`
chain. Standardisation of the encoder output (as the seed does) is the first step of a chain.
"""

from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from bench.registry import Registry

REDUCERS = Registry("reducer")


def pca(n_components: int = 32, whiten: bool = False, seed: int = 0):
    """Standardize, then PCA."""
    return make_pipeline(StandardScaler(), PCA(n_components, whiten=whiten, random_state=seed))


def pca_tsne(n_components: int = 2, pca_components: int = 50, perplexity: float = 30.0,
             seed: int = 0):
    """Standardize, PCA, then t-SNE (Barnes-Hut) to 2-3 dims."""
    return make_pipeline(StandardScaler(), PCA(pca_components, random_state=seed),
                         TSNE(n_components, perplexity=perplexity, init="pca", random_state=seed))


def identity(seed: int = 0):
    """The encoder output unchanged."""
    return FunctionTransformer()


REDUCERS.register("pca32", pca, n_components=32,
                  summary="standardize -> PCA(32), as the seed tutorial")
REDUCERS.register("pca50w", pca, n_components=50, whiten=True,
                  summary="standardize -> PCA(50, whitened)")
REDUCERS.register("tsne2", pca_tsne, n_components=2,
                  summary="standardize -> PCA(50) -> t-SNE(2)")
REDUCERS.register("identity", identity)
