"""The sim engine: failures (deadlock, livelock, assertion, crash), timers and the virtual
clock, the scheduling strategies, and replaying a recorded schedule."""

from __future__ import annotations

import inspect
import re

import pytest

from ftreplay.errors import ScheduleDiverged, UsageError
from ftreplay.sim.clock import GUEST_OP_NS
from ftreplay.sim.engine import Engine, GuestFailure, SimThread
from ftreplay.sim.strategies import STRATEGIES, make_strategy
from ftreplay.sim.strategies.pct import PCTStrategy
from ftreplay.sim.strategies.round_robin import RoundRobinStrategy

MS = 1_000_000


# -- deadlock ------------------------------------------------------------------------------
def _lock_order_inversion(rt):
    a = rt.mutex("A")
    b = rt.mutex("B")

    def ab():
        a.lock()
        rt.work(2 * MS)  # both hold their first lock by then: the deadlock is certain
        b.lock()

    def ba():
        b.lock()
        rt.work(2 * MS)
        a.lock()

    ts = [rt.start_thread(ab, name="ab"), rt.start_thread(ba, name="ba")]
    for t in ts:
        t.join()


@pytest.mark.parametrize("strategy", ["random", "pct", "round_robin"])
def test_deadlock_names_the_wait_for_cycle(run_guest, strategy):
    r = run_guest(_lock_order_inversion, strategy=strategy, seed=3)
    f = r.failure
    assert f is not None and f.reason == "deadlock"
    msg = f.message
    assert msg.startswith("wait-for cycle: ")
    addr = {label: x for x, label in r.rt.labels.items()}
    assert f"T2 waits on mutex 'B' @0x{addr['B']:x} held by T3" in msg
    assert f"T3 waits on mutex 'A' @0x{addr['A']:x} held by T2" in msg
    # The main thread (waiting in join) is not part of the cycle.
    assert "T1" not in msg
    last = r.events[-1]
    assert (last.kind, last.reason, last.tid, last.seq) == ("run.failure", "deadlock", 0, f.seq)
    assert r.end.status == "failed"
    assert r.engine.now > 2 * MS
    assert r.engine.steps < 2000


def test_relocking_a_held_mutex_is_a_self_cycle(run_guest):
    def guest(rt):
        m = rt.mutex("m")
        m.lock()
        m.lock()

    r = run_guest(guest)
    assert r.failure.reason == "deadlock"
    assert re.fullmatch(r"wait-for cycle: T1 waits on mutex 'm' @0x[0-9a-f]+ held by T1", r.failure.message)


def test_deadlock_on_an_event_nobody_sets(run_guest):
    def guest(rt):
        never = rt.event("never")
        t = rt.start_thread(never.wait, name="w")
        t.join()

    r = run_guest(guest)
    f = r.failure
    assert f.reason == "deadlock"
    assert f.message.startswith("all threads blocked, no timer pending: ")
    assert re.search(r"T2 waits on event 'never' @0x[0-9a-f]+ \(no holder\)", f.message), f.message
    assert re.search(r"T1 waits on event 'w\.thread_is_exiting' @0x[0-9a-f]+ held by T2", f.message), f.message


def test_deadlock_report_does_not_call_a_blocked_holder_gone(run_guest):
    def guest(rt):
        never = rt.event("never")
        t = rt.start_thread(never.wait, name="w")
        t.join()

    r = run_guest(guest)
    assert r.failure.reason == "deadlock"
    # T1 waits for T2's exit; T2 is blocked (on 'never'), not exited or gone.
    assert "held by T2 (not blocked" not in r.failure.message, r.failure.message
    assert re.search(r"T1 waits on event 'w\.thread_is_exiting' @0x[0-9a-f]+ held by T2;", r.failure.message)


def test_deadlock_on_a_mutex_whose_holder_exited(run_guest):
    def guest(rt):
        m = rt.mutex("m")
        t = rt.start_thread(m.lock, name="leaker")
        t.join()
        m.lock()

    r = run_guest(guest)
    f = r.failure
    assert f.reason == "deadlock"
    gone = r"T1 waits on mutex 'm' @0x[0-9a-f]+ held by T2 \(not blocked: exited or gone\)"
    assert re.search(gone, f.message), f.message


# -- livelock -------------------------------------------------------------------------------
def test_step_budget_exceeded_is_a_livelock(run_guest):
    def guest(rt):
        flag = rt.var("flag", 0)
        while not flag.load():
            pass

    r = run_guest(guest, knobs={"max_steps": 1000})
    f = r.failure
    assert f.reason == "livelock"
    assert "1000" in f.message and "step budget exceeded" in f.message
    assert r.engine.steps == 1000
    assert len(r.of("guest.load")) < 1000


def test_two_threads_spinning_is_a_livelock(run_guest):
    def guest(rt):
        flag = rt.var("flag", 0)

        def spin():
            while not flag.load():
                pass

        ts = [rt.start_thread(spin) for _ in range(2)]
        for t in ts:
            t.join()

    r = run_guest(guest, knobs={"max_steps": 5000})
    assert r.failure.reason == "livelock"
    assert {e.tid for e in r.of("guest.load")} == {2, 3}


# -- timers ---------------------------------------------------------------------------------
def test_clock_jumps_when_every_thread_works(run_guest):
    box = {}
    durations = (5 * MS, 20 * MS, 10 * MS)

    def guest(rt):
        box["spans"] = {}

        def worker(d):
            t0 = rt.now
            rt.work(d)
            box["spans"][rt.tid] = (t0, rt.now)
            box.setdefault("order", []).append(rt.tid)

        ts = [rt.start_thread(worker, d) for d in durations]
        for t in ts:
            t.join()
        box["end"] = rt.now
        t0 = rt.now
        rt.work(7 * MS)
        box["main_span"] = rt.now - t0

    r = run_guest(guest).ok()
    spans = box["spans"]
    for tid, d in zip((2, 3, 4), durations):
        t0, t1 = spans[tid]
        # Other threads may run between t0 and the block (their costs move the clock too).
        assert GUEST_OP_NS + d <= t1 - t0 < d + 100_000
    assert box["order"] == [2, 4, 3]  # by deadline, not by start order
    last_deadline = max(t1 for _, t1 in spans.values())
    assert last_deadline == spans[3][1]
    assert last_deadline <= box["end"] < last_deadline + 100_000
    assert box["main_span"] == GUEST_OP_NS + 7 * MS  # alone: woke exactly at its deadline
    # 27 ms of virtual time, but only a few hundred scheduling points.
    assert r.engine.now >= 27 * MS
    assert r.engine.steps < 1000


# -- guest errors ---------------------------------------------------------------------------
def test_assertion_in_a_guest_thread(run_guest):
    def guest(rt):
        def bad():
            x = rt.var("x", 1)
            assert x.load() == 2, "x should be 2"

        t = rt.start_thread(bad, name="bad")
        t.join()

    line = next(i for i, text in enumerate(inspect.getsourcelines(guest)[0]) if "assert x.load()" in text)
    lineno = inspect.getsourcelines(guest)[1] + line
    r = run_guest(guest)
    f = r.failure
    assert f.reason == "assertion"
    # (pytest rewrites asserts in this file and appends its explanation after the text)
    assert f.message.startswith(f"test_engine.py:{lineno} in bad: AssertionError: x should be 2")
    last = r.events[-1]
    assert (last.kind, last.tid, last.reason) == ("run.failure", 2, "assertion")


def test_bare_assertion_in_main(run_guest):
    def guest(rt):
        raise AssertionError

    r = run_guest(guest)
    assert r.failure.reason == "assertion"
    assert re.fullmatch(r"test_engine\.py:\d+ in guest: AssertionError: assertion failed", r.failure.message)


def test_other_exceptions_crash(run_guest):
    def guest(rt):
        {}["missing"]

    r = run_guest(guest)
    assert r.failure.reason == "crash"
    assert re.fullmatch(r"test_engine\.py:\d+ in guest: KeyError: 'missing'", r.failure.message)


def test_guest_failure_carries_its_reason(run_guest):
    def guest(rt):
        raise GuestFailure("invariant", "two holders")

    r = run_guest(guest)
    assert (r.failure.reason, r.failure.message) == ("invariant", "two holders")


def test_failure_stops_the_run_and_nothing_is_recorded_after_it(run_guest):
    box = {"after": 0}

    def guest(rt):
        def other():
            y = rt.var("y", 0)
            for _ in range(100_000):
                y.load()
            box["after"] += 1

        rt.start_thread(other)
        rt.work(1000)
        assert False, "stop"

    r = run_guest(guest)
    assert r.failure.reason == "assertion"
    assert r.events[-1].kind == "run.failure"
    assert all(e.seq < r.failure.seq for e in r.events[:-1])
    assert r.end.events == r.failure.seq + 1
    assert box["after"] == 0
    assert all(t.glet is None for t in r.engine.order)  # every greenlet unwound


def test_tool_errors_in_a_guest_propagate(run_guest):
    def guest(rt):
        raise UsageError("bad knob")

    with pytest.raises(UsageError, match="bad knob"):
        run_guest(guest)


# -- strategies -----------------------------------------------------------------------------
def _contended(rt):
    m = rt.mutex("m")
    counter = rt.var("counter", 0)

    def worker():
        for _ in range(10):
            m.lock()
            counter.store(counter.load() + 1)
            m.unlock()

    ts = [rt.start_thread(worker) for _ in range(3)]
    for t in ts:
        t.join()
    assert counter.load() == 30


def _payload(r):
    """Every event, without the META frame (which names the seed)."""
    return [tuple(getattr(e, f) for f in e.ev.__struct_fields__) for e in r.events]


@pytest.mark.parametrize("strategy", ["random", "pct", "round_robin"])
def test_same_seed_same_decisions(run_guest, strategy, test_seed):
    a = run_guest(_contended, strategy=strategy, seed=test_seed).ok()
    b = run_guest(_contended, strategy=strategy, seed=test_seed).ok()
    assert a.decisions == b.decisions
    assert len(a.decisions) > 20
    assert a.data == b.data


def test_random_seeds_differ(run_guest, test_seed):
    schedules = {tuple(run_guest(_contended, seed=s).ok().decisions) for s in range(test_seed, test_seed + 5)}
    assert len(schedules) == 5


def test_round_robin_ignores_the_seed(run_guest):
    a = run_guest(_contended, strategy="round_robin", seed=1).ok()
    b = run_guest(_contended, strategy="round_robin", seed=987654).ok()
    assert a.decisions == b.decisions
    assert _payload(a) == _payload(b)
    assert a.data != b.data  # only the META frame differs


class _FakeEngine:
    def __init__(self):
        self.steps = 0
        self.rl_version = 0


def _threads(n):
    return [SimThread(i, f"T{i}", None, ()) for i in range(1, n + 1)]


def test_round_robin_order_and_quantum():
    t1, t2, t3 = _threads(3)
    rr = RoundRobinStrategy(seed=5, knobs={})
    assert rr.pick([t1, t2, t3], t1) is t2
    assert rr.pick([t1, t2, t3], t2) is t3
    assert rr.pick([t1, t2, t3], t3) is t1  # wraps around
    assert rr.pick([t1, t3], t1) is t3  # skips threads that cannot run
    assert rr.pick([t1, t2], None) is t1
    rr3 = RoundRobinStrategy(seed=0, knobs={"rr_quantum": 3})
    picks = [rr3.pick([t1, t2], t) for t in (t1, t1, t1)]
    assert picks == [t1, t1, t2]


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_pct_depth_gives_depth_minus_one_change_points(depth):
    p = PCTStrategy(seed=11, knobs={"pct_depth": depth, "pct_steps": 100})
    assert len(p.changes) == depth - 1
    assert [k for k, _ in p.changes] == sorted(k for k, _ in p.changes)  # in time order
    assert all(1 <= k <= 100 for k, _ in p.changes)
    assert sorted(i for _, i in p.changes) == list(range(1, depth))  # k_i carries priority i
    threads = _threads(4)
    for t in threads:
        p.on_spawn(t)
    prios = [t.prio for t in threads]
    assert len(set(prios)) == 4 and all(depth < x < depth + 1 for x in prios)


def test_pct_runs_the_highest_priority_and_demotes_at_change_points():
    p = PCTStrategy(seed=4, knobs={"pct_depth": 2, "pct_steps": 50})
    eng = _FakeEngine()
    p.bind(eng)
    threads = _threads(3)
    for t in threads:
        p.on_spawn(t)
    best = max(threads, key=lambda t: t.prio)
    [(change, _)] = p.changes
    eng.steps = change - 1
    assert p.pick(threads, best) is best
    eng.steps = change
    eng.rl_version += 1
    nxt = p.pick(threads, best)
    assert best.prio == 1.0  # below every initial priority (> depth)
    assert nxt is max((t for t in threads if t is not best), key=lambda t: t.prio)


def test_pct_change_points_carry_their_draw_index_not_their_rank_in_time():
    """As in the paper, k_i lowers the running thread to priority i; k_1..k_{d-1} are drawn
    independently, so the thread demoted first can outrank the one demoted later (A is
    preempted, B runs until its own change point, then A resumes before B finishes)."""
    orders, checked = set(), 0
    for seed in range(40):
        p = PCTStrategy(seed=seed, knobs={"pct_depth": 3, "pct_steps": 1000})
        orders.add(tuple(i for _, i in p.changes))
        if [i for _, i in p.changes] != [2, 1] or p.changes[0][0] == p.changes[1][0]:
            continue
        eng = _FakeEngine()
        p.bind(eng)
        a, b, c = _threads(3)
        for t in (a, b, c):
            p.on_spawn(t)
        a.prio, b.prio, c.prio = 3.9, 3.5, 3.1  # a, then b, then c
        (k1, _), (k2, _) = p.changes
        eng.steps = k1
        eng.rl_version += 1
        assert p.pick([a, b, c], a) is b and a.prio == 2.0  # a demoted first, to 2
        eng.steps = k2
        eng.rl_version += 1
        assert p.pick([a, b, c], b) is c and b.prio == 1.0  # b demoted later, to 1
        c.prio = 0.5  # c done (or lower): a, demoted earlier, now outranks b
        eng.rl_version += 1
        assert p.pick([a, b, c], c) is a
        checked += 1
    assert checked and orders == {(1, 2), (2, 1)}  # both time orders of the priorities occur


def test_pct_depth_knob_changes_the_run(run_guest):
    runs = {d: run_guest(_contended, strategy="pct", seed=2, knobs={"pct_depth": d, "pct_steps": 200}).ok()
            for d in (1, 4)}
    assert runs[1].decisions != runs[4].decisions
    assert len(runs[1].strategy.changes) == 0 and len(runs[4].strategy.changes) == 3


def test_unknown_strategy_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown strategy"):
        make_strategy("fifo", 1, {})
    assert set(STRATEGIES) == {"random", "pct", "round_robin"}


# -- replay ---------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["random", "pct", "round_robin"])
def test_replay_reproduces_the_log_bytes(run_guest, strategy, test_seed):
    first = run_guest(_contended, strategy=strategy, seed=test_seed).ok()
    again = run_guest(_contended, strategy=strategy, seed=test_seed, schedule=first.decisions).ok()
    assert again.decisions == first.decisions
    assert again.strategy.i == len(first.decisions) and not again.strategy.exhausted
    assert again.data == first.data


def test_replay_reproduces_a_failure(run_guest, test_seed):
    first = run_guest(_lock_order_inversion, seed=test_seed)
    assert first.failure.reason == "deadlock"
    again = run_guest(_lock_order_inversion, seed=test_seed, schedule=first.decisions)
    assert (again.failure.reason, again.failure.message, again.failure.seq) == (
        first.failure.reason, first.failure.message, first.failure.seq
    )
    assert again.data == first.data


def test_replay_drives_the_interleaving(run_guest, test_seed):
    """Replay is not the seed in disguise: another seed under the same schedule gives the
    same run."""
    first = run_guest(_contended, seed=test_seed).ok()
    other = run_guest(_contended, seed=test_seed + 1, schedule=first.decisions).ok()
    assert _payload(other) == _payload(first)


def test_diverging_schedule_raises(run_guest, test_seed):
    first = run_guest(_contended, seed=test_seed).ok()
    bad = list(first.decisions)
    bad[5] = 99
    with pytest.raises(ScheduleDiverged, match=r"decision 5: T99 cannot run \(runnable: T\d"):
        run_guest(_contended, seed=test_seed, schedule=bad)


def test_short_schedule_runs_to_completion(run_guest, test_seed):
    first = run_guest(_contended, seed=test_seed).ok()
    short = run_guest(_contended, seed=test_seed, schedule=first.decisions[:10]).ok()
    assert short.strategy.exhausted
    assert short.decisions[:10] == first.decisions[:10]


def test_spawn_rejects_a_used_tid():
    eng = Engine(make_strategy("random", 1, {}))
    eng.spawn(lambda: None, tid=3)
    with pytest.raises(ValueError, match="thread id 3 is in use"):
        eng.spawn(lambda: None, tid=3)
