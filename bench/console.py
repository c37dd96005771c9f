"""What the run prints: the plan, the leaderboard as a rich table, the ensemble summary."""

import math

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

METRICS = ("acc", "nmi")  # ARI is in leaderboard.csv; the console table keeps to 80 columns


def _num(value, digits=3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def leaderboard_table(table: pd.DataFrame, top_k: int, max_rows: int = 30) -> Table:
    external = [m for m in METRICS if m in table]
    out = Table(title="Leaderboard (ranked by label-free score; top-k in green, failed dimmed)",
                title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    out.add_column("#", justify="right")
    out.add_column("combo", ratio=1, overflow="fold", min_width=20)
    for name in ["silh", "agree", "score", "k", "sec", *external]:
        out.add_column(name, justify="right", no_wrap=True)
    failures = []
    for row in table.head(max_rows).itertuples():
        if row.status != "ok":
            failures.append(f"#{row.rank} {row.combo}: {row.status}")
        seconds = sum(v for v in (row.encode_s, row.reduce_s, row.cluster_s) if not math.isnan(v))
        style = "bold green" if row.rank <= top_k and row.status == "ok" else (
            "dim" if row.status != "ok" else None)
        out.add_row(str(row.rank), row.combo, _num(row.silhouette), _num(row.agreement),
                    _num(row.score), str(row.clusters), f"{seconds:.1f}",
                    *(_num(getattr(row, m)) for m in external), style=style)
    notes = [f"{len(table) - max_rows} more rows in leaderboard.csv"] if len(table) > max_rows else []
    out.caption = "\n".join(notes + failures) or None
    out.caption_justify = "left"
    return out


def make_console(quiet: bool = False) -> Console:
    return Console(quiet=quiet, highlight=False)
