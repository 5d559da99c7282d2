"""Helpers for the analysis tests: hand-written runs and recorded scenarios.

``hand_log(path)`` gives a ``HandLog``: events written through the project's own
``Recorder`` into a real .ftlog (``emit(KIND, tid=, field=...)``; unnamed fields take
0 / '' / False / None), then ingested like any recording.  That is how a test injects an
event the runtime would never emit.
"""

from __future__ import annotations

import os

import pytest

from ftreplay import __version__
from ftreplay.record.events import CODECS, ENVELOPE, FIELDS
from ftreplay.record.log import FileSink, RunEnd, RunMeta, read_log
from ftreplay.record.recorder import Recorder
from ftreplay.record.session import execute, make_meta

_DEFAULT = {"q": 0, "b": False, "s": "", "n": None, "z": None}


class _Clock:
    """What the recorder reads for each event's envelope."""

    def __init__(self) -> None:
        self.now = 0
        self.tid = 0


class HandLog:
    def __init__(self, path) -> None:
        self.path = os.fspath(path)
        self.clock = _Clock()
        self.sink = FileSink(self.path)
        self.rec = Recorder(self.clock, self.sink)
        self.rec.begin(RunMeta(scenario="hand_written", seed=0, strategy="round_robin", args={}, knobs={},
                               bugs=[], ftreplay_version=__version__))

    def emit(self, kind: int, tid: int = 1, **fields) -> int:
        """Append one event; returns its seq."""
        names = [n for n in FIELDS[kind] if n not in ENVELOPE]
        unknown = set(fields) - set(names)
        assert not unknown, f"no fields {sorted(unknown)} in kind {kind}"
        codecs = CODECS[kind][len(ENVELOPE):]
        values = [fields[n] if n in fields else _DEFAULT[c] for n, c in zip(names, codecs)]
        seq = self.rec.seq
        self.clock.tid = tid
        self.clock.now += 10
        self.rec.emit(kind, *values)
        return seq

    def ingest(self, store, run_id: str) -> int:
        """Close the log and ingest it under ``run_id``; returns the event count."""
        rec = self.rec
        rec.finish(RunEnd(status="ok", events=rec.seq, steps=rec.seq, virtual_ns=self.clock.now, schedule=""))
        self.sink.close()
        reader = read_log(self.path)
        try:
            return store.ingest(reader, run_id, self.path)
        finally:
            reader.close()


@pytest.fixture
def hand_log(tmp_path):
    """``hand_log(name)`` -> a HandLog writing ``tmp_path/name.ftlog``."""
    return lambda name: HandLog(tmp_path / f"{name}.ftlog")


def record_run(store, log_dir, run_id: str, scenario: str, seed: int = 1, strategy: str = "random") -> None:
    """Record a built-in scenario to a .ftlog and ingest it (what ``ftreplay record`` does)."""
    path = os.path.join(os.fspath(log_dir), run_id + ".ftlog")
    res = execute(make_meta(scenario, seed=seed, strategy=strategy), FileSink(path))
    reader = read_log(path)
    try:
        assert store.ingest(reader, run_id, path) == res.end.events
    finally:
        reader.close()


@pytest.fixture(scope="session")
def record_scenario():
    """``record_scenario(store, log_dir, run_id, scenario, seed=, strategy=)``: record and ingest."""
    return record_run
