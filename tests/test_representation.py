"""Label-free scores of representations (bench.representation) and cross-space validation of
partitions (bench.crossspace), on constructed cases where the answer is known."""

import numpy as np
import pytest

from bench import crossspace, representation


def stripes(n: int, seed: int = 0):
    """Grey 8x8 images: horizontal or vertical stripes (what they show) at a brightness drawn
    uniformly (how they are lit): (images, shape labels, brightness)."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, 2, n)
    brightness = rng.uniform(-0.5, 0.5, n)
    pattern = np.tile(np.r_[0.4, -0.4, 0.4, -0.4, 0.4, -0.4, 0.4, -0.4], (8, 1))
    images = np.where(shape[:, None, None], pattern, pattern.T) + brightness[:, None, None]
    images = images + rng.normal(0, 0.05, images.shape)
    return np.clip(images, -1, 1)[:, None].astype(np.float32), shape, brightness


def shape_features(images):
    """What a semantic encoder keeps: row vs column variation, blind to brightness."""
    x = images[:, 0]
    return np.c_[x.std(axis=2).mean(axis=1), x.std(axis=1).mean(axis=1)]


def test_cross_space_prefers_the_semantic_split_to_a_brightness_split():
    images, shape, brightness = stripes(600)
    pixels = images.reshape(len(images), -1)
    spaces = [shape_features(images), pixels, brightness[:, None]]
    semantic, lit, random = shape, (brightness > 0).astype(int), np.random.default_rng(1).integers(0, 2, 600)
    scores, p_values = crossspace.cross_space(spaces, [semantic, lit, random, np.zeros(600, int)], sample=400)
    assert p_values[0] < crossspace.ALPHA  # the shape features hold two groups
    assert p_values[2] >= crossspace.ALPHA  # brightness alone is one smear: the space is left out
    assert scores[0] == scores.max() and scores[0] > scores[1] and scores[0] > scores[2]
    assert scores[3] == 0  # one cluster: no silhouette, last in every space


def test_cross_space_is_nan_when_no_space_has_groups():
    rng = np.random.default_rng(0)
    scores, p_values = crossspace.cross_space([rng.normal(size=(300, 3))], [rng.integers(0, 2, 300)])
    assert np.isnan(scores).all() and p_values[0] >= crossspace.ALPHA


def test_the_dip_test_on_three_images_finds_no_groups_and_says_nothing():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # diptest's own warning for n <= 3 would fail here
        assert crossspace.clusterable(np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 2.0]])) == 1.0


def test_batched_silhouettes_match_sklearn():
    from sklearn.metrics import silhouette_score
    rng = np.random.default_rng(0)
    points = rng.normal(size=(150, 4)) + np.repeat(np.eye(4)[:3] * 3, 50, axis=0)
    labelings = [np.repeat([0, 1, 2], 50), rng.integers(0, 5, 150), np.zeros(150, int)]
    got = crossspace.silhouettes(points, labelings)
    assert got[:2] == pytest.approx([silhouette_score(points, l) for l in labelings[:2]], abs=1e-5)
    assert np.isnan(got[2])


def test_retrieval_rewards_an_encoder_that_ignores_the_augmentation():
    images, _, _ = stripes(300)
    view = representation.augmented(images, seed=0)
    assert view.shape == images.shape and not np.allclose(view, images)
    flat = images.reshape(300, -1)
    # brightness alone: the view's lighting was changed, so it finds another image
    lit = representation.retrieval(flat.mean(axis=1, keepdims=True), view.reshape(300, -1).mean(axis=1, keepdims=True))
    rng = np.random.default_rng(0)
    identity = rng.normal(size=(300, 16))
    kept = representation.retrieval(identity, identity + rng.normal(0, 0.05, identity.shape))
    assert kept == 1.0 and lit < 0.2
    assert representation.retrieval(identity, rng.normal(size=(300, 16))) < 0.05  # chance: 1/300


def test_partner_retrieval_finds_the_other_half_only_where_both_halves_share_a_code():
    rng = np.random.default_rng(0)
    content = rng.normal(size=(400, 8))  # what an image shows, the same on both of its halves
    first = content + rng.normal(0, 0.1, content.shape)
    second = content + rng.normal(0, 0.1, content.shape)
    assert representation.partner_retrieval(first, second) == 1.0
    unrelated = representation.partner_retrieval(first, rng.normal(size=(400, 8)))
    assert unrelated < 0.1  # chance: 10 of 400
    assert representation.partner_retrieval(first, second, k=1) <= representation.partner_retrieval(first, second, k=10)


def test_rankme_counts_the_directions_used():
    rng = np.random.default_rng(0)
    isotropic = rng.normal(size=(500, 20))
    line = np.outer(rng.normal(size=500), rng.normal(size=20))
    assert representation.rankme(isotropic) > 18 and representation.rankme(line) < 1.1


def test_knn_agreement_is_high_between_encoders_that_see_the_same_neighbours():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 5))
    scores = representation.knn_agreement([a, 3 * a + 1, rng.normal(size=(200, 5))])
    assert scores[0] == pytest.approx(scores[1]) and scores[0] > 0.45 and scores[2] < 0.1


def test_scores_of_a_run_rebuild_trained_encoders_from_the_cache(digits_npz, run_cli, tmp_path):
    """End to end: every encoder of a finished run gets its scores, the trained one rebuilt
    from its cached weights, the same on a second call (seeded)."""
    from bench.cache import Cache
    from bench.data import load_dataset
    from bench.executor import Executor
    from bench.grids import Grid, Spec
    data = load_dataset(str(digits_npz))
    grid = Grid("g", [Spec("pixels"), Spec("baseline", (("epochs", 2),))], [Spec("pca32")], [Spec("kmeans")])
    cache = Cache(tmp_path / "cache")
    outcomes = Executor(cache).run(grid, data, n_clusters=10, seed=0)
    first = representation.of_run(outcomes, data.x, cache, seed=0)
    assert set(first) == {"pixels", "baseline(epochs=2)"}
    for scores in first.values():
        assert set(scores) == set(representation.SCORES)
        assert 0 <= scores["augmentation"] <= 1 and scores["rankme"] >= 1 and 0 <= scores["knn_agreement"] <= 1
        assert 0 <= scores["halves"] <= 1
    assert representation.of_run(outcomes, data.x, cache, seed=0) == first


def test_run_level_scores_are_kept_in_the_cache_for_a_warm_rerun(digits_npz, tmp_path, monkeypatch):
    from bench import leaderboard
    from bench.cache import Cache
    from bench.data import load_dataset
    from bench.executor import Executor
    from bench.grids import Grid, Spec
    data = load_dataset(str(digits_npz))
    grid = Grid("g", [Spec("pixels"), Spec("handcrafted")], [Spec("pca32")], [Spec("kmeans"), Spec("gmm")])
    cache = Cache(tmp_path / "cache")
    outcomes = Executor(cache).run(grid, data, n_clusters=10, seed=0)
    first = leaderboard.build(outcomes, images=data.x, n_clusters=10, seed=0, cache=cache)
    assert first[["cross_space", "enc_halves", "enc_augmentation"]].notna().all().all()

    def never(*args, **kwargs):
        raise AssertionError("recomputed on a warm rerun")
    monkeypatch.setattr(representation, "of_encoders", never)
    monkeypatch.setattr(crossspace, "of_run", never)
    again = leaderboard.build(outcomes, images=data.x, n_clusters=10, seed=0, cache=cache)
    columns = ["combo", "cross_space", "encoder_silhouette", *leaderboard.ENCODER_COLUMNS]
    assert first[columns].equals(again[columns])
    with pytest.raises(AssertionError, match="recomputed"):  # another seed is another result
        leaderboard.build(outcomes, images=data.x, n_clusters=10, seed=1, cache=cache)
