"""Shrinking a failing schedule to the preemptions that matter (delta debugging).

A failing run's schedule is read as: the default "keep running the current thread" plus a
list of *preemptions* (decisions that switched away from a thread that could continue) and
free switches (after a thread blocked or exited).  Each preemption is keyed by the
preempted thread's own progress — its k-th decision while it could continue — so that
removing one preemption does not move the others (``sim/strategies/dfs.GuidedStrategy``).

``ddmin`` (Zeller and Hildebrandt, 2002) searches for a 1-minimal subset of the
preemptions that still fails *the same way*: the same failure reason and the same message
once numbers and addresses are masked (``explore.failure_signature``).  The empty set is
tried first.  Every candidate is a null-sink run; the result is recorded through the normal
path by replaying its concrete schedule, so ``ftreplay verify`` passes on it, and linked to
the original in ``run_links``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Optional

from .errors import UsageError
from .explore import execution, failure_signature, record_schedule
from .record.log import NullSink, RunMeta
from .sim import schedule as schedule_text
from .sim.strategies.dfs import GuidedStrategy, TracingReplay, preemptions

DEFAULT_MAX_TESTS = 4000


def meta_of(run: dict[str, Any]) -> RunMeta:
    """The inputs of a stored run (``store.run(run_id)``)."""
    config = json.loads(run["config"])
    return RunMeta(
        scenario=run["scenario"], seed=run["seed"], strategy=run["strategy"], args=config["args"],
        knobs=config["knobs"], bugs=list(run["bugs"] or []), ftreplay_version=run["ftreplay_version"],
    )


def trace_schedule(meta: RunMeta, decisions: list[int]):
    """Replay ``decisions`` with a null sink; the run's end and its decision trace."""
    strat = TracingReplay(decisions)
    res = execution(meta, NullSink(), strat).run()
    return res.end, strat.trace


def count_preemptions(meta: RunMeta, schedule: str) -> int:
    return preemptions(trace_schedule(meta, schedule_text.decode(schedule))[1])


def ddmin(items: list, test: Callable[[list], bool], budget: Callable[[], bool]) -> list:
    """A 1-minimal sublist of ``items`` for which ``test`` holds (``test(items)`` must hold);
    stops early, returning the smallest found so far, once ``budget()`` is False."""
    n = 2
    while len(items) >= 2 and budget():
        chunk = -(-len(items) // n)
        parts = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        for part in parts:
            if test(part):
                items, n = part, 2
                break
        else:
            for i in range(len(parts)):
                rest = [x for j, p in enumerate(parts) if j != i for x in p]
                if test(rest):
                    items, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(items):
                    break
                n = min(len(items), 2 * n)
    if len(items) == 1 and budget() and test([]):
        return []
    return items


def shrink_run(store, run_ref: str, *, max_tests: int = DEFAULT_MAX_TESTS,
               progress: Optional[Callable[[int, int], None]] = None) -> dict[str, Any]:
    """Shrink stored run ``run_ref``, record the result as a new run linked to it."""
    from .analysis.tables import ensure

    run_id = store.resolve_run(run_ref)
    run = store.run(run_id)
    if run["status"] != "failed":
        raise UsageError(f"{run_id} did not fail (status {run['status']}): there is nothing to shrink")
    if run["schedule"] is None:
        raise UsageError(f"{run_id} has no stored schedule")
    meta = meta_of(run)
    want = failure_signature(run["failure_reason"] or "", run["failure_message"] or "")
    t0 = time.perf_counter()
    end, trace = trace_schedule(meta, schedule_text.decode(run["schedule"]))
    if end.status != "failed" or failure_signature(end.failure_reason or "", end.failure_message or "") != want:
        raise UsageError(f"{run_id} does not fail the same way when re-executed (try 'ftreplay verify {run_id}')")
    pre = [(key, chosen) for key, cont, chosen in trace if cont and chosen != key[0]]
    free = {key: chosen for key, cont, chosen in trace if not cont}
    tests = 0
    cache: dict[tuple, bool] = {}
    best: dict[str, Any] = {}

    def test(subset: list[int]) -> bool:
        nonlocal tests
        k = tuple(subset)
        if k in cache:
            return cache[k]
        tests += 1
        strat = GuidedStrategy({pre[i][0]: pre[i][1] for i in subset}, free)
        res = execution(meta, NullSink(), strat).run()
        e = res.end
        ok = e.status == "failed" and failure_signature(e.failure_reason or "", e.failure_message or "") == want
        cache[k] = ok
        if ok and ("n" not in best or len(subset) <= best["n"]):
            best.update(n=len(subset), schedule=e.schedule, preemptions=preemptions(strat.trace))
        if progress is not None:
            progress(tests, len(subset))
        return ok

    everything = list(range(len(pre)))
    if not test([]) and not test(everything):
        raise UsageError(f"{run_id}: the schedule rebuilt from its preemptions does not fail the same way")
    if "n" not in best or best["n"] > 0:
        ddmin(everything, test, lambda: tests < max_tests)
    before = preemptions(trace)
    ensure(store)
    rec = record_schedule(store, meta, schedule_text.decode(best["schedule"]))
    f = rec["failure"] or {}
    if rec["status"] != "failed" or failure_signature(f.get("reason") or "", f.get("message") or "") != want:
        raise UsageError(f"{run_id}: the recorded shrunk run does not fail the same way")
    detail = {"preemptions_before": before, "preemptions_after": best["preemptions"], "tests": tests,
              "complete": tests < max_tests}
    store.con.execute("INSERT INTO run_links VALUES (?, ?, 'shrunk', ?)", [rec["run_id"], run_id, json.dumps(detail)])
    return {
        "run_id": rec["run_id"],
        "source_run_id": run_id,
        "preemptions_before": before,
        "preemptions_after": best["preemptions"],
        "decisions_before": len(trace),
        "decisions_after": len(schedule_text.decode(rec["schedule"])),
        "events_before": run["events"],
        "events_after": rec["events"],
        "tests": tests,
        "minimal": tests < max_tests,  # ddmin finished: no single preemption can be dropped
        "failure": f,
        "schedule": rec["schedule"],
        "seconds": round(time.perf_counter() - t0, 3),
    }
