"""Does the label-free ranking pick well? For each task and seed: every score variant as the
ranking (Spearman with ACC, regret of its top-1) and every ensemble variant (ACC), from one
shared cache so each stage is computed once. Ground truth is used for these figures only."""

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

from common import SHARED, bench_run

SCORES = ["score", "silhouette", "agreement", "consensus", "ref_silhouette"]
ENSEMBLES = ["vote", "weighted", "coassoc"]

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data", nargs="+", default=[str(SHARED / "vehicles_vs_animals_9000.npz"),
                                                  str(SHARED / "cifar10_test.npz")])
parser.add_argument("--grid", default="quick")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
parser.add_argument("--cache", default=None, help="reuse a cache (e.g. benchmarks/encoders.py's)")
parser.add_argument("--jobs", type=int, default=2)
args = parser.parse_args()
cache = Path(args.cache or tempfile.mkdtemp(prefix="bench-audit-"))

rank_rows, ensemble_rows = [], []
for data in args.data:
    task = Path(data).stem
    for seed in args.seeds:
        common = ["--data", data, "--grid", args.grid, "--seed", seed, "--jobs", args.jobs,
                  "--cache", cache, "--no-plots"]
        for score in SCORES:
            run, folder, _ = bench_run(*common, "--rank-by", score)
            audit = run["audit"]
            rank_rows.append({"task": task, "seed": seed, "rank_by": score,
                              "spearman": audit["spearman_with_acc"][score], "regret": audit["regret"],
                              "top1": audit["top1_acc"], "oracle": audit["oracle_best_acc"],
                              "vote": audit["ensemble_acc"]})
            for method in ENSEMBLES[1:]:
                other, _, _ = bench_run(*common, "--rank-by", score, "--ensemble", method)
                ensemble_rows.append({"task": task, "seed": seed, "rank_by": score, "ensemble": method,
                                      "acc": other["ensemble"]["metrics"]["acc"]})
            ensemble_rows.append({"task": task, "seed": seed, "rank_by": score, "ensemble": "vote",
                                  "acc": audit["ensemble_acc"]})
        print(f"{task} seed {seed} done", flush=True)

ranks = pd.DataFrame(rank_rows)
print("\nscore variant x task (mean over seeds): Spearman with ACC, regret of the top-1, top-1 ACC, oracle ACC")
print(ranks.groupby(["rank_by", "task"])[["spearman", "regret", "top1", "oracle"]].mean().unstack("task")
      .to_string(float_format="%.3f"))
ensembles = pd.DataFrame(ensemble_rows)
print("\nensemble variant x members chosen by x task (mean ACC over seeds)")
print(ensembles.groupby(["ensemble", "rank_by", "task"])["acc"].mean().unstack("task").to_string(float_format="%.3f"))
