"""Can another score pick better among the top encoder's combos than `encoder_agreement`? From
finished labelled runs of `python -m bench.audit` (their folders keep every combo's labels) and
that audit's stage cache, for the encoder the default rule puts first (`full`, and its
`no-pretrained` part: the same runs without the pretrained encoders' rows, exact for rules whose
scores are each encoder's own), its combos that found k clusters are ranked by:

- `encoder_agreement` (the default): mean NMI to the encoder's other combos;
- `encoder_silhouette`: silhouette in the encoder's standardised PCA(50) output;
- `mix`: the mean of the two's ranks within the encoder;
- `knn_consistency`: chance-corrected share of each image's 10 nearest neighbours in the
  encoder's output (standardised, PCA 50) that share its label, on a seeded 1000-image sample;
- `pipeline_stability`: the combo's reducer and clusterer refitted with another seed on a seeded
  1000-image sample of the encoder's output; ARI of the refit's labels with the combo's own there
  (stability of the whole pipeline, where `stability` refits only the clusterer);
- `committee`: not a ranking but a vote: each of bench's ten partition scores names its top combo
  of the encoder, and these vote (aligned to the default's top-1, which breaks ties).

For each: the top-1's ACC and the vote of its top 5 (the default's ensemble), mean over seeds per
task, and their mean over tasks. Labels measure only.

    python -m bench.audit --data SUITE/*.npz --grid full --seeds 1 --out OUT --cache CACHE
    python benchmarks/experiments/within_encoder.py OUT/audit-runs/ --cache CACHE
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import ensemble, scoring, selection  # noqa: E402
from bench.cache import Cache  # noqa: E402
from bench.data import load_dataset  # noqa: E402
from bench.defaults import DEFAULT_RANK, SCORES  # noqa: E402
from bench.executor import stage_keys  # noqa: E402
from bench.grids import resolve_grid  # noqa: E402
from bench.selection_audit import NotAuditable, read_run, run_folders  # noqa: E402
from clusterers import CLUSTERERS  # noqa: E402
from clusterers.scan import nearest_neighbours  # noqa: E402
from reducers import REDUCERS  # noqa: E402

SAMPLE, NEIGHBOURS = 1000, 10
RANKED = ["encoder_agreement", "encoder_silhouette", "mix", "knn_consistency", "pipeline_stability"]


def knn_consistency(near: np.ndarray, labels: np.ndarray) -> float:
    """Share of neighbour pairs with one label, 0 where it is what cluster sizes alone give."""
    same = ((labels[near] == labels[:, None]) & (labels[:, None] >= 0)).mean()
    shares = np.bincount(labels[labels >= 0]) / len(labels)
    chance = (shares ** 2).sum()
    return float((same - chance) / max(1 - chance, 1e-9))


def lead_scores(run, table: pd.DataFrame, cache: Cache) -> tuple[pd.DataFrame, str]:
    """`table` with the candidate scores on the default rule's first encoder's combos."""
    record = json.loads((run.folder / "run.json").read_text())
    dataset = load_dataset(record["data"]["source"])
    grid = resolve_grid(record["grid"]["name"])
    lead = selection.rank(table, DEFAULT_RANK, run.k)["encoder"].iloc[0]
    keys, _, _ = stage_keys(grid, dataset, n_clusters=run.k, seed=run.seed)
    [spec] = [s for s in keys if s.label == lead]
    latent = cache.array("encode", keys[spec]).reshape(len(dataset.x), -1)
    rows = np.sort(np.random.default_rng(run.seed).permutation(len(latent))[:SAMPLE])
    sample = latent[rows]
    near = nearest_neighbours(PCA(min(50, *sample.shape), random_state=run.seed).fit_transform(
        StandardScaler().fit_transform(sample)), NEIGHBOURS)
    table = table.copy()
    mine = table.index[(table["encoder"] == lead) & (table["status"] == "ok") & (table["clusters"] == run.k)]
    other_seed = run.seed + 1000
    # the run's own entries, by name, as a named grid lists them: the grid may have changed since
    embeddings = {name: REDUCERS.create(name, seed=other_seed).fit_transform(sample)
                  for name in table.loc[mine, "reducer"].unique()}
    for i in mine:
        labels = run.labels[table.at[i, "combo"]][rows]
        table.at[i, "knn_consistency"] = knn_consistency(near, labels)
        refit = CLUSTERERS.create(table.at[i, "clusterer"], n_clusters=run.k, seed=other_seed).fit_predict(
            embeddings[table.at[i, "reducer"]])
        table.at[i, "pipeline_stability"] = adjusted_rand_score(labels, refit)
    ranks = table.loc[mine, ["encoder_agreement", "encoder_silhouette"]].rank(pct=True)
    table.loc[mine, "mix"] = ranks.mean(axis=1)
    return table, lead


def committee(run, table: pd.DataFrame) -> np.ndarray:
    """The vote of each partition score's top combo of the first encoder."""
    top = selection.rank(table, DEFAULT_RANK, run.k)["combo"].iloc[0]
    voters = [top]
    for score in SCORES:
        if score in table and table[score].notna().any():
            ranked = selection.rank(table, DEFAULT_RANK.replace("encoder_agreement", score), run.k)
            voters.append(ranked["combo"].iloc[0])
    reference = run.labels[top]
    aligned = [ensemble.align(ensemble.compact(run.labels[c]), reference, run.k) for c in voters]
    return ensemble.vote(aligned, run.k)


def measure(run, table: pd.DataFrame, cache: Cache) -> dict:
    table, lead = lead_scores(run, table, cache)
    out = {"lead": lead, "oracle": table.loc[table["status"] == "ok", "acc"].max(),
           "lead best": table.loc[(table["encoder"] == lead) & (table["status"] == "ok"), "acc"].max()}
    for score in RANKED:
        ranked, members, _ = selection.pick(table, run.labels, DEFAULT_RANK.replace("encoder_agreement", score), run.k)
        voted, _ = ensemble.combine("vote", [run.labels[c] for c in members], [], run.k, 0, run.seed)
        out[f"{score}: top-1"] = ranked["acc"].iloc[0]
        out[f"{score}: vote"] = scoring.accuracy(run.truth, voted)
    out["committee: vote"] = scoring.accuracy(run.truth, committee(run, table))
    return out


def labelled_views(paths):
    """(run, view, table) for each finished labelled run under `paths`: its whole leaderboard
    (`full`), and the same without the pretrained encoders' rows (`no-pretrained`)."""
    for folder in run_folders(paths):
        try:
            run = read_run(folder)
        except NotAuditable as e:
            print(f"passed over: {e}")
            continue
        yield run, "full", run.table
        yield run, "no-pretrained", run.table[run.table["enc_pretrained"] == 0].reset_index(drop=True)


def regret_and_vote(run, table: pd.DataFrame, rule: str) -> tuple[float, float]:
    """The top-1's regret and the vote of the top 5 of `table` ranked by `rule`, by the labels."""
    ranked, members, _ = selection.pick(table, run.labels, rule, run.k)
    voted, _ = ensemble.combine("vote", [run.labels[c] for c in members], [], run.k, 0, run.seed)
    oracle = table.loc[table["status"] == "ok", "acc"].max()
    return oracle - ranked["acc"].iloc[0], scoring.accuracy(run.truth, voted)


def print_means(rows: list[dict]) -> None:
    """Each view's numeric columns, mean over seeds per task, and their mean over tasks."""
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    for view, part in table.groupby("view", sort=False):
        means = part.drop(columns=["seed", "view"]).groupby("task").mean(numeric_only=True)
        means.loc["mean"] = means.mean()
        print(f"\n{view}: ACC, mean over seeds ({part['seed'].nunique()} seeds)")
        print(means.round(3).T.to_string())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="finished labelled run folders of a `full` audit, or folders holding them")
    p.add_argument("--cache", required=True, help="the audit's stage cache")
    args = p.parse_args()
    cache, rows = Cache(args.cache), []
    for run, view, table in labelled_views(args.runs):
        rows.append({"task": run.task, "seed": run.seed, "view": view, **measure(run, table, cache)})
        print(f"{run.task} seed {run.seed} {view}: {rows[-1]['lead']}", file=sys.stderr)
    print_means(rows)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    with threadpool_limits(1):
        main()
