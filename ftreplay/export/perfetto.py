"""A stored run as a Chrome JSON trace that Perfetto's UI and trace processor open.

What goes where (pid = the model process, 1 = the first; tid = the model thread, 0 = the
runtime).  A forked child runs until it exits before its parent goes on (the model's fork),
so its process is the stretch of seqs from its ``pylifecycle.after_fork_child`` to its
``pylifecycle.exit``; the forking thread's lane is cut there, so it has a track in each
process, and any other slice is drawn in the process where it began.

- Thread tracks: one slice per stretch of a thread's state, back to back (B/E): 'attached',
  'detached', 'suspended', 'shutting_down' (from thread_state_intervals), and 'parked' while
  the thread sits in the parking lot (park_intervals), whatever its thread state is then
  (args: the state, what it is parked on).  Nothing after thread.exit.
- Flows, in Perfetto's v2 JSON form (``bind_id`` with ``flow_out`` / ``flow_in`` on the two
  slices a flow joins, so it binds to those exact slices): parking_lot.unpark -> the woken
  thread's parking_lot.wake, and stop-the-world request -> each pystate.suspend before the
  world stopped.  Their ends are zero-length slices on the two threads' tracks.
- Async tracks (process scoped, b/e): lock holds, one track per mutex (holds of one mutex
  never overlap; args: holder, via, wait_ns); stop-the-world pauses, one track per scope
  (request to restart); GC collections.
- Counters (C): QSBR's write and read sequences, each thread's QSBR sequence, and the
  refcount (total and shared part) of the objects that went shared (the first
  ``max_objects`` by when they did).
- The failure: an instant on the failing thread's track and a global one.

Timestamps are the virtual clock's: microseconds with three decimals (every nanosecond
kept).  The trace is one SQL query ordered by (seq, phase rank), streamed row by row into
the file: slices end before the next one of their track begins, begins come before the
zero-length slices of the same event, and time never goes back on a track.
"""

from __future__ import annotations

from typing import IO, Any, Callable, Optional

import msgspec

from ..errors import UsageError
from ..record.store import Store

DEFAULT_MAX_OBJECTS = 64
PID = 1

# Columns of every row: k (seq the row sorts at), sub (rank within that seq: 1 ends,
# 2 begins, 3 zero-length slices, instants, counters), ph, tid, ts, dur, name, cat, id,
# bind (flow id), flow ('in' / 'out'), scope (instants), args (JSON text), pk (the seq whose
# process the row is drawn in: an end is drawn where its begin was).  {switch} is a query of
# (seq, pid): from seq on, events belong to process pid.
TRACE_SQL = """
WITH
switch AS ({switch}),
rows AS (
WITH
run AS (SELECT events, virtual_ns, failure_seq FROM runs WHERE run_id = $run),
labels AS (SELECT addr, seq, label FROM raw.run_label WHERE run_id = $run),
-- thread lanes: state changes, park starts and wakes, collapsed into back-to-back stretches
pts AS (
    SELECT thread AS t, start_seq AS seq, start_ts AS ts, state, NULL::BIGINT AS park, 0 AS o
    FROM thread_state_intervals WHERE run_id = $run
    UNION ALL SELECT thread, start_seq, start_ts, NULL, addr, 1 FROM park_intervals WHERE run_id = $run
    UNION ALL SELECT thread, end_seq, end_ts, NULL, 0, 1 FROM park_intervals WHERE run_id = $run AND result IS NOT NULL
    UNION ALL SELECT thread, seq, ts, NULL, NULL, 2 FROM ({cuts})
),
cur AS (
    SELECT t, seq, ts, o = 2 AS cut,
        last_value(state IGNORE NULLS) OVER w AS state,
        coalesce(last_value(park IGNORE NULLS) OVER w, 0) AS park
    FROM pts WINDOW w AS (PARTITION BY t ORDER BY seq, o ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    QUALIFY row_number() OVER (PARTITION BY t, seq ORDER BY o DESC) = 1
),
marked AS (
    SELECT *, CASE WHEN park <> 0 THEN 'parked' ELSE state END AS lane,
        lag(state) OVER w AS prev_state, lag(park) OVER w AS prev_park
    FROM cur WINDOW w AS (PARTITION BY t ORDER BY seq)
),
stretches AS (
    SELECT t, seq, ts, lane, state, park, lead(seq) OVER w AS end_seq, lead(ts) OVER w AS end_ts
    FROM marked
    WHERE prev_state IS DISTINCT FROM state OR prev_park IS DISTINCT FROM park OR cut
    WINDOW w AS (PARTITION BY t ORDER BY seq)
),
lanes AS (
    SELECT s.*, l.label AS park_label
    FROM stretches s ASOF LEFT JOIN labels l ON l.addr = s.park AND l.seq <= s.seq
    WHERE s.lane IS NOT NULL AND s.lane <> 'exited'
),
-- lock holds (PyMutex), named by the mutex's label when it was taken
holds AS (
    SELECT h.mutex, h.tid, h.acquire_seq, h.release_seq, h.wait_ns, h.via, a.ts AS acquire_ts,
        a.ts + h.hold_ns AS release_ts,
        coalesce(l.label, printf('mutex 0x%x', h.mutex)) AS name
    FROM lock_holds h JOIN raw.lock_acquire a ON a.run_id = $run AND a.seq = h.acquire_seq
    ASOF LEFT JOIN labels l ON l.addr = h.mutex AND l.seq <= h.acquire_seq
    WHERE h.run_id = $run
),
-- unpark -> the woken thread's next wake
unparks AS (
    SELECT u.seq, u.ts, u.tid, u.addr, u.woken, w.seq AS wake_seq, w.ts AS wake_ts, w.result
    FROM (SELECT * FROM raw.parking_lot_unpark WHERE run_id = $run AND woken IS NOT NULL) u
    ASOF JOIN (SELECT * FROM raw.parking_lot_wake WHERE run_id = $run) w ON w.tid = u.woken AND w.seq > u.seq
    QUALIFY row_number() OVER (PARTITION BY w.seq ORDER BY u.seq DESC) = 1
),
-- stop-the-world request -> each suspend before the world stopped
stw AS (SELECT * FROM stw_pauses WHERE run_id = $run),
suspends AS (
    SELECT p.requester, p.request_seq, p.request_ts, p.scope, s.seq, s.ts, s.thread
    FROM stw p JOIN raw.pystate_suspend s
        ON s.run_id = $run AND s.seq > p.request_seq AND s.seq < coalesce(p.stopped_seq, (SELECT events FROM run))
),
shared_objs AS (
    SELECT obj, type FROM object_lifetimes
    WHERE run_id = $run AND first_shared_seq IS NOT NULL ORDER BY first_shared_seq, obj LIMIT $max_objects
)
SELECT start_seq AS k, 2 AS sub, 'B' AS ph, t AS tid, ts, NULL::BIGINT AS dur, lane AS name, 'thread_state' AS cat,
    NULL AS id, NULL::BIGINT AS bind, NULL AS flow, NULL AS scope,
    json_object('state', state, 'parked_on', CASE WHEN park <> 0 THEN coalesce(park_label, printf('0x%x', park)) END,
                'seq', start_seq)::VARCHAR AS args, start_seq AS pk
FROM (SELECT *, seq AS start_seq FROM lanes)
UNION ALL
SELECT coalesce(end_seq, (SELECT events FROM run)), 1, 'E', t, coalesce(end_ts, (SELECT virtual_ns FROM run)), NULL,
    lane, 'thread_state', NULL, NULL, NULL, NULL, NULL, seq AS pk
FROM lanes
UNION ALL
SELECT acquire_seq, 2, 'b', tid, acquire_ts, NULL, name, 'lock', printf('0x%x:%s', mutex, name), NULL, NULL, NULL,
    json_object('holder', tid, 'via', via, 'wait_ns', wait_ns, 'acquire_seq', acquire_seq,
                'release_seq', release_seq)::VARCHAR, acquire_seq AS pk
FROM holds
UNION ALL
SELECT coalesce(release_seq, (SELECT events FROM run)), 1, 'e', tid, coalesce(release_ts, (SELECT virtual_ns FROM run)),
    NULL, name, 'lock', printf('0x%x:%s', mutex, name), NULL, NULL, NULL, NULL, acquire_seq AS pk
FROM holds
UNION ALL
SELECT seq, 3, 'X', tid, ts, 0, 'unpark', 'flow', NULL, 2 * wake_seq, 'out', NULL,
    json_object('addr', printf('0x%x', addr), 'woken', woken, 'seq', seq)::VARCHAR, seq AS pk
FROM unparks
UNION ALL
SELECT wake_seq, 3, 'X', woken, wake_ts, 0, 'wake', 'flow', NULL, 2 * wake_seq, 'in', NULL,
    json_object('result', result, 'unparked_by', tid, 'seq', wake_seq)::VARCHAR, wake_seq AS pk
FROM unparks
UNION ALL
SELECT request_seq, 3, 'X', requester, request_ts, 0, 'stop-the-world request', 'flow', NULL, 2 * seq + 1, 'out', NULL,
    json_object('scope', scope, 'suspends', thread, 'seq', request_seq)::VARCHAR, request_seq AS pk
FROM suspends
UNION ALL
SELECT seq, 3, 'X', thread, ts, 0, 'suspend', 'flow', NULL, 2 * seq + 1, 'in', NULL,
    json_object('scope', scope, 'requester', requester, 'seq', seq)::VARCHAR, seq AS pk
FROM suspends
UNION ALL
SELECT request_seq, 2, 'b', requester, request_ts, NULL, 'stop-the-world ' || scope, 'stw', 'stw-' || scope,
    NULL, NULL, NULL,
    json_object('requester', requester, 'threads_suspended', threads_suspended, 'time_to_stop_ns', time_to_stop_ns,
                'pause_ns', pause_ns, 'stopped_seq', stopped_seq)::VARCHAR, request_seq AS pk
FROM stw
UNION ALL
SELECT coalesce(start_seq, (SELECT events FROM run)), 1, 'e', requester,
    coalesce(start_ts, (SELECT virtual_ns FROM run)), NULL, 'stop-the-world ' || scope, 'stw', 'stw-' || scope, NULL, NULL, NULL, NULL, request_seq AS pk
FROM stw
UNION ALL
SELECT start_seq, 2, 'b', requester, start_ts, NULL, 'gc collection', 'gc', 'gc', NULL, NULL, NULL,
    json_object('reason', reason, 'collected', collected, 'uncollectable', uncollectable, 'pauses', pauses,
                'paused_ns', paused_ns, 'objects_visited', objects_visited, 'unreachable', unreachable)::VARCHAR,
    start_seq AS pk
FROM gc_collections WHERE run_id = $run
UNION ALL
SELECT coalesce(end_seq, (SELECT events FROM run)), 1, 'e', requester, coalesce(end_ts, (SELECT virtual_ns FROM run)),
    NULL, 'gc collection', 'gc', 'gc', NULL, NULL, NULL, NULL, start_seq AS pk
FROM gc_collections WHERE run_id = $run
UNION ALL
SELECT seq, 3, 'C', tid, ts, NULL, 'qsbr', 'qsbr', NULL, NULL, NULL, NULL,
    json_object('wr_seq', wr_seq)::VARCHAR, seq AS pk
FROM raw.qsbr_advance WHERE run_id = $run
UNION ALL
SELECT seq, 3, 'C', tid, ts, NULL, 'qsbr', 'qsbr', NULL, NULL, NULL, NULL,
    json_object('rd_seq', rd_seq)::VARCHAR, seq AS pk
FROM raw.qsbr_poll WHERE run_id = $run
UNION ALL
SELECT seq, 3, 'C', tid, ts, NULL, 'qsbr T' || thread, 'qsbr', NULL, NULL, NULL, NULL,
    json_object('seq', qsbr_seq)::VARCHAR, seq AS pk
FROM (
    SELECT seq, ts, tid, thread, qsbr_seq FROM raw.qsbr_attach WHERE run_id = $run
    UNION ALL SELECT seq, ts, tid, thread, qsbr_seq FROM raw.qsbr_detach WHERE run_id = $run
    UNION ALL SELECT seq, ts, tid, thread, qsbr_seq FROM raw.qsbr_quiescent WHERE run_id = $run
)
UNION ALL
SELECT h.seq, 3, 'C', h.tid, h.ts, NULL, printf('obj %d (%s)', h.obj, o.type), 'refcount', NULL, NULL, NULL, NULL,
    json_object('refcnt', h.refcnt, 'shared', h.shared_count)::VARCHAR, h.seq AS pk
FROM refcount_history h JOIN shared_objs o USING (obj) WHERE h.run_id = $run
UNION ALL
SELECT f.seq, 3, 'i', f.tid, f.ts, NULL, 'failure: ' || f.reason, 'failure', NULL, NULL, NULL, s.scope,
    json_object('reason', f.reason, 'message', f.message, 'seq', f.seq)::VARCHAR, f.seq AS pk
FROM raw.run_failure f, (VALUES ('t'), ('g')) s(scope) WHERE f.run_id = $run
)
SELECT r.k, r.sub, r.ph, r.tid, r.ts, r.dur, r.name, r.cat, r.id, r.bind, r.flow, r.scope, r.args,
    coalesce(w.pid, 1) AS pid
FROM rows r ASOF LEFT JOIN switch w ON w.seq <= r.pk
ORDER BY r.k, r.sub, r.ph, pid, r.tid, r.name
"""

# Process switches of a run that forks: a child's first event (pylifecycle.after_fork_child)
# starts it, the event after its pylifecycle.exit returns to its parent.
SWITCH_SQL = """
SELECT seq, process AS pid FROM raw.pylifecycle_after_fork_child WHERE run_id = $run
UNION ALL
SELECT x.seq + 1, a.parent FROM raw.pylifecycle_exit x
JOIN raw.pylifecycle_after_fork_child a ON a.run_id = $run AND a.process = x.process
WHERE x.run_id = $run
"""
NO_SWITCH_SQL = "SELECT NULL::BIGINT AS seq, NULL::BIGINT AS pid WHERE false"

# Where the forking thread's lane is cut so that it continues in the child, and back.
CUTS_SQL = """
SELECT thread, seq, ts FROM raw.pylifecycle_after_fork_child WHERE run_id = $run
UNION ALL
SELECT a.thread, x.seq + 1, x.ts FROM raw.pylifecycle_exit x
JOIN raw.pylifecycle_after_fork_child a ON a.run_id = $run AND a.process = x.process
WHERE x.run_id = $run
"""
NO_CUTS_SQL = "SELECT NULL::BIGINT AS thread, NULL::BIGINT AS seq, NULL::BIGINT AS ts WHERE false"

_encoder = msgspec.json.Encoder()


def _ts(ns: int) -> msgspec.Raw:
    """Nanoseconds as microseconds with three decimals, exactly (no float rounding)."""
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    return msgspec.Raw(f"{sign}{ns // 1000}.{ns % 1000:03d}".encode())


def _has_table(con, schema: str, table: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0] > 0


def _children(con, run_id: str) -> dict[int, tuple[int, int]]:
    """Forked children of the run: pid -> (parent pid, forking thread)."""
    if not _has_table(con, "raw", "pylifecycle_after_fork_child"):
        return {}
    rows = con.execute("SELECT process, parent, thread FROM raw.pylifecycle_after_fork_child WHERE run_id = ?",
                       [run_id]).fetchall()
    return {pid: (parent, thread) for pid, parent, thread in rows}


def write_trace(
    store: Store, run_id: str, out: IO[bytes], max_objects: int = DEFAULT_MAX_OBJECTS,
    progress: Optional[Callable[[int], None]] = None,
) -> dict[str, Any]:
    """Write the run's trace to ``out`` (binary); returns counts of what was written."""
    if max_objects < 0:
        raise UsageError(f"--objects must be >= 0, got {max_objects}")
    con = store.cursor()
    run = store.run(run_id)
    counts: dict[str, int] = {}
    out.write(b'{"otherData":')
    out.write(_encoder.encode({
        "ftreplay_run": run_id, "scenario": run["scenario"], "seed": run["seed"], "strategy": run["strategy"],
        "bugs": list(run["bugs"] or []), "status": run["status"], "hash": run["hash"],
        "clock": "virtual ns (ts in microseconds)",
    }))
    out.write(b',\n"traceEvents":[\n')
    first = True

    def emit(ev: dict) -> None:
        nonlocal first
        if not first:
            out.write(b",\n")
        first = False
        out.write(_encoder.encode(ev))

    children = _children(con, run_id)
    label = f"{run_id} ({run['scenario']}, seed {run['seed']}, {run['strategy']})"
    named: set[tuple[int, int]] = set()

    def name_track(pid: int, tid: int) -> None:
        # Metadata goes out the first time a process or thread track is used.
        if (pid, -1) not in named:
            named.add((pid, -1))
            pname = label if pid == PID else f"fork child {pid} of {children.get(pid, ('?',))[0]} ({run_id})"
            emit({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": pname}})
            emit({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}})
        named.add((pid, tid))
        emit({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
              "args": {"name": "runtime (tid 0)" if tid == 0 else f"T{tid}"}})
        emit({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": tid}})

    name_track(PID, 0)
    sql = TRACE_SQL.replace("{switch}", SWITCH_SQL if children else NO_SWITCH_SQL)
    sql = sql.replace("{cuts}", CUTS_SQL if children else NO_CUTS_SQL)
    cur = con.execute(sql, {"run": run_id, "max_objects": max_objects})
    n = 0
    last_ts = 0
    while True:
        rows = cur.fetchmany(8192)
        if not rows:
            break
        for _k, _sub, ph, tid, ts, dur, name, cat, id_, bind, flow, scope, args, pid in rows:
            if ts is None:  # an end at the run's end, and a run recovered from a damaged log has no end time
                ts = last_ts
            last_ts = ts
            if (pid, tid) not in named:
                name_track(pid, tid)
            ev: dict[str, Any] = {"ph": ph, "name": name, "cat": cat, "pid": pid, "tid": tid, "ts": _ts(ts)}
            if dur is not None:
                ev["dur"] = _ts(dur)
            if id_ is not None:
                ev["id"] = id_
            if bind is not None:
                ev["bind_id"] = bind
                ev["flow_out" if flow == "out" else "flow_in"] = True
            if scope is not None:
                ev["s"] = scope
            if args is not None:
                ev["args"] = msgspec.Raw(args.encode())
            emit(ev)
            counts[ph] = counts.get(ph, 0) + 1
        n += len(rows)
        if progress is not None:
            progress(n)
    out.write(b"\n]}\n")
    return counts
