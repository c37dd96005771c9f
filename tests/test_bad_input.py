"""Every door a bad input can come through: one line, exit 2, no traceback, nothing written."""

import json
import string
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
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
    assert_refused(run_cli("--data", bad), "cut.npy: truncated", tmp_path / "results")


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


def test_mixed_sizes_in_a_folder_are_resized_and_said_so(tmp_path, run_cli):
    folder = _folder(tmp_path, [(8, 8), (10, 8), (16, 12), (8, 8), (8, 8), (8, 8)])
    (tmp_path / "g.toml").write_text(PIXELS_ONLY.replace("pca32", "identity"))
    code, out, err = run_cli("--data", folder, "--grid", tmp_path / "g.toml", "--n-clusters", 2, "--no-plots")
    assert code == 0, err
    assert ("6 images 8x8x3 (2 resized to 8x8: the median shorter side of 3 sizes, at most 64, down to a "
            "multiple of 4)") in " ".join(out.split())
    [run] = run_dirs(tmp_path / "results")
    assert json.loads((run / "run.json").read_text())["data"]["resized"]["size"] == 8
    assert_refused(run_cli("--data", folder, "--image-size", 1, out=tmp_path / "other"), "--image-size: 1 must be 2 or more",
                   tmp_path / "other")


def test_corrupt_jpeg_among_good_ones(tmp_path, run_cli):
    folder = _folder(tmp_path, [(8, 8)] * 3)
    (folder / "01b.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    assert_refused(run_cli("--data", folder), "01b.jpg: not a readable image", tmp_path / "results")


def test_empty_folder(tmp_path, run_cli):
    (tmp_path / "empty").mkdir()
    assert_refused(run_cli("--data", tmp_path / "empty"), "folder holds no image files", tmp_path / "results")


@pytest.mark.parametrize("content, expected", [
    ("label\n0.5\n", "labels must be one integer per image"),
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
    ('encoders = [{name = "baseline", epochs = true}]', "model 'baseline': epochs=True is not a number"),
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
                             "--plateau", "--backend", "--grid"]), value=flag_values)
@example(flag="--min-nmi", value="2\n").via("found by Hypothesis: a number with a newline, out of range")
@example(flag="--top-k", value="0\n").via("the same for whole numbers")
def test_cli_flags_run_or_refuse_in_one_line(tmp_path, small_npy, run_cli, flag, value):
    grid = tmp_path / "pixels.toml"
    grid.write_text(PIXELS_ONLY)
    args = ["--data", small_npy, "--grid", grid, "--jobs", "1", flag, value]
    code, out, err = run_cli(*args, out=tmp_path / "r")
    assert "Traceback" not in out + err
    if code != 0:
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err


def _header_claiming(path, shape, body=b"\0" * 1000):
    """A .npy whose header claims `shape` of uint8 but whose body is 1 kB."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": shape})
        f.write(body)


def test_npy_header_claiming_more_than_the_file_holds(tmp_path, run_cli):
    _header_claiming(tmp_path / "huge.npy", (10**8, 32, 32, 3))
    assert_refused(run_cli("--data", tmp_path / "huge.npy"), "huge.npy: truncated: its header says uint8 "
                   "(100000000, 32, 32, 3)", tmp_path / "results")


def test_npz_member_claiming_more_than_it_holds(tmp_path, small_npy, run_cli):
    import zipfile
    _header_claiming(tmp_path / "x.npy", (10**8, 8, 8, 3))
    with zipfile.ZipFile(tmp_path / "d.npz", "w") as archive:
        archive.write(tmp_path / "x.npy", "x.npy")
    assert_refused(run_cli("--data", tmp_path / "d.npz"), "d.npz (x.npy): truncated", tmp_path / "results")
    assert_refused(run_cli("--data", small_npy, "--labels", tmp_path / "d.npz"), "d.npz (x.npy): truncated",
                   tmp_path / "results")


def test_labels_header_claiming_more_than_the_file_holds(tmp_path, small_npy, run_cli):
    _header_claiming(tmp_path / "y.npy", (10**9,))
    assert_refused(run_cli("--data", small_npy, "--labels", tmp_path / "y.npy"), "y.npy: truncated",
                   tmp_path / "results")


def test_labels_path_that_is_a_folder(tmp_path, small_npy, run_cli):
    (tmp_path / "y.csv").mkdir()
    assert_refused(run_cli("--data", small_npy, "--labels", tmp_path / "y.csv"), "is a folder",
                   tmp_path / "results")


@pytest.mark.parametrize("flag", ["--cache", "--out"])
def test_cache_or_out_that_is_an_existing_file(tmp_path, small_npy, run_cli, flag):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ["--data", small_npy, "--grid", "seed"] + ([flag, blocker] if flag == "--cache" else [])
    result = run_cli(*args, out=blocker if flag == "--out" else tmp_path / "results")
    assert_refused(result, "file: is a file, not a folder", tmp_path / "results")
    assert blocker.read_text() == "x"


def _every_parameter():
    """(registry kind, entry, parameter, a bad value) for every parameter of every entry."""
    import inspect

    from bench.grids import STAGES
    context = {"in_channels", "image_size", "seed", "n_clusters"}
    for kind, registry in STAGES.items():
        for entry in registry:
            for name, p in inspect.signature(entry.factory).parameters.items():
                if name not in context:
                    default = entry.defaults.get(name, p.default)
                    yield kind, entry.name, name, "nonsense" if isinstance(default, str) else -1


@pytest.mark.parametrize("kind, entry, param, value", list(_every_parameter()))
def test_every_parameter_of_every_entry_refuses_a_bad_value(kind, entry, param, value):
    """Checked when the grid is read, before any training: torch encoders and our own wrappers
    too, not only what sklearn validates."""
    from bench.grids import Grid, Spec, check_entries
    specs = {"encoders": [Spec("pixels")], "reducers": [Spec("pca32")], "clusterers": [Spec("kmeans")]}
    specs[kind] = [Spec(entry, ((param, value),))]
    data = load_dataset(None)
    with pytest.raises(UserError, match=f"{entry}\\({param}={value}\\)"):
        check_entries(Grid("g", **specs), data, n_clusters=2, seed=0)


def test_no_combo_with_the_asked_cluster_count_shows_the_board_and_what_they_found(tmp_path, run_cli):
    two_kinds = np.repeat(np.array([0, 255], np.uint8), 10)[:, None, None].repeat(8, 1).repeat(8, 2)
    np.save(tmp_path / "x.npy", two_kinds)  # two distinct images, ten copies each: no third cluster
    (tmp_path / "g.toml").write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["kmeans"]\n')
    result = run_cli("--data", tmp_path / "x.npy", "--grid", tmp_path / "g.toml", "--n-clusters", 3)
    assert_refused(result, "no combo found exactly 3 clusters (they found 2); nothing to vote on", tmp_path / "results")
    assert "pixels pca32 kmeans" in result[1]  # the leaderboard, before the error


@pytest.mark.parametrize("own_package", [False, True])  # a folder of files (checkpoints); a package of one's own
def test_a_folder_named_models_where_bench_runs_is_one_line(tmp_path, monkeypatch, own_package):
    from bench.registry import check_packages
    (tmp_path / "models").mkdir()
    if own_package:
        (tmp_path / "models" / "__init__.py").write_text("")
    # as `python -m bench.run` in that folder: it comes first on sys.path, bench through its install
    root = Path(__file__).resolve().parents[1]
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + [p for p in sys.path if Path(p or ".").resolve() != root])
    monkeypatch.delitem(sys.modules, "models")
    with pytest.raises(UserError, match=f"^{tmp_path / 'models'}: this folder's 'models' hides bench's own models"):
        check_packages()
    monkeypatch.undo()
    check_packages()  # where nothing hides them
