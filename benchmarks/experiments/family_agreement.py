"""Does agreement counted across reducer families pick better inside the first encoder? From
finished labelled runs of `python -m bench.audit` (their folders keep every combo's labels), the
default rule against the same rule with its last level replaced by:

- `family_agreement`: a combo's mean NMI to its encoder's working combos on a reducer of another
  family (the registered factory: UMAP, t-SNE, PCA, SVD and kernel PCA are five families), so
  that the combos sharing one kind of map cannot outvote the rest on their own;
- `reducer_agreement`: the same, leaving out only the combos on the very same reducer;
- `family_vote`: the default's ranking kept, but its ensemble drawn from the first encoder's
  voteable combos one per reducer family first (best of each, in the default's order), then
  the next best up to 5, so that no one family fills the vote.

For each: the top-1's ACC and the vote of the top 5, mean over seeds per task, and the mean over
tasks, for `full` and its `no-pretrained` part (the same runs without the pretrained encoders'
rows, exact for these encoder-local rules). Labels measure only.

    python -m bench.audit --data SUITE/*.npz --grid full --seeds 0 1 2 --out OUT --cache CACHE
    python benchmarks/experiments/family_agreement.py OUT/audit-runs/
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import ensemble, scoring, selection  # noqa: E402
from bench.defaults import DEFAULT_RANK  # noqa: E402
from reducers import REDUCERS  # noqa: E402
from within_encoder import labelled_views, print_means  # noqa: E402  (this folder is on sys.path)

RANKED = ["encoder_agreement", "family_agreement", "reducer_agreement"]


def agreement_apart(table: pd.DataFrame, labels: dict, group) -> pd.Series:
    """Each working combo's mean NMI to its encoder's working combos whose reducer `group`
    names differently (NaN where there are none)."""
    out = pd.Series(np.nan, index=table.index)
    for rows in table[table["status"] == "ok"].groupby("encoder").groups.values():
        nmi = scoring.pairwise_nmi([labels[c] for c in table.loc[rows, "combo"]])
        groups = np.array([group(r) for r in table.loc[rows, "reducer"]])
        for i, row in enumerate(rows):
            apart = groups != groups[i]
            out[row] = nmi[i, apart].mean() if apart.any() else np.nan
    return out


def family(reducer_label: str) -> str:
    return REDUCERS.get(reducer_label.split("(")[0]).factory.__name__


def family_members(ranked: pd.DataFrame, run, top_k: int = 5) -> list[str]:
    """The first encoder's voteable combos, the best of each reducer family first, then the
    next best, `top_k` in all, in the ranking's order."""
    pool = ranked[ranked["encoder"] == ranked["encoder"].iloc[0]]
    rows, _ = selection.choose_members(pool, [run.labels.get(c) for c in pool["combo"]], run.k, len(pool),
                                       selection.MIN_NMI)
    order = list(pool["combo"].iloc[rows])
    reducer = dict(zip(pool["combo"], pool["reducer"]))
    chosen, families = [], set()
    for combo in order:  # the best of each family
        if family(reducer[combo]) not in families:
            families.add(family(reducer[combo]))
            chosen.append(combo)
    chosen = chosen[:top_k]
    chosen += [c for c in order if c not in chosen][:top_k - len(chosen)]
    return sorted(chosen, key=order.index)


def measure(run, table: pd.DataFrame) -> dict:
    table = table.copy()
    table["family_agreement"] = agreement_apart(table, run.labels, family)
    table["reducer_agreement"] = agreement_apart(table, run.labels, str)
    out = {"oracle": table.loc[table["status"] == "ok", "acc"].max()}
    for score in RANKED:
        ranked, members, _ = selection.pick(table, run.labels, DEFAULT_RANK.replace("encoder_agreement", score), run.k)
        voted, _ = ensemble.combine("vote", [run.labels[c] for c in members], [], run.k, 0, run.seed)
        out[f"{score}: top-1"] = ranked["acc"].iloc[0]
        out[f"{score}: vote"] = scoring.accuracy(run.truth, voted)
        if score == "encoder_agreement":
            voted, _ = ensemble.combine("vote", [run.labels[c] for c in family_members(ranked, run)], [],
                                        run.k, 0, run.seed)
            out["family_vote: vote"] = scoring.accuracy(run.truth, voted)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="finished labelled run folders of a `full` audit, or folders holding them")
    print_means([{"task": run.task, "seed": run.seed, "view": view, **measure(run, table)}
                 for run, view, table in labelled_views(p.parse_args().runs)])


if __name__ == "__main__":
    main()
