"""One rule task by task, from `audit.csv` files of `python -m bench.audit` (each task at one or
more seeds): its top-1 regret per seed and their mean, its ensemble (mean over seeds) beside the
best ensemble of any audited rule on that task (chosen with the labels), and the same for a
second rule to compare; then each rule's mean regret and ensemble over all runs, and where the
rule stands among all audited rules.

    python benchmarks/experiments/rule_table.py OUT/*-audit/audit.csv [--rule R] [--against R]
"""

import argparse

import pandas as pd

from bench.defaults import DEFAULT_RANK


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audits", nargs="+", help="audit.csv files")
    p.add_argument("--rule", default=DEFAULT_RANK, help="the rule to tabulate (default: bench's default)")
    p.add_argument("--against", help="a rule to compare with, task by task")
    p.add_argument("--method", default="vote")
    args = p.parse_args()
    runs = pd.concat(map(pd.read_csv, args.audits)).drop_duplicates(["task", "seed", "rule", "method"])
    runs = runs[runs["method"] == args.method]
    ensemble = runs.groupby(["task", "rule"])["ensemble"].mean().unstack()
    rows = []
    for task, part in runs[runs["rule"] == args.rule].groupby("task"):
        row = {"task": task, **{f"regret {s}": r for s, r in zip(part["seed"], part["regret"])},
               "regret": part["regret"].mean(), "ensemble": ensemble.at[task, args.rule]}
        if args.against:
            other = runs[(runs["task"] == task) & (runs["rule"] == args.against)]
            row |= {"against: regret": other["regret"].mean(), "against: ensemble": ensemble.at[task, args.against]}
        row |= {"best rule's ensemble": ensemble.loc[task].max(), "gap": row["ensemble"] - ensemble.loc[task].max(),
                "best rule": ensemble.loc[task].idxmax()}
        rows.append(row)
    table = pd.DataFrame(rows).set_index("task")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 60)
    print(table.round(3).to_string())
    overall = runs.groupby("rule").agg(regret=("regret", "mean"), worst=("regret", "max"), ensemble=("ensemble", "mean"))
    for rule in filter(None, (args.rule, args.against)):
        r, per_task = overall.loc[rule], runs[runs["rule"] == rule].groupby("task")["regret"].mean()
        print(f"{rule}: mean regret {r['regret']:.3f} (worst run {r['worst']:.3f}, worst task {per_task.max():.3f}), "
              f"ensemble {r['ensemble']:.3f}; among {len(overall)} rules: regret rank "
              f"{(overall['regret'] < r['regret']).sum() + 1}, ensemble rank {(overall['ensemble'] > r['ensemble']).sum() + 1}")
    print(f"{args.rule}: ensemble within 0.03 of the task's best rule's on {(table['gap'] >= -0.03).sum()} of {len(table)} tasks")

if __name__ == "__main__":
    main()
