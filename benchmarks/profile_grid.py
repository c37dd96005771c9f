"""Where the time goes: a grid on vehicles-vs-animals, cold with --jobs 1 and --jobs 2 (same
results?), then warm; per stage and registry entry the compute seconds, and the run's wall
time, peak memory and cores used. `--sizes` repeats a cold run at other N (images drawn with
replacement from CIFAR-10 train+test) so the growth of each stage is visible."""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import SHARED, VEHICLES

ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--grid", default="full")
parser.add_argument("--data", default=str(VEHICLES))
parser.add_argument("--sizes", type=int, nargs="*", default=[], help="e.g. 9000 20000 60000")
parser.add_argument("--skip-jobs1", action="store_true", help="only --jobs 2 cold and warm")
args = parser.parse_args()
work = Path(tempfile.mkdtemp(prefix="bench-profile-"))


def run(data, jobs, cache, label):
    """One bench run in a child process: (wall s, CPU s, peak RSS GiB, run folder)."""
    out = work / label
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.run", "--data", str(data), "--grid", args.grid,
                    "--jobs", str(jobs), "--cache", str(cache), "--out", str(out), "--quiet", "--no-plots"],
                   check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    [folder] = [p for p in out.iterdir() if p.is_dir()]
    return wall, cpu, after.ru_maxrss / 2**20, folder


def stage_table(folder) -> pd.DataFrame:
    board = pd.read_csv(folder / "leaderboard.csv")
    rows = []
    for stage, column in (("encode", "encoder"), ("reduce", "reducer"), ("cluster", "clusterer")):
        # encode and reduce times repeat on every combo sharing them: count each stage once
        keys = {"encode": ["encoder"], "reduce": ["encoder", "reducer"], "cluster": ["combo"]}[stage]
        once = board.drop_duplicates(keys)
        for entry, seconds in once.groupby(column)[f"{stage}_s"].sum().items():
            rows.append({"stage": stage, "entry": entry, "seconds": seconds})
    return pd.DataFrame(rows)


def result_files(folder):
    board = pd.read_csv(folder / "leaderboard.csv").drop(columns=["encode_s", "reduce_s", "cluster_s"])
    return board.to_csv(index=False), (folder / "submission.csv").read_text()


cold2 = run(args.data, 2, work / "cache2", "jobs2")
warm2 = run(args.data, 2, work / "cache2", "warm2")
print(f"grid {args.grid} on {args.data}")
print(stage_table(cold2[3]).to_string(index=False, float_format="%.1f"))
print(f"\n{'run':<16} {'wall s':>8} {'cpu s':>8} {'cores':>6} {'peak GiB':>9}")
runs = [("cold --jobs 2", cold2), ("warm --jobs 2", warm2)]
if not args.skip_jobs1:
    runs.insert(0, ("cold --jobs 1", run(args.data, 1, work / "cache1", "jobs1")))
for name, (wall, cpu, peak, _) in runs:
    print(f"{name:<16} {wall:>8.1f} {cpu:>8.1f} {cpu / wall:>6.2f} {peak:>9.2f}")
print(f"warm / cold: {warm2[0] / cold2[0]:.1%}")
if not args.skip_jobs1:
    cold1 = runs[0][1]
    print(f"jobs 2 vs jobs 1 throughput: x{cold1[0] / cold2[0]:.2f}; "
          f"identical results: {result_files(cold1[3]) == result_files(cold2[3])}")

if args.sizes:
    pool = [np.load(SHARED / f"cifar10_{split}.npz")["x"] for split in ("train", "test")]
    pool = np.concatenate(pool)
    print(f"\n{'N':>7} {'stage':<8} {'seconds':>8}   run: wall s, peak GiB")
    for n in args.sizes:
        pick = np.random.default_rng(0).choice(len(pool), n, replace=n > len(pool))
        data = work / f"cifar{n}.npy"
        np.save(data, pool[np.sort(pick)])
        wall, cpu, peak, folder = run(data, 2, work / f"cache{n}", f"n{n}")
        for stage, seconds in stage_table(folder).groupby("stage")["seconds"].sum().items():
            print(f"{n:>7} {stage:<8} {seconds:>8.1f}")
        print(f"{n:>7} {'total':<8} {wall:>8.1f}   peak {peak:.2f} GiB", flush=True)
    json.dump({"sizes": args.sizes}, open(work / "done.json", "w"))
