"""What a run prints: the leaderboard as a rich table that fits 80 columns, and a summary panel.
On a terminal it is coloured; piped or in CI logs, rich writes plain lines with no control codes."""

import math

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

METRICS = ("acc", "nmi")  # ARI is in leaderboard.csv; the console table keeps to 80 columns
PART_WIDTH = 12  # each of encoder / reducer / clusterer in the console; full names in the CSV


def counted(n: int, noun: str) -> str:
    """'1 combo', '16 combos'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def short_combo(label: str) -> str:
    """'baseline(epochs=40,loss=mse) | pca32 | kmeans' -> 'baseline(ep… pca32 kmeans': each part
    cut to PART_WIDTH the same way everywhere, so the same combo always reads the same."""
    parts = [p if len(p) <= PART_WIDTH else p[:PART_WIDTH - 1] + "…" for p in label.split(" | ")]
    return " ".join(parts)


def _num(value, digits=3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


# short console headings of the label-free columns a ranking rule can use
HEADINGS = {"enc_pretrained": "pre", "enc_halves": "halves", "enc_augmentation": "aug",
            "enc_rankme": "rankme", "enc_knn_agreement": "knn", "encoder_agreement": "e-agr", "encoder_silhouette": "e-silh",
            "silhouette": "silh", "agreement": "agree", "score": "score", "consensus": "cons",
            "ref_silhouette": "r-silh", "stability": "stab", "prediction_strength": "pstr",
            "cross_space": "cross", "red_global": "glob"}


def score_columns(table: pd.DataFrame, rank_by: str, k: int | None = None) -> list[str]:
    """The columns the console shows for `rank_by` at `k` clusters: what the rule ranks by there,
    then silhouette."""
    from bench.defaults import ranked_columns
    columns = [*ranked_columns(rank_by, k), "silhouette"]
    return [c for c in dict.fromkeys(columns) if c in table]


def leaderboard_table(table: pd.DataFrame, member_ranks, rank_by: str = "silhouette", k: int | None = None,
                      max_rows: int = 30) -> Table:
    external = [m for m in METRICS if m in table]
    scores = score_columns(table, rank_by, k)
    out = Table(title=f"Leaderboard (label-free ranking: {rank_by}; ensemble members bold green, "
                      "failed dimmed)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                collapse_padding=True)
    out.add_column("#", justify="right")
    # the number columns never wrap, so the combo column is what narrows: wider than the terminal,
    # rich would crop every line, title, caption and last columns included
    out.add_column("combo", ratio=1, overflow="fold", min_width=12)
    for name in [HEADINGS.get(c, c) for c in scores] + ["k", "sec", *external]:
        out.add_column(name, justify="right", no_wrap=True)
    failures = []
    for row in table.head(max_rows).itertuples():
        if row.status != "ok":
            failures.append(f"#{row.rank} {short_combo(row.combo)}: {row.status}"[:200])
        seconds = sum(v for v in (row.encode_s, row.reduce_s, row.cluster_s) if not math.isnan(v))
        style = "bold green" if row.rank in member_ranks else (
            "dim" if row.status != "ok" else None)
        out.add_row(str(row.rank), short_combo(row.combo), *(_num(getattr(row, c)) for c in scores),
                    str(row.clusters), f"{seconds:.1f}",
                    *(_num(getattr(row, m)) for m in external), style=style)
    notes = [f"{len(table) - max_rows} more rows in leaderboard.csv"] if len(table) > max_rows else []
    # read back from a CSV (bench.show) an empty cell is NaN, and older runs have no column
    warned = table[table["warnings"].notna() & (table["warnings"] != "")] if "warnings" in table else table.iloc[:0]
    if len(warned):
        example = warned["warnings"].iloc[0].split("; ")[0]
        notes.append(f"{counted(len(warned), 'combo')} raised library warnings (column 'warnings' of leaderboard.csv), "
                     f"e.g. #{warned['rank'].iloc[0]}: {example}"[:300])
    out.caption = "\n".join(notes + failures) or None
    out.caption_justify = "left"
    return out


def summary_panel(lines: list[tuple[str, str]], where: str) -> Panel:
    # the values are data (an encoder labelled `ae[v2]`), not markup
    text = "\n".join(f"[bold]{escape(k):<9}[/] {escape(str(v))}" for k, v in lines + [("files", where)])
    return Panel(text, title="run summary", title_align="left", box=box.ROUNDED)


def make_console(quiet: bool = False) -> Console:
    return Console(quiet=quiet, highlight=False)
