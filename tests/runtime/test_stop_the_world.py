"""Stop-the-world in Python/pystate.c and the eval breaker's PLEASE_STOP / async exception."""

from __future__ import annotations

from ftreplay.runtime.ceval_gil import _PY_EVAL_PLEASE_STOP_BIT, AsyncException
from ftreplay.runtime.pystate import ATTACHED, SUSPENDED


def _trail(r, tid):
    return [(e.kind, getattr(e, "old", None), getattr(e, "new", None)) for e in r.events
            if e.kind.startswith("pystate.") and getattr(e, "thread", None) == tid]


def test_a_detached_thread_is_flipped_by_the_requester_and_waits_for_the_restart(run_guest):
    box = {}

    def guest(rt):
        go = rt.event("go")

        def sleeper():
            go.wait()  # parked, detached
            box["attached_at"] = rt.now

        t = rt.start_thread(sleeper, name="sleeper")
        rt.work(50_000)
        with rt.stopped_world():
            box["state_in_pause"] = t.tstate.state
            go.notify()  # it wakes, but cannot attach while the world is stopped
            rt.work(100_000)
            box["still"] = t.tstate.state
            box["restart_at"] = rt.now
        t.join()

    r = run_guest(guest).ok()
    assert box["state_in_pause"] == SUSPENDED and box["still"] == SUSPENDED
    assert box["attached_at"] >= box["restart_at"]
    trail = _trail(r, 2)
    i = trail.index(("pystate.suspend", "detached", "suspended"))
    assert trail[i + 1] == ("pystate.detach", "suspended", "detached")
    [suspend] = [e for e in r.of("pystate.suspend") if e.thread == 2]
    assert suspend.tid == 1  # flipped by the requester


def test_an_attached_thread_gets_please_stop_and_suspends_itself(run_guest):
    box = {}

    def guest(rt):
        stop = rt.var("stop", 0)

        def busy():
            while not stop.load():
                rt.work(1_000)  # eval-breaker checks

        t = rt.start_thread(busy, name="busy")
        rt.work(5_000)
        with rt.stopped_world():
            box["state"] = t.tstate.state
            stop.store(1)
        t.join()

    r = run_guest(guest).ok()
    assert box["state"] == SUSPENDED
    [bit] = [e for e in r.of("ceval_gil.eval_breaker", thread=2) if e.op == "set"][:1]
    assert bit.eval_bit == _PY_EVAL_PLEASE_STOP_BIT and bit.tid == 1
    [sus] = [e for e in r.of("pystate.suspend") if e.thread == 2]
    assert sus.tid == 2 and (sus.old, sus.new) == ("attached", "suspended")
    counts = [e.countdown for e in r.of("pystate.stw_countdown")]
    assert counts[-1] == 0
    [stopped] = r.of("pystate.stop_the_world")
    assert stopped.seq > sus.seq


def test_the_requester_stays_attached_and_a_new_thread_starts_suspended(run_guest):
    box = {}

    def guest(rt):
        def child():
            box["child_ran_at"] = rt.now

        with rt.stopped_world():
            t = rt.start_thread(child, name="child")
            box["child_state"] = t.tstate.state
            box["me"] = rt.engine.cur.tstate.state
            rt.work(10_000)
            box["end_at"] = rt.now
        t.join()

    r = run_guest(guest).ok()
    assert box["child_state"] == SUSPENDED and box["me"] == ATTACHED
    assert box["child_ran_at"] >= box["end_at"]
    [stop] = r.of("pystate.stop_the_world")
    [start] = r.of("pystate.start_the_world")
    assert not [e for e in r.of("pystate.detach", thread=1) if stop.seq < e.seq < start.seq]


def test_no_other_thread_is_attached_inside_a_pause(run_guest, test_seed):
    for seed in range(test_seed, test_seed + 6):
        for strategy in ("random", "pct"):
            def guest(rt):
                lock = rt.mutex("m")

                def worker():
                    for _ in range(4):
                        with lock:
                            rt.work(300)
                        rt.work(300)

                ts = [rt.start_thread(worker, name=f"w{i}") for i in range(3)]
                for _ in range(3):
                    rt.work(700)
                    with rt.stopped_world():
                        me = rt.engine.cur.tstate
                        bad = [t.id for t in rt.pystate.main_interp.threads if t is not me and t.state == ATTACHED]
                        assert not bad, f"attached during the pause: {bad}"
                for t in ts:
                    t.join()

            r = run_guest(guest, seed=seed, strategy=strategy)
            assert r.failure is None, f"seed {seed} {strategy}: {r.failure.message}"


def test_an_async_exception_stops_only_its_target(run_guest):
    box = {"caught": []}

    def guest(rt):
        def loop(name):
            try:
                for _ in range(50):
                    rt.work(1_000)
            except AsyncException as e:
                box["caught"].append((name, e.name))

        a = rt.start_thread(loop, "a", name="a")
        b = rt.start_thread(loop, "b", name="b")
        rt.work(3_000)
        rt.set_async_exc(a, "KeyboardInterrupt")
        a.join()
        b.join()

    r = run_guest(guest).ok()
    assert box["caught"] == [("a", "KeyboardInterrupt")]
    assert [e.thread for e in r.of("ceval_gil.eval_breaker") if e.eval_bit == 8] == [2, 2]  # set, then cleared


def test_pending_calls_run_at_a_check_and_main_only_ones_on_the_main_thread(run_guest):
    box = {"ran": []}

    def guest(rt):
        go = rt.var("go", 0)

        def busy():
            while not go.load():
                rt.work(1_000)

        t = rt.start_thread(busy, name="busy")
        rt.add_pending_call(lambda: box["ran"].append(("any", rt.tid)))
        rt.add_pending_call(lambda: box["ran"].append(("main", rt.tid)), main_only=True)
        rt.work(5_000)
        go.store(1)
        t.join()
        rt.raise_signal(lambda: box["ran"].append(("signal", rt.tid)))
        rt.work(0)

    r = run_guest(guest).ok()
    assert sorted(box["ran"], key=str)[0][0] == "any"
    assert ("main", 1) in box["ran"] and ("signal", 1) in box["ran"] and len(box["ran"]) == 3
    sets = [e for e in r.of("ceval_gil.eval_breaker") if e.eval_bit == 0x04 and e.op == "set"]
    assert {e.thread for e in sets} >= {1, 2}  # every thread is signalled for an any-thread call
