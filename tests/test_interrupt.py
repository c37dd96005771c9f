"""Real runs stopped mid-grid (SIGKILL, SIGTERM, SIGINT), a damaged cache, and two runs at once."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import load_digits

from conftest import run_dirs

GRID = ('encoders = ["pixels", {name = "baseline", epochs = EPOCHS}]\n'
        'reducers = ["pca32"]\nclusterers = ["kmeans"]\n')


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupt")
    digits = load_digits().images[:500]  # 25 epochs of the baseline: about a second to interrupt
    np.save(root / "digits.npy", np.round(digits * (255 / 16)).astype(np.uint8))
    (root / "grid.toml").write_text(GRID.replace("EPOCHS", "25"))
    (root / "long.toml").write_text(GRID.replace("EPOCHS", "1000"))  # never done before the signal
    return root


def arguments(workdir, out, *extra, grid="grid.toml"):
    return [str(a) for a in ("--data", workdir / "digits.npy", "--grid", workdir / grid, "--jobs", "1",
                             "--out", out, "--quiet", "--no-plots", *extra)]


def start(workdir, out, *extra, grid="grid.toml"):
    """A run in a process of its own, to be signalled."""
    return subprocess.Popen([sys.executable, "-m", "bench.run", *arguments(workdir, out, *extra, grid=grid)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=workdir)


def finish(workdir, out, *extra):
    """A run to its end in this process (a process costs seconds of imports; only a signal needs one)."""
    from bench.run import main
    assert main(arguments(workdir, out, *extra)) == 0
    [folder] = run_dirs(out)[-1:]
    return folder


def wait_for_first_stage(out, process, timeout=120):
    """Block until the first encoder result is in the cache (the second is then training)."""
    deadline = time.time() + timeout
    while not list((out / "cache" / "encode").glob("*.npz")):
        assert process.poll() is None, "run ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.05)


def read(folder):
    """The submission and the leaderboard less its timing columns, as text."""
    import pandas as pd
    from bench.leaderboard import TIME_COLUMNS
    board = pd.read_csv(folder / "leaderboard.csv").drop(columns=TIME_COLUMNS)
    return (folder / "submission.csv").read_text(), board.to_csv(index=False)


@pytest.fixture(scope="module")
def reference(workdir):
    return read(finish(workdir, workdir / "reference"))


def test_sigkill_mid_run_then_resume(workdir, reference):
    out = workdir / "killed"
    process = start(workdir, out)
    wait_for_first_stage(out, process)
    process.kill()
    process.wait()
    assert run_dirs(out) == []
    assert not list(out.glob(".*partial"))
    finish(workdir, out)  # resumed
    [folder] = run_dirs(out)
    assert json.loads((folder / "run.json").read_text())["cache"]["hits"] >= 1
    assert read(folder) == reference  # same files as a run never interrupted


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_stop_cleanly_and_keep_finished_stages(workdir, sig, code):
    out = workdir / f"stopped{sig}"
    process = start(workdir, out, grid="long.toml")
    wait_for_first_stage(out, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "interrupted: finished stages are kept in the cache" in stderr and "Traceback" not in stderr
    assert run_dirs(out) == [] and not list(out.glob(".*partial"))
    from bench.cache import Cache
    [entry] = (out / "cache" / "encode").glob("*.npz")
    assert Cache(out / "cache").load("encode", entry.stem) is not None


def test_damaged_cache_entry_is_recomputed(workdir, reference):
    out = workdir / "damaged"
    finish(workdir, out)
    for entry in (out / "cache" / "reduce").glob("*.npz"):
        entry.write_bytes(entry.read_bytes()[:100])  # torn
    folder = finish(workdir, out, "--no-replay")  # from the stage cache, not a copy of the finished run
    assert read(folder) == reference
    assert json.loads((folder / "run.json").read_text())["cache"]["computed"] == 2  # the 2 reductions; clusterings stay valid


def test_two_runs_sharing_a_cache_at_once(workdir, reference):
    out = workdir / "together"
    runs = [start(workdir, out), start(workdir, out)]
    for process in runs:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    folders = run_dirs(out)
    assert len(folders) == 2
    assert all(read(folder) == reference for folder in folders)


def test_a_stop_signal_while_signals_are_held_arrives_when_the_hold_ends():
    """The hold around building the first optimizer (torch imports torch._dynamo there, and a
    signal landing in that import was swallowed): the signal must arrive, just after it."""
    import os

    from models.train import signals_held

    class Arrived(Exception):
        pass

    def handler(signum, frame):
        raise Arrived

    previous = signal.signal(signal.SIGTERM, handler)
    reached_end_of_block = False
    try:
        with pytest.raises(Arrived):
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.2)  # without the hold, the handler raises here
                reached_end_of_block = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert reached_end_of_block
