"""The SCAN clustering head: its loss, its neighbours, its seeding."""

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from clusterers import CLUSTERERS
from clusterers.scan import nearest_neighbours, scan_loss


def blobs(n_per=100, k=4, dims=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10, size=(k, dims))
    truth = np.repeat(np.arange(k), n_per)
    return centres[truth] + rng.normal(size=(len(truth), dims)), truth


def test_loss_rewards_agreeing_neighbours_and_used_clusters():
    sure = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # two points, each sure of its own cluster
    agreeing_balanced = scan_loss(sure, sure, entropy_weight=1.0)
    disagreeing = scan_loss(sure, sure.flip(0), entropy_weight=1.0)
    collapsed = scan_loss(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[1.0, 0.0], [1.0, 0.0]]),
                          entropy_weight=1.0)
    assert agreeing_balanced < collapsed < disagreeing
    assert agreeing_balanced == pytest.approx(-np.log(2), abs=1e-6)  # consistency 0, entropy log 2


def test_head_separates_blobs_in_many_dimensions_and_is_seeded():
    x, truth = blobs()
    first = CLUSTERERS.create("scan", n_clusters=4, seed=3).fit_predict(x)
    assert adjusted_rand_score(truth, first) > 0.95
    state = torch.get_rng_state()
    again = CLUSTERERS.create("scan", n_clusters=4, seed=3).fit_predict(x)
    assert np.array_equal(first, again)  # same seed, same labels
    assert torch.equal(torch.get_rng_state(), state)  # drew nothing from the RNG other threads share


@pytest.mark.parametrize("n_points, passes", [(400, 50), (1100, 40), (4000, 13)])
def test_training_is_bounded_by_passes_and_by_optimizer_steps(monkeypatch, n_points, passes):
    import models.train
    steps = []

    def counted_adam(params, **kwargs):  # every optimizer step of the fit, counted
        optimizer = torch.optim.Adam(params, **kwargs)
        optimizer.register_step_post_hook(lambda *_: steps.append(1))
        return optimizer
    monkeypatch.setattr(models.train, "adam", counted_adam)
    x, _ = blobs(n_per=n_points // 4, dims=4)
    CLUSTERERS.create("scan", n_clusters=4, epochs=50, max_steps=200, seed=0).fit_predict(x)
    # batches of 256: 2, 5 or 16 a pass; 50 passes unless that exceeds ~200 steps
    assert len(steps) == passes * -(-n_points // 256)


def test_linear_head_and_label_dtype():
    x, truth = blobs(k=2)
    labels = CLUSTERERS.create("scan", n_clusters=2, hidden=0, seed=0).fit_predict(x)
    assert labels.dtype == np.int64 and adjusted_rand_score(truth, labels) > 0.95


def test_neighbours_exclude_the_point_itself_even_among_duplicates():
    x = np.repeat(np.eye(3), 4, axis=0)  # every row has 3 exact duplicates
    found = nearest_neighbours(x, 3)
    assert found.shape == (12, 3)
    assert not (found == np.arange(12)[:, None]).any()
    assert (found // 4 == np.arange(12)[:, None] // 4).all()  # its duplicates, the nearest


@pytest.mark.parametrize("dims", [2, 3, 4, 16])  # a k-d tree up to 3 dims, brute force above
def test_neighbours_are_the_exact_nearest_by_distance(dims):
    x, _ = blobs(n_per=50, dims=dims)
    found = nearest_neighbours(x, 10)
    distances = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    tenth = np.sort(distances, axis=1)[:, 9]
    assert (np.take_along_axis(distances, found, axis=1) <= tenth[:, None] + 1e-9).all()
