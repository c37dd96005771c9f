"""How much of "the best rule on this task" is chance? From `audit.csv` files of `python -m
bench.audit` (each task at several seeds), for every task and every seed held out in turn: the
rule with the best ensemble on the task's other seeds, and its ensemble on the held-out seed
beside the default's. Where the best rule of a task is better for a reason, it stays ahead on the
seed it was not chosen on; where it won by chance (one of 90 rules on a few runs), its lead
shrinks to the default's or below.

    python benchmarks/experiments/rule_per_task.py OUT1/*-audit/audit.csv OUT2/*-audit/audit.csv ...
"""

import argparse

import pandas as pd

from bench.defaults import DEFAULT_RANK


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audits", nargs="+", help="audit.csv files (one or more seeds each)")
    p.add_argument("--method", default="vote", help="ensemble method to compare (default: vote)")
    args = p.parse_args()
    runs = pd.concat(map(pd.read_csv, args.audits)).drop_duplicates(["task", "seed", "rule", "method"])
    runs = runs[runs["method"] == args.method]
    rows = []
    for task, part in runs.groupby("task"):
        ensemble = part.pivot_table(index="rule", columns="seed", values="ensemble")
        if len(ensemble.columns) < 2:
            continue
        lead_on_all = ensemble.mean(axis=1).max() - ensemble.loc[DEFAULT_RANK].mean()
        for held_out in ensemble.columns:
            others = ensemble.drop(columns=held_out).mean(axis=1)
            chosen = others.idxmax()
            rows.append({"task": task, "held-out seed": held_out, "best rule on the other seeds": chosen,
                         "its lead there": others[chosen] - others[DEFAULT_RANK],
                         "its lead on the held-out seed": ensemble.at[chosen, held_out]
                         - ensemble.at[DEFAULT_RANK, held_out],
                         "best rule's lead, chosen on all seeds": lead_on_all})
    table = pd.DataFrame(rows)
    if table.empty:
        raise SystemExit("every task needs at least two seeds")
    pd.set_option("display.width", 250)
    print(table.round(3).to_string(index=False))
    per_task = table.groupby("task")[["its lead there", "its lead on the held-out seed",
                                      "best rule's lead, chosen on all seeds"]].mean()
    per_task.loc["mean"] = per_task.mean()
    print(f"\nensemble ACC over the default ({DEFAULT_RANK!r}), mean over held-out seeds:")
    print(per_task.round(3).to_string())


if __name__ == "__main__":
    main()
