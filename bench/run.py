"""`python -m bench.run`: run a grid of (encoder, reducer, clusterer) combos on a set of images,
rank them without labels, and export a majority-vote ensemble as the submission."""

import argparse
import functools
import os
import signal
import sys
from pathlib import Path

from bench.defaults import DEFAULT_RANK, ENCODER_SCORES, METHODS, MIN_NMI, MIN_SHARE, SCORES
from bench.errors import UserError


def _at_least(minimum: int):
    """An argparse type: a whole number >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text.strip()} must be {minimum} or more")  # int() took the spaces
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


_positive, _non_negative = _at_least(1), _at_least(0)


def _fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text.strip()} must be from 0 to 1")  # float() took the spaces
    return value


_fraction.__name__ = "number from 0 to 1"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (exit 2), like every other input error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


class DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """Each flag's default in --help, except where it has none or is an off switch. A flag whose
    help describes its default in words has no default value, so nothing is said twice."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m bench.run", description=__doc__,
        formatter_class=DefaultsShown)
    p.add_argument("--data", help="images: .npy (N,H,W,C), .npz with 'x' (and optional 'y'), or a "
                   "folder of image files (PNG, JPEG, ...); default release/trainX.npy if present, else "
                   "the embedded scikit-learn digits")
    p.add_argument("--image-size", type=_at_least(2), metavar="S",
                   help="resize every image to SxS (shorter side to S, centre crop); default: images "
                   "of one size are kept as they are, mixed sizes become the median shorter side, "
                   "at most 64")
    p.add_argument("--labels", help="ground truth (.npy, .npz 'y', or a .csv/.tsv table whose rows are "
                   "matched by 'file' for a folder, else by 'id', else in order): external metrics only, "
                   "never used for fitting, ranking or voting")
    p.add_argument("--n-clusters", type=_at_least(2), help="clusters to find; default: the class count "
                   "when labels are known, else 2")
    p.add_argument("--grid", default="quick", help="named grid (seed, quick, full, no-pretrained) or a .toml file")
    p.add_argument("--seed", type=_non_negative, default=0, help="seed for every stage; same seed, same results")
    p.add_argument("--epochs", type=_positive, help="override training epochs of every trainable encoder "
                   "(default: each entry's own, --list)")
    p.add_argument("--plateau", type=_fraction, help="stop every trainable encoder's training once "
                   "two epochs in a row lower its loss by less than this fraction (epochs: the cap; "
                   "default: each entry's own, 0.01-0.02 for conv, dense, denoise and vae, else 0)")
    p.add_argument("--out", default="results", help="folder for run folders and the cache")
    p.add_argument("--cache", help="stage cache folder (default OUT/cache)")
    p.add_argument("--known-zeros", type=_non_negative, default=5,
                   help="the first N images are class 0: the submission is relabelled so that "
                   "most of them are 0; 0 turns it off")
    p.add_argument("--top-k", type=_positive, default=5, help="ensemble members: the top K combos "
                   "that agree with the top one (--min-nmi)")
    p.add_argument("--min-nmi", type=_fraction, default=MIN_NMI,
                   help="a member's labels must share at least this NMI with the top combo's; "
                   "0 takes the top K as they come (see README: the ensemble)")
    p.add_argument("--min-share", type=_fraction, default=MIN_SHARE,
                   help="a partition whose smallest cluster holds less than this fraction of an "
                   "even share (images / clusters) is degenerate: never ranked above a working "
                   "combo nor voted; 0 allows any (see README: how combos are ranked)")
    # checked by run_grid, not argparse's choices: one line with a "did you mean", not 170 rules
    p.add_argument("--rank-by", default=DEFAULT_RANK, metavar="RULE",
                   help="the label-free ranking that orders the leaderboard and picks the "
                   f"ensemble: a score ({', '.join(SCORES)}) or levels 'ENCODER > SCORE', "
                   f"encoders first by {', '.join(ENCODER_SCORES)}, optionally after 'pretrained >', "
                   "optionally 'ENCODER > global > SCORE' (at k = 2, global reducers' combos first) "
                   "(see README: how combos are ranked)")
    p.add_argument("--ensemble", choices=METHODS, default="vote",
                   help="majority vote; vote weighted by score; co-association consensus")
    p.add_argument("--self-train", action="store_true",
                   help="after the ensemble, the images all members agree on teach a classifier on the "
                   "top member's encoder features, which relabels the rest (see README: the ensemble)")
    p.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1,
                   help="parallel workers, each single-threaded; the default is this machine's core count")
    p.add_argument("--backend", default="loky",
                   help="joblib backend: loky (local processes), threading, multiprocessing, or "
                   "dask (a dask.distributed cluster: --scheduler, else a local one of --jobs workers)")
    p.add_argument("--scheduler", help="address of a running dask scheduler, e.g. tcp://host:8786 "
                   "(with --backend dask; give --cache a path all workers share)")
    p.add_argument("--list", action="store_true", help="list the registries and grids, then exit")
    p.add_argument("--no-pretrained", action="store_true",
                   help="leave out encoders with weights learned on other data (ImageNet)")
    p.add_argument("--no-plots", action="store_true", help="skip the pictures and report.html")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--no-replay", action="store_true", help="assemble the run from the stage cache "
                   "even when a finished run had the same inputs (default: copy that run's results)")
    return p


def list_registries(console) -> None:
    from rich.table import Table
    from bench.grids import NAMED_GRIDS, STAGES
    for kind, registry in STAGES.items():
        table = Table(title=kind, title_justify="left")
        table.add_column("name")
        table.add_column("what it is")
        table.add_column("notes")
        for entry in registry:
            notes = ["pretrained weights"] if entry.pretrained else []
            notes += ["local: at k = 2 ranked after global reducers"] if entry.local else []
            notes += [f"scales: {entry.scales}"] if entry.scales else []
            notes += [f"unavailable: {entry.missing}"] if entry.missing else []
            table.add_row(entry.name, entry.summary, "; ".join(notes))
        console.print(table)
    table = Table(title="grids", title_justify="left")
    for column in ("name", "encoders", "reducers", "clusterers", "combos"):
        table.add_column(column)
    for name, make in NAMED_GRIDS.items():
        grid = make()
        table.add_row(name, *(", ".join(s.label for s in specs) for specs in
                              (grid.encoders, grid.reducers, grid.clusterers)), str(len(grid.combos())))
    console.print(table)


def cache_root(args) -> Path:
    from bench.api import cache_root as root
    return root(args.out, args.cache)


def run(args, console, run_key: str | None = None) -> int:
    """The run `args` asks for, through the Python API, its folder written under --out."""
    from bench.api import run_grid
    from bench.console import leaderboard_table, summary_panel
    result = run_grid(
        args.data, args.n_clusters, grid=args.grid, labels=args.labels, seed=args.seed,
        epochs=args.epochs, plateau=args.plateau, pretrained=not args.no_pretrained,
        image_size=args.image_size, rank_by=args.rank_by, ensemble=args.ensemble, top_k=args.top_k,
        min_nmi=args.min_nmi, min_share=args.min_share, known_zeros=args.known_zeros,
        self_train=args.self_train, jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
        out=args.out, cache=args.cache, progress=not args.quiet, console=console, record_args=vars(args))
    path = result.write(args.out, plots=not args.no_plots, run_key=run_key)
    console.print(leaderboard_table(result.leaderboard, set(result.members["rank"]), args.rank_by,
                                    result.record["data"]["n_clusters"]))
    console.print(summary_panel(result.summary(), f"{path}/"))
    return 0


class Stopped(KeyboardInterrupt):
    """SIGINT (Ctrl-C) or SIGTERM: stop, keep the finished stages, write no run folder.

    Raised by our own handler rather than Python's default one: when a plain KeyboardInterrupt
    landed in code run by exec() (a dataclass being built, a lazy import inside torch), CPython
    flagged it as unhandled and killed the process by SIGINT (-2) whatever `main` returned (3 of
    60 Ctrl-C'd runs); its check is for KeyboardInterrupt exactly, so a subclass keeps 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(main_pid: int, signum, frame):
    if os.getpid() != main_pid:  # a worker forked by the multiprocessing backend: end quietly, as told
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Stopped(signum)


def as_command(body) -> int:
    """`body()`'s exit code, run as bench's commands run: Ctrl-C or SIGTERM stops it (`Stopped`),
    bad input is one line on stderr (exit 2), an interrupt keeps what the cache holds."""
    handler = functools.partial(_on_signal, os.getpid())
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return body()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print("interrupted: finished stages are kept in the cache; rerun to resume", file=sys.stderr)
        return 128 + getattr(e, "signum", signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv=None) -> int:
    from bench.console import make_console
    args = parser().parse_args(argv)
    console = make_console(args.quiet)

    def body() -> int:
        if args.list:
            list_registries(console)
            return 0
        from bench import replay
        run_key = replay.key(args)
        if not args.no_replay and replay.replay(args, cache_root(args), run_key, console):
            return 0
        return run(args, console, run_key)
    return as_command(body)


if __name__ == "__main__":
    sys.exit(main())
