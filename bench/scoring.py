"""Scores: label-free (silhouette, agreement, their combination) and external (ACC, NMI, ARI).

Label-free scores rank the leaderboard; external scores need ground truth and are reported
only. Noise (label -1) never helps a score: silhouette is computed on the clustered points and
scaled by their fraction, and agreement treats noise as one more cluster, which agrees with
nothing in particular.

The combined score is the mean of silhouette mapped to [0, 1] and agreement (mean NMI to the
other combos); with one combo, agreement is undefined and the score is silhouette's. Which
column ranks the leaderboard is decided in `bench.selection` by the audit's evidence (now
silhouette: agreement rewards the majority of a grid, which can be wrong together).
"""

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (adjusted_rand_score, normalized_mutual_info_score,
                             silhouette_score)
from sklearn.metrics.cluster import contingency_matrix

from bench.defaults import MIN_SHARE

SILHOUETTE_SAMPLE = 2000  # bounded, seeded sample: O(sample^2), cheap at any N


def n_clusters_found(labels: np.ndarray) -> int:
    return len(np.unique(labels[labels >= 0]))


def cluster_sizes(labels: np.ndarray) -> np.ndarray:
    """The sizes of the clusters found (noise left out)."""
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, int)
    return sizes[sizes > 0]


def smallest_share(labels: np.ndarray) -> float:
    """The smallest cluster's size as a fraction of an even share (clustered points / clusters
    found): 1 for equal clusters, near 0 for one big cluster plus a few outliers. NaN with
    fewer than 2 clusters."""
    sizes = cluster_sizes(labels)
    return float(sizes.min() * len(sizes) / sizes.sum()) if len(sizes) >= 2 else float("nan")


def degenerate(labels: np.ndarray, min_share: float = MIN_SHARE) -> str:
    """Why a partition is no answer, or '' when it is one: fewer than 2 clusters, or a cluster
    smaller than `min_share` of an even share. Silhouette rates "everything in one cluster but
    a few outliers" near 1 (the outliers are far from the rest), yet it is no grouping."""
    sizes = cluster_sizes(labels)
    if len(sizes) < 2:
        return "degenerate: every image is noise" if len(sizes) == 0 else "degenerate: 1 cluster"
    share = smallest_share(labels)
    if share < min_share:
        from bench.console import counted
        return (f"degenerate: smallest cluster {counted(sizes.min(), 'image')}, {share:.2%} of an even share "
                f"(< {min_share:.0%})")
    return ""


def silhouette(embedding: np.ndarray, labels: np.ndarray, *, seed: int = 0,
               sample: int = SILHOUETTE_SAMPLE) -> float:
    """Silhouette on a seeded sample of the non-noise points, times their fraction.
    NaN when fewer than 2 clusters (nothing to separate)."""
    clustered = labels >= 0
    x, y = embedding[clustered], labels[clustered]
    if not 2 <= len(np.unique(y)) < len(y):
        return float("nan")
    if len(y) > sample:
        pick = np.random.default_rng(seed).choice(len(y), sample, replace=False)
        x, y = x[pick], y[pick]
        if len(np.unique(y)) < 2:
            return float("nan")
    return float(silhouette_score(x, y)) * clustered.mean()


def stability(refit, embedding: np.ndarray, labels: np.ndarray, *, seed: int = 0,
              sample: int = SILHOUETTE_SAMPLE) -> float:
    """How well the clustering reproduces itself: `refit(rows)` clusters a seeded subsample of
    the embedding (half the points, at most `sample`) with another seed; the score is its ARI
    with the combo's own labels on those rows (1: the same split again, 0: chance). Noise (-1) is
    one more group. NaN when the refit fails (too few points for the method)."""
    rows = np.sort(np.random.default_rng(seed + 1).permutation(len(embedding))[:min(sample, len(embedding) // 2)])
    try:
        again = np.asarray(refit(embedding[rows]))
    except Exception:  # a score must never fail the combo it scores
        return float("nan")
    return float(adjusted_rand_score(labels[rows], again)) if again.shape == rows.shape else float("nan")


def prediction_strength(fit_predict, embedding: np.ndarray, *, seed: int = 0,
                        sample: int = SILHOUETTE_SAMPLE // 2) -> float:
    """Prediction strength (Tibshirani & Walther 2005): cluster two disjoint seeded halves of a
    sample (at most `sample` points) separately; give each point of the second half the cluster
    of its nearest centroid of the first half's clusters; for each cluster of the second half,
    the fraction of its pairs of points that this prediction also puts together. The score is
    the smallest such fraction (1: every cluster is predicted from the other half, near 0: one
    is not). NaN when a refit fails or finds fewer than 2 clusters. Noise (-1) is left out."""
    rows = np.random.default_rng(seed + 2).permutation(len(embedding))[:min(sample, len(embedding))]
    first, second = np.sort(rows[::2]), np.sort(rows[1::2])
    try:
        a, b = (np.asarray(fit_predict(embedding[half])) for half in (first, second))
    except Exception:  # a score must never fail the combo it scores
        return float("nan")
    if n_clusters_found(a) < 2 or n_clusters_found(b) < 2:
        return float("nan")
    names = np.unique(a[a >= 0])
    centroids = np.stack([embedding[first][a == c].mean(axis=0) for c in names])
    predicted = ((embedding[second][:, None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
    strengths = []
    for cluster in np.unique(b[b >= 0]):
        together = np.bincount(predicted[b == cluster])
        size = together.sum()
        if size >= 2:
            strengths.append((together * (together - 1)).sum() / (size * (size - 1)))
    return float(min(strengths)) if strengths else float("nan")


PARTITION_SCORES = ("silhouette", "stability", "prediction_strength")


def partition_scores(fit_predict, embedding: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> dict:
    """The label-free scores of a partition that need its embedding (`fit_predict(points, seed)`
    refits the clusterer), computed in the cluster stage and cached with it."""
    refit_seed = (seed + 1) % 2**32  # another seed than the combo's, still one scikit-learn takes
    return {"silhouette": silhouette(embedding, labels, seed=seed),
            "stability": stability(lambda rows: fit_predict(rows, refit_seed), embedding, labels, seed=seed),
            "prediction_strength": prediction_strength(lambda rows: fit_predict(rows, refit_seed),
                                                       embedding, seed=seed)}


def agreement(label_sets: list[np.ndarray]) -> np.ndarray:
    """For each labelling, its mean NMI to all the others (NaN when there is only one)."""
    m = len(label_sets)
    if m < 2:
        return np.full(m, np.nan)
    return (pairwise_nmi(label_sets).sum(axis=1) - 1) / (m - 1)


def pairwise_nmi(label_sets: list[np.ndarray]) -> np.ndarray:
    """The matrix of NMI between every two labellings, by sklearn's definition (arithmetic-mean
    normalisation; two unsplit labellings agree fully). Every pair's contingency table at once,
    as blocks of one matrix product of the labellings' one-hot encodings: a full grid's 500
    combos (125k pairs) take seconds, where sklearn's per-pair call took minutes."""
    codes = [np.unique(labels, return_inverse=True)[1].ravel() for labels in label_sets]
    sizes = np.array([code.max() + 1 for code in codes])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n = len(codes[0])
    onehot = np.zeros((n, sizes.sum()), np.float32)  # float32 counts are exact below 2**24 images
    for start, code in zip(starts, codes):
        onehot[np.arange(n), start + code] = 1
    joint = (onehot.T @ onehot).astype(np.float64)
    counts = np.diag(joint)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.nan_to_num(joint / n * np.log(joint * n / np.outer(counts, counts)))  # 0 log 0 = 0
    mi = np.add.reduceat(np.add.reduceat(terms, starts, axis=0), starts, axis=1)
    entropy = np.diag(mi).copy()  # a labelling's information about itself
    with np.errstate(divide="ignore", invalid="ignore"):
        nmi = np.where(mi > np.finfo(float).eps * 10, mi / ((entropy[:, None] + entropy[None, :]) / 2), 0.0)
    unsplit = sizes == 1
    nmi[np.ix_(unsplit, unsplit)] = 1.0
    np.fill_diagonal(nmi, 1.0)
    return np.clip(nmi, 0.0, 1.0)


def combined(silhouettes: np.ndarray, agreements: np.ndarray) -> np.ndarray:
    """Mean of (silhouette + 1) / 2 and agreement, over the parts that are defined."""
    parts = np.stack([(np.asarray(silhouettes, float) + 1) / 2, np.asarray(agreements, float)])
    with warnings.catch_warnings():  # all-NaN columns (failed combos) stay NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(parts, axis=0)


def accuracy(truth: np.ndarray, labels: np.ndarray) -> float:
    """Clustering accuracy: the best one-to-one matching of clusters to classes (Hungarian)."""
    table = contingency_matrix(truth, labels)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(truth))


def external(truth: np.ndarray, labels: np.ndarray) -> dict:
    return {"acc": accuracy(truth, labels),
            "nmi": float(normalized_mutual_info_score(truth, labels)),
            "ari": float(adjusted_rand_score(truth, labels))}
