"""Helpers for the recorder / log / store tests: record a built-in scenario in process.

They go through the same wiring as ``ftreplay record`` (``make_meta`` + ``execute``), but
without a subprocess, so hundreds of runs stay cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from ftreplay.record.log import FileSink, MemorySink, read_log
from ftreplay.record.session import RunResult, execute, make_meta


@dataclass
class Recorded:
    result: RunResult
    data: bytes

    @property
    def end(self):
        return self.result.end


def _strs(d: Optional[dict[str, Any]]) -> dict[str, str]:
    return {k: str(v) for k, v in (d or {}).items()}


def record_memory(
    scenario: str,
    seed: int = 1,
    strategy: str = "random",
    args: Optional[dict[str, Any]] = None,
    knobs: Optional[dict[str, Any]] = None,
    bugs: Optional[list[str]] = None,
) -> Recorded:
    meta = make_meta(scenario, seed=seed, strategy=strategy, args=_strs(args), knobs=_strs(knobs), bugs=bugs or [])
    sink = MemorySink()
    res = execute(meta, sink)
    return Recorded(res, bytes(sink.data))


def record_into_store(
    store,
    log_dir,
    run_id: str,
    scenario: str,
    seed: int = 1,
    strategy: str = "random",
    args: Optional[dict[str, Any]] = None,
    knobs: Optional[dict[str, Any]] = None,
    bugs: Optional[list[str]] = None,
) -> RunResult:
    """Record to a .ftlog file and ingest it under ``run_id`` (what ``ftreplay record`` does)."""
    meta = make_meta(scenario, seed=seed, strategy=strategy, args=_strs(args), knobs=_strs(knobs), bugs=bugs or [])
    path = os.path.join(str(log_dir), run_id + ".ftlog")
    res = execute(meta, FileSink(path))
    reader = read_log(path)
    try:
        n = store.ingest(reader, run_id, path)
    finally:
        reader.close()
    assert n == res.end.events
    return res


@pytest.fixture(scope="session")
def record_mem():
    """``record_mem(scenario, seed=, strategy=, args=, knobs=, bugs=)`` -> Recorded (log bytes + result)."""
    return record_memory


@pytest.fixture(scope="session")
def record_to_store():
    """``record_to_store(store, log_dir, run_id, scenario, ...)`` -> RunResult; the run is ingested."""
    return record_into_store
