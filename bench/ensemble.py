"""Ensembles of the top combos, oriented by the known zeros at the end.

- `vote` (default): align every member to the best one (Hungarian), majority vote per image.
- `weighted`: the same vote, each member counting by its label-free ranking score (clipped at
  a tiny positive floor: a negative silhouette counts next to nothing, never against).
- `coassoc`: evidence accumulation — how often two images share a cluster across members —
  clustered by average linkage on a seeded sample, every image then joining the sample cluster
  it co-occurs with most (bounded cost at any N; no alignment needed).
"""

import numpy as np
from scipy.optimize import linear_sum_assignment

from bench.console import counted
from bench.defaults import METHODS, MIN_NMI  # noqa: F401 (re-exported)
from bench.errors import UserError
from bench.scoring import pairwise_nmi


def compact(labels: np.ndarray) -> np.ndarray:
    """Cluster ids renamed to 0..m-1 in order of value; noise stays -1."""
    out = np.full(len(labels), -1)
    clustered = labels >= 0
    out[clustered] = np.unique(labels[clustered], return_inverse=True)[1]
    return out


def align(labels: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """Relabel `labels` (values 0..k-1, -1 noise) to best match `reference` (Hungarian)."""
    both = (labels >= 0) & (reference >= 0)
    table = np.zeros((k, k), dtype=np.int64)
    np.add.at(table, (labels[both], reference[both]), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = np.full(k, -1)
    mapping[rows] = cols
    return np.where(labels >= 0, mapping[np.clip(labels, 0, None)], -1)


def vote(members: list[np.ndarray], k: int, weights=None) -> np.ndarray:
    """Majority vote per image over aligned labellings, ordered best first, each counting
    `weights[i]` (default 1).

    Noise (-1) abstains. A tie goes to the label of the highest-ranked member that voted for
    one of the tied labels; an image on which every member abstains gets -1."""
    n = len(members[0])
    counts = np.zeros((n, k))
    for labels, weight in zip(members, np.ones(len(members)) if weights is None else weights):
        voted = labels >= 0
        counts[np.flatnonzero(voted), labels[voted]] += weight
    tied = counts == counts.max(axis=1, keepdims=True)
    result = np.full(n, -1)
    for labels in members:  # best member first
        open_ = (result < 0) & (labels >= 0)
        take = open_.copy()
        take[open_] = tied[np.flatnonzero(open_), labels[open_]]
        result[take] = labels[take]
    return result


def orient(labels: np.ndarray, known_zeros: int) -> np.ndarray:
    """Swap label names so that the most common label among the first `known_zeros` images is 0.

    The hw4 release guarantees its first five images are class 0; this is the seed's flip rule
    (`if sum(result[:5]) >= 3: result = 1 - result`) generalised to k clusters. On a tie, 0 keeps
    its name if it is among the most common, else the smallest of them becomes 0. 0 turns it off."""
    head = labels[:known_zeros]
    head = head[head >= 0]
    if known_zeros == 0 or len(head) == 0:
        return labels.copy()
    values, counts = np.unique(head, return_counts=True)
    top = values[counts == counts.max()]
    if 0 in top:
        return labels.copy()
    major = top[0]
    out = labels.copy()
    out[labels == major], out[labels == 0] = 0, major
    return out


def disagreement(ranked: list[np.ndarray], k: int, result: np.ndarray) -> np.ndarray:
    """Per image, the share of members (aligned to the result) that gave it another label."""
    aligned = [align(compact(m), result, k) for m in ranked]
    return np.mean([m != result for m in aligned], axis=0)


def agreement_with(result: np.ndarray, members: list[np.ndarray]) -> list[float]:
    """Fraction of images on which each aligned member agrees with the final vote."""
    return [float(np.mean(m == result)) for m in members]


def _aligned(ranked: list[np.ndarray], k: int) -> list[np.ndarray]:
    best = compact(ranked[0])
    return [best] + [align(compact(m), best, k) for m in ranked[1:]]


def majority_vote(ranked: list[np.ndarray], k: int, known_zeros: int, weights=None):
    """Align each member (best first) to the best, vote, orient. Returns (labels, agreements)."""
    aligned = _aligned(ranked, k)
    result = vote(aligned, k, weights)
    return orient(result, known_zeros), agreement_with(result, aligned)


COASSOC_SAMPLE = 2000


def _shared(members: np.ndarray, points: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Fraction of members that put each of `points` in the same (non-noise) cluster as each
    of `rows`: (len(points), len(rows))."""
    a, b = members[:, points, None], members[:, None, rows]
    return ((a == b) & (a >= 0)).mean(axis=0)


def coassociation(ranked: list[np.ndarray], k: int, known_zeros: int, seed: int = 0,
                  sample: int = COASSOC_SAMPLE):
    """Evidence-accumulation consensus (see the module doc). Returns (labels, agreements)."""
    from sklearn.cluster import AgglomerativeClustering
    members = np.stack([compact(m) for m in ranked])
    n = members.shape[1]
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:sample])
    together = _shared(members, rows, rows)
    sample_labels = AgglomerativeClustering(k, metric="precomputed", linkage="average").fit_predict(1 - together)
    result = np.empty(n, dtype=np.int64)
    for start in range(0, n, 1000):  # chunks keep the (chunk, sample, members) block small
        points = np.arange(start, min(start + 1000, n))
        share = _shared(members, points, rows)
        per_cluster = np.stack([share[:, sample_labels == c].mean(axis=1) for c in range(k)], axis=1)
        result[points] = per_cluster.argmax(axis=1)
    return orient(result, known_zeros), agreement_with(result, [align(m, result, k) for m in members])


def combine(method: str, ranked: list[np.ndarray], scores: list[float], k: int, known_zeros: int,
            seed: int = 0):
    """The ensemble `method` of members `ranked` best first. Returns (labels, agreements)."""
    if method == "coassoc":
        return coassociation(ranked, k, known_zeros, seed)
    weights = np.clip(np.nan_to_num(np.asarray(scores, float)), 1e-6, None) if method == "weighted" else None
    return majority_vote(ranked, k, known_zeros, weights)


def choose_members(table, labels: list, k: int, top_k: int, min_nmi: float = 0.0):
    """The ensemble's members among `table`'s rows (ranked, best first; `labels[i]` those of row
    i, None where it has none): the top `top_k` working combos that found exactly `k` clusters
    and whose labels share at least `min_nmi` NMI with the top such combo's, as row positions in
    rank order; and the combos ranked above the last member that were passed over, each with
    the reason.

    A vote can only fix the leader's errors where the others err around the same partition; a
    combo that tells another story (low NMI to the leader) outvotes its right labels. Two 2-way
    splits that are each 90 % right with independent errors share NMI 0.32."""
    rows = list(table.itertuples())
    usable = [i for i, row in enumerate(rows) if row.status == "ok"]
    matching = [i for i in usable if rows[i].clusters == k]
    if not matching:
        found = sorted({int(rows[i].clusters) for i in usable})
        raise UserError(f"no combo found exactly {k} clusters (they found {', '.join(map(str, found))}); "
                        "nothing to vote on")
    leader = matching[0]
    members, skipped = [], []
    for i in usable:
        row = rows[i]
        if len(members) == top_k:
            break
        if row.clusters != k:
            skipped.append((row.rank, f"{row.combo} (found {counted(row.clusters, 'cluster')})"))
            continue
        nmi = pairwise_nmi([labels[leader], labels[i]])[0, 1]
        if nmi < min_nmi:
            skipped.append((row.rank, f"{row.combo} (NMI {nmi:.2f} to #{rows[leader].rank} < {min_nmi})"))
            continue
        members.append(i)
    last = rows[members[-1]].rank
    return members, [note for rank, note in skipped if rank < last]
