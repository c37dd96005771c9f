import os

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # OpenMP, BLAS
if os.environ.get("PYTEST_XDIST_WORKER"):  # set before numpy, torch and BLAS load
    # every core already runs a pytest-xdist worker: the libraries' own thread pools on top
    # would oversubscribe them, and their spinning threads wait on each other (a small torch
    # fit ~3x slower); subprocesses of a test inherit it
    for name, value in ONE_THREAD.items():
        os.environ.setdefault(name, value)

import numpy as np
import pytest
from sklearn.datasets import load_digits

from bench.run import main


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory):
    """A small real dataset: 300 handwritten digits (8x8 uint8) with their labels."""
    digits = load_digits()
    x = np.round(digits.images[:300] * (255 / 16)).astype(np.uint8)[..., None]
    path = tmp_path_factory.mktemp("data") / "digits300.npz"
    np.savez(path, x=x, y=digits.target[:300])
    return path


@pytest.fixture
def run_cli(tmp_path, capsys):
    """Run `python -m bench.run` in-process; returns (exit code, stdout, stderr). Without
    pictures (`plots=True` draws them) and in one job unless `--jobs` is given: most tests are
    about neither, and both cost seconds a run."""
    def run(*args, out=None, plots=False):
        args = [*map(str, args)]
        args += [] if plots or "--no-plots" in args else ["--no-plots"]
        args += [] if "--jobs" in args else ["--jobs", "1"]
        try:
            code = main([*args, "--out", str(out or tmp_path / "results")])
        except SystemExit as e:  # argparse's own exit for bad flags
            code = e.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def run_dirs(out):
    return sorted(p for p in out.iterdir() if p.is_dir() and p.name != "cache")
