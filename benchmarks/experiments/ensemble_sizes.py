"""Can any ensemble beat its best member? From the leaderboards and labels an audit kept
(`benchmarks/audit.py --dump`), under the default ranking rule: the top-1's ACC, each ensemble
method of bench (`vote`, `coassoc`) and the most central member (highest summed NMI to the
others: a consensus that cannot invent labels) for 3 to 24 members, the best member of the
default 5 (chosen with the labels: what "as good as its best member" asks for), a vote of the
best-ranked combo of each of 5 reducers of the top encoder (members that differ in more than the
clusterer), and the oracle.
Mean over seeds per task and grid view; no combo is recomputed, so it takes a minute.
`--drop ENCODER` leaves an encoder's combos out first: the default rule ranks encoders by a
score of their own, so that is the ranking of the grid without it.

    python benchmarks/experiments/ensemble_sizes.py /tmp/audit/dump
    python benchmarks/experiments/ensemble_sizes.py /tmp/audit/sizes --drop effnets@128 effnets@160   # full as it is
    python benchmarks/experiments/ensemble_sizes.py /tmp/audit/sizes --drop effnets effnets@160       # effnets at 128 px
"""

import argparse
import functools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from audit import VIEWS, from_dump
from tasks import load

from bench import ensemble, scoring, selection
from bench.scoring import pairwise_nmi

SIZES = (3, 5, 8, 12, 24)


def row(table: pd.DataFrame, labels: dict, truth: np.ndarray, k: int) -> dict:
    acc = functools.partial(scoring.accuracy, truth)
    # members are taken in rank order until there are enough, so each size's are a prefix of the largest's
    ranked, chosen, _ = selection.pick(table, labels, selection.DEFAULT_RANK, k, max(SIZES))
    largest = [labels[c] for c in chosen]
    out = {"top1": acc(largest[0])}
    for size in SIZES:
        members = largest[:size]
        out[f"vote{size}"] = acc(ensemble.combine("vote", members, [], k, 0)[0])
        out[f"coassoc{size}"] = acc(ensemble.combine("coassoc", members, [], k, 0)[0])
        out[f"central{size}"] = acc(members[int(pairwise_nmi(members).sum(axis=1).argmax())])
        if size == 5:
            out["best of 5"] = max(acc(m) for m in members)
    # other members: the top combo of each reducer (within the top encoder, k clusters): unlike errors?
    top = ranked[(ranked["encoder"] == ranked["encoder"].iloc[0]) & (ranked["clusters"] == k)]
    spread = top.groupby("reducer", sort=False).head(1).head(5).assign(rank=lambda t: np.arange(1, len(t) + 1))
    positions, _ = ensemble.choose_members(spread, [labels[c] for c in spread["combo"]], k, 5, ensemble.MIN_NMI)
    out["vote, one per reducer"] = acc(ensemble.combine("vote", [labels[c] for c in spread["combo"].iloc[positions]],
                                                        [], k, 0)[0])
    out["oracle"] = table.loc[table["status"] == "ok", "acc"].max()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dumps", nargs="+", help="audit.py --dump folders")
    p.add_argument("--n", type=int, default=2000, help="images per task, as the audit that dumped them")
    p.add_argument("--drop", nargs="+", default=[], metavar="ENCODER",
                   help="leave these encoders' combos out (their labels, as in the leaderboard)")
    args = p.parse_args()
    truth = functools.lru_cache(lambda task: load(task, args.n).y)
    rows = []
    for folder in args.dumps:
        for task, seed, view, table, labels in from_dump(folder):
            y = truth(task)
            table = table[~table["encoder"].isin(args.drop)]
            rows.append({"task": task, "seed": seed, "view": view, **row(table, labels, y, len(np.unique(y)))})
    results = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    for view in VIEWS:
        part = results[results["view"] == view].drop(columns="view").groupby("task")
        runs = part.size().to_dict()
        part = part.mean().drop(columns="seed")
        part.loc["MEAN"] = part.mean()
        print(f"\n=== {view}: ACC, mean over runs (per task: {runs}) ===")
        print(part.T.to_string(float_format="%.3f"))


if __name__ == "__main__":
    main()
