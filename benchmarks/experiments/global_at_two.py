"""At k = 2, does picking among the first encoder's combos on global reducers pick better? t-SNE
and UMAP keep each image's neighbours, not the layout between far groups; when two groups each
hold several natural sub-groups, a 2-way cut of such a map may follow the sub-groups that sit
apart, while the first linear axes follow the largest difference. From finished labelled runs of
`python -m bench.audit` (their folders keep every combo's labels): the default rule against the
same rule where, at k = 2 only, combos on `tsne*`/`umap*` reducers rank below the encoder's
combos on the others (pca32, pca50w, svd50, kpca32). Top-1's regret and the vote of the top 5,
mean over seeds per task, for `full` and its `no-pretrained` part. Labels measure only.

    python -m bench.audit --data TASKS/*.npz --grid full --seeds 0 1 2 --out OUT --cache CACHE
    python benchmarks/experiments/global_at_two.py OUT/audit-runs/
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import ensemble, scoring, selection  # noqa: E402
from bench.defaults import DEFAULT_RANK  # noqa: E402
from within_encoder import labelled_views, print_means  # noqa: E402  (this folder is on sys.path)

LOCAL = ("tsne", "umap")  # neighbour embeddings: local structure only


def global_first(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with the neighbour-embedding combos' `encoder_agreement` (an NMI, 0..1) lowered
    below every other combo's of their encoder."""
    table = table.copy()
    local = table["reducer"].astype(str).str.startswith(LOCAL)
    table.loc[local, "encoder_agreement"] -= 2
    return table


def measure(run, table: pd.DataFrame) -> dict:
    ok = table["status"] == "ok"
    out = {"k": run.k, "oracle": table.loc[ok, "acc"].max()}
    for name, t in (("default", table), ("global", global_first(table) if run.k == 2 else table)):
        ranked, members, _ = selection.pick(t, run.labels, DEFAULT_RANK, run.k)
        voted, _ = ensemble.combine("vote", [run.labels[c] for c in members], [], run.k, 0, run.seed)
        out[f"{name}: regret"] = out["oracle"] - ranked["acc"].iloc[0]
        out[f"{name}: vote"] = scoring.accuracy(run.truth, voted)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="finished labelled run folders of a `full` audit, or folders holding them")
    rows = [{"task": run.task, "seed": run.seed, "view": view, **measure(run, table)}
            for run, view, table in labelled_views(p.parse_args().runs)]
    print_means(rows)


if __name__ == "__main__":
    main()
