"""Self-training after the ensemble (`--self-train`): the images on which every member agrees
with the ensemble are taken as labelled; a classifier (multinomial logistic regression) learns
those labels from the top member's encoder features and relabels the images the members
disagree on. A unanimous image keeps its label by construction; the rest get the label that
the confident images' decision boundary gives them, in the richest space of the run (the
encoder's, not the reducer's). SCAN's self-labelling step in spirit (Van Gansbeke et al. 2020),
on frozen features.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from bench.ensemble import align

MIN_PER_CLUSTER = 3  # unanimous images a cluster needs for the classifier to learn it


def self_train(labels: np.ndarray, members: list[np.ndarray], features: np.ndarray, k: int,
               seed: int = 0) -> tuple[np.ndarray, dict]:
    """(new labels, what happened) for the ensemble's `labels` (0..k-1, already oriented: the
    unanimous images keep theirs, so no cluster is renamed), its `members`' labels and the
    (N, D) `features` to learn in."""
    unanimous = labels >= 0
    for member in members:
        unanimous &= align(member, labels, k) == labels
    # a cluster with too few unanimous images cannot be learnt: its images keep their labels
    learnable = np.bincount(labels[unanimous], minlength=k) >= MIN_PER_CLUSTER
    taught = unanimous & learnable[np.clip(labels, 0, None)]
    relabel = ~unanimous & ((labels < 0) | learnable[np.clip(labels, 0, None)])  # -1: no label yet
    info = {"unanimous": int(unanimous.sum()), "relabelled": 0, "changed": 0}
    if learnable.sum() < 2 or not relabel.any():
        return labels, info
    x = StandardScaler().fit_transform(features.astype(np.float64))
    # a lightly regularised linear boundary: the unanimous images are many and mostly right
    classifier = LogisticRegression(C=0.1, max_iter=500, random_state=seed)
    classifier.fit(x[taught], labels[taught])
    out = labels.copy()
    out[relabel] = classifier.predict(x[relabel])
    info.update(relabelled=int(relabel.sum()), changed=int((out != labels).sum()))
    return out, info
