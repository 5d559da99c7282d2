"""Monitoring versions: the interpreter's and each thread's eval_breaker copy, RESUME, and
interpreter_clear (gh-115832 behind --bug instrumentation_version_clear)."""

from __future__ import annotations

from ftreplay.runtime.instrumentation import MONITORING_VERSION_INCREMENT


def test_enabling_monitoring_copies_the_version_into_every_thread_under_a_pause(run_guest):
    box = {}

    def guest(rt):
        go = rt.event("go")
        t = rt.start_thread(go.wait, name="waiter")
        rt.work(10_000)
        box["v"] = rt.enable_monitoring()
        box["copies"] = [ts.eval_breaker & ~0xFF for ts in rt.pystate.main_interp.threads]
        late = rt.start_thread(lambda: None, name="late")
        box["late"] = late.tstate.eval_breaker & ~0xFF
        go.notify()
        t.join()
        late.join()

    r = run_guest(guest).ok()
    assert box["v"] == MONITORING_VERSION_INCREMENT
    assert box["copies"] == [box["v"]] * len(box["copies"]) and box["late"] == box["v"]
    versions = [e for e in r.of("ceval_gil.eval_breaker") if e.op == "version"]
    [stop] = r.of("pystate.stop_the_world")
    [start] = r.of("pystate.start_the_world")
    assert all(stop.seq < e.seq < start.seq for e in versions[:2])


def test_resume_instruments_code_once(run_guest):
    box = {}

    def guest(rt):
        code = rt.code(lambda: None, "f")
        rt.enable_monitoring()
        rt.call(code)
        rt.call(code)
        box["version"] = code._co_instrumentation_version

    run_guest(guest).ok()
    assert box["version"] == MONITORING_VERSION_INCREMENT


def _clear_guest(box):
    def guest(rt):
        ran = []
        code = rt.code(lambda op: ran.append(op.obj), "C.__del__")
        rt.enable_monitoring()
        obj = rt.new_object("C", dealloc=lambda op: rt.call(code, op))
        rt.set_global("c", obj)
        obj.decref()
        rt.interpreter_clear()
        box["ran"] = ran
        box["tstate_version"] = rt.engine.cur.tstate.eval_breaker & ~0xFF

    return guest


def test_interpreter_clear_zeroes_the_thread_copies_and_the_finalizer_runs(run_guest):
    box = {}
    run_guest(_clear_guest(box)).ok()
    assert box["ran"] == [1] and box["tstate_version"] == 0


def test_the_bug_flag_leaves_the_thread_copy_and_resume_loops(run_guest):
    box = {}
    r = run_guest(_clear_guest(box), bugs=["instrumentation_version_clear"])
    assert r.failure is not None and r.failure.reason == "livelock"
    assert "RESUME loop in C.__del__" in r.failure.message and "[instrumentation_version_clear]" in r.failure.message
