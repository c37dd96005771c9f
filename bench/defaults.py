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
# encoders with weights learned elsewhere before those trained on the run's own images
RULES = (SCORES + [f"{e} > {p}" for e in ENCODER_SCORES for p in SCORES]
         + [f"pretrained > {e} > {p}" for e in ENCODER_SCORES for p in SCORES])
# chosen by the audit over the task suite, full and no-pretrained (docs/ranking.md)
DEFAULT_RANK = "pretrained > halves > encoder_agreement"

MIN_SHARE = 0.05  # default of --min-share (README: how combos are ranked)

METHODS = ("vote", "weighted", "coassoc")  # --ensemble
MIN_NMI = 0.3  # default of --min-nmi, chosen by the selection audit (README: the ensemble)


def split_rule(rule: str) -> tuple[list[str], str]:
    """([the encoder-level columns, first first], the partition-level column) of a ranking rule."""
    *encoders, partition = (part.strip() for part in rule.split(">"))
    return [f"enc_{e}" for e in encoders], partition
