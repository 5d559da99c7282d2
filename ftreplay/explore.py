"""Exploration: run a scenario under many schedules, keep the failing ones.

An exploration is a pure function of its spec and seeds: ``run_seeds(spec, seeds)`` runs
each seed with a null sink (the model and scheduler only, nothing encoded or stored) and
returns one ``SeedOutcome`` per seed.  Same spec and seed give the same outcome in any
process or on any machine, so ``explore`` may fan seed batches out to a process pool or to
an ``executor`` (anything with ``map(fn, iterable)`` that yields results in order, e.g. a
Dask client wrapped to gather) without changing which seeds fail.

Failing seeds are then recorded in the main process by replaying their schedule through the
normal record path (log file + ingest), so ``ftreplay verify`` passes on them.

Strategies: ``random`` and ``pct`` draw seed N's schedule from seed N.  ``dfs`` enumerates
schedules with at most ``preemption_bound`` preemptions, depth first, those with fewer
preemptions first; seed N is the N-th schedule of that enumeration (1-based).  The N-th schedule depends on the runs before it, so
``dfs`` runs in one process (``jobs`` and ``executor`` are not used) and a batch that does
not continue where the previous one ended re-walks the enumeration from the start.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Optional

import msgspec

from .errors import UsageError
from .record.log import NullSink, RunMeta
from .record.session import Execution, make_meta
from .sim import schedule as schedule_text
from .sim.strategies.dfs import DFSEnumerator, DFSStrategy

STRATEGIES = ("random", "pct", "dfs")
DEFAULT_PREEMPTION_BOUND = 2
# Failing runs recorded into the store: the first of every distinct failure, and up to this many in all.
DEFAULT_STORE_FAILURES = 10


@dataclass(frozen=True)
class ExploreSpec:
    """What to explore.  ``args`` and ``knobs`` are ``(name, value)`` pairs as given on the
    command line (``--arg`` / ``--set``); ``preemption_bound`` only applies to ``dfs``."""

    scenario: str
    strategy: str
    bugs: tuple[str, ...] = ()
    args: tuple[tuple[str, str], ...] = ()
    knobs: tuple[tuple[str, str], ...] = ()
    preemption_bound: int = DEFAULT_PREEMPTION_BOUND


@dataclass(frozen=True)
class SeedOutcome:
    seed: int
    status: str  # 'ok' | 'failed'
    reason: Optional[str]
    message: Optional[str]
    schedule_text: str
    events: int

    @property
    def signature(self) -> Optional[tuple[str, str]]:
        return None if self.status == "ok" else failure_signature(self.reason or "", self.message or "")


_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\d+")


def failure_signature(reason: str, message: str) -> tuple[str, str]:
    """How a run fails, modulo ids: the reason and the message with numbers and addresses
    replaced by ``#`` (thread ids, seqs and addresses differ between schedules)."""
    return reason, _NUMBERS.sub("#", message)


# -- running seeds (pure) ------------------------------------------------------------------------
def base_meta(spec: ExploreSpec) -> RunMeta:
    """Validate the spec (unknown scenario, flag, knob... raise UsageError) and return the
    meta of its seed 0; other seeds only change ``seed``."""
    if spec.strategy not in STRATEGIES:
        raise UsageError(f"unknown exploration strategy {spec.strategy!r} (choose from: {', '.join(STRATEGIES)})")
    if spec.preemption_bound < 0:
        raise UsageError(f"the preemption bound must be >= 0, got {spec.preemption_bound}")
    meta = make_meta(
        spec.scenario, seed=0, strategy="random" if spec.strategy == "dfs" else spec.strategy,
        args=dict(spec.args), knobs=dict(spec.knobs), bugs=list(spec.bugs),
    )
    return msgspec.structs.replace(meta, strategy=spec.strategy)


def execution(meta: RunMeta, sink, strategy=None, schedule: Optional[list[int]] = None) -> Execution:
    """An Execution of ``meta``; ``strategy`` (an object) replaces the one the meta names."""
    ex = Execution(meta, sink, schedule=[] if strategy is not None else schedule)
    if strategy is not None:
        eng = ex.engine
        ex.strategy = eng.strategy = strategy
        eng.pick = strategy.pick
        strategy.bind(eng)
    return ex


def _outcome(seed: int, ex: Execution) -> SeedOutcome:
    res = ex.run()
    end = res.end
    return SeedOutcome(seed, end.status, end.failure_reason, end.failure_message, end.schedule, end.events)


# The dfs walk of the last spec this process ran (dfs seeds are positions in it).
_dfs_cache: dict[ExploreSpec, DFSEnumerator] = {}


def run_seeds(spec: ExploreSpec, seeds: list[int]) -> list[SeedOutcome]:
    """Run each seed of ``spec`` with a null sink; one outcome per seed, in order."""
    meta0 = base_meta(spec)
    replace = msgspec.structs.replace
    out: list[SeedOutcome] = []
    if spec.strategy != "dfs":
        for seed in seeds:
            if not 0 <= seed < 2**63:
                raise UsageError(f"seed must be between 0 and 2**63-1, got {seed}")
            out.append(_outcome(seed, execution(replace(meta0, seed=seed), NullSink())))
        return out
    for seed in seeds:
        if seed < 1:
            raise UsageError(f"dfs seeds are schedule numbers from 1, got {seed}")
        enum = _dfs_cache.get(spec)
        if enum is None or enum.index > seed:
            _dfs_cache.clear()
            enum = _dfs_cache[spec] = DFSEnumerator(spec.preemption_bound)
        got = None
        while got is None and enum.prefix is not None:
            number = enum.index
            strat = DFSStrategy(enum.prefix)
            outcome = _outcome(number, execution(replace(meta0, seed=number), NullSink(), strat))
            if enum.advance(strat) and number == seed:
                got = outcome
        if got is None:
            break  # the enumeration is exhausted: fewer outcomes than seeds
        out.append(got)
    return out


# -- recording -----------------------------------------------------------------------------------
def record_schedule(store, meta: RunMeta, decisions: list[int]) -> dict[str, Any]:
    """Record ``meta`` replaying ``decisions`` through the normal path (``record_into``: a
    log beside the store, and the run stored); returns the run's summary (run_id, status,
    failure, hash, ...)."""
    from .record.recording import record_into

    log_dir = os.path.dirname(os.path.abspath(store.path))
    run_id = store.new_run_id(meta.scenario, log_dir)
    log_path = os.path.join(log_dir, run_id + ".ftlog")
    result = record_into(store, meta, run_id, log_path, schedule=decisions)
    return {
        "run_id": run_id, "seed": meta.seed, "status": result.end.status, "failure": result.failure,
        "events": result.end.events, "hash": result.hash, "schedule": result.end.schedule,
    }


# -- the campaign --------------------------------------------------------------------------------
def _batches(first: int, runs: int, size: int):
    s = first
    end = first + runs
    while s < end:
        n = min(size, end - s)
        yield list(range(s, s + n))
        s += n


def _sizes(runs: int, size: int):
    while runs > 0:
        yield min(size, runs)
        runs -= size


def _pool(jobs: int):
    """Worker processes: forked where that is safe (no other Python thread; the store is not
    open yet), else from a fork server that has imported ftreplay."""
    import multiprocessing
    import threading

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork").Pool(jobs)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["ftreplay.explore"])
    return ctx.Pool(jobs)


def explore(
    spec: ExploreSpec,
    *,
    runs: int,
    jobs: int = 1,
    until_failure: bool = False,
    db: Optional[str] = None,
    first_seed: int = 1,
    store_sample: int = 0,
    progress: Optional[Callable[[int, int, int], None]] = None,
    executor=None,
    store_failures: int = DEFAULT_STORE_FAILURES,
    batch: Optional[int] = None,
) -> dict[str, Any]:
    """Run seeds ``first_seed .. first_seed + runs - 1`` of ``spec`` (or until the first
    failure) and record the failing ones (the first of each distinct failure, up to
    ``store_failures``) and the first ``store_sample`` passing ones into the store ``db``.

    ``progress(done, total, failures)`` is called after every batch.  The summary's seeds,
    failures and run counts do not depend on ``jobs``, ``executor`` or ``batch``.
    """
    from .record.store import Store, default_db

    meta0 = base_meta(spec)  # validates before any work
    if runs < 1:
        raise UsageError(f"--runs must be >= 1, got {runs}")
    if jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {jobs}")
    if store_sample < 0 or store_failures < 0:
        raise UsageError("--store-sample and --store-failures must be >= 0")
    if first_seed < 0 or first_seed + runs > 2**63:
        raise UsageError(f"seeds must lie between 0 and 2**63-1 (first seed {first_seed})")
    if spec.strategy == "dfs" and first_seed < 1:
        raise UsageError(f"dfs seeds are schedule numbers from 1, got first seed {first_seed}")
    local = spec.strategy == "dfs" or (jobs == 1 and executor is None)
    if batch is None:
        batch = 64 if local else max(1, min(256, runs // (jobs * 8) or 1))
    fn = partial(run_seeds, spec)
    t0 = time.perf_counter()
    done = 0
    failures: list[SeedOutcome] = []
    samples: list[SeedOutcome] = []
    exhausted = False
    pool = None
    try:
        if local:
            results = map(fn, _batches(first_seed, runs, batch))
        elif executor is not None:
            results = iter(executor.map(fn, list(_batches(first_seed, runs, batch))))
        else:
            pool = _pool(jobs)
            results = pool.imap(fn, _batches(first_seed, runs, batch))
        for want, outcomes in zip(_sizes(runs, batch), results):
            for o in outcomes:
                done += 1
                if o.status != "ok":
                    failures.append(o)
                    if until_failure:
                        break
                elif len(samples) < store_sample:
                    samples.append(o)
            if progress is not None:
                progress(done, runs, len(failures))
            if until_failure and failures:
                break
            if len(outcomes) < want:  # only dfs returns fewer: its enumeration is exhausted
                exhausted = True
                break
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    seconds = time.perf_counter() - t0

    # Which failures to store: the first of each distinct failure, then the earliest others.
    chosen: dict[int, SeedOutcome] = {}
    seen: set = set()
    for o in failures:
        if o.signature not in seen:
            seen.add(o.signature)
            chosen[o.seed] = o
    for o in failures:
        if len(chosen) >= store_failures:
            break
        chosen.setdefault(o.seed, o)
    keep = [chosen[s] for s in sorted(chosen)]

    recorded: dict[int, dict] = {}
    sample_ids: list[str] = []
    if keep or samples:
        with Store.open(db, read_only=False) as store:
            for o in keep + samples:
                meta = msgspec.structs.replace(meta0, seed=o.seed)
                rec = record_schedule(store, meta, schedule_text.decode(o.schedule_text))
                if rec["status"] != o.status:  # replay through the record path must agree
                    raise UsageError(f"seed {o.seed}: recording gave {rec['status']}, exploration {o.status}")
                if o.status == "ok":
                    sample_ids.append(rec["run_id"])
                else:
                    recorded[o.seed] = rec
    signatures: dict[tuple[str, str], int] = {}
    for o in failures:
        signatures[o.signature] = signatures.get(o.signature, 0) + 1
    first = failures[0] if failures else None
    return {
        "scenario": meta0.scenario,
        "strategy": spec.strategy,
        "bugs": list(meta0.bugs),
        "found": bool(failures),
        "run_id": recorded[first.seed]["run_id"] if first is not None and first.seed in recorded else None,
        "seed": first.seed if first is not None else None,
        "failure": {"reason": first.reason, "message": first.message} if first is not None else None,
        "runs_tried": done,
        "failures": len(failures),
        "distinct_failures": [
            {"reason": r, "message": m, "runs": n} for (r, m), n in signatures.items()
        ],
        "failing_runs": [
            {"seed": o.seed, "reason": o.reason, "run_id": recorded[o.seed]["run_id"] if o.seed in recorded else None}
            for o in failures[:100]
        ],
        "sample_runs": sample_ids,
        "seconds": round(seconds, 3),
        "schedules_per_s": round(done / seconds, 1) if seconds > 0 else None,
        "jobs": 1 if spec.strategy == "dfs" else jobs,
        "first_seed": first_seed,
        "exhausted": exhausted,
        "db": db or default_db(),
    }
