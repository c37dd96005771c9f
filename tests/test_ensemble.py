import numpy as np

from bench.ensemble import align, compact, majority_vote, orient, vote


def test_align_finds_the_permutation():
    reference = np.array([0, 0, 1, 1, 2, 2])
    permuted = np.array([2, 2, 0, 0, 1, 1])
    assert align(permuted, reference, 3).tolist() == reference.tolist()


def test_align_keeps_noise():
    assert align(np.array([1, 1, -1, 0]), np.array([0, 0, 1, 1]), 2).tolist() == [0, 0, -1, 1]


def test_compact_renames_ids():
    assert compact(np.array([7, 3, -1, 7])).tolist() == [1, 0, -1, 1]


def test_vote_majority_and_ties_to_the_higher_ranked():
    best = np.array([0, 0, 1, 1])
    second = np.array([1, 0, 0, 1])
    third = np.array([1, 0, 1, 0])
    assert vote([best, second, third], 2).tolist() == [1, 0, 1, 1]
    # two members: every disagreement is a tie, and the best member wins it
    assert vote([best, second], 2).tolist() == best.tolist()
    # a tie between labels the best member did not vote for goes to the next member's choice
    assert vote([np.array([0]), np.array([1]), np.array([2]), np.array([1]), np.array([2])], 3).tolist() == [1]


def test_vote_noise_abstains():
    assert vote([np.array([-1, -1]), np.array([1, -1])], 2).tolist() == [1, -1]


def test_orient_two_clusters_is_the_seed_flip():
    labels = np.array([1, 1, 0, 1, 1, 0, 0])
    assert orient(labels, 5).tolist() == [0, 0, 1, 0, 0, 1, 1]
    assert orient(1 - labels, 5).tolist() == (1 - labels).tolist()
    assert orient(labels, 0).tolist() == labels.tolist()


def test_orient_many_clusters_swaps_only_the_majority_with_zero():
    labels = np.array([2, 2, 1, 2, 0, 1, 0, 3])
    assert orient(labels, 5).tolist() == [0, 0, 1, 0, 2, 1, 2, 3]


def test_orient_tie_keeps_zero():
    labels = np.array([0, 1, 1, 0, 2])
    assert orient(labels, 4).tolist() == labels.tolist()


def test_majority_vote_aligns_orients_and_reports_agreement():
    best = np.array([1, 1, 1, 1, 1, 0, 0, 0])
    flipped = 1 - best
    flipped[7] = 1 - flipped[7]  # disagrees on the last image
    labels, agreements = majority_vote([best, flipped, best], 2, known_zeros=5)
    assert labels.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert agreements == [1.0, 7 / 8, 1.0]


def test_members_with_another_cluster_count_are_skipped_and_named():
    import pandas as pd
    import pytest

    from bench.ensemble import choose_members
    from bench.errors import UserError
    table = pd.DataFrame({"rank": [1, 2, 3, 4], "combo": ["a", "b", "c", "d"],
                          "status": ["ok", "ok", "encode failed: x", "ok"], "clusters": [3, 2, 0, 2]})
    labels = [np.array([0, 1, 2, 0]), np.array([0, 0, 1, 1]), None, np.array([1, 1, 0, 0])]
    members, skipped = choose_members(table, labels, k=2, top_k=2)
    assert members == [1, 3] and skipped == ["a (found 3 clusters)"]
    with pytest.raises(UserError, match="no combo found exactly 5 clusters"):
        choose_members(table, labels, k=5, top_k=2)


def test_members_must_share_min_nmi_with_the_top_combo():
    import pandas as pd

    from bench.ensemble import choose_members
    from bench.scoring import pairwise_nmi
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1], 200)
    noisy = [np.where(rng.random(400) < p, 1 - truth, truth) for p in (0.05, 0.1, 0.5, 0.08, 0.3)]
    table = pd.DataFrame({"rank": range(1, 6), "combo": list("abcde"), "status": "ok", "clusters": 2})
    combos = lambda positions: [table["combo"][i] for i in positions]  # noqa: E731
    members, skipped = choose_members(table, noisy, k=2, top_k=3, min_nmi=0.3)
    assert combos(members) == ["a", "b", "d"]  # c is a coin flip against a
    nmi = pairwise_nmi([noisy[0], noisy[2]])[0, 1]
    assert skipped == [f"c (NMI {nmi:.2f} to #1 < 0.3)"]
    members, skipped = choose_members(table, noisy, k=2, top_k=3, min_nmi=0.0)
    assert combos(members) == ["a", "b", "c"] and skipped == []
    members, skipped = choose_members(table, noisy, k=2, top_k=5, min_nmi=0.3)
    assert combos(members) == ["a", "b", "d"]  # fewer than top_k pass
    assert skipped == [f"c (NMI {nmi:.2f} to #1 < 0.3)"]  # e, below the last member, is not listed


def test_pick_reranks_a_board_by_any_rule_as_a_run_would():
    import pandas as pd

    from bench.selection import pick
    # d failed; by silhouette a > c > b, by agreement b > c > a; a found 3 clusters
    table = pd.DataFrame({"combo": list("abcd"), "status": ["ok", "ok", "ok", "encode failed: x"],
                          "clusters": [3, 2, 2, 0], "silhouette": [0.9, 0.2, 0.5, 0.99],
                          "agreement": [0.1, 0.8, 0.6, np.nan]})
    labels = {"a": np.array([0, 1, 2, 2]), "b": np.array([0, 0, 1, 1]), "c": np.array([1, 1, 0, 0])}
    ranked, members, skipped = pick(table, labels, "silhouette", k=2, top_k=2, min_nmi=0.3)
    # a, best by silhouette, found 3 clusters for k=2: it ranks after every combo that found 2,
    # so rank 1 is the ensemble's leader
    assert ranked["combo"].tolist() == ["c", "b", "a"] and ranked["rank"].tolist() == [1, 2, 3]
    assert members == ["c", "b"] and skipped == []
    ranked, members, skipped = pick(table, labels, "silhouette", k=3, top_k=2)
    assert ranked["combo"].tolist() == ["a", "c", "b"] and members == ["a"]
    assert skipped == []  # c and b rank below the only member
    ranked, members, skipped = pick(table, labels, "agreement", k=2, top_k=1)
    assert ranked["combo"].tolist() == ["b", "c", "a"] and members == ["b"] and skipped == []


def test_weighted_vote_lets_a_strong_member_outvote_two_weak_ones():
    import numpy as np
    strong = np.array([0, 0, 1, 1])
    weak = np.array([1, 1, 1, 1])  # aligned already (no permutation beats identity here)
    assert vote([strong, weak, weak], 2).tolist() == [1, 1, 1, 1]
    assert vote([strong, weak, weak], 2, weights=[3.0, 1.0, 1.0]).tolist() == [0, 0, 1, 1]
    # equal weight on both sides is a tie, and the higher-ranked member wins it
    assert vote([strong, weak, weak], 2, weights=[2.0, 1.0, 1.0]).tolist() == [0, 0, 1, 1]
    assert vote([weak, strong, strong], 2, weights=[2.0, 1.0, 1.0]).tolist() == [1, 1, 1, 1]


def test_weighted_combine_clips_scores_so_a_negative_one_never_votes_against():
    from bench.ensemble import combine
    best = np.array([0, 0, 0, 1, 1, 1])
    other = np.array([0, 0, 1, 1, 1, 0])
    labels, _ = combine("weighted", [best, other, other], [0.5, -0.9, -0.9], 2, known_zeros=0)
    assert labels.tolist() == best.tolist()  # the two negative scores count next to nothing
    labels, _ = combine("vote", [best, other, other], [0.5, -0.9, -0.9], 2, known_zeros=0)
    assert labels.tolist() == other.tolist()


def test_coassociation_needs_no_alignment_and_follows_the_majority():
    import numpy as np

    from bench.ensemble import coassociation, combine
    truth = np.repeat([0, 1, 2], 40)
    permuted = np.array([2, 0, 1])[truth]  # the same grouping under other names
    noisy = truth.copy()
    noisy[:8] = 1
    labels, agreements = coassociation([noisy, permuted, truth], 3, known_zeros=5, seed=0, sample=60)
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(truth, labels) == 1.0 and (labels[:5] == 0).all()  # oriented
    assert agreements == [112 / 120, 1.0, 1.0]
    same, _ = combine("coassoc", [noisy, permuted, truth], [0.1, 0.2, 0.3], 3, 5)
    assert same.tolist() == labels.tolist()
