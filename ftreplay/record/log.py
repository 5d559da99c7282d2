"""The .ftlog format: a framed, checksummed, append-only msgpack log.

Layout::

    file   := HEADER frame*
    HEADER := b"FTLOG\\0" u16 format_version u16 schema_version       (little endian, 10 bytes)
    frame  := b"FTfr" u32 body_len u32 crc32(body) body               (12 bytes + body)
    body   := u8 frame_type  msgpack_payload

Frame types: META (the run's inputs, first frame), EVENTS (one batch of events, column by
column per kind), CHECKPOINT (``[seq, state]``: the runtime state after event ``seq``, see
ftreplay.replay.state), END (status, failure, schedule; last frame of a finished run).

An EVENTS payload is ``[first_seq, count, [[tag, n, col_0, col_1, ...], ...]]`` where the
columns follow the kind's Struct fields (envelope first).  Integer and bool columns are raw
little-endian int64 / uint8 buffers; strings and optional values are msgpack arrays.

Each frame is written with one ``write`` call, so a killed recorder leaves every earlier
frame intact.  The reader checks every frame's checksum, skips damaged regions by scanning
for the next sync marker, and reports what it dropped.
"""

from __future__ import annotations

import array
import hashlib
import mmap
import os
import struct
import sys
import zlib
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import msgspec

from ..errors import LogError, UsageError
from .events import CODECS, KIND_ID, KINDS, SCHEMA_VERSION, TAGS, Event

MAGIC = b"FTLOG\x00"
FORMAT_VERSION = 1
FILE_HEADER = struct.Struct("<6sHH")
SYNC = b"FTfr"
FRAME_HEADER = struct.Struct("<4sII")
FRAME_META, FRAME_EVENTS, FRAME_END, FRAME_CHECKPOINT = 1, 2, 3, 4
MAX_FRAME = 1 << 30

_LITTLE = sys.byteorder == "little"


class RunMeta(msgspec.Struct, frozen=True):
    """The inputs of a run: enough to re-execute it."""

    scenario: str
    seed: int
    strategy: str
    args: dict[str, Any]
    knobs: dict[str, Any]
    bugs: list[str]
    ftreplay_version: str


class RunEnd(msgspec.Struct, frozen=True):
    status: str  # 'ok' | 'failed'
    events: int
    steps: int
    virtual_ns: int
    schedule: str
    failure_reason: Optional[str] = None
    failure_message: Optional[str] = None
    failure_seq: Optional[int] = None
    content_sha256: Optional[str] = None  # sha256 of every byte before this frame: the run's hash


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()
_checkpoint_head = msgspec.msgpack.Decoder(tuple[int, msgspec.Raw])  # the seq, the state left undecoded
_meta_decoder = msgspec.msgpack.Decoder(RunMeta)
_end_decoder = msgspec.msgpack.Decoder(RunEnd)


def _int_column(values) -> Any:
    """int64 little-endian bytes of a column (a buffer; msgspec writes it as bin)."""
    if _LITTLE:
        global _pa
        if _pa is None:
            import pyarrow as _pa  # converts Python ints about twice as fast as array.array
        return memoryview(_pa.array(values, _pa.int64()).buffers()[1])
    a = array.array("q", values)
    a.byteswap()
    return a.tobytes()


_pa: Any = None


def _str_column(col: tuple) -> Any:
    """Low-cardinality string columns as ``{"d": values, "c": uint8 codes}``."""
    uniq = list(dict.fromkeys(col))
    if len(uniq) == 1:
        return {"d": uniq, "c": bytes(len(col))}
    if len(uniq) <= 256:
        pos = {v: i for i, v in enumerate(uniq)}
        return {"d": uniq, "c": bytes(map(pos.__getitem__, col))}
    return col


def encode_batch(rows: list[list], first_seq: int, count: int) -> list:
    """Turn per-kind flat row lists into the EVENTS payload (columns per kind)."""
    kinds = []
    for kind_id, flat in enumerate(rows):
        if not flat:
            continue
        codecs = CODECS[kind_id]
        width = len(codecs)
        n, rest = divmod(len(flat), width)
        if rest:
            raise ValueError(f"{TAGS[kind_id]}: an emit passed the wrong number of fields")
        cols: list[Any] = [TAGS[kind_id], n]
        for j, codec in enumerate(codecs):
            col = flat[j::width]
            if codec == "q":
                cols.append(_int_column(col))
            elif codec == "b":
                cols.append(bytes(col))
            elif codec == "s":
                cols.append(_str_column(col))
            else:
                cols.append(col)
        kinds.append(cols)
    return [first_seq, count, kinds]


class FrameWriter:
    """Encodes frames into one reused buffer and hands them to ``write``."""

    def __init__(self, write) -> None:
        self._write = write
        self._buf = bytearray()
        self._hash = hashlib.sha256()
        self.bytes_written = 0
        self.frames = 0

    def _emit(self, data: bytes | bytearray) -> None:
        self._write(data)
        self._hash.update(data)
        self.bytes_written += len(data)

    def header(self) -> None:
        self._emit(FILE_HEADER.pack(MAGIC, FORMAT_VERSION, SCHEMA_VERSION))

    def frame(self, frame_type: int, payload: Any) -> None:
        buf = self._buf
        buf.clear()
        buf.extend(b"\0" * (FRAME_HEADER.size + 1))
        buf[FRAME_HEADER.size] = frame_type
        _encoder.encode_into(payload, buf, FRAME_HEADER.size + 1)
        self._seal()

    def frame_encoded(self, frame_type: int, encoded: bytes | memoryview) -> None:
        """Write one frame whose payload is already msgpack (as ``frame`` would encode it)."""
        buf = self._buf
        buf.clear()
        buf.extend(b"\0" * FRAME_HEADER.size)
        buf.append(frame_type)
        buf += encoded
        self._seal()

    def _seal(self) -> None:
        buf = self._buf
        body = memoryview(buf)[FRAME_HEADER.size :]
        FRAME_HEADER.pack_into(buf, 0, SYNC, len(body), zlib.crc32(body))
        body.release()
        self._emit(buf)
        self.frames += 1

    def events(self, rows: list[list], first_seq: int, count: int) -> list:
        """One EVENTS frame from the recorder's per-kind rows; returns its payload."""
        payload = encode_batch(rows, first_seq, count)
        self.frame(FRAME_EVENTS, payload)
        return payload

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class FileSink:
    """Appends frames to a file; each frame is one ``os.write``."""

    def __init__(self, path: str | os.PathLike) -> None:
        """Creates ``path``; an existing file (another run's log?) is never overwritten."""
        self.path = os.fspath(path)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise UsageError(f"{self.path} already exists; choose another --log (ftreplay never overwrites a log)") from None
        except IsADirectoryError:
            raise UsageError(f"{self.path} is a directory; --log takes a file path") from None
        except OSError as e:
            raise UsageError(f"cannot create log {self.path}: {e.strerror}") from None
        self.writer = FrameWriter(self._write_all)

    def _write_all(self, data) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class MemorySink:
    """Keeps the log in memory (verify, tests)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writer = FrameWriter(self.data.extend)

    def close(self) -> None:
        pass


class NullSink:
    """Discards everything: the recorder still collects rows, nothing is encoded."""

    writer = None

    def close(self) -> None:
        pass


class HashSink:
    """Computes the log's hash without keeping it (exploration)."""

    def __init__(self) -> None:
        self.writer = FrameWriter(lambda data: None)

    def close(self) -> None:
        pass


@dataclass
class Recovery:
    frames: int = 0
    damaged_regions: int = 0
    bytes_dropped: int = 0
    truncated_tail: bool = False

    @property
    def clean(self) -> bool:
        return self.bytes_dropped == 0

    def describe(self) -> str:
        if self.clean:
            return f"recovered {self.frames} complete frames, nothing dropped"
        parts = [f"recovered {self.frames} complete frames", f"dropped {self.bytes_dropped} bytes"]
        if self.damaged_regions:
            parts.append(f"in {self.damaged_regions} damaged region(s)")
        if self.truncated_tail:
            parts.append("(the last frame was incomplete)")
        return ", ".join(parts)


@dataclass
class LogReader:
    """A validated log: header checked, every frame located and checksummed."""

    path: str
    data: Any
    meta: RunMeta
    end: Optional[RunEnd]
    event_frames: list[tuple[int, int]]
    checkpoint_frames: list[tuple[int, int]]
    recovery: Recovery
    schema_version: int
    end_offset: Optional[int] = None  # where the END frame starts

    @property
    def sha256(self) -> str:
        """The run's ``hash``: sha256 of the log before its END frame, as the recorder wrote
        it into that frame (checked frames are trusted); of the whole file for a log
        without an END frame."""
        end = self.end
        if end is not None and end.content_sha256 and self.recovery.clean:
            return end.content_sha256
        stop = self.end_offset if self.end_offset is not None else len(self.data)
        return hashlib.sha256(self.data[:stop]).hexdigest()

    @property
    def events(self) -> int:
        """Number of events in the recovered frames."""
        total = 0
        for payload in self.payloads():
            total += payload[1]
        return total

    def payloads(self) -> Iterator[list]:
        data = self.data
        for start, end in self.event_frames:
            yield _decoder.decode(data[start:end])

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        """``(seq, msgpack of [seq, state])`` for every recovered checkpoint."""
        data = self.data
        for start, end in self.checkpoint_frames:
            raw = bytes(data[start:end])
            yield _checkpoint_head.decode(raw)[0], raw

    def columns(self) -> Iterator[tuple[int, int, list]]:
        """Yield ``(kind_id, n, columns)`` per kind per frame; int columns stay bytes."""
        for payload in self.payloads():
            for entry in payload[2]:
                kind_id = KIND_ID.get(entry[0])
                if kind_id is None:
                    raise LogError(f"{self.path}: unknown event kind {entry[0]!r}")
                yield kind_id, entry[1], entry[2:]

    def iter_events(self) -> Iterator[Event]:
        """Every recovered event as a Struct, in seq order (one frame in memory at a time)."""
        for payload in self.payloads():
            rows: list[tuple[int, type[Event], tuple]] = []
            for entry in payload[2]:
                kind_id = KIND_ID[entry[0]]
                cls = KINDS[kind_id]
                cols = [decode_column(codec, col) for codec, col in zip(CODECS[kind_id], entry[2:])]
                for row in zip(*cols):
                    rows.append((row[0], cls, row))
            rows.sort(key=lambda r: r[0])
            for _, cls, row in rows:
                yield cls(*row)

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()


def decode_column(codec: str, col: Any) -> list:
    if codec == "q":
        a = array.array("q")
        a.frombytes(col)
        if not _LITTLE:
            a.byteswap()
        return a.tolist()
    if codec == "b":
        return [bool(x) for x in col]
    if isinstance(col, dict):
        d = col["d"]
        return [d[i] for i in col["c"]]
    return list(col)


def read_log(path: str | os.PathLike) -> LogReader:
    """Open and validate a log.  Raises LogError with a one-line reason."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise LogError(f"{path}: empty file, not an ftreplay log")
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise LogError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LogError(f"{path}: is a directory, not an ftreplay log") from None
    except PermissionError:
        raise LogError(f"{path}: permission denied") from None
    return parse_log(data, path)


def parse_log(data: Any, path: str = "<memory>") -> LogReader:
    if len(data) < FILE_HEADER.size:
        if bytes(data[: len(MAGIC)]) == MAGIC[: len(data)]:
            raise LogError(f"{path}: truncated log header ({len(data)} of {FILE_HEADER.size} bytes)")
        raise LogError(f"{path}: not an ftreplay log (bad magic)")
    magic, fmt, schema = FILE_HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise LogError(f"{path}: not an ftreplay log (bad magic)")
    if fmt != FORMAT_VERSION:
        raise LogError(f"{path}: log format version {fmt} is not supported (this ftreplay reads {FORMAT_VERSION})")
    if schema > SCHEMA_VERSION or schema < 1:
        raise LogError(
            f"{path}: log schema version {schema} is not supported (this ftreplay reads 1..{SCHEMA_VERSION})"
        )
    rec = Recovery()
    meta: Optional[RunMeta] = None
    end: Optional[RunEnd] = None
    events: list[tuple[int, int]] = []
    checkpoints: list[tuple[int, int]] = []
    end_offset: Optional[int] = None
    pos = FILE_HEADER.size
    n = len(data)
    hdr = FRAME_HEADER.size
    while pos < n:
        ok = False
        if n - pos >= hdr:
            sync, length, crc = FRAME_HEADER.unpack_from(data, pos)
            if sync == SYNC and 1 <= length <= MAX_FRAME and pos + hdr + length <= n:
                body = data[pos + hdr : pos + hdr + length]
                if zlib.crc32(body) == crc:
                    ok = True
        if not ok:
            nxt = data.find(SYNC, pos + 1)
            if nxt < 0:
                rec.bytes_dropped += n - pos
                rec.truncated_tail = True
                break
            # A sync marker inside the dropped region may itself start a frame that runs
            # past the end: the scan continues from it either way.
            rec.bytes_dropped += nxt - pos
            rec.damaged_regions += 1
            pos = nxt
            continue
        ftype = body[0]
        start, stop = pos + hdr + 1, pos + hdr + length
        try:
            if ftype == FRAME_EVENTS:
                events.append((start, stop))
            elif ftype == FRAME_CHECKPOINT:
                checkpoints.append((start, stop))
            elif ftype == FRAME_META and meta is None:
                meta = _meta_decoder.decode(data[start:stop])
            elif ftype == FRAME_END:
                end = _end_decoder.decode(data[start:stop])
                end_offset = pos
        except msgspec.DecodeError:
            rec.bytes_dropped += hdr + length
            rec.damaged_regions += 1
            pos += hdr + length
            continue
        rec.frames += 1
        pos += hdr + length
    if meta is None:
        raise LogError(f"{path}: the run header frame is missing or damaged; nothing to recover")
    return LogReader(
        path=path, data=data, meta=meta, end=end, event_frames=events, checkpoint_frames=checkpoints,
        recovery=rec, schema_version=schema, end_offset=end_offset,
    )
