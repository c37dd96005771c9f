"""What the allocator costs: one stage's work (an encoder's training and inference on N random
images, one thread), in a fresh child process per setting, with glibc's malloc as it comes, with
the environment variables that make it keep freed memory, and with bench's own in-process
setting (`bench.allocator`); `--baseline REF` adds git commit REF's code as it was (a
worktree). Prints wall, user and system CPU seconds and minor page faults.

    python benchmarks/allocator.py                       # effnets at 192 px, 128 images
    python benchmarks/allocator.py --torch                # the same on PyTorch (no onnxruntime)
    python benchmarks/allocator.py --encoder conv --n 2000 --epochs 2
    python benchmarks/allocator.py --n 512 --baseline bd72b28   # effnets now against then
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
import numpy as np, torch
if sys.argv[1] == "bench":
    from bench.allocator import keep_freed_memory
    keep_freed_memory()
torch.set_num_threads(1)
from models import create_encoder
if sys.argv[5] == "torch":
    from models import runtime
    runtime.available = lambda: False
    import warnings; warnings.simplefilter("ignore")
from models.train import fit_encoder
name, n, epochs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
params = {"epochs": epochs} if epochs else {}
model = create_encoder(name, in_channels=3, image_size=(32, 32), **params)
x = np.random.default_rng(0).uniform(-1, 1, (n, 3, 32, 32)).astype(np.float32)
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
fit_encoder(model, x, seed=0, device=torch.device("cpu"))
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": time.perf_counter() - start, "user": after.ru_utime - before.ru_utime,
                  "sys": after.ru_stime - before.ru_stime, "faults": after.ru_minflt - before.ru_minflt,
                  "peak_mib": after.ru_maxrss / 1024}))
"""

KEEP = {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}
SETTINGS = {"glibc as it comes": ("plain", {}), "environment (MALLOC_*)": ("plain", KEEP),
            "bench.allocator (in process)": ("bench", {})}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", default="effnets")
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--epochs", type=int, default=0, help="training epochs (0: the entry's own; effnets: none)")
    p.add_argument("--repeats", type=int, default=2, help="runs per setting, alternating; the best is shown")
    p.add_argument("--torch", action="store_true", help="pretrained networks on PyTorch, not ONNX Runtime")
    p.add_argument("--baseline", metavar="REF", help="also git commit REF's code, as it comes")
    args = p.parse_args()
    settings = {label: (mode, env, ROOT) for label, (mode, env) in SETTINGS.items()}
    if args.baseline:
        worktree = Path(tempfile.mkdtemp(prefix="bench-baseline-")) / "code"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)
        settings = {f"{args.baseline} as it comes": ("plain", {}, worktree), **settings}
    results = {label: [] for label in settings}
    try:
        for _ in range(args.repeats):
            for label, (mode, env, code) in settings.items():
                clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
                done = subprocess.run([sys.executable, "-c", CHILD, mode, args.encoder, str(args.n),
                                       str(args.epochs), "torch" if args.torch else "onnx"],
                                      cwd=code, env={**clean, **env}, capture_output=True, text=True, check=True)
                results[label].append(json.loads(done.stdout.splitlines()[-1]))
    finally:
        if args.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)
    engine = " (PyTorch)" if args.torch else ""
    print(f"{args.encoder}{engine}, {args.n} images, one thread; best of {args.repeats} by wall time")
    print(f"{'setting':<30} {'wall s':>7} {'user s':>7} {'sys s':>7} {'faults':>9} {'peak MiB':>9}")
    for label, runs in results.items():
        r = min(runs, key=lambda r: r["wall"])
        print(f"{label:<30} {r['wall']:7.2f} {r['user']:7.2f} {r['sys']:7.2f} {r['faults']:9d} {r['peak_mib']:9.0f}")


if __name__ == "__main__":
    main()
