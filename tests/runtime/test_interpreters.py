"""Subinterpreters (runtime/interpreters.py): own or shared GIL and obmalloc state, the
same-interpreter check of PyThreadState_Clear, __main__ runners, pending calls routed to an
interpreter or to the main thread, per-interpreter stop-the-world, cross-interpreter data."""

from __future__ import annotations

import pytest

from ftreplay.runtime.interpreters import InterpreterError, runtime_state


def _holders(events):
    """Max number of GILs held at once (by interpreter), from ceval_gil.take/drop."""
    interp_of, held, worst = {}, {}, 0
    for e in events:
        if e.kind == "pystate.new_thread":
            interp_of[e.thread] = e.interp
        elif e.kind == "ceval_gil.take":
            held[interp_of[e.thread]] = e.thread
            worst = max(worst, len(held))
        elif e.kind == "ceval_gil.drop":
            held.pop(interp_of[e.thread], None)
    return worst


def _busy_sub(rt, config):
    interp = rt.new_interpreter(config)
    started = rt.event("started")

    def in_sub():
        started.notify()
        for _ in range(30):
            rt.work(100_000)

    t = rt.start_thread(interp.exec, in_sub, name="sub-main")
    started.wait()
    for _ in range(30):
        rt.work(100_000)  # the main GIL is held here
    t.join()
    interp.close()
    return interp


def test_isolated_interpreter_has_its_own_gil(run_guest):
    r = run_guest(lambda rt: _busy_sub(rt, "isolated"), knobs={"build": "gil"}).ok()
    new = r.of("interpreters.new")
    assert [(e.interp, e.whence, e.own_gil, e.own_obmalloc) for e in new] == [(1, "stdlib", True, True)]
    assert _holders(r.events) == 2  # the main GIL and the subinterpreter's at the same time
    assert [e.interp for e in r.of("interpreters.delete")] == [1]


def test_legacy_interpreter_shares_the_main_gil_and_obmalloc(run_guest):
    seen = {}

    def guest(rt):
        interp = _busy_sub(rt, "legacy")
        seen["gil"] = interp.interp.gil is rt.pystate.main_interp.gil
        seen["obmalloc"] = interp.interp.obmalloc is rt.pystate.main_interp

    r = run_guest(guest, knobs={"build": "gil"}).ok()
    assert seen == {"gil": True, "obmalloc": True}
    assert [(e.own_gil, e.own_obmalloc) for e in r.of("interpreters.new")] == [(False, False)]
    assert _holders(r.events) == 1


@pytest.mark.parametrize("config, reason", [("isolated", "crash"), ("legacy", None)])
def test_a_block_is_freed_only_by_its_own_allocator_state(run_guest, config, reason):
    def guest(rt):
        interp = rt.new_interpreter(config)
        escaped = []
        interp.exec(lambda: escaped.append(rt.new_object("bytes", 64, name="escaped")))
        escaped[0].decref()  # the main interpreter drops an object of the subinterpreter

    r = run_guest(guest)
    if reason is None:
        r.ok()
    else:
        assert r.failure.reason == reason
        assert "of interpreter 1's allocator freed while interpreter 0 is current" in r.failure.message


def test_clear_from_another_interpreter_is_refused(run_guest):
    from ftreplay.runtime.interpreters import InterpreterConfig, new_bound_tstate, thread_state_clear

    def guest(rt):
        interp = rt.new_interpreter("isolated")
        ts = new_bound_tstate(rt, interp.interp)
        thread_state_clear(rt, ts)  # the main thread state is current

    r = run_guest(guest)
    assert r.failure.reason == "crash" and "PyThreadState_Clear" in r.failure.message
    assert InterpreterConfig.named("isolated").feature_flags() & (1 << 5) == 0


@pytest.mark.parametrize("bug, reason", [([], None), (["tstate_clear_wrong_interp"], "crash")])
def test_create_clears_the_initial_tstate_in_its_interpreter(run_guest, bug, reason):
    r = run_guest(lambda rt: rt.new_interpreter("isolated").close(), bugs=bug)
    if reason is None:
        r.ok()
        swaps = [(e.thread, e.interp) for e in r.of("interpreters.swap")]
        # swap(NULL), swap(Ts), [Clear], swap(main) ... then the FINI tstate for close
        assert swaps[:3] == [(0, -1), (2, 1), (1, 0)]
        dealloc = next(e for e in r.events if e.kind == "object.dealloc")
        assert dealloc.seq < r.of("interpreters.swap")[2].seq  # tstate->dict died under interpreter 1
    else:
        assert r.failure.reason == reason and "[tstate_clear_wrong_interp]" in r.failure.message


def test_one_thread_runs_main_at_a_time(run_guest):
    caught = []

    def guest(rt):
        interp = rt.new_interpreter()

        def nested():
            try:
                interp.exec(lambda: None)
            except InterpreterError as e:
                caught.append(str(e))

        interp.exec(nested)
        interp.close()

    r = run_guest(guest).ok()
    assert caught == ["interpreter already running"]
    runs = [(e.interp, e.thread, e.thread_old) for e in r.of("interpreters.running_main")]
    assert runs == [(1, 3, 0), (1, 0, 3)]


def test_pending_calls_run_in_their_interpreter_or_on_the_main_thread(run_guest):
    ran = []

    def guest(rt):
        interp = rt.new_interpreter()
        inside = rt.event("inside")
        done = rt.var("done", 0)

        def where(tag):
            ts = rt.engine.cur.tstate
            ran.append((tag, rt.tid, ts.interp.id, ts.id))

        def sub_loop():
            inside.notify()
            while not done.load():
                rt.work(1000)

        def helper():
            inside.wait()
            interp.call_soon(lambda: where("interp"))  # _Py_CallInInterpreter: any thread of it
            rt.add_pending_call(lambda: where("main_only"), main_only=True)  # the main thread only
            interp.call_soon(lambda: done.store(1))

        h = rt.start_thread(helper, name="helper")
        interp.exec(sub_loop)  # the main thread runs the subinterpreter's __main__
        for _ in range(3):
            rt.work(1000)  # back in the main interpreter: its eval-breaker checks
        h.join()
        interp.close()

    run_guest(guest).ok()
    assert ran[0] == ("interp", 1, 1, 4)  # on OS thread 1, in its exec thread state (T4) of interpreter 1
    assert ran[1] == ("main_only", 1, 0, 1)  # only once thread 1 was back in its main thread state


def test_a_subinterpreter_pause_stops_only_its_own_threads(run_guest):
    def guest(rt):
        interp = rt.new_interpreter()
        stop = rt.var("stop", 0)

        def worker():
            while not stop.load():
                rt.work(5000)

        w = rt.start_thread(worker, name="main-worker")

        def pause():
            with rt.stopped_world():
                rt.work(20_000)

        interp.exec(pause)
        stop.store(1)
        w.join()
        interp.close()

    r = run_guest(guest).ok()
    req = r.of("pystate.stw_request")
    assert [(e.scope, e.countdown) for e in req] == [("interp", 0)]  # no thread of interpreter 1 to stop
    stopped, started = r.of("pystate.stop_the_world")[0].seq, r.of("pystate.start_the_world")[0].seq
    assert not [e for e in r.events if stopped < e.seq < started and e.kind == "pystate.suspend"]
    worker = next(e.thread for e in r.of("pystate.new_thread", interp=0) if e.thread != 1)
    assert any(stopped < e.seq < started and e.tid == worker for e in r.events)  # the main worker ran on


def test_cross_interpreter_data_is_released_in_its_owner(run_guest):
    seen = {}

    def guest(rt):
        interp = rt.new_interpreter()
        box = []

        def sub():
            o = rt.new_object("bytes", 64, name="payload")
            try:
                interp.share(o)
            except InterpreterError as e:
                seen["unregistered"] = str(e)
            interp.register_class("bytes", lambda obj: obj.size)
            box.append(interp.share(o))
            o.decref()
            interp.release(box[0])  # the owner is current: released at once

        interp.exec(sub)
        seen["leaks"] = runtime_state(rt).interpreter_leaks
        interp.close()
        seen["leaks_after"] = runtime_state(rt).interpreter_leaks
        seen["value"] = box[0].value

    r = run_guest(guest).ok()
    assert seen == {"unregistered": "bytes does not support cross-interpreter data", "leaks": 0,
                    "leaks_after": 0, "value": 64}
    assert [e.obj for e in r.of("object.dealloc")]


def test_two_threads_initialising_interpreters_share_the_main_tstate_with_the_bug(run_guest):
    from ftreplay.scenarios.interpreters import twin_isolated_subinterp_init

    r = run_guest(lambda rt: twin_isolated_subinterp_init(rt, rounds=1), seed=1,
                  bugs=["subinterp_shared_sys_init"], knobs={"build": "gil"})
    assert r.failure.reason == "invariant"
    assert "bound to OS threads T2 and T3 simultaneously" in r.failure.message
    binds = r.of("interpreters.extensions", op="bind")
    unbinds = r.of("interpreters.extensions", op="unbind")
    assert binds and not [u for u in unbinds if u.seq > binds[-1].seq]  # still bound by the other thread
    fixed = run_guest(lambda rt: twin_isolated_subinterp_init(rt, rounds=1), seed=1, knobs={"build": "gil"}).ok()
    assert not fixed.of("interpreters.extensions", op="bind")
    assert len(fixed.of("interpreters.extensions", op="store")) == 4


def test_abandoned_segments_go_to_their_interpreters_pool(run_guest):
    seen = {}

    def guest(rt):
        interp = rt.new_interpreter()
        kept = []
        interp.exec(lambda: kept.append(rt.new_object("bytes", 64, name="kept")))  # its tstate is then cleared
        sub, main = interp.interp, rt.pystate.main_interp
        seen["sub_pool"] = [s.interp.id for s in sub.abandoned_pool]
        seen["main_pool"] = len(main.abandoned_pool)
        for _ in range(3):
            rt.new_object("bytes", 64).decref()  # main's allocations never reclaim interpreter 1's segments
        seen["after"] = [s.thread_id for s in sub.abandoned_pool]
        interp.exec(lambda: kept.pop().decref())  # released in its own interpreter

    r = run_guest(guest).ok()
    assert seen["sub_pool"] == [1] and seen["main_pool"] == 0 and seen["after"] == [0]
    reclaims = r.of("obmalloc.segment_reclaim")
    assert reclaims and all(e.thread != 1 for e in reclaims)  # only a thread state of interpreter 1 reclaimed it
