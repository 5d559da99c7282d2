"""Modules/_threadmodule.c model: start, join, shutdown, and the <= 3.12 ``_tstate_lock``
join race behind ``--bug join_tstate_lock_race``."""

from __future__ import annotations

import pytest

from ftreplay.record.log import MemorySink, parse_log
from ftreplay.record.session import execute, make_meta
from ftreplay.runtime.threadmodule import ThreadError, ThreadHandleState

MS = 1_000_000
BUG = "join_tstate_lock_race"


def test_join_waits_for_exit(run_guest):
    box = {}

    def guest(rt):
        t = rt.start_thread(lambda: rt.work(1 * MS), name="worker")
        box["state_before"] = t.state
        t0 = rt.now
        t.join()
        box["waited"] = rt.now - t0
        box["state_after"] = t.state
        box["exiting_set"] = t.thread_is_exiting.v

    r = run_guest(guest).ok()
    assert box["state_before"] == ThreadHandleState.RUNNING
    assert box["state_after"] == ThreadHandleState.DONE
    assert box["exiting_set"] == 1
    assert box["waited"] >= 1 * MS - 100_000
    [exit_] = r.of("thread.exit", thread=2)
    [join] = r.of("thread.join", thread=2)
    assert join.tid == 1
    assert exit_.seq < join.seq
    [dele] = r.of("pystate.delete_thread", thread=2)
    assert exit_.seq < dele.seq < join.seq


def test_concurrent_joiners_both_return(run_guest, test_seed):
    box = {}

    def guest(rt):
        a = rt.start_thread(lambda: rt.work(1 * MS), name="A")
        box["a"] = a

        def joiner():
            a.join()
            box.setdefault("returned", []).append(rt.tid)

        js = [rt.start_thread(joiner, name=n) for n in ("B", "C")]
        box["joiners"] = [j.ident for j in js]
        for j in js:
            j.join()
        a.join()  # a third join is a no-op

    for strategy in ("random", "pct", "round_robin"):
        box.clear()
        r = run_guest(guest, strategy=strategy, seed=test_seed).ok()
        a = box["a"]
        assert sorted(box["returned"]) == sorted(box["joiners"])
        joins = r.of("thread.join", thread=a.ident)
        assert sorted(e.tid for e in joins) == sorted(box["joiners"] + [1])
        [exit_] = r.of("thread.exit", thread=a.ident)
        assert all(exit_.seq < e.seq for e in joins)
        # join_thread ran once, whoever got there first.
        once_ops = [e.op for e in r.of("lock.word", addr=a.once.addr)]
        assert once_ops.count("begin") == 1
        assert a.state == ThreadHandleState.DONE


def test_joining_the_current_thread_raises(run_guest):
    box = {}

    def guest(rt):
        me = {}

        def body():
            try:
                me["h"].join()
            except ThreadError as e:
                box["error"] = str(e)

        gate = rt.event("gate")

        def run():
            gate.wait()
            body()

        me["h"] = rt.start_thread(run, name="self-joiner")
        gate.notify()
        me["h"].join()

    r = run_guest(guest).ok()
    assert box["error"] == "Cannot join current thread"
    assert not r.of("thread.join", tid=2)


def test_uncaught_self_join_fails_the_run(run_guest):
    def guest(rt):
        me = {}
        gate = rt.event("gate")

        def run():
            gate.wait()
            me["h"].join()

        me["h"] = rt.start_thread(run, name="self-joiner")
        gate.notify()
        me["h"].join()

    r = run_guest(guest)
    assert r.failure is not None
    assert r.failure.reason == "crash"
    assert "ThreadError: Cannot join current thread" in r.failure.message
    assert r.failure.message.startswith("threadmodule.py:")  # where it was raised
    assert " in join: " in r.failure.message
    last = r.events[-1]
    assert (last.kind, last.tid) == ("run.failure", 2)


def test_join_after_exit_returns_at_once(run_guest):
    box = {}

    def guest(rt):
        t = rt.start_thread(lambda: None, name="quick")
        rt.work(1 * MS)
        box["exited"] = t.thread_is_exiting.v
        t0 = rt.now
        t.join()
        box["cost"] = rt.now - t0

    r = run_guest(guest).ok()
    assert box["exited"] == 1
    assert box["cost"] < 10_000
    assert [e.tid for e in r.of("thread.join", thread=2)] == [1]


def test_shutdown_joins_unjoined_threads(run_guest):
    box = {}

    def guest(rt):
        box["h"] = [rt.start_thread(lambda: rt.work(500_000)) for _ in range(2)]

    r = run_guest(guest).ok()
    assert [h.state for h in box["h"]] == [ThreadHandleState.DONE] * 2
    assert sorted((e.tid, e.thread) for e in r.of("thread.join")) == [(1, 2), (1, 3)]
    assert r.rt.threads.shutdown_handles == []


def _join_race(seed, strategy, bugs=()):
    sink = MemorySink()
    meta = make_meta("join_race", seed=seed, strategy=strategy, bugs=list(bugs))
    return execute(meta, sink), sink


def test_legacy_join_race_fails_for_some_pct_seed():
    failing = []
    for seed in range(1, 51):
        res, sink = _join_race(seed, "pct", [BUG])
        if res.failure is not None:
            assert res.failure["reason"] == "assertion", res.failure
            failing.append(seed)
            if len(failing) == 1:
                msg = res.failure["message"]
                assert "threadmodule.py" in msg and "_stop" in msg
                assert BUG in msg and "_tstate_lock of <A> is locked" in msg
                log = parse_log(bytes(sink.data))
                events = list(log.iter_events())
                assert type(events[-1]).__name__ == "RunFailure"
                assert log.end.status == "failed" and log.end.failure_seq == events[-1].seq
    print(f"pct seeds failing with --bug {BUG}: {failing}")
    assert failing, "no pct seed in 1..50 reproduced the join race"


@pytest.mark.parametrize("strategy", ["random", "pct", "round_robin"])
def test_fixed_join_passes_200_seeds(strategy):
    for seed in range(1, 201):
        res, _ = _join_race(seed, strategy)
        assert res.failure is None, f"seed {seed}: {res.failure}"
        assert res.status == "ok"


def test_legacy_join_race_replays_identically():
    """The failing schedule of the legacy design reproduces the same log bytes."""
    from ftreplay.sim import schedule as schedule_text

    for seed in range(1, 51):
        res, sink = _join_race(seed, "pct", [BUG])
        if res.failure is not None:
            break
    else:
        pytest.fail("no failing pct seed")
    sink2 = MemorySink()
    meta = make_meta("join_race", seed=seed, strategy="pct", bugs=[BUG])
    again = execute(meta, sink2, schedule=schedule_text.decode(res.end.schedule))
    assert again.failure == res.failure
    assert bytes(sink2.data) == bytes(sink.data)


def test_daemon_threads_are_not_joined_at_shutdown(run_guest):
    box = {}

    def guest(rt):
        d = rt.start_thread(lambda: rt.work(5 * MS), name="daemon", daemon=True)
        box["d"] = d
        box["tracked"] = d in rt.threads.shutdown_handles

    r = run_guest(guest).ok()
    assert box["tracked"] is False
    assert not r.of("thread.join", thread=box["d"].ident)


def test_daemon_blocked_forever_does_not_fail_the_run(run_guest):
    """When main returns the process exits: a daemon thread still waiting is abandoned, not
    reported as a deadlock (spec 9: daemon threads are never joined)."""
    box = {}

    def guest(rt):
        jobs = rt.event("jobs")  # a daemon worker waiting for work that never comes
        box["d"] = rt.start_thread(jobs.wait, name="worker", daemon=True)
        rt.work(10_000)

    r = run_guest(guest)
    assert r.failure is None, f"{r.failure.reason}: {r.failure.message}"
    d = box["d"].ident
    assert r.of("parking_lot.park", tid=d)
    assert not r.of("thread.exit", thread=d)  # abandoned, not finished
