"""The .ftlog format: frame round trip, recovery of truncated / damaged logs, unreadable logs."""

from __future__ import annotations

import functools
import random

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftreplay.errors import LogError
from ftreplay.record.events import KINDS, AnyEvent, Event, RunFailure
from ftreplay.record.log import (
    FILE_HEADER,
    FORMAT_VERSION,
    FRAME_END,
    FRAME_EVENTS,
    FRAME_HEADER,
    FRAME_META,
    MAGIC,
    MemorySink,
    parse_log,
    read_log,
)
from ftreplay.record.session import execute, make_meta

SMALL = dict(scenario="mutex_counter", seed=3, args={"threads": 3, "iterations": 20}, knobs={"batch": 64})


def walk_frames(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, frame_type) of every frame, found independently of parse_log."""
    out = []
    pos = FILE_HEADER.size
    while pos < len(data):
        sync, length, _crc = FRAME_HEADER.unpack_from(data, pos)
        assert sync == b"FTfr"
        end = pos + FRAME_HEADER.size + length
        out.append((pos, end, data[pos + FRAME_HEADER.size]))
        pos = end
    assert pos == len(data)
    return out


def event_counts(data: bytes, frames) -> list[int]:
    """Events in each frame (0 for META / END), read from the payload header."""
    counts = []
    for start, end, ftype in frames:
        if ftype == FRAME_EVENTS:
            payload = msgspec.msgpack.decode(data[start + FRAME_HEADER.size + 1 : end])
            counts.append(payload[1])
        else:
            counts.append(0)
    return counts


@functools.lru_cache(maxsize=None)
def small_log() -> bytes:
    # Module-level cache (not a fixture) so the hypothesis test can use it too.
    meta = make_meta("mutex_counter", seed=3, args={"threads": "3", "iterations": "20"}, knobs={"batch": "64"})
    sink = MemorySink()
    assert execute(meta, sink).end.status == "ok"
    return bytes(sink.data)


@pytest.fixture(scope="module")
def log() -> bytes:
    return small_log()


@pytest.fixture(scope="module")
def frames(log):
    fr = walk_frames(log)
    types = [t for _, _, t in fr]
    # The shape the recovery tests rely on: META, several EVENTS frames, END.
    assert types[0] == FRAME_META and types[-1] == FRAME_END
    assert types.count(FRAME_EVENTS) >= 5
    return fr


def seqs_of(reader) -> list[int]:
    return [e.seq for e in reader.iter_events()]


# -- round trip ---------------------------------------------------------------------------
def test_round_trip_dense_seqs_and_end_count(record_mem):
    rec = record_mem(**SMALL)
    reader = parse_log(rec.data)
    events = list(reader.iter_events())
    assert events, "no events recorded"
    assert all(isinstance(e, Event) and type(e) in KINDS for e in events)
    assert [e.seq for e in events] == list(range(len(events)))
    assert reader.end is not None
    assert reader.end.events == len(events) == rec.end.events == reader.events
    assert reader.end.status == "ok" and reader.end.failure_reason is None
    assert reader.recovery.clean and not reader.recovery.truncated_tail and reader.recovery.damaged_regions == 0
    assert reader.recovery.frames == len(walk_frames(rec.data))
    # The META frame is the run's inputs, exactly.
    expected = make_meta("mutex_counter", seed=3, args={"threads": "3", "iterations": "20"}, knobs={"batch": "64"})
    assert reader.meta == expected
    # Timestamps are virtual and never go backwards.
    ts = [e.ts for e in events]
    assert ts == sorted(ts)
    # Every Struct survives msgspec's own tagged-union encoding.
    for e in events[:200]:
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(e), type=AnyEvent) == e


def test_round_trip_of_a_failed_run_ends_with_the_failure(record_mem):
    rec = record_mem("join_race", seed=7, strategy="pct", bugs=["join_tstate_lock_race"])
    assert rec.end.status == "failed"
    reader = parse_log(rec.data)
    events = list(reader.iter_events())
    assert [e.seq for e in events] == list(range(rec.end.events))
    last = events[-1]
    assert isinstance(last, RunFailure)
    assert last.reason == "assertion" == reader.end.failure_reason
    assert last.seq == reader.end.failure_seq == reader.end.events - 1


def test_every_frame_is_checksummed_and_event_counts_add_up(log, frames):
    counts = event_counts(log, frames)
    reader = parse_log(log)
    assert sum(counts) == reader.end.events
    # Payload first_seq values chain: each EVENTS frame starts where the previous ended.
    nxt = 0
    for (start, end, ftype), n in zip(frames, counts):
        if ftype == FRAME_EVENTS:
            first_seq = msgspec.msgpack.decode(log[start + FRAME_HEADER.size + 1 : end])[0]
            assert first_seq == nxt
            nxt += n


def test_read_log_from_file_matches_parse_log(tmp_path, log):
    p = tmp_path / "run.ftlog"
    p.write_bytes(log)
    reader = read_log(p)
    try:
        assert seqs_of(reader) == seqs_of(parse_log(log))
        import hashlib

        # The run's hash covers the log up to its END frame, which records it.
        assert reader.sha256 == hashlib.sha256(log[: reader.end_offset]).hexdigest() == reader.end.content_sha256
    finally:
        reader.close()


# -- truncation ---------------------------------------------------------------------------
def _cuts(log, frames):
    meta_end = frames[0][1]
    cuts = set()
    for start, end, _ in frames:
        for b in (start, end):
            for d in range(-3, 4):
                c = b + d
                if meta_end <= c < len(log):
                    cuts.add(c)
    # and a spread of offsets in the middle of frames
    cuts.update(range(meta_end, len(log), 97))
    return sorted(cuts)


def test_truncation_keeps_every_complete_frame_before_the_cut(log, frames):
    counts = event_counts(log, frames)
    checked_mid = checked_boundary = 0
    for cut in _cuts(log, frames):
        reader = parse_log(log[:cut])
        complete = [i for i, (_, end, _) in enumerate(frames) if end <= cut]
        last_end = frames[complete[-1]][1]
        n_events = sum(counts[i] for i in complete)
        assert seqs_of(reader) == list(range(n_events)), f"cut at {cut}"
        assert reader.recovery.frames == len(complete), f"cut at {cut}"
        assert reader.end is None, f"cut at {cut}: END frame cannot be complete"
        if cut == last_end:  # cut exactly between frames: nothing dropped
            checked_boundary += 1
            assert reader.recovery.bytes_dropped == 0
            assert not reader.recovery.truncated_tail
        else:
            checked_mid += 1
            assert reader.recovery.bytes_dropped == cut - last_end > 0, f"cut at {cut}"
            assert reader.recovery.truncated_tail, f"cut at {cut}"
            assert not reader.recovery.clean
            assert "incomplete" in reader.recovery.describe()
    assert checked_mid > 50 and checked_boundary >= len(frames) - 2


def test_truncation_inside_the_header_or_meta_frame_is_a_log_error(log, frames):
    meta_end = frames[0][1]
    for cut in list(range(0, FILE_HEADER.size + 1)) + list(range(FILE_HEADER.size + 1, meta_end, 7)):
        with pytest.raises(LogError) as ei:
            parse_log(log[:cut])
        assert "\n" not in str(ei.value)


# -- corruption -----------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["sync", "length", "crc", "type_byte", "body_start", "body_middle", "body_last"])
def test_a_damaged_middle_frame_is_dropped_and_later_frames_recovered(log, frames, where):
    counts = event_counts(log, frames)
    k = len(frames) // 2
    start, end, ftype = frames[k]
    assert ftype == FRAME_EVENTS
    hdr = FRAME_HEADER.size
    offset = {
        "sync": start + 1,
        "length": start + 4,
        "crc": start + 9,
        "type_byte": start + hdr,
        "body_start": start + hdr + 1,
        "body_middle": (start + hdr + end) // 2,
        "body_last": end - 1,
    }[where]
    bad = bytearray(log)
    bad[offset] ^= 0xFF
    reader = parse_log(bytes(bad))
    rec = reader.recovery
    assert rec.damaged_regions >= 1
    assert rec.bytes_dropped == end - start
    assert not rec.truncated_tail
    assert rec.frames == len(frames) - 1
    lost_from = sum(counts[:k])
    lost = range(lost_from, lost_from + counts[k])
    expected = [s for s in range(sum(counts)) if s not in lost]
    assert seqs_of(reader) == expected
    assert reader.end is not None and reader.end.events == sum(counts)  # END frame recovered


def test_two_damaged_frames_are_two_regions(log, frames):
    bad = bytearray(log)
    for k in (2, len(frames) - 3):
        s, e, _ = frames[k]
        bad[(s + e) // 2] ^= 0x55
    reader = parse_log(bytes(bad))
    assert reader.recovery.damaged_regions == 2
    assert reader.recovery.frames == len(frames) - 2
    seqs = seqs_of(reader)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


# -- unreadable logs --------------------------------------------------------------------------
def _one_line_log_error(data: bytes) -> str:
    with pytest.raises(LogError) as ei:
        parse_log(data)
    msg = str(ei.value)
    assert msg and "\n" not in msg
    return msg


def test_random_bytes_are_not_a_log():
    rng = random.Random(1234)
    for _ in range(50):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
        if data.startswith(MAGIC[: len(data)]):
            continue
        assert "not an ftreplay log" in _one_line_log_error(data)


def test_empty_data_and_empty_file(tmp_path):
    _one_line_log_error(b"")
    p = tmp_path / "empty.ftlog"
    p.write_bytes(b"")
    with pytest.raises(LogError) as ei:
        read_log(p)
    assert "empty" in str(ei.value) and "\n" not in str(ei.value)


def test_truncated_header(log):
    for n in range(1, FILE_HEADER.size):
        assert "truncated" in _one_line_log_error(log[:n])


def test_header_only_has_no_run(log):
    assert "missing" in _one_line_log_error(log[: FILE_HEADER.size])


def test_unknown_schema_and_format_versions(log):
    v99 = FILE_HEADER.pack(MAGIC, FORMAT_VERSION, 99) + log[FILE_HEADER.size :]
    assert "schema version 99" in _one_line_log_error(v99)
    v0 = FILE_HEADER.pack(MAGIC, FORMAT_VERSION, 0) + log[FILE_HEADER.size :]
    _one_line_log_error(v0)
    f99 = FILE_HEADER.pack(MAGIC, 99, 1) + log[FILE_HEADER.size :]
    assert "format version 99" in _one_line_log_error(f99)


def test_bad_magic(log):
    assert "bad magic" in _one_line_log_error(b"NOTLOG" + log[6:])
    assert "bad magic" in _one_line_log_error(b"PK\x03\x04" + bytes(100))


def test_read_log_missing_file_and_directory(tmp_path):
    with pytest.raises(LogError, match="no such file"):
        read_log(tmp_path / "nope.ftlog")
    with pytest.raises(LogError, match="directory"):
        read_log(tmp_path)


# -- fuzz ---------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(min_value=0.0, max_value=1.0), st.integers(1, 255)), max_size=6),
)
def test_fuzz_truncation_and_corruption(cut, flips):
    log = small_log()
    original = [e.seq for e in parse_log(log).iter_events()]
    data = bytearray(log[: int(cut * len(log))])
    for where, xor in flips:
        if data:
            data[min(int(where * len(data)), len(data) - 1)] ^= xor
    try:
        reader = parse_log(bytes(data))
        seqs = [e.seq for e in reader.iter_events()]
    except LogError as e:
        assert "\n" not in str(e)
        return
    assert set(seqs) <= set(original)
    assert all(a < b for a, b in zip(seqs, seqs[1:]))
    assert reader.recovery.frames <= len(walk_frames(log))
    if bytes(data) != log:  # any change shows: a dropped region or a missing END frame
        assert not reader.recovery.clean or reader.end is None
