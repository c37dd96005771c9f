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

SILHOUETTE_SAMPLE = 2000  # bounded, seeded sample: O(sample^2), cheap at any N


def n_clusters_found(labels: np.ndarray) -> int:
    return len(np.unique(labels[labels >= 0]))


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


def agreement(label_sets: list[np.ndarray]) -> np.ndarray:
    """For each labelling, its mean NMI to all the others (NaN when there is only one)."""
    m = len(label_sets)
    if m < 2:
        return np.full(m, np.nan)
    return (pairwise_nmi(label_sets).sum(axis=1) - 1) / (m - 1)


def pairwise_nmi(label_sets: list[np.ndarray]) -> np.ndarray:
    """The matrix of NMI between every two labellings (sklearn's definition: arithmetic-mean
    normalisation, two single-cluster labellings agree fully). One bincount per pair instead of
    sklearn's per-pair validation: ~40x faster, which matters at a full grid's 500 combos
    (125k pairs: minutes with sklearn)."""
    codes, sizes, entropies = [], [], []
    for labels in label_sets:
        _, code = np.unique(labels, return_inverse=True)
        counts = np.bincount(code)
        codes.append(code)
        sizes.append(len(counts))
        entropies.append(_entropy(counts))
    m, n = len(label_sets), len(codes[0]) if codes else 0
    nmi = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            if sizes[i] == sizes[j] == 1:  # both unsplit: a perfect match
                nmi[i, j] = nmi[j, i] = 1.0
                continue
            joint = np.bincount(codes[i] * sizes[j] + codes[j], minlength=sizes[i] * sizes[j])
            mi = _entropy(joint.reshape(sizes[i], sizes[j]).sum(1)) + \
                _entropy(joint.reshape(sizes[i], sizes[j]).sum(0)) - _entropy(joint)
            nmi[i, j] = nmi[j, i] = (max(mi, 0.0) / ((entropies[i] + entropies[j]) / 2)
                                     if mi > np.finfo(float).eps * 10 else 0.0)
    return nmi


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


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
