"""The hot event path.

``Recorder.emit(kind_id, *fields)`` appends ``seq, ts, tid, *fields`` to the kind's flat
row list; every ``batch`` events the rows become one EVENTS frame (columns per kind, cut
out with slices) handed to the sink.  No Struct, dict or string is built per event.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .events import KINDS
from .log import FRAME_CHECKPOINT, FRAME_END, FRAME_META, RunEnd, RunMeta

DEFAULT_BATCH = 65536
DEFAULT_CHECKPOINT_EVERY = 4096


class _Discard(list):
    """Row lists after the recorder is sealed: appends are dropped."""

    def append(self, _value) -> None:
        return None

    def __iadd__(self, _values):
        return self


class Recorder:
    __slots__ = (
        "rows", "seq", "clock", "batch", "next_stop", "sink", "first_seq", "on_flush", "sealed",
        "checkpoint_every", "next_checkpoint", "snapshot", "pending_checkpoints",
    )

    def __init__(
        self,
        clock,
        sink,
        batch: int = DEFAULT_BATCH,
        on_flush: Optional[Callable[[int], None]] = None,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ):
        # ``clock`` is the sim engine: it has ``now`` and ``tid``.
        self.rows: list[list] = [[] for _ in KINDS]  # flat: seq, ts, tid, fields..., seq, ...
        self.seq = 0
        self.clock = clock
        self.batch = batch
        self.sink = sink
        self.first_seq = 0
        self.on_flush = on_flush
        self.sealed = False
        # Checkpoints: a live snapshot of the runtime after every ``checkpoint_every``-th
        # event, written after the events frame that holds it.
        self.checkpoint_every = checkpoint_every
        self.next_checkpoint = checkpoint_every - 1
        self.snapshot: Optional[Callable[[], Any]] = None
        self.pending_checkpoints: list[list] = []
        self.next_stop = 0
        self._arm()

    def _arm(self) -> None:
        """The next seq at which emit must look up: a batch end or a checkpoint."""
        self.next_stop = -1 if self.sealed else min(self.first_seq + self.batch - 1, self.next_checkpoint)

    def emit(self, kind: int, *fields) -> None:
        seq = self.seq
        self.seq = seq + 1
        clock = self.clock
        r = self.rows[kind]
        r.append(seq)
        r.append(clock.now)
        r.append(clock.tid)
        r += fields
        if seq == self.next_stop:
            self._stop(seq)

    def _stop(self, seq: int) -> None:
        if seq == self.next_checkpoint:
            if self.snapshot is not None and self.sink.writer is not None:
                self.pending_checkpoints.append([seq, self.snapshot().to_plain()])
            self.next_checkpoint = seq + self.checkpoint_every
        if seq - self.first_seq + 1 >= self.batch:
            self.flush()
        else:
            self._arm()

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
                w.events(self.rows, self.first_seq, count)
                for ckpt in self.pending_checkpoints:
                    w.frame(FRAME_CHECKPOINT, ckpt)
            self.pending_checkpoints.clear()
            for r in self.rows:
                r.clear()
            self.first_seq = self.seq
            if self.on_flush is not None:
                self.on_flush(self.seq)
        self._arm()

    def seal(self) -> None:
        """Flush what is pending; later emits (unwinding a halted run) are dropped."""
        self.flush()
        self.sealed = True
        self.rows = [_Discard() for _ in KINDS]
        self._arm()

    def finish(self, end: RunEnd) -> None:
        if not self.sealed:
            self.seal()
        w = self.sink.writer
        if w is not None:
            w.frame(FRAME_END, end)


class CapturingRecorder(Recorder):
    """Test mode: after each event whose seq is in ``capture_at`` (None: every event), keep
    a live snapshot of the runtime in ``captured[seq]``."""

    __slots__ = ("capture_at", "captured")

    def __init__(self, clock, sink, capture_at, **kw) -> None:
        super().__init__(clock, sink, **kw)
        self.capture_at = capture_at
        self.captured: dict[int, Any] = {}

    def emit(self, kind: int, *fields) -> None:
        seq = self.seq
        Recorder.emit(self, kind, *fields)
        if not self.sealed and self.snapshot is not None and (self.capture_at is None or seq in self.capture_at):
            self.captured[seq] = self.snapshot()
