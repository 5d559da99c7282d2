"""Shared helpers: run a guest program under the sim with a recorder, and read its events.

``run_guest(fn, ...)`` (a fixture) runs a plain guest function ``fn(rt)`` through
``ftreplay.record.session.Execution`` (the same wiring as ``ftreplay record``) into a memory
sink and decodes its events.  Tests get it as a fixture, so nothing imports this module.

Randomised tests take their base seed from ``FTREPLAY_TEST_SEED`` (``test_seed`` fixture) and
print it, so a failure can be reproduced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import pytest

from ftreplay.record.events import tag_of
from ftreplay.record.log import MemorySink, RunEnd, RunMeta, parse_log
from ftreplay.record.session import Execution
from ftreplay.runtime.runtime import Runtime
from ftreplay.sim.engine import Engine

# The small default keeps a broken test from spinning for minutes.
TEST_MAX_STEPS = 2_000_000


@dataclass
class GuestRun:
    failure: Any
    events: list
    rt: Runtime
    engine: Engine
    sink: MemorySink
    end: RunEnd
    strategy: Any

    @property
    def data(self) -> bytes:
        return bytes(self.sink.data)

    @property
    def decisions(self) -> list[int]:
        return list(self.engine.decisions)

    def of(self, kind: str, **match: Any) -> list:
        """Events of one kind (``"lock.acquire"``), optionally filtered by field values."""
        out = []
        for e in self.events:
            if e.kind != kind:
                continue
            if all(getattr(e, k) == v for k, v in match.items()):
                out.append(e)
        return out

    def ok(self) -> "GuestRun":
        assert self.failure is None, f"run failed: {self.failure.reason}: {self.failure.message}"
        return self

    def describe(self) -> str:
        return "\n".join(repr(e) for e in self.events)


def _kind(e) -> str:
    return tag_of(type(e))


def _run_guest(
    fn: Callable,
    strategy: str = "random",
    seed: int = 1,
    schedule: Optional[list[int]] = None,
    bugs: Iterable[str] = (),
    knobs: Optional[dict] = None,
    max_steps: Optional[int] = None,
    batch: int = 16384,
) -> GuestRun:
    """Run ``fn(rt)`` as the main thread of a fresh model and record it in memory."""
    knobs = dict(knobs or {})
    knobs.setdefault("max_steps", TEST_MAX_STEPS if max_steps is None else max_steps)
    knobs.setdefault("batch", batch)
    meta = RunMeta(
        scenario=f"test:{getattr(fn, '__name__', 'guest')}",
        seed=seed,
        strategy=strategy,
        args={},
        knobs=knobs,
        bugs=sorted(bugs),
        ftreplay_version="test",
    )
    sink = MemorySink()
    ex = Execution(meta, sink, schedule, fn=fn)
    result = ex.run()
    reader = parse_log(bytes(sink.data))
    events = list(reader.iter_events())
    return GuestRun(ex.engine.failure, _Tagged.wrap(events), ex.rt, ex.engine, sink, result.end, ex.strategy)


class _Tagged:
    """A read-only view of an event Struct that also answers ``.kind``."""

    __slots__ = ("ev", "kind")

    def __init__(self, ev) -> None:
        self.ev = ev
        self.kind = _kind(ev)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ev, name)

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self.ev, f)!r}" for f in self.ev.__struct_fields__)
        return f"{self.kind}({fields})"

    @classmethod
    def wrap(cls, events: list) -> list:
        return [cls(e) for e in events]


@pytest.fixture
def run_guest():
    """The guest runner: ``run_guest(fn, strategy=, seed=, schedule=, bugs=, knobs=)``."""
    return _run_guest


@pytest.fixture
def test_seed() -> int:
    """Base seed of randomised tests: ``FTREPLAY_TEST_SEED`` or a fixed default, printed."""
    raw = os.environ.get("FTREPLAY_TEST_SEED")
    seed = int(raw) if raw else 20240601
    print(f"FTREPLAY_TEST_SEED={seed}")
    return seed
