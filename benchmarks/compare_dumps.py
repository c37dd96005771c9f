"""Did a change make any entry worse? Reads two `benchmarks/audit.py --dump` folders (before and
after a change, same tasks and seeds) and prints, for every encoder, reducer and clusterer, its
best combo's ACC per task (the best of the combos it is in, mean over seeds) before -> after,
and the stage compute seconds of both. Ground truth is used for these figures only.

    python benchmarks/compare_dumps.py /tmp/audit/before /tmp/audit/after
"""

import argparse
from pathlib import Path

import pandas as pd

from common import stage_seconds

KINDS = ("encoder", "reducer", "clusterer")


def leaderboards(folder: str) -> pd.DataFrame:
    """Every `full` leaderboard of a dump folder, with its task and seed."""
    tables = []
    for csv in sorted(Path(folder).glob("*~full.csv")):
        task, seed, _ = csv.stem.rsplit("~", 2)
        tables.append(pd.read_csv(csv).assign(task=task, seed=int(seed)))
    if not tables:
        raise SystemExit(f"{folder}: no '<task>~<seed>~full.csv' leaderboards (an audit.py --dump folder?)")
    return pd.concat(tables, ignore_index=True)


def best_combo_acc(table: pd.DataFrame) -> pd.DataFrame:
    """(kind, entry) x task: each entry's best-combo ACC, mean over seeds."""
    parts = [table.groupby([kind, "task", "seed"])["acc"].max().groupby([kind, "task"]).mean()
             .rename_axis(["entry", "task"]).to_frame().assign(kind=kind) for kind in KINDS]
    return pd.concat(parts).reset_index().pivot_table(index=["kind", "entry"], columns="task", values="acc")


def total_stage_seconds(table: pd.DataFrame) -> pd.Series:
    """Compute seconds per stage, each shared stage counted once, summed over tasks and seeds."""
    per_run = [stage_seconds(run) for _, run in table.groupby(["task", "seed"])]
    return pd.concat(per_run).groupby(level="stage", sort=False).sum().rename_axis(None)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--tolerance", type=float, default=0.01, help="flag drops larger than this")
    args = p.parse_args()
    before, after = leaderboards(args.before), leaderboards(args.after)
    runs = sorted(set(zip(before["task"], before["seed"])) & set(zip(after["task"], after["seed"])))
    keep = lambda t: t[[run in runs for run in zip(t["task"], t["seed"])]]  # noqa: E731
    before, after = keep(before), keep(after)
    old, new = best_combo_acc(before), best_combo_acc(after)
    change = new - old
    table = pd.concat({"before": old, "after": new, "change": change}, axis=1).swaplevel(axis=1).sort_index(axis=1)
    pd.set_option("display.width", 200)
    print(f"best-combo ACC per entry, mean over seeds; runs compared: {runs}")
    print(table.to_string(float_format="%.4f"))
    drops = change.stack()
    drops = drops[drops < -args.tolerance]
    print(f"\nentries that lost more than {args.tolerance}: " +
          (", ".join(f"{kind} {entry} on {task} ({d:+.4f})" for (kind, entry, task), d in drops.items()) or "none"))
    seconds = pd.DataFrame({"before": total_stage_seconds(before), "after": total_stage_seconds(after)})
    print("\nstage compute seconds, all runs:\n" + seconds.to_string(float_format="%.0f"))


if __name__ == "__main__":
    main()
