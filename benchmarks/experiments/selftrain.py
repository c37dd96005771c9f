"""Does `--self-train` help? For every task and seed (as benchmarks/audit.py samples them; give it
the audit's --cache and every stage is warm), the default ranking's ensemble as `bench.run` builds
it, then self-trained: its ACC before and after, its best member's, and how many images were
unanimous, for `full` and its `no-pretrained` part. Labels are used for the figures only.

    python benchmarks/experiments/selftrain.py --tasks vehicles cifar10-test --seeds 0 1 2 --cache /tmp/audit/cache
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from audit import VIEWS
from tasks import TASKS, load

from bench import ensemble, leaderboard, scoring
from bench.cache import Cache
from bench.executor import Executor
from bench.grids import resolve_grid
from bench.selftrain import self_train
from models import MODELS

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
p.add_argument("--grid", default="full")
p.add_argument("--n", type=int, default=2000, help="images per task (audit.py's sample)")
p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
p.add_argument("--cache", required=True, help="stage cache (audit.py's, to be warm)")
p.add_argument("--jobs", type=int, default=2)
args = p.parse_args()

started, rows, cache = time.perf_counter(), [], Cache(Path(args.cache))
for seed in args.seeds:
    for task in args.tasks:
        data = load(task, args.n)
        k = data.n_classes
        outcomes = Executor(cache, jobs=args.jobs).run(resolve_grid(args.grid), data, n_clusters=k, seed=seed)
        for view in VIEWS:
            subset = [o for o in outcomes if view == "full" or not MODELS.get(o.combo.encoder.name).pretrained]
            table = leaderboard.build(subset, data.y, images=data.x, n_clusters=k, seed=seed, cache=cache)
            members, _ = ensemble.choose_members(table, leaderboard.outcome_order(table, subset), k, 5,
                                                 ensemble.MIN_NMI)
            voted, _ = ensemble.combine("vote", [o.labels for _, o in members], [], k, 0, seed)
            features = cache.array("encode", members[0][1].ok_key("encode"))
            trained, info = self_train(voted, [o.labels for _, o in members], features, k, seed)
            rows.append({"task": task, "view": view, "seed": seed, "encoder": members[0][1].combo.encoder.label,
                         "best member": max(row.acc for row, _ in members),
                         "ensemble": scoring.accuracy(data.y, voted),
                         "self-trained": scoring.accuracy(data.y, trained),
                         "unanimous": info["unanimous"] / len(voted), "changed": info["changed"] / len(voted)})
            print(" ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in rows[-1].values()), flush=True)

results = pd.DataFrame(rows)
for view in VIEWS:
    part = results[results["view"] == view].drop(columns=["view", "encoder"])
    print(f"\n=== {view}: ACC, mean over seeds {args.seeds} ===")
    print(part.groupby("task").mean().drop(columns="seed").to_string(float_format="%.3f"))
print(f"\nwall time {time.perf_counter() - started:.0f} s")
