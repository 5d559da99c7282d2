"""Record a run into a store: write its log, then store the log's events.

Either both the log and the run are stored, or neither is: a failure removes the log
this call created, and the store's ingest is one transaction.
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
) -> RunResult:
    """Run ``meta`` (replaying ``schedule`` if given) into a new log at ``log_path`` and
    store it as ``run_id``.  ``progress`` is called with the events recorded so far,
    ``store_progress`` with the events stored so far."""
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
