"""The bug zoo's exploration results: for each ``--bug`` flag, how ``explore`` finds it
and how far ``shrink`` reduces the failing schedule.

``RESULTS`` holds what ``measure`` reported on the development machine (``python -m
ftreplay.zoo [FLAG...]`` measures again and prints the entries); ``ftreplay bugs --json``
shows them as each flag's ``exploration`` (null for a flag not measured yet).  Fields:
``pct`` (and ``random`` when pct found nothing): ``explore SCENARIO --bug FLAG --strategy S
--until-failure`` from seed 1 — found or not, schedules tried up to and including the first
failure, seconds (2 jobs, a shared machine); ``strategy`` / ``runs``: the first of those that
found it; ``preemptions``: its failing schedule's, before and after ``shrink``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any, Optional

# Measured 2026-12-02 with `python -m ftreplay.zoo` (2 jobs, a shared 2-core machine), after pct's
# change points took their priorities from their draw index and the scenarios' step hints
# were set to their runs' lengths.
RESULTS: dict[str, dict[str, Any]] = {
    'join_tstate_lock_race': {'pct': {'found': True, 'runs': 2, 'seconds': 0.4}, 'strategy': 'pct', 'found': True, 'runs': 2, 'reason': 'assertion', 'preemptions': [3, 0]},
    'free_delayed_without_qsbr': {'pct': {'found': True, 'runs': 3, 'seconds': 0.4}, 'strategy': 'pct', 'found': True, 'runs': 3, 'reason': 'use_after_free', 'preemptions': [5, 3]},
    'mimalloc_page_immediate_reuse': {'pct': {'found': True, 'runs': 8, 'seconds': 0.4}, 'strategy': 'pct', 'found': True, 'runs': 8, 'reason': 'use_after_free', 'preemptions': [2, 1]},
    'debug_fill_refcount_fields': {'pct': {'found': True, 'runs': 8, 'seconds': 0.4}, 'strategy': 'pct', 'found': True, 'runs': 8, 'reason': 'use_after_free', 'preemptions': [3, 1]},
    'instrumentation_version_clear': {'pct': {'found': True, 'runs': 1, 'seconds': 0.3}, 'strategy': 'pct', 'found': True, 'runs': 1, 'reason': 'livelock', 'preemptions': [9, 0]},
    'fork_without_stw': {'pct': {'found': True, 'runs': 1, 'seconds': 0.4}, 'strategy': 'pct', 'found': True, 'runs': 1, 'reason': 'deadlock', 'preemptions': [1, 0]},
    'fork_without_head_lock': {'pct': {'found': True, 'runs': 23, 'seconds': 0.5}, 'strategy': 'pct', 'found': True, 'runs': 23, 'reason': 'invariant', 'preemptions': [12, 7]},
    'afterfork_handles_joinable': {'pct': {'found': True, 'runs': 1, 'seconds': 0.4}, 'strategy': 'pct', 'found': True, 'runs': 1, 'reason': 'crash', 'preemptions': [3, 0]},
    'start_thread_during_finalization': {'pct': {'found': True, 'runs': 11, 'seconds': 0.3}, 'strategy': 'pct', 'found': True, 'runs': 11, 'reason': 'use_after_free', 'preemptions': [0, 0]},
    'drop_gil_finalizing_switch': {'pct': {'found': True, 'runs': 9, 'seconds': 0.3}, 'strategy': 'pct', 'found': True, 'runs': 9, 'reason': 'use_after_free', 'preemptions': [2, 2]},
    'tstate_clear_wrong_interp': {'pct': {'found': True, 'runs': 1, 'seconds': 0.3}, 'strategy': 'pct', 'found': True, 'runs': 1, 'reason': 'crash', 'preemptions': [0, 0]},
    'subinterp_shared_sys_init': {'pct': {'found': True, 'runs': 1, 'seconds': 0.4}, 'strategy': 'pct', 'found': True, 'runs': 1, 'reason': 'invariant', 'preemptions': [9, 2]},
    'two_func_version_counters': {'pct': {'found': True, 'runs': 1, 'seconds': 0.3}, 'strategy': 'pct', 'found': True, 'runs': 1, 'reason': 'assertion', 'preemptions': [2, 0]},
    'type_cache_no_seqlock': {'pct': {'found': True, 'runs': 242, 'seconds': 0.8}, 'strategy': 'pct', 'found': True, 'runs': 242, 'reason': 'assertion', 'preemptions': [8, 6]},
}


def exploration(flag: str) -> Optional[dict[str, Any]]:
    return RESULTS.get(flag)


def measure(flag: str, budget: int = 10_000, max_seconds: float = 120.0, jobs: int = 2) -> dict[str, Any]:
    """Explore the flag's scenario with pct until the first failure (at most ``budget`` runs
    or about ``max_seconds``), then with random if pct found nothing; shrink what was found.
    In a temporary store."""
    import time

    from .explore import ExploreSpec, explore
    from .record.store import Store
    from .runtime.bugs import BUGS
    from .shrink import shrink_run

    bug = BUGS[flag]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ftreplay-zoo-") as tmp:
        db = os.path.join(tmp, "zoo.duckdb")
        for strategy in ("pct", "random"):
            spec = ExploreSpec(bug.scenario, strategy, bugs=(flag,))
            t0 = time.perf_counter()
            tried, res = 0, None
            while tried < budget and time.perf_counter() - t0 < max_seconds:
                chunk = min(budget - tried, 500 if tried else 100)
                res = explore(spec, runs=chunk, first_seed=1 + tried, until_failure=True, db=db, jobs=jobs)
                tried += res["runs_tried"]
                if res["found"]:
                    break
            seconds = round(time.perf_counter() - t0, 1)
            out[strategy] = {"found": bool(res and res["found"]), "runs": tried, "seconds": seconds}
            if res and res["found"]:
                with Store.open(db, read_only=False) as store:
                    sh = shrink_run(store, res["run_id"])
                out.update(strategy=strategy, found=True, runs=tried, reason=res["failure"]["reason"],
                           preemptions=[sh["preemptions_before"], sh["preemptions_after"]])
                return out
    out.update(strategy=None, found=False)
    return out


if __name__ == "__main__":
    from .runtime.bugs import BUGS

    for name in sys.argv[1:] or list(BUGS):
        print(f"    {name!r}: {json.dumps(measure(name))},", flush=True)
