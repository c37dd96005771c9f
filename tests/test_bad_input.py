"""Every door a bad input can come through: one line, exit 2, no traceback, nothing written."""

import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from bench.data import load_dataset
from bench.errors import UserError

from conftest import run_dirs

PIXELS_ONLY = 'encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["kmeans"]\n'


@pytest.fixture
def small_npy(tmp_path):
    path = tmp_path / "small.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (40, 8, 8, 3)).astype(np.uint8))
    return path


def assert_refused(result, expected, out_dir):
    code, out, err = result
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, err
    assert "Traceback" not in out + err
    assert not out_dir.exists() or run_dirs(out_dir) == []


def test_truncated_npy(tmp_path, small_npy, run_cli):
    bad = tmp_path / "cut.npy"
    bad.write_bytes(small_npy.read_bytes()[:1000])
    assert_refused(run_cli("--data", bad), "cut.npy: cannot read", tmp_path / "results")


def test_pickle_disguised_as_npy_is_never_unpickled(tmp_path, run_cli):
    import pickle
    marker = tmp_path / "pwned"
    payload = pickle.dumps(eval("type('X', (), {'__reduce__': lambda s: (open, (%r, 'w'))})()" % str(marker)))
    (tmp_path / "evil.npy").write_bytes(payload)
    assert_refused(run_cli("--data", tmp_path / "evil.npy"), "evil.npy: holds Python objects (pickled)", tmp_path / "results")
    assert not marker.exists()


def test_npz_without_x(tmp_path, run_cli):
    np.savez(tmp_path / "d.npz", a=np.zeros(3), b=np.zeros(3))
    assert_refused(run_cli("--data", tmp_path / "d.npz"), "has no array 'x' (it has a, b)", tmp_path / "results")


def test_unknown_suffix(tmp_path, run_cli):
    (tmp_path / "x.csv").write_text("1,2\n")
    assert_refused(run_cli("--data", tmp_path / "x.csv"), "unknown format '.csv'", tmp_path / "results")


def _folder(tmp_path, sizes):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, size in enumerate(sizes):
        Image.new("RGB", size, (i * 40, 0, 0)).save(folder / f"{i:02d}.png")
    return folder


def test_mixed_sizes_in_a_folder(tmp_path, run_cli):
    folder = _folder(tmp_path, [(8, 8), (8, 8), (16, 8)])
    assert_refused(run_cli("--data", folder), "02.png: size 16x8 differs from 00.png's 8x8", tmp_path / "results")


def test_corrupt_jpeg_among_good_ones(tmp_path, run_cli):
    folder = _folder(tmp_path, [(8, 8)] * 3)
    (folder / "01b.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    assert_refused(run_cli("--data", folder), "01b.jpg: not a readable image", tmp_path / "results")


def test_empty_folder(tmp_path, run_cli):
    (tmp_path / "empty").mkdir()
    assert_refused(run_cli("--data", tmp_path / "empty"), "folder holds no image files", tmp_path / "results")


@pytest.mark.parametrize("content, expected", [
    ("id,label\n0,a\n", "labels must be one integer per image"),
    ("1\n2\n", "2 labels for 40 images"),
])
def test_bad_labels_files(tmp_path, small_npy, run_cli, content, expected):
    (tmp_path / "y.csv").write_text(content)
    assert_refused(run_cli("--data", small_npy, "--labels", tmp_path / "y.csv"), expected, tmp_path / "results")


def test_missing_labels_file(tmp_path, small_npy, run_cli):
    assert_refused(run_cli("--data", small_npy, "--labels", tmp_path / "nope.npy"),
                   "nope.npy: no such labels file", tmp_path / "results")


@pytest.mark.parametrize("entry, expected", [
    ('reducers = [{name = "pca32", n_components = "many"}]', "reducer 'pca32(n_components=many)'"),
    ('clusterers = [{name = "gmm", covariance_type = "round"}]', "'covariance_type' parameter"),
    ('encoders = [{name = "baseline", loss = "l3"}]', "loss must be one of ['l1', 'mse']"),
])
def test_bad_parameter_values_in_a_grid(tmp_path, small_npy, run_cli, entry, expected):
    table = {"encoders": '["baseline"]', "reducers": '["pca32"]', "clusterers": '["kmeans"]'}
    key = entry.split(" = ")[0]
    text = "\n".join(f"{k} = {v}" for k, v in table.items() if k != key) + "\n" + entry + "\n"
    (tmp_path / "g.toml").write_text(text)
    assert_refused(run_cli("--data", small_npy, "--grid", tmp_path / "g.toml"), expected, tmp_path / "results")


def test_unknown_grid_suggests(small_npy, run_cli, tmp_path):
    assert_refused(run_cli("--data", small_npy, "--grid", "ful"), "did you mean 'full'", tmp_path / "results")


def test_out_that_is_a_file(tmp_path, small_npy, run_cli):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = run_cli("--data", small_npy, "--grid", "seed", out=blocker / "sub")
    assert code == 2 and err.startswith("error: ") and "cannot create output folder" in err
    assert blocker.read_text() == "x"


# --- property-based: random arrays and flag values never give a traceback -----------------

image_arrays = arrays(
    dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64, np.bool_, np.complex64]),
    shape=st.lists(st.integers(0, 6), min_size=1, max_size=5).map(tuple),
    elements=None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=image_arrays)
def test_loader_returns_clean_images_or_a_user_error(tmp_path, raw):
    path = tmp_path / "random.npy"
    np.save(path, raw)
    try:
        data = load_dataset(str(path))
    except UserError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
        return
    assert data.x.dtype == np.float32 and data.x.ndim == 4 and data.x.shape[1] in (1, 3)
    assert np.isfinite(data.x).all() and data.x.min() >= -1 and data.x.max() <= 1


flag_values = st.one_of(st.integers(-3, 60).map(str), st.text(string.printable, max_size=4))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(["--n-clusters", "--jobs", "--top-k", "--min-nmi", "--known-zeros", "--seed", "--epochs",
                             "--backend", "--grid"]), value=flag_values)
def test_cli_flags_run_or_refuse_in_one_line(tmp_path, small_npy, run_cli, flag, value):
    grid = tmp_path / "pixels.toml"
    grid.write_text(PIXELS_ONLY)
    args = ["--data", small_npy, "--grid", grid, "--jobs", "1", flag, value]
    code, out, err = run_cli(*args, out=tmp_path / "r")
    assert "Traceback" not in out + err
    if code != 0:
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
