"""Stop-the-world invariants of one stored run, checked in SQL over the derived tables.

Like ``invariants``: each check is a named statement bound with ``$run`` that returns the
offending rows in seq order; no rows means the invariant holds.

    attached_during_pause   while a world is stopped (from its pystate.stop_the_world to its
                            pystate.start_the_world, both included, or to the end of the run)
                            a thread in scope other than the requester is 'attached'.  Scope
                            'interp' covers the threads of the requester's interpreter
                            (pystate.new_thread's interp), 'global' every thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..record.store import Store

# Columns: scope, requester, stopped_seq, start_seq (NULL: the run ended stopped), thread,
# attached_from, attached_to (the thread's attached interval in thread_state_intervals).
STW_ATTACHED_DURING_PAUSE = """
WITH interp AS (
    SELECT thread, arg_min(interp, seq) AS interp FROM pystate_new_thread WHERE run_id = $run GROUP BY thread
), last AS (
    SELECT events - 1 AS seq FROM runs WHERE run_id = $run
)
SELECT p.scope, p.requester, p.stopped_seq, p.start_seq, i.thread,
    i.start_seq AS attached_from, i.end_seq AS attached_to
FROM stw_pauses p
JOIN thread_state_intervals i
    ON i.run_id = $run AND i.state = 'attached' AND i.thread <> p.requester
    AND i.start_seq <= coalesce(p.start_seq, (SELECT seq FROM last)) AND i.end_seq >= p.stopped_seq
LEFT JOIN interp ti ON ti.thread = i.thread
LEFT JOIN interp ri ON ri.thread = p.requester
WHERE p.run_id = $run AND p.stopped_seq IS NOT NULL
    AND (p.scope <> 'interp' OR ti.interp IS NOT DISTINCT FROM ri.interp)
ORDER BY p.stopped_seq, i.thread, i.start_seq
"""

STW_INVARIANTS: dict[str, str] = {
    "attached_during_pause": STW_ATTACHED_DURING_PAUSE,
}


def check(store: "Store", run_id: str, name: str) -> list[tuple]:
    """The rows that break stop-the-world invariant ``name`` in run ``run_id`` (empty: it holds)."""
    _cols, rows = store.query(STW_INVARIANTS[name], {"run": run_id})
    return rows


def check_stw_invariants(store: "Store", run_id: str) -> dict[str, list[tuple]]:
    """Every stop-the-world invariant of one run: name -> offending rows (empty lists: all hold)."""
    return {name: check(store, run_id, name) for name in STW_INVARIANTS}
