"""Stages on a dask.distributed cluster, through joblib's dask backend: the same code path as
local processes, with the cache on a path every worker can reach."""

import contextlib

import numpy as np

from bench.errors import UserError


CONNECT_TIMEOUT = "10s"  # how long a scheduler that does not answer is waited for


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int):
    """A client for the cluster at `scheduler`, or for a new local cluster of `workers`
    single-threaded worker processes; joblib's dask backend uses it while the block runs."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UserError("--backend dask needs dask.distributed: pip install -e '.[dask]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            raise UserError(f"--scheduler {scheduler}: cannot connect ({e})") from None
        except ValueError as e:  # not an address: no port, or a dashboard's http:// one
            raise UserError(f"--scheduler {scheduler}: not a scheduler address ({e}); "
                            "it looks like tcp://HOST:8786") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


NO_WORKER_S = 60  # how long a stage waits for a cluster with no worker before failing its tasks


def run_tasks(calls: list, collect, fail) -> list[str]:
    """Run `calls` ((cache keys, joblib-delayed task) pairs) on the current dask client; each
    result goes to `collect([record])` as it comes, each task that cannot finish to
    `fail(keys, reason)`. Returns the cluster's own log warnings, kept instead of printed.

    Submitted with the client directly rather than through joblib's dask backend: when a task
    fails there (a worker killed by the OS, every retry too) joblib 1.6 never learns of it and
    waits forever. Here a task whose workers kept dying (dask gives up after
    `distributed.scheduler.allowed-failures` deaths, counting every task the worker held) is run
    again alone, as with loky: one that was beside the culprit then succeeds, one that kills
    its worker even alone fails with one line. A cluster left with no worker fails the stage's
    remaining tasks after NO_WORKER_S seconds."""
    from distributed import get_client
    client = get_client()
    shipped = {}

    def ship(value):  # the images go to the workers once, not once per task
        if isinstance(value, np.ndarray) and value.nbytes > 2**20:
            if id(value) not in shipped:
                shipped[id(value)] = client.scatter(value, broadcast=True, hash=False)
            return shipped[id(value)]
        return value

    def submit(batch):
        return {client.submit(fn, *map(ship, args), pure=False, **{k: ship(v) for k, v in kwargs.items()}):
                (keys, (fn, args, kwargs)) for keys, (fn, args, kwargs) in batch}
    with _kept_logs("distributed") as logs:
        killed = []
        _wait(client, submit(calls), collect, fail, killed.append)
        for call in killed:  # one at a time, each alone on the cluster
            _wait(client, submit([call]), collect, fail, lambda call: fail(call[0], KILLED_ALONE))
    return logs


def _wait(client, futures: dict, collect, fail, on_killed) -> None:
    """Wait for `futures` (future -> call): results to `collect`, errors to `fail(keys, reason)`,
    tasks whose workers kept dying to `on_killed(call)`."""
    import time

    from distributed import wait
    pending, alone_since = set(futures), None
    while pending:
        try:
            done, pending = wait(pending, timeout=min(5.0, NO_WORKER_S), return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        for future in done:
            call = futures[future]
            if future.status == "finished":
                collect([future.result()])
            elif future.status == "error":
                error = future.exception()
                reason = f"dask: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                if type(error).__name__ == "KilledWorker":
                    on_killed(call)
                else:
                    fail(call[0], reason)
            else:  # "lost" with a worker that died: the scheduler computes it again
                pending.add(future)
        if done and done <= pending:
            time.sleep(0.1)
        if done or client.nthreads():
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since >= NO_WORKER_S:
            client.cancel(list(pending))
            for future in pending:
                fail(futures[future][0], f"dask: no worker alive for {NO_WORKER_S:.0f} s")
            pending = set()


KILLED_ALONE = "dask worker killed running it, also when run alone (out of memory?)"


@contextlib.contextmanager
def _kept_logs(name: str):
    """Warnings that logger `name` (and its children) logs in this process, as "Level: message"
    lines, instead of on stderr across the progress bars."""
    import logging
    logger, kept = logging.getLogger(name), []

    class Keep(logging.Handler):
        def emit(self, record):
            kept.append(f"{record.name}: {record.getMessage().splitlines()[0]}"[:200])
    handler, propagate = Keep(logging.WARNING), logger.propagate
    saved, logger.handlers, logger.propagate = logger.handlers, [handler], False
    try:
        yield kept
    finally:
        logger.handlers, logger.propagate = saved, propagate
