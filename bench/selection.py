"""More label-free selection scores, and the audit of how well the ranking picks.

- `consensus`: NMI of a combo's labels to the consensus of the working combos (their aligned
  majority vote, the most central combo first).
- `ref_silhouette`: silhouette of a combo's labels in one shared reference space (standardised
  PCA(50) of the pixels, on a seeded sample), so it compares across embeddings, unlike the
  silhouette in each combo's own space.

The audit needs ground truth and never feeds back into the ranking: Spearman correlation of
each label-free score with ACC across combos, the regret of the label-free top-1 (oracle-best
ACC minus top-1 ACC), and the ensemble's ACC next to its members'.
"""

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import pairwise_distances

from bench.defaults import DEFAULT_RANK, ENCODER_SCORES, RULES, SCORES, split_rule  # noqa: F401 (re-exported)
from bench.defaults import GLOBAL, MIN_NMI, encoder_score, ranked_columns  # noqa: F401 (re-exported)
from bench.ensemble import choose_members, majority_vote
from bench.scoring import SILHOUETTE_SAMPLE, pairwise_nmi


def order(table: pd.DataFrame, rule: str, k: int | None = None) -> pd.Index:
    """The index of `table`'s rows in `rule`'s order, best first (missing values last, ties by
    combo name, so the order never depends on the row order it came in). With `k`, the combos
    that found exactly `k` clusters come before the others: only they answer the question asked,
    and the ensemble is built around the first of them. The `global` level counts at k = 2 only."""
    keys = [*ranked_columns(rule, k), "combo"]
    missing = [c for c in keys if c not in table]
    if missing == [GLOBAL]:
        raise ValueError(f"ranking rule {rule!r} at k = 2 needs column {GLOBAL!r} (1 for a reducer that "
                         "keeps the global layout): leaderboard.build adds it, bench.show.read_run to older runs")
    if missing:
        raise ValueError(f"ranking rule {rule!r} needs column {missing[0]!r}: build the leaderboard "
                         "with the images and the run's cache")
    if k is not None:
        table = table.assign(found_k=table["clusters"] == k)
        keys = ["found_k", *keys]
    return table.sort_values(keys, ascending=[False] * (len(keys) - 1) + [True], na_position="last",
                             kind="stable").index


def rank(table: pd.DataFrame, rule: str, k: int | None = None) -> pd.DataFrame:
    """`table`'s working combos in `rule`'s order (those that found `k` clusters first, when
    given), ranked 1, 2, ...: the working part of the leaderboard that a run with
    `--rank-by rule` shows."""
    ok = table[table["status"] == "ok"]
    return ok.loc[order(ok, rule, k)].reset_index(drop=True).assign(rank=lambda t: np.arange(1, len(t) + 1))


def pick(table: pd.DataFrame, labels: dict, rule: str, k: int, top_k: int = 5,
         min_nmi: float = MIN_NMI) -> tuple[pd.DataFrame, list[str], list[str]]:
    """What a run ranked by `rule` would choose, from its leaderboard and each combo's labels
    (`labels`: combo -> labels): (the working combos ranked, the ensemble's members best first,
    the combos passed over above the last member, each with the reason)."""
    ranked = rank(table, rule, k)
    members, skipped = choose_members(ranked, [labels.get(c) for c in ranked["combo"]], k, top_k, min_nmi)
    return ranked, list(ranked["combo"].iloc[members]), skipped


RATE_SCORES = ("enc_halves", "enc_augmentation")  # shares of retrievals found: binomial noise


def difference_noise(a: float, b: float, trials: int) -> float:
    """Two standard errors of the difference of two rates, each from `trials` tries, taken as
    independent (measured on the same images they are correlated, so this errs wide)."""
    rate = (a + b) / 2
    return 2 * np.sqrt(2 * rate * (1 - rate) / trials)


def encoder_tie(table: pd.DataFrame, rule: str, n_images: int, k: int | None = None) -> str | None:
    """A caution when the rule's encoder score does not tell the two best encoders of the first
    level apart: their rates, measured on one sample, differ by less than `difference_noise`, and
    the score's order of the two is weak evidence. Only encoders with a
    working combo (one that found k clusters, when given) count. None otherwise, and for rules
    without such a score."""
    encoders, _ = split_rule(rule)
    column = encoder_score(rule)
    if column not in RATE_SCORES:
        return None
    from bench.representation import SAMPLE
    ranked = rank(table, rule, k)
    if k is not None:
        ranked = ranked[ranked["clusters"] == k]
    if "enc_pretrained" in encoders and len(ranked):
        ranked = ranked[ranked["enc_pretrained"] == ranked["enc_pretrained"].iloc[0]]
    best = ranked.drop_duplicates("encoder").dropna(subset=[column]).sort_values(column, ascending=False,
                                                                                 kind="stable")
    if len(best) < 2:
        return None
    (first, a), (second, b) = best[["encoder", column]].iloc[:2].itertuples(index=False)
    sample = min(SAMPLE, n_images)
    if a - b > difference_noise(a, b, sample):
        return None
    where = "the leaderboard's acc column shows which" if "acc" in table else \
        "with --labels, the leaderboard's acc column shows which"
    return (f"{column.removeprefix('enc_')} does not tell {first} ({a:.3f}) from {second} ({b:.3f}) apart "
            f"beyond its sampling noise on {sample} images: either may be the better encoder ({where})")


def reference_space(images: np.ndarray, seed: int, sample: int = SILHOUETTE_SAMPLE):
    """(rows, points): a seeded sample of the images in standardised PCA(50) pixel space."""
    rows = np.sort(np.random.default_rng(seed).permutation(len(images))[:sample])
    from reducers import pca
    return rows, pca(50, seed=seed).fit_transform(images[rows].reshape(len(rows), -1))


def reference_silhouettes(rows: np.ndarray, points: np.ndarray, label_sets: list) -> np.ndarray:
    # the same sample for every combo: distances computed once (float32 halves the memory
    # traffic of the per-combo products, which dominates their time)
    distances = pairwise_distances(points).astype(np.float32)
    out = []
    for labels in label_sets:
        sample = labels[rows]
        kept = sample >= 0
        ok = 2 <= len(np.unique(sample[kept])) < kept.sum()
        if not ok:
            out.append(np.nan)
            continue
        among = distances if kept.all() else distances[np.ix_(kept, kept)]  # copy only with noise
        out.append(silhouette_from_distances(among, sample[kept]) * kept.mean())
    return np.array(out)


def silhouette_from_distances(distances: np.ndarray, labels: np.ndarray) -> float:
    """sklearn's silhouette score from a precomputed distance matrix, as one matrix product per
    labelling (sklearn's chunked reduction took 20 ms per combo: 10 s for a full grid)."""
    _, code, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    per_cluster = distances @ np.eye(len(sizes), dtype=distances.dtype)[code]  # (n, k): to each cluster
    return silhouette_from_sums(per_cluster, code, sizes)


def silhouette_from_sums(per_cluster: np.ndarray, code: np.ndarray, sizes: np.ndarray) -> float:
    """The silhouette score from each point's summed distance to each cluster (`per_cluster`,
    (n, k)), its cluster `code` (0..k-1) and the cluster `sizes`."""
    own = per_cluster[np.arange(len(code)), code]
    a = own / np.maximum(sizes[code] - 1, 1)
    mean_to = per_cluster / sizes
    mean_to[np.arange(len(code)), code] = np.inf
    b = mean_to.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.nan_to_num((b - a) / np.maximum(a, b))
    return float(np.where(sizes[code] > 1, s, 0.0).mean())  # a point alone in its cluster scores 0


def consensus_nmi(label_sets: list, agreements: np.ndarray, k: int) -> np.ndarray:
    """NMI of each labelling to the aligned majority vote of those that found k clusters."""
    voters = [i for i in np.argsort(-agreements, kind="stable")
              if len(np.unique(label_sets[i][label_sets[i] >= 0])) == k]
    if not voters:
        return np.full(len(label_sets), np.nan)
    consensus, _ = majority_vote([label_sets[i] for i in voters], k, known_zeros=0)
    return pairwise_nmi([consensus, *label_sets])[0, 1:]


def audit(table: pd.DataFrame, ensemble_acc: float, member_ranks=()) -> dict:
    """How well the label-free ranking picked, by ground truth (`member_ranks`: the leaderboard
    ranks of the ensemble's members)."""
    ok = table[table["status"] == "ok"]
    members = ok[ok["rank"].isin(list(member_ranks))]["acc"]
    spearman = {}
    for name in [s for s in SCORES if s in table]:
        values, acc = ok[name].to_numpy(float), ok["acc"].to_numpy(float)
        finite = np.isfinite(values)
        # either side constant: no correlation (and SciPy's warning, from Python, says so again)
        defined = finite.sum() > 2 and np.ptp(values[finite]) > 0 and np.ptp(acc[finite]) > 0
        spearman[name] = float(spearmanr(values[finite], acc[finite]).statistic) if defined else float("nan")
    return {"spearman_with_acc": spearman,
            "oracle_best_acc": float(ok["acc"].max()), "top1_acc": float(ok["acc"].iloc[0]),
            "regret": float(ok["acc"].max() - ok["acc"].iloc[0]),
            "median_acc": float(ok["acc"].median()), "ensemble_acc": float(ensemble_acc),
            "best_member_acc": float(members.max()) if len(members) else float("nan")}
