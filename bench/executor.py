"""Runs a grid as a tree of shared stages: each encoder trained once, each (encoder, reducer)
embedding computed once, clustering fanned out to the full product. Stages already in the
cache are skipped; the rest run in parallel through joblib.
"""

import contextlib
import functools
import multiprocessing
import queue
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed, parallel_config
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import bench.scoring
import bench.stages
import models.base
import models.train
from bench import stages
from bench.cache import Cache, code_version, make_key
from bench.data import Dataset
from bench.grids import Combo, Grid, Spec
from clusterers import CLUSTERERS
from models import MODELS, planned_epochs, takes_clusters
from reducers import REDUCERS


@dataclass
class Outcome:
    """What one combo produced: its labels (None if a stage failed) and its stage records."""
    combo: Combo
    records: dict = field(default_factory=dict)  # stage -> stages.Record
    labels: np.ndarray | None = None
    scores: dict = field(default_factory=dict)  # the partition's label-free scores (scoring.PARTITION_SCORES)

    @property
    def silhouette(self) -> float:
        return self.scores.get("silhouette", float("nan"))

    @property
    def warnings(self) -> list[str]:
        """The library warnings of its stages, each once, as "stage: Category: message"."""
        return list(dict.fromkeys(f"{stage}: {w}" for stage, r in self.records.items() for w in r.warnings))

    def ok_key(self, stage: str) -> str | None:
        """The cache key of `stage`'s result, or None when that stage did not run or failed."""
        record = self.records.get(stage)
        return record.key if record is not None and record.ok else None

    @property
    def status(self) -> str:
        for stage in ("encode", "reduce", "cluster"):
            record = self.records.get(stage)
            if record is not None and not record.ok:
                return f"{stage} failed: {record.error}"
        return "ok" if self.labels is not None else "not run: a cache entry vanished mid-run"


def stage_keys(grid: Grid, dataset: Dataset, *, n_clusters: int, seed: int):
    """Cache keys of every encoder, (encoder, reducer) and combo, from what produces them."""
    enc, red, clu = {}, {}, {}
    in_channels = dataset.x.shape[1]
    # a GPU trains to other numbers (and `simclr-scan` for longer): its stages are its own, while
    # CPU keys stay as they were
    on_gpu = {"device": "cuda"} if _gpu_devices() else {}
    for e in grid.encoders:
        entry = MODELS.get(e.name)
        enc[e] = make_key(stage="encode", data=dataset.fingerprint, entry=e.name, params=e.params,
                          in_channels=in_channels, seed=seed if entry.seeded else None,
                          code=code_version(entry.factory, models.train, models.base, bench.stages),
                          **({"n_clusters": n_clusters} if takes_clusters(e.name) else {}), **on_gpu)
    for e in grid.encoders:
        for r in grid.reducers:
            factory = REDUCERS.get(r.name).factory
            red[e, r] = make_key(stage="reduce", upstream=enc[e], entry=r.name, params=r.params,
                                 seed=seed, code=code_version(factory, bench.stages))
    for combo in grid.combos():
        factory = CLUSTERERS.get(combo.clusterer.name).factory
        clu[combo] = make_key(stage="cluster", upstream=red[combo.encoder, combo.reducer],
                              entry=combo.clusterer.name, params=combo.clusterer.params,
                              n_clusters=n_clusters, seed=seed,
                              code=code_version(factory, bench.stages, bench.scoring))
    return enc, red, clu


def _gpu_devices() -> list[str]:
    from models.train import cuda_count
    return [f"cuda:{i}" for i in range(cuda_count())]


class Executor:
    def __init__(self, cache: Cache, *, jobs: int = 1, backend: str = "loky", console=None):
        self.cache, self.jobs, self.backend, self.console = cache, jobs, backend, console
        self.in_process = jobs == 1 and backend != "dask"  # one job: no pool, live callbacks
        self.cache_hits = 0
        self.computed = 0
        self.warnings: list[str] = []  # the executor's own (joblib, loky, dask), each once

    def _progress(self):
        if self.console is None:
            return contextlib.nullcontext(None)
        return Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.fields[loss]}"),
                        console=self.console, transient=False)

    def _map(self, description: str, stage: str, calls: list, progress) -> list:
        """Run `calls` ((cache keys, delayed task) pairs) with a progress bar; their records, in
        any order."""
        task = progress.add_task(description, total=len(calls), loss="") if progress else None
        records = {}
        if not calls:
            return []

        def collect(results):
            for result in results:
                records.update((r.key, r) for r in (result if isinstance(result, list) else [result]))
                if progress:
                    progress.advance(task)
        if self.in_process:
            collect(fn(*args, **kwargs) for _, (fn, args, kwargs) in calls)
            return list(records.values())
        # the pool's own warnings (loky's "A worker stopped while some jobs were given to the
        # executor" when it replaces a worker that outgrew its memory limit) are kept for the
        # run record, not printed across the progress bars; the stages keep their own
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._parallel(stage, calls, collect, records)
        self.warnings = list(dict.fromkeys(self.warnings + stages.distinct_warnings(caught)))
        return list(records.values())

    def _parallel(self, stage: str, calls: list, collect, records: dict) -> None:
        """`calls` through joblib (or dask, `bench.cluster.run_tasks`), each result to
        `collect` as it comes.

        When the OS kills a worker (out of memory, most often) joblib's pool breaks, and which
        task killed it is unknown. The unfinished tasks then run again one at a time, each alone
        in a worker: a task that was short of memory beside others now has it all, and one that
        is killed even alone is recorded as failed. Either way the run goes on."""
        from joblib.externals.loky.process_executor import TerminatedWorkerError
        if self.backend == "dask":
            from bench.cluster import run_tasks
            self.warnings += run_tasks(calls, collect, lambda keys, reason: collect(
                [[stages.Record(stage, key, False, error=reason) for key in keys]]))
            return
        # results as they finish, where the backend can (multiprocessing's pool cannot)
        streamed = "list" if self.backend == "multiprocessing" else "generator_unordered"
        try:
            collect(Parallel(n_jobs=min(self.jobs, len(calls)), return_as=streamed)(call for _, call in calls))
        except TerminatedWorkerError:
            for keys, call in calls:
                if all(key in records for key in keys):
                    continue
                try:
                    collect(Parallel(n_jobs=2)([call]))  # n_jobs > 1: in a worker, even for one task
                except TerminatedWorkerError:
                    collect([[stages.Record(stage, key, False, error=KILLED) for key in keys
                              if key not in records]])

    def _todo(self, stage: str, keys: dict, cost) -> dict:
        """The entries of `keys` whose result is not in the cache yet, in the order to run them.
        In parallel, slowest (by `cost`) first: a stage waits for its last task, so a long task
        started last would leave workers idle. In one process, quickest first: the most stages
        are finished (and cached, should the run be stopped) soonest."""
        todo = {item: key for item, key in keys.items() if not self.cache.has(stage, key)}
        self.cache_hits += len(set(keys.values())) - len(set(todo.values()))
        sign = 1 if self.in_process else -1
        return dict(sorted(todo.items(), key=lambda item: sign * cost(item[0])))

    def run(self, grid: Grid, dataset: Dataset, *, n_clusters: int, seed: int) -> list[Outcome]:
        enc, red, clu = stage_keys(grid, dataset, n_clusters=n_clusters, seed=seed)
        self.cache.sweep()
        root = self.cache.root
        records: dict[str, stages.Record] = {}
        here = self.in_process or self.backend == "threading"  # tasks run in this process
        # dask runs tasks through its own client (see _parallel), joblib the other backends
        backend = self.backend if self.backend != "dask" else "loky"
        with parallel_config(backend=backend), self._progress() as progress, \
                stages.single_threaded() if here else contextlib.nullcontext():
            todo = self._todo("encode", enc, lambda e: MODELS.get(e.name).cost)
            # threads share this process: they update their bars directly, as one process does
            with EpochBars(progress, in_process=here,
                           remote=self.backend not in ("loky", "multiprocessing", "threading")) as bars:
                calls = self._encode_calls(todo, dataset, seed, bars, n_clusters)
                records |= {r.key: r for r in self._map("encode (train encoders)", "encode", calls, progress)}
            ok = {e for e in grid.encoders if records.get(enc[e], _cached).ok}
            todo = self._todo("reduce", {er: k for er, k in red.items() if er[0] in ok},
                              lambda er: REDUCERS.get(er[1].name).cost)
            calls = [([key], delayed(stages.reduce)(r, enc[e], key, root, seed=seed, entry=REDUCERS.get(r.name)))
                     for (e, r), key in todo.items()]
            records |= {r.key: r for r in self._map("reduce (embed)", "reduce", calls, progress)}
            ok = {er for er, k in red.items() if er[0] in ok and records.get(k, _cached).ok}
            todo = self._todo("cluster", {c: k for c, k in clu.items() if (c.encoder, c.reducer) in ok},
                              lambda c: CLUSTERERS.get(c.clusterer.name).cost)
            calls = [([key], delayed(stages.cluster)(c.clusterer, red[c.encoder, c.reducer], key, root,
                                                     n_clusters=n_clusters, seed=seed,
                                                     entry=CLUSTERERS.get(c.clusterer.name)))
                     for c, key in todo.items()]
            records |= {r.key: r for r in self._map("cluster (fan out)", "cluster", calls, progress)}
        self.computed = sum(not r.cached for r in records.values())
        return [self._outcome(c, enc, red, clu, records) for c in grid.combos()]

    def _encode_calls(self, todo: dict, dataset: Dataset, seed: int, bars, n_clusters: int) -> list:
        """(cache keys, delayed task) pairs that train the encoders of `todo`."""
        root, x = self.cache.root, dataset.x
        jobs = [(spec, key, bars.callback(spec, len(x)), MODELS.get(spec.name)) for spec, key in todo.items()]
        gpus = _gpu_devices()
        if gpus:  # one task per device at a time: each device trains its share in sequence
            shares = [jobs[i::len(gpus)] for i in range(len(gpus))]
            return [([job[1] for job in share],
                     delayed(stages.encode_group)(share, x, root, seed=seed, device=device, n_clusters=n_clusters))
                    for share, device in zip(shares, gpus) if share]
        return [([key], delayed(stages.encode)(spec, x, key, root, seed=seed, entry=entry, on_epoch=on_epoch,
                                               n_clusters=n_clusters))
                for spec, key, on_epoch, entry in jobs]

    def _outcome(self, combo: Combo, enc, red, clu, records) -> Outcome:
        outcome = Outcome(combo)
        for stage, key in (("encode", enc[combo.encoder]),
                           ("reduce", red[combo.encoder, combo.reducer]), ("cluster", clu[combo])):
            record = records.get(key)
            if record is None:
                meta = self.cache.meta(stage, key)
                if meta is None:  # an upstream stage failed, so this one never ran
                    break
                record = stages.cached_record(stage, key, meta)
            outcome.records[stage] = record
            if not record.ok:
                break
        else:
            arrays, meta = self.cache.load("cluster", clu[combo])
            outcome.labels = arrays["x"]
            outcome.scores = {name: meta.get(name, float("nan")) for name in bench.scoring.PARTITION_SCORES}
        return outcome


class EpochBars:
    """One progress bar per encoder in training, fed per epoch: directly when training runs in
    this process, through a manager queue drained by a thread when it runs in local worker
    processes. Not for remote workers (dask), which could not reach the queue."""

    def __init__(self, progress, *, in_process: bool, remote: bool):
        self.progress, self.in_process = progress, in_process
        self.enabled = progress is not None and (in_process or not remote)
        self.tasks, self.queue = [], None

    def __enter__(self):
        return self

    def _start_queue(self):
        """The manager process and the draining thread, started for the first worker bar only
        (a warm run trains nothing and pays for neither)."""
        self.manager = multiprocessing.Manager()
        self.queue = self.manager.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def callback(self, spec: Spec, n_images: int):
        """A picklable `on_epoch(epoch, loss, last)` for `spec`'s training on `n_images`, or None."""
        if not self.enabled:
            return None
        epochs = planned_epochs(spec.name, spec.kwargs, n_images)
        if not epochs:
            return None
        self.tasks.append((self.progress.add_task(f"  train {spec.label[:20]}", total=epochs, loss=""), epochs))
        index = len(self.tasks) - 1
        if self.in_process:
            return functools.partial(self._update, index)
        if self.queue is None:
            self._start_queue()
        return functools.partial(_put, self.queue, index)

    def _update(self, index: int, epoch: int, loss: float, last: bool) -> None:
        task, planned = self.tasks[index]
        stopped = last and epoch + 1 < planned  # a plateau stop: the bar ends where training did
        self.progress.update(task, completed=epoch + 1, total=epoch + 1 if stopped else planned,
                             loss=f"loss {loss:.4f}" + (f" (plateau stop, {planned} planned)" if stopped else ""))

    def _drain(self):
        while not self.stop.is_set():
            try:
                self._update(*self.queue.get(timeout=0.1))
            except queue.Empty:
                pass
            except (EOFError, OSError):  # the manager went away: nothing more will come
                return

    def __exit__(self, *exc):
        if self.queue is not None:
            self.stop.set()
            self.thread.join()
            self.manager.shutdown()


def _put(q, index: int, epoch: int, loss: float, last: bool) -> None:
    q.put((index, epoch, loss, last))


KILLED = "worker process killed by the OS, also when run alone (out of memory?)"
_cached = stages.Record("", "", True, cached=True)  # a stage served from the cache succeeded
