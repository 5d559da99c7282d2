"""Record a run into a store: write its log and store its events.

Either both the log and the run are stored, or neither is: a failure removes the log
this call created, and the store's ingest is one transaction.  Where the OS can fork, the
simulation runs in a child process while this one writes the log and the store
(``pipeline``); elsewhere the log is written first and then read into the store.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

from .log import FileSink, RunMeta, read_log
from .session import RunResult, execute
from .store import Store


def record_into(
    store: Store,
    meta: RunMeta,
    run_id: str,
    log_path: str,
    schedule: Optional[list[int]] = None,
    progress: Optional[Callable[[int], None]] = None,
    store_progress: Optional[Callable[[int], None]] = None,
    forked: Optional[bool] = None,
) -> RunResult:
    """Run ``meta`` (replaying ``schedule`` if given) into a new log at ``log_path`` and
    store it as ``run_id``.  ``progress`` is called with the events recorded so far,
    ``store_progress`` with the events stored so far.  ``forked``: simulate in a child
    process (the default where the OS can fork) or in this one; the log is the same."""
    from .pipeline import Recording, can_fork

    if forked is None:
        forked = can_fork()
    if forked:
        with Recording(meta, schedule) as rec:
            return rec.store_into(store, run_id, log_path, progress, store_progress)
    sink = FileSink(log_path)  # created here (never an existing file): ours to remove on error
    try:
        result = execute(meta, sink, schedule=schedule, progress=progress)
        if store_progress is not None and hasattr(store_progress, "start"):
            store_progress.start()
        reader = read_log(log_path)
        try:
            store.ingest(reader, run_id, log_path, progress=store_progress)
        finally:
            reader.close()
    except BaseException:
        sink.close()
        os.unlink(log_path)
        raise
    return result


class _InProcess:
    """``start_recording`` without a child process (not Linux, or FTREPLAY_NO_FORK): the run
    happens in ``store_into``."""

    def __init__(self, meta: RunMeta, schedule: Optional[list[int]]) -> None:
        self.meta = meta
        self.schedule = schedule

    def __enter__(self) -> "_InProcess":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def cancel(self) -> None:
        pass

    def store_into(self, store: Store, run_id: str, log_path: str, progress=None, store_progress=None) -> RunResult:
        return record_into(store, self.meta, run_id, log_path, self.schedule, progress, store_progress, forked=False)


def start_recording(meta: RunMeta, schedule: Optional[list[int]] = None):
    """Start simulating ``meta`` now (in a child process where the OS can fork); then open
    the store and call ``store_into(store, run_id, log_path, progress, store_progress)``.
    Use it as a context manager: leaving the block without storing stops the run."""
    from .pipeline import Recording, can_fork

    return Recording(meta, schedule) if can_fork() else _InProcess(meta, schedule)
