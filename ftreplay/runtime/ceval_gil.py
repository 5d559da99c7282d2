"""Python/ceval_gil.c, Include/internal/pycore_ceval.h: the eval breaker (modelled so far:
stop-the-world's please-stop, BRC's explicit-merge request, QSBR's delayed-free processing
and asynchronous exceptions).

    tstate->eval_breaker (uintptr):  bits 0-7 event bits, above them the monitoring version
        0x01 GIL_DROP_REQUEST  0x02 SIGNALS_PENDING  0x04 CALLS_TO_DO  0x08 ASYNC_EXCEPTION
        0x10 GC_SCHEDULED      0x20 PLEASE_STOP      0x40 EXPLICIT_MERGE  0x80 JIT_INVALIDATE_COLD
    set / unset: atomic OR / AND-NOT by any thread (one scheduling point each).

The interpreter tests ``eval_breaker & _PY_EVAL_EVENTS_MASK`` at RESUME, JUMP_BACKWARD and
call returns and then calls ``_Py_HandlePending``; in the model, guest operations that
stand for bytecodes call ``Runtime.check_eval_breaker`` (the load is part of the
operation's own step).  ``handle_pending`` keeps CPython's order and so far acts on
EXPLICIT_MERGE (BRC merges), then on QSBR's ``should_process`` (_PyMem_ProcessDelayed; a
delayed free that advances the write sequence sets EXPLICIT_MERGE so the thread gets
here); the GIL itself (take_gil/drop_gil) is not modelled yet.
"""

from __future__ import annotations

from enum import IntFlag

from ..record.events import CEVAL_GIL_DROP, CEVAL_GIL_DROP_REQUEST, CEVAL_GIL_EVAL_BREAKER, CEVAL_GIL_TAKE
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_RMW_NS, ATOMIC_STORE_NS
from . import brc


class EvalBreakerBit(IntFlag):
    _PY_GIL_DROP_REQUEST_BIT = 1 << 0
    _PY_SIGNALS_PENDING_BIT = 1 << 1
    _PY_CALLS_TO_DO_BIT = 1 << 2
    _PY_ASYNC_EXCEPTION_BIT = 1 << 3
    _PY_GC_SCHEDULED_BIT = 1 << 4
    _PY_EVAL_PLEASE_STOP_BIT = 1 << 5
    _PY_EVAL_EXPLICIT_MERGE_BIT = 1 << 6
    _PY_EVAL_JIT_INVALIDATE_COLD_BIT = 1 << 7


_PY_EVAL_EVENTS_BITS = 8
_PY_EVAL_EVENTS_MASK = (1 << _PY_EVAL_EVENTS_BITS) - 1
_PY_EVAL_EXPLICIT_MERGE_BIT = int(EvalBreakerBit._PY_EVAL_EXPLICIT_MERGE_BIT)
_PY_EVAL_PLEASE_STOP_BIT = int(EvalBreakerBit._PY_EVAL_PLEASE_STOP_BIT)
_PY_ASYNC_EXCEPTION_BIT = int(EvalBreakerBit._PY_ASYNC_EXCEPTION_BIT)
_PY_GC_SCHEDULED_BIT = int(EvalBreakerBit._PY_GC_SCHEDULED_BIT)
_PY_GIL_DROP_REQUEST_BIT = int(EvalBreakerBit._PY_GIL_DROP_REQUEST_BIT)
_PY_SIGNALS_PENDING_BIT = int(EvalBreakerBit._PY_SIGNALS_PENDING_BIT)
_PY_CALLS_TO_DO_BIT = int(EvalBreakerBit._PY_CALLS_TO_DO_BIT)
MAXPENDINGCALLS_PER_LOOP = 32  # make_pending_calls re-signals after this many (maxloop)
_TIMEOUT = -2  # parking_lot.ParkResult.TIMEOUT
DEFAULT_INTERVAL_NS = 5_000_000  # DEFAULT_INTERVAL = 5000 us (sys.setswitchinterval)
GIL_ENABLED_PERMANENTLY = 2**31 - 1  # INT_MAX


def set_eval_breaker_bit(rt, tstate, bit: int) -> None:
    """_Py_set_eval_breaker_bit: atomic OR into the thread's eval_breaker."""
    rt.engine.point(ATOMIC_RMW_NS)
    old = tstate.eval_breaker
    new = old | bit
    tstate.eval_breaker = new
    rt.emit(CEVAL_GIL_EVAL_BREAKER, tstate.id, int(bit), "set", old, new)


def unset_eval_breaker_bit(rt, tstate, bit: int) -> None:
    """_Py_unset_eval_breaker_bit: atomic AND-NOT."""
    rt.engine.point(ATOMIC_RMW_NS)
    old = tstate.eval_breaker
    new = old & ~bit
    tstate.eval_breaker = new
    rt.emit(CEVAL_GIL_EVAL_BREAKER, tstate.id, int(bit), "unset", old, new)


def handle_pending(rt, tstate) -> int:
    """_Py_HandlePending: act on the pending event bits of the current thread."""
    rt.engine.point(ATOMIC_LOAD_NS)
    breaker = tstate.eval_breaker
    if breaker & _PY_EVAL_PLEASE_STOP_BIT:
        # Stop-the-world: suspend (releasing critical sections, QSBR offline), then attach,
        # which waits until the world restarts.
        unset_eval_breaker_bit(rt, tstate, _PY_EVAL_PLEASE_STOP_BIT)
        ps = rt.pystate
        ps.suspend(tstate)
        ps.attach(tstate)
    if breaker & _PY_SIGNALS_PENDING_BIT:
        handle_signals(rt, tstate)
    if breaker & _PY_CALLS_TO_DO_BIT:
        make_pending_calls(rt, tstate)
    if breaker & _PY_EVAL_EXPLICIT_MERGE_BIT:
        unset_eval_breaker_bit(rt, tstate, _PY_EVAL_EXPLICIT_MERGE_BIT)
        brc.merge_refcounts(rt, tstate)
    q = tstate.qsbr
    if q is not None and q.should_process:  # _Py_qsbr_should_process
        rt.obmalloc.process_delayed(tstate)
    if breaker & _PY_GC_SCHEDULED_BIT:
        unset_eval_breaker_bit(rt, tstate, _PY_GC_SCHEDULED_BIT)
        from .gc_free_threading import run_gc  # (gc -> object -> brc -> ceval_gil)

        run_gc(rt, tstate)
    # (JIT_INVALIDATE_COLD: no JIT is modelled.)
    if breaker & _PY_GIL_DROP_REQUEST_BIT:
        # Give another thread a turn: detach (drop_gil), then attach (take_gil).
        ps = rt.pystate
        ps.detach(tstate)
        ps.attach(tstate)
    if breaker & _PY_ASYNC_EXCEPTION_BIT:
        unset_eval_breaker_bit(rt, tstate, _PY_ASYNC_EXCEPTION_BIT)
        exc = tstate.async_exc
        tstate.async_exc = None  # _Py_atomic_exchange_ptr(&tstate->async_exc, NULL)
        if exc is not None:
            raise AsyncException(exc)
    return 0


class AsyncException(Exception):
    """The exception PyThreadState_SetAsyncExc asked a thread to raise: the guest sees it at
    its next eval-breaker check (``except AsyncException``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def set_async_exc(rt, tstate, name: str) -> None:
    """PyThreadState_SetAsyncExc: under HEAD_LOCK, store the exception and set the bit."""
    ps = rt.pystate
    ps.head_lock()
    tstate.async_exc = name
    set_eval_breaker_bit(rt, tstate, _PY_ASYNC_EXCEPTION_BIT)
    ps.head_unlock()



# -- the GIL ---------------------------------------------------------------------------------------
class Gil:
    """struct _gil_runtime_state: ``locked``, ``last_holder``, ``switch_number``; ``mutex``
    and ``cond`` are waits on the GIL's address, ``switch_cond`` on ``addr + 8``.
    ``enabled``: 0 (free-threaded, PYTHON_GIL unset or 0) or INT_MAX (the GIL build, or
    PYTHON_GIL=1)."""

    def __init__(self, rt, enabled: int) -> None:
        self.addr = rt.alloc(16, "gil")
        self.enabled = enabled
        self.locked = 0
        self.last_holder = None
        self.switch_number = 0
        self.interval = DEFAULT_INTERVAL_NS


def take_gil(rt, tstate) -> None:
    """take_gil: wait for the GIL, asking the holder to drop it after each interval."""
    gil = tstate.interp.gil
    if tstate.state == 3:  # _PyThreadState_MustExit (SHUTTING_DOWN)
        from .pylifecycle import hang_thread

        hang_thread(rt, tstate)
    if not gil.enabled:
        return
    eng = rt.engine
    while True:
        # Under gil->mutex: the test of ``locked`` and the store that takes it are one step.
        eng.point(ATOMIC_RMW_NS)
        if not gil.locked:
            break
        saved = gil.switch_number
        # COND_TIMED_WAIT(gil->cond, gil->mutex, interval)
        res = rt.parking_lot.park(gil.addr, lambda: gil.locked, 1, gil.interval, detach=False,
                                  what="the GIL", holder=lambda: gil.last_holder.id if gil.last_holder else None)
        eng.point(ATOMIC_LOAD_NS)
        if res == _TIMEOUT and gil.locked and gil.switch_number == saved:
            if tstate.state == 3:  # must exit: hang without asking the holder to drop it
                from .pylifecycle import hang_thread

                hang_thread(rt, tstate)
            holder = gil.last_holder
            if holder is not None:
                rt.emit(CEVAL_GIL_DROP_REQUEST, holder.id, gil.switch_number)
                set_eval_breaker_bit(rt, holder, _PY_GIL_DROP_REQUEST_BIT)
    gil.locked = 1
    switched = gil.last_holder is not tstate
    if switched:
        gil.last_holder = tstate
        gil.switch_number += 1
    tstate.holds_gil = 1
    rt.emit(CEVAL_GIL_TAKE, tstate.id, switched, gil.switch_number)
    if switched:
        rt.parking_lot.unpark_all(gil.addr + 8)  # COND_SIGNAL(gil->switch_cond)
    if tstate.eval_breaker & _PY_GIL_DROP_REQUEST_BIT:
        unset_eval_breaker_bit(rt, tstate, _PY_GIL_DROP_REQUEST_BIT)


def drop_gil(rt, tstate, final_release: bool = False) -> None:
    """drop_gil: release; with a pending drop request, wait until another thread has taken
    it (FORCE_SWITCHING) -- never on a final release (gh-104341)."""
    gil = tstate.interp.gil
    if not gil.enabled or not tstate.holds_gil:
        return
    eng = rt.engine
    if not final_release:
        gil.last_holder = tstate
    eng.point(ATOMIC_STORE_NS)
    gil.locked = 0
    tstate.holds_gil = 0
    rt.emit(CEVAL_GIL_DROP, tstate.id, final_release)
    rt.parking_lot.unpark(gil.addr, lambda arg, has_more: None)  # COND_SIGNAL(gil->cond)
    if not final_release and rt.bugs_on("drop_gil_finalizing_switch"):
        # <= 3.12 read the interpreter's drop request after releasing the mutex (gh-104341).
        eng.point(ATOMIC_LOAD_NS)
        interp = tstate.interp
        if interp.freed_seq is not None:
            from ..sim.engine import GuestFailure

            raise GuestFailure(
                "use_after_free",
                f"thread T{tstate.id} in drop_gil FORCE_SWITCHING read interp {interp.id}'s eval breaker "
                f"(freed by PyInterpreterState_Delete at seq {interp.freed_seq}) [drop_gil_finalizing_switch]",
            )
    if not final_release and tstate.eval_breaker & _PY_GIL_DROP_REQUEST_BIT:
        eng.point(ATOMIC_LOAD_NS)
        if gil.last_holder is tstate:
            unset_eval_breaker_bit(rt, tstate, _PY_GIL_DROP_REQUEST_BIT)
            while gil.last_holder is tstate:  # COND_WAIT(gil->switch_cond)
                rt.parking_lot.park(gil.addr + 8, lambda: 1 if gil.last_holder is tstate else 0, 1, None,
                                    detach=False, what="another thread to take the GIL")



# -- pending calls and signals -----------------------------------------------------------------------
class PendingCalls:
    """struct _pending_calls: a queue under its own mutex, and the one thread handling it."""

    def __init__(self, rt, name: str) -> None:
        from .lock import PyMutex

        self.mutex = PyMutex(rt, rt.alloc(8, f"{name}.pending.mutex"), f"{name}.pending.mutex")
        self.calls: list = []
        self.handling_thread = None


def _main_tstate(rt):
    """_PyRuntime.main_tstate: the thread running __main__ (thread 1 while it lives)."""
    for t in rt.pystate.main_interp.threads:
        if t.id == 1:
            return t
    return None


def add_pending_call(rt, interp, fn, main_only: bool) -> None:
    """_PyEval_AddPendingCall: queue ``fn``; in the free-threaded build every thread of the
    interpreter is signalled (only the main thread for a main-only call)."""
    pending = rt.pystate.main_pending if main_only else interp.pending
    pending.mutex.lock()
    pending.calls.append(fn)
    pending.mutex.unlock()
    if main_only:
        t = _main_tstate(rt)
        targets = [t] if t is not None else []
    else:
        targets = list(interp.threads)
    for t in targets:
        set_eval_breaker_bit(rt, t, _PY_CALLS_TO_DO_BIT)


def _run_pending(rt, tstate, pending) -> None:
    """_make_pending_calls: one handling thread at a time; a later caller hands the bit to
    the handler and returns."""
    pending.mutex.lock()
    if pending.handling_thread is not None and pending.handling_thread is not tstate:
        handler = pending.handling_thread
        pending.mutex.unlock()
        set_eval_breaker_bit(rt, handler, _PY_CALLS_TO_DO_BIT)
        return
    pending.handling_thread = tstate
    pending.mutex.unlock()
    for _ in range(MAXPENDINGCALLS_PER_LOOP):
        pending.mutex.lock()
        fn = pending.calls.pop(0) if pending.calls else None
        pending.mutex.unlock()
        if fn is None:
            break
        fn()
    else:
        set_eval_breaker_bit(rt, tstate, _PY_CALLS_TO_DO_BIT)  # more than maxloop: come back
    pending.mutex.lock()
    pending.handling_thread = None
    pending.mutex.unlock()


def make_pending_calls(rt, tstate) -> None:
    """make_pending_calls: clear the bit first, then the main-only queue (main thread), then
    the interpreter's."""
    unset_eval_breaker_bit(rt, tstate, _PY_CALLS_TO_DO_BIT)
    if tstate is _main_tstate(rt):
        _run_pending(rt, tstate, rt.pystate.main_pending)
    _run_pending(rt, tstate, tstate.interp.pending)


def signal_received(rt, handler) -> None:
    """_PyEval_SignalReceived (from the C signal handler): remember the Python handler and
    set SIGNALS_PENDING on the main thread."""
    rt.pystate.signals.append(handler)
    t = _main_tstate(rt)
    if t is not None:
        set_eval_breaker_bit(rt, t, _PY_SIGNALS_PENDING_BIT)


def handle_signals(rt, tstate) -> None:
    """handle_signals: only the main thread of the main interpreter runs signal handlers."""
    if tstate is not _main_tstate(rt):
        return
    unset_eval_breaker_bit(rt, tstate, _PY_SIGNALS_PENDING_BIT)
    handlers = rt.pystate.signals
    while handlers:
        handlers.pop(0)()
