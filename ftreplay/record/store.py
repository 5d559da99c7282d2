"""The DuckDB store: ``runs``, per-kind event tables, the ``events`` view.

Events live in one physical table per kind (``raw.<kind>``: narrow, so ingest stays fast);
``main.<kind>`` views add the ``kind`` column and ``main.events`` is their UNION ALL BY
NAME: envelope columns plus every field of every kind, NULL where a kind lacks it.
Ingest goes through Arrow, one INSERT per kind per chunk, inside one transaction: a failed
ingest leaves the store as it was.  Readers open the file read-only.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import sys
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import duckdb
import pyarrow as pa

from ..errors import LogError, StoreError, UsageError
from .events import CODECS, ENVELOPE, FIELDS, KIND_ID, KINDS, SCHEMA_VERSION, TAGS, view_name
from .log import LogReader, RunEnd, RunMeta, _int_column, decode_column

DEFAULT_DB = os.path.join("recordings", "ftreplay.duckdb")
# A writer attaches the store with row groups of ROW_GROUP_SIZE rows (DuckDB's default is
# 122,880).  An INSERT that fills a row group has it compressed and written to the file at
# once, inside the still open transaction; the rest waits for COMMIT, which does that work
# on one core.  Row groups this small let a recording spread that work over the run
# instead of leaving it all to its end.  Readers see any row group size.
ROW_GROUP_SIZE = 8_192
# Rows of one kind buffered as Arrow before its INSERT (at least this many: a kind is
# checked as each frame's rows arrive).  With DuckDB's default settings every INSERT builds
# a collection of its own and writes it with a partly filled block per column: four row
# groups an INSERT keep that waste small (35 instead of 51 bytes per event).
KIND_FLUSH_ROWS = 4 * ROW_GROUP_SIZE
# A run that streams in while it is simulated (``ftreplay record``) is inserted a row group
# at a time with these settings instead (DuckDB's are per database, restored for the end of
# the ingest): one thread and no insertion-order bookkeeping make DuckDB append every INSERT
# to the transaction's own copy of the table, whose row groups are written as they fill,
# packed into shared blocks (bench: 32 instead of 35 bytes per event, a shorter checkpoint
# at close; a single-threaded INSERT of one Arrow table keeps its rows in order).  An import,
# whose rows come as fast as the log is read, keeps DuckDB's threads (about 10 % faster).
STREAMED_FLUSH_ROWS = ROW_GROUP_SIZE
_STREAMING_SETTINGS = {"threads": "1", "preserve_insertion_order": "false"}
_WRITER_ALIAS = "ftreplay_store"

_SQL_TYPE = {"q": "BIGINT", "b": "BOOLEAN", "s": "VARCHAR", "n": "BIGINT", "z": "VARCHAR"}
_ARROW_TYPE = {"q": pa.int64(), "b": pa.bool_(), "s": pa.string(), "n": pa.int64(), "z": pa.string()}
_LITTLE = sys.byteorder == "little"

RUNS_COLUMNS = (
    ("run_id", "VARCHAR PRIMARY KEY"),
    ("scenario", "VARCHAR NOT NULL"),
    ("seed", "BIGINT"),
    ("strategy", "VARCHAR"),
    ("config", "JSON"),
    ("bugs", "VARCHAR[]"),
    ("status", "VARCHAR"),
    ("failure_reason", "VARCHAR"),
    ("failure_message", "VARCHAR"),
    ("failure_seq", "BIGINT"),
    ("events", "BIGINT"),
    ("hash", "VARCHAR"),
    ("schedule", "VARCHAR"),
    ("created", "TIMESTAMP"),
    ("ftreplay_version", "VARCHAR"),
    ("schema_version", "INTEGER"),
    ("log_path", "VARCHAR"),
    ("steps", "BIGINT"),
    ("virtual_ns", "BIGINT"),
    ("recovery", "VARCHAR"),
)


def default_db() -> str:
    return os.environ.get("FTREPLAY_DB") or DEFAULT_DB


OBJECT_LIFETIMES_COLUMNS = (
    ("run_id", "VARCHAR NOT NULL"),
    ("obj", "BIGINT"),
    ("type", "VARCHAR"),
    ("size", "BIGINT"),
    ("gc", "BOOLEAN"),
    ("block", "BIGINT"),
    ("creator_tid", "BIGINT"),
    ("new_seq", "BIGINT"),
    ("new_ts", "BIGINT"),
    ("dealloc_seq", "BIGINT"),
    ("dealloc_ts", "BIGINT"),
    ("dealloc_tid", "BIGINT"),
    ("increfs", "BIGINT"),
    ("decrefs", "BIGINT"),
    ("shared_ops", "BIGINT"),
    ("first_shared_seq", "BIGINT"),
    ("disown_seq", "BIGINT"),
    ("queued_seq", "BIGINT"),
    ("queued_to", "BIGINT"),
    ("merged_seq", "BIGINT"),
    ("try_increfs_failed", "BIGINT"),
    ("block_freed_seq", "BIGINT"),
    ("block_reused_seq", "BIGINT"),
    ("block_reused_by", "BIGINT"),
)

REFCOUNT_HISTORY_COLUMNS = (
    ("run_id", "VARCHAR NOT NULL"),
    ("obj", "BIGINT"),
    ("seq", "BIGINT"),
    ("ts", "BIGINT"),
    ("tid", "BIGINT"),
    ("kind", "VARCHAR"),
    ("path", "VARCHAR"),
    ("ob_ref_local", "BIGINT"),
    ("ob_ref_shared", "BIGINT"),
    ("refcnt", "BIGINT"),
    ("shared_count", "BIGINT"),
    ("flags", "BIGINT"),
)

STW_PAUSES_COLUMNS = (
    ("run_id", "VARCHAR NOT NULL"),
    ("scope", "VARCHAR"),
    ("requester", "BIGINT"),
    ("request_seq", "BIGINT"),
    ("request_ts", "BIGINT"),
    ("stopped_seq", "BIGINT"),
    ("stopped_ts", "BIGINT"),
    ("start_seq", "BIGINT"),
    ("start_ts", "BIGINT"),
    ("threads_suspended", "BIGINT"),
    ("time_to_stop_ns", "BIGINT"),
    ("pause_ns", "BIGINT"),
)

GC_COLLECTIONS_COLUMNS = (
    ("run_id", "VARCHAR NOT NULL"),
    ("start_seq", "BIGINT"),
    ("start_ts", "BIGINT"),
    ("end_seq", "BIGINT"),
    ("end_ts", "BIGINT"),
    ("reason", "VARCHAR"),
    ("requester", "BIGINT"),
    ("collected", "BIGINT"),
    ("uncollectable", "BIGINT"),
    ("pauses", "BIGINT"),
    ("paused_ns", "BIGINT"),
    ("objects_visited", "BIGINT"),
    ("unreachable", "BIGINT"),
    ("duration_ns", "BIGINT"),
)


def _table_ddl(name: str, columns: tuple[tuple[str, str], ...]) -> str:
    return f"CREATE TABLE IF NOT EXISTS {name} (\n    " + ",\n    ".join(f"{n} {t}" for n, t in columns) + "\n);"


def kind_columns(kind_id: int) -> list[tuple[str, str]]:
    return [(name, _SQL_TYPE[c]) for name, c in zip(FIELDS[kind_id], CODECS[kind_id])]


def ddl() -> str:
    """The store's DDL, generated from the event union (also written to schemas/)."""
    return "\n".join(_tables_ddl() + view_ddl()) + "\n"


def _tables_ddl() -> list[str]:
    out = [
        "CREATE TABLE IF NOT EXISTS ftreplay_meta (key VARCHAR PRIMARY KEY, value VARCHAR);",
        "CREATE TABLE IF NOT EXISTS runs (\n    "
        + ",\n    ".join(f"{n} {t}" for n, t in RUNS_COLUMNS)
        + "\n);",
        "CREATE SCHEMA IF NOT EXISTS raw;",
        "CREATE TABLE IF NOT EXISTS checkpoints (run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, state BLOB NOT NULL);",
        # Runs stored whose derived tables were still being committed (see Ingest.finish).
        "CREATE TABLE IF NOT EXISTS derive_pending (run_id VARCHAR NOT NULL);",
        "CREATE TABLE IF NOT EXISTS thread_state_intervals (\n    run_id VARCHAR NOT NULL,\n    thread BIGINT,\n"
        "    state VARCHAR,\n    start_seq BIGINT,\n    end_seq BIGINT,\n    start_ts BIGINT,\n    end_ts BIGINT\n);",
        "CREATE TABLE IF NOT EXISTS park_intervals (\n    run_id VARCHAR NOT NULL,\n    thread BIGINT,\n    addr BIGINT,\n"
        "    start_seq BIGINT,\n    end_seq BIGINT,\n    start_ts BIGINT,\n    end_ts BIGINT,\n    result VARCHAR\n);",
        "CREATE TABLE IF NOT EXISTS lock_holds (\n    run_id VARCHAR NOT NULL,\n    mutex BIGINT,\n    tid BIGINT,\n"
        "    acquire_seq BIGINT,\n    release_seq BIGINT,\n    wait_ns BIGINT,\n    hold_ns BIGINT,\n    via VARCHAR\n);",
        _table_ddl("object_lifetimes", OBJECT_LIFETIMES_COLUMNS),
        _table_ddl("refcount_history", REFCOUNT_HISTORY_COLUMNS),
        _table_ddl("stw_pauses", STW_PAUSES_COLUMNS),
        _table_ddl("gc_collections", GC_COLLECTIONS_COLUMNS),
    ]
    for i, tag in enumerate(TAGS):
        cols = ",\n    ".join(f"{n} {t}" for n, t in [("run_id", "VARCHAR NOT NULL")] + kind_columns(i))
        out.append(f"CREATE TABLE IF NOT EXISTS raw.{view_name(tag)} (\n    {cols}\n);")
    return out


def view_ddl() -> list[str]:
    out = []
    for i, tag in enumerate(TAGS):
        v = view_name(tag)
        fields = [n for n in FIELDS[i] if n not in ENVELOPE]
        sel = ", ".join(["run_id", "seq", "ts", "tid", f"'{tag}' AS kind"] + fields)
        out.append(f"CREATE OR REPLACE VIEW main.{v} AS SELECT {sel} FROM raw.{v};")
    union = "\nUNION ALL BY NAME\n".join(f"SELECT * FROM main.{view_name(t)}" for t in TAGS)
    out.append(f"CREATE OR REPLACE VIEW main.events AS\n{union};")
    return out


_PROC = """spans AS (
    SELECT f.seq AS start_seq, f.child AS process,
        coalesce(x.seq, (SELECT events - 1 FROM runs WHERE run_id = $run)) AS end_seq,
        coalesce(x.ts, (SELECT virtual_ns FROM runs WHERE run_id = $run)) AS end_ts
    FROM raw.pylifecycle_fork f
    LEFT JOIN raw.pylifecycle_exit x ON x.run_id = $run AND x.process = f.child
    WHERE f.run_id = $run
)"""


def _in_process(table: str) -> str:
    """``table`` (with a ``seq`` column) plus ``process`` (1, or the forked child whose span
    holds the event: after its pylifecycle.fork up to its pylifecycle.exit; spans nest)
    and ``pend``/``pend_ts`` (that span's last seq and its ts; NULL in process 1)."""
    return f"""SELECT e.*, coalesce(p.process, 1) AS process, p.end_seq AS pend, p.end_ts AS pend_ts FROM {table} e
    LEFT JOIN (
        SELECT e2.seq, arg_max(s.process, s.start_seq) AS process, arg_max(s.end_seq, s.start_seq) AS end_seq,
            arg_max(s.end_ts, s.start_seq) AS end_ts
        FROM {table} e2 JOIN spans s ON e2.seq > s.start_seq AND e2.seq <= s.end_seq GROUP BY e2.seq
    ) p USING (seq)"""


# A forked child runs inside its parent's fork window (its events come between the parent's
# pylifecycle.fork and the child's pylifecycle.exit), and the forking thread keeps its id in
# the child: the tables below pair events within one process.

# One row per stretch of time a thread spends in one thread state ('detached',
# 'attached', 'suspended', 'shutting_down'), and 'exited' from thread.exit on (a thread
# deletes its state while attached, so nothing follows).  The last stretch ends at the
# run's last event.  Parking is in park_intervals (a parked thread is
# also detached, or attached when it parked without detaching).
THREAD_STATE_INTERVALS_SQL = f"""
INSERT INTO thread_state_intervals
WITH {_PROC}, pts0 AS (
    SELECT thread AS t, seq, ts, new AS state FROM raw.pystate_new_thread WHERE run_id = $run
    UNION ALL SELECT thread, seq, ts, new FROM raw.pystate_attach WHERE run_id = $run
    UNION ALL SELECT thread, seq, ts, new FROM raw.pystate_detach WHERE run_id = $run
    UNION ALL SELECT thread, seq, ts, new FROM raw.pystate_suspend WHERE run_id = $run
    UNION ALL SELECT thread, seq, ts, 'exited' FROM raw.thread_exit WHERE run_id = $run
), pts AS ({_in_process("pts0")}
), ends AS (SELECT events - 1 AS seq, virtual_ns AS ts FROM runs WHERE run_id = $run)
SELECT $run, t, state, seq,
    coalesce(lead(seq) OVER w - 1, pend, (SELECT seq FROM ends)),
    ts,
    coalesce(lead(ts) OVER w, pend_ts, (SELECT ts FROM ends))
FROM pts
WINDOW w AS (PARTITION BY process, t ORDER BY seq)
"""

# Each stretch a thread spends enqueued in the parking lot: from its park to its wake.
PARK_INTERVALS_SQL = f"""
INSERT INTO park_intervals
WITH {_PROC}, pts0 AS (
    SELECT tid AS t, seq, ts, addr, 'park' AS k, NULL AS result FROM raw.parking_lot_park WHERE run_id = $run AND qlen > 0
    UNION ALL SELECT tid, seq, ts, addr, 'wake', result FROM raw.parking_lot_wake WHERE run_id = $run AND result <> 'again'
), pts AS ({_in_process("pts0")}
), paired AS (
    SELECT *, lead(seq) OVER w AS wake_seq, lead(ts) OVER w AS wake_ts, lead(result) OVER w AS wake_result
    FROM pts WINDOW w AS (PARTITION BY process, t ORDER BY seq)
), ends AS (SELECT events - 1 AS seq, virtual_ns AS ts FROM runs WHERE run_id = $run)
SELECT $run, t, addr, seq, coalesce(wake_seq, pend, (SELECT seq FROM ends)), ts,
    coalesce(wake_ts, pend_ts, (SELECT ts FROM ends)), wake_result
FROM paired WHERE k = 'park'
"""

# Each acquisition of a PyMutex paired with the release that follows it on that mutex.
LOCK_HOLDS_SQL = f"""
INSERT INTO lock_holds
WITH {_PROC}, ev0 AS (
    SELECT mutex, seq, ts, tid, 'a' AS k, wait_ns, via FROM raw.lock_acquire WHERE run_id = $run
    UNION ALL SELECT mutex, seq, ts, tid, 'r', NULL, via FROM raw.lock_release WHERE run_id = $run
), ev AS ({_in_process("ev0")}
), paired AS (
    SELECT *, lead(seq) OVER w AS next_seq, lead(ts) OVER w AS next_ts, lead(k) OVER w AS next_k
    FROM ev WINDOW w AS (PARTITION BY process, mutex ORDER BY seq)
)
SELECT $run, mutex, tid, seq,
    CASE WHEN next_k = 'r' THEN next_seq END,
    wait_ns,
    CASE WHEN next_k = 'r' THEN next_ts - ts END,
    via
FROM paired WHERE k = 'a'
"""

# One row per object.new: who made it, when it died (the first object.dealloc), what was
# done to its refcount in between, and what became of its memory.  increfs/decrefs count
# every path (immortal ones included); shared_ops only path 'shared'.  Block columns: the
# first obmalloc.free of the object's block at or after its dealloc, the first
# obmalloc.alloc of that address after the free, and the object that alloc became (the
# first object.new of the address whose latest obmalloc.alloc of it is that one; NULL when
# the reuse was not an object).  Without allocator events they are NULL.
OBJECT_LIFETIMES_SQL = """
INSERT INTO object_lifetimes BY NAME
WITH born AS (
    SELECT obj, type, size, gc, block, tid, seq, ts FROM raw.object_new WHERE run_id = $run
), dead AS (
    SELECT obj, min(seq) AS dealloc_seq, arg_min(ts, seq) AS dealloc_ts, arg_min(tid, seq) AS dealloc_tid
    FROM raw.object_dealloc WHERE run_id = $run GROUP BY obj
), refs AS (
    SELECT obj,
        count(*) FILTER (WHERE k = 'i') AS increfs,
        count(*) FILTER (WHERE k = 'd') AS decrefs,
        count(*) FILTER (WHERE path = 'shared') AS shared_ops,
        min(seq) FILTER (WHERE path = 'shared') AS first_shared_seq
    FROM (
        SELECT obj, seq, path, 'i' AS k FROM raw.object_incref WHERE run_id = $run
        UNION ALL SELECT obj, seq, path, 'd' FROM raw.object_decref WHERE run_id = $run
    ) GROUP BY obj
), disowned AS (
    SELECT obj, min(seq) AS disown_seq FROM raw.object_disown WHERE run_id = $run GROUP BY obj
), queued AS (
    SELECT obj, min(seq) AS queued_seq, arg_min(owner, seq) AS queued_to
    FROM raw.brc_queue WHERE run_id = $run GROUP BY obj
), merged AS (
    SELECT obj, min(seq) AS merged_seq FROM raw.object_merge WHERE run_id = $run GROUP BY obj
), tries AS (
    SELECT obj, count(*) AS try_increfs_failed FROM raw.object_try_incref WHERE run_id = $run AND NOT ok GROUP BY obj
), allocs AS (
    SELECT block, seq FROM raw.obmalloc_alloc WHERE run_id = $run
), frees AS (
    SELECT block, seq FROM raw.obmalloc_free WHERE run_id = $run
), freed AS (
    SELECT b.obj, b.block, f.seq AS block_freed_seq
    FROM born b JOIN dead d USING (obj)
    ASOF JOIN frees f ON f.block = b.block AND f.seq >= d.dealloc_seq
), reused AS (
    SELECT fr.obj, fr.block_freed_seq, a.seq AS block_reused_seq
    FROM freed fr ASOF LEFT JOIN allocs a ON a.block = fr.block AND a.seq > fr.block_freed_seq
), became AS (
    SELECT a.seq AS alloc_seq, arg_min(b.obj, b.seq) AS obj
    FROM born b ASOF JOIN allocs a ON a.block = b.block AND b.seq >= a.seq
    GROUP BY a.seq
)
SELECT $run AS run_id, b.obj, b.type, b.size, b.gc, b.block, b.tid AS creator_tid, b.seq AS new_seq, b.ts AS new_ts,
    d.dealloc_seq, d.dealloc_ts, d.dealloc_tid,
    coalesce(r.increfs, 0) AS increfs, coalesce(r.decrefs, 0) AS decrefs,
    coalesce(r.shared_ops, 0) AS shared_ops, r.first_shared_seq,
    o.disown_seq, q.queued_seq, q.queued_to, m.merged_seq,
    coalesce(t.try_increfs_failed, 0) AS try_increfs_failed,
    u.block_freed_seq, u.block_reused_seq, w.obj AS block_reused_by
FROM born b
LEFT JOIN dead d USING (obj)
LEFT JOIN refs r USING (obj)
LEFT JOIN disowned o USING (obj)
LEFT JOIN queued q USING (obj)
LEFT JOIN merged m USING (obj)
LEFT JOIN tries t USING (obj)
LEFT JOIN reused u USING (obj)
LEFT JOIN became w ON w.alloc_seq = u.block_reused_seq
ORDER BY b.obj
"""

# One row per event that changes an object's refcount fields, the fields after it:
# object.new (local 1, shared 0), incref/decref/try_incref (ok) other than path 'immortal'
# (which change nothing), disown, merge, set_maybe_weakref, set_immortal and dealloc (the
# final header).  A field an event does not carry (ob_ref_shared of a disown, ob_ref_local
# of a merge or set_maybe_weakref) is the previous row's value, as is refcnt where the count
# does not change (disown, set_maybe_weakref).  refcnt is the event's own where it has one
# (it counts a local an explicit merge holds in flight); set_immortal reports
# _Py_IMMORTAL_INITIAL_REFCNT (3 << 30) for ob_ref_local UINT32_MAX, dealloc Py_REFCNT of
# the final header.  shared_count = ob_ref_shared >> 2 (arithmetic), flags = ob_ref_shared & 3.
REFCOUNT_HISTORY_SQL = """
INSERT INTO refcount_history BY NAME
WITH ev AS (
    SELECT obj, seq, ts, tid, 'object.new' AS kind, NULL::VARCHAR AS path,
        1::BIGINT AS ob_ref_local, 0::BIGINT AS ob_ref_shared, 1::BIGINT AS refcnt
    FROM raw.object_new WHERE run_id = $run
    UNION ALL SELECT obj, seq, ts, tid, 'object.incref', path, ob_ref_local, ob_ref_shared, refcnt
    FROM raw.object_incref WHERE run_id = $run AND path <> 'immortal'
    UNION ALL SELECT obj, seq, ts, tid, 'object.decref', path, ob_ref_local, ob_ref_shared, refcnt
    FROM raw.object_decref WHERE run_id = $run AND path <> 'immortal'
    UNION ALL SELECT obj, seq, ts, tid, 'object.try_incref', path, ob_ref_local, ob_ref_shared, refcnt
    FROM raw.object_try_incref WHERE run_id = $run AND ok AND path <> 'immortal'
    UNION ALL SELECT obj, seq, ts, tid, 'object.disown', path, ob_ref_local, NULL, NULL
    FROM raw.object_disown WHERE run_id = $run
    UNION ALL SELECT obj, seq, ts, tid, 'object.merge', path, NULL, ob_ref_shared, refcnt
    FROM raw.object_merge WHERE run_id = $run
    UNION ALL SELECT obj, seq, ts, tid, 'object.set_maybe_weakref', NULL, NULL, ob_ref_shared, NULL
    FROM raw.object_set_maybe_weakref WHERE run_id = $run
    UNION ALL SELECT obj, seq, ts, tid, 'object.set_immortal', NULL, ob_ref_local, ob_ref_shared,
        CASE WHEN ob_ref_local = 4294967295 THEN 3221225472 ELSE ob_ref_local + (ob_ref_shared >> 2) END
    FROM raw.object_set_immortal WHERE run_id = $run
    UNION ALL SELECT obj, seq, ts, tid, 'object.dealloc', NULL, ob_ref_local, ob_ref_shared,
        CASE WHEN ob_ref_local = 4294967295 THEN 3221225472 ELSE ob_ref_local + (ob_ref_shared >> 2) END
    FROM raw.object_dealloc WHERE run_id = $run
), filled AS (
    SELECT obj, seq, ts, tid, kind, path,
        last_value(ob_ref_local IGNORE NULLS) OVER w AS ob_ref_local,
        last_value(ob_ref_shared IGNORE NULLS) OVER w AS ob_ref_shared,
        last_value(refcnt IGNORE NULLS) OVER w AS refcnt
    FROM ev
    WINDOW w AS (PARTITION BY obj ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT $run AS run_id, obj, seq, ts, tid, kind, path, ob_ref_local, ob_ref_shared, refcnt,
    ob_ref_shared >> 2 AS shared_count, ob_ref_shared & 3 AS flags
FROM filled
"""

# One row per pystate.stw_request, paired with the stop_the_world and start_the_world
# that follow it for the same scope and requester (the requester holds the scope's STW
# mutex from request to restart, so its pauses of one scope never overlap).  stopped_* and
# start_* are NULL when the run ended first.  threads_suspended counts the pystate.suspend
# events (any thread's) after the request and before the world stopped (before the end of
# the run when it never did): detached threads the requester flipped plus threads that
# suspended themselves at PLEASE_STOP; threads created during the pause start suspended
# without one.  time_to_stop_ns = stopped_ts - request_ts, pause_ns = start_ts - stopped_ts.
STW_PAUSES_SQL = """
INSERT INTO stw_pauses BY NAME
WITH ev AS (
    SELECT scope, requester, seq, ts, 'q' AS k FROM raw.pystate_stw_request WHERE run_id = $run
    UNION ALL SELECT scope, requester, seq, ts, 's' FROM raw.pystate_stop_the_world WHERE run_id = $run
    UNION ALL SELECT scope, requester, seq, ts, 'r' FROM raw.pystate_start_the_world WHERE run_id = $run
), numbered AS (
    SELECT *, sum(CASE WHEN k = 'q' THEN 1 ELSE 0 END) OVER (PARTITION BY scope, requester ORDER BY seq) AS n
    FROM ev
), pauses AS (
    SELECT scope, requester,
        min(seq) FILTER (WHERE k = 'q') AS request_seq, arg_min(ts, seq) FILTER (WHERE k = 'q') AS request_ts,
        min(seq) FILTER (WHERE k = 's') AS stopped_seq, arg_min(ts, seq) FILTER (WHERE k = 's') AS stopped_ts,
        min(seq) FILTER (WHERE k = 'r') AS start_seq, arg_min(ts, seq) FILTER (WHERE k = 'r') AS start_ts
    FROM numbered WHERE n > 0
    GROUP BY scope, requester, n
), ends AS (SELECT events AS seq FROM runs WHERE run_id = $run
), suspends AS (
    SELECT p.request_seq, count(s.seq) AS threads_suspended
    FROM pauses p LEFT JOIN raw.pystate_suspend s
        ON s.run_id = $run AND s.seq > p.request_seq AND s.seq < coalesce(p.stopped_seq, (SELECT seq FROM ends))
    GROUP BY p.request_seq
)
SELECT $run AS run_id, p.scope, p.requester, p.request_seq, p.request_ts, p.stopped_seq, p.stopped_ts,
    p.start_seq, p.start_ts, u.threads_suspended,
    p.stopped_ts - p.request_ts AS time_to_stop_ns, p.start_ts - p.stopped_ts AS pause_ns
FROM pauses p JOIN suspends u USING (request_seq)
ORDER BY p.request_seq
"""

# One row per gc.start, paired with the gc.end that follows it on the same thread (the
# collector emits both; ``collecting`` serialises collections, and a gc.collect() during one
# returns without events).  end_*, collected, uncollectable and duration_ns are NULL when the
# run ended first; what the collection did is then counted up to the run's end.  Events of
# the collection are the collector thread's between its start and end:
# - pauses / paused_ns: its pystate.stop_the_world events (two per complete collection) and
#   the sum of their lengths up to the start_the_world that restarts each (a pause the run
#   ended in adds nothing);
# - objects_visited: its gc.header events in phase update_refs (one per tracked object of the
#   GC heaps: gc_refs go into ob_tid and UNREACHABLE is set);
# - unreachable: the objects whose gc.header in phase scan still has UNREACHABLE (0x4): the
#   objects mark left unreachable (scan gives each a merged refcount + 1).  Those that
#   resurrection does not bring back, and that are still alive, are the ``collected`` ones.
# The phase of a gc.header is that of the collector's last gc.phase before it.
GC_COLLECTIONS_SQL = """
INSERT INTO gc_collections BY NAME
WITH marks AS (
    SELECT tid, seq, ts, 's' AS k, reason, NULL::BIGINT AS collected, NULL::BIGINT AS uncollectable
    FROM raw.gc_start WHERE run_id = $run
    UNION ALL SELECT tid, seq, ts, 'e', NULL, collected, uncollectable FROM raw.gc_end WHERE run_id = $run
), paired AS (
    SELECT *, lead(k) OVER w AS next_k, lead(seq) OVER w AS next_seq, lead(ts) OVER w AS next_ts,
        lead(collected) OVER w AS next_collected, lead(uncollectable) OVER w AS next_uncollectable
    FROM marks WINDOW w AS (PARTITION BY tid ORDER BY seq)
), colls AS (
    SELECT tid AS requester, seq AS start_seq, ts AS start_ts, reason,
        CASE WHEN next_k = 'e' THEN next_seq END AS end_seq,
        CASE WHEN next_k = 'e' THEN next_ts END AS end_ts,
        CASE WHEN next_k = 'e' THEN next_collected END AS collected,
        CASE WHEN next_k = 'e' THEN next_uncollectable END AS uncollectable,
        -- the collection's events lie strictly between start_seq and this
        CASE WHEN next_k = 'e' THEN next_seq ELSE (SELECT events FROM runs WHERE run_id = $run) END AS bound
    FROM paired WHERE k = 's'
), stw AS (
    SELECT requester, seq, ts, k, lead(k) OVER w AS next_k, lead(ts) OVER w AS next_ts
    FROM (
        SELECT scope, requester, seq, ts, 's' AS k FROM raw.pystate_stop_the_world WHERE run_id = $run
        UNION ALL SELECT scope, requester, seq, ts, 'r' FROM raw.pystate_start_the_world WHERE run_id = $run
    ) WINDOW w AS (PARTITION BY scope, requester ORDER BY seq)
), pauses AS (
    SELECT c.start_seq, count(*) AS pauses, sum(CASE WHEN s.next_k = 'r' THEN s.next_ts - s.ts END) AS paused_ns
    FROM colls c JOIN stw s ON s.k = 's' AND s.requester = c.requester AND s.seq > c.start_seq AND s.seq < c.bound
    GROUP BY c.start_seq
), phases AS (
    SELECT tid, seq, phase FROM raw.gc_phase WHERE run_id = $run
), headers AS (
    SELECT h.tid, h.seq, h.obj, h.ob_gc_bits, p.phase
    FROM (SELECT tid, seq, obj, ob_gc_bits FROM raw.gc_header WHERE run_id = $run) h
    ASOF LEFT JOIN phases p ON p.tid = h.tid AND h.seq > p.seq
), visits AS (
    SELECT c.start_seq,
        count(*) FILTER (WHERE h.phase = 'update_refs') AS objects_visited,
        count(DISTINCT h.obj) FILTER (WHERE h.phase = 'scan' AND h.ob_gc_bits & 4 <> 0) AS unreachable
    FROM colls c JOIN headers h ON h.tid = c.requester AND h.seq > c.start_seq AND h.seq < c.bound
    GROUP BY c.start_seq
)
SELECT $run AS run_id, c.start_seq, c.start_ts, c.end_seq, c.end_ts, c.reason, c.requester,
    c.collected, c.uncollectable,
    coalesce(p.pauses, 0) AS pauses, coalesce(p.paused_ns, 0) AS paused_ns,
    coalesce(v.objects_visited, 0) AS objects_visited, coalesce(v.unreachable, 0) AS unreachable,
    c.end_ts - c.start_ts AS duration_ns
FROM colls c
LEFT JOIN pauses p USING (start_seq)
LEFT JOIN visits v USING (start_seq)
ORDER BY c.start_seq
"""

# The tables derived at ingest, in the order they are computed.  A run's rows are keyed by
# run_id in each (whatever deletes a run deletes its rows here too).
DERIVED_TABLES = (
    ("thread_state_intervals", THREAD_STATE_INTERVALS_SQL),
    ("park_intervals", PARK_INTERVALS_SQL),
    ("lock_holds", LOCK_HOLDS_SQL),
    ("object_lifetimes", OBJECT_LIFETIMES_SQL),
    ("refcount_history", REFCOUNT_HISTORY_SQL),
    ("stw_pauses", STW_PAUSES_SQL),
    ("gc_collections", GC_COLLECTIONS_SQL),
)


def _from_arrow(sql: str) -> str:
    """A derived table's SQL reading ``_arrow_<kind>`` and ``_arrow_runs`` (one run's rows,
    registered from memory) instead of ``raw.<kind>`` and ``runs``."""
    sql = re.sub(r"\braw\.(\w+)", r"_arrow_\1", sql)
    return re.sub(r"\bFROM runs\b", "FROM _arrow_runs", sql)


# What each derived table's SQL reads, for the in-memory variant.
_ARROW_DERIVED = tuple((table, _from_arrow(sql)) for table, sql in DERIVED_TABLES)
_ARROW_SOURCES = sorted({m for _t, sql in DERIVED_TABLES for m in re.findall(r"\braw\.(\w+)", sql)})


def _check_field_types() -> None:
    seen: dict[str, str] = {}
    for i, tag in enumerate(TAGS):
        for name, typ in kind_columns(i):
            if seen.setdefault(name, typ) != typ:
                raise TypeError(f"field {name!r} of {tag} is {typ}, elsewhere {seen[name]}")


_check_field_types()


def _wrap(e: Exception) -> StoreError:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return StoreError(msg)


class Store:
    def __init__(self, path: str, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.con = con
        self.read_only = read_only

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Optional[str] = None, read_only: bool = True) -> "Store":
        path = path or default_db()
        if read_only and not os.path.exists(path):
            raise StoreError(f"no store at {path} (record a run first, or pass --db)")
        if not read_only:
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        # Readers get no file system access: a query cannot COPY over a stored log.
        config = {"enable_external_access": False} if read_only else {}
        try:
            if read_only:
                con = duckdb.connect(path, read_only=True, config=config)
            else:
                con = duckdb.connect(":memory:")
                con.execute(f"ATTACH ? AS {_WRITER_ALIAS} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})", [path])
                con.execute(f"USE {_WRITER_ALIAS}")
        except duckdb.Error as e:
            text = str(e)
            if "lock" in text.lower():
                raise StoreError(f"{path} is in use by another ftreplay process (DuckDB allows one writer)") from None
            raise StoreError(f"cannot open store {path}: {text.splitlines()[0]}") from None
        store = cls(path, con, read_only)
        try:
            store._check_version()
            if not read_only:
                store._migrate()
                store._finish_pending()
        except BaseException:
            con.close()
            raise
        return store

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to this store (for another thread, or a result kept open)."""
        cur = self.con.cursor()
        if not self.read_only:
            cur.execute(f"USE {_WRITER_ALIAS}")  # a cursor starts in the in-memory catalog
        return cur

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_version(self) -> None:
        try:
            row = self.con.execute("SELECT value FROM ftreplay_meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            if self.read_only:
                raise StoreError(f"{self.path} is not an ftreplay store") from None
            return
        except duckdb.Error as e:
            raise _wrap(e) from None
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {row[0]}; this ftreplay reads up to {SCHEMA_VERSION} (upgrade ftreplay)"
            )

    def _migrate(self) -> None:
        con = self.con
        digest = hashlib.sha256(ddl().encode()).hexdigest()
        try:
            row = con.execute("SELECT value FROM ftreplay_meta WHERE key = 'ddl_sha256'").fetchone()
        except duckdb.CatalogException:
            row = None
        if row is not None and row[0] == digest:
            return  # this store already has every table, column and view of this version
        con.execute("BEGIN")
        try:
            had = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()}
            existing: dict[str, set[str]] = {}
            for table, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'raw'"
            ).fetchall():
                existing.setdefault(table, set()).add(column)
            con.execute("\n".join(_tables_ddl()))  # CREATE ... IF NOT EXISTS, in one call
            # Append-only evolution: add any column a newer union has gained.
            for i, tag in enumerate(TAGS):
                table = view_name(tag)
                have = existing.get(table)
                if have is None:
                    continue  # just created from this version's DDL
                for name, typ in kind_columns(i):
                    if name not in have:
                        con.execute(f'ALTER TABLE raw.{table} ADD COLUMN "{name}" {typ}')
            con.execute("\n".join(view_ddl()))  # after the columns: a view lists every one
            self._backfill_derived([t for t, _ in DERIVED_TABLES if t not in had])
            con.execute(
                "INSERT OR REPLACE INTO ftreplay_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            con.execute("INSERT OR REPLACE INTO ftreplay_meta VALUES ('ddl_sha256', ?)", [digest])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    # -- runs ------------------------------------------------------------------------------
    def new_run_id(self, scenario: str, log_dir: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", scenario.rsplit(":", 1)[-1]).strip("_") or "run"
        rows = self.con.execute("SELECT run_id FROM runs WHERE run_id LIKE ?", [base + "-%"]).fetchall()
        n = 0
        for (rid,) in rows:
            tail = rid[len(base) + 1 :]
            if tail.isdigit():
                n = max(n, int(tail))
        while True:
            n += 1
            rid = f"{base}-{n}"
            if not os.path.exists(os.path.join(log_dir, rid + ".ftlog")):
                return rid

    def resolve_run(self, ref: str) -> str:
        """A run id, a unique prefix of one, or 'latest'."""
        con = self.con
        if ref == "latest":
            row = con.execute("SELECT run_id FROM runs ORDER BY created DESC, run_id DESC LIMIT 1").fetchone()
            if row is None:
                raise UsageError("the store has no runs yet")
            return row[0]
        if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [ref]).fetchone():
            return ref
        rows = con.execute("SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id", [ref]).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        if rows:
            raise UsageError(f"run {ref!r} is ambiguous: {', '.join(r[0] for r in rows[:5])}")
        raise UsageError(f"no run {ref!r} in {self.path} (see 'ftreplay runs')")

    def run(self, run_id: str) -> dict[str, Any]:
        cur = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
        cols = [d[0] for d in cur.description]
        row = cur.fetchone()
        if row is None:
            raise UsageError(f"no run {run_id!r}")
        return dict(zip(cols, row))

    def runs(self) -> list[dict[str, Any]]:
        cur = self.con.execute(
            "SELECT run_id, scenario, seed, strategy, bugs, status, failure_reason, events, hash, created "
            "FROM runs ORDER BY created, run_id"
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    # -- ingest ----------------------------------------------------------------------------
    def begin_ingest(
        self, run_id: str, progress: Optional[Callable[[int], None]] = None, parallel_derive: bool = False,
        streamed: bool = False,
    ) -> "Ingest":
        """Open one run's ingest transaction: feed it payloads and checkpoints as they come,
        then ``finish`` (or ``abort``).  ``parallel_derive``: keep the run's rows in memory
        and compute the derived tables from them on a second connection while the events
        are committed (see ``Ingest.finish``).  ``streamed``: the rows come while the run is
        simulated (see STREAMED_FLUSH_ROWS)."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        return Ingest(self, run_id, progress, parallel_derive, streamed)

    def ingest(
        self,
        reader: LogReader,
        run_id: str,
        log_path: str,
        progress: Optional[Callable[[int], None]] = None,
    ) -> int:
        """Insert the run row and every recovered event, atomically.  Returns the event count."""
        ing = self.begin_ingest(run_id, progress)
        with ing:
            for payload in reader.payloads():
                ing.add_payload(payload, reader.path)
            for seq, raw in reader.checkpoints():
                ing.add_checkpoint(seq, raw)
            clean = reader.end is not None and reader.recovery.clean
            return ing.finish(
                reader.meta, reader.end, log_path, reader.sha256, reader.schema_version,
                None if clean else reader.recovery.describe(),
            )

    def _insert_kind(self, kind_id: int, tbl: pa.Table, run_id: str) -> None:
        con = self.con
        con.register("_ingest", tbl)
        try:
            con.execute(f"INSERT INTO raw.{view_name(TAGS[kind_id])} BY NAME SELECT ? AS run_id, * FROM _ingest", [run_id])
        finally:
            con.unregister("_ingest")

    def _insert_checkpoints(self, run_id: str, seqs: list[int], blobs: list[bytes]) -> None:
        if seqs:
            tbl = pa.table({"seq": pa.array(seqs, pa.int64()), "state": pa.array(blobs, pa.binary())})
            self.con.register("_ckpt", tbl)
            try:
                self.con.execute("INSERT INTO checkpoints SELECT ?, seq, state FROM _ckpt", [run_id])
            finally:
                self.con.unregister("_ckpt")

    def _derive(self, run_id: str) -> None:
        """The Perfetto-like tables (thread lanes, lock holds, stop-the-world pauses, GC
        collections) and the memory ones (object lifetimes, refcount history), computed in SQL."""
        for _table, sql in DERIVED_TABLES:
            self.con.execute(sql, {"run": run_id})

    def _rederive(self, run_id: str) -> None:
        """Compute a run's derived tables again, in one transaction, and clear its
        ``derive_pending`` mark (a recording that stopped between its two commits)."""
        con = self.con
        con.execute("BEGIN")
        try:
            for table, _sql in DERIVED_TABLES:
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            self._derive(run_id)
            con.execute("DELETE FROM derive_pending WHERE run_id = ?", [run_id])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _finish_pending(self) -> None:
        for (run_id,) in self.con.execute("SELECT DISTINCT run_id FROM derive_pending ORDER BY 1").fetchall():
            self._rederive(run_id)

    def _backfill_derived(self, tables: list[str]) -> None:
        """Derive the tables a store gains on upgrade for the runs it already holds (their
        events carry NULL in any column added since, like every other query sees them)."""
        if not tables:
            return
        for (run_id,) in self.con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall():
            for table, sql in DERIVED_TABLES:
                if table in tables:
                    self.con.execute(sql, {"run": run_id})

    def _insert_run(
        self, run_id: str, meta: RunMeta, end: Optional[RunEnd], events: int, sha256: str,
        schema_version: int, log_path: str, recovery: Optional[str],
    ) -> None:
        """``recovery`` is None for a complete, undamaged log; else what was dropped (the run
        is then 'incomplete')."""
        config = {"args": meta.args, "knobs": meta.knobs}
        status = end.status if end is not None and recovery is None else "incomplete"
        self.con.execute(
            "INSERT INTO runs VALUES (" + ", ".join("?" * len(RUNS_COLUMNS)) + ")",
            [
                run_id,
                meta.scenario,
                meta.seed,
                meta.strategy,
                json.dumps(config),
                list(meta.bugs),
                status,
                end.failure_reason if end else None,
                end.failure_message if end else None,
                end.failure_seq if end else None,
                events,
                sha256,
                end.schedule if end else None,
                datetime.now(timezone.utc).replace(tzinfo=None),
                meta.ftreplay_version,
                schema_version,
                os.path.abspath(log_path),
                end.steps if end else None,
                end.virtual_ns if end else None,
                recovery,
            ],
        )

    # -- queries ---------------------------------------------------------------------------
    def query(self, sql: str, params: Optional[list] = None) -> tuple[list[str], list[tuple]]:
        try:
            cur = self.con.execute(sql, params or [])
            if cur.description is None:
                return [], []
            cols = [d[0] for d in cur.description]
            return cols, cur.fetchall()
        except duckdb.Error as e:
            raise _wrap(e) from None


class Ingest:
    """One run going into the store inside one transaction.

    Payloads (EVENTS frames, decoded or straight from the encoder) are gathered per kind
    into Arrow columns; every ``flush_rows`` rows of a kind (KIND_FLUSH_ROWS, or
    STREAMED_FLUSH_ROWS for a streamed run) a second thread INSERTs them while this one
    goes on (DuckDB releases the GIL).  ``finish`` inserts the rest,
    the checkpoints, the run row and the derived tables, and commits; ``abort`` (or leaving
    the ``with`` block by an exception) rolls back: the store is as it was."""

    def __init__(
        self, store: Store, run_id: str, progress: Optional[Callable[[int], None]], parallel_derive: bool = False,
        streamed: bool = False,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.progress = progress
        self.total = 0
        self.acc = [_KindColumns(i) for i in range(len(KINDS))]
        # The Arrow tables inserted so far, per kind (for the parallel derive).
        self.kept: Optional[list[list[pa.Table]]] = [[] for _ in KINDS] if parallel_derive else None
        self.ckpt_seqs: list[int] = []
        self.ckpt_blobs: list[bytes] = []
        self.failed: list[BaseException] = []
        self.todo: queue.Queue = queue.Queue(maxsize=4)
        self.done = False
        self.saved_settings: Optional[dict[str, str]] = None
        self.flush_rows = KIND_FLUSH_ROWS
        if streamed:
            self.flush_rows = STREAMED_FLUSH_ROWS
            self._streaming(True)
        store.con.execute("BEGIN")
        self.worker = threading.Thread(target=self._inserter, name="ftreplay-ingest", daemon=True)
        self.worker.start()

    def __enter__(self) -> "Ingest":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and not self.done:
            self.abort()
            if isinstance(exc, duckdb.Error):
                raise StoreError(f"ingest of {self.run_id} failed, store unchanged: {_wrap(exc)}") from None

    def _streaming(self, on: bool) -> None:
        """Switch DuckDB to the settings for appends while the run streams in, or back (on
        a connection of its own: the inserter thread may be using the store's)."""
        if on:
            con = self.store.con
            self.saved_settings = {
                k: str(con.execute("SELECT current_setting(?)", [k]).fetchone()[0]) for k in _STREAMING_SETTINGS
            }
            for k, v in _STREAMING_SETTINGS.items():
                con.execute(f"SET {k} = '{v}'")
        elif self.saved_settings is not None:
            settings, self.saved_settings = self.saved_settings, None
            con = self.store.con.cursor()
            try:
                for k, v in settings.items():
                    con.execute(f"SET {k} = '{v}'")
            finally:
                con.close()

    def _inserter(self) -> None:
        while True:
            item = self.todo.get()
            if item is None:
                return
            if self.failed:
                continue
            try:
                self.store._insert_kind(*item, self.run_id)
            except BaseException as e:  # re-raised by the producer
                self.failed.append(e)

    def _take(self, a: "_KindColumns") -> pa.Table:
        """The kind's buffered rows as one table, kept for the parallel derive."""
        tbl = a.take()
        if self.kept is not None:
            self.kept[a.kind_id].append(tbl)
        return tbl

    def _put(self, a: "_KindColumns") -> None:
        if self.failed:
            raise self.failed[0]
        self.todo.put((a.kind_id, self._take(a)))

    def add_payload(self, payload: list, source: str = "<log>") -> None:
        """One EVENTS payload: ``[first_seq, count, [[tag, n, col, ...], ...]]``."""
        for entry in payload[2]:
            kind_id = KIND_ID.get(entry[0])
            if kind_id is None:
                raise LogError(f"{source}: unknown event kind {entry[0]!r}")
            a = self.acc[kind_id]
            n = entry[1]
            a.add(n, entry[2:])
            self.total += n
            if a.rows >= self.flush_rows:
                self._put(a)
                if self.progress is not None:
                    self.progress(self.total)

    def add_checkpoint(self, seq: int, raw: bytes) -> None:
        """A CHECKPOINT frame's body: msgpack of ``[seq, state]``."""
        self.ckpt_seqs.append(seq)
        self.ckpt_blobs.append(raw)

    def _drain(self) -> None:
        try:
            if not self.failed:
                for a in self.acc:
                    if a.rows:
                        self._put(a)
        finally:
            self.todo.put(None)
            self.worker.join()
        if self.failed:
            raise self.failed[0]

    def finish(
        self, meta: RunMeta, end: Optional[RunEnd], log_path: str, sha256: str, schema_version: int,
        recovery: Optional[str] = None,
    ) -> int:
        """Store the rest and commit.  Returns the number of events stored.

        With ``parallel_derive`` the derived tables are computed from the rows in memory on
        a second connection, in a second transaction, while this one inserts the last rows
        and commits the events and the run (marked ``derive_pending``); the second commits
        after it, then the mark is cleared.  A process that dies in between leaves the
        mark, and the next writer to open the store derives that run again."""
        store, run_id = self.store, self.run_id
        deriver = None
        self._streaming(False)  # the last INSERTs and the derived tables may use every core
        try:
            if self.kept is not None and not self.failed:
                rest = [(a.kind_id, self._take(a)) for a in self.acc if a.rows]
                deriver = _ArrowDerive(store, run_id, self._arrow_tables(), self.total, end)
                deriver.start()  # before the last INSERTs: they and the derive overlap
                for item in rest:
                    if self.failed:
                        break
                    self.todo.put(item)
            self._drain()
            if self.progress is not None:
                self.progress(self.total)
            store._insert_run(run_id, meta, end, self.total, sha256, schema_version, log_path, recovery)
            store._insert_checkpoints(run_id, self.ckpt_seqs, self.ckpt_blobs)
            if deriver is None:
                store._derive(run_id)
            else:
                store.con.execute("INSERT INTO derive_pending VALUES (?)", [run_id])
            store.con.execute("COMMIT")
            self.done = True
        finally:
            error = deriver.settle(commit=self.done) if deriver is not None else None
        if deriver is not None:
            if error is None:
                store.con.execute("DELETE FROM derive_pending WHERE run_id = ?", [run_id])
            else:
                store._rederive(run_id)  # the events are stored: derive them the usual way
        return self.total

    def _arrow_tables(self) -> dict[str, pa.Table]:
        """This run's rows of every kind the derived tables read, with ``run_id``."""
        assert self.kept is not None
        out = {}
        for kind_id, tag in enumerate(TAGS):
            name = view_name(tag)
            if name not in _ARROW_SOURCES:
                continue
            parts = self.kept[kind_id]
            tbl = _concat(parts) if parts else _KindColumns(kind_id).take()
            n = tbl.num_rows
            codes = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(bytes(n))])
            out[name] = tbl.add_column(0, "run_id", pa.DictionaryArray.from_arrays(codes, pa.array([self.run_id])))
        return out

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self._streaming(False)
        except duckdb.Error:
            pass
        self.failed.append(StoreError("aborted"))  # the inserter skips what is queued
        try:
            self.todo.put(None)
            self.worker.join()
        finally:
            try:
                self.store.con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # a failed COMMIT has already ended the transaction


def _concat(parts: list[pa.Table]) -> pa.Table:
    """One table of a kind's chunks (a string column may be dictionary-coded in some chunks
    and plain in others: it becomes plain)."""
    schema = parts[0].schema
    if any(p.schema != schema for p in parts[1:]):
        fields = [
            f if len({p.schema.field(i).type for p in parts}) == 1 else pa.field(f.name, pa.string())
            for i, f in enumerate(schema)
        ]
        target = pa.schema(fields)
        parts = [p.cast(target) for p in parts]
    return pa.concat_tables(parts)


class _ArrowDerive(threading.Thread):
    """The derived tables of one run computed from its rows in memory, on a connection of
    its own, in a transaction that commits only after the events' (``settle``)."""

    def __init__(self, store: Store, run_id: str, tables: dict[str, pa.Table], events: int, end: Optional[RunEnd]) -> None:
        super().__init__(name="ftreplay-derive", daemon=True)
        self.cur = store.cursor()
        self.run_id = run_id
        self.tables = tables
        self.runs = pa.table({
            "run_id": pa.array([run_id]),
            "events": pa.array([events], pa.int64()),
            "virtual_ns": pa.array([end.virtual_ns if end is not None else None], pa.int64()),
        })
        self.go = threading.Event()
        self.commit = False
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        cur = self.cur
        try:
            for name, tbl in self.tables.items():
                cur.register(f"_arrow_{name}", tbl)
            cur.register("_arrow_runs", self.runs)
            cur.execute("BEGIN")
            try:
                for _table, sql in _ARROW_DERIVED:
                    cur.execute(sql, {"run": self.run_id})
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            self.go.wait()
            cur.execute("COMMIT" if self.commit else "ROLLBACK")
        except BaseException as e:  # reported by settle()
            self.error = e
        finally:
            self.tables = {}
            cur.close()

    def settle(self, commit: bool) -> Optional[BaseException]:
        """Commit (or roll back) once the events' transaction has; returns the error, if any."""
        self.commit = commit
        self.go.set()
        self.join()
        return self.error


class _KindColumns:
    """Columns of one kind gathered across frames, turned into one contiguous Arrow table.

    Int and bool columns are raw buffers joined with one memcpy; dictionary-coded string
    columns are re-coded into one dictionary with ``bytes.translate``."""

    def __init__(self, kind_id: int) -> None:
        self.kind_id = kind_id
        self.codecs = CODECS[kind_id]
        self.names = list(FIELDS[kind_id])
        self._reset()

    def _reset(self) -> None:
        self.parts: list[list[Any]] = [[] for _ in self.codecs]
        self.dicts: list[Optional[dict[str, int]]] = [({} if c == "s" else None) for c in self.codecs]
        self.rows = 0

    def add(self, n: int, cols: list[Any]) -> None:
        # A log written before fields were appended to this kind lacks their columns: they
        # take the field's default (evolution appends fields with defaults).
        if len(cols) < len(self.codecs):
            cols = list(cols)
            for j in range(len(cols), len(self.codecs)):
                cols.append(self._default_column(j, n))
        for j, (codec, col) in enumerate(zip(self.codecs, cols)):
            parts = self.parts[j]
            if codec == "b" or (codec == "q" and _LITTLE):
                parts.append(col)
            elif codec == "q":
                parts.append(_int_column(decode_column(codec, col)))
            elif codec == "s" and self.dicts[j] is not None and isinstance(col, dict):
                gd = self.dicts[j]
                table = bytearray(range(256))
                for i, v in enumerate(col["d"]):
                    code = gd.get(v)
                    if code is None:
                        code = gd[v] = len(gd)
                    table[i] = code & 0xFF
                if len(gd) > 256:
                    self._to_strings(j)
                    self.parts[j].extend(decode_column(codec, col))
                else:
                    parts.append(col["c"].translate(table))
            else:
                if codec == "s" and self.dicts[j] is not None:
                    self._to_strings(j)
                self.parts[j].extend(decode_column(codec, col))
        self.rows += n

    def _default_column(self, j: int, n: int) -> Any:
        """Column j filled with its field's default, encoded as the log encodes it."""
        cls = KINDS[self.kind_id]
        defaults = cls.__struct_defaults__
        k = j - (len(self.codecs) - len(defaults))
        if k < 0:
            raise StoreError(f"log lacks the field {self.names[j]!r} of {TAGS[self.kind_id]}, which has no default")
        d = defaults[k]
        codec = self.codecs[j]
        if codec == "q":
            return _int_column([d] * n)
        if codec == "b":
            return bytes([1 if d else 0]) * n
        if codec == "s":
            return {"d": [d], "c": bytes(n)}
        return [d] * n

    def _to_strings(self, j: int) -> None:
        """Leave dictionary mode for column j (too many distinct values)."""
        values = list(self.dicts[j])  # insertion order == code order
        codes = b"".join(self.parts[j])
        self.parts[j] = [values[c] for c in codes]
        self.dicts[j] = None

    def take(self) -> pa.Table:
        n = self.rows
        arrays = []
        for j, codec in enumerate(self.codecs):
            parts = self.parts[j]
            if codec == "q":
                arrays.append(pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(b"".join(parts))]))
            elif codec == "b":
                raw = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(b"".join(parts))])
                arrays.append(raw.cast(pa.bool_()))
            elif codec == "s" and self.dicts[j] is not None:
                codes = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(b"".join(parts))])
                arrays.append(pa.DictionaryArray.from_arrays(codes, pa.array(list(self.dicts[j]), pa.string())))
            else:
                arrays.append(pa.array(parts, _ARROW_TYPE[codec]))
        self._reset()
        return pa.Table.from_arrays(arrays, names=self.names)
