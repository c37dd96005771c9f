import json

import numpy as np
from sklearn.datasets import make_blobs

from bench.selftrain import self_train
from conftest import run_dirs


def _case(seed=0):
    """Three well-separated blobs; an ensemble wrong on 60 images, where its second member
    (with its cluster ids permuted) disagrees with it; elsewhere both members agree."""
    features, truth = make_blobs(600, n_features=8, centers=3, cluster_std=1.0, random_state=seed)
    rng = np.random.default_rng(seed)
    wrong = rng.choice(600, 60, replace=False)
    labels = truth.copy()
    labels[wrong] = (truth[wrong] + 1) % 3
    second = truth.copy()
    second[wrong] = (truth[wrong] + 2) % 3
    return features, truth, labels, [labels.copy(), np.array([2, 0, 1])[second]], wrong


def test_unanimous_images_keep_their_labels_and_the_rest_are_relabelled():
    features, truth, labels, members, wrong = _case()
    out, info = self_train(labels, members, features, k=3)
    unanimous = np.ones(600, bool)
    unanimous[wrong] = False
    assert info["unanimous"] == 540 and info["relabelled"] == 60
    assert np.array_equal(out[unanimous], labels[unanimous])
    assert (out[wrong] == truth[wrong]).mean() > 0.95  # the blobs' boundary puts them right
    assert info["changed"] == int((out != labels).sum()) > 50
    assert np.array_equal(self_train(labels, members, features, k=3)[0], out)  # deterministic


def test_a_cluster_too_few_images_agree_on_keeps_its_labels():
    features, truth, labels, members, wrong = _case()
    out, info = self_train(labels, [labels], features, k=3)  # all agree: nothing to relabel
    assert np.array_equal(out, labels) and info["relabelled"] == 0
    # a fourth cluster of 7 images, the second member agreeing on 2 of them: too few to learn
    fourth, first = labels.copy(), members[1].copy()
    fourth[wrong[:7]] = 3
    first[wrong[:2]] = 3
    out, info = self_train(fourth, [fourth, first], features, k=4)
    assert (out[wrong[:7]] == 3).all() and (out == 3).sum() == 7
    assert info["relabelled"] == 53 and (out[wrong[7:]] == truth[wrong[7:]]).mean() > 0.95


def test_self_train_from_the_command_line(digits_npz, run_cli, tmp_path):
    code, out, err = run_cli("--data", digits_npz, "--grid", "quick", "--epochs", "2", "--self-train")
    assert code == 0, err
    [folder] = run_dirs(tmp_path / "results")
    record = json.loads((folder / "run.json").read_text())
    trained = record["ensemble"]["self_train"]
    assert 0 < trained["unanimous"] < 300 and 0 < trained["relabelled"] <= 300 - trained["unanimous"]
    assert 0 <= trained["acc_before"] <= 1 and "self-train" in out
    submission = np.loadtxt(folder / "submission.csv", delimiter=",", skiprows=1, dtype=int)[:, 1]
    assert len(submission) == 300 and set(submission) <= set(range(10))
