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

from ..record.events import CEVAL_GIL_EVAL_BREAKER
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_RMW_NS
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
    # (SIGNALS_PENDING and CALLS_TO_DO: no signals or pending calls are modelled yet.)
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
    # (JIT_INVALIDATE_COLD and GIL_DROP_REQUEST: not modelled yet.)
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
