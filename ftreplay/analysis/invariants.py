"""Memory invariants of one stored run, checked in SQL over the per-kind views.

Each check is a named statement bound with ``$run`` that returns the offending rows,
in seq order; no rows means the invariant holds.  The checks read only the events, so
they hold for any run whatever the runtime's bug flags, and a check that fires points at
the seq to travel to.

    refcnt_negative         an incref/decref/try_incref/merge whose reported count is < 0
                            (immortal paths excluded: they report a constant)
    op_after_dealloc        an incref/decref/successful try_incref/merge/disown of an object
                            after its (first) object.dealloc
    double_dealloc          an object deallocated more than once
    page_freed_before_goal  an obmalloc.page_free that waited for a QSBR goal the readers had
                            not reached: its rd_seq < goal, or some thread online at that
                            point (its latest qsbr.attach/quiescent/detach/unregister before
                            the free left qsbr_seq != 0) is behind the goal
    delayed_freed_early     an obmalloc.process_delayed that freed a block before its goal
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..record.store import Store

# Columns: kind, seq, tid, obj, path, refcnt.
REFCNT_NEGATIVE = """
SELECT kind, seq, tid, obj, path, refcnt FROM object_incref WHERE run_id = $run AND path <> 'immortal' AND refcnt < 0
UNION ALL
SELECT kind, seq, tid, obj, path, refcnt FROM object_decref WHERE run_id = $run AND path <> 'immortal' AND refcnt < 0
UNION ALL
SELECT kind, seq, tid, obj, path, refcnt FROM object_try_incref WHERE run_id = $run AND path <> 'immortal' AND refcnt < 0
UNION ALL
SELECT kind, seq, tid, obj, path, refcnt FROM object_merge WHERE run_id = $run AND refcnt < 0
ORDER BY seq
"""

# Columns: kind, seq, tid, obj, path, dealloc_seq.  A failed try_incref may read a freed
# object's header (QSBR keeps the memory refcount-shaped); anything else may not touch it.
OP_AFTER_DEALLOC = """
WITH dead AS (
    SELECT obj, min(seq) AS dealloc_seq FROM object_dealloc WHERE run_id = $run GROUP BY obj
), ops AS (
    SELECT kind, seq, tid, obj, path FROM object_incref WHERE run_id = $run
    UNION ALL SELECT kind, seq, tid, obj, path FROM object_decref WHERE run_id = $run
    UNION ALL SELECT kind, seq, tid, obj, path FROM object_try_incref WHERE run_id = $run AND ok
    UNION ALL SELECT kind, seq, tid, obj, path FROM object_merge WHERE run_id = $run
    UNION ALL SELECT kind, seq, tid, obj, path FROM object_disown WHERE run_id = $run
)
SELECT o.kind, o.seq, o.tid, o.obj, o.path, d.dealloc_seq
FROM ops o JOIN dead d ON d.obj = o.obj AND o.seq > d.dealloc_seq
ORDER BY o.seq
"""

# Columns: obj, deallocs, seqs (every dealloc's seq, in order).  Ordered by the second one.
DOUBLE_DEALLOC = """
SELECT obj, count(*) AS deallocs, list(seq ORDER BY seq) AS seqs
FROM object_dealloc WHERE run_id = $run
GROUP BY obj HAVING count(*) > 1
ORDER BY seqs[2]
"""

# Columns: why ('rd_seq' or 'online_thread'), seq, tid, page, goal, rd_seq, thread, qsbr_seq
# (the last two name the lagging thread for 'online_thread', NULL for 'rd_seq').  A thread's
# QSBR state at the free is its latest attach/quiescent/detach (qsbr_seq after it; detach
# sets QSBR_OFFLINE = 0) or unregister (offline) strictly before the free's seq.
PAGE_FREED_BEFORE_GOAL = """
WITH frees AS (
    SELECT seq, tid, page, goal, rd_seq FROM obmalloc_page_free WHERE run_id = $run AND goal <> 0
), st AS (
    SELECT thread, seq, qsbr_seq FROM qsbr_attach WHERE run_id = $run
    UNION ALL SELECT thread, seq, qsbr_seq FROM qsbr_quiescent WHERE run_id = $run
    UNION ALL SELECT thread, seq, qsbr_seq FROM qsbr_detach WHERE run_id = $run
    UNION ALL SELECT thread, seq, 0 FROM qsbr_unregister WHERE run_id = $run
), threads AS (
    SELECT DISTINCT thread FROM st
), at_free AS (
    SELECT f.seq, f.tid, f.page, f.goal, f.rd_seq, t.thread FROM frees f CROSS JOIN threads t
), lagging AS (
    SELECT a.*, s.qsbr_seq FROM at_free a ASOF JOIN st s ON s.thread = a.thread AND a.seq > s.seq
)
SELECT 'rd_seq' AS why, seq, tid, page, goal, rd_seq, NULL::BIGINT AS thread, NULL::BIGINT AS qsbr_seq
FROM frees WHERE rd_seq < goal
UNION ALL
SELECT 'online_thread', seq, tid, page, goal, rd_seq, thread, qsbr_seq
FROM lagging WHERE qsbr_seq <> 0 AND qsbr_seq < goal
ORDER BY seq, why DESC, thread
"""

# Columns: seq, tid, block, goal, rd_seq, thread (the delayed-free queue: 0 = the interpreter's).
DELAYED_FREED_EARLY = """
SELECT seq, tid, block, goal, rd_seq, thread FROM obmalloc_process_delayed
WHERE run_id = $run AND rd_seq < goal
ORDER BY seq
"""

MEMORY_INVARIANTS: dict[str, str] = {
    "refcnt_negative": REFCNT_NEGATIVE,
    "op_after_dealloc": OP_AFTER_DEALLOC,
    "double_dealloc": DOUBLE_DEALLOC,
    "page_freed_before_goal": PAGE_FREED_BEFORE_GOAL,
    "delayed_freed_early": DELAYED_FREED_EARLY,
}


def check(store: "Store", run_id: str, name: str) -> list[tuple]:
    """The rows that break invariant ``name`` in run ``run_id`` (empty: it holds)."""
    _cols, rows = store.query(MEMORY_INVARIANTS[name], {"run": run_id})
    return rows


def check_memory_invariants(store: "Store", run_id: str) -> dict[str, list[tuple]]:
    """Every memory invariant of one run: name -> offending rows (empty lists: all hold)."""
    return {name: check(store, run_id, name) for name in MEMORY_INVARIANTS}
