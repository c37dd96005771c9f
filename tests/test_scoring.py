import numpy as np
import pytest

from bench import scoring


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 100)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    return centres[truth] + rng.normal(size=(300, 2)), truth


def test_silhouette_separated_vs_random(blobs):
    x, truth = blobs
    good = scoring.silhouette(x, truth)
    shuffled = scoring.silhouette(x, np.random.default_rng(1).permutation(truth))
    assert good > 0.8 and abs(shuffled) < 0.05


def test_silhouette_is_nan_for_one_cluster_and_noise_never_inflates(blobs):
    x, truth = blobs
    assert np.isnan(scoring.silhouette(x, np.zeros(300, int)))
    # keeping only two tight groups and calling the rest noise must not beat clustering all
    noisy = np.full(300, -1)
    noisy[:20], noisy[100:120] = 0, 1
    kept = noisy >= 0
    assert scoring.silhouette(x, noisy) == pytest.approx(
        scoring.silhouette(x[kept], noisy[kept]) * kept.mean())
    assert scoring.silhouette(x, noisy) < scoring.silhouette(x, truth)


def test_silhouette_sample_is_bounded_and_seeded(blobs):
    x, truth = blobs
    a = scoring.silhouette(x, truth, sample=50, seed=3)
    assert a == scoring.silhouette(x, truth, sample=50, seed=3)
    assert a != scoring.silhouette(x, truth, sample=50, seed=4)


def test_agreement_perfect_random_and_single():
    truth = np.repeat([0, 1], 100)
    relabelled = 1 - truth
    random = np.random.default_rng(0).integers(0, 2, 200)
    values = scoring.agreement([truth, relabelled, random])
    assert values[0] == pytest.approx(values[1]) and values[0] > 0.49
    assert values[2] < 0.05
    assert np.isnan(scoring.agreement([truth])).all()


def test_combined_ignores_missing_parts():
    assert scoring.combined([0.0], [0.5]).tolist() == [0.5]
    assert scoring.combined([1.0], [np.nan]).tolist() == [1.0]
    assert np.isnan(scoring.combined([np.nan], [np.nan])).all()


def test_external_metrics_ignore_label_names():
    truth = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    swapped = np.array([2, 2, 2, 0, 0, 0, 1, 1, 1])
    assert scoring.external(truth, swapped) == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0})
    one_wrong = np.array([2, 2, 0, 0, 0, 0, 1, 1, 1])
    assert scoring.accuracy(truth, one_wrong) == pytest.approx(8 / 9)


def test_accuracy_with_more_clusters_than_classes():
    assert scoring.accuracy(np.array([0, 0, 1, 1]), np.array([0, 1, 2, 2])) == pytest.approx(0.75)
