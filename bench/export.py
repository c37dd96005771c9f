"""Run folders: everything is written into a hidden staging folder and renamed into place at the
end, so a run folder either holds a finished run's files or does not exist."""

import errno
import itertools
import json
import math
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import UserError


def check_writable(folder: Path, what: str = "output folder") -> None:
    """`folder` exists (made if needed) and can be written, or one UserError naming it."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file, not a folder (given as the {what})")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{folder}: cannot create {what} ({e.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{folder}: {what} is not writable")


class RunFolder:
    def __init__(self, out: Path, grid_name: str):
        self.out = out
        # a grid named in Python may hold any character; the folder's name keeps it readable and flat
        flat = re.sub(r"[^\w.-]+", "-", grid_name)[:100].strip("-.") or "grid"  # file names end at 255 bytes
        self.name = f"{time.strftime('%Y%m%d-%H%M%S')}-{flat}"
        self.staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{self.name}.", suffix=".partial"))
        self.staging.chmod(0o755)  # mkdtemp makes it private; a run folder is for reading
        self.path = out / self.name

    def write_submission(self, labels: np.ndarray, files: list[str] | None = None) -> None:
        """submission.csv exactly as the seed tutorial writes it (`id,label`); for a folder's
        images (`files`, in id order) also file_labels.csv (`id,file,label`)."""
        ids = np.arange(len(labels))
        pd.DataFrame({"id": ids, "label": labels}).to_csv(self.staging / "submission.csv", index=False)
        if files is not None:
            pd.DataFrame({"id": ids, "file": files, "label": labels}).to_csv(
                self.staging / "file_labels.csv", index=False)

    def write_table(self, name: str, table: pd.DataFrame) -> None:
        # every digit: a table read back (the selection audit re-ranking a finished run) must
        # order near-ties as the run did; rounding made ties that broke by combo name instead
        table.to_csv(self.staging / name, index=False)

    def write_combo_labels(self, labels: dict, truth: np.ndarray | None) -> None:
        """combo_labels.npz: `combo` (names) and `labels` (one row each), and the ground truth
        (`truth`) when known, so that the selection audit can rerun any ranking on this run."""
        arrays = {"combo": np.array(list(labels), dtype=str),
                  "labels": np.array(list(labels.values()), dtype=np.int32).reshape(len(labels), -1)}
        if truth is not None:
            arrays["truth"] = truth
        np.savez_compressed(self.staging / "combo_labels.npz", **arrays)

    def write_json(self, name: str, data: dict) -> None:
        """`data` as strict JSON: an undefined number (NaN) is null, which every JSON reader takes."""
        (self.staging / name).write_text(json.dumps(_strict(data), indent=2, allow_nan=False) + "\n")

    def commit(self) -> Path:
        """Rename the staging folder into place, as NAME, NAME-2, ... whichever is free first
        (a rename never lands on a non-empty folder, so two runs finishing at once can't clash)."""
        for n in itertools.count(1):
            self.path = self.out / (self.name if n == 1 else f"{self.name}-{n}")
            try:
                os.rename(self.staging, self.path)
                return self.path
            except OSError as e:
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _strict(value):
    """`value` with NumPy's types made Python's, NaN and infinities None, other objects their str."""
    if isinstance(value, dict):
        return {key: _strict(v) for key, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_strict(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value if value is None or isinstance(value, (str, int)) else str(value)
