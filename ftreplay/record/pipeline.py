"""Recording on two cores: the simulation in a forked child, the log and the store here.

The child runs the scenario with a ``PipeSink``: its recorder hands over each batch of
rows still unencoded (one msgpack message, cheaper than the columnar encoding) and every
other frame already encoded.  This process encodes the batches into the log exactly as an
in-process ``FileSink`` would (same bytes, same hash) and feeds the same payloads to the
store's ingest transaction, whose INSERTs run on a third thread, while the child goes on
simulating.  When the child's END arrives only the last rows, the derived tables and the
commit are left.

Messages on the pipe: ``u32 length`` then ``u8 type`` and a msgpack body.  Types are the
log's frame types, plus ``MSG_HEADER`` (the file header), ``MSG_ROWS`` (``[first_seq,
count, rows]``) and ``MSG_ERROR`` (the child's exception, pickled).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import sys
import warnings
from typing import Any, Callable, Optional

import msgspec

if sys.platform.startswith("linux"):
    import fcntl

from ..errors import FtreplayError
from .events import SCHEMA_VERSION
from .log import FRAME_CHECKPOINT, FRAME_END, FileSink, RunEnd, RunMeta
from .session import RunResult, execute
from .store import Store

MSG_HEADER, MSG_ROWS, MSG_ERROR = 0x80, 0x81, 0x82
_LEN = struct.Struct("<I")
_encoder = msgspec.msgpack.Encoder()
_rows_decoder = msgspec.msgpack.Decoder(tuple[int, int, list])
_end_decoder = msgspec.msgpack.Decoder(RunEnd)
_checkpoint_seq = msgspec.msgpack.Decoder(tuple[int, msgspec.Raw])


class RecordError(FtreplayError):
    """The simulation process ended without finishing its log."""


def can_fork() -> bool:
    """Linux, unless FTREPLAY_NO_FORK is set (to debug a run in one process, say).  Other
    systems record in process: fork() without exec is not safe on macOS."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and not os.environ.get("FTREPLAY_NO_FORK")


class _PipeWriter:
    """The writer side of a ``PipeSink``: what the recorder calls, as pipe messages."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = bytearray()

    def _send(self, kind: int, obj: Any) -> None:
        buf = self._buf
        buf.clear()
        buf.extend(b"\0\0\0\0")
        buf.append(kind)
        if obj is not None:
            _encoder.encode_into(obj, buf, 5)
        _LEN.pack_into(buf, 0, len(buf) - 4)
        view = memoryview(buf)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        finally:
            view.release()

    def header(self) -> None:
        self._send(MSG_HEADER, None)

    def frame(self, frame_type: int, payload: Any) -> None:
        self._send(frame_type, payload)

    def events(self, rows: list[list], first_seq: int, count: int) -> None:
        self._send(MSG_ROWS, (first_seq, count, rows))

    def error(self, exc: BaseException) -> None:
        try:
            blob = pickle.dumps(exc)
            pickle.loads(blob)
        except Exception:
            blob = pickle.dumps(RecordError(f"the simulation failed: {type(exc).__name__}: {exc}"))
        self._send(MSG_ERROR, blob)

    def hexdigest(self) -> str:
        return ""  # the log's bytes are written (and hashed) by the receiving process


class PipeSink:
    def __init__(self, fd: int) -> None:
        self.writer = _PipeWriter(fd)

    def close(self) -> None:
        pass


def _child(meta: RunMeta, schedule: Optional[list[int]], fd: int) -> None:
    """The forked simulation: never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it kills us
        gc.freeze()  # the parent's objects: no collection walks (and copies) their pages
        sink = PipeSink(fd)
        try:
            execute(meta, sink, schedule=schedule)
            code = 0
        except BaseException as e:
            sink.writer.error(e)
    except BaseException:
        pass
    finally:
        _flush_stdio()  # what the guest printed (os._exit flushes nothing)
        os._exit(code)


def _flush_stdio() -> None:
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except (OSError, ValueError):
            pass


def _widen(fd: int) -> None:
    """A 1 MiB pipe buffer where Linux allows it: fewer stalls of the writing child."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass  # /proc/sys/fs/pipe-max-size is lower: the default buffer works, with more stalls


def _read_exact(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data


def _reap(pid: int, kill: bool) -> int:
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    return status


class Recording:
    """A run simulated in a forked child from its creation on; ``store_into`` writes its log
    and stores it.  Start it before opening the store and the two overlap too.  Leaving
    the ``with`` block without storing kills the child."""

    def __init__(self, meta: RunMeta, schedule: Optional[list[int]] = None) -> None:
        self.meta = meta
        rfd, wfd = os.pipe()
        _widen(wfd)
        _flush_stdio()  # else the child would write this process's pending output again
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a process with threads (a store's DuckDB
            # workers): the child only simulates and writes its pipe, it takes none of
            # their locks.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            os.close(rfd)
            _child(meta, schedule, wfd)
        os.close(wfd)
        self.pid: Optional[int] = pid
        self.pipe = os.fdopen(rfd, "rb", buffering=1 << 20)

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()

    def cancel(self) -> None:
        if self.pid is not None:
            _reap(self.pid, kill=True)
            self.pid = None
        self.pipe.close()

    def store_into(
        self,
        store: Store,
        run_id: str,
        log_path: str,
        progress: Optional[Callable[[int], None]] = None,
        store_progress: Optional[Callable[[int], None]] = None,
    ) -> RunResult:
        """Write the log at ``log_path`` (a new file) and store the run as ``run_id``, both
        or neither (see ``recording.record_into``)."""
        if self.pid is None:
            raise RuntimeError("this recording has been stored or cancelled")
        try:
            sink = FileSink(log_path)  # created here (never an existing file): ours to remove on error
        except BaseException:
            self.cancel()
            raise
        w = sink.writer
        ing = None
        try:
            ing = store.begin_ingest(run_id, parallel_derive=True, streamed=True)
            end = _pump(self.pipe, w, ing, progress)
            pid, self.pid = self.pid, None
            status = _reap(pid, kill=False)
            if status != 0:
                raise RecordError(f"the simulation process exited with status {status} after its log was complete")
            if store_progress is not None and hasattr(store_progress, "note"):
                # the events are in the store already: what is left has no count to show
                store_progress.note(f"{end.events:,} events: the last rows, the derived tables, the commit")
            ing.finish(self.meta, end, log_path, end.content_sha256 or "", SCHEMA_VERSION, None)
        except BaseException:
            self.cancel()
            if ing is not None:
                ing.abort()
            sink.close()
            os.unlink(log_path)
            raise
        self.pipe.close()
        sink.close()
        return RunResult(self.meta, end, end.content_sha256 or "")


def _pump(pipe, w, ing, progress: Optional[Callable[[int], None]]) -> RunEnd:
    """Write the child's messages into the log and the ingest until its END frame."""
    while True:
        try:
            (n,) = _LEN.unpack(_read_exact(pipe, 4))
            msg = _read_exact(pipe, n)
        except EOFError:
            raise RecordError("the simulation process died before its run ended (the log is incomplete)") from None
        kind = msg[0]
        body = memoryview(msg)[1:]
        if kind == MSG_ROWS:
            first, count, rows = _rows_decoder.decode(body)
            payload = w.events(rows, first, count)  # the frame an in-process recorder writes
            ing.add_payload(payload)
            if progress is not None:
                progress(first + count)
        elif kind == FRAME_CHECKPOINT:
            w.frame_encoded(kind, body)
            ing.add_checkpoint(_checkpoint_seq.decode(body)[0], bytes(body))
        elif kind == FRAME_END:
            end = _end_decoder.decode(body)
            digest = w.hexdigest()  # of every byte before END, as the in-process writer has it
            end = msgspec.structs.replace(end, content_sha256=digest or None)
            w.frame(FRAME_END, end)
            return end
        elif kind == MSG_HEADER:
            w.header()
        elif kind == MSG_ERROR:
            raise pickle.loads(msgspec.msgpack.decode(body))
        else:
            w.frame_encoded(kind, body)  # META
