"""Stages on a dask.distributed cluster, through joblib's dask backend: the same code path as
local processes, with the cache on a path every worker can reach."""

import contextlib

from bench.errors import UserError


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
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise UserError(f"--scheduler {scheduler}: cannot connect ({e})") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
