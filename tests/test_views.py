"""The encoder scores' views (bench.views): no score the default rule ranks encoders by may use a
transformation that an encoder entry trains with, and each transformation does what it says."""

import numpy as np
import pytest
import torch

from bench import representation, views
from bench.defaults import DEFAULT_RANK, ENCODER_SCORES, split_rule
from models import MODELS


def test_every_encoder_entry_declares_what_it_trains_with():
    assert set(MODELS.names()) == set(views.TRAINED_WITH)


def test_every_encoder_score_is_a_ranking_choice():
    assert list(ENCODER_SCORES) == list(representation.SCORES)


def test_the_default_rules_encoder_score_uses_no_transformation_an_entry_trains_with():
    encoder_columns, _ = split_rule(DEFAULT_RANK)
    scores = [c.removeprefix("enc_") for c in encoder_columns if c.removeprefix("enc_") in views.SCORE_VIEWS]
    assert scores  # the default measures representations, beside any declared property
    for score in scores:
        assert views.biased(score) == {}, f"{score} rewards {views.biased(score)} by construction"


def test_the_bias_check_catches_simclrs_own_augmentations():
    # the score that ranked encoders before: SimCLR is trained to retrieve exactly these views
    assert views.biased("augmentation")["simclr"] == {"crop", "flip", "colour", "grey"}


def images(n=64, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    smooth = rng.normal(size=(n, channels, 8, 8)).repeat(4, axis=2).repeat(4, axis=3)
    return np.clip(smooth / 2, -1, 1).astype(np.float32)


@pytest.mark.parametrize("name", sorted(views.LIGHTING))
def test_each_lighting_change_is_seeded_bounded_and_leaves_the_global_rng_alone(name):
    x = torch.from_numpy(images())
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = views.LIGHTING[name](x, torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), before)
    b = views.LIGHTING[name](x, torch.Generator().manual_seed(7))
    c = views.LIGHTING[name](x, torch.Generator().manual_seed(8))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.allclose(a, x, atol=1e-3)
    assert a.min() >= -1 and a.max() <= 1


def test_shade_is_a_ramp_and_gamma_keeps_black_and_white():
    flat = torch.zeros(4, 1, 16, 16)
    shaded = views.shade(flat, torch.Generator().manual_seed(0))[:, 0]
    spread = shaded.amax(dim=(1, 2)) - shaded.amin(dim=(1, 2))
    assert ((spread > 0.4) & (spread <= 1.2 + 1e-6)).all()  # up to 0.3-0.6 either side of the centre
    assert torch.allclose(shaded.mean(dim=(1, 2)), torch.zeros(4), atol=1e-5)  # as much lighter as darker
    ends = torch.tensor([-1.0, 1.0]).reshape(1, 1, 1, 2).repeat(5, 1, 1, 1)
    assert torch.equal(views.gamma(ends, torch.Generator().manual_seed(0)), ends)


def test_halves_share_no_pixel_and_are_seeded():
    x = images(32)
    first, second = views.halves(x, seed=3)
    assert first.shape == second.shape == x.shape and first.dtype == np.float32
    again = views.halves(x, seed=3)
    assert np.array_equal(first, again[0]) and np.array_equal(second, again[1])
    assert not np.array_equal(first, views.halves(x, seed=4)[0])
    # without lighting each half is one side of the image, stretched: on a dark-to-light ramp
    # from left to right, a left/right cut gives a dark and a light half, a top/bottom cut two
    # copies of the whole ramp
    ramp = torch.linspace(-1, 1, 32).expand(8, 1, 32, 32).contiguous()
    a, b = views.split(ramp, torch.Generator().manual_seed(0))
    across = torch.tensor([bool(a[i].max() < 0 and b[i].min() > 0) for i in range(8)])
    assert across.any() and (~across).any()
    assert torch.allclose(a[~across], ramp[~across], atol=1e-6) and torch.allclose(b[~across], ramp[~across], atol=1e-6)
