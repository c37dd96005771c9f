"""What each reducer and clusterer costs and what it brings: finished labelled runs replayed
without it, nothing recomputed.

For every reducer and clusterer of the runs (and the encoders with --encoders), its combos are
dropped from each run; the run-level score the default rule ranks by within an encoder
(`encoder_agreement`: NMI to the other combos of the same encoder) is recomputed on what is
left; then the default rule's top-1 and ensemble are measured by the labels, beside the
entry's share of the run's stage seconds. An entry that costs much and whose absence changes
neither is one a grid can leave out.

    python benchmarks/without_entry.py results/audit-runs/*/ [--encoders] [--detail "encoder simclr-scan"]
    python benchmarks/without_entry.py results/audit-runs/*/ --together denoise vae dense

`--together` leaves those encoders out at once, for a grid that would drop them all.
"""

import argparse
import json

import numpy as np
import pandas as pd
from common import stage_seconds

from bench import ensemble, leaderboard, scoring, selection
from bench.defaults import DEFAULT_RANK, split_rule
from bench.selection_audit import NotAuditable, read_run, run_folders


def replay(run, table: pd.DataFrame) -> tuple[float, float, list[str]] | None:
    """The default rule's (top-1 ACC, ensemble ACC, members) on `run` with only `table`'s combos;
    None when none of them works."""
    if not (table["status"] == "ok").any():
        return None
    table = table.assign(encoder_agreement=leaderboard.encoder_agreement(table, run.labels))
    ranked, members, _ = selection.pick(table, run.labels, DEFAULT_RANK, run.k, run.settings["top_k"],
                                        run.settings["min_nmi"])
    voted, _ = ensemble.combine("vote", [run.labels[c] for c in members], [], run.k, 0, run.seed)
    return float(ranked["acc"].iloc[0]), scoring.accuracy(run.truth, voted), members


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="finished labelled run folders, or folders holding them")
    p.add_argument("--encoders", action="store_true", help="also leave out each encoder")
    p.add_argument("--detail", metavar="ENTRY", help='also print each run with and without ENTRY, '
                   'as the summary names it (e.g. "encoder simclr-scan")')
    p.add_argument("--together", nargs="+", metavar="ENCODER", help="also leave these encoders out at once")
    args = p.parse_args()
    assert split_rule(DEFAULT_RANK)[1] == "encoder_agreement", "recompute the default's partition score"
    runs = []
    for folder in run_folders(args.runs):
        try:
            runs.append(read_run(folder))
        except NotAuditable as e:
            print(f"passed over: {e}")
    columns = ["reducer", "clusterer"] + (["encoder"] if args.encoders else [])
    rows, differ = [], 0
    for i, run in enumerate(runs):
        total = stage_seconds(run.table).sum()
        top1, whole, members = replay(run, run.table)
        voted = [m["combo"] for m in json.loads((run.folder / "run.json").read_text())["ensemble"]["members"]]
        differ += members != voted  # encoder_agreement recomputed in another order: last-bit ties
        ok = run.table[run.table["status"] == "ok"]
        rows.append({"run": i, "task": run.task, "left out": "(nothing)", "time share": 0.0,
                     "top1": top1, "ensemble": whole, "oracle": ok["acc"].max()})
        left_out = [(column, entry, run.table[column] != entry)
                    for column in columns for entry in sorted(run.table[column].unique())]
        if args.together:
            left_out.append(("encoders", " ".join(args.together), ~run.table["encoder"].isin(args.together)))
        for column, entry, keep in left_out:
            kept = run.table[keep]
            replayed = replay(run, kept)
            if replayed is None:
                continue
            rows.append({"run": i, "task": run.task, "left out": f"{column} {entry}",
                         # the seconds of the stages no longer run: its own and those on its output
                         "time share": 1 - stage_seconds(kept).sum() / total,
                         "top1": replayed[0], "ensemble": replayed[1],
                         "oracle": kept[kept["status"] == "ok"]["acc"].max()})
    table = pd.DataFrame(rows)
    base = table[table["left out"] == "(nothing)"].set_index("run")
    table = table.merge(base[["top1", "ensemble", "oracle"]], left_on="run", right_index=True,
                        suffixes=("", " all"))
    for name in ("top1", "ensemble", "oracle"):
        table[f"Δ {name}"] = table[name] - table[f"{name} all"]
    summary = table[table["left out"] != "(nothing)"].groupby("left out").agg(
        runs=("task", "size"), time_share=("time share", "mean"),
        d_ensemble_mean=("Δ ensemble", "mean"), d_ensemble_min=("Δ ensemble", "min"),
        d_top1_mean=("Δ top1", "mean"), d_oracle_mean=("Δ oracle", "mean"))
    pd.set_option("display.width", 200)
    print(f"{len(runs)} runs ({differ} whose replayed members differ from the run's own); default rule "
          f"{DEFAULT_RANK!r}; mean ensemble ACC with every entry {base['ensemble'].mean():.4f}, "
          f"top-1 {base['top1'].mean():.4f}")
    print(summary.sort_values("time_share", ascending=False).round(4).to_string())
    if args.detail:
        rows = table[table["left out"] == args.detail]
        print(f"\nwith and without {args.detail}, per run:")
        print(rows[["task", "time share", "oracle all", "oracle", "ensemble all", "ensemble", "top1 all", "top1"]]
              .round(4).to_string(index=False))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
