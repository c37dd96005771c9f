"""At k = 2, does picking among the first encoder's combos on global reducers pick better? t-SNE
and UMAP keep each image's neighbours, not the layout between far groups; when two groups each
hold several natural sub-groups, a 2-way cut of such a map may follow the sub-groups that sit
apart, while the first linear axes follow the largest difference. From finished labelled runs of
`python -m bench.audit` (their folders keep every combo's labels): the rule without the `global`
level (`pretrained > halves > encoder_agreement`) against the same with it (bench's default:
at k = 2 only, each encoder's combos on `local` reducers rank after its others), and, with
`--every-k`, that level applied at every k. Top-1's regret and the vote of the top 5, mean over
seeds per task, for `full` and its `no-pretrained` part. Labels measure only.

    python -m bench.audit --data TASKS/*.npz --grid full --seeds 0 1 2 --out OUT --cache CACHE
    python benchmarks/experiments/global_at_two.py OUT/audit-runs/ [--every-k]
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from within_encoder import labelled_views, print_means, regret_and_vote  # noqa: E402  (this folder is on sys.path)

WITHOUT = "pretrained > halves > encoder_agreement"
WITH = "pretrained > halves > global > encoder_agreement"


def local_last(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with the local reducers' combos' `encoder_agreement` (an NMI, 0..1) lowered below
    every other combo's of their encoder: the `global` level at any k."""
    return table.assign(encoder_agreement=table["encoder_agreement"] - 2 * (1 - table["red_global"]))


def measure(run, table: pd.DataFrame, every_k: bool) -> dict:
    out = {"k": run.k, "oracle": table.loc[table["status"] == "ok", "acc"].max()}
    changed = (local_last(table), WITHOUT) if every_k else (table, WITH)
    for name, (t, rule) in (("default", (table, WITHOUT)), ("global", changed)):
        out[f"{name}: regret"], out[f"{name}: vote"] = regret_and_vote(run, t, rule)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="finished labelled run folders of a `full` audit, or folders holding them")
    p.add_argument("--every-k", action="store_true", help="the level at every k, not only at k = 2")
    args = p.parse_args()
    rows = [{"task": run.task, "seed": run.seed, "view": view, **measure(run, table, args.every_k)}
            for run, view, table in labelled_views(args.runs)]
    print_means(rows)


if __name__ == "__main__":
    main()
