"""Named SQL over stored runs used by the front ends (the TUI's lanes and threads);
widgets never assemble SQL.

Every statement binds values with ``$name`` and reads only what one screen shows: one run,
and for the lanes only the intervals that overlap the visible window.
"""

from __future__ import annotations

# The threads of a run, in tid order (the lanes' rows).
THREADS = """
SELECT DISTINCT thread FROM thread_state_intervals WHERE run_id = $run ORDER BY thread
"""

# Every address label of a run (a run labels each modelled lock and variable once).
LABELS = """
SELECT addr, label FROM run_label WHERE run_id = $run ORDER BY seq LIMIT 100000
"""


def _lanes_sql(start: str, end: str) -> str:
    """Time per (thread, column, state) in the columns [$c0, $c1) of width $w.

    Intervals are made half-open ``[a, b)`` on the chosen axis; each one is clipped to the
    window and spread over the columns it touches, so the result has at most
    threads x columns x states rows whatever the zoom.  'parked' comes from park_intervals
    and overlaps the thread's state.
    """
    return f"""
WITH iv AS (
    SELECT thread, state, {start} AS a, {end} AS b FROM thread_state_intervals
    WHERE run_id = $run AND {end} > $c0 * $w AND {start} < $c1 * $w
    UNION ALL
    SELECT thread, 'parked', {start}, {end} FROM park_intervals
    WHERE run_id = $run AND {end} > $c0 * $w AND {start} < $c1 * $w
), clipped AS (
    SELECT thread, state, greatest(a, $c0 * $w) AS a, least(b, $c1 * $w) AS b FROM iv
), spread AS (
    SELECT thread, state, a, b, unnest(range(a // $w, (b - 1) // $w + 1)) AS col
    FROM clipped WHERE b > a
)
SELECT thread, col, state, sum(least(b, (col + 1) * $w) - greatest(a, col * $w)) AS cover
FROM spread
GROUP BY ALL
ORDER BY thread, col, state
"""


# Lanes on the seq axis: an interval covers seqs start_seq..end_seq (inclusive).
LANES_BY_SEQ = _lanes_sql("start_seq", "end_seq + 1")
# Lanes on the virtual-time axis: [start_ts, end_ts) in ns.
LANES_BY_TIME = _lanes_sql("start_ts", "end_ts")

# Whether a run has stop-the-world pauses (the lanes then draw a row for them).
STW_PAUSE_COUNT = "SELECT count(*) FROM stw_pauses WHERE run_id = $run"


def _stw_lane_sql(request: str, stopped: str, start: str, run_end: str) -> str:
    """Time per (column, state) of the run's stop-the-world pauses in the columns [$c0, $c1)
    of width $w: 'stw_requested' from the request to the stop, 'stw_stopped' from the stop
    to the restart; a pause the run ended in lasts to the end of the run.  Pauses of
    different scopes add up in a column."""
    return f"""
WITH ends AS (SELECT {run_end} AS e FROM runs WHERE run_id = $run
), iv AS (
    SELECT 'stw_requested' AS state, {request} AS a, coalesce({stopped}, {start}, (SELECT e FROM ends)) AS b
    FROM stw_pauses WHERE run_id = $run
    UNION ALL
    SELECT 'stw_stopped', {stopped}, coalesce({start}, (SELECT e FROM ends))
    FROM stw_pauses WHERE run_id = $run AND {stopped} IS NOT NULL
), clipped AS (
    SELECT state, greatest(a, $c0 * $w) AS a, least(b, $c1 * $w) AS b FROM iv
    WHERE b > $c0 * $w AND a < $c1 * $w
), spread AS (
    SELECT state, a, b, unnest(range(a // $w, (b - 1) // $w + 1)) AS col
    FROM clipped WHERE b > a
)
SELECT col, state, sum(least(b, (col + 1) * $w) - greatest(a, col * $w)) AS cover
FROM spread
GROUP BY ALL
ORDER BY col, state
"""


# The pause row on the seq axis: a request covers seqs request_seq..stopped_seq - 1, a stop
# stopped_seq..start_seq (inclusive).
STW_LANE_BY_SEQ = _stw_lane_sql("request_seq", "stopped_seq", "start_seq + 1", "events")
# The pause row on the virtual-time axis: [request_ts, stopped_ts), [stopped_ts, start_ts).
STW_LANE_BY_TIME = _stw_lane_sql("request_ts", "stopped_ts", "start_ts", "virtual_ns")

# How many events of a run match a watch predicate (the predicate is the user's SQL).
WATCH_COUNT = "SELECT count(*) FROM events WHERE run_id = $run AND ({predicate})"

# -- objects (the TUI's Objects panel and object biographies) ------------------------------------
# Object names: an object is named by the label its block was given between the creation of
# the block's previous object and of its next one (the latest such label), so a reused block
# does not pass its name on.
OBJECT_NAMES = """
WITH born AS (
    SELECT obj, block, seq,
           lag(seq, 1, -1) OVER (PARTITION BY block ORDER BY seq) AS prev_seq,
           lead(seq, 1, 9223372036854775807) OVER (PARTITION BY block ORDER BY seq) AS next_seq
    FROM object_new WHERE run_id = $run
)
SELECT b.obj, arg_max(l.label, l.seq) AS label
FROM born b JOIN run_label l ON l.run_id = $run AND l.addr = b.block AND l.seq > b.prev_seq AND l.seq < b.next_seq
GROUP BY b.obj
ORDER BY b.obj
LIMIT 100000
"""

# One object's creation: seq, type and block (no row: the run never created it).
OBJECT_BORN = """
SELECT seq, type, block FROM object_new WHERE run_id = $run AND obj = $obj ORDER BY seq LIMIT 1
"""

# The object created at a block nearest the cursor $at: the latest created at or before $at,
# else the first created after it (a block is reused once its object is freed).
OBJECT_AT_BLOCK = """
SELECT obj FROM object_new WHERE run_id = $run AND block = $block
ORDER BY seq > $at, CASE WHEN seq <= $at THEN -seq ELSE seq END
LIMIT 1
"""

# An object's biography: the seqs of the events whose obj column is it, in order.
OBJECT_EVENTS = """
SELECT seq FROM events WHERE run_id = $run AND obj = $obj ORDER BY seq
"""
