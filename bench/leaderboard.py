"""The leaderboard: one row per combo with its label-free scores, ranked by one of them
(silhouette by default: the selection audit's evidence, see the README).

Ground truth, when known, adds ACC/NMI/ARI columns after the ranking is made; it never
changes the order.
"""

import numpy as np
import pandas as pd

from bench import scoring, selection
from bench.executor import Outcome

TIME_COLUMNS = ["encode_s", "reduce_s", "cluster_s"]


def build(outcomes: list[Outcome], truth: np.ndarray | None = None, *, images: np.ndarray | None = None,
          n_clusters: int = 2, seed: int = 0, rank_by: str = selection.DEFAULT_RANK) -> pd.DataFrame:
    """The table ranked by `rank_by` (a label-free score column). With `images`, the extra
    selection scores of `bench.selection` too."""
    rows = []
    for o in outcomes:
        found = scoring.n_clusters_found(o.labels) if o.labels is not None else 0
        status = o.status
        if status == "ok" and found < 2:
            status = f"degenerate: {found} cluster"
        rows.append({
            "combo": o.combo.label, "encoder": o.combo.encoder.label,
            "reducer": o.combo.reducer.label, "clusterer": o.combo.clusterer.label,
            "clusters": found, "noise": float(np.mean(o.labels < 0)) if o.labels is not None else np.nan,
            "silhouette": o.silhouette if status == "ok" else np.nan,
            "stability": o.stability if status == "ok" else np.nan,
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
            rows, points = selection.reference_space(images, seed)
            table.loc[usable, "ref_silhouette"] = selection.reference_silhouettes(rows, points, labels)
    if truth is not None:
        for name in ("acc", "nmi", "ari"):
            table[name] = np.nan
        for i, o in enumerate(outcomes):
            if usable[i]:
                for name, value in scoring.external(truth, o.labels).items():
                    table.loc[i, name] = value
    # best score first; ties and failures in a fixed order, so reruns give the same file
    table.loc[~usable, rank_by] = np.nan  # a failed or degenerate combo never ranks above a working one
    table = table.sort_values([rank_by, "combo"], ascending=[False, True], na_position="last",
                              kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    order = ["rank", "combo", "silhouette", "agreement", "score", "clusters", "noise",
             *TIME_COLUMNS, "status", "warnings", "encoder", "reducer", "clusterer", "stability", *extra]
    return table[order + [c for c in ("acc", "nmi", "ari") if c in table]]


def outcome_order(table: pd.DataFrame, outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes in leaderboard order."""
    by_label = {o.combo.label: o for o in outcomes}
    return [by_label[label] for label in table["combo"]]
