"""bench's own estimators are scikit-learn estimators: scikit-learn's own checks (fit, input
validation, n_features_in_, pickling, cloning, idempotence) over each, as a user who puts one
in their own pipeline relies on."""

from sklearn.cluster import AgglomerativeClustering
from sklearn.decomposition import KernelPCA
from sklearn.utils.estimator_checks import parametrize_with_checks

from clusterers import FitOnSample, HDBSCANClusterer
from clusterers.scan import SCANHead
from reducers import Subsampled

# small settings so that each check's fits take milliseconds; max_fit below the checks' data
# sizes, so that the sampled path (fit on some rows, the rest join their nearest) is what runs.
# The t-SNE step (reducers.OpenTSNE) passes them too, but its fixed 250 iterations of early
# exaggeration make them half a minute: it is left out
ESTIMATORS = [
    FitOnSample(AgglomerativeClustering(2, linkage="ward"), max_fit=20),
    SCANHead(n_neighbors=5, heads=2, epochs=20, hidden=16),
    Subsampled(KernelPCA(2, kernel="rbf", random_state=0), max_fit=20),
    HDBSCANClusterer(min_cluster_size=5, min_samples=2),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
