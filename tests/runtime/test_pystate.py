"""Python/pystate.c model: thread states, attach/detach, HEAD_LOCK, creation and deletion."""

from __future__ import annotations

from ftreplay.runtime.pystate import ATTACHED, DETACHED
from ftreplay.sim.engine import ThreadRun


def test_main_thread_state_is_created_detached_then_attached(run_guest):
    box = {}

    def guest(rt):
        ts = rt.pystate.current()
        box["main"] = (ts.id, ts.state, ts.active, ts.bound, ts.sim.tid)

    r = run_guest(guest).ok()
    assert box["main"] == (1, ATTACHED, True, True, 1)
    new = r.of("pystate.new_thread")
    assert [(e.tid, e.thread, e.interp, e.new) for e in new] == [(1, 1, 0, "detached")]
    att = r.of("pystate.attach")
    assert [(e.tid, e.thread, e.old, e.new) for e in att] == [(1, 1, "detached", "attached")]
    assert new[0].seq < att[0].seq


def test_detach_while_parked_and_reattach(run_guest):
    box = {}

    def guest(rt):
        evt = rt.event("evt")
        box["evt"] = evt

        def waiter():
            evt.wait()
            box["after"] = rt.pystate.current().state

        t = rt.start_thread(waiter, name="waiter")
        rt.work(100_000)
        sim = rt.engine.threads[t.ident]
        box["parked"] = (sim.state, sim.tstate, rt.pystate.main_interp.threads[0].state)
        evt.notify()
        t.join()

    r = run_guest(guest).ok()
    assert box["parked"] == (ThreadRun.BLOCKED, None, DETACHED)  # current_fast_clear, state DETACHED
    assert box["after"] == ATTACHED
    evt = box["evt"]
    [park] = r.of("parking_lot.park", addr=evt.addr, tid=2)
    [wake] = r.of("parking_lot.wake", addr=evt.addr, tid=2)
    mine = [e for e in r.events if e.tid == 2 and e.kind in ("pystate.attach", "pystate.detach")]
    assert [(e.kind, e.thread, e.old, e.new) for e in mine] == [
        ("pystate.attach", 2, "detached", "attached"),  # thread start
        ("pystate.detach", 2, "attached", "detached"),  # parked on the event
        ("pystate.attach", 2, "detached", "attached"),  # woken
    ]
    assert park.seq < mine[1].seq < wake.seq < mine[2].seq


def test_head_lock_never_detaches(run_guest):
    box = {}

    def guest(rt):
        ps = rt.pystate
        box["head"] = ps.head_mutex

        def holder():
            ps.head_lock()
            rt.work(2_000_000)  # long enough for a hand-off, too
            w = rt.engine.threads[box["waiter"]]
            box["waiter_while_blocked"] = (w.state, w.tstate is not None, w.tstate.state if w.tstate else None)
            ps.head_unlock()

        def waiter():
            rt.work(100_000)
            ps.head_lock()
            ps.head_unlock()

        # The waiter first: while the holder has HEAD_LOCK, starting a thread blocks too.
        w = rt.start_thread(waiter, name="waiter")
        box["waiter"] = w.ident
        h = rt.start_thread(holder, name="holder")
        h.join()
        w.join()

    r = run_guest(guest).ok()
    wt = box["waiter"]
    assert box["waiter_while_blocked"] == (ThreadRun.BLOCKED, True, ATTACHED)
    head = box["head"].addr
    [park] = r.of("parking_lot.park", addr=head, tid=wt)
    [wake] = r.of("parking_lot.wake", addr=head, tid=wt)
    assert park.detach is False
    assert wake.result == "ok"
    assert not [
        e for e in r.events
        if e.kind in ("pystate.detach", "pystate.attach") and e.tid == wt and park.seq < e.seq < wake.seq
    ]
    assert r.of("lock.acquire", mutex=head, tid=wt)[0].via == "handoff"


def test_thread_creation_ids_are_dense_from_one(run_guest, test_seed):
    box = {}

    def guest(rt):
        def leaf():
            rt.work(10_000)

        def spawner(n):
            kids = [rt.start_thread(leaf) for _ in range(n)]
            for k in kids:
                k.join()

        ts = [rt.start_thread(spawner, 2), rt.start_thread(spawner, 3), rt.start_thread(leaf)]
        for t in ts:
            t.join()
        box["threads"] = sorted(rt.engine.threads)

    for strategy in ("random", "pct", "round_robin"):
        r = run_guest(guest, strategy=strategy, seed=test_seed).ok()
        new = r.of("pystate.new_thread")
        ids = [e.thread for e in new]
        assert sorted(ids) == list(range(1, 10)), ids
        assert ids == sorted(ids)  # handed out in order, under HEAD_LOCK
        assert box["threads"] == list(range(1, 10))
        assert all(e.new == "detached" and e.interp == 0 for e in new)
        # Each id is the new thread's tid; its first attach and thread.start are its own.
        starts = {e.thread: e.tid for e in r.of("thread.start")}
        assert starts == {i: i for i in range(1, 10)}  # the main thread too
        first_attach = {}
        for e in r.of("pystate.attach"):
            first_attach.setdefault(e.thread, e)
        assert all(first_attach[i].tid == i for i in range(1, 10))
        # The creator emits new_thread: the spawners created 5 of them.
        creators = sorted(e.tid for e in new[1:])
        assert creators.count(1) == 3


def test_thread_deletes_its_state_while_attached(run_guest):
    box = {}

    def guest(rt):
        t = rt.start_thread(lambda: rt.work(10_000), name="t")
        t.join()
        box["left"] = [ts.id for ts in rt.pystate.main_interp.threads]
        box["ts"] = t.tstate

    r = run_guest(guest).ok()
    assert box["left"] == [1]
    ts = box["ts"]
    assert ts.cleared and ts.finalized and not ts.active
    [dele] = r.of("pystate.delete_thread", thread=2)
    assert dele.tid == 2 and dele.interp == 0
    last_attach = [e for e in r.of("pystate.attach") if e.tid == 2][-1]
    assert not [e for e in r.of("pystate.detach") if e.tid == 2 and last_attach.seq < e.seq < dele.seq]
    [exit_] = r.of("thread.exit", thread=2)
    assert exit_.seq < dele.seq


def test_attaching_twice_is_fatal(run_guest):
    r = run_guest(lambda rt: rt.pystate.attach(rt.pystate.current()))
    assert r.failure.reason == "crash"
    assert "non-NULL old thread state" in r.failure.message


def test_detaching_a_detached_state_is_fatal(run_guest):
    def guest(rt):
        ts = rt.pystate.current()
        rt.pystate.detach(ts)
        rt.pystate.detach(ts)

    r = run_guest(guest)
    assert r.failure.reason == "crash"
    assert "detaching thread state 1" in r.failure.message
