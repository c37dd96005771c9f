"""Does the label-free ranking pick well? For each task and seed the grid runs once (through
bench's executor and cache); then every score variant ranks it (Spearman with ACC, regret of its
top-1) and every ensemble variant — method x member rule x ranking score — is scored against
its own best member. Ground truth is used for these figures only."""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from common import SHARED

from bench import ensemble, leaderboard, scoring, selection
from bench.cache import Cache
from bench.data import load_dataset
from bench.executor import Executor
from bench.grids import resolve_grid

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data", nargs="+", default=[str(SHARED / "vehicles_vs_animals_9000.npz"),
                                                  str(SHARED / "cifar10_test.npz")])
parser.add_argument("--grid", default=str(Path(__file__).with_name("encoders_small.toml")))
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
parser.add_argument("--member-rank", nargs="+", default=[selection.DEFAULT_RANK, "stability", "score"],
                    help="scores that choose the ensemble members in the comparison")
parser.add_argument("--cache", default=None, help="reuse a cache (e.g. benchmarks/encoders.py's)")
parser.add_argument("--jobs", type=int, default=2)
parser.add_argument("--dump", help="folder for each task and seed's leaderboard (csv) and labels (npz), "
                    "to try other rules offline")
args = parser.parse_args()
cache = Cache(Path(args.cache or tempfile.mkdtemp(prefix="bench-audit-")))
RULES = {"top-3": dict(top_k=3), "top-5": dict(top_k=5), "top-9": dict(top_k=9),
         "nmi.2 top-5": dict(top_k=5, min_nmi=0.2), "nmi.3 top-3": dict(top_k=3, min_nmi=0.3),
         f"nmi.3 top-5{' (default)' if ensemble.MIN_NMI == 0.3 else ''}": dict(top_k=5, min_nmi=0.3),
         "nmi.4 top-5": dict(top_k=5, min_nmi=0.4), "distinct-5": dict(top_k=5, distinct=0.9),
         "encoder-3": dict(top_k=3, same_encoder=True)}


def members_by(rule, table, ranked, k):
    """The ensemble's members under `rule`: bench's own choice (the top_k sharing min_nmi with
    the top combo), or the top_k skipping a combo whose labels nearly repeat (NMI >= distinct)
    one already chosen, or the top_k sharing the top combo's encoder."""
    if "distinct" not in rule and "same_encoder" not in rule:
        return ensemble.choose_members(table, ranked, k, rule["top_k"], rule.get("min_nmi", 0.0))[0]
    chosen = []
    for row, o in zip(table.itertuples(), ranked):
        if row.status != "ok" or row.clusters != k:
            continue
        if "distinct" in rule and any(scoring.pairwise_nmi([o.labels, c.labels])[0, 1] >= rule["distinct"]
                                      for _, c in chosen):
            continue
        if "same_encoder" in rule and chosen and row.encoder != chosen[0][0].encoder:
            continue
        chosen.append((row, o))
        if len(chosen) == rule["top_k"]:
            break
    return chosen


def report():
    """The tables so far (printed after each task, so a long sweep shows results early)."""
    ranks = pd.DataFrame(rank_rows)
    print("\nscore variant x task (mean over seeds): Spearman with ACC, regret of the top-1, top-1 ACC, oracle ACC")
    print(ranks.groupby(["rank_by", "task"])[["spearman", "regret", "top1", "oracle"]].mean().unstack("task")
          .to_string(float_format="%.3f"))
    ensembles = pd.DataFrame(ensemble_rows)
    print("\nensemble variant x task (mean over seeds): ACC, ACC minus its best member's, minus its top-1's, members")
    print(ensembles.groupby(["members by", "ensemble", "task"])[["acc", "vs best", "vs top-1", "n"]].mean()
          .unstack("task").to_string(float_format="%.3f"))


rank_rows, ensemble_rows = [], []
for data in args.data:
    task = Path(data).stem
    dataset = load_dataset(data)
    k = dataset.n_classes
    for seed in args.seeds:
        outcomes = Executor(cache, jobs=args.jobs).run(resolve_grid(args.grid), dataset, n_clusters=k, seed=seed)
        if args.dump:
            dump = Path(args.dump)
            dump.mkdir(parents=True, exist_ok=True)
            leaderboard.build(outcomes, dataset.y, images=dataset.x, n_clusters=k, seed=seed).to_csv(
                dump / f"{task}-{seed}.csv", index=False)
            np.savez(dump / f"{task}-{seed}.npz", y=dataset.y,
                     **{o.combo.label: o.labels for o in outcomes if o.labels is not None})
        for score in selection.SCORES:
            table = leaderboard.build(outcomes, dataset.y, images=dataset.x, n_clusters=k, seed=seed,
                                      rank_by=score)
            audit = selection.audit(table, np.nan)
            rank_rows.append({"task": task, "seed": seed, "rank_by": score,
                              "spearman": audit["spearman_with_acc"][score], "regret": audit["regret"],
                              "top1": audit["top1_acc"], "oracle": audit["oracle_best_acc"]})
            if score not in args.member_rank:
                continue
            ranked = leaderboard.outcome_order(table, outcomes)
            for name, rule in RULES.items():
                chosen = members_by(rule, table, ranked, k)
                for method in ensemble.METHODS:
                    labels, _ = ensemble.combine(method, [o.labels for _, o in chosen],
                                                 [getattr(row, score) for row, _ in chosen], k, 0, seed)
                    acc = scoring.external(dataset.y, labels)["acc"]
                    ensemble_rows.append({"task": task, "seed": seed, "members by": score,
                                          "ensemble": f"{method} {name}", "acc": acc, "n": len(chosen),
                                          "vs best": acc - max(row.acc for row, _ in chosen),
                                          "vs top-1": acc - chosen[0][0].acc})
        print(f"{task} seed {seed} done", flush=True)
        report()
