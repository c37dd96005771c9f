import numpy as np
import pytest
from PIL import Image

from bench.data import load_dataset, normalise, read_labels
from bench.errors import UserError

from conftest import run_dirs


def test_npy_uint8_is_scaled_to_minus_one_one_nchw(tmp_path):
    raw = np.zeros((4, 8, 8, 3), np.uint8)
    raw[0, :, :, 2] = 255
    raw[1] = 7
    np.save(tmp_path / "x.npy", raw)
    data = load_dataset(str(tmp_path / "x.npy"))
    assert data.x.dtype == np.float32 and data.x.shape == (4, 3, 8, 8)
    assert data.x[0, 2].min() == 1.0 and data.x[0, 0].max() == -1.0 and data.y is None


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_float_ranges_are_recognised(lo, hi):
    raw = np.linspace(lo, hi, 2 * 4 * 4).reshape(2, 4, 4, 1).astype(np.float32)
    x = normalise(raw, "f")
    assert x.min() == pytest.approx(-1) and x.max() == pytest.approx(1)


def test_rank_three_is_grayscale():
    assert normalise(np.arange(5 * 64, dtype=np.uint8).reshape(5, 8, 8), "g").shape == (5, 1, 8, 8)


def test_npz_with_labels(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(96, dtype=np.uint8).reshape(6, 4, 4, 1),
             y=np.array([0, 1, 2, 0, 1, 2]))
    data = load_dataset(str(tmp_path / "d.npz"))
    assert data.n_classes == 3 and data.y.tolist() == [0, 1, 2, 0, 1, 2]


def test_folder_of_png_and_jpeg_in_name_order(tmp_path):
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "b.png")
    Image.new("RGB", (8, 8), (0, 0, 255)).save(tmp_path / "a.jpg", quality=100)
    (tmp_path / "notes.txt").write_text("ignored")
    data = load_dataset(str(tmp_path))
    assert data.x.shape == (2, 3, 8, 8)
    assert data.x[0, 2].mean() > 0.9 and data.x[1, 0].mean() > 0.9  # a.jpg (blue) first


def test_a_folders_run_names_each_files_label(tmp_path):
    import pandas as pd

    import bench
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):  # names out of numeric order: ids follow the sorted names
        colour = (230, 20, 20) if i % 2 else (20, 20, 230)
        noisy = np.clip(np.array(colour) + rng.normal(0, 10, (8, 8, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(images / f"img{i}.png")
    grid = bench.make_grid(["pixels"], ["pca32"], ["kmeans"])
    result = bench.run_grid(str(images), 2, grid=grid, jobs=1, progress=False, out=tmp_path / "out")
    folder = result.write(plots=False)
    named = pd.read_csv(folder / "file_labels.csv")
    assert list(named.columns) == ["id", "file", "label"]
    assert list(named["file"]) == sorted(f"img{i}.png" for i in range(40))  # img10 before img2
    red = named["file"].str.extract(r"(\d+)")[0].astype(int) % 2 == 1
    assert named.groupby(red)["label"].nunique().eq(1).all() and named["label"].nunique() == 2
    # an array has no file names, so no such file
    plain = bench.run_grid(load_dataset(str(images)).x.transpose(0, 2, 3, 1), 2, grid=grid, jobs=1,
                           progress=False, out=tmp_path / "out2")
    assert not (plain.write(plots=False) / "file_labels.csv").exists()


def test_labels_from_csv_and_npy(tmp_path):
    (tmp_path / "l.csv").write_text("id,label\n0,1\n1,0\n2,1\n")
    assert read_labels(tmp_path / "l.csv", 3).tolist() == [1, 0, 1]
    (tmp_path / "plain.csv").write_text("1\n0\n1\n")
    assert read_labels(tmp_path / "plain.csv", 3).tolist() == [1, 0, 1]
    np.save(tmp_path / "l.npy", np.array([2, 2, 0]))
    assert read_labels(tmp_path / "l.npy", 3).tolist() == [2, 2, 0]
    # labels only measure: whole floats and class names (numbered in sorted order) are taken
    np.save(tmp_path / "f.npy", np.array([2.0, 2.0, 0.0]))
    assert read_labels(tmp_path / "f.npy", 3).tolist() == [2, 2, 0]
    (tmp_path / "names.csv").write_text("label\ndog\ncat\ndog\n")
    assert read_labels(tmp_path / "names.csv", 3).tolist() == [1, 0, 1]
    np.save(tmp_path / "half.npy", np.array([0.5, 1.0, 0.0]))
    with pytest.raises(UserError, match="labels must be one integer per image, got float64"):
        read_labels(tmp_path / "half.npy", 3)
    (tmp_path / "other.csv").write_text("foo,bar\n0,1\n1,0\n2,1\n")
    with pytest.raises(UserError, match="no 'label' column \\(it has foo, bar\\)"):
        read_labels(tmp_path / "other.csv", 3)


def test_a_labels_tables_rows_are_matched_to_the_images_by_id_or_file(tmp_path):
    def table(name, text):
        (tmp_path / name).write_text(text)
        return tmp_path / name
    assert read_labels(table("id.csv", "id,label\n2,1\n0,0\n1,1\n"), 3).tolist() == [0, 1, 1]
    # the other usual shapes of a table: ';' or tab separated, an upper-case suffix, a header of another name
    assert read_labels(table("semi.CSV", "id;label\n1;0\n0;1\n2;1\n"), 3).tolist() == [1, 0, 1]
    assert read_labels(table("tab.tsv", "id\tlabel\n1\t0\n0\t1\n2\t1\n"), 3).tolist() == [1, 0, 1]
    assert read_labels(table("class.csv", "class\n1\n0\n1\n"), 3).tolist() == [1, 0, 1]
    # a word above the labels is a header; a label that repeats below is not, and counts
    assert read_labels(table("names.txt", "cat\ndog\ncat\ndog\n"), 4).tolist() == [0, 1, 0, 1]
    # bench's own file_labels.csv: by file name for a folder's images (a path's name too), by id for an array's
    named = table("files.csv", "id, file, label\n1,c.png,dog\n2,sub/a.png,cat\n0,b.png,None\n")
    assert read_labels(named, 3, files=["a.png", "b.png", "c.png"]).tolist() == [1, 0, 2]
    assert read_labels(named, 3).tolist() == [0, 2, 1]  # 'None' is a class here, not a missing label
    refused = {
        table("file_only.csv", "file,label\nb.png,1\na.png,0\nc.png,1\n"): "matched by 'file' only to a folder",
        table("gap.csv", "id,label\n0,1\n1,0\n5,1\n"):
            "1 of the 3 images have no row \\(e.g. id 2\\), and 1 rows name no image \\(e.g. id 5\\)$",
        table("one_based.csv", "id,label\n1,1\n2,0\n3,1\n"): "; ids count from 0$",
        table("word.csv", "id,label\n0,1\nb,0\n2,1\n"): "id 'b' \\(row 2\\) is not a whole number",
        table("twice.csv", "id,label\n0,1\n1,0\n1,1\n"): "id 1 appears twice",
        table("empty_cell.csv", "id,label\n0,1\n1,\n2,1\n"): "1 missing labels \\(the first for image 1\\)",
        table("one_too_many.csv", "1\n0\n1\n1\n"): "4 labels for 3 images",
    }
    for path, message in refused.items():
        with pytest.raises(UserError, match=message):
            read_labels(path, 3)
    with pytest.raises(UserError, match="1 rows name no image \\(e.g. file 'd.png'\\)"):
        read_labels(table("wrong_files.csv", "file,label\na.png,1\nc.png,0\nd.png,1\n"), 3,
                    files=["a.png", "b.png", "c.png"])


def test_a_folders_labels_follow_its_file_names_and_replace_an_npz_y(tmp_path):
    from PIL import Image
    folder = tmp_path / "images"
    folder.mkdir()
    for i, shade in enumerate([0, 255, 0, 255]):
        Image.new("L", (8, 8), shade + (1 if i == 2 else 0)).save(folder / f"{'dcba'[i]}.png")
    (tmp_path / "by_label.csv").write_text("file,label\nd.png,0\nb.png,0\nc.png,1\na.png,1\n")
    assert load_dataset(str(folder), str(tmp_path / "by_label.csv")).y.tolist() == [1, 0, 1, 0]
    np.savez(tmp_path / "xy.npz", x=np.arange(4 * 64).reshape(4, 8, 8).astype(np.uint8), y=np.array([0, 1]))
    np.save(tmp_path / "y.npy", np.array([0, 1, 1, 0]))
    assert load_dataset(str(tmp_path / "xy.npz"), str(tmp_path / "y.npy")).y.tolist() == [0, 1, 1, 0]


def test_embedded_default_is_the_digits():
    data = load_dataset(None)
    assert data.x.shape == (1797, 1, 8, 8) and data.n_classes == 10
    assert data.x.min() == -1 and data.x.max() == 1


def _bad_inputs():
    """name -> (array saved as data.npy, extra CLI args, expected message part)."""
    good = np.random.default_rng(0).integers(0, 256, (20, 8, 8, 3)).astype(np.uint8)
    nan = good.astype(np.float32)
    nan[3, 2, 2, 1] = np.nan
    return {
        "missing file": (None, ["--data", "nope.npy"], "nope.npy: no such file"),
        "wrong rank": (np.zeros((20, 64)), None, "is not (N, H, W, C) images"),
        "zero images": (np.zeros((0, 8, 8, 3), np.uint8), None, "holds 0 images"),
        "one image": (good[:1], None, "need 2 <= clusters < number of images (1)"),
        "identical images": (np.zeros((20, 8, 8, 3), np.uint8), None, "all 20 images are identical"),
        "bool dtype": (good > 128, None, "dtype bool is not numeric image data"),
        "negative seed": (good, ["--seed", "-3"], "-3 must be 0 or more"),
        "nan": (nan, None, "NaN"),
        "channels": (good.reshape(20, 8, 6, 4), None, "4 channels"),
        "channels first": (good.reshape(20, 3, 8, 8), None, "channels-first"),
        "odd size": (np.resize(good, (20, 10, 10, 3)), None, "multiples of 4"),
        "too few clusters": (good, ["--n-clusters", 1], "argument --n-clusters: 1 must be 2 or more"),
        "zero clusters": (good, ["--n-clusters", 0], "0 must be 2 or more"),
        "not a number": (good, ["--jobs", "two"], "'two' is not a whole number"),
        "nmi above 1": (good, ["--min-nmi", "1.5"], "1.5 must be from 0 to 1"),
        "nmi not a number": (good, ["--min-nmi", "high"], "'high' is not a number"),
        "unknown flag": (good, ["--grd", "full"], "unrecognized arguments"),
        "clusters >= N": (good, ["--n-clusters", 20], "need 2 <= clusters"),
        "labels length": (good, ["--labels", "labels"], "3 labels for 20 images"),
        "object array": (np.array([{"a": 1}] * 3, dtype=object), None, "pickled"),
        "out of range": (good * 2.0, None, "expected 0..255"),
        "fewer than five": (good[:4], None, "known_zeros (--known-zeros) 5: more than the 4 images (0 turns"),
        "rule misspelt": (good, ["--rank-by", "silhoutte"], "not a ranking rule (did you mean 'silhouette'?)"),
        "seed past 32 bits": (good, ["--seed", 2**32], "seed (--seed) 4294967296: must be from 0 to 4294967295"),
        "0..1 overshot": (np.minimum(good / 255 + 0.001, 1.0005), None, "values span 0.001..1.0005: 0..1 with"),
        "one colour image": (good[0].repeat(2, 0).repeat(2, 1), None, "(16, 16, 3) looks like one colour image"),
        "one class": (good, ["--labels", "one_class"], "all 20 images have one label; give n_clusters"),
        "-1 as unlabelled": (good, ["--labels", "unlabelled"], "labels: 5 images labelled -1 beside 2 classes, "
                             "and every label is a class (3 here): label every image, or give "
                             "n_clusters (--n-clusters) 3 if -1 is a class"),
        "-1 as unlabelled, k given": (good, ["--labels", "unlabelled", "--n-clusters", "2"], "5 images labelled -1"),
        "size not a multiple": (good, ["--image-size", "10"], "(give --image-size a multiple of 4)"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs()))
def test_bad_input_fails_early_with_one_line(case, tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    array, args, expected = _bad_inputs()[case]
    data = tmp_path / "data.npy"
    if array is not None:
        np.save(data, array, allow_pickle=True)
    np.save(tmp_path / "labels.npy", np.array([0, 1, 0]))
    np.save(tmp_path / "one_class.npy", np.zeros(20, int))
    np.save(tmp_path / "unlabelled.npy", np.tile([-1, 0, 1, 1], 5))
    args = [str(tmp_path / f"{a}.npy") if a in ("labels", "one_class", "unlabelled") else str(a) for a in (args or [])]
    if "--data" not in args:
        args = ["--data", data, *args]
    code, out, err = run_cli(*args, "--grid", "seed")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err
    assert "Traceback" not in err + out
    results = tmp_path / "results"
    assert not results.exists() or run_dirs(results) == []


def _save(folder, name, mode, size, colour):
    Image.new(mode, size, colour).save(folder / name)


def test_a_folder_of_mixed_sizes_and_modes_becomes_one_colour_size(tmp_path):
    from bench.data import MAX_AUTO_SIZE
    for i, (mode, size, colour) in enumerate([("RGB", (10, 12), (200, 10, 10)), ("L", (20, 16), 90),
                                              ("RGB", (30, 30), (0, 0, 250)), ("RGB", (9, 14), (5, 5, 5))]):
        _save(tmp_path, f"{i}.png", mode, size, colour)
    data = load_dataset(str(tmp_path))
    # the median shorter side of 10, 16, 30, 9 (13), down to a multiple of 4, which every encoder takes
    assert data.x.shape == (4, 3, 12, 12)
    assert data.resized == {"size": 12, "images": 4, "sizes": 4, "chosen": "median shorter side"}
    grey = data.x[1]
    assert np.allclose(grey[0], grey[1]) and np.allclose(grey, 90 / 255 * 2 - 1, atol=1e-6)
    assert np.allclose(data.x[0, 0], 200 / 255 * 2 - 1, atol=1e-6)  # a flat image stays its colour
    assert load_dataset(str(tmp_path), image_size=8).x.shape == (4, 3, 8, 8)
    big = tmp_path / "big"
    big.mkdir()
    for i, size in enumerate([(100, 120), (300, 200)]):
        _save(big, f"{i}.jpg", "RGB", size, (i * 100, 50, 50))
    assert load_dataset(str(big)).x.shape == (2, 3, MAX_AUTO_SIZE, MAX_AUTO_SIZE)


def test_a_folder_of_16_bit_grey_is_scaled_not_clipped_and_hidden_files_are_passed_over(tmp_path):
    values = np.array([0, 20000, 40000, 65535])
    for i, value in enumerate(values):
        Image.fromarray(np.full((8, 8), value, np.uint16)).save(tmp_path / f"{i}.png")  # 16-bit PNG
    (tmp_path / "._0.png").write_bytes(b"\x00\x05\x16\x07 a Mac's resource fork")
    data = load_dataset(str(tmp_path))
    assert data.files == ["0.png", "1.png", "2.png", "3.png"]
    assert np.allclose(data.x[:, 0, 0, 0], np.round(values / 257) / 255 * 2 - 1)


def test_a_folder_of_float_tiffs_is_grey_in_0_to_1_or_0_to_255_as_a_whole(tmp_path):
    shades = np.array([0.0, 0.003, 0.6, 1.0])  # the second image, in 0..255, darker than 1
    for scale in (1.0, 255.0):
        folder = tmp_path / f"by{scale:g}"
        folder.mkdir()
        for i, value in enumerate(shades):
            Image.fromarray(np.full((8, 8), value * scale, np.float32), "F").save(folder / f"{i}.tif")
        data = load_dataset(str(folder))
        assert data.x.shape == (4, 1, 8, 8)  # grey, not three channels
        assert np.allclose(data.x[:, 0, 0, 0], np.round(shades * 255) / 255 * 2 - 1)
    Image.fromarray(np.full((8, 8), 1.0005, np.float32), "F").save(tmp_path / "by1" / "9.tif")
    with pytest.raises(UserError, match=r"by1: its floating-point images span 0..1.0005; expected 0..1 or 0..255$"):
        load_dataset(str(tmp_path / "by1"))


def test_an_image_too_large_to_decode_safely_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # PIL refuses over twice this
    _save(tmp_path, "a.png", "L", (8, 8), 0)
    _save(tmp_path, "b.png", "L", (20, 20), 255)
    with pytest.raises(UserError, match=r"b.png: too large to read safely \(over 200 pixels\); shrink it first$"):
        load_dataset(str(tmp_path))


def test_images_of_several_shapes_in_a_list_and_a_folder_of_subfolders_are_one_line_each(tmp_path):
    with pytest.raises(UserError, match=r"^images: a list of arrays of different shapes; give one"):
        load_dataset([np.zeros((8, 8)), np.zeros((9, 9))])
    for name in ("dog", "cat"):
        (tmp_path / name).mkdir()
    with pytest.raises(UserError, match=r"folder holds no image files \(.*\); bench reads no subfolders \(cat, dog\)$"):
        load_dataset(str(tmp_path))


def test_resizing_keeps_the_centre_and_the_dtype():
    from bench.data import resize_array
    wide = np.zeros((1, 10, 30), np.uint8)
    wide[:, :, 15:] = 255  # left half black, right half white: the centre crop keeps both
    out = resize_array(wide, 10)
    assert out.shape == (1, 10, 10) and out.dtype == np.uint8
    assert (out[0, :, :4] == 0).all() and (out[0, :, 6:] == 255).all()
    floats = np.random.default_rng(0).uniform(0, 1, (3, 12, 12, 3)).astype(np.float32)
    small = resize_array(floats, 6)
    assert small.shape == (3, 6, 6, 3) and small.dtype == np.float32 and 0 <= small.min() and small.max() <= 1
    data = load_dataset(np.round(floats * 255).astype(np.uint8), image_size=6)
    assert data.x.shape == (3, 3, 6, 6) and data.source == "array (3, 12, 12, 3)"
    assert data.resized["images"] == 3 and data.resized["chosen"] == "given"


def test_large_images_of_one_size_run_as_they_are_with_a_hint(tmp_path, run_cli):
    (tmp_path / "g.toml").write_text('encoders = ["pixels"]\nreducers = ["pca32"]\nclusterers = ["kmeans"]\n')
    rng = np.random.default_rng(0)
    for side, hinted in ((132, True), (128, False)):
        np.save(tmp_path / "x.npy", rng.integers(0, 256, (6, side, side)).astype(np.uint8))
        code, out, err = run_cli("--data", tmp_path / "x.npy", "--grid", tmp_path / "g.toml")
        assert code == 0, err
        out = " ".join(out.split())
        assert f"6 images {side}x{side}x1" in out
        assert ("--image-size 64 (image_size=64) trains faster" in out) == hinted
