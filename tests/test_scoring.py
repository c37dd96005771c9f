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


def kmeans_refit(k):
    from sklearn.cluster import KMeans
    return lambda points: KMeans(k, n_init=3, random_state=1).fit_predict(points)


def test_stability_high_on_separated_groups_low_on_structureless_data(blobs):
    from sklearn.cluster import KMeans
    x, truth = blobs
    assert scoring.stability(kmeans_refit(3), x, truth) == pytest.approx(1.0)
    # a structureless Gaussian cloud: KMeans cuts it somewhere else on every subsample
    noise = np.random.default_rng(0).normal(size=(300, 10))
    labels = KMeans(5, n_init=1, random_state=0).fit_predict(noise)
    assert scoring.stability(kmeans_refit(5), noise, labels) < 0.5


def test_stability_one_cluster_noise_labels_and_a_failing_refit(blobs):
    x, truth = blobs
    one = np.zeros(300, int)
    assert scoring.stability(lambda p: np.zeros(len(p), int), x, one) == pytest.approx(1.0)
    # noise (-1) is a group of its own: keeping it where the refit clusters it costs agreement
    noisy = truth.copy()
    noisy[::2] = -1
    assert scoring.stability(kmeans_refit(3), x, noisy) < scoring.stability(kmeans_refit(3), x, truth)

    def broken(points):
        raise ValueError("too few points")
    assert np.isnan(scoring.stability(broken, x, truth))
    assert np.isnan(scoring.stability(lambda p: np.zeros(3, int), x, truth))  # wrong shape


def test_stability_refits_a_bounded_seeded_sample(blobs):
    x, truth = blobs
    sizes = []

    def refit(points):
        sizes.append(len(points))
        return kmeans_refit(3)(points)
    scoring.stability(refit, x, truth, sample=40)
    scoring.stability(refit, x, truth)
    assert sizes == [40, 150]  # at most `sample`, at most half the points


def test_pairwise_nmi_matches_sklearn_including_noise_and_unsplit_labelings():
    from sklearn.metrics import normalized_mutual_info_score
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 500)
    label_sets = [np.where(rng.random(500) < p, rng.integers(-1, k, 500), truth)
                  for p, k in [(0.0, 3), (0.2, 3), (0.6, 2), (1.0, 7)]]
    label_sets += [np.zeros(500, int), np.full(500, 4), np.arange(500) % 2]
    expected = [[normalized_mutual_info_score(a, b) for b in label_sets] for a in label_sets]
    np.testing.assert_allclose(scoring.pairwise_nmi(label_sets), expected, atol=1e-12)


def test_degenerate_partitions_are_named_and_balanced_ones_pass():
    from bench.scoring import degenerate, smallest_share
    balanced = np.repeat([0, 1, 2], [300, 200, 100])
    assert degenerate(balanced) == "" and smallest_share(balanced) == 0.5
    outliers = np.zeros(600, int)
    outliers[:2] = 1
    assert degenerate(outliers) == "degenerate: smallest cluster 2 images, 0.67% of an even share (< 5%)"
    assert degenerate(outliers, min_share=0) == ""
    outliers[1] = 0
    assert degenerate(outliers).startswith("degenerate: smallest cluster 1 image, 0.33% ")
    assert degenerate(np.zeros(10, int)) == "degenerate: 1 cluster"
    assert degenerate(np.full(10, -1)) == "degenerate: every image is noise"
    # noise is left out of the even share: 2 clusters of 40 among 100 points, 20 noise
    noisy = np.repeat([0, 1, -1], [40, 40, 20])
    assert smallest_share(noisy) == 1.0 and degenerate(noisy) == ""
    # a real minority group (5 % of the images, 10 % of an even share) is an answer
    assert degenerate(np.repeat([0, 1], [950, 50])) == ""


def test_prediction_strength_rewards_real_groups_not_a_cut_through_one():
    from sklearn.cluster import KMeans

    from bench.scoring import prediction_strength
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(12, 1, (300, 2))])
    one_blob = rng.normal(0, 1, (600, 2))

    def kmeans(k):
        return lambda points: KMeans(k, n_init=3, random_state=0).fit_predict(points)
    assert prediction_strength(kmeans(2), blobs) > 0.95
    # 4 clusters where there are 2, or 3 cuts of one blob: the cuts move between halves
    assert prediction_strength(kmeans(4), blobs) < 0.9
    assert prediction_strength(kmeans(3), one_blob) < prediction_strength(kmeans(2), blobs) - 0.1
    assert np.isnan(prediction_strength(lambda p: np.zeros(len(p), int), blobs))  # one cluster
    assert np.isnan(prediction_strength(lambda p: 1 / 0, blobs))  # a refit that fails
