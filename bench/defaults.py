"""The choices and defaults that the command line shares with the modules that compute: the
ranking rules, the degenerate-partition guard, the ensemble methods. Here, in a module that
imports nothing, so the parser, the console and a replayed run (`bench.replay`) start without
loading scikit-learn or torch; the computing modules re-export them."""

SCORES = ["silhouette", "score", "agreement", "consensus", "ref_silhouette", "stability",
          "prediction_strength", "cross_space", "encoder_silhouette",
          "encoder_agreement"]  # all label-free, one value per combo
ENCODER_SCORES = ["halves", "augmentation", "rankme", "knn_agreement"]  # bench.representation: one per encoder
# a ranking rule is a score column, or levels "ENCODER > PARTITION": encoders ordered by an
# encoder score, then the combos of each by a partition score; "pretrained > ..." puts the
# encoders with weights learned elsewhere before those trained on the run's own images;
# "... > global > PARTITION" puts, at k = 2 only, each encoder's combos on reducers that keep
# the global layout before those on local ones (t-SNE, UMAP): a 2-way cut of a map that keeps
# only neighbourhoods follows whichever sub-groups sit apart, not the largest difference
LEVELS = [f"{e} > " for e in ENCODER_SCORES] + [f"pretrained > {e} > " for e in ENCODER_SCORES]
RULES = SCORES + [f"{level}{g}{p}" for g in ("", "global > ") for level in LEVELS for p in SCORES]
# chosen by the audit over the task suite, full and no-pretrained (docs/ranking.md)
DEFAULT_RANK = "pretrained > halves > global > encoder_agreement"
GLOBAL = "red_global"  # the leaderboard's column behind the `global` level: 1 for a global reducer

MIN_SHARE = 0.05  # default of --min-share (README: how combos are ranked)

METHODS = ("vote", "weighted", "coassoc")  # --ensemble
MIN_NMI = 0.3  # default of --min-nmi, chosen by the selection audit (README: the ensemble)


def ranked_columns(rule: str, k: int | None) -> list[str]:
    """The columns that order a rule's combos at `k` clusters, first first: its levels (`global`
    at k = 2 only), then its partition score."""
    levels, partition = split_rule(rule)
    return [*(c for c in levels if c != GLOBAL or k == 2), partition]


def encoder_score(rule: str) -> str | None:
    """The column of the score that orders a rule's encoders (`enc_halves`, ...), or None."""
    return next((c for c in split_rule(rule)[0] if c not in ("enc_pretrained", GLOBAL)), None)


def split_rule(rule: str) -> tuple[list[str], str]:
    """([the level columns, first first: encoder scores, then `red_global`], the partition-level
    column) of a ranking rule."""
    *levels, partition = (part.strip() for part in rule.split(">"))
    return [GLOBAL if level == "global" else f"enc_{level}" for level in levels], partition
