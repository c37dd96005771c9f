"""Cross-space validation of partitions (after ACE: Wang, Zhang & Ye 2024, "Deep Clustering
Evaluation: How to Validate Internal Clustering Validation Measures").

Silhouette in a combo's own embedding says how separated its clusters are *there*, and every
reducer makes its own clusters look separated. Here every combo's labels are scored in every
embedding space of the run instead: a space enters only if its pairwise distances are
multimodal (Hartigan's dip test, p < ALPHA: there are groups in it at all), each space ranks
all the labellings by their silhouette in it, and a combo's score is its mean rank over those
spaces, from 0 (last everywhere) to 1 (first everywhere). All on one seeded sample of at most
SAMPLE images, so the cost is bounded at any N.
"""

import numpy as np

SAMPLE = 1000
ALPHA = 0.05
MAX_DISTANCES = 50_000  # pairwise distances the dip test sees per space (a seeded subset)


def clusterable(points: np.ndarray, seed: int = 0) -> float:
    """The dip test's p-value for unimodal pairwise distances (small: there are groups)."""
    import diptest
    from scipy.spatial.distance import pdist
    distances = pdist(points)
    if len(distances) <= 3:  # diptest's own answer there, 1, without its warning
        return 1.0
    if len(distances) > MAX_DISTANCES:
        distances = np.random.default_rng(seed).choice(distances, MAX_DISTANCES, replace=False)
    return float(diptest.diptest(distances)[1])


def silhouettes(points: np.ndarray, label_sets: list[np.ndarray]) -> np.ndarray:
    """The silhouette of every labelling in one space, from one distance matrix and one matrix
    product for all labellings (noise, -1, counts as one more cluster here)."""
    from sklearn.metrics import pairwise_distances

    from bench.selection import silhouette_from_sums
    distances = pairwise_distances(points).astype(np.float32)
    codes = [np.unique(labels, return_inverse=True)[1].ravel() for labels in label_sets]
    sizes = [np.bincount(code) for code in codes]
    starts = np.concatenate([[0], np.cumsum([len(s) for s in sizes])])
    onehot = np.zeros((len(points), starts[-1]), np.float32)
    for start, code in zip(starts, codes):
        onehot[np.arange(len(points)), start + code] = 1
    sums = distances @ onehot  # (n, all clusters): each point's distance to each cluster
    return np.array([silhouette_from_sums(sums[:, s:e], code, size) if len(size) >= 2 else np.nan
                     for s, e, code, size in zip(starts[:-1], starts[1:], codes, sizes)])


def cross_space(spaces: list[np.ndarray], label_sets: list[np.ndarray], *, seed: int = 0,
                sample: int = SAMPLE) -> tuple[np.ndarray, list[float]]:
    """(each labelling's mean normalised rank over the clusterable spaces, each space's dip
    p-value). NaN scores when no space is clusterable."""
    n = len(label_sets[0])
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:sample])
    picked = [labels[rows] for labels in label_sets]
    p_values, ranks = [], []
    for space in spaces:
        points = space[rows]
        p = clusterable(points, seed)
        p_values.append(p)
        if p >= ALPHA:
            continue
        values = silhouettes(points, picked)
        order = np.argsort(np.argsort(np.nan_to_num(values, nan=-np.inf), kind="stable"), kind="stable")
        ranks.append(order / max(len(values) - 1, 1))  # 1: the best labelling in this space
    scores = np.mean(ranks, axis=0) if ranks else np.full(len(label_sets), np.nan)
    return scores, p_values


def of_run(outcomes: list, usable: np.ndarray, cache, *, seed: int = 0) -> np.ndarray:
    """The cross-space score of each usable outcome, in every embedding space of the run."""
    keys = sorted({o.ok_key("reduce") for o in outcomes} - {None})
    spaces = [cache.array("reduce", key) for key in keys]
    labels = [o.labels for o, u in zip(outcomes, usable) if u]
    if not labels or not spaces:
        return np.full(len(labels), np.nan)
    return cross_space(spaces, labels, seed=seed)[0]


def in_encoder_space(outcomes: list, usable: np.ndarray, cache, *, seed: int = 0,
                     sample: int = SAMPLE) -> np.ndarray:
    """Each usable outcome's silhouette in its encoder's own output (standardised, PCA(50), on
    a seeded sample): one space shared by all the combos of an encoder, however each reduced
    it, so their partitions compare fairly there."""
    from reducers import pca
    picked = [o for o, u in zip(outcomes, usable) if u]
    out = np.full(len(picked), np.nan)
    if not picked:
        return out
    rows = np.sort(np.random.default_rng(seed).permutation(len(picked[0].labels))[:sample])
    by_encoder: dict[str, list[int]] = {}
    for i, o in enumerate(picked):
        by_encoder.setdefault(o.records["encode"].key, []).append(i)
    for key, members in by_encoder.items():
        latent = cache.array("encode", key)[rows]
        points = pca(50, seed=seed).fit_transform(latent)  # what a small sample or narrow latent allows
        out[members] = silhouettes(points, [picked[i].labels[rows] for i in members])
    return out
