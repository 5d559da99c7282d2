"""Rebuild a run's ``.ftlog`` from its rows, and so re-derive its ``hash``.

A run's ``hash`` is the sha256 of its log before the END frame (ftreplay.record.log).  The
recorder's frames are a pure function of the run's rows: a header with the run's schema
version; the META frame (the run's inputs, from ``runs``); one EVENTS frame per ``batch``
events (the ``batch`` knob; seqs ``[k * batch, (k + 1) * batch)``, the last one short),
each holding its kinds in kind-id order, column by column with the recorder's encodings;
after each EVENTS frame, the CHECKPOINT frames whose seq it holds (stored verbatim in
``checkpoints``).  Writing those frames again from the store (or from a Parquet export of
it) gives the same bytes, so the sha256 of the rebuilt log is computed, not copied, and
compared with the recorded ``hash``: a mismatch means the rows are not the run's.

Rows are read one frame at a time (``RowSource``); a run of any length streams.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator, Optional, Protocol

import msgspec

from ..errors import StoreError
from ..record.events import CODECS, FIELDS, TAGS, view_name
from ..record.log import (
    FILE_HEADER, FORMAT_VERSION, FRAME_CHECKPOINT, FRAME_END, FRAME_EVENTS, FRAME_META, MAGIC,
    FrameWriter, RunEnd, RunMeta, _int_column, _str_column,
)
from ..record.recorder import DEFAULT_BATCH
from ._duck import arrow_table


class RowSource(Protocol):
    """Where a run's rows come from (the store, or a Parquet export of it)."""

    def kinds(self) -> list[int]:
        """Kind ids the run has rows of, ascending."""

    def frame(self, lo: int, hi: int) -> dict[int, list[list[Any]]]:
        """For seqs lo..hi (inclusive): per kind id, its columns (FIELDS order) as lists, rows by seq."""

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        """``(seq, payload)`` of every checkpoint, by seq."""


class StoreRows:
    """Rows of one run in a store (raw.<kind> tables)."""

    def __init__(self, con, run_id: str) -> None:
        self.con = con
        self.run_id = run_id
        self._sql: dict[int, str] = {}
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()}
        for kid, tag in enumerate(TAGS):
            if view_name(tag) not in tables:
                continue  # a store older than this kind has no rows of it
            table = "raw." + view_name(tag)
            if con.execute(f"SELECT 1 FROM {table} WHERE run_id = ? LIMIT 1", [run_id]).fetchone() is None:
                continue
            have = {d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description}
            cols = ", ".join(f'"{n}"' if n in have else "NULL" for n in FIELDS[kid])
            self._sql[kid] = f"SELECT {cols} FROM {table} WHERE run_id = ? AND seq BETWEEN ? AND ? ORDER BY seq"

    def kinds(self) -> list[int]:
        return sorted(self._sql)

    def frame(self, lo: int, hi: int) -> dict[int, list[list[Any]]]:
        out = {}
        for kid, sql in self._sql.items():
            tbl = arrow_table(self.con, sql, [self.run_id, lo, hi])
            if tbl.num_rows:
                out[kid] = [c.to_pylist() for c in tbl.columns]
        return out

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        cur = self.con.execute("SELECT seq, state FROM checkpoints WHERE run_id = ? ORDER BY seq", [self.run_id])
        while True:
            rows = cur.fetchmany(64)
            if not rows:
                return
            for seq, blob in rows:
                yield seq, bytes(blob)


def run_meta(run: dict[str, Any]) -> RunMeta:
    config = run["config"]
    if isinstance(config, str):
        config = json.loads(config)
    return RunMeta(
        scenario=run["scenario"], seed=run["seed"], strategy=run["strategy"], args=config["args"],
        knobs=config["knobs"], bugs=list(run["bugs"] or []), ftreplay_version=run["ftreplay_version"],
    )


def run_end(run: dict[str, Any], content_sha256: str) -> RunEnd:
    return RunEnd(
        status=run["status"], events=run["events"], steps=run["steps"], virtual_ns=run["virtual_ns"],
        schedule=run["schedule"], failure_reason=run["failure_reason"], failure_message=run["failure_message"],
        failure_seq=run["failure_seq"], content_sha256=content_sha256,
    )


def _encode_kind(kid: int, cols: list[list[Any]]) -> list[Any]:
    """One kind's entry of an EVENTS payload, as ``encode_batch`` makes it."""
    n = len(cols[0])
    out: list[Any] = [TAGS[kid], n]
    for codec, col, name in zip(CODECS[kid], cols, FIELDS[kid]):
        if codec in "qbs" and None in col:
            raise StoreError(f"{TAGS[kid]}.{name} is NULL in this run's rows (a field added after the run was "
                             "recorded?): its log cannot be rebuilt")
        if codec == "q":
            out.append(_int_column(col))
        elif codec == "b":
            out.append(bytes(col))
        elif codec == "s":
            out.append(_str_column(col))
        else:
            out.append(col)
    return out


def write_log(run: dict[str, Any], rows: RowSource, write: Callable[[bytes], None]) -> str:
    """Write the run's log through ``write``; returns the sha256 of its bytes before the END
    frame (the re-derived ``hash``).  ``run`` is the run's row of ``runs`` as a dict."""
    if run["status"] == "incomplete":
        raise StoreError(
            f"{run['run_id']} was recovered from a damaged log: its hash covers bytes that are not in the store"
        )
    meta = run_meta(run)
    batch = int(meta.knobs.get("batch", DEFAULT_BATCH))
    total = int(run["events"])
    w = FrameWriter(write)
    # FrameWriter.header() writes this version's schema number; the run's own goes in (hashed too).
    w._emit(FILE_HEADER.pack(MAGIC, FORMAT_VERSION, int(run["schema_version"])))
    w.frame(FRAME_META, meta)
    ckpts = rows.checkpoints()
    pending: Optional[tuple[int, bytes]] = next(ckpts, None)
    for lo in range(0, total, batch):
        hi = min(lo + batch, total) - 1
        cols = rows.frame(lo, hi)
        count = sum(len(c[0]) for c in cols.values())
        if count != hi - lo + 1:
            raise StoreError(f"{run['run_id']}: seqs {lo}..{hi} hold {count} events, expected {hi - lo + 1}")
        w.frame(FRAME_EVENTS, [lo, count, [_encode_kind(kid, cols[kid]) for kid in sorted(cols)]])
        while pending is not None and pending[0] <= hi:
            w.frame(FRAME_CHECKPOINT, msgspec.Raw(pending[1]))
            pending = next(ckpts, None)
    if pending is not None:
        raise StoreError(f"{run['run_id']}: a checkpoint at seq {pending[0]} lies past the run's last event")
    digest = w.hexdigest()
    w.frame(FRAME_END, run_end(run, digest))
    return digest


def check_hash(run: dict[str, Any], digest: str) -> None:
    if digest != run["hash"]:
        raise StoreError(
            f"{run['run_id']}: the rebuilt log hashes to {digest[:16]}, the run's hash is {(run['hash'] or '')[:16]}: "
            "the rows differ from the recorded run"
        )


