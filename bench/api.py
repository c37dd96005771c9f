"""bench from Python: `run_grid` runs a grid on images and returns a `Result`; the CLI
(`python -m bench.run`) is this call with its flags, followed by `Result.write`."""

import contextlib
import platform
import time
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from bench import __version__
from bench.defaults import DEFAULT_RANK, METHODS, MIN_NMI, MIN_SHARE, RULES, ranked_columns, split_rule
from bench.errors import UserError, not_a_rule, unknown_name

BACKENDS = ("loky", "threading", "multiprocessing", "dask")
DEFAULT_OUT = Path("results")

# (smallest value, largest value, whole numbers only) of each numeric option, as the CLI flags
_RANGES = {"n_clusters": (2, None, True), "seed": (0, 2**32 - 1, True), "epochs": (1, None, True),
           "plateau": (0, 1, False), "known_zeros": (0, None, True), "top_k": (1, None, True),
           "min_nmi": (0, 1, False), "min_share": (0, 1, False), "jobs": (1, None, True),
           "image_size": (2, None, True)}


def _named(option: str) -> str:
    """An option as both its callers know it: `top_k (--top-k)`."""
    return f"{option} (--{option.replace('_', '-')})"


def _check_options(options: dict) -> None:
    """Refuse a bad option in one line; numbers become Python's own (torch takes no NumPy
    integer as a seed)."""
    for name, (low, high, whole) in _RANGES.items():
        value = options.get(name)
        if value is None:
            continue
        value = value.item() if isinstance(value, np.generic) else value  # shown and kept as Python's
        kind = Integral if whole else Real
        if isinstance(value, bool) or not isinstance(value, kind):
            raise UserError(f"{_named(name)} {value!r}: expected a {'whole ' if whole else ''}number")
        if value < low or (high is not None and value > high):
            raise UserError(f"{_named(name)} {value!r}: must be {low} or more" if high is None
                            else f"{_named(name)} {value!r}: must be from {low} to {high}")
        options[name] = int(value) if whole else float(value)
    for name in ("pretrained", "self_train"):
        if not isinstance(options[name], (bool, np.bool_)):
            raise UserError(f"{name} {options[name]!r}: expected True or False")  # "no" would be true
    for name, known in (("rank_by", RULES), ("ensemble", METHODS), ("backend", BACKENDS)):
        if options[name] not in known:
            if name == "rank_by":
                raise not_a_rule(_named(name), options[name])
            raise unknown_name(_named(name), options[name], known)
    if options["scheduler"] and options["backend"] != "dask":
        raise UserError(f"{_named('scheduler')} needs backend 'dask'")


@dataclass(eq=False)  # two results are two runs: compared by identity, not by their tables
class Result:
    """What a run found. `leaderboard`: every combo ranked (the columns of leaderboard.csv);
    `labels`: the ensemble's, one per image; `members`: the combos it voted; `audit`: how well
    the label-free pick did, when labels were given; `record`: everything run.json holds."""
    leaderboard: pd.DataFrame
    labels: np.ndarray
    members: pd.DataFrame
    record: dict
    dataset: object
    grid: object = field(repr=False)
    out: Path = DEFAULT_OUT  # where `write` puts the run folder by default
    _ranked: list = field(repr=False, default_factory=list)  # outcomes in leaderboard order
    _chosen: list = field(repr=False, default_factory=list)  # (row, outcome) of each member
    _cache: object = field(repr=False, default=None)
    _run_s: float = field(repr=False, default=0.0)  # seconds from the call to the result

    @property
    def audit(self) -> dict | None:
        return self.record.get("audit")

    @property
    def combo_labels(self) -> dict:
        """Each combo's labels (combo -> one label per image; -1 noise), in leaderboard order;
        the combos that failed before labelling are left out."""
        return {o.combo.label: o.labels for o in self._ranked if o.labels is not None}

    @property
    def timings(self) -> dict:
        return self.record["timings_s"]

    def __repr__(self) -> str:
        from bench.console import counted
        data, top = self.record["data"], self.leaderboard.iloc[0]
        return (f"<bench Result: grid {self.grid.name!r}, {counted(len(self.leaderboard), 'combo')} on {data['shape'][0]} "
                f"images, top {top['combo']!r}, {len(self.members)} voted>")

    def summary(self) -> list[tuple[str, str]]:
        """(heading, text) lines: what the console's summary panel and the report page show."""
        from bench.report import summary_lines
        return summary_lines(self.record)

    def write(self, out=None, *, plots: bool = True, run_key: str | None = None) -> Path:
        """The run folder under `out` (submission.csv, file_labels.csv for a folder's images,
        leaderboard.csv, combo_labels.npz, run.json and, with
        `plots`, the pictures and report.html), written whole or not at all; returns its path."""
        from bench import replay, report
        from bench.export import RunFolder, check_writable
        if out is not None and not str(out).strip():  # as run_grid's: Path("") is the working folder
            raise UserError("out: empty; name a folder")
        out = Path(out if out is not None else self.out)
        check_writable(out)
        started = time.perf_counter()
        record = {**self.record, "timings_s": {k: v for k, v in self.record["timings_s"].items() if k != "report"}}
        folder = RunFolder(out, self.grid.name)
        try:
            folder.write_submission(self.labels, self.dataset.files)
            folder.write_table("leaderboard.csv", self.leaderboard)
            folder.write_combo_labels(self.combo_labels, self.dataset.y)
            if plots:
                pictures = report.pictures(folder.staging, self.dataset, self.leaderboard, self._ranked,
                                           self.labels, self._cache, record["args"]["seed"], self._chosen,
                                           record["args"]["rank_by"])
                record["timings_s"]["report"] = round(time.perf_counter() - started, 3)
            record["timings_s"]["total"] = round(self._run_s + time.perf_counter() - started, 3)
            if plots:
                report.write_html(folder.staging, record, self.leaderboard, pictures)
            folder.write_json("run.json", record)
            path = folder.commit()
        except BaseException:
            folder.discard()
            raise
        replay.remember(self._cache.root, run_key, path)
        report.write_index(out)
        return path

    def _repr_html_(self) -> str:
        import html
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k.strip())}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>" for k, v in self.summary())
        rank_by = self.record["args"]["rank_by"]
        wanted = ["rank", "combo", *ranked_columns(rank_by, self.record["data"]["n_clusters"]), "silhouette",
                  "clusters", "acc", "status"]
        shown = list(dict.fromkeys(c for c in wanted if c in self.leaderboard.columns))
        top = self.leaderboard[shown].head(10)
        table = top.to_html(index=False, float_format="%.3f", border=0, na_rep="n/a")
        return f"<table>{rows}</table><p>leaderboard, top {len(top)} of {len(self.leaderboard)}:</p>{table}"


def make_grid(encoders, reducers, clusterers, name: str = "custom"):
    """A grid from Python: each entry a name, a (name, params) pair or a table as in a grid
    file ({"name": ..., "label": ..., param: value})."""
    from bench.grids import grid_from_table
    for stage, items in (("encoders", encoders), ("reducers", reducers), ("clusterers", clusterers)):
        if isinstance(items, (str, tuple)) or not hasattr(items, "__iter__"):
            raise UserError(f"grid {name}: {stage} must be a list of entries, got {items!r}")

    def table(item):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], dict):
            return {"name": item[0], **item[1]}
        return item
    return grid_from_table({"name": name, "encoders": [table(i) for i in encoders],
                            "reducers": [table(i) for i in reducers],
                            "clusterers": [table(i) for i in clusterers]}, f"grid {name}")


def _grid(grid, pretrained: bool, epochs, plateau):
    import copy
    from bench.grids import Grid, drop_pretrained, override_training, resolve_grid
    if not isinstance(grid, (str, Path, Grid)):
        raise UserError(f"grid {grid!r}: give a named grid ('seed', 'quick', 'full', 'no-pretrained'), "
                        "a .toml path or bench.make_grid(...)")
    grid = copy.deepcopy(grid) if isinstance(grid, Grid) else resolve_grid(str(grid))
    if not pretrained:
        drop_pretrained(grid)
    training = {name: value for name, value in (("epochs", epochs), ("plateau", plateau)) if value is not None}
    if training:
        override_training(grid, **training)
    return grid


def check_classes(dataset, n_clusters: int | None) -> None:
    """Labels that cannot set the cluster count as given: one class, or -1 (scikit-learn's mark
    for an unlabelled image) beside two or more classes, where it would be one more class and,
    without `n_clusters`, one more cluster. -1 and 1 alone are two classes."""
    from bench.console import counted
    if dataset.y is None:
        return
    if n_clusters is None and dataset.n_classes == 1:
        raise UserError(f"labels: all {len(dataset.y)} images have one label; give {_named('n_clusters')}")
    unlabelled = int((dataset.y == -1).sum())
    if unlabelled and dataset.n_classes > 2 and n_clusters != dataset.n_classes:
        raise UserError(f"labels: {counted(unlabelled, 'image')} labelled -1 beside {dataset.n_classes - 1} "
                        f"classes, and every label is a class ({dataset.n_classes} here): label every image, "
                        f"or give {_named('n_clusters')} {dataset.n_classes} if -1 is a class")


def prepare(images, labels, n_clusters, options: dict):
    """Everything that can be wrong with the input, checked before any training: the grid,
    the dataset, the cluster count and the folders to write."""
    from bench.data import load_dataset
    from bench.export import check_writable
    from bench.grids import check_entries, check_travel
    _check_options(options)
    grid = _grid(options["grid"], options["pretrained"], options["epochs"], options["plateau"])
    check_travel(grid, options["backend"])
    dataset = load_dataset(images, labels, image_size=options["image_size"])
    n = len(dataset.x)
    k = options["n_clusters"] or dataset.n_classes or 2
    check_classes(dataset, options["n_clusters"])
    if not 2 <= k < n:
        raise UserError(f"{_named('n_clusters')} {k}: need 2 <= clusters < number of images ({n})")
    check_entries(grid, dataset, n_clusters=k, seed=options["seed"])
    if options["known_zeros"] > n:
        raise UserError(f"{_named('known_zeros')} {options['known_zeros']}: more than the {n} images "
                        "(0 turns the first-images rule off)")
    for name in ("out", "cache"):  # Path("") is the working folder: an empty variable, more likely
        if options[name] is not None and not str(options[name]).strip():
            raise UserError(f"{_named(name)}: empty; name a folder")
    check_writable(Path(options["out"]))
    if options["cache"] is not None:
        check_writable(Path(options["cache"]), "cache folder")
    return grid, dataset, k


def run_grid(images=None, n_clusters: int | None = None, *, grid="quick", labels=None, seed: int = 0,
             epochs: int | None = None, plateau: float | None = None, pretrained: bool = True,
             image_size: int | None = None, rank_by: str = DEFAULT_RANK, ensemble: str = "vote",
             top_k: int = 5, min_nmi: float = MIN_NMI, min_share: float = MIN_SHARE, known_zeros: int = 5,
             self_train: bool = False, jobs: int | None = None, backend: str = "loky",
             scheduler: str | None = None, out="results", cache=None, progress: bool = True,
             console=None, record_args: dict | None = None) -> Result:
    """Run every combo of `grid` on `images`, rank them without labels, vote the ensemble.

    `images`: an array (N, H, W[, C]) uint8 or float, a path (.npy, .npz, image folder), or None
    for release/trainX.npy if present, else the embedded digits. `labels`: an array or a path,
    for the external metrics and the audit only. `grid`: a named grid ("seed", "quick", "full",
    "no-pretrained"), a .toml path or `make_grid(...)`. The other keywords are the CLI's flags
    (`pretrained=False` is --no-pretrained). `out`: where `Result.write` puts run folders by
    default; finished stages are kept in `cache` (default OUT/cache) and reused by later runs.
    `progress`: messages and progress bars (in a notebook too); `console`: a rich Console for them."""
    from bench import scoring, selection
    from bench.cache import Cache, library_versions
    from bench.cluster import dask_client
    from bench.console import counted, make_console
    from bench.data import MAX_AUTO_SIZE
    from bench.executor import Executor
    from bench.stages import single_threaded

    from bench.allocator import keep_freed_memory
    keep_freed_memory()  # this process scores and draws; the stages' workers do the same
    options = dict(grid=grid, seed=seed, epochs=epochs, plateau=plateau, pretrained=pretrained,
                   image_size=image_size, rank_by=rank_by, ensemble=ensemble, top_k=top_k, min_nmi=min_nmi,
                   min_share=min_share, known_zeros=known_zeros, self_train=self_train,
                   jobs=jobs, backend=backend, scheduler=scheduler, n_clusters=n_clusters, out=out, cache=cache)
    started = time.perf_counter()
    grid, dataset, k = prepare(images, labels, n_clusters, options)
    seed, top_k, known_zeros, min_nmi, min_share = (options[name] for name in
                                                    ("seed", "top_k", "known_zeros", "min_nmi", "min_share"))
    jobs = options["jobs"] or _cores()
    console = console or make_console(quiet=not progress)
    n, c, h, w = dataset.x.shape
    combos = grid.combos()
    console.print(f"[bold]data[/] {dataset.source}: {n} images {h}x{w}x{c}{dataset.resized_note}, "
                  f"{k} clusters{', ground truth known' if dataset.y is not None else ''}")
    if dataset.resized is None and min(h, w) > 2 * MAX_AUTO_SIZE:
        console.print(f"  [yellow]images of {h}x{w}[/]: bench's encoders are built for small images; "
                      f"--image-size {MAX_AUTO_SIZE} (image_size={MAX_AUTO_SIZE}) trains faster in less memory")
    console.print(f"[bold]grid[/] {grid.name}: {counted(len(grid.encoders), 'encoder')} x "
                  f"{counted(len(grid.reducers), 'reducer')} x {counted(len(grid.clusterers), 'clusterer')} = "
                  f"{counted(len(combos), 'combo')}, "
                  f"{counted(jobs, 'job')} ({backend})")
    for note in grid.skipped:
        console.print(f"  [dim]skipped {note}[/]")

    cache = Cache(cache_root(out, cache))
    executor = Executor(cache, jobs=jobs, backend=backend, console=console if progress else None)
    with dask_client(scheduler, jobs) if backend == "dask" else contextlib.nullcontext():
        outcomes = executor.run(grid, dataset, n_clusters=k, seed=seed)
    stages_s = time.perf_counter() - started
    total = sum(len(set(keys)) for keys in (grid.encoders, [(e, r) for e in grid.encoders
                                                              for r in grid.reducers], combos))
    console.print(f"[bold]cache[/] {executor.cache_hits}/{total} stages from cache, "
                  f"{executor.computed} computed ({cache.root})")
    if executor.warnings:
        console.print(f"  [dim]{len(executor.warnings)} warning(s) from {backend}'s worker pool, "
                      f"kept in run.json (executor_warnings), e.g. {executor.warnings[0][:120]}[/]")

    # one thread, as the stages run: BLAS rounds with the thread count, and the run-level
    # scores' near-ties would rank differently on a machine with other cores
    with single_threaded():
        table, ranked, members, skipped, labels_out, agreements, self_trained = _decide(
            outcomes, dataset, cache, console, k=k, seed=seed, rank_by=rank_by, min_share=min_share,
            top_k=top_k, min_nmi=min_nmi, ensemble=ensemble, known_zeros=known_zeros, self_train=self_train)
    record = {
        "args": record_args or _args(options, dataset, cache),
        "bench": __version__, "python": platform.python_version(), "versions": library_versions(),
        "data": {"source": dataset.source, "shape": [n, h, w, c], "fingerprint": dataset.fingerprint,
                 "n_clusters": k, "ground_truth": dataset.y is not None, "resized": dataset.resized},
        "grid": {"name": grid.name, "combos": len(combos)},
        "cache": {"path": str(cache.root), "hits": executor.cache_hits, "computed": executor.computed},
        "executor_warnings": executor.warnings,
        "ensemble": {"method": ensemble,
                     "members": [{"rank": row.rank, "combo": row.combo, "agreement": agree}
                                 for (row, _), agree in zip(members, agreements)],
                     "skipped": skipped, "self_train": self_trained,
                     "caution": selection.encoder_tie(table, rank_by, n, k),
                     "metrics": scoring.external(dataset.y, labels_out) if dataset.y is not None else None},
        "timings_s": {"stages": round(stages_s, 3)},
    }
    if dataset.y is not None:
        record["audit"] = selection.audit(table, record["ensemble"]["metrics"]["acc"],
                                          [row.rank for row, _ in members])
    run_s = time.perf_counter() - started
    record["timings_s"]["total"] = round(run_s, 3)  # `write` adds the pictures' and page's time
    return Result(table, labels_out, pd.DataFrame(record["ensemble"]["members"]), record, dataset, grid,
                  Path(out), ranked, members, cache, run_s)


def _decide(outcomes, dataset, cache, console, *, k, seed, rank_by, min_share, top_k, min_nmi, ensemble,
            known_zeros, self_train):
    """The leaderboard, its members and the ensemble's labels (self-taught where asked)."""
    import bench.ensemble as ens
    from bench import leaderboard, scoring, selection
    table = leaderboard.build(outcomes, dataset.y, images=dataset.x, n_clusters=k, seed=seed,
                              rank_by=rank_by, min_share=min_share, cache=cache)
    ranked = leaderboard.outcome_order(table, outcomes)
    from bench.console import leaderboard_table
    if (table["status"] != "ok").all():
        console.print(leaderboard_table(table, set(), rank_by, k))
        # the commonest reason in the error itself: with --quiet or from Python nothing is shown above
        reasons = table["status"].value_counts()
        raise UserError(f"no combo worked; {reasons.iloc[0]} of {len(table)}: {reasons.index[0]}")
    try:
        _, chosen, skipped = selection.pick(table, {o.combo.label: o.labels for o in outcomes}, rank_by, k,
                                            top_k, min_nmi)
    except UserError:  # nothing to vote on: what the combos did find is still worth seeing
        console.print(leaderboard_table(table, set(), rank_by, k))
        raise
    # plain namespaces rather than itertuples' generated class, so that a Result pickles
    rows = {row["combo"]: (SimpleNamespace(**row), o) for row, o in zip(table.to_dict("records"), ranked)}
    members = [rows[combo] for combo in chosen]
    labels_out, agreements = ens.combine(ensemble, [o.labels for _, o in members],
                                         [getattr(row, split_rule(rank_by)[1]) for row, _ in members], k,
                                         known_zeros, seed)
    self_trained = None
    if self_train:
        from bench.selftrain import self_train as teach
        voted = labels_out
        features = cache.array("encode", members[0][1].ok_key("encode"))
        labels_out, self_trained = teach(labels_out, [o.labels for _, o in members], features, k, seed)
        if dataset.y is not None:
            self_trained["acc_before"] = scoring.accuracy(dataset.y, voted)
    return table, ranked, members, skipped, labels_out, agreements, self_trained


def cache_root(out, cache=None) -> Path:
    """The stage cache's folder: `cache`, else OUT/cache; absolute, as workers (dask) may not
    share our working directory."""
    return (Path(cache) if cache is not None else Path(out) / "cache").resolve()


def _cores() -> int:
    import os
    return os.cpu_count() or 1


def _args(options: dict, dataset, cache) -> dict:
    """run.json's "args" for a call from Python, in the CLI's names."""
    from bench.grids import Grid
    grid = options["grid"]
    return {**{k: v for k, v in options.items() if k not in ("grid", "pretrained")},
            "grid": grid.name if isinstance(grid, Grid) else str(grid), "data": dataset.source,
            "labels": "given" if dataset.y is not None else None,
            "no_pretrained": not options["pretrained"], "out": str(options["out"]), "cache": str(cache.root)}
