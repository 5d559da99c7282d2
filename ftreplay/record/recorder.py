"""The hot event path.

``Recorder.emit(kind_id, *fields)`` appends ``seq, ts, tid, *fields`` to the kind's flat
row list; every ``batch`` events the rows become one EVENTS frame (columns per kind, cut
out with slices) handed to the sink.  No Struct, dict or string is built per event.
"""

from __future__ import annotations

from typing import Callable, Optional

from .events import KINDS
from .log import FRAME_END, FRAME_EVENTS, FRAME_META, RunEnd, RunMeta, encode_batch

DEFAULT_BATCH = 65536


class _Discard(list):
    """Row lists after the recorder is sealed: appends are dropped."""

    def append(self, _value) -> None:
        return None

    def __iadd__(self, _values):
        return self


class Recorder:
    __slots__ = ("rows", "seq", "clock", "batch", "next_flush", "sink", "first_seq", "on_flush", "sealed")

    def __init__(self, clock, sink, batch: int = DEFAULT_BATCH, on_flush: Optional[Callable[[int], None]] = None):
        # ``clock`` is the sim engine: it has ``now`` and ``tid``.
        self.rows: list[list] = [[] for _ in KINDS]  # flat: seq, ts, tid, fields..., seq, ...
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
        r = self.rows[kind]
        r.append(seq)
        r.append(clock.now)
        r.append(clock.tid)
        r += fields
        if seq == self.next_flush:
            self.flush()

    def begin(self, meta: RunMeta) -> None:
        w = self.sink.writer
        if w is not None:
            w.header()
            w.frame(FRAME_META, meta)

    def flush(self) -> None:
        count = self.seq - self.first_seq
        if count and not self.sealed:
            w = self.sink.writer
            if w is not None:
                w.frame(FRAME_EVENTS, encode_batch(self.rows, self.first_seq, count))
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
        w = self.sink.writer
        if w is not None:
            w.frame(FRAME_END, end)


class CapturingRecorder(Recorder):
    """Test mode: after each event whose seq is in ``capture_at``, keep a live snapshot
    (``snapshot()`` of the runtime) in ``captured[seq]``."""

    __slots__ = ("capture_at", "captured", "snapshot")

    def __init__(self, clock, sink, capture_at, **kw) -> None:
        super().__init__(clock, sink, **kw)
        self.capture_at = capture_at
        self.captured: dict[int, object] = {}
        self.snapshot = None

    def emit(self, kind: int, *fields) -> None:
        seq = self.seq
        Recorder.emit(self, kind, *fields)
        if not self.sealed and self.snapshot is not None and (self.capture_at is None or seq in self.capture_at):
            self.captured[seq] = self.snapshot()
