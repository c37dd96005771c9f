"""Loading and checking images: .npy, .npz (`x`, optional `y`), a folder of images, or the
embedded default (scikit-learn's handwritten digits).

Images come in as (N, H, W, C) (or (N, H, W) for grayscale), channels last, C in {1, 3},
uint8 0-255 or float, and leave as float32 NCHW in [-1, 1], as the seed tutorial normalises
them. Every problem is a `UserError` naming the file and what is wrong, raised before any work.
"""

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import UserError

DEFAULT_DATA = Path("release/trainX.npy")  # the hw4 release, where the seed tutorial reads it
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass
class Dataset:
    x: np.ndarray  # float32 (N, C, H, W) in [-1, 1]
    y: np.ndarray | None  # ground truth, for external metrics only
    source: str
    fingerprint: str  # hash of the pixels, part of every cache key

    @property
    def n_classes(self) -> int | None:
        return None if self.y is None else len(np.unique(self.y))


def _check_npy_size(fp, available: int, source: str) -> None:
    """Refuse an array whose header promises more bytes than its file holds: numpy would first
    allocate all it promises (a MemoryError for a header of 10^8 images in a 1 kB file)."""
    if fp.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
        return  # not an array file: the loader says what it is (a pickle, ...)
    fp.seek(0)
    version = np.lib.format.read_magic(fp)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read_header(fp)
    if dtype.hasobject:
        return  # refused as pickled by the loader, which never unpickles
    needed = fp.tell() + int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if needed > available:
        raise UserError(f"{source}: truncated: its header says {dtype} {shape} ({needed:,} bytes), "
                        f"the file holds {available:,} bytes")


def _read_arrays(path: Path, what: str) -> dict:
    """The arrays of a .npy (under the key None) or an .npz (by name), sizes checked against
    the file first, never unpickled. Every problem is a one-line UserError."""
    try:
        if path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    with archive.open(info) as member:
                        _check_npy_size(member, info.file_size, f"{path} ({info.filename})")
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.keys()}
        with open(path, "rb") as f:
            _check_npy_size(f, os.fstat(f.fileno()).st_size, str(path))
        return {None: np.load(path, allow_pickle=False)}
    except UserError:
        raise
    except MemoryError:
        raise UserError(f"{path}: too large to load into this machine's memory") from None
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise UserError(f"{path}: holds Python objects (pickled), not a numeric {what} "
                            "array; save it with a numeric dtype") from None
        raise UserError(f"{path}: cannot read as {what} array ({str(e).splitlines()[0]})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: cannot read ({e.__class__.__name__}: {e}); is it truncated?") from None


def _load_array(path: Path, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """`x` (and `y` from an .npz) of a .npy or .npz file."""
    arrays = _read_arrays(path, what)
    if None in arrays:
        return arrays[None], None
    if "x" in arrays:
        return arrays["x"], arrays.get("y")
    if len(arrays) == 1:
        return next(iter(arrays.values())), None
    raise UserError(f"{path}: .npz has no array 'x' (it has {', '.join(arrays) or 'none'})")


def _load_folder(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{path}: folder holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    images = []
    for file in files:
        try:
            with Image.open(file) as im:
                im.load()
                images.append(im.convert("L") if im.mode in ("1", "L", "LA", "I", "I;16")
                              else im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as e:
            raise UserError(f"{file}: not a readable image ({e})") from None
    first = images[0]
    for file, im in zip(files, images):
        if im.size != first.size:
            raise UserError(f"{file}: size {im.size[0]}x{im.size[1]} differs from "
                            f"{files[0].name}'s {first.size[0]}x{first.size[1]}; resize them to one size")
    mode = "RGB" if any(im.mode == "RGB" for im in images) else "L"
    return np.stack([np.asarray(im.convert(mode)) for im in images])


def read_images(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The raw array (and labels, if the file carries them) from a file or folder."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        return _load_folder(path), None
    if path.suffix not in (".npy", ".npz"):
        raise UserError(f"{path}: unknown format {path.suffix or '(no suffix)'!r}; "
                        "give a .npy, an .npz with 'x', or a folder of images")
    return _load_array(path, "image")


def normalise(raw: np.ndarray, source: str) -> np.ndarray:
    """(N, H, W[, C]) uint8 0-255 or float -> float32 (N, C, H, W) in [-1, 1]."""
    if raw.dtype.kind not in "uif":
        raise UserError(f"{source}: dtype {raw.dtype} is not numeric image data; use uint8 or float")
    if raw.ndim == 3:
        raw = raw[..., None]
    if raw.ndim != 4:
        raise UserError(f"{source}: shape {raw.shape} is not (N, H, W, C) images")
    n, h, w, c = raw.shape
    if n == 0:
        raise UserError(f"{source}: holds 0 images")
    if c not in (1, 3):
        hint = " (looks channels-first; bench expects channels last)" if raw.shape[1] in (1, 3) else ""
        raise UserError(f"{source}: {c} channels in shape {raw.shape}; need 1 or 3{hint}")
    if h < 2 or w < 2:
        raise UserError(f"{source}: images of {h}x{w} pixels are too small")
    if n > 1 and (raw == raw[:1]).all():
        raise UserError(f"{source}: all {n} images are identical; there is nothing to cluster")
    if raw.dtype.kind == "f" and not np.isfinite(raw).all():
        raise UserError(f"{source}: contains NaN or infinite values")
    lo, hi = float(raw.min()), float(raw.max())
    x = raw.astype(np.float32) if hi <= 255 else raw  # out of range: refused below, uncast
    if raw.dtype.kind in "ui" or hi > 1:
        if lo < 0 or hi > 255:
            raise UserError(f"{source}: values span {lo:g}..{hi:g}; expected 0..255, 0..1 or -1..1")
        x = x / 255.0 * 2 - 1
    elif lo >= 0:
        x = x * 2 - 1  # float in [0, 1]
    elif lo < -1:
        raise UserError(f"{source}: values span {lo:g}..{hi:g}; expected 0..255, 0..1 or -1..1")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def read_labels(path: Path, n: int) -> np.ndarray:
    """Ground-truth labels from .npy, .npz (`y`) or .csv (`label` column, or one per line)."""
    if not path.exists():
        raise UserError(f"{path}: no such labels file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a labels file")
    if path.suffix in (".csv", ".txt"):
        import pandas as pd
        try:
            table = pd.read_csv(path)
            if "label" not in table.columns:
                table = pd.read_csv(path, header=None, names=["label"])
            y = table["label"].to_numpy()
        except (ValueError, pd.errors.ParserError) as e:
            raise UserError(f"{path}: cannot read labels ({e})") from None
    elif path.suffix == ".npz":
        arrays = _read_arrays(path, "label")
        if "y" not in arrays:
            raise UserError(f"{path}: .npz has no array 'y'")
        y = arrays["y"]
    else:
        y, _ = _load_array(path, "label")
    return check_labels(y, n, str(path))


def check_labels(y: np.ndarray, n: int, source: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise UserError(f"{source}: labels must be one integer per image, got {y.dtype} of shape {y.shape}")
    if len(y) != n:
        raise UserError(f"{source}: {len(y)} labels for {n} images")
    return y.astype(np.int64)


def fingerprint(x: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{x.dtype}{x.shape}".encode())
    digest.update(np.ascontiguousarray(x).data)
    return digest.hexdigest()


def embedded_default() -> Dataset:
    """scikit-learn's bundled handwritten digits: 1797 real 8x8 grayscale images, 10 classes."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    raw = np.round(digits.images * (255 / 16)).astype(np.uint8)
    return Dataset(normalise(raw, "digits"), digits.target.astype(np.int64),
                   "sklearn digits (embedded default)", fingerprint(raw))


def load_dataset(data: str | None, labels: str | None = None) -> Dataset:
    """The dataset a run works on: `data`, else release/trainX.npy, else the embedded default."""
    if data is None and DEFAULT_DATA.exists():
        data = str(DEFAULT_DATA)
    if data is None:
        dataset = embedded_default()
    else:
        raw, y = read_images(Path(data))
        x = normalise(raw, data)
        if y is not None:
            y = check_labels(y, len(x), f"{data} (y)")
        dataset = Dataset(x, y, data, fingerprint(raw))
    if labels is not None:
        dataset.y = read_labels(Path(labels), len(dataset.x))
    return dataset
