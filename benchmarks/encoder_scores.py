"""Which encoder does each encoder-level score pick, task by task? For every run an audit kept
(`benchmarks/audit.py --dump`; its --cache holds the encoders' outputs and weights), the encoder
scores of `bench.representation` as the code is now are computed again and put in the kept
leaderboards (with `enc_pretrained`, which the grid's entries declare); then each rule
`[pretrained >] SCORE > encoder_agreement` (and `encoder_agreement` alone) is scored as the
audit does: regret of its top-1 and ACC of the ensemble of its members, per task and mean/max
over tasks, and which encoder it put first beside the encoder of the best combo. Labels are
used for the figures only.

    python benchmarks/encoder_scores.py /tmp/audit/dump --cache /tmp/audit/cache [--write DIR]

`--write DIR` keeps the re-scored leaderboards, for `audit.py --from-dump DIR`.
"""

import argparse
import functools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from audit import VIEWS, evaluate, from_dump
from tasks import load

from bench import representation, selection
from bench.cache import Cache
from bench.executor import stage_keys
from bench.grids import resolve_grid
from models import MODELS


@functools.lru_cache(maxsize=None)
def encoder_scores(task: str, seed: int, n: int, cache_root: str, grid: str, encoders: tuple) -> dict:
    """{encoder label: {score: value}} for the encoders of one audited run, from the cache."""
    data = load(task, n)
    keys = stage_keys(resolve_grid(grid), data, n_clusters=data.n_classes, seed=seed)[0]  # nothing runs
    cache = Cache(Path(cache_root))
    present = {spec: key for spec, key in keys.items() if spec.label in encoders and cache.has("encode", key)}
    return representation.remembered(present, data.x, cache, seed=seed)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dumps", nargs="+", help="audit.py --dump folders")
    p.add_argument("--cache", required=True, help="the audit's stage cache")
    p.add_argument("--grid", default="full", help="the grid the audit ran")
    p.add_argument("--n", type=int, default=2000, help="images per task, as the audit that dumped them")
    p.add_argument("--write", help="keep the re-scored leaderboards and labels here")
    args = p.parse_args()
    candidates = list(representation.SCORES)
    rules = ([f"pretrained > {s} > encoder_agreement" for s in candidates]
             + [f"{s} > encoder_agreement" for s in candidates] + ["encoder_agreement"])
    rows, picks = [], []
    for folder in args.dumps:
        for task, seed, view, table, labels in from_dump(folder):
            scores = encoder_scores(task, seed, args.n, args.cache, args.grid, tuple(sorted(table["encoder"].unique())))
            for score in representation.SCORES:
                table[f"enc_{score}"] = [scores.get(e, {}).get(score, np.nan) for e in table["encoder"]]
            # an encoder's label is its name, with its parameters in brackets when it has any
            table["enc_pretrained"] = [float(MODELS.get(e.split("(")[0]).pretrained) for e in table["encoder"]]
            if args.write:
                Path(args.write).mkdir(parents=True, exist_ok=True)
                stem = f"{task}~{seed}~{view}"
                table.to_csv(Path(args.write) / f"{stem}.csv", index=False)
                shutil.copy(Path(folder) / f"{stem}.npz", Path(args.write) / f"{stem}.npz")
            data = load(task, args.n)
            rows += [{"task": task, "seed": seed, "view": view, **r}
                     for r in evaluate(table, labels, data.y, data.n_classes, seed, rules)]
            ok = table[table["status"] == "ok"]
            best = ok.groupby("encoder")["acc"].max()
            picks.append({"task": task, "seed": seed, "view": view, "best encoder": best.idxmax(),
                          "its best": best.max(),
                          **{r.removesuffix(" > encoder_agreement"): selection.rank(table, r)["encoder"].iloc[0]
                             for r in rules if "halves" in r or "augmentation" in r}})
            if view == "full":
                print(f"{task} seed {seed}: " + "; ".join(
                    f"{e} best {best[e]:.3f} " + " ".join(f"{s[:8]} {v:.3f}" for s, v in sc.items())
                    for e, sc in scores.items()), flush=True)
    results = pd.DataFrame(rows)
    for view in VIEWS:
        part = results[results["view"] == view]
        if part.empty:
            continue
        for metric in ("regret", "ensemble"):
            table = part.groupby(["rule", "task"])[metric].mean().unstack("task")
            tasks = table.copy()
            table["MEAN"] = tasks.mean(axis=1)
            if metric == "regret":
                table["MAX"] = tasks.max(axis=1)
            else:
                table["MIN"] = tasks.min(axis=1)
            print(f"\n=== {view}: {metric}, mean over seeds ===")
            print(table.sort_values("MEAN", ascending=metric == "regret").to_string(float_format="%.3f"))
        print(f"\n=== {view}: the encoder each score puts first (seed by seed) ===")
        print(pd.DataFrame(picks).query("view == @view").drop(columns="view").to_string(index=False,
                                                                                        float_format="%.3f"))


if __name__ == "__main__":
    main()
