"""`simclr-scan`: SCAN end to end (models/scan.py): the clustering phase keeps an image and its
neighbours together, self-labelling learns from the sure images only, training is seeded and
draws nothing from torch's global RNG, and a run builds it for the run's cluster count."""

import numpy as np
import pytest
import torch

from models import create_encoder, planned_epochs
from models.scan import self_label_loss
from models.train import encode, train

TINY = dict(width=8, epochs=4, min_steps=0, batch_size=32, scan_epochs=6, self_label_epochs=3)


def stripes(n: int = 64, seed: int = 0) -> torch.Tensor:
    """2n noisy 16x16 images: horizontal stripes first, then vertical ones."""
    g = torch.Generator().manual_seed(seed)
    h, v = torch.zeros(n, 3, 16, 16), torch.zeros(n, 3, 16, 16)
    h[:, :, ::4, :], v[:, :, :, ::4] = 1, 1
    return (torch.cat([h, v]) * 2 - 1 + 0.3 * torch.randn(2 * n, 3, 16, 16, generator=g)).clamp(-1, 1)


def trained(seed: int = 0, **params):
    torch.manual_seed(seed)  # the weights' initialisation, as the encode stage seeds it
    model = create_encoder("simclr-scan", in_channels=3, n_clusters=2, **{**TINY, **params})
    history = train(model, stripes(), seed=seed)
    return model, history, encode(model, stripes())


def test_clustering_keeps_an_image_with_its_neighbours_on_separable_images():
    model, history, latent = trained()
    assert len(history) == planned_epochs("simclr-scan", TINY, 128) == 13
    assert latent.shape == (128, 128 + 2)  # the backbone's features, then the 2 probabilities
    labels = latent[:, -2:].argmax(axis=1)
    assert np.bincount(labels, minlength=2).min() > 40  # both clusters in use
    assert (labels[model.neighbour_rows.numpy()] == labels[:, None]).mean() > 0.95
    assert max((labels == np.repeat([0, 1], 64)).mean(), (labels == np.repeat([1, 0], 64)).mean()) > 0.95


def test_self_labelling_learns_from_the_sure_images_only():
    g = torch.Generator().manual_seed(0)
    weak = torch.randn(32, 3, generator=g) * 3
    sure = weak.softmax(dim=1).max(dim=1).values >= 0.9
    assert 0 < sure.sum() < 32
    strong = torch.randn(32, 3, generator=g, requires_grad=True)
    loss = self_label_loss(weak, strong, 0.9)
    loss.backward()
    assert (strong.grad[~sure] == 0).all() and (strong.grad[sure] != 0).any()
    moved = strong.detach().clone()
    moved[~sure] += 10  # the unsure images' views change nothing
    assert self_label_loss(weak, moved, 0.9) == pytest.approx(loss.item())
    none = torch.zeros(4, 3, requires_grad=True)
    assert self_label_loss(torch.zeros(4, 3), none, 0.9) == 0  # nobody sure: no loss, still a graph
    self_label_loss(torch.zeros(4, 3), none, 0.9).backward()


def test_seeded_and_never_from_the_global_rng():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    model = create_encoder("simclr-scan", in_channels=3, n_clusters=2, **TINY)
    after_init = torch.get_rng_state()
    train(model, stripes(), seed=0)
    assert torch.equal(torch.get_rng_state(), after_init)  # training drew nothing from it
    assert not torch.equal(before, after_init)  # (the weights' initialisation did, seeded by the stage)
    _, _, first = trained(seed=0, epochs=1, scan_epochs=1, self_label_epochs=1)
    _, _, again = trained(seed=0, epochs=1, scan_epochs=1, self_label_epochs=1)
    _, _, other = trained(seed=1, epochs=1, scan_epochs=1, self_label_epochs=1)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_a_run_builds_it_for_its_cluster_count(tmp_path):
    import bench
    from sklearn.datasets import load_digits
    digits = load_digits()
    keep = np.isin(digits.target, [0, 1, 7])
    images = np.round(digits.images[keep] * (255 / 16)).astype(np.uint8)
    grid = bench.make_grid([("simclr-scan", {**TINY, "epochs": 1, "scan_epochs": 1, "self_label_epochs": 1})],
                           ["pca32"], ["kmeans"])
    result = bench.run_grid(images, 3, grid=grid, out=tmp_path, jobs=1, progress=False)
    [row] = result.leaderboard.to_dict("records")
    assert row["status"] == "ok" and row["clusters"] == 3
    assert np.isfinite(row["enc_halves"])  # rebuilt from the cache with its 3-cluster head
    from bench.cache import Cache
    from bench.executor import stage_keys
    from bench.data import load_dataset
    data = load_dataset(images)
    keys = [stage_keys(grid, data, n_clusters=k, seed=0)[0] for k in (2, 3)]
    assert list(keys[0].values()) != list(keys[1].values())  # another cluster count, another training
    assert Cache(tmp_path / "cache").has("encode", list(keys[1].values())[0])
