"""`python -m bench.show [RUN_DIR]`: re-print a finished run's summary and leaderboard (default:
the latest run under results/), recomputing nothing."""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bench.console import leaderboard_table, make_console, summary_panel
from bench.errors import UserError
from bench.report import summary_lines


def latest_run(out: Path) -> Path:
    runs = [p.parent for p in out.glob("*/run.json")]
    if not runs:
        raise UserError(f"{out}: no finished runs here")
    return max(runs, key=lambda p: (p.joinpath("run.json").stat().st_mtime, p.name))


def show(folder: Path, console) -> None:
    try:
        record = json.loads((folder / "run.json").read_text())
        table = pd.read_csv(folder / "leaderboard.csv")
    except (OSError, ValueError) as e:
        raise UserError(f"{folder}: not a finished run folder ({e})") from None
    console.print(leaderboard_table(table, {m["rank"] for m in record["ensemble"]["members"]},
                                    record["args"].get("rank_by", "silhouette")))
    console.print(summary_panel(summary_lines(record), f"{folder}/"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.show", description=__doc__)
    parser.add_argument("run_dir", nargs="?", help="a run folder (default: the latest in --out)")
    parser.add_argument("--out", default="results", help="where runs are, for the default")
    args = parser.parse_args(argv)
    try:
        show(Path(args.run_dir) if args.run_dir else latest_run(Path(args.out)), make_console())
        return 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
