"""Can the top encoder's nearest-neighbour graph pick or fix the partition? For every run an
audit kept (`benchmarks/audit.py --dump`; its --cache holds the encoders' outputs), in the top
encoder's own output (standardised, PCA 50; the default rule's choice of encoder):

- `modularity@K`: its combos that found k clusters ordered by Newman's modularity of their
  partition on the symmetric K-nearest-neighbour graph (edges inside a cluster beyond what
  the degrees alone give), instead of by `encoder_agreement`: top-1 ACC and vote of 5;
- `smoothed@K`: the default ensemble's labels, each image then taking the majority label of
  its K nearest neighbours (its own label breaks a tie), as SCAN's neighbours would vote.

Against the default (top-1 and vote of 5 by `augmentation > encoder_agreement`); mean ACC over
seeds per task and view. Labels are used for the figures only.

    python benchmarks/experiments/knn_graph.py /tmp/audit/dump --cache /tmp/audit/cache
"""

import argparse
import functools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from audit import VIEWS, from_dump
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from tasks import load

from bench import ensemble, scoring, selection
from bench.cache import Cache
from bench.executor import stage_keys
from bench.grids import resolve_grid
from clusterers.scan import nearest_neighbours

NEIGHBOURS = (10, 30)


def neighbours(latent: np.ndarray, k: int, seed: int) -> np.ndarray:
    x = StandardScaler().fit_transform(latent.reshape(len(latent), -1))
    return nearest_neighbours(PCA(min(50, *x.shape), random_state=seed).fit_transform(x), k)


def modularity(near: np.ndarray, labels: np.ndarray) -> float:
    """Newman's modularity of `labels` on the symmetrised graph of `near`; noise (-1) is left
    out of every cluster (as singletons, whose expected share is negligible)."""
    n = len(near)
    graph = sparse.csr_matrix((np.ones(near.size), (np.repeat(np.arange(n), near.shape[1]), near.ravel())), (n, n))
    graph = ((graph + graph.T) > 0).astype(float)
    degree, kept = np.asarray(graph.sum(axis=1)).ravel(), labels >= 0
    code = np.unique(labels[kept], return_inverse=True)[1]
    member = sparse.csr_matrix((np.ones(kept.sum()), (np.flatnonzero(kept), code)), (n, code.max() + 1))
    inside = (member.T @ graph @ member).diagonal().sum()
    return float((inside - ((member.T @ degree) ** 2).sum() / degree.sum()) / degree.sum())


def smoothed(labels: np.ndarray, near: np.ndarray, k: int) -> np.ndarray:
    """Each image's majority label among its neighbours; noise (-1) does not vote, and an image
    with no vote at all stays noise."""
    votes = np.zeros((len(labels), k))
    voter, label = np.repeat(np.arange(len(labels)), near.shape[1]), labels[near].ravel()
    np.add.at(votes, (voter[label >= 0], label[label >= 0]), 1)
    own = labels >= 0
    votes[own, labels[own]] += 0.5  # a tie keeps the image's own label
    return np.where(votes.any(axis=1), votes.argmax(axis=1), -1)


def row(table, labels, data, cache, seed) -> dict:
    k, acc = data.n_classes, functools.partial(scoring.accuracy, data.y)
    ranked, chosen, _ = selection.pick(table, labels, selection.DEFAULT_RANK, k)
    vote = ensemble.combine("vote", [labels[c] for c in chosen], [], k, 0)[0]
    out = {"default top1": ranked["acc"].iloc[0], "default vote5": acc(vote)}
    top = ranked[(ranked["encoder"] == ranked["encoder"].iloc[0]) & (ranked["clusters"] == k)]
    encoders = stage_keys(resolve_grid("full"), data, n_clusters=k, seed=seed)[0]  # keys only: nothing runs
    encoded = {spec.label: key for spec, key in encoders.items()}
    latent = cache.array("encode", encoded[top["encoder"].iloc[0]])
    for n in NEIGHBOURS:
        near = neighbours(latent, n, seed)
        by_graph = top.assign(graph=[modularity(near, labels[c]) for c in top["combo"]])
        _, by_graph, _ = selection.pick(by_graph, labels, "graph", k)
        out[f"modularity@{n} top1"] = acc(labels[by_graph[0]])
        out[f"modularity@{n} vote5"] = acc(ensemble.combine("vote", [labels[c] for c in by_graph], [], k, 0)[0])
        out[f"smoothed@{n}"] = acc(smoothed(vote, near, k))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dumps", nargs="+", help="audit.py --dump folders (of the `full` grid)")
    p.add_argument("--cache", required=True, help="the audit's stage cache")
    p.add_argument("--n", type=int, default=2000, help="images per task, as the audit that dumped them")
    args = p.parse_args()
    cache, data, rows = Cache(Path(args.cache)), functools.lru_cache(load), []
    for folder in args.dumps:
        for task, seed, view, table, labels in from_dump(folder):
            rows.append({"task": task, "view": view, **row(table, labels, data(task, args.n), cache, seed)})
            print(f"{task} seed {seed} {view}: done", flush=True)
    results = pd.DataFrame(rows)
    for view in VIEWS:
        part = results[results["view"] == view].drop(columns="view").groupby("task").mean()
        part.loc["MEAN"] = part.mean()
        print(f"\n=== {view}: ACC, mean over seeds ===")
        print(part.T.to_string(float_format="%.3f"))


if __name__ == "__main__":
    main()
