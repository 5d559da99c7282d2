"""Python/qsbr.c model: write/read sequences, online/offline slots, goals."""

from __future__ import annotations

from ftreplay.runtime import qsbr


def test_sequences_start_at_one_and_advance_by_two(run_guest):
    box = {}

    def guest(rt):
        shared = rt.pystate.main_interp.qsbr
        box["start"] = (shared.wr_seq, shared.rd_seq)
        box["goals"] = [qsbr.advance(rt, shared, "free") for _ in range(3)]

    r = run_guest(guest).ok()
    assert box["start"] == (qsbr.QSBR_INITIAL, qsbr.QSBR_INITIAL)
    assert box["goals"] == [3, 5, 7]
    assert [(e.wr_seq_old, e.wr_seq) for e in r.of("qsbr.advance")] == [(1, 3), (3, 5), (5, 7)]


def test_an_online_thread_holds_a_goal_until_its_quiescent_state(run_guest):
    box = {}

    def guest(rt):
        shared = rt.pystate.main_interp.qsbr
        started, advanced, passed = rt.event("started"), rt.event("advanced"), rt.event("passed")

        def other():
            started.notify()
            while not advanced.is_set():  # spin attached: no quiescent state
                pass
            box["other_seq"] = rt.engine.cur.tstate.qsbr.seq
            rt.work(0)  # a periodic check: quiescent state
            passed.notify()

        t = rt.start_thread(other, name="other")
        started.wait()
        me = rt.engine.cur.tstate.qsbr
        goal = qsbr.advance(rt, shared, "free")
        rt.work(0)  # our own quiescent state
        box["before"] = qsbr.poll(rt, me, shared, goal)
        advanced.notify()
        passed.wait()
        box["after"] = qsbr.poll(rt, me, shared, goal)
        t.join()
        box["goal"] = goal

    r = run_guest(guest).ok()
    assert box["before"] is False and box["after"] is True
    assert box["other_seq"] < box["goal"]
    polls = r.of("qsbr.poll")
    assert [p.ok for p in polls][-2:] == [False, True]
    assert all(p.rd_seq >= p.rd_seq_old for p in polls)


def test_detached_threads_are_offline_and_do_not_hold_goals(run_guest):
    box = {}

    def guest(rt):
        shared = rt.pystate.main_interp.qsbr
        parked = rt.event("go")

        def sleeper():
            parked.wait()  # parks detached: QSBR offline

        t = rt.start_thread(sleeper, name="sleeper")
        rt.work(50_000)  # the sleeper has parked
        box["sleeper_seq"] = t.tstate.qsbr.seq
        goal = qsbr.advance(rt, shared, "free")
        rt.work(0)
        box["ok"] = qsbr.poll(rt, rt.engine.cur.tstate.qsbr, shared, goal)
        parked.notify()
        t.join()

    r = run_guest(guest).ok()
    assert box["sleeper_seq"] == qsbr.QSBR_OFFLINE
    assert box["ok"] is True
    kinds = [e.kind for e in r.events if e.kind in ("qsbr.attach", "qsbr.detach") and e.thread == 2]
    assert kinds[:2] == ["qsbr.attach", "qsbr.detach"]


def test_every_thread_registers_and_unregisters_a_slot(run_guest):
    def guest(rt):
        ts = [rt.start_thread(lambda: rt.work(100), name=f"t{i}") for i in range(3)]
        for t in ts:
            t.join()

    r = run_guest(guest).ok()
    regs = {e.thread: e.slot for e in r.of("qsbr.register")}
    unregs = {e.thread: e.slot for e in r.of("qsbr.unregister")}
    assert set(regs) == {1, 2, 3, 4}
    assert {t: regs[t] for t in unregs} == unregs and set(unregs) == {2, 3, 4}
    assert len(set(regs.values())) >= 2
