"""Runs as a folder of Parquet files, partitioned by run, and the way back into a store.

Layout (Hive-style partitions, which DuckDB, polars, pyarrow, Spark and pandas read as a
``run_id`` column)::

    DIR/ftreplay-parquet.json                       format, version, schema version
    DIR/runs/run_id=<id>/part-0.parquet             the run's row of ``runs``
    DIR/events/run_id=<id>/part-0.parquet           the ``events`` view: envelope + every field, by seq
    DIR/checkpoints/run_id=<id>/part-0.parquet      stored state snapshots (replay seeks from them)
    DIR/<derived>/run_id=<id>/part-0.parquet        thread_state_intervals, lock_holds, ... (convenience)

Export streams Arrow record batches from DuckDB into ``pyarrow.parquet.ParquetWriter``; a
run is written into a hidden staging folder and moved into place when complete, and an
existing partition is never overwritten.

Import rebuilds each run's ``.ftlog`` from ``events`` and ``checkpoints``
(ftreplay.export.ftlog), checks that its sha256 is the exported ``hash``, and stores it
through the ordinary ingest: the derived tables are recomputed, not read back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import __version__
from ..errors import LogError, StoreError, UsageError
from ..record.events import FIELDS, KIND_ID, SCHEMA_VERSION
from ..record.store import DERIVED_TABLES, Store
from ._duck import arrow_reader, arrow_table
from .ftlog import check_hash, write_log

MANIFEST = "ftreplay-parquet.json"
FORMAT = "ftreplay-parquet"
VERSION = 1
PART = "part-0.parquet"
_ORDER = {
    "runs": "",
    "events": "seq",
    "checkpoints": "seq",
    "thread_state_intervals": "thread, start_seq",
    "park_intervals": "thread, start_seq",
    "lock_holds": "acquire_seq",
    "object_lifetimes": "obj",
    "refcount_history": "obj, seq",
    "stw_pauses": "request_seq",
    "gc_collections": "start_seq",
}
TABLES = ("runs", "events", "checkpoints") + tuple(t for t, _ in DERIVED_TABLES)
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class ExportedRun:
    run_id: str
    events: int
    hash: str


def export_parquet(store: Store, run_ids: list[str], out_dir: str) -> list[ExportedRun]:
    """Write ``run_ids`` (already resolved) into ``out_dir``; returns what was written."""
    _prepare_dir(out_dir)
    con = store.cursor()
    done: list[ExportedRun] = []
    for run_id in run_ids:
        if not _SAFE_ID.match(run_id):
            raise UsageError(f"run id {run_id!r} cannot name a partition folder")
        for table in TABLES:
            if os.path.exists(_partition(out_dir, table, run_id)):
                raise UsageError(f"{_partition(out_dir, table, run_id)} already exists (export never overwrites)")
    for run_id in run_ids:
        stage = os.path.join(out_dir, f".staging-{run_id}")
        shutil.rmtree(stage, ignore_errors=True)
        try:
            for table in TABLES:
                order = _ORDER.get(table, "")
                sql = f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ?" + (f" ORDER BY {order}" if order else "")
                path = _partition(stage, table, run_id)
                os.makedirs(os.path.dirname(path))
                _write(arrow_reader(con, sql, [run_id]), path)
            for table in TABLES:
                dest = os.path.dirname(_partition(out_dir, table, run_id))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.rename(os.path.dirname(_partition(stage, table, run_id)), dest)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        run = store.run(run_id)
        done.append(ExportedRun(run_id, run["events"], run["hash"]))
    return done


def _prepare_dir(out_dir: str) -> None:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UsageError(f"{out_dir} exists and is not a folder")
    manifest = os.path.join(out_dir, MANIFEST)
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not os.path.exists(manifest):
            raise UsageError(f"{out_dir} is a non-empty folder without {MANIFEST}: not an ftreplay Parquet export")
        _read_manifest(out_dir)
        return
    os.makedirs(out_dir, exist_ok=True)
    with open(manifest, "w") as f:
        json.dump({"format": FORMAT, "version": VERSION, "schema_version": SCHEMA_VERSION,
                   "ftreplay_version": __version__, "partitioned_by": "run_id", "tables": list(TABLES)}, f, indent=1)
        f.write("\n")


def _read_manifest(folder: str) -> dict[str, Any]:
    path = os.path.join(folder, MANIFEST)
    try:
        with open(path) as f:
            m = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"{folder}: no {MANIFEST}, not an ftreplay Parquet export") from None
    except (OSError, ValueError) as e:
        raise LogError(f"{path}: unreadable manifest: {e}") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise LogError(f"{path}: not an ftreplay Parquet manifest")
    if m.get("version") != VERSION:
        raise LogError(f"{path}: Parquet export version {m.get('version')} is not supported (this ftreplay reads {VERSION})")
    if int(m.get("schema_version", 0)) > SCHEMA_VERSION:
        raise LogError(f"{path}: schema version {m['schema_version']} is newer than this ftreplay's {SCHEMA_VERSION}")
    return m


def _partition(root: str, table: str, run_id: str) -> str:
    return os.path.join(root, table, f"run_id={run_id}", PART)


def _write(reader: pa.RecordBatchReader, path: str) -> None:
    with pq.ParquetWriter(path, reader.schema) as w:
        for batch in reader:
            w.write_batch(batch)


# -- import ------------------------------------------------------------------------------------
def is_parquet_export(path: str) -> bool:
    return os.path.isdir(path) and os.path.exists(os.path.join(path, MANIFEST))


def exported_runs(folder: str) -> list[str]:
    _read_manifest(folder)
    root = os.path.join(folder, "runs")
    if not os.path.isdir(root):
        return []
    out = []
    for name in sorted(os.listdir(root)):
        if name.startswith("run_id=") and os.path.exists(os.path.join(root, name, PART)):
            out.append(name[len("run_id="):])
    return out


class ParquetRows:
    """Rows of one exported run (``events`` and ``checkpoints`` partitions)."""

    def __init__(self, con, folder: str, run_id: str) -> None:
        self.con = con
        self.folder = folder
        self.run_id = run_id
        events = _partition(folder, "events", run_id)
        ckpts = _partition(folder, "checkpoints", run_id)
        for p in (events, ckpts):
            if not os.path.exists(p):
                raise LogError(f"{p}: missing from the export")
        con.execute("DROP VIEW IF EXISTS _ev")
        con.read_parquet(events).create_view("_ev")
        self._ckpts = ckpts
        self.columns = {d[0] for d in con.execute("SELECT * FROM _ev LIMIT 0").description}
        kinds = [r[0] for r in con.execute("SELECT DISTINCT kind FROM _ev").fetchall()]
        unknown = [k for k in kinds if k not in KIND_ID]
        if unknown:
            raise LogError(f"{events}: unknown event kind {unknown[0]!r} (written by a newer ftreplay?)")
        self._kinds = sorted(KIND_ID[k] for k in kinds)

    def kinds(self) -> list[int]:
        return self._kinds

    def frame(self, lo: int, hi: int) -> dict[int, list[list[Any]]]:
        tbl = arrow_table(self.con, "SELECT * FROM _ev WHERE seq BETWEEN ? AND ? ORDER BY seq", [lo, hi])
        out: dict[int, list[list[Any]]] = {}
        kind = tbl.column("kind")
        for tag in pc.unique(kind).to_pylist():
            kid = KIND_ID[tag]
            sub = tbl.filter(pc.equal(kind, tag))
            n = sub.num_rows
            out[kid] = [sub.column(name).to_pylist() if name in self.columns else [None] * n for name in FIELDS[kid]]
        return out

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        pf = pq.ParquetFile(self._ckpts)
        for batch in pf.iter_batches(batch_size=64, columns=["seq", "state"]):
            for seq, blob in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
                yield seq, blob
        # rows are written ORDER BY seq; write_log checks they fall inside the run


def read_run_row(folder: str, run_id: str) -> dict[str, Any]:
    path = _partition(folder, "runs", run_id)
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowException) as e:
        raise LogError(f"{path}: {str(e).splitlines()[0]}") from None
    if len(rows) != 1:
        raise LogError(f"{path}: expected one run row, found {len(rows)}")
    row = rows[0]
    row["run_id"] = run_id
    return row


@dataclass
class ImportedRun:
    source_run_id: str
    run_id: str
    events: int
    hash: str
    status: str
    log: str


def import_parquet(
    store: Store, folder: str, only: Optional[list[str]] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> list[ImportedRun]:
    """Store every run of an export (or those in ``only``); each is verified before it is stored."""
    import duckdb

    from ..record.log import read_log

    names = exported_runs(folder)
    if only:
        missing = [r for r in only if r not in names]
        if missing:
            raise UsageError(f"{folder} has no run {missing[0]!r} (it has: {', '.join(names[:5]) or 'none'})")
        names = [r for r in names if r in only]
    if not names:
        raise UsageError(f"{folder} holds no runs")
    log_dir = os.path.dirname(os.path.abspath(store.path))
    con = duckdb.connect()
    out: list[ImportedRun] = []
    try:
        for src in names:
            run = read_run_row(folder, src)
            rows = ParquetRows(con, folder, src)
            taken = store.con.execute("SELECT 1 FROM runs WHERE run_id = ?", [src]).fetchone() is not None
            run_id = src if not taken and not os.path.exists(os.path.join(log_dir, src + ".ftlog")) \
                else store.new_run_id(run["scenario"], log_dir)
            log_path = os.path.join(log_dir, run_id + ".ftlog")
            try:
                f = open(log_path, "xb")  # new_run_id picked a name no log has; never overwrite one
            except OSError as e:
                raise StoreError(f"cannot create {log_path}: {e.strerror}") from None
            try:
                with f:
                    digest = write_log(run, rows, f.write)
                check_hash(run, digest)
                reader = read_log(log_path)
                try:
                    n = store.ingest(reader, run_id, log_path, progress=progress)
                finally:
                    reader.close()
            except BaseException:
                os.unlink(log_path)
                raise
            stored = store.run(run_id)
            out.append(ImportedRun(src, run_id, n, stored["hash"], stored["status"], log_path))
    finally:
        con.close()
    return out
