"""The three stage tasks (encode, reduce, cluster), as run inside a joblib worker.

Each task reads its input from the cache, writes its result to the cache and returns only a
small record, so workers on any backend (local processes, a dask cluster sharing the cache
path) exchange nothing big. Every task runs single-threaded: BLAS and torch reductions change
in the last bits with the thread count, and one thread per task makes the results independent
of `--jobs` while jobs x threads never exceeds the cores.
"""

from __future__ import annotations

import contextlib
import resource
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from bench import jit
from bench.allocator import keep_freed_memory, release
from bench.cache import Cache

if TYPE_CHECKING:  # a worker imports the registries (torch, scikit-learn) with its first stage, not before
    from bench.grids import Spec


@dataclass(frozen=True)
class Record:
    stage: str
    key: str
    ok: bool
    seconds: float = 0.0
    cached: bool = False
    error: str = ""
    warnings: tuple = ()  # distinct library warnings the stage raised, "Category: message"


def _reset_peak_memory() -> None:
    """Start the process's peak-RSS count afresh (Linux), so it measures the coming task only."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mib() -> float:
    """Peak RSS since the last reset (Linux), else since the process started."""
    with contextlib.suppress(OSError, StopIteration):
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_times() -> tuple[float, float]:
    """User and system CPU seconds of this thread (a task's own where threads share a
    process), else of the process."""
    usage = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return usage.ru_utime, usage.ru_stime


@contextlib.contextmanager
def single_threaded():
    """BLAS, OpenMP and torch at one thread for as long as this process runs tasks itself
    (`--jobs 1`, or worker threads with `--backend threading`); the settings are restored after.

    Held by the main thread around all of a run's tasks, not by each task: these thread pools
    are process-wide, and threadpoolctl lets only one thread at a time set OpenBLAS's. With a
    limit per task, the first worker thread to finish restored every core while the others were
    still computing (or a later thread's limit did nothing), so their BLAS calls rounded
    differently and the leaderboard changed with `--backend threading` about one run in four."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(threads)


# torch's global RNG is shared by threads: seeding it and drawing a model's initial weights
# happen under this lock, and training draws its noise from a generator of its own
_global_rng = threading.Lock()


def _run(stage: str, key: str, cache_root: Path, compute) -> Record:
    cache = Cache(cache_root)
    meta = cache.meta(stage, key)
    if meta is not None:  # another run or worker may have finished it meanwhile
        return cached_record(stage, key, meta)
    import torch
    torch.set_num_threads(1)
    keep_freed_memory()  # in each worker process, once
    _reset_peak_memory()
    start, cpu = time.perf_counter(), _cpu_times()
    # warnings are kept with the stage's result (and so in leaderboard.csv), not printed from
    # workers across the progress bars, where no one could tell which combo raised them (with
    # --backend threading, threads share one filter state: a warning may land with another combo)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every stage's own, not once per worker process
        for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", hidden)  # as Python hides them by default
        warnings.filterwarnings("ignore", message=jit.UNCACHEABLE)
        try:
            with threadpool_limits(1):  # in a worker process; in this one, see single_threaded
                arrays, meta = compute(cache)
            release()
        except Exception as e:  # one failing stage must not stop the run: record it
            last = traceback.extract_tb(e.__traceback__)[-1]
            where = f" ({Path(last.filename).name}:{last.lineno})"
            return Record(stage, key, False, error=f"{type(e).__name__}: {e}".split("\n")[0] + where,
                          warnings=tuple(distinct_warnings(caught)))
    seconds = time.perf_counter() - start
    user, system = (round(after - before, 3) for after, before in zip(_cpu_times(), cpu))
    meta = {**meta, "seconds": seconds, "peak_mib": round(_peak_memory_mib()), "user_s": user, "sys_s": system,
            "warnings": distinct_warnings(caught)}
    cache.save(stage, key, arrays, meta)
    return Record(stage, key, True, seconds, warnings=tuple(meta["warnings"]))


def cached_record(stage: str, key: str, meta: dict) -> Record:
    return Record(stage, key, True, meta["seconds"], cached=True, warnings=tuple(meta.get("warnings", ())))


def distinct_warnings(caught: list) -> list[str]:
    """Each warning once, in order, as one short line."""
    lines = (f"{w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"[:200]
             for w in caught)
    return list(dict.fromkeys(lines))


def _input(cache: Cache, stage: str, key: str) -> np.ndarray:
    x = cache.array(stage, key)
    if x is None:
        raise RuntimeError(f"{stage} result {key} vanished from the cache")
    return x


def _check_matrix(x: np.ndarray, n: int, what: str) -> np.ndarray:
    if x.ndim != 2 or len(x) != n:
        raise ValueError(f"{what} has shape {x.shape}, expected ({n}, d)")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or inf")
    return x.astype(np.float32, copy=False)


def encode(spec: Spec, images: np.ndarray, key: str, cache_root: Path, *, seed: int, entry=None,
           device: str = "cpu", on_epoch=None, n_clusters: int | None = None) -> Record:
    """`entry`: the registry entry of `spec`, for a worker that does not know it (each stage
    task takes its own); `n_clusters`: the run's, for an encoder that clusters."""
    def compute(cache):
        import torch
        from models import MODELS, create_encoder, runtime, takes_clusters
        from models.train import fit_encoder
        MODELS.adopt(entry)
        clusters = n_clusters if takes_clusters(spec.name) else None
        runtime.use_folder(Path(cache_root) / "onnx")  # exported networks, shared by runs and workers
        with _global_rng:
            torch.manual_seed(seed)  # the weights' initialisation
            model = create_encoder(spec.name, in_channels=images.shape[1],
                                   image_size=images.shape[2:], n_clusters=clusters, **spec.kwargs)
        latent, history = fit_encoder(model, np.array(images), seed=seed,
                                      device=torch.device(device), on_epoch=on_epoch)
        latent = _check_matrix(latent, len(images), "latent")
        # trained weights too, so reports can show reconstructions without retraining
        state = {f"state.{k}": v.cpu().numpy() for k, v in model.state_dict().items()} if history else {}
        return {"x": latent, **state}, {"loss_history": history, "device": device,
                                        **({"n_clusters": clusters} if clusters else {})}
    return _run("encode", key, cache_root, compute)


def encode_group(jobs: list[tuple], images: np.ndarray, cache_root: Path, *,
                 seed: int, device: str, n_clusters: int | None = None) -> list[Record]:
    """Several (spec, key, on_epoch, entry) encoders one after another on one device (one task
    per GPU at a time)."""
    import torch
    with torch.cuda.device(device) if device.startswith("cuda") else contextlib.nullcontext():
        records = [encode(spec, images, key, cache_root, seed=seed, entry=entry, device=device,
                          on_epoch=on_epoch, n_clusters=n_clusters) for spec, key, on_epoch, entry in jobs]
        if device.startswith("cuda"):
            torch.cuda.empty_cache()  # the worker lives on to reduce and cluster: its GPU memory goes back
    return records


def reduce(spec: Spec, upstream: str, key: str, cache_root: Path, *, seed: int, entry=None) -> Record:
    def compute(cache):
        from reducers import REDUCERS
        REDUCERS.adopt(entry)
        latent = _input(cache, "encode", upstream)
        embedding = REDUCERS.create(spec.name, seed=seed, **spec.kwargs).fit_transform(latent)
        return {"x": _check_matrix(np.asarray(embedding), len(latent), "embedding")}, {}
    return _run("reduce", key, cache_root, compute)


def cluster(spec: Spec, upstream: str, key: str, cache_root: Path, *, n_clusters: int,
            seed: int, entry=None) -> Record:
    def compute(cache):
        from bench.scoring import partition_scores
        from clusterers import CLUSTERERS
        CLUSTERERS.adopt(entry)

        def fit_predict(points, seed=seed):
            return CLUSTERERS.create(spec.name, n_clusters=n_clusters, seed=seed, **spec.kwargs).fit_predict(points)
        embedding = _input(cache, "reduce", upstream)
        labels = np.asarray(fit_predict(embedding))
        if labels.shape != (len(embedding),) or labels.dtype.kind not in "iu":
            raise ValueError(f"labels have shape {labels.shape} and dtype {labels.dtype}, "
                             f"expected ({len(embedding)},) integers")
        # the scores that need the embedding (or refits) are computed here, where it is in memory
        return {"x": labels.astype(np.int64)}, partition_scores(fit_predict, embedding, labels, seed=seed)
    return _run("cluster", key, cache_root, compute)
