"""Does the label-free ranking pick well, on the grids users run? For every task of the suite
(benchmarks/tasks.py) and seed, the grid (default `full`) runs once through bench's executor and
cache; the leaderboard is built with every label-free score, for `full` and for its
`no-pretrained` part (scores that compare combos, such as agreement and cross-space, are
recomputed among the no-pretrained combos alone). Then every ranking rule picks a top-1 and an
ensemble (majority vote of the top 5 sharing NMI >= 0.3 with the top one), measured by
`bench.selection_audit.evaluate` as `python -m bench.audit` measures a user's tasks, and the
script prints, per grid, task x rule: the regret (oracle-best ACC - top-1 ACC), the Spearman
correlation of the rule's order with ACC, and the ensemble's ACC. Ground truth is used for
these figures only.

    python benchmarks/audit.py --seeds 0 1 2 --dump /tmp/audit/dump      # compute, build, report
    python benchmarks/audit.py --from-dump /tmp/audit/dump               # report again, seconds
"""

import argparse
import functools
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tasks import TASKS, load

from bench import leaderboard, selection, selection_audit
from bench.cache import Cache
from bench.executor import Executor
from bench.grids import resolve_grid
from bench.selection_audit import LabelledRun
from bench.show import with_global_column
from bench.stages import single_threaded
from models import MODELS

VIEWS = ("no-pretrained", "full")


def from_dump(folder, tasks=None, seeds=None):
    """Yield (task, seed, view, table, labels by combo) of every run an audit dumped in `folder`
    (of `tasks` and `seeds` only, when given)."""
    for csv in sorted(Path(folder).glob("*.csv")):
        task, seed, view = csv.stem.rsplit("~", 2)
        if (tasks is None or task in tasks) and (seeds is None or int(seed) in seeds) and view in VIEWS:
            with np.load(csv.with_suffix(".npz")) as labels:
                yield task, int(seed), view, with_global_column(pd.read_csv(csv)), dict(labels)


def built_tables(args):
    """Yield (task, seed, view, table, labels by combo) for every run, building and dumping
    them, or reading them back from --from-dump."""
    if args.from_dump:
        yield from from_dump(args.from_dump, args.tasks, args.seeds)
        return
    cache = Cache(Path(args.cache or tempfile.mkdtemp(prefix="bench-audit-")))
    for seed in args.seeds:
        for task in args.tasks:
            data = load(task, args.n)
            k = data.n_classes
            started = time.perf_counter()
            outcomes = Executor(cache, jobs=args.jobs).run(resolve_grid(args.grid), data, n_clusters=k, seed=seed)
            ran = time.perf_counter() - started
            for view in VIEWS:
                subset = [o for o in outcomes if view == "full" or not MODELS.get(o.combo.encoder.name).pretrained]
                if not subset:  # a grid of pretrained encoders only
                    continue
                started = time.perf_counter()
                with single_threaded():  # as a run scores, so ties break as they do there
                    table = leaderboard.build(subset, data.y, images=data.x, n_clusters=k, seed=seed, cache=cache)
                labels = {o.combo.label: o.labels for o in subset if o.labels is not None}
                print(f"{task} seed {seed} {view}: grid {ran:.0f} s, scores {time.perf_counter() - started:.0f} s",
                      flush=True)
                if args.dump:
                    Path(args.dump).mkdir(parents=True, exist_ok=True)
                    table.to_csv(Path(args.dump) / f"{task}~{seed}~{view}.csv", index=False)
                    np.savez(Path(args.dump) / f"{task}~{seed}~{view}.npz", **labels)
                yield task, seed, view, table, labels


def evaluate(table, labels, truth, k, seed, rules=selection.RULES):
    """One row per ranking rule: what bench.selection_audit measures of a run ranked by it."""
    run = LabelledRun("", seed, k, table, labels, truth, None)
    return [{key: row[key] for key in ("rule", "top1", "oracle", "regret", "spearman", "ensemble")}
            for row in selection_audit.evaluate(run, [r for r in rules if selection_audit.defined(table, r, k)], ("vote",))]


def report(results: pd.DataFrame):
    for view in VIEWS:
        part = results[results["view"] == view]
        if part.empty:
            continue
        seeds = part.groupby("task")["seed"].nunique()
        print(f"\n=== grid {view}: mean over seeds ({', '.join(f'{t} {n}' for t, n in seeds.items())}) ===")
        for metric, note in (("regret", "oracle-best ACC - top-1 ACC (lower is better)"),
                             ("ensemble", "ensemble ACC (vote of the top 5 with NMI >= 0.3 to the top one)"),
                             ("spearman", "Spearman of the rule's order with ACC")):
            table = part.groupby(["rule", "task"])[metric].mean().unstack("task")
            table["MEAN"] = table.mean(axis=1)
            if metric == "regret":
                table["MAX"] = table.drop(columns="MEAN").max(axis=1)
            print(f"\n{metric}: {note}")
            print(table.sort_values("MEAN", ascending=metric == "regret").to_string(float_format="%.3f"))
            if metric == "ensemble":
                tasks = table.drop(columns="MEAN")
                best = pd.DataFrame({"best rule": tasks.idxmax(), "its ensemble": tasks.max(),
                                     "default's": tasks.loc[selection.DEFAULT_RANK]})
                best["default - best"] = best["default's"] - best["its ensemble"]
                print(f"\nthe default ({selection.DEFAULT_RANK}) against the best rule of each task:")
                print(best.to_string(float_format="%.3f"))
        oracle = part[part["rule"] == "silhouette"].groupby("task")["oracle"].mean()
        print("\noracle-best ACC: " + ", ".join(f"{t} {v:.3f}" for t, v in oracle.items()))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--grid", default="full")
    p.add_argument("--n", type=int, default=2000, help="images per task (a seeded, class-balanced sample)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cache", help="stage cache to reuse (a rerun is then warm)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--dump", help="keep each run's leaderboard (csv) and labels (npz) here")
    p.add_argument("--from-dump", help="report from a --dump folder instead of running")
    args = p.parse_args()
    started, results = time.perf_counter(), []
    task_data = functools.lru_cache(load)
    for task, seed, view, table, labels in built_tables(args):
        data = task_data(task, args.n)
        results += [{"task": task, "seed": seed, "view": view, **row}
                    for row in evaluate(table, labels, data.y, data.n_classes, seed)]
    report(pd.DataFrame(results))
    print(f"\nwall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
