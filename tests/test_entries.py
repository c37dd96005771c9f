"""Every registry entry builds, runs on a tiny input and returns the right shape."""

import numpy as np
import pytest
import torch

from clusterers import CLUSTERERS
from models import MODELS, create_encoder, planned_epochs
from models.base import Encoder
from models.train import fit_encoder, train
from reducers import REDUCERS

TRAINABLE = [n for n in MODELS.names() if planned_epochs(n, {})]


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("channels, size", [(3, (32, 32)), (1, (8, 8))])
def test_every_encoder_runs(name, channels, size):
    if MODELS.get(name).missing:
        pytest.skip(MODELS.get(name).missing)
    torch.manual_seed(0)
    # one epoch of each phase (an encoder trained in phases has several)
    phases = {p: 1 for p in ("epochs", "scan_epochs", "self_label_epochs") if MODELS.get(name).accepts(p)}
    params = (phases | ({"min_steps": 0} if MODELS.get(name).accepts("min_steps") else {})) if name in TRAINABLE else {}
    model = create_encoder(name, in_channels=channels, image_size=size, **params)
    images = np.random.default_rng(0).uniform(-1, 1, (40, channels, *size)).astype(np.float32)
    latent, history = fit_encoder(model, images, seed=0, device=torch.device("cpu"))
    assert latent.shape[0] == 40 and latent.ndim == 2 and np.isfinite(latent).all()
    assert len(history) == planned_epochs(name, params, 40) == (len(phases) if name in TRAINABLE else 0)
    assert isinstance(model, Encoder)
    if model.reconstructs:
        assert model.decode(model.encode(torch.from_numpy(images[:2]))).shape == (2, channels, *size)


REDUCED_DIMS = {"pca32": 32, "pca50w": 50, "svd50": 50, "kpca32": 32, "tsne2": 2, "tsne3": 3,
                "umap2": 2, "umap10": 10, "identity": 64}


@pytest.mark.parametrize("name", REDUCERS.names())
def test_every_reducer_runs(name):
    z = np.random.default_rng(0).normal(size=(150, 64)).astype(np.float32)
    embedding = REDUCERS.create(name, seed=0).fit_transform(z)
    assert embedding.shape[0] == 150 and np.isfinite(embedding).all()
    assert embedding.shape[1] == REDUCED_DIMS[name]


@pytest.mark.parametrize("rows, features", [(20, 64), (150, 16)])
@pytest.mark.parametrize("name", REDUCERS.names())
def test_every_reducer_keeps_what_few_images_or_a_narrow_latent_allow(name, rows, features):
    z = np.random.default_rng(0).normal(size=(rows, features)).astype(np.float32)
    quick = {"n_iter": 10} if name.startswith("tsne") else {}  # t-SNE's FFT costs seconds at any size
    reducer = REDUCERS.create(name, seed=0, **quick)
    asked = {k: v for k, v in reducer.get_params().items() if k.endswith("n_components")}
    embedding = reducer.fit_transform(z)
    # PCA and SVD keep one fewer than the rows; a kernel's are bounded by the rows alone;
    # identity reduces nothing
    dims = {"identity": features, "kpca32": min(32, rows)}.get(name, min(REDUCED_DIMS[name], rows - 1, features))
    assert embedding.shape == (rows, dims) and np.isfinite(embedding).all()
    assert {k: reducer.get_params()[k] for k in asked} == asked  # only the fit kept fewer


@pytest.mark.parametrize("name", CLUSTERERS.names())
def test_every_clusterer_finds_separated_groups(name):
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 80)
    x = np.array([[0, 0], [20, 0], [0, 20]])[truth] + rng.normal(size=(240, 2))
    labels = CLUSTERERS.create(name, n_clusters=3, seed=0).fit_predict(x)
    assert labels.shape == (240,)
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(truth, labels) > 0.95


def test_hdbscan_assigns_or_keeps_noise(monkeypatch):
    import hdbscan

    class Fixed:  # hdbscan's own answer, fixed: two groups and two noise points
        def __init__(self, **kwargs):
            pass

        def fit_predict(self, x):
            return np.array([0, 0, 1, 1, -1, -1])

    monkeypatch.setattr(hdbscan, "HDBSCAN", Fixed)
    x = np.array([[0, 0], [0, 1], [10, 10], [10, 11], [1, 1], [9, 9]])
    assert CLUSTERERS.create("hdbscan").fit_predict(x).tolist() == [0, 0, 1, 1, 0, 1]
    assert CLUSTERERS.create("hdbscan", noise="keep").fit_predict(x).tolist() == [0, 0, 1, 1, -1, -1]


def test_kernel_pca_fits_on_a_subsample_and_extends_to_all():
    z = np.random.default_rng(0).normal(size=(500, 60))
    reducer = REDUCERS.create("kpca32", max_fit=100, seed=0)
    assert reducer.fit_transform(z).shape == (500, 32)
    assert reducer[-1].estimator_.eigenvectors_.shape[0] == 100


def test_vae_latent_is_the_mean_and_its_loss_adds_kl():
    torch.manual_seed(0)
    vae = create_encoder("vae", in_channels=3, image_size=(16, 16), latent_dim=8)
    x = torch.rand(10, 3, 16, 16) * 2 - 1
    vae.eval()
    first = vae.encode(x)
    assert torch.equal(first, vae.encode(x))  # mu, not a sample: deterministic
    assert first.shape == (10, 8)
    torch.manual_seed(1)
    with_kl = vae.training_loss(x)
    vae.beta = 0.0
    torch.manual_seed(1)
    without_kl = vae.training_loss(x)
    assert with_kl > without_kl  # the KL term is positive


def test_denoising_trains_on_noisy_inputs_against_clean_targets():
    torch.manual_seed(0)
    model = create_encoder("denoise", in_channels=1, image_size=(8, 8))
    x = torch.zeros(6, 1, 8, 8)
    seen = []
    model.encoder.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].clone()))
    model.training_loss(x)
    assert seen[0].abs().mean() > 0.05  # the network saw noise
    model.noise = 0.0
    seen.clear()
    loss = model.training_loss(x)
    reconstruction = model.decode(model.encode(x))
    assert seen[0].abs().max() == 0 and torch.isclose(loss, ((reconstruction - x) ** 2).mean())


def test_simclr_loss_falls_when_training_on_real_structure():
    from models.simclr import nt_xent
    a = torch.eye(8) * 5
    assert nt_xent(a, a, 0.5) < nt_xent(a, torch.roll(a, 1, 0), 0.5)
    torch.manual_seed(0)
    model = create_encoder("simclr", in_channels=3, epochs=12, batch_size=32, min_steps=48)  # 24 epochs
    # structure to learn: 4 patterns, 16 noisy copies of each (on pure noise the loss wanders)
    g = torch.Generator().manual_seed(0)
    patterns = torch.rand(4, 3, 16, 16, generator=g) * 2 - 1
    x = (patterns.repeat(16, 1, 1, 1) + 0.1 * torch.randn(64, 3, 16, 16, generator=g)).clamp(-1, 1)
    history = train(model, x, seed=0)
    assert sum(history[-3:]) < sum(history[:3]) - 0.3  # 3 x (4.14 -> 3.47) here


@pytest.mark.parametrize("name, blocks", [("effnet", 16), ("effnet2", 21)])
def test_pretrained_entries_load_offline(monkeypatch, name, blocks):
    if MODELS.get(name).missing:
        pytest.skip("the 'pretrained' extra is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import socket
    monkeypatch.setattr(socket, "socket", lambda *a, **k: (_ for _ in ()).throw(OSError("no network")))
    model = create_encoder(name, in_channels=3, resolution=64)
    features = model.encode(torch.zeros(2, 3, 32, 32))
    assert features.shape == (2, 1280) and model.epochs == 0
    assert len(model.net._blocks) == blocks  # the variant asked for, not the other one
    assert MODELS.get(name).pretrained


def test_pretrained_encoder_folds_its_batch_norms_without_changing_the_features(monkeypatch):
    if MODELS.get("effnet").missing:
        pytest.skip("the 'pretrained' extra is not installed")
    import models.pretrained
    folded = create_encoder("effnet", in_channels=3, resolution=64)
    monkeypatch.setattr(models.pretrained, "_fold_batch_norms", lambda net: None)
    plain = create_encoder("effnet", in_channels=3, resolution=64).eval()
    batch_norms = [m for m in plain.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(batch_norms) == 49 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = plain.encode(x), folded.encode(x)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_flip_averaged_features_are_the_same_for_an_image_and_its_mirror():
    if MODELS.get("effnet").missing:
        pytest.skip("the 'pretrained' extra is not installed")
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    features = {}
    for flip in (False, True):
        model = create_encoder("effnet", in_channels=3, resolution=64, flip=flip).eval()
        with torch.no_grad():
            features[flip] = model.encode(x), model.encode(x.flip(3))
    plain, mirrored = features[False]
    assert not torch.allclose(plain, mirrored, atol=1e-3)  # the network alone is not invariant
    assert torch.allclose(*features[True], atol=1e-4)
    assert torch.allclose(features[True][0], (plain + mirrored) / 2, atol=1e-4)  # the average of both


def test_effnets_puts_both_networks_features_side_by_side_at_unit_length():
    if MODELS.get("effnets").missing:
        pytest.skip("the 'pretrained' extra is not installed")
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        both = create_encoder("effnets", in_channels=3, resolution=64).eval().encode(x)
        alone = [create_encoder(name, in_channels=3, resolution=64).eval().encode(x) for name in ("effnet", "effnet2")]
    assert both.shape == (3, 2560)
    for half, features in zip(both.split(1280, dim=1), alone):
        assert torch.allclose(half.norm(dim=1), torch.ones(3), atol=1e-5)
        assert torch.allclose(half, features / features.norm(dim=1, keepdim=True), atol=1e-5)


@pytest.mark.parametrize("name, channels", [("effnet", 3), ("effnets", 1)])
def test_onnx_runtime_gives_pytorchs_features_and_exports_each_network_once(monkeypatch, tmp_path, name, channels):
    from models import runtime
    from models.train import encode
    if MODELS.get(name).missing or not runtime.available():
        pytest.skip("the 'pretrained' extra is not installed")
    monkeypatch.setattr(runtime, "folder", tmp_path)
    monkeypatch.setattr(runtime, "_sessions", {})
    x = torch.rand(5, channels, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    model = create_encoder(name, in_channels=channels, resolution=64)
    fast = encode(model, x)
    with torch.no_grad():
        expected = model.eval().encode(x).numpy()
    assert fast.shape == expected.shape and np.abs(fast - expected).max() <= 1e-5 * np.abs(expected).max()
    [exported] = tmp_path.glob("*.onnx")
    monkeypatch.setattr(runtime, "_sessions", {})  # a new worker: it loads the file, exports nothing
    monkeypatch.setattr(runtime, "_export", lambda *a: pytest.fail("exported again"))
    assert np.array_equal(encode(create_encoder(name, in_channels=channels, resolution=64), x), fast)
    assert not model.training  # the export left the network in eval mode


def test_without_onnx_runtime_pytorch_computes_with_one_warning(monkeypatch):
    from models import runtime
    from models.train import encode
    if MODELS.get("effnet").missing:
        pytest.skip("the 'pretrained' extra is not installed")
    monkeypatch.setattr(runtime, "available", lambda: False)
    model = create_encoder("effnet", in_channels=3, resolution=32)
    x = torch.zeros(2, 3, 32, 32)
    with pytest.warns(RuntimeWarning, match="onnxruntime is not installed: the pretrained encoders run on PyTorch"):
        assert encode(model, x).shape == (2, 1280)
    assert runtime.encode(create_encoder("conv", in_channels=3), x) is None  # trained ones: torch


@pytest.mark.parametrize("name, estimator, params", [
    ("ward", "sklearn.cluster.AgglomerativeClustering", {}),
    ("spectral", "sklearn.cluster.SpectralClustering", {}), ("birch", "sklearn.cluster.Birch", {}),
    ("hdbscan", "hdbscan.HDBSCAN", {"min_cluster_size": 20})])
def test_superlinear_clusterers_fit_a_bounded_sample_and_extend_to_every_point(monkeypatch, name, estimator,
                                                                               params):
    import importlib

    from sklearn.metrics import adjusted_rand_score
    module, cls = estimator.rsplit(".", 1)
    estimator = getattr(importlib.import_module(module), cls)
    fitted = []
    real = estimator.fit_predict
    monkeypatch.setattr(estimator, "fit_predict", lambda self, x, y=None: fitted.append(len(x)) or real(self, x))
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 200)
    x = np.array([[0, 0], [20, 0], [0, 20]])[truth] + rng.normal(size=(600, 2))
    sampled = CLUSTERERS.create(name, n_clusters=3, max_fit=150, seed=0, **params).fit_predict(x)
    assert fitted == [150] and adjusted_rand_score(truth, sampled) == 1.0  # every point joined its group
    whole = CLUSTERERS.create(name, n_clusters=3, seed=0, **params).fit_predict(x)
    assert fitted == [150, 600] and adjusted_rand_score(truth, whole) == 1.0  # under the bound: all points
