"""The hot event path.

``Recorder.emit(kind_id, *fields)`` appends one tuple ``(seq, ts, tid, *fields)`` to the
kind's row list; every ``batch`` events the rows become one EVENTS frame (columns per
kind) handed to the sink.  No Struct, dict or string is built per event.
"""

from __future__ import annotations

from typing import Callable, Optional

from .events import KINDS
from .log import FRAME_END, FRAME_EVENTS, FRAME_META, RunEnd, RunMeta, encode_batch

DEFAULT_BATCH = 16384


class _Discard(list):
    """Row lists after the recorder is sealed: appends are dropped."""

    def append(self, _row) -> None:  # noqa: D401
        return None


class Recorder:
    __slots__ = ("rows", "seq", "clock", "batch", "next_flush", "sink", "first_seq", "on_flush", "sealed")

    def __init__(self, clock, sink, batch: int = DEFAULT_BATCH, on_flush: Optional[Callable[[int], None]] = None):
        # ``clock`` is the sim engine: it has ``now`` and ``tid``.
        self.rows: list[list[tuple]] = [[] for _ in KINDS]
        self.seq = 0
        self.clock = clock
        self.batch = batch
        self.next_flush = batch - 1
        self.sink = sink
        self.first_seq = 0
        self.on_flush = on_flush
        self.sealed = False

    def emit(self, kind: int, *fields) -> None:
        seq = self.seq
        self.seq = seq + 1
        clock = self.clock
        self.rows[kind].append((seq, clock.now, clock.tid) + fields)
        if seq == self.next_flush:
            self.flush()

    def begin(self, meta: RunMeta) -> None:
        w = self.sink.writer
        w.header()
        w.frame(FRAME_META, meta)

    def flush(self) -> None:
        count = self.seq - self.first_seq
        if count and not self.sealed:
            if self.sink is not None:
                self.sink.writer.frame(FRAME_EVENTS, encode_batch(self.rows, self.first_seq, count))
            for r in self.rows:
                r.clear()
            self.first_seq = self.seq
            if self.on_flush is not None:
                self.on_flush(self.seq)
        self.next_flush = self.seq + self.batch - 1

    def seal(self) -> None:
        """Flush what is pending; later emits (unwinding a halted run) are dropped."""
        self.flush()
        self.sealed = True
        self.rows = [_Discard() for _ in KINDS]
        self.next_flush = -1

    def finish(self, end: RunEnd) -> None:
        if not self.sealed:
            self.seal()
        if self.sink is not None:
            self.sink.writer.frame(FRAME_END, end)
