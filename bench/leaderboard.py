"""The leaderboard: one row per combo with its label-free scores, ranked by a rule of them
(`bench.defaults.DEFAULT_RANK` unless told; docs/ranking.md says why).

Ground truth, when known, adds ACC/NMI/ARI columns after the ranking is made; it never
changes the order.
"""

import numpy as np
import pandas as pd

from bench import crossspace, representation, scoring, selection
from bench.cache import code_version, make_key
from bench.defaults import GLOBAL
from bench.executor import Outcome
from models import MODELS
from reducers import REDUCERS

TIME_COLUMNS = ["encode_s", "reduce_s", "cluster_s"]
ENCODER_COLUMNS = [f"enc_{s}" for s in representation.SCORES]  # one value per encoder


def build(outcomes: list[Outcome], truth: np.ndarray | None = None, *, images: np.ndarray | None = None,
          n_clusters: int = 2, seed: int = 0, rank_by: str = selection.DEFAULT_RANK,
          min_share: float = scoring.MIN_SHARE, cache=None) -> pd.DataFrame:
    """The table ranked by `rank_by` (a ranking rule of `bench.selection`). With `images`, the
    extra selection scores of `bench.selection` too, and with the run's `cache` also the
    cross-space and representation scores. A degenerate partition (`scoring.degenerate`,
    `min_share`) keeps its silhouette in view but is ranked below every working combo."""
    rows = []
    for o in outcomes:
        found = scoring.n_clusters_found(o.labels) if o.labels is not None else 0
        status = o.status
        if status == "ok":
            status = scoring.degenerate(o.labels, min_share) or status
        rows.append({
            "combo": o.combo.label, "encoder": o.combo.encoder.label,
            "reducer": o.combo.reducer.label, "clusterer": o.combo.clusterer.label,
            # weights learned on other data: a ranking level of its own (bench.defaults.RULES)
            "enc_pretrained": float(MODELS.get(o.combo.encoder.name).pretrained),
            # a reducer that keeps the global layout (the `global` level, at k = 2)
            GLOBAL: float(not REDUCERS.get(o.combo.reducer.name).local),
            "clusters": found, "noise": float(np.mean(o.labels < 0)) if o.labels is not None else np.nan,
            "smallest": scoring.smallest_share(o.labels) if o.labels is not None else np.nan,
            "silhouette": o.silhouette if o.labels is not None else np.nan,
            **{name: o.scores.get(name, np.nan) if status == "ok" else np.nan
               for name in ("stability", "prediction_strength")},
            **{f"{s}_s": o.records[s].seconds if s in o.records else np.nan
               for s in ("encode", "reduce", "cluster")},
            "status": status, "warnings": "; ".join(o.warnings),
        })
    table = pd.DataFrame(rows)
    usable = (table["status"] == "ok").to_numpy()
    labels = [o.labels for o, u in zip(outcomes, usable) if u]
    table["agreement"] = np.nan
    table.loc[usable, "agreement"] = scoring.agreement(labels)
    table["score"] = scoring.combined(table["silhouette"], table["agreement"])
    table.loc[~usable, "score"] = np.nan
    extra = ["consensus", "ref_silhouette"] if images is not None else []
    if images is not None:
        table[extra] = np.nan
        if labels:
            table.loc[usable, "consensus"] = selection.consensus_nmi(
                labels, table.loc[usable, "agreement"].to_numpy(), n_clusters)
            sample, points = selection.reference_space(images, seed)
            table.loc[usable, "ref_silhouette"] = selection.reference_silhouettes(sample, points, labels)
    if images is not None and cache is not None:
        extra += ["cross_space", "encoder_silhouette", "encoder_agreement", *ENCODER_COLUMNS]
        _add_run_scores(table, outcomes, usable, images, cache, seed)
    if truth is not None:
        for name in ("acc", "nmi", "ari"):
            table[name] = np.nan
        for i, o in enumerate(outcomes):
            if o.labels is not None:  # degenerate ones too: it shows what the guard spared
                for name, value in scoring.external(truth, o.labels).items():
                    table.loc[i, name] = value
    # working combos first (a failed or degenerate one never ranks above them, whatever its
    # silhouette), those with the asked-for cluster count first among them, each part in the
    # rule's order; ties in a fixed order, so reruns give the same file
    table = table.loc[[*selection.order(table[usable], rank_by, n_clusters),
                       *selection.order(table[~usable], rank_by)]].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    order = ["rank", "combo", "silhouette", "agreement", "score", "clusters", "smallest", "noise",
             *TIME_COLUMNS, "status", "warnings", "encoder", "reducer", "clusterer", "stability",
             "prediction_strength", "enc_pretrained", GLOBAL, *extra]
    return table[order + [c for c in ("acc", "nmi", "ari") if c in table]]


def _add_run_scores(table: pd.DataFrame, outcomes: list[Outcome], usable: np.ndarray, images: np.ndarray,
                    cache, seed: int) -> None:
    """The scores that compare each combo with the whole run (cross-space, encoder agreement)
    and each encoder's (bench.representation). The costly ones depend only on cached stage
    results, so they are kept in the cache too, under those stages' keys: a warm rerun is quick."""
    table[["cross_space", "encoder_silhouette"]] = np.nan
    key = make_key(stage="crossspace", seed=seed, code=code_version(crossspace, selection),
                   spaces=sorted({o.ok_key("reduce") for o in outcomes} - {None}),
                   combos=[o.records["cluster"].key for o, u in zip(outcomes, usable) if u])
    spaces = cache.remember("crossspace", key, lambda: np.c_[
        crossspace.of_run(outcomes, usable, cache, seed=seed),
        crossspace.in_encoder_space(outcomes, usable, cache, seed=seed)].tolist())
    table.loc[usable, ["cross_space", "encoder_silhouette"]] = np.array(spaces, float).reshape(-1, 2)
    table["encoder_agreement"] = encoder_agreement(table, {o.combo.label: o.labels for o in outcomes})
    by_encoder = representation.of_run(outcomes, images, cache, seed=seed)
    for score, column in zip(representation.SCORES, ENCODER_COLUMNS):
        table[column] = [by_encoder.get(e, {}).get(score, np.nan) for e in table["encoder"]]


def encoder_agreement(table: pd.DataFrame, labels: dict) -> pd.Series:
    """Each working combo's mean NMI to the other working combos of its encoder (`labels`: combo
    -> its labels): the partition its own encoder's combos agree on, whatever the other encoders find."""
    out = pd.Series(np.nan, index=table.index)
    for rows in table[table["status"] == "ok"].groupby("encoder").groups.values():
        out[rows] = scoring.agreement([labels[c] for c in table.loc[rows, "combo"]])
    return out


def outcome_order(table: pd.DataFrame, outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes in leaderboard order."""
    by_label = {o.combo.label: o for o in outcomes}
    return [by_label[label] for label in table["combo"]]
