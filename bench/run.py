"""`python -m bench.run`: run a grid of (encoder, reducer, clusterer) combos on a set of images,
rank them without labels, and export a majority-vote ensemble as the submission."""

import argparse
import contextlib
import os
import platform
import signal
import sys
import time
from pathlib import Path

from bench import __version__
from bench.defaults import DEFAULT_RANK, ENCODER_SCORES, METHODS, MIN_NMI, MIN_SHARE, RULES, SCORES, split_rule
from bench.errors import UserError


def _at_least(minimum: int):
    """An argparse type: a whole number >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} must be {minimum} or more")
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
        raise argparse.ArgumentTypeError(f"{text} must be from 0 to 1")
    return value


_fraction.__name__ = "number from 0 to 1"


BACKENDS = ("loky", "threading", "multiprocessing", "dask")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (exit 2), like every other input error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m bench.run", description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", help="images: .npy (N,H,W,C), .npz with 'x' (and optional 'y'), or a "
                   "folder of PNG/JPEG; default release/trainX.npy if present, else the embedded "
                   "scikit-learn digits")
    p.add_argument("--labels", help="ground truth (.npy, .npz 'y', .csv): external metrics only, "
                   "never used for fitting, ranking or voting")
    p.add_argument("--n-clusters", type=_positive, help="clusters to find; default: the class count "
                   "when labels are known, else 2")
    p.add_argument("--grid", default="quick", help="named grid (seed, quick, full) or a .toml file")
    p.add_argument("--seed", type=_non_negative, default=0, help="seed for every stage; same seed, same results")
    p.add_argument("--epochs", type=_positive, help="override training epochs of every trainable encoder")
    p.add_argument("--plateau", type=_fraction, help="stop every trainable encoder's training once "
                   "two epochs in a row lower its loss by less than this fraction (epochs: the cap)")
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
    p.add_argument("--rank-by", choices=RULES, default=DEFAULT_RANK, metavar="RULE",
                   help="the label-free ranking that orders the leaderboard and picks the "
                   f"ensemble: a score ({', '.join(SCORES)}) or levels 'ENCODER > SCORE', "
                   f"encoders first by {', '.join(ENCODER_SCORES)}, optionally after 'pretrained >' "
                   "(see README: how combos are ranked)")
    p.add_argument("--ensemble", choices=METHODS, default="vote",
                   help="majority vote; vote weighted by score; co-association consensus")
    p.add_argument("--self-train", action="store_true",
                   help="after the ensemble, the images all members agree on teach a classifier on the "
                   "top member's encoder features, which relabels the rest (see README: the ensemble)")
    p.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1,
                   help="parallel workers (each single-threaded)")
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


def prepare(args):
    """Everything that can be wrong with the input, checked before any training."""
    from bench.data import load_dataset
    from bench.export import check_writable
    from bench.grids import check_entries, drop_pretrained, override_training, resolve_grid

    if args.backend not in BACKENDS:
        raise UserError(f"--backend {args.backend!r}: use {', '.join(BACKENDS)}")
    if args.scheduler and args.backend != "dask":
        raise UserError("--scheduler needs --backend dask")
    grid = resolve_grid(args.grid)
    if args.no_pretrained:
        drop_pretrained(grid)
    training = {name: value for name, value in (("epochs", args.epochs), ("plateau", args.plateau))
                if value is not None}
    if training:
        override_training(grid, **training)
    dataset = load_dataset(args.data, args.labels)
    n = len(dataset.x)
    k = args.n_clusters or dataset.n_classes or 2
    if not 2 <= k < n:
        raise UserError(f"--n-clusters {k}: need 2 <= clusters < number of images ({n})")
    check_entries(grid, dataset, n_clusters=k, seed=args.seed)
    if args.known_zeros > n:
        raise UserError(f"--known-zeros {args.known_zeros}: more than the {n} images")
    check_writable(Path(args.out))
    if args.cache:
        check_writable(Path(args.cache), "cache folder")
    return grid, dataset, k


def cache_root(args) -> Path:
    # absolute: workers (dask) may not share our working directory
    return (Path(args.cache) if args.cache else Path(args.out) / "cache").resolve()


def run(args, console, run_key: str | None = None) -> int:
    import bench.ensemble as ensemble
    from bench import leaderboard, replay, report, scoring, selection
    from bench.cache import Cache, library_versions
    from bench.cluster import dask_client
    from bench.console import leaderboard_table, summary_panel
    from bench.executor import Executor
    from bench.export import RunFolder

    started = time.perf_counter()
    grid, dataset, k = prepare(args)
    n, c, h, w = dataset.x.shape
    combos = grid.combos()
    console.print(f"[bold]data[/] {dataset.source}: {n} images {h}x{w}x{c}, "
                  f"{k} clusters{', ground truth known' if dataset.y is not None else ''}")
    console.print(f"[bold]grid[/] {grid.name}: {len(grid.encoders)} encoders x {len(grid.reducers)} "
                  f"reducers x {len(grid.clusterers)} clusterers = {len(combos)} combos, "
                  f"{args.jobs} jobs ({args.backend})")
    for note in grid.skipped:
        console.print(f"  [dim]skipped {note}[/]")

    cache = Cache(cache_root(args))
    executor = Executor(cache, jobs=args.jobs, backend=args.backend,
                        console=None if args.quiet else console)
    with dask_client(args.scheduler, args.jobs) if args.backend == "dask" else contextlib.nullcontext():
        outcomes = executor.run(grid, dataset, n_clusters=k, seed=args.seed)
    stages_s = time.perf_counter() - started
    total = sum(len(set(keys)) for keys in (grid.encoders, [(e, r) for e in grid.encoders
                                                              for r in grid.reducers], combos))
    console.print(f"[bold]cache[/] {executor.cache_hits}/{total} stages from cache, "
                  f"{executor.computed} computed ({cache.root})")
    if executor.warnings:
        console.print(f"  [dim]{len(executor.warnings)} warning(s) from {args.backend}'s worker pool, "
                      f"kept in run.json (executor_warnings), e.g. {executor.warnings[0][:120]}[/]")

    table = leaderboard.build(outcomes, dataset.y, images=dataset.x, n_clusters=k, seed=args.seed,
                              rank_by=args.rank_by, min_share=args.min_share, cache=cache)
    ranked = leaderboard.outcome_order(table, outcomes)
    if (table["status"] != "ok").all():
        console.print(leaderboard_table(table, set(), args.rank_by))
        raise UserError("every combo failed; see the status column above")
    members, skipped = ensemble.choose_members(table, ranked, k, args.top_k, args.min_nmi)
    labels, agreements = ensemble.combine(args.ensemble, [o.labels for _, o in members],
                                          [getattr(row, split_rule(args.rank_by)[1]) for row, _ in members], k,
                                          args.known_zeros, args.seed)
    self_trained = None
    if args.self_train:
        from bench.selftrain import self_train
        ensemble_labels = labels
        features = cache.load("encode", members[0][1].ok_key("encode"))[0]["x"]
        labels, self_trained = self_train(labels, [o.labels for _, o in members], features, k, args.seed)
        if dataset.y is not None:
            self_trained["acc_before"] = scoring.accuracy(dataset.y, ensemble_labels)
    record = {
        "args": vars(args), "bench": __version__, "python": platform.python_version(),
        "versions": library_versions(),
        "data": {"source": dataset.source, "shape": [n, h, w, c], "fingerprint": dataset.fingerprint,
                 "n_clusters": k, "ground_truth": dataset.y is not None},
        "grid": {"name": grid.name, "combos": len(combos)},
        "cache": {"path": str(cache.root), "hits": executor.cache_hits, "computed": executor.computed},
        "executor_warnings": executor.warnings,
        "ensemble": {"method": args.ensemble,
                     "members": [{"rank": row.rank, "combo": row.combo, "agreement": agree}
                                 for (row, _), agree in zip(members, agreements)],
                     "skipped": skipped, "self_train": self_trained,
                     "metrics": scoring.external(dataset.y, labels) if dataset.y is not None else None},
        "timings_s": {"stages": round(stages_s, 3)},
    }
    if dataset.y is not None:
        record["audit"] = selection.audit(table, record["ensemble"]["metrics"]["acc"],
                                          [row.rank for row, _ in members])

    folder = RunFolder(Path(args.out), grid.name)
    try:
        folder.write_submission(labels)
        folder.write_table("leaderboard.csv", table)
        if not args.no_plots:
            report_started = time.perf_counter()
            pictures = report.pictures(folder.staging, dataset, table, ranked, labels, cache, args.seed,
                                            members, args.rank_by)
            record["timings_s"]["report"] = round(time.perf_counter() - report_started, 3)
        record["timings_s"]["total"] = round(time.perf_counter() - started, 3)
        if not args.no_plots:
            report.write_html(folder.staging, record, table, pictures)
        folder.write_json("run.json", record)
        path = folder.commit()
    except BaseException:
        folder.discard()
        raise
    replay.remember(cache.root, run_key, path)
    report.write_index(Path(args.out))
    console.print(leaderboard_table(table, {row.rank for row, _ in members}, args.rank_by))
    console.print(summary_panel(report.summary_lines(record), f"{path}/"))
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


def _on_signal(signum, frame):
    raise Stopped(signum)


def main(argv=None) -> int:
    from bench.console import make_console
    args = parser().parse_args(argv)
    console = make_console(args.quiet)
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.list:
            list_registries(console)
            return 0
        from bench import replay
        run_key = replay.key(args)
        if not args.no_replay and replay.replay(args, cache_root(args), run_key, console):
            return 0
        return run(args, console, run_key)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print("interrupted: finished stages are kept in the cache; rerun to resume", file=sys.stderr)
        return 128 + getattr(e, "signum", signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
