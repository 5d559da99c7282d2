"""``ftreplay bench``: throughput of the event path on a large ``stress`` run (locks, objects
with cross-thread refcounts, shared lists read without locks, allocation, QSBR).

- simulate_events_per_s: the model and scheduler with a null sink (rows built, nothing encoded)
- record_events_per_s: simulate + encode + write the log + store it in a new store, end to end
  (what 'ftreplay record' does: the run is simulated in a forked child while this process
  opens the store, encodes the log and inserts the events)
- record_overhead_ratio: record time / simulate time, measured in the same process
- ingest_events_per_s: reading the log and inserting it into a fresh store
- bytes_per_event: the size of the store the log was ingested into / events (the store the
  replay numbers are measured on); record_bytes_per_event: the same for the store
  'ftreplay record' wrote (its INSERTs are laid out differently, see store.STREAMED_FLUSH_ROWS)
- seek_p99_ms: random seeks of the replay cursor on the recorded run (99th percentile)
- step_back_p99_ms: single reverse steps from random places (99th percentile)
- find_prev_ms: reverse-continue from the end to a predicate that only the run's start matches
- tui_open_s: from launching the TUI (headless) to its first full screen of that run
- explore_schedules_per_s: ``explore join_race --strategy pct --jobs 2`` (passing schedules,
  nothing stored): schedules run per second, worker start-up included;
  explore_schedules_per_cpu_s: the same per CPU second (the workers' and this process's)

The simulate, record and ingest throughputs are each the median of three runs (every run's
time is in ``*_s_runs``): this machine's speed drifts by several percent from one minute to
the next.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import tempfile
import time
from typing import Any, Callable, Optional

from .record.log import NullSink, read_log
from .record.recording import start_recording
from .record.session import execute, make_meta
from .record.store import Store

SCENARIO = "stress"
REPEAT = 3  # the throughputs are medians of this many runs (one with --quick)
FULL = {"threads": 8, "iterations": 3_000}
QUICK = {"threads": 4, "iterations": 150}


def _timed(fn, repeat: int = 1, stage=None, what: str = "") -> tuple[float, Any, list[float]]:
    """The median wall time of ``repeat`` calls ``fn(i)``, the last result, every time."""
    times = []
    out = None
    for i in range(repeat):
        if stage is not None:
            stage(f"{what} {i + 1}/{repeat}")
        gc.collect()
        t0 = time.perf_counter()
        out = fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out, times


def run_bench(quick: bool = False, progress: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """``progress`` is told the name of each stage as it starts."""
    stage = progress or (lambda _text: None)
    args = QUICK if quick else FULL
    repeat = 1 if quick else REPEAT
    meta = make_meta(SCENARIO, seed=1, strategy="random", args={k: str(v) for k, v in args.items()})
    with tempfile.TemporaryDirectory(prefix="ftreplay-bench-") as tmp:
        t_sim, sim, sims = _timed(lambda i: execute(meta, NullSink()), repeat, stage, "simulate (no log)")

        def record(i: int) -> int:  # what 'ftreplay record' does, into a new store
            db = os.path.join(tmp, f"record-{i}.duckdb")
            with start_recording(meta) as rec, Store.open(db, read_only=False) as store:
                res = rec.store_into(store, "bench", os.path.join(tmp, f"bench-{i}.ftlog"))
            return res.end.events

        t_rec, events, recs = _timed(record, repeat, stage, "record into a new store")
        log = os.path.join(tmp, f"bench-{repeat - 1}.ftlog")
        record_db_bytes = os.path.getsize(os.path.join(tmp, f"record-{repeat - 1}.duckdb"))

        def ingest(i: int) -> str:
            db = os.path.join(tmp, f"ingest-{i}.duckdb")
            reader = read_log(log)
            with Store.open(db, read_only=False) as store:
                store.ingest(reader, "bench", log)
            reader.close()
            return db

        t_ing, db, ings = _timed(ingest, repeat, stage, "ingest the log into a new store")
        db_bytes = os.path.getsize(db)
        log_bytes = os.path.getsize(log)
        stage("seeks, reverse steps, reverse-continue, the TUI's first screen")
        replay = _replay_metrics(db, quick)
        stage("explore join_race (pct, 2 processes)")
    assert events == sim.end.events
    return {
        "scenario": SCENARIO,
        "args": args,
        "events": events,
        "simulate_events_per_s": round(events / t_sim),
        "record_events_per_s": round(events / t_rec),
        "record_overhead_ratio": round(t_rec / t_sim, 3),
        "ingest_events_per_s": round(events / t_ing),
        "bytes_per_event": round(db_bytes / events, 2),
        "record_bytes_per_event": round(record_db_bytes / events, 2),
        "log_bytes_per_event": round(log_bytes / events, 2),
        **replay,
        **explore_metrics(quick),
        "simulate_s": round(t_sim, 3),
        "record_s": round(t_rec, 3),
        "ingest_s": round(t_ing, 3),
        "simulate_s_runs": [round(t, 3) for t in sims],
        "record_s_runs": [round(t, 3) for t in recs],
        "ingest_s_runs": [round(t, 3) for t in ings],
    }


def _p99(samples: list[float]) -> float:
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _replay_metrics(db: str, quick: bool) -> dict[str, Any]:
    from .replay.cursor import Cursor

    rng = random.Random(7)
    out: dict[str, Any] = {}
    with Store.open(db) as store:
        cur = Cursor(store, "bench")
        n = cur.total
        seeks = []
        for _ in range(50 if quick else 300):
            target = rng.randrange(n)
            t0 = time.perf_counter()
            cur.seek(target)
            seeks.append(time.perf_counter() - t0)
        backs = []
        for _ in range(20 if quick else 100):
            cur.seek(rng.randrange(1, n))
            for _ in range(10):
                t0 = time.perf_counter()
                cur.step(-1)
                backs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        hit = cur.find("kind = 'pystate.new_thread' AND thread = 1", forward=False, start=n)
        t_find = time.perf_counter() - t0
        assert hit is not None
        out["seek_p99_ms"] = round(_p99(seeks) * 1000, 2)
        out["step_back_p99_ms"] = round(_p99(backs) * 1000, 2)
        out["find_prev_ms"] = round(t_find * 1000, 2)
    try:
        from tui.measure import measure_open
    except ImportError:
        out["tui_open_s"] = None
    else:
        out["tui_open_s"] = round(measure_open(db, "bench"), 3)
    return out


def explore_metrics(quick: bool = False, jobs: int = 2) -> dict[str, Any]:
    """Exploration throughput on join_race (about 190 events a schedule) with ``jobs`` processes."""
    from .explore import ExploreSpec, explore

    runs = 1_000 if quick else 10_000
    t0 = os.times()
    with tempfile.TemporaryDirectory(prefix="ftreplay-bench-") as tmp:
        res = explore(ExploreSpec("join_race", "pct"), runs=runs, jobs=jobs, db=os.path.join(tmp, "x.duckdb"))
    t1 = os.times()
    assert not res["found"]
    # CPU seconds of this process and its (reaped) workers: throughput per core whatever the load
    cpu = (t1.user + t1.system + t1.children_user + t1.children_system) - (t0.user + t0.system + t0.children_user + t0.children_system)
    return {
        "explore_schedules_per_s": round(res["runs_tried"] / res["seconds"]),
        "explore_schedules_per_cpu_s": round(res["runs_tried"] / cpu) if cpu > 0 else None,
        "explore_runs": runs,
        "explore_jobs": jobs,
    }
