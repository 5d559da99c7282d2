"""``ftreplay bench``: throughput of the event path on a large, contended mutex_counter run.

- simulate_events_per_s: the model and scheduler with a null sink (rows built, nothing encoded)
- record_events_per_s: simulate + encode + write the log + ingest into a fresh store, end to end
- record_overhead_ratio: record time / simulate time, measured in the same process
- ingest_events_per_s: reading the log and inserting it into a fresh store
- bytes_per_event: the store file's size / events
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from typing import Any

from .record.log import FileSink, NullSink, read_log
from .record.session import execute, make_meta
from .record.store import Store

FULL = {"threads": 8, "iterations": 40_000}
QUICK = {"threads": 4, "iterations": 1_500}


def _timed(fn) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_bench(quick: bool = False, progress: bool = False) -> dict[str, Any]:
    args = QUICK if quick else FULL
    meta = make_meta(
        "mutex_counter", seed=1, strategy="random",
        args={k: str(v) for k, v in args.items()} | {"work_ns": "0"},
    )
    with tempfile.TemporaryDirectory(prefix="ftreplay-bench-") as tmp:
        log = os.path.join(tmp, "bench.ftlog")
        t_sim, sim = _timed(lambda: execute(meta, NullSink()))

        def record() -> int:
            res = execute(meta, FileSink(log))
            reader = read_log(log, sha256=res.hash)
            with Store.open(os.path.join(tmp, "record.duckdb"), read_only=False) as store:
                store.ingest(reader, "bench", log)
            reader.close()
            return res.end.events

        t_rec, events = _timed(record)

        def ingest() -> str:
            db = os.path.join(tmp, "ingest.duckdb")
            reader = read_log(log)
            with Store.open(db, read_only=False) as store:
                store.ingest(reader, "bench", log)
            reader.close()
            return db

        t_ing, db = _timed(ingest)
        db_bytes = os.path.getsize(db)
        log_bytes = os.path.getsize(log)
    assert events == sim.end.events
    return {
        "scenario": "mutex_counter",
        "args": args,
        "events": events,
        "simulate_events_per_s": round(events / t_sim),
        "record_events_per_s": round(events / t_rec),
        "record_overhead_ratio": round(t_rec / t_sim, 3),
        "ingest_events_per_s": round(events / t_ing),
        "bytes_per_event": round(db_bytes / events, 2),
        "log_bytes_per_event": round(log_bytes / events, 2),
        "simulate_s": round(t_sim, 3),
        "record_s": round(t_rec, 3),
        "ingest_s": round(t_ing, 3),
    }
