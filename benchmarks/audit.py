"""Does the label-free ranking pick well? For each task and seed: every score variant as the
ranking (Spearman with ACC, regret of its top-1), and every ensemble variant (method x number
of members x ranking score) against its own best member, from one shared cache so each stage is
computed once. Ground truth is used for these figures only."""

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from common import SHARED, bench_run

from bench.selection import DEFAULT_RANK, SCORES

ENSEMBLES = ["vote", "weighted", "coassoc"]

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data", nargs="+", default=[str(SHARED / "vehicles_vs_animals_9000.npz"),
                                                  str(SHARED / "cifar10_test.npz")])
parser.add_argument("--grid", default=str(Path(__file__).with_name("encoders_small.toml")))
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
parser.add_argument("--top-k", type=int, nargs="+", default=[3, 5, 9], help="ensemble sizes to compare")
parser.add_argument("--ensemble-rank", nargs="+", default=[DEFAULT_RANK, "stability"],
                    help="scores that choose the ensemble members in the comparison")
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
            audit = bench_run(*common, "--rank-by", score)[0]["audit"]
            rank_rows.append({"task": task, "seed": seed, "rank_by": score,
                              "spearman": audit["spearman_with_acc"][score], "regret": audit["regret"],
                              "top1": audit["top1_acc"], "oracle": audit["oracle_best_acc"]})
        for score in args.ensemble_rank:
            for method in ENSEMBLES:
                for k in args.top_k:
                    audit = bench_run(*common, "--rank-by", score, "--ensemble", method,
                                      "--top-k", k)[0]["audit"]
                    ensemble_rows.append({"task": task, "seed": seed, "members by": score,
                                          "ensemble": f"{method} top-{k}", "acc": audit["ensemble_acc"],
                                          "vs best member": audit["ensemble_acc"] - audit["best_member_acc"]})
        print(f"{task} seed {seed} done", flush=True)

ranks = pd.DataFrame(rank_rows)
print("\nscore variant x task (mean over seeds): Spearman with ACC, regret of the top-1, top-1 ACC, oracle ACC")
print(ranks.groupby(["rank_by", "task"])[["spearman", "regret", "top1", "oracle"]].mean().unstack("task")
      .to_string(float_format="%.3f"))
ensembles = pd.DataFrame(ensemble_rows)
print("\nensemble variant x task (mean over seeds): ACC, and ACC minus its best member's")
print(ensembles.groupby(["members by", "ensemble", "task"])[["acc", "vs best member"]].mean()
      .unstack("task").to_string(float_format="%+.3f"))
