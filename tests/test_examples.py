"""The README's Python quickstart and the example notebook run as a user would run them: from a
folder holding only the hw4 layout (`release/trainX.npy`)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

ROOT = Path(__file__).resolve().parents[1]


def hw4_shaped(n_per_class: int = 80) -> np.ndarray:
    """(2n, 32, 32, 3) uint8: real digits 0 and 1, enlarged, in colour, zeros first."""
    digits = load_digits()
    images = np.concatenate([digits.images[digits.target == d][:n_per_class] for d in (0, 1)])
    big = np.kron(images, np.ones((4, 4)))  # 8x8 -> 32x32
    return np.repeat(np.round(big * 255 / 16).astype(np.uint8)[..., None], 3, axis=3)


def hw4_folder(folder: Path) -> Path:
    (folder / "release").mkdir()
    np.save(folder / "release" / "trainX.npy", hw4_shaped())
    return folder


def test_the_readmes_first_python_block_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", block], cwd=hw4_folder(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [run] = [p for p in (tmp_path / "results").iterdir() if p.is_dir() and p.name != "cache"]
    assert (run / "submission.csv").exists() and (run / "report.html").exists()
    assert "combo" in done.stdout  # the leaderboard's head, printed


def test_the_quickstart_notebook_leaves_a_submission(tmp_path):
    import nbclient
    import nbformat
    hw4_folder(tmp_path)
    notebook = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    submission = pd.read_csv(tmp_path / "submission.csv")
    assert list(submission.columns) == ["id", "label"] and len(submission) == 160
    assert (submission["label"][:5] == 0).all()
    assert ((submission["label"] == 0) == (np.arange(160) < 80)).mean() > 0.9  # the digits apart
    shown = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("image/png" in o.get("data", {}) for o in shown)  # the cluster pictures
    assert any("leaderboard, top 10" in o.get("data", {}).get("text/html", "") for o in shown)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in shown)  # live bars


def test_the_readmes_new_entries_run_through_pca_svd_and_their_own_reducer_and_clusterer(tmp_path):
    # in a process of its own: the entries join the global registries
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    [encoder] = [b for b in blocks if "MODELS.register" in b]
    [others] = [b for b in blocks if "CLUSTERERS.register" in b]
    script = "\n".join([
        encoder, "from reducers import REDUCERS, pca", "from clusterers import CLUSTERERS", others,
        "import json, numpy as np, bench",
        f"x = np.load({str(tmp_path / 'x.npy')!r})",
        "grid = bench.make_grid(['coarse'], ['pca16', 'pca32', 'pca50w', 'svd50'], ['kmeans', 'bisecting'])",
        "board = bench.run_grid(x, 2, grid=grid, jobs=1, progress=False, out=" + repr(str(tmp_path)) + ").leaderboard",
        "print(json.dumps(dict(zip(board['combo'], board['status']))))"])
    np.save(tmp_path / "x.npy", hw4_shaped(40))
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    statuses = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(statuses) == 8 and set(statuses.values()) == {"ok"}, statuses
