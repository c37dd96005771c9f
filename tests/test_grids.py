import pytest

from bench.errors import UserError
from bench.grids import NAMED_GRIDS, Spec, drop_pretrained, resolve_grid
from clusterers import CLUSTERERS
from models import MODELS
from reducers import REDUCERS


def test_seed_grid_is_the_tutorial():
    combos = resolve_grid("seed").combos()
    assert [c.label for c in combos] == ["baseline | pca32 | kmeans"]


def test_combos_are_the_cartesian_product():
    grid = resolve_grid("quick")
    combos = grid.combos()
    assert len(combos) == len(grid.encoders) * len(grid.reducers) * len(grid.clusterers)
    assert len({c.label for c in combos}) == len(combos)


def test_full_grid_takes_every_registered_entry():
    grid = resolve_grid("full")
    assert [s.name for s in grid.encoders] == [n for n in MODELS.names()
                                               if not MODELS.get(n).missing
                                               and n not in ("effnet", "effnet2", "simclr-scan",
                                                             "denoise", "vae", "dense")]
    assert [s.name for s in grid.reducers] == [n for n in REDUCERS.names() if n != "identity"]
    assert [s.name for s in grid.clusterers] == [n for n in CLUSTERERS.names() if n != "scan"]
    assert "scan" in CLUSTERERS.names()  # still registered: a grid that names it runs it
    assert {"denoise", "vae", "dense"} <= set(MODELS.names())


def test_no_pretrained_grid_and_flag_leave_out_pretrained_encoders():
    assert "effnet" not in [s.name for s in resolve_grid("no-pretrained").encoders]
    grid = resolve_grid("full")
    drop_pretrained(grid)
    assert all(not MODELS.get(s.name).pretrained for s in grid.encoders) and grid.encoders


def test_full_grid_skips_entries_whose_extra_is_missing(monkeypatch):
    from bench.registry import Entry
    monkeypatch.setitem(MODELS._entries, "ghost", Entry("ghost", lambda in_channels=3: None,
                                                        requires="no_such_module_xyz", extra="ghost"))
    grid = resolve_grid("full")
    assert "ghost" not in [s.name for s in grid.encoders]
    assert grid.skipped == ["ghost (needs no_such_module_xyz: pip install -e '.[ghost]')"]
    with pytest.raises(UserError, match="pip install -e '.\\[ghost\\]'"):
        MODELS.create("ghost")


def test_toml_grid_with_parameters(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('encoders = ["pixels", {name = "baseline", epochs = 3}]\n'
                    'reducers = [{name = "pca32", n_components = 8, label = "pca8"}]\n'
                    'clusterers = ["kmeans"]\n')
    grid = resolve_grid(str(path))
    assert grid.name == "mine"
    assert [c.label for c in grid.combos()] == ["pixels | pca8 | kmeans",
                                                "baseline(epochs=3) | pca8 | kmeans"]
    assert grid.encoders[1].kwargs == {"epochs": 3}


@pytest.mark.parametrize("text, message", [
    ("encoders = [", "not valid TOML"),
    ('encoders = ["baseline"]\nreducers = ["pca32"]\nclusterers = ["kmeans"]\nextra = 1', "unknown key 'extra'"),
    ('encoders = ["baselin"]\nreducers = ["pca32"]\nclusterers = ["kmeans"]', "did you mean 'baseline'"),
    ('encoders = ["baseline"]\nreducers = []\nclusterers = ["kmeans"]', "'reducers' must be a non-empty list"),
    ('encoders = ["baseline"]\nreducers = [{name = "pca32", size = 3}]\nclusterers = ["kmeans"]',
     "takes no parameter 'size'"),
    ('encoders = ["baseline", "baseline"]\nreducers = ["pca32"]\nclusterers = ["kmeans"]', "twice"),
    ('encoders = ["baseline"]\nreducers = ["pca32"]\nclusterers = [{name = "kmeans", n_clusters = 5}]',
     "'n_clusters' of clusterer 'kmeans' is the run's, the same for every entry; set --n-clusters"),
    ('encoders = ["baseline"]\nreducers = [{name = "pca32", seed = 4}]\nclusterers = ["kmeans"]',
     "'seed' of reducer 'pca32' is the run's, the same for every entry; set --seed"),
    ('encoders = [{name = "baseline", in_channels = 1}]\nreducers = ["pca32"]\nclusterers = ["kmeans"]',
     "'in_channels' of model 'baseline' is the run's, read from the images"),
])
def test_bad_toml_grids(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        resolve_grid(str(path))


def test_unknown_grid_name():
    with pytest.raises(UserError, match="did you mean 'quick'"):
        resolve_grid("qiuck")


def test_spec_labels_show_overrides():
    assert Spec("pca32").label == "pca32"
    assert Spec("pca32").with_params(whiten=True).label == "pca32(whiten=True)"
    named = Spec("baseline", (("loss", "mse"),), "mse-ae").with_params(epochs=2)  # as --epochs does
    assert named.label == "mse-ae" and named.kwargs == {"loss": "mse", "epochs": 2}
    assert set(NAMED_GRIDS) >= {"seed", "quick", "full"}


def test_epochs_flag_means_that_many_epochs_even_for_a_min_steps_entry():
    from bench.grids import Grid, override_training
    grid = Grid("g", [Spec("simclr"), Spec("baseline"), Spec("pixels")], [Spec("pca32")], [Spec("kmeans")])
    override_training(grid, plateau=0.1)  # --plateau alone leaves simclr's floor of batches
    assert [s.kwargs for s in grid.encoders] == [{"plateau": 0.1}, {"plateau": 0.1}, {}]
    override_training(grid, epochs=2)
    assert [s.kwargs for s in grid.encoders] == [{"plateau": 0.1, "epochs": 2, "min_steps": 0},
                                                 {"plateau": 0.1, "epochs": 2}, {}]
