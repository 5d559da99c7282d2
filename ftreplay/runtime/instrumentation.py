"""Python/instrumentation.c and the RESUME check of Python/bytecodes.c: monitoring versions.

    interp->ceval.instrumentation_version   the source of truth, a multiple of
                                            MONITORING_VERSION_INCREMENT (1 << 8)
    tstate->eval_breaker & ~0xFF            each thread's copy, read by RESUME
    code->_co_instrumentation_version       the version the code was instrumented for

    set_global_version:  the world stopped, store the interpreter's version and copy it into
                         every thread's eval_breaker (new threads copy it in init_threadstate)
    RESUME:              periodic check, then (eval_breaker & ~0xFF) != code version ->
                         _Py_Instrument(code, interp) stamps the code with the interpreter's
                         version, and RESUME runs again
    interpreter_clear:   zeroes the interpreter's version -- and, since gh-115832, each
                         thread's eval_breaker too; the bug flag ``instrumentation_version_clear``
                         leaves the threads' copies, so a finalizer's RESUME re-instruments its
                         code forever (the run fails as a livelock)
"""

from __future__ import annotations

from typing import Any, Callable

from ..record.events import CEVAL_GIL_EVAL_BREAKER
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS
from ..sim.engine import GuestFailure
from . import ceval_gil

MONITORING_VERSION_INCREMENT = 1 << ceval_gil._PY_EVAL_EVENTS_BITS
BUG_VERSION_CLEAR = "instrumentation_version_clear"
# RESUME re-instrumenting the same code this many times in a row without running an
# instruction is the seed's infinite loop: report it as the livelock it is.
RESUME_LOOP_LIMIT = 1000


class CodeObject:
    """A guest function's code: ``rt.code(fn, name)``; ``rt.call(code, *args)`` runs it."""

    __slots__ = ("fn", "name", "_co_instrumentation_version")

    def __init__(self, fn: Callable, name: str) -> None:
        self.fn = fn
        self.name = name
        self._co_instrumentation_version = 0

    def __repr__(self) -> str:
        return f"<code {self.name}>"


def _store_version(rt, tstate, version: int) -> None:
    """Replace the version bits of a thread's eval_breaker, keeping its event bits."""
    rt.engine.point(ATOMIC_STORE_NS)
    old = tstate.eval_breaker
    new = (old & ceval_gil._PY_EVAL_EVENTS_MASK) | version
    if new != old:
        tstate.eval_breaker = new
        rt.emit(CEVAL_GIL_EVAL_BREAKER, tstate.id, 0, "version", old, new)


def set_global_version(rt, interp, version: int) -> None:
    """set_global_version under stop-the-world: the interpreter's version, then every
    thread's copy (sys.monitoring / settrace)."""
    ps = rt.pystate
    ps.stop_the_world(interp.stoptheworld)
    interp.instrumentation_version = version
    for t in interp.threads:
        _store_version(rt, t, version)
    ps.start_the_world(interp.stoptheworld)


def enable_monitoring(rt) -> int:
    """sys.monitoring.set_events(...): bump the interpreter's version."""
    interp = rt.engine.cur.tstate.interp
    v = interp.instrumentation_version + MONITORING_VERSION_INCREMENT
    set_global_version(rt, interp, v)
    return v


def instrument(rt, code: CodeObject, interp) -> None:
    """_Py_Instrument(code, interp): stamp the code with the interpreter's version."""
    rt.engine.point(ATOMIC_LOAD_NS)
    code._co_instrumentation_version = interp.instrumentation_version


def resume(rt, code: CodeObject) -> None:
    """RESUME: the periodic check, then _MAYBE_INSTRUMENT until the versions agree."""
    eng = rt.engine
    loops = 0
    while True:
        rt.check_eval_breaker()
        ts = eng.cur.tstate
        eng.point(ATOMIC_LOAD_NS)
        tv = ts.eval_breaker & ~ceval_gil._PY_EVAL_EVENTS_MASK
        if tv == code._co_instrumentation_version:
            return
        instrument(rt, code, ts.interp)
        loops += 1
        if loops >= RESUME_LOOP_LIMIT:
            bugs = sorted(rt.bugs)
            tail = f" [{', '.join(bugs)}]" if bugs else ""
            raise GuestFailure("livelock", (
                f"RESUME loop in {code.name}: T{eng.tid} eval_breaker version {tv} != interpreter version "
                f"{ts.interp.instrumentation_version}; re-instrumented {loops} times without running an "
                f"instruction{tail}"))


def call(rt, code: CodeObject, *args: Any) -> Any:
    """A Python-level call: RESUME, then the body."""
    resume(rt, code)
    return code.fn(*args)


def interpreter_clear(rt, interp) -> None:
    """The part of interpreter_clear this models: the version goes to 0 (and, fixed, every
    thread's copy too), then the interpreter's globals are released -- finalizers may run
    Python code."""
    rt.engine.point(ATOMIC_STORE_NS)
    interp.instrumentation_version = 0
    if not rt.bugs_on(BUG_VERSION_CLEAR):
        for t in interp.threads:
            _store_version(rt, t, 0)
    g = interp.globals
    while g:
        _, obj = g.popitem()
        obj.decref()
