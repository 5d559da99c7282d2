"""Where two runs of one scenario part ways.

Runs are compared two ways, both in SQL over the stored events (nothing loads a whole run):

- in global order: the first seq at which the two runs' events differ in thread or kind.
  Both runs executed the same deterministic model up to there, so this is where a
  scheduling decision went differently; ``decision`` is the index of the first differing
  entry of the two stored schedules.
- per thread: each thread's own sequence of operations (its events, numbered from 1 in seq
  order) is aligned with the same thread's in the other run; for every thread, the first
  operation that differs in kind or in how it went (``via``, ``result``, ``reason``) — the
  first place where the interleaving changed what the thread itself did.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .sim import schedule as schedule_text

FIRST_DIVERGENCE = """
WITH a AS (SELECT seq, tid, kind FROM events WHERE run_id = $a),
     b AS (SELECT seq, tid, kind FROM events WHERE run_id = $b)
SELECT min(coalesce(a.seq, b.seq)) FROM a FULL OUTER JOIN b ON a.seq = b.seq
WHERE a.tid IS DISTINCT FROM b.tid OR a.kind IS DISTINCT FROM b.kind
"""

# Columns: tid, ops_a, ops_b, first differing op (1-based, NULL: same), its seq and kind in
# A and in B (NULL where that run has no such op).
PER_THREAD = """
WITH a AS (SELECT tid, seq, kind, coalesce(via, result, reason, '') AS how,
                  row_number() OVER (PARTITION BY tid ORDER BY seq) AS k FROM events WHERE run_id = $a AND tid <> 0),
     b AS (SELECT tid, seq, kind, coalesce(via, result, reason, '') AS how,
                  row_number() OVER (PARTITION BY tid ORDER BY seq) AS k FROM events WHERE run_id = $b AND tid <> 0),
     j AS (SELECT coalesce(a.tid, b.tid) AS tid, coalesce(a.k, b.k) AS k, a.seq AS seq_a, b.seq AS seq_b,
                  a.kind AS kind_a, b.kind AS kind_b, a.how AS how_a, b.how AS how_b
           FROM a FULL OUTER JOIN b ON a.tid = b.tid AND a.k = b.k),
     d AS (SELECT tid, min(k) AS k FROM j
           WHERE kind_a IS DISTINCT FROM kind_b OR how_a IS DISTINCT FROM how_b GROUP BY tid),
     n AS (SELECT tid, count(seq_a) AS ops_a, count(seq_b) AS ops_b FROM j GROUP BY tid)
SELECT n.tid, n.ops_a, n.ops_b, d.k, j.seq_a, j.kind_a, j.seq_b, j.kind_b
FROM n LEFT JOIN d ON d.tid = n.tid LEFT JOIN j ON j.tid = d.tid AND j.k = d.k
ORDER BY n.tid
"""

AROUND = """
SELECT seq, tid, kind, mutex, addr, thread, obj, via, result, value, reason, message
FROM events WHERE run_id = $run AND seq BETWEEN $lo AND $hi ORDER BY seq
"""


def describe(row: tuple) -> str:
    """One event row of ``AROUND`` as short text."""
    seq, tid, kind, mutex, addr, thread, obj, via, result, value, reason, message = row
    parts = [kind]
    for name, v in (("mutex", mutex), ("addr", addr)):
        if v is not None:
            parts.append(f"{name}=0x{v:x}" if v > 0xFFFF else f"{name}={v}")
    for name, v in (("thread", thread), ("obj", obj), ("via", via), ("result", result), ("value", value),
                    ("reason", reason)):
        if v is not None:
            parts.append(f"{name}={v}")
    if message:
        parts.append(message if len(message) < 80 else message[:77] + "...")
    return " ".join(parts)


def diff_runs(store, ref_a: str, ref_b: str, context: int = 5) -> dict[str, Any]:
    run_a, run_b = store.resolve_run(ref_a), store.resolve_run(ref_b)
    if run_a == run_b:
        raise UsageError(f"both arguments name {run_a}: give two different runs")
    ra, rb = store.run(run_a), store.run(run_b)
    if ra["scenario"] != rb["scenario"]:
        raise UsageError(f"{run_a} ran {ra['scenario']!r} and {run_b} ran {rb['scenario']!r}: diff compares runs of one scenario")
    params = {"a": run_a, "b": run_b}
    _c, rows = store.query(FIRST_DIVERGENCE, params)
    first = rows[0][0] if rows else None
    da = schedule_text.decode(ra["schedule"] or "")
    db_ = schedule_text.decode(rb["schedule"] or "")
    decision = next((i for i, (x, y) in enumerate(zip(da, db_)) if x != y), None)
    if decision is None and len(da) != len(db_):
        decision = min(len(da), len(db_))
    _c, per = store.query(PER_THREAD, params)
    threads = [
        {"tid": tid, "ops_a": oa, "ops_b": ob, "first_different_op": k, "seq_a": sa, "kind_a": ka, "seq_b": sb, "kind_b": kb}
        for tid, oa, ob, k, sa, ka, sb, kb in per
    ]

    def around(run_id: str, seq: int) -> list[dict]:
        _c, ev = store.query(AROUND, {"run": run_id, "lo": max(0, seq - context), "hi": seq + context})
        return [{"seq": r[0], "tid": r[1], "kind": r[2], "text": describe(r), "diverged": r[0] >= seq} for r in ev]

    config_same = (ra["config"] == rb["config"] and list(ra["bugs"] or []) == list(rb["bugs"] or []))
    return {
        "run_a": run_a,
        "run_b": run_b,
        "scenario": ra["scenario"],
        "same_inputs": config_same,
        "identical": first is None,
        "first_divergent_seq": first,
        "decision": decision,
        "decisions_a": len(da),
        "decisions_b": len(db_),
        "events_a": ra["events"],
        "events_b": rb["events"],
        "status_a": ra["status"],
        "status_b": rb["status"],
        "failure_a": ra["failure_reason"],
        "failure_b": rb["failure_reason"],
        "threads": threads,
        "around_a": around(run_a, first) if first is not None else [],
        "around_b": around(run_b, first) if first is not None else [],
    }
