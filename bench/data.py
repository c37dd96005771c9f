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
    resized: dict | None = None  # what was resized to one size: {"size", "images", "sizes", "chosen"}
    files: list[str] | None = None  # a folder's file names: image i was read from files[i]

    @property
    def resized_note(self) -> str:
        """', resized to SxS' and why, for the run's summary; '' when nothing was."""
        r = self.resized
        if not r:
            return ""
        why = "as asked" if r["chosen"] == "given" else (
            f"the median shorter side of {r['sizes']} sizes, at most {MAX_AUTO_SIZE}, down to a multiple of {SIZE_MULTIPLE}")
        return f" ({r['images']} resized to {r['size']}x{r['size']}: {why})"

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
        if path.suffix.lower() == ".npz":
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


MAX_AUTO_SIZE = 64  # mixed sizes: bench's encoders are built for small images, and train on CPUs


def fit_to(im, size: int):
    """A PIL image resized as image libraries do: shorter side to `size` (antialiased), then
    the centre `size` x `size` crop."""
    from PIL import Image
    w, h = im.size
    scale = size / min(w, h)
    im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BILINEAR)
    left, top = (im.size[0] - size) // 2, (im.size[1] - size) // 2
    return im.crop((left, top, left + size, top + size))


def _open(file: Path):
    from PIL import Image, UnidentifiedImageError
    try:
        return Image.open(file)
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"{file}: not a readable image ({e})") from None
    except Image.DecompressionBombError:  # PIL's guard against a small file that decodes huge
        raise UserError(f"{file}: too large to read safely (over {2 * Image.MAX_IMAGE_PIXELS:,} pixels); "
                        "shrink it first") from None


GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
SIZE_MULTIPLE = 4  # a chosen size suits every encoder (the autoencoders halve the side twice)


def _pixels(im, mode: str, file: Path, float_scale: float = 1.0):
    """`im` in `mode` (8 bits a channel). 16-bit grey (PNG, TIFF) is scaled from 0..65535: PIL's
    own conversion clips every value above 255 to white. Floating-point grey (TIFF) is
    multiplied by `float_scale`, its folder's (`_float_scale`)."""
    from PIL import Image
    if im.mode == "F":
        values = np.asarray(im, dtype=np.float64) * float_scale
    elif im.mode.startswith("I"):
        values = np.asarray(im, dtype=np.float64)
        if values.min() < 0 or values.max() > 65535:
            raise UserError(f"{file}: values span {values.min():g}..{values.max():g}; "
                            "expected 8-bit or 16-bit images")
        values = values / 257
    else:
        return im.convert(mode)
    return Image.fromarray(np.round(values).astype(np.uint8), "L").convert(mode)


def _overshot_unit_range(lo: float, hi: float) -> bool:
    """Floats just above 1: 0..1 images a little over, since 0..255 images this dark are black."""
    return lo >= 0 and 1 < hi < 2


def _float_scale(folder: Path, files: list[Path]) -> float:
    """The factor to 0..255 of a folder's floating-point images, read as an array's floats are
    (0..1 or 0..255), from the range of all of them so that one dark image is not read as
    bright (one image in memory at a time)."""
    lo, hi = np.inf, -np.inf
    for file in files:
        with _open(file) as im:
            values = np.asarray(im, dtype=np.float64)
        if not np.isfinite(values).all():
            raise UserError(f"{folder}: its floating-point images contain NaN or infinite values")
        lo, hi = min(lo, values.min()), max(hi, values.max())
    if lo < 0 or hi > 255 or _overshot_unit_range(lo, hi):
        raise UserError(f"{folder}: its floating-point images span {lo:g}..{hi:g}; expected 0..1 or 0..255")
    return 255.0 if hi <= 1 else 1.0


def _load_folder(path: Path, image_size: int | None) -> tuple[np.ndarray, dict | None, list[str]]:
    """A folder's images (not its subfolders'), in the order of their names, as one array read one
    at a time into it (memory: the array and one image). Of mixed sizes, or when `image_size` is
    given, each is resized (`fit_to`); any colour image makes them all colour. Returns the array,
    what was resized (or None) and the file names, image i from the i-th."""
    files = sorted(p for p in path.iterdir()  # not hidden files: a Mac's "._x.png" holds no image
                   if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith("."))
    if not files:
        below = sorted(p.name for p in path.iterdir() if p.is_dir())
        shown = ", ".join(below[:3] + ["..."] * (len(below) > 3))
        raise UserError(f"{path}: folder holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})"
                        + (f"; bench reads no subfolders ({shown})" if below else ""))
    sizes, modes, floats = [], set(), []
    for file in files:  # headers only: sizes and modes before any pixel is decoded
        with _open(file) as im:
            sizes.append(im.size)
            modes.add("L" if im.mode in GREY_MODES else "RGB")
            floats += [file] if im.mode == "F" else []
    mode = "RGB" if "RGB" in modes else "L"
    float_scale = _float_scale(path, floats) if floats else 1.0
    size = image_size
    if size is None and len(set(sizes)) > 1:
        median = min(MAX_AUTO_SIZE, int(np.median([min(s) for s in sizes])))
        size = max(SIZE_MULTIPLE, median - median % SIZE_MULTIPLE)
    w, h = (size, size) if size else sizes[0]
    images = np.empty((len(files), h, w) + ((3,) if mode == "RGB" else ()), np.uint8)
    for i, file in enumerate(files):
        with _open(file) as im:
            try:
                im = _pixels(im, mode, file, float_scale)
            except OSError as e:
                raise UserError(f"{file}: not a readable image ({e})") from None
            images[i] = np.asarray(fit_to(im, size) if size else im)
    resized = None
    if size:
        resized = {"size": size, "images": sum(s != (size, size) for s in sizes),
                   "sizes": len(set(sizes)), "chosen": "given" if image_size else "median shorter side"}
    return images, resized, [file.name for file in files]


def resize_array(raw: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W[, C]) images of any numeric dtype resized (`fit_to`) to (N, size, size[, C]),
    channel by channel, in their own value range and dtype (integers rounded)."""
    from PIL import Image
    planes = raw[..., None] if raw.ndim == 3 else raw
    out = np.empty((len(raw), size, size, planes.shape[3]), np.float32)
    for i, image in enumerate(planes):
        for c in range(planes.shape[3]):
            out[i, ..., c] = np.asarray(fit_to(Image.fromarray(image[..., c].astype(np.float32), "F"), size))
    if raw.dtype.kind in "ui":  # the same dtype, so that the value range reads as before
        out = np.round(out).astype(raw.dtype)
    return out[..., 0] if raw.ndim == 3 else out


def read_images(path: Path, image_size: int | None = None) -> tuple[np.ndarray, np.ndarray | None, dict | None,
                                                                  list[str] | None]:
    """The raw array, the labels if the file carries them, what was resized (or None) and, for
    a folder, its file names in the array's order (else None)."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        images, resized, files = _load_folder(path, image_size)
        return images, None, resized, files
    if path.suffix.lower() not in (".npy", ".npz"):
        raise UserError(f"{path}: unknown format {path.suffix or '(no suffix)'!r}; "
                        "give a .npy, an .npz with 'x', or a folder of images")
    return *_load_array(path, "image"), None, None


def normalise(raw: np.ndarray, source: str) -> np.ndarray:
    """(N, H, W[, C]) uint8 0-255 or float -> float32 (N, C, H, W) in [-1, 1]."""
    if raw.dtype.kind not in "uif":
        raise UserError(f"{source}: dtype {raw.dtype} is not numeric image data; use uint8 or float")
    # (H, W, 3): one colour image, a common slip; grey images 3 or 4 pixels wide are no use
    if raw.ndim == 3 and raw.shape[-1] in (3, 4) and raw.shape[1] > 4:
        raise UserError(f"{source}: shape {raw.shape} looks like one colour image (H, W, C); "
                        "give many images, (N, H, W, C)")
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
    if raw.dtype.kind == "f" and _overshot_unit_range(lo, hi):
        raise UserError(f"{source}: values span {lo:g}..{hi:g}: 0..1 with values above 1? "
                        "clip them to 0..1, or give 0..255")
    if raw.dtype.kind in "ui" or hi > 1:
        if lo < 0 or hi > 255:
            raise UserError(f"{source}: values span {lo:g}..{hi:g}; expected 0..255, 0..1 or -1..1")
        x = x / 255.0 * 2 - 1
    elif lo >= 0:
        x = x * 2 - 1  # float in [0, 1]
    elif lo < -1:
        raise UserError(f"{source}: values span {lo:g}..{hi:g}; expected 0..255, 0..1 or -1..1")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def read_labels(path: Path, n: int, files: list[str] | None = None) -> np.ndarray:
    """Ground-truth labels from .npy, .npz (`y`) or a table (.csv, .tsv, .txt: a `label` column,
    or one label per line). A table's rows are matched to the images by its `file` column when
    the images come from a folder (`files`), else by an `id` column, else taken in order."""
    if not path.exists():
        raise UserError(f"{path}: no such labels file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a labels file")
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        y = _table_labels(path, n, files)
    elif path.suffix.lower() == ".npz":
        arrays = _read_arrays(path, "label")
        if "y" not in arrays:
            raise UserError(f"{path}: .npz has no array 'y'")
        y = arrays["y"]
    else:
        y, _ = _load_array(path, "label")
    return check_labels(y, n, str(path))


def _table_labels(path: Path, n: int, files: list[str] | None) -> np.ndarray:
    import csv

    import pandas as pd
    read = dict(encoding="utf-8-sig", skipinitialspace=True, keep_default_na=False, na_values=[""])
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            head = f.read(4096)
        try:
            read["sep"] = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
        except csv.Error:  # one column: nothing to sniff
            pass
        table = pd.read_csv(path, **read)
        if "label" not in table.columns:
            if len(table.columns) > 1:
                raise UserError(f"{path}: no 'label' column (it has {', '.join(map(str, table.columns))}); "
                                "give a 'label' column or one label per line")
            y = pd.read_csv(path, header=None, **read)[0].to_numpy()
            return y[1:] if len(y) == n + 1 and _is_header(y) else y
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        first_line = str(e).partition("\n")[0]
        raise UserError(f"{path}: cannot read labels ({first_line})") from None
    if files is not None and "file" in table.columns:
        return _matched(table, "file", files, path)
    if "id" in table.columns:
        return _matched(table, "id", list(range(n)), path)
    if "file" in table.columns:
        raise UserError(f"{path}: rows are matched by 'file' only to a folder of images; "
                        "give an 'id' column (0..N-1) or only a 'label' column, in the images' order")
    return table["label"].to_numpy()


def _is_header(column: np.ndarray) -> bool:
    """Whether a one-column table's first row names the column rather than labels an image: a
    word that labels no other row."""
    first = str(column[0])
    try:
        float(first)
        return False
    except ValueError:
        return first not in {str(v) for v in column[1:]}


def _matched(table, column: str, keys: list, path: Path) -> np.ndarray:
    """The `label` of each of `keys`, found in `column` (ids 0..N-1, or file names): each once."""
    import pandas as pd
    given = table[column]
    if column == "id":
        numbers = pd.to_numeric(given, errors="coerce")
        bad = numbers.isna() | (numbers != numbers.round())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise UserError(f"{path}: id {given.iloc[row]!r} (row {row + 1}) is not a whole number")
        given = numbers.astype(np.int64)
    else:
        given = given.astype(str).map(lambda name: Path(name).name)  # a path's file name
    if given.duplicated().any():
        raise UserError(f"{path}: {column} {given[given.duplicated()].iloc[0]} appears twice")
    missing, unknown = sorted(set(keys) - set(given)), sorted(set(given) - set(keys))
    problems = []
    if missing:
        problems.append(f"{len(missing)} of the {len(keys)} images have no row (e.g. {column} {missing[0]!r})")
    if unknown:
        problems.append(f"{len(unknown)} rows name no image (e.g. {column} {unknown[0]!r})")
    if problems:
        one_based = column == "id" and 0 in missing and len(keys) in unknown
        raise UserError(f"{path}: {', and '.join(problems)}" + ("; ids count from 0" if one_based else ""))
    return pd.Series(table["label"].to_numpy(), index=given.to_numpy()).loc[keys].to_numpy()


def check_labels(y: np.ndarray, n: int, source: str) -> np.ndarray:
    """One integer per image. Labels only measure, so whole floats and class names (numbered
    in sorted order) are taken too."""
    import pandas as pd
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "OUSf" and pd.isna(y).any():
        rows = np.flatnonzero(pd.isna(y))
        raise UserError(f"{source}: {len(rows)} missing labels (the first for image {rows[0]}); "
                        "give one label per image")
    if y.ndim == 1 and y.dtype.kind in "OUS" and all(isinstance(v, str) for v in y.tolist()):
        y = np.unique(y.astype(str), return_inverse=True)[1]
    if y.ndim == 1 and y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
        y = y.astype(np.int64)
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


DIGITS = "sklearn digits (embedded default)"


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits: 1797 real 8x8 grayscale images, 10 classes."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    return np.round(digits.images * (255 / 16)).astype(np.uint8), digits.target.astype(np.int64)


def embedded_default() -> Dataset:
    raw, y = _digits()
    return Dataset(normalise(raw, "digits"), y, DIGITS, fingerprint(raw))


def load_dataset(data=None, labels=None, *, image_size: int | None = None) -> Dataset:
    """The dataset a run works on: `data` (a path, or an array of images), else
    release/trainX.npy, else the embedded default; `labels` a path or an array.
    `image_size`: every image resized to that square (`fit_to`)."""
    if data is None and DEFAULT_DATA.exists():
        data = str(DEFAULT_DATA)
    resized = files = None
    if data is None:
        (raw, y), source = _digits(), DIGITS
    elif isinstance(data, (str, Path)):
        raw, y, resized, files = read_images(Path(data), image_size)
        source = str(data)
    else:
        try:
            raw = np.asarray(data)
        except ValueError:  # numpy's word for images of different shapes in one list
            raise UserError("images: a list of arrays of different shapes; give one (N, H, W[, C]) array, "
                            "or a folder of image files, which bench brings to one size") from None
        y, source = None, f"array {raw.shape}"
    if image_size and resized is None:
        normalise(raw, source)  # its problems named as given, before resizing
        h, w = raw.shape[1:3]
        raw = resize_array(raw, image_size)
        resized = {"size": image_size, "images": len(raw) if (h, w) != (image_size,) * 2 else 0,
                   "sizes": 1, "chosen": "given"}
    x = normalise(raw, source)
    if labels is not None:  # they replace the file's own
        y = (read_labels(Path(labels), len(x), files) if isinstance(labels, (str, Path))
             else check_labels(labels, len(x), "labels"))
    elif y is not None:
        y = check_labels(y, len(x), f"{source} (y)")
    return Dataset(x, y, source, fingerprint(raw), resized, files)
