"""What each reducer and clusterer costs and what it brings: finished labelled runs replayed
without it, nothing recomputed.

For every reducer and clusterer of the runs (and the encoders with --encoders), its combos are
dropped from each run; the run-level score the default rule ranks by within an encoder
(`encoder_agreement`: NMI to the other combos of the same encoder) is recomputed on what is
left; then the default rule's top-1 and ensemble are measured by the labels, beside the
entry's share of the run's stage seconds. An entry that costs much and whose absence changes
neither is one a grid can leave out.

    python benchmarks/without_entry.py results/audit-runs/*/ [--encoders]
"""

import argparse

import numpy as np
import pandas as pd
from common import stage_seconds

from bench import ensemble, scoring, selection
from bench.defaults import DEFAULT_RANK
from bench.selection_audit import read_run, run_folders


def replay(run, table: pd.DataFrame) -> tuple[float, float]:
    """The default rule's (top-1 ACC, ensemble ACC) on `run` with only `table`'s combos."""
    table = table.copy()
    ok = table["status"] == "ok"
    for rows in table[ok].groupby("encoder").groups.values():
        table.loc[rows, "encoder_agreement"] = scoring.agreement([run.labels[c] for c in table.loc[rows, "combo"]])
    ranked, members, _ = selection.pick(table, run.labels, DEFAULT_RANK, run.k, run.settings["top_k"],
                                        run.settings["min_nmi"])
    voted, _ = ensemble.combine("vote", [run.labels[c] for c in members], [], run.k, 0, run.seed)
    return float(ranked["acc"].iloc[0]), scoring.accuracy(run.truth, voted)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="finished labelled run folders, or folders holding them")
    p.add_argument("--encoders", action="store_true", help="also leave out each encoder")
    args = p.parse_args()
    runs = [read_run(folder) for folder in run_folders(args.runs)]
    columns = ["reducer", "clusterer"] + (["encoder"] if args.encoders else [])
    rows = []
    for run in runs:
        seconds = stage_seconds(run.table)
        total = seconds.sum()
        top1, whole = replay(run, run.table)
        ok = run.table[run.table["status"] == "ok"]
        rows.append({"task": run.task, "seed": run.seed, "left out": "(nothing)", "time share": 0.0,
                     "top1": top1, "ensemble": whole, "oracle": ok["acc"].max()})
        for column in columns:
            for entry in sorted(run.table[column].unique()):
                kept = run.table[run.table[column] != entry]
                top1_without, without = replay(run, kept)
                # its own stages, and for an encoder the reductions and clusterings of its latent
                share = (run.table[run.table[column] == entry].drop_duplicates("combo")[
                    ["encode_s", "reduce_s", "cluster_s"]].sum().sum() if column == "encoder"
                         else seconds.xs(entry, level="entry").sum()) / total
                rows.append({"task": run.task, "seed": run.seed, "left out": f"{column} {entry}",
                             "time share": share, "top1": top1_without, "ensemble": without,
                             "oracle": kept[kept["status"] == "ok"]["acc"].max()})
    table = pd.DataFrame(rows)
    base = table[table["left out"] == "(nothing)"].set_index(["task", "seed"])
    table = table.merge(base[["top1", "ensemble", "oracle"]], left_on=["task", "seed"], right_index=True,
                        suffixes=("", " all"))
    for name in ("top1", "ensemble", "oracle"):
        table[f"Δ {name}"] = table[name] - table[f"{name} all"]
    summary = table[table["left out"] != "(nothing)"].groupby("left out").agg(
        runs=("task", "size"), time_share=("time share", "mean"),
        d_ensemble_mean=("Δ ensemble", "mean"), d_ensemble_min=("Δ ensemble", "min"),
        d_top1_mean=("Δ top1", "mean"), d_oracle_mean=("Δ oracle", "mean"))
    pd.set_option("display.width", 200)
    print(f"{len(runs)} runs; default rule {DEFAULT_RANK!r}; mean ensemble ACC with every entry "
          f"{base['ensemble'].mean():.4f}, top-1 {base['top1'].mean():.4f}")
    print(summary.sort_values("time_share", ascending=False).round(4).to_string())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
