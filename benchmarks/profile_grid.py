"""Where the time goes: a grid on vehicles-vs-animals (its first `--n` images), cold with
--jobs 1 and --jobs 2 (same results?), then warm (replayed, and assembled from the stage cache
with --no-replay); per stage and registry entry the compute
seconds and peak memory, and each run's wall time, CPU time, cores used and peak memory.
`--sizes` repeats a cold --jobs 2 run at other N (images drawn from CIFAR-10 train+test) so the
growth of each stage's time and memory is visible. `--baseline REF` first runs the same cold
grid with the code of git commit REF (a worktree, same interpreter and libraries), and prints
its per-stage seconds and wall time beside the current code's."""

import argparse
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import SHARED, STAGES, VEHICLES, stage_seconds

from bench.cache import Cache
from bench.data import load_dataset
from bench.leaderboard import TIME_COLUMNS

ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--grid", default="full")
parser.add_argument("--data", default=str(VEHICLES))
parser.add_argument("--n", type=int, default=None, help="use the first N images (default: all)")
parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2],
                    help="cold runs to compare (none: only the --sizes runs)")
parser.add_argument("--sizes", type=int, nargs="*", default=[], help="e.g. 9000 20000 60000")
parser.add_argument("--size-grid", default=None, help="grid of the --sizes runs (default: --grid)")
parser.add_argument("--baseline", metavar="REF", help="also a cold run of commit REF's code, side by side")
args = parser.parse_args()
work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # a stop, as Ctrl-C is


def run(data, jobs, cache, label, grid, code=ROOT, extra=()):
    """One bench run in a child process, of the code in `code`: (wall s, CPU s, peak RSS GiB of
    the main process, run folder). Workers' peaks are in the cache entries (per task), as their
    exits are not waited for."""
    out = work / label
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bench.run", "--data", str(data), "--grid", grid,
                              "--jobs", str(jobs), "--cache", str(cache), "--out", str(out), "--quiet",
                              "--no-plots", *extra], cwd=code)
    try:
        if child.wait():
            raise subprocess.CalledProcessError(child.returncode, child.args)
    except BaseException:  # stopped (Ctrl-C, SIGTERM): stop the run too, or it goes on computing
        child.terminate()  # bench.run takes SIGTERM as a stop: its workers end with it
        child.wait()
        raise
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    [folder] = [p for p in out.iterdir() if p.is_dir()]
    print(f"  {label}: {wall:.1f} s", file=sys.stderr, flush=True)
    return wall, cpu, after.ru_maxrss / 2**20, folder


def stage_table(folder, cache) -> pd.DataFrame:
    """Compute seconds per stage and entry (each shared stage counted once), and per stage the
    largest peak RSS of one task and the user and system CPU seconds of all its tasks (from
    the cache entries' metadata)."""
    table = stage_seconds(pd.read_csv(folder / "leaderboard.csv")).reset_index()
    metas = {stage: [Cache(cache).meta(stage, p.stem) or {} for p in (Path(cache) / stage).glob("*.npz")]
             for stage, _, _ in STAGES}
    peaks = {stage: max((m.get("peak_mib", 0) for m in found), default=0) for stage, found in metas.items()}
    cpu = {stage: tuple(round(sum(m.get(k, 0) for m in found), 1) for k in ("user_s", "sys_s"))
           for stage, found in metas.items()}
    return table, peaks, cpu


def result_files(folder):
    board = pd.read_csv(folder / "leaderboard.csv").drop(columns=TIME_COLUMNS)
    return board.to_csv(index=False), (folder / "submission.csv").read_text()


def subset(path, n, name):
    if n is None:
        return path
    x = load_dataset(str(path)).x[:n]
    images = np.round((np.transpose(x, (0, 2, 3, 1)) + 1) * 127.5).astype(np.uint8)
    np.save(work / name, images)
    return work / name


if args.jobs:
    data = subset(args.data, args.n, "subset.npy")
    if args.baseline:
        tree = work / "baseline-code"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), args.baseline], check=True, cwd=ROOT)
        grid = args.grid if not Path(args.grid).is_file() else str(Path(args.grid).resolve())
        base = run(data, args.jobs[-1], work / "cache-baseline", "baseline", grid, code=tree)
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], check=True, cwd=ROOT)
    cold = {jobs: run(data, jobs, work / f"cache{jobs}", f"jobs{jobs}", args.grid) for jobs in args.jobs}
    last = args.jobs[-1]
    # a rerun as a user makes it (the finished run replayed), then one assembled from the stage cache
    warm = run(data, last, work / f"cache{last}", "warm", args.grid)
    assembled = run(data, last, work / f"cache{last}", "warm-assembled", args.grid, extra=["--no-replay"])
    table, peaks, cpu_split = stage_table(cold[last][3], work / f"cache{last}")
    print(f"grid {args.grid} on {args.data} (N={load_dataset(str(data)).x.shape[0]}); "
          f"per stage and entry, compute seconds of the --jobs {last} run")
    print(table.to_string(index=False, float_format="%.1f"))
    print("peak MiB of one task, per stage:", {s: round(p) for s, p in peaks.items()})
    print("user / system CPU s of all tasks, per stage:", cpu_split)
    print(f"\n{'run':<16} {'wall s':>8} {'cpu s':>8} {'cores':>6} {'main GiB':>9}")
    runs = [(f"cold --jobs {j}", r) for j, r in cold.items()] + [(f"warm --jobs {last}", warm),
                                                                   ("warm --no-replay", assembled)]
    for name, (wall, cpu, peak, _) in runs:
        print(f"{name:<16} {wall:>8.1f} {cpu:>8.1f} {cpu / wall:>6.2f} {peak:>9.2f}")
    print(f"warm / cold: {warm[0] / cold[last][0]:.1%} (--no-replay: {assembled[0] / cold[last][0]:.1%})")
    if args.baseline:
        before = stage_table(base[3], work / "cache-baseline")[0].groupby(["stage", "entry"], sort=False).seconds.sum()
        now = table.groupby(["stage", "entry"], sort=False).seconds.sum()
        side = pd.DataFrame({f"{args.baseline} s": before, "now s": now})
        side.loc[("all stages", ""), :] = side.sum()
        print(f"\ncold --jobs {last}, compute seconds, baseline {args.baseline} beside the current code")
        print(side.to_string(float_format="%.1f"))
        print(f"wall: {base[0]:.1f} s before, {cold[last][0]:.1f} s now (x{base[0] / cold[last][0]:.2f})")
    first = args.jobs[0]
    if len(cold) > 1:
        print(f"jobs {last} vs jobs {first} throughput: x{cold[first][0] / cold[last][0]:.2f}; identical results: "
              f"{result_files(cold[first][3]) == result_files(cold[last][3])}", flush=True)

if args.sizes:
    pool = np.concatenate([np.load(SHARED / f"cifar10_{split}.npz")["x"] for split in ("train", "test")])
    print(f"\n{'N':>7} {'stage':<8} {'seconds':>8} {'peak MiB':>9}   (grid {args.size_grid or args.grid}, --jobs 2)")
    per_entry = []
    for n in args.sizes:
        pick = np.random.default_rng(0).choice(len(pool), n, replace=n > len(pool))
        np.save(work / f"cifar{n}.npy", pool[np.sort(pick)])
        wall, cpu, peak, folder = run(work / f"cifar{n}.npy", 2, work / f"cache{n}", f"n{n}",
                                      args.size_grid or args.grid)
        table, peaks, _ = stage_table(folder, work / f"cache{n}")
        per_entry.append(table.assign(N=n))
        for stage, seconds in table.groupby("stage", sort=False)["seconds"].sum().items():
            print(f"{n:>7} {stage:<8} {seconds:>8.1f} {peaks[stage]:>9.0f}")
        print(f"{n:>7} {'run':<8} {wall:>8.1f} {peak * 1024:>9.0f}   wall s, and peak MiB of the main process",
              flush=True)
    print("\ncompute seconds per entry and N")
    print(pd.concat(per_entry).pivot_table(index=["stage", "entry"], columns="N", values="seconds", sort=False)
          .to_string(float_format="%.1f"))
