"""`python -m bench.show [RUN_DIR]`: re-print a finished run's summary and leaderboard (default:
the latest run under results/), recomputing nothing."""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bench.console import counted, leaderboard_table, make_console, short_combo, summary_panel
from bench.defaults import GLOBAL
from bench.errors import UserError
from bench.report import summary_lines


def latest_run(out: Path) -> Path:
    runs = [p.parent for p in out.glob("*/run.json")]
    if not runs:
        raise UserError(f"{out}: no finished runs here")
    return max(runs, key=lambda p: (p.joinpath("run.json").stat().st_mtime, p.name))


def read_run(folder: Path) -> tuple[dict, pd.DataFrame]:
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    if not (folder / "run.json").exists() and any(folder.glob("*/run.json")):
        raise UserError(f"{folder}: holds runs, is not one; name one of them, or --out {folder} for the newest")
    try:
        record, table = json.loads((folder / "run.json").read_text()), pd.read_csv(folder / "leaderboard.csv")
    except (OSError, ValueError) as e:
        raise UserError(f"{folder}: not a finished run folder ({e})") from None
    return record, with_global_column(table)


def with_global_column(table: pd.DataFrame) -> pd.DataFrame:
    """A leaderboard written before the `red_global` column, given it from the reducers' labels
    (`tsne2(perplexity=50)` is a `tsne2`); a label the registry lacks counts as global."""
    if GLOBAL in table or "reducer" not in table:
        return table
    from reducers import REDUCERS
    local = {entry.name for entry in REDUCERS if entry.local}
    names = table["reducer"].astype(str).str.split("(").str[0]
    at = table.columns.get_loc("enc_pretrained") + 1 if "enc_pretrained" in table else len(table.columns)
    table.insert(at, GLOBAL, (~names.isin(local)).astype(float))
    return table


def compare(first: Path, second: Path, console, max_rows: int = 30) -> None:
    """What changed from run `first` to run `second`: their settings and ensembles side by
    side, then the combos whose rank or status changed (largest moves first), and those in one
    run only."""
    from rich.table import Table
    (ra, a), (rb, b) = read_run(first), read_run(second)
    info = Table(title="runs compared", title_justify="left")
    info.add_column("")
    for folder in (first, second):
        info.add_column(folder.name)
    for name, get in (("data", lambda r: r["data"]["source"]), ("images", lambda r: r["data"]["shape"][0]),
                      ("grid", lambda r: f"{r['grid']['name']} ({counted(r['grid']['combos'], 'combo')})"),
                      ("seed", lambda r: r["args"]["seed"]), ("ranked by", lambda r: r["args"].get("rank_by", "silhouette")),
                      ("top combo", lambda r: r["ensemble"]["members"][0]["combo"]),
                      ("members", lambda r: len(r["ensemble"]["members"])),
                      ("ensemble", lambda r: "  ".join(f"{k.upper()} {v:.4f}" for k, v in (r["ensemble"]["metrics"] or {}).items()) or "-")):
        info.add_row(name, str(get(ra)), str(get(rb)))
    console.print(info)
    if ra["data"].get("fingerprint") != rb["data"].get("fingerprint"):
        console.print("[yellow]different images[/] (their fingerprints differ): a combo's rank in one run "
                      "says nothing of its rank in the other")
    both = a.merge(b, on="combo", suffixes=("_a", "_b"))
    both["move"] = both["rank_a"] - both["rank_b"]
    changed = both[(both["move"] != 0) | (both["status_a"] != both["status_b"])]
    changed = changed.reindex(changed["move"].abs().sort_values(ascending=False, kind="stable").index)
    if changed.empty:
        console.print(f"none of the {len(both)} shared combos changed rank or status")
    moves = Table(title=f"{len(changed)} of {len(both)} shared combos changed rank or status "
                        f"(largest moves first)", title_justify="left")
    for column in ("combo", "rank", "moved", "status", *(["ACC"] if "acc_a" in both else [])):
        moves.add_column(column)
    for row in changed.head(max_rows).itertuples():
        a_status, b_status = (s.split(":")[0] for s in (row.status_a, row.status_b))  # ok, degenerate, ...
        status = b_status if a_status == b_status else f"{a_status} -> {b_status}"
        acc = [f"{row.acc_a:.3f}" if row.acc_a == row.acc_b else f"{row.acc_a:.3f} -> {row.acc_b:.3f}"] \
            if "acc_a" in both else []
        moves.add_row(short_combo(row.combo), f"{row.rank_a} -> {row.rank_b}", f"{row.move:+d}", status, *acc)
    if not changed.empty:
        console.print(moves)
    for folder, only in ((first, set(a["combo"]) - set(b["combo"])), (second, set(b["combo"]) - set(a["combo"]))):
        if only:
            console.print(f"only in {folder.name} ({len(only)}): " + ", ".join(sorted(only)[:max_rows]))


def show(folder: Path, console) -> None:
    record, table = read_run(folder)
    console.print(leaderboard_table(table, {m["rank"] for m in record["ensemble"]["members"]},
                                    record["args"].get("rank_by", "silhouette"), record["data"].get("n_clusters")))
    console.print(summary_panel(summary_lines(record), f"{folder}/"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.show", description=__doc__)
    parser.add_argument("run_dir", nargs="?", help="a run folder (default: the latest in --out)")
    parser.add_argument("--out", default="results", help="where runs are, for the default")
    parser.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"),
                        help="print what changed between two finished runs instead")
    args = parser.parse_args(argv)
    try:
        if args.compare:
            compare(*map(Path, args.compare), make_console())
        else:
            show(Path(args.run_dir) if args.run_dir else latest_run(Path(args.out)), make_console())
        return 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
