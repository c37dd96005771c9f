"""Does counting `halves` values within their sampling noise as a tie pick better? From finished
labelled runs of `python -m bench.audit` (their folders keep every combo's labels): the default
rule against the same rule where, in each level of `pretrained`, the encoders whose `halves` is
within 2 standard errors of the level's top encoder's (the standard error of a difference of two
independent proportions, each from 1000 retrievals: 500 images, both ways; an approximation, as
both ways and both encoders use the same images) tie with it, so that the tied
encoders' combos are ordered together by the partition score. Top-1's ACC and regret, and the
vote of the top 5, mean over seeds per task, for `full` and its `no-pretrained` part; then how
often a run's summary cautions that `halves` does not tell its first two encoders apart
(`bench.selection.encoder_tie`, the same test on the sample's size), and the default's regret
with and without that caution. Labels measure only.

    python -m bench.audit --data TASKS/*.npz --grid full --seeds 0 1 2 --out OUT --cache CACHE
    python benchmarks/experiments/halves_ties.py OUT/audit-runs/
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import selection  # noqa: E402
from bench.defaults import DEFAULT_RANK  # noqa: E402
from bench.representation import SAMPLE  # noqa: E402
from within_encoder import labelled_views, print_means, regret_and_vote  # noqa: E402  (this folder is on sys.path)

RETRIEVALS = 2 * SAMPLE  # each image's half looks for its other half, and back


def tied(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with each encoder's `enc_halves` raised to its level's top value where the two
    differ by less than 2 standard errors."""
    table = table.copy()
    per_encoder = table.groupby("encoder")[["enc_halves", "enc_pretrained"]].first()
    for _, level in per_encoder.groupby("enc_pretrained"):
        top = level["enc_halves"].max()
        noise = selection.difference_noise(level["enc_halves"], top, RETRIEVALS)
        for encoder in level.index[(top - level["enc_halves"]) < noise]:
            table.loc[table["encoder"] == encoder, "enc_halves"] = top
    return table


def measure(run, table: pd.DataFrame) -> dict:
    out = {"oracle": table.loc[table["status"] == "ok", "acc"].max(),
           "caution": selection.encoder_tie(table, DEFAULT_RANK, len(run.truth), run.k) is not None}
    for name, t in (("default", table), ("ties", tied(table))):
        out[f"{name}: regret"], out[f"{name}: vote"] = regret_and_vote(run, t, DEFAULT_RANK)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="finished labelled run folders of a `full` audit, or folders holding them")
    rows = [{"task": run.task, "seed": run.seed, "view": view, **measure(run, table)}
            for run, view, table in labelled_views(p.parse_args().runs)]
    print_means(rows)
    table = pd.DataFrame(rows)
    for view, part in table.groupby("view", sort=False):
        per_task = part.groupby("task")[["default: regret", "ties: regret"]].mean()
        print(f"\n{view}: largest rise of a task's mean regret {(per_task['ties: regret'] - per_task['default: regret']).max():+.3f}")
        cautioned = part.groupby("caution")["default: regret"].agg(["count", "mean", "max"])
        print(f"{view}: the default's top-1 regret in runs with and without the caution\n{cautioned.round(3)}")


if __name__ == "__main__":
    main()
