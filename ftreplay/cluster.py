"""Exploration on a Dask cluster: seed batches fan out to workers, outcomes come back in order.

``ftreplay explore ... --cluster local`` starts a ``distributed.LocalCluster`` with ``--jobs``
worker processes on this machine; ``--cluster dask://HOST:PORT`` connects to a running
scheduler (``dask scheduler`` plus ``dask worker tcp://HOST:PORT`` on each machine, every
worker with this ftreplay installed: ``pip install 'ftreplay[cluster]'``).

Workers run ``ftreplay.explore.run_seeds(spec, seeds)``: a pure function of the spec and the
seeds (nothing encoded, nothing stored), so a batch gives the same outcomes on any worker.
The executor hands them back in submission order; ``explore`` then records the failing
seeds into the store from this process, exactly as a local exploration does, so the JSON
summary and the failing seeds are the same.  A scenario given as ``path/to/file.py:fn``
must exist at that path on every worker.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from .errors import FtreplayError, UsageError

SCHEME = "dask://"


def parse_address(address: str) -> str:
    """``local`` or ``dask://HOST:PORT`` -> ``local`` or ``tcp://HOST:PORT``."""
    if address == "local":
        return address
    if address.startswith(SCHEME):
        hostport = address[len(SCHEME):]
        host, sep, port = hostport.rpartition(":")
        if sep and host and port.isdigit():
            return "tcp://" + hostport
    raise UsageError(f"bad --cluster {address!r}: expected 'local' or 'dask://HOST:PORT'")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError("--cluster needs Dask: pip install 'ftreplay[cluster]' (dask[distributed])") from None
    return distributed


class DaskExecutor:
    """``map(fn, batches)`` on a Dask client: every batch submitted at once, results yielded
    in submission order; what is left is cancelled when the caller stops early."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def map(self, fn: Callable, batches: Iterable) -> Iterator:
        futures = self.client.map(fn, list(batches), pure=False)
        try:
            for fut in futures:
                try:
                    yield fut.result()
                except Exception as e:
                    # A worker's own error (an unknown scenario file, a model bug) comes back
                    # as raised; the cluster's (a worker killed, a lost connection) as one line.
                    if type(e).__module__.split(".")[0] in ("distributed", "tornado", "dask"):
                        raise FtreplayError(f"the Dask cluster failed: {type(e).__name__}: "
                                            f"{str(e).splitlines()[0] if str(e) else ''}") from None
                    raise
        finally:
            self.client.cancel(futures)


@contextmanager
def cluster_executor(address: str, jobs: int = 2, processes: bool = True,
                     connect_timeout: float = 10.0) -> Iterator[DaskExecutor]:
    """An executor on ``address`` ('local' or 'dask://HOST:PORT'), closed on exit.  A local
    cluster has ``jobs`` workers of one thread each (``processes=False``: threads of this
    process, quicker to start, for tests); a remote scheduler must answer within
    ``connect_timeout`` seconds."""
    target = parse_address(address)
    if jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {jobs}")
    distributed = _distributed()
    cluster = None
    try:
        if target == "local":
            cluster = distributed.LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=processes, dashboard_address=":0",
                silence_logs=logging.CRITICAL,  # failures come back as errors of the tasks
            )
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(target, timeout=connect_timeout)
            except (OSError, TimeoutError) as e:
                raise UsageError(f"cannot reach the Dask scheduler at {address}: {str(e).splitlines()[0]}") from None
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        yield DaskExecutor(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
