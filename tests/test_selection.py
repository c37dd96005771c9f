import numpy as np
import pandas as pd
import pytest

from bench import selection


def test_audit_on_a_hand_checked_table():
    table = pd.DataFrame({
        "status": ["ok", "ok", "ok", "ok", "encode failed: x"],
        "acc": [0.70, 0.90, 0.60, 0.80, np.nan],
        "score": [0.9, 0.8, 0.7, 0.6, np.nan],  # ranked order, as the leaderboard is
        "silhouette": [0.1, 0.4, 0.0, 0.3, np.nan],  # same order as ACC: rho = +1
        "agreement": [0.5, 0.5, 0.5, 0.5, np.nan],  # constant: undefined
        "consensus": [0.9, 0.8, 0.7, 0.6, np.nan],
        "ref_silhouette": [np.nan, 0.2, 0.1, np.nan, np.nan],  # two finite values: too few
        "stability": [0.6, 0.8, 0.5, 0.9, np.nan],  # ranks (2,3,1,4) vs ACC (2,4,1,3): rho 0.8
    })
    result = selection.audit(table.assign(rank=[1, 2, 3, 4, 5]), ensemble_acc=0.85, member_ranks=[1, 3, 4])
    rho = result["spearman_with_acc"]
    assert rho["silhouette"] == pytest.approx(1.0)
    assert rho["score"] == pytest.approx(0.0)  # ranks (4,3,2,1) vs (2,4,1,3): 1 - 6*10/60
    assert np.isnan(rho["agreement"]) and np.isnan(rho["ref_silhouette"])
    assert rho["stability"] == pytest.approx(0.8)
    assert result["regret"] == pytest.approx(0.20) and result["top1_acc"] == pytest.approx(0.70)
    assert result["oracle_best_acc"] == pytest.approx(0.90) and result["median_acc"] == pytest.approx(0.75)
    assert result["ensemble_acc"] == 0.85 and result["best_member_acc"] == pytest.approx(0.80)


def test_reference_silhouette_compares_labelings_in_one_space():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1], 100)
    images = (truth[:, None, None, None] * 2.0 - 1) + rng.normal(0, 0.3, (200, 1, 4, 4))
    rows, points = selection.reference_space(images.astype(np.float32), seed=0, sample=150)
    assert len(rows) == 150 and points.shape[0] == 150
    good, random, one = selection.reference_silhouettes(
        rows, points, [truth, rng.integers(0, 2, 200), np.zeros(200, int)])
    assert good > 0.5 and abs(random) < 0.1 and np.isnan(one)


def test_consensus_prefers_the_majority_view():
    truth = np.repeat([0, 1], 50)
    noisy = truth.copy()
    noisy[:10] = 1
    other = np.tile([0, 1], 50)  # disagrees with everything
    three = np.repeat([0, 1, 2], [30, 30, 40])  # a different cluster count: scored, not voting
    scores = selection.consensus_nmi([truth, 1 - truth, noisy, other, three],
                                     agreements=np.array([0.9, 0.9, 0.8, 0.1, 0.5]), k=2)
    assert scores[0] == pytest.approx(1.0) and scores[1] == pytest.approx(1.0)
    assert scores[3] < 0.01 and 0 < scores[4] < 1


def test_silhouette_from_distances_matches_sklearn():
    from sklearn.metrics import pairwise_distances, silhouette_score
    rng = np.random.default_rng(0)
    points = rng.normal(size=(120, 5)) + np.repeat(np.eye(5)[:3] * 4, 40, axis=0)
    distances = pairwise_distances(points)
    labelings = [np.repeat([0, 1, 2], 40), rng.integers(0, 4, 120), np.r_[np.zeros(119, int), 7]]
    for labels in labelings:  # the last has a one-point cluster, which sklearn scores 0
        assert selection.silhouette_from_distances(distances, labels) == pytest.approx(
            silhouette_score(points, labels), abs=1e-12)


def test_two_level_rule_orders_encoders_first_then_their_combos():
    # a hand-made leaderboard: the AE's brightness splits have the best silhouettes, the
    # encoder whose views find their images (augmentation) has the right split
    table = pd.DataFrame({
        "combo": ["ae | umap | km", "ae | pca | km", "simclr | umap | km", "simclr | pca | km", "px | pca | km"],
        "encoder": ["ae", "ae", "simclr", "simclr", "px"],
        "silhouette": [0.60, 0.30, 0.45, 0.10, np.nan],
        "enc_augmentation": [0.25, 0.25, 0.51, 0.51, np.nan],
    }, index=[10, 11, 12, 13, 14])
    assert list(selection.order(table, "silhouette")) == [10, 12, 11, 13, 14]
    assert list(selection.order(table, "augmentation > silhouette")) == [12, 13, 10, 11, 14]
    assert selection.split_rule("augmentation > silhouette") == (["enc_augmentation"], "silhouette")
    assert selection.split_rule("cross_space") == ([], "cross_space")
    # three levels: pretrained encoders first, then the encoder score, then the combos
    prior = table.assign(enc_pretrained=[0.0, 0.0, 0.0, 0.0, 1.0])
    assert list(selection.order(prior, "pretrained > augmentation > silhouette")) == [14, 12, 13, 10, 11]
    assert selection.split_rule("pretrained > halves > encoder_agreement") == (
        ["enc_pretrained", "enc_halves"], "encoder_agreement")
    # ties go by combo name, whatever order the rows came in
    tied = table.assign(silhouette=0.5)
    assert list(selection.order(tied.iloc[::-1], "silhouette")) == [11, 10, 14, 13, 12]


def test_the_global_level_puts_global_reducers_first_within_an_encoder_at_two_clusters_only():
    # simclr leads halves; its UMAP combos agree most with each other, its PCA combo less
    table = pd.DataFrame({
        "combo": ["simclr | umap | km", "simclr | tsne | km", "simclr | pca | km", "ae | pca | km", "ae | umap | km"],
        "encoder": ["simclr", "simclr", "simclr", "ae", "ae"],
        "enc_halves": [0.5, 0.5, 0.5, 0.3, 0.3],
        "red_global": [0.0, 0.0, 1.0, 1.0, 0.0],
        "encoder_agreement": [0.9, 0.8, 0.4, 0.2, 0.7],
        "clusters": [2, 2, 2, 2, 2],
    }, index=[0, 1, 2, 3, 4])
    rule = "halves > global > encoder_agreement"
    assert selection.split_rule(rule) == (["enc_halves", "red_global"], "encoder_agreement")
    # k = 2: within each encoder (still first by halves), the global reducer's combo first
    assert list(selection.order(table, rule, k=2)) == [2, 0, 1, 3, 4]
    # any other k, and without k: the level is left out, the partition score decides
    for k in (3, None):
        assert list(selection.order(table.assign(clusters=3), rule, k=k)) == [0, 1, 2, 4, 3]
    assert list(selection.order(table, "halves > encoder_agreement", k=2)) == [0, 1, 2, 4, 3]
    assert selection.DEFAULT_RANK == "pretrained > halves > global > encoder_agreement"
    assert selection.DEFAULT_RANK in selection.RULES and rule in selection.RULES
    assert selection.encoder_score(selection.DEFAULT_RANK) == "enc_halves"
    # what the console shows is what ranked: the level's column at k = 2 only
    from bench.console import score_columns
    assert score_columns(table, rule, 2) == ["enc_halves", "red_global", "encoder_agreement"]
    assert score_columns(table, rule, 3) == score_columns(table, rule) == ["enc_halves", "encoder_agreement"]
    # a table without the column (a run from before it): needed at k = 2 only, and said so
    from bench.selection_audit import defined
    older = table.drop(columns="red_global").assign(status="ok")
    assert defined(older, rule, 3) and not defined(older, rule, 2)
    assert list(selection.order(older, rule, k=3)) == [0, 1, 2, 4, 3]
    with pytest.raises(ValueError, match="at k = 2 needs column 'red_global'"):
        selection.order(older, rule, k=2)


def test_the_leaderboard_marks_each_combo_by_its_reducers_registry_flag():
    from bench import leaderboard
    from bench.executor import Outcome
    from bench.grids import Combo, Spec
    labels = np.repeat([0, 1], 10)
    outcomes = [Outcome(Combo(Spec("pixels"), Spec(r, params), Spec("kmeans")), labels=labels, scores={"silhouette": 0.5})
                for r, params in (("tsne2", (("perplexity", 5),)), ("pca32", ()), ("umap10", ()), ("svd50", ()))]
    table = leaderboard.build(outcomes, n_clusters=2, rank_by="silhouette")
    assert dict(zip(table["reducer"], table["red_global"])) == {
        "tsne2(perplexity=5)": 0.0, "pca32": 1.0, "umap10": 0.0, "svd50": 1.0}


def test_the_local_reducers_are_the_neighbour_embeddings():
    from reducers import REDUCERS
    local = {name for name in REDUCERS.names() if REDUCERS.get(name).local}
    assert local == {name for name in REDUCERS.names() if name.startswith(("tsne", "umap"))} != set()


def test_a_constant_acc_correlates_with_nothing_and_warns_nothing():
    import warnings
    table = pd.DataFrame({"status": ["ok"] * 4, "acc": [1.0] * 4, "silhouette": [0.1, 0.4, 0.0, 0.3],
                          "rank": [1, 2, 3, 4]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SciPy's ConstantInputWarning would fail here
        assert np.isnan(selection.audit(table, ensemble_acc=1.0)["spearman_with_acc"]["silhouette"])


def test_a_score_without_a_correlation_reads_n_a_in_the_summary():
    from bench.report import summary_lines
    audit = {"ensemble_acc": 0.8, "best_member_acc": 0.8, "top1_acc": 0.8, "oracle_best_acc": 0.9,
             "regret": 0.1, "median_acc": 0.6, "spearman_with_acc": {"silhouette": 0.5, "cross_space": float("nan")}}
    record = {"data": {"source": "x.npy", "shape": [10, 8, 8, 1], "n_clusters": 2},
              "grid": {"name": "quick", "combos": 12}, "cache": {"hits": 0, "computed": 18},
              "timings_s": {"total": 1.0}, "audit": audit,
              "ensemble": {"method": "vote", "members": [], "skipped": [], "metrics": {}}}
    [rho] = [text for name, text in summary_lines(record) if name.strip() == "rho"]
    assert rho == "Spearman with ACC: silhouette +0.50, cross_space n/a"


def test_a_caution_when_the_encoder_score_cannot_tell_the_first_two_encoders_apart():
    table = pd.DataFrame({
        "combo": ["a | p | k", "b | p | k", "c | p | k", "net | p | k"], "encoder": ["a", "b", "c", "net"],
        "status": "ok", "clusters": 2, "encoder_agreement": [0.5, 0.6, 0.7, 0.4],
        "enc_halves": [0.031, 0.029, 0.020, 0.300], "enc_pretrained": [0.0, 0.0, 0.0, 1.0]})
    rule = "pretrained > halves > encoder_agreement"
    assert selection.encoder_tie(table, rule, 2000, 2) is None  # the prior, not the score, put `net` first
    trained = table.iloc[:3]  # as with --no-pretrained: 0.031 and 0.029 of 500 are within noise
    assert selection.encoder_tie(trained, rule, 2000, 2) == (
        "halves does not tell a (0.031) from b (0.029) apart beyond its sampling noise on 500 images: either "
        "may be the better encoder (with --labels, the leaderboard's acc column shows which)")
    assert selection.encoder_tie(trained.assign(acc=0.5), rule, 2000, 2).endswith(
        "(the leaderboard's acc column shows which)")  # ground truth known: no need to ask for it
    apart = trained.assign(enc_halves=[0.20, 0.10, 0.02])
    assert selection.encoder_tie(apart, rule, 2000, 2) is None
    assert "on 40 images" in selection.encoder_tie(apart, rule, 40, 2)  # 0.20 and 0.10 of 40 are not apart
    assert selection.encoder_tie(trained.assign(enc_halves=0.0), rule, 2000, 2).startswith(
        "halves does not tell c (0.000) from b (0.000) apart")  # none found: the combos decide, and no information
    assert selection.encoder_tie(trained, "encoder_agreement", 2000, 2) is None  # no encoder level
    assert selection.encoder_tie(trained, "rankme > encoder_agreement", 2000, 2) is None  # not a rate
    assert selection.encoder_tie(trained.iloc[:1], rule, 2000, 2) is None  # one encoder: nothing to tell
    # the score's two best count, not the ranking's first two: `b`'s combos missed k, `c` is a's match
    missed = apart.assign(enc_halves=[0.10, 0.05, 0.098], clusters=[2, 3, 2])
    assert selection.encoder_tie(missed, rule, 2000, 2).startswith("halves does not tell a (0.100) from c (0.098)")
    unscored = trained.assign(enc_halves=[0.031, np.nan, 0.029])  # an encoder that could not be rebuilt
    assert selection.encoder_tie(unscored, rule, 2000, 2).startswith("halves does not tell a (0.031) from c (0.029)")


def test_the_caution_reads_in_the_summary():
    from bench.report import summary_lines
    record = {"data": {"source": "x.npy", "shape": [10, 8, 8, 1], "n_clusters": 2},
              "grid": {"name": "quick", "combos": 12}, "cache": {"hits": 0, "computed": 18},
              "timings_s": {"total": 1.0},
              "ensemble": {"method": "vote", "members": [], "skipped": [], "metrics": {}, "caution": "halves ..."}}
    assert ("caution", "halves ...") in summary_lines(record)
    from rich.console import Console
    from bench.console import summary_panel
    record["ensemble"]["members"] = [{"rank": 1, "combo": "ae[v2] | pca32 | kmeans", "agreement": 1.0}]
    console = Console(width=200, record=True)
    console.print(summary_panel(summary_lines(record), "results/x"))
    assert "ae[v2] | pca32" in console.export_text()  # a label, not rich markup
    del record["ensemble"]["caution"]  # a run folder written before cautions existed
    assert "caution" not in dict(summary_lines(record))
