"""Python/qsbr.c, Include/internal/pycore_qsbr.h: quiescent-state-based reclamation, a
derivative of FreeBSD's "Global Unbounded Sequences".

    interp->qsbr (_qsbr_shared):  wr_seq  the write sequence, odd, += QSBR_INCR per advance
                                  rd_seq  cached minimum of the online threads' seq
                                  array of thread slots, mutex, freelist
    tstate->qsbr (_qsbr_thread_state): seq  the wr_seq seen at its last quiescent state;
                                            QSBR_OFFLINE (0) while detached

    advance:    wr_seq += 2; the new value is a goal: memory retired now is safe to reuse once
                every thread has seen it
    quiescent:  at each periodic check (RESUME, back edges) seq = wr_seq (a release store)
    poll(goal): goal <= rd_seq -> true; else rd_seq = min(wr_seq, seq of every online slot)
                and test again
    attach:     seq = wr_seq (online);  detach: seq = 0 (offline, never holds up a goal)

The memory that waits for goals is in obmalloc.py (delayed frees and empty object pages);
obmalloc.py also holds the newest size-aware advance policy (should_advance_qsbr_for_free /
_for_page).  Quiescent-state stores that leave ``seq`` unchanged are neither scheduling
points nor events (no other thread can tell them apart).  Deviation: growing the slot array
past MIN_ARRAY_SIZE stops the world in CPython; stop-the-world is not modelled yet, so the
model grows it under the mutex alone.
"""

from __future__ import annotations

from ..record.events import (
    QSBR_ADVANCE,
    QSBR_ATTACH,
    QSBR_DETACH,
    QSBR_POLL,
    QSBR_QUIESCENT,
    QSBR_REGISTER,
    QSBR_UNREGISTER,
)
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_RMW_NS, ATOMIC_STORE_NS
from ..sim.engine import FatalError
from .lock import PyMutex

QSBR_OFFLINE = 0
QSBR_INITIAL = 1
QSBR_INCR = 2
MIN_ARRAY_SIZE = 8
QSBR_DEFERRED_LIMIT = 10  # qsbr.c of 3.13 (the newest policy is size-aware: obmalloc.py)


def QSBR_LT(a: int, b: int) -> bool:
    return a - b < 0


def QSBR_LEQ(a: int, b: int) -> bool:
    return a - b <= 0


class QsbrThreadState:
    """struct _qsbr_thread_state (one slot of the shared array)."""

    __slots__ = ("index", "seq", "tstate", "allocated", "deferred_count", "deferred_memory",
                 "deferred_page_memory", "should_process")

    def __init__(self, index: int) -> None:
        self.index = index
        self.seq = QSBR_OFFLINE
        self.tstate = None
        self.allocated = False
        # The newest obmalloc.c policy's counters (see obmalloc.should_advance_qsbr_for_free).
        self.deferred_count = 0
        self.deferred_memory = 0
        self.deferred_page_memory = 0
        self.should_process = False


class QsbrShared:
    """struct _qsbr_shared (interp->qsbr)."""

    def __init__(self, rt, name: str) -> None:
        self.rt = rt
        self.wr_seq = QSBR_INITIAL
        self.rd_seq = QSBR_INITIAL
        self.array: list[QsbrThreadState] = []
        self.freelist: list[int] = []
        self.mutex = PyMutex(rt, rt.alloc(8, f"{name}.qsbr.mutex"), f"{name}.qsbr.mutex")

    def _grow(self) -> None:
        """grow_thread_array: double the array (at least MIN_ARRAY_SIZE), new slots free."""
        old = len(self.array)
        new = max(MIN_ARRAY_SIZE, old * 2)
        self.array.extend(QsbrThreadState(i) for i in range(old, new))
        # The freelist is rebuilt so that the lowest free index is handed out first.
        self.freelist = [i for i in range(new - 1, -1, -1) if not self.array[i].allocated]


def advance(rt, shared: QsbrShared, path: str) -> int:
    """_Py_qsbr_advance: fetch_add(wr_seq, 2) + 2 (the new value is the goal)."""
    rt.engine.point(ATOMIC_RMW_NS)
    old = shared.wr_seq
    new = old + QSBR_INCR
    shared.wr_seq = new
    rt.emit(QSBR_ADVANCE, new, old, path)
    return new


def shared_next(rt, shared: QsbrShared) -> int:
    """_Py_qsbr_shared_next: the goal of the next advance, without advancing."""
    rt.engine.point(ATOMIC_LOAD_NS)
    return shared.wr_seq + QSBR_INCR


def goal_reached(qsbr: QsbrThreadState, shared: QsbrShared, goal: int) -> bool:
    """_Py_qbsr_goal_reached (sic): goal <= rd_seq (a relaxed load, part of the caller's step)."""
    return QSBR_LEQ(goal, shared.rd_seq)


def _compute_rd_seq(shared: QsbrShared) -> int:
    """qsbr_poll_scan: the minimum seq over online slots, wr_seq if none."""
    min_seq = shared.wr_seq
    for slot in shared.array:
        s = slot.seq
        if s != QSBR_OFFLINE and QSBR_LT(s, min_seq):
            min_seq = s
    return min_seq


def poll(rt, qsbr: QsbrThreadState, shared: QsbrShared, goal: int) -> bool:
    """_Py_qsbr_poll: has every thread that was online passed a quiescent state since
    ``goal`` was handed out?  (The caller is attached.)"""
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    if QSBR_LEQ(goal, shared.rd_seq):
        return True
    # seq_cst fence, then the scan of every slot and the CAS of rd_seq: one step.
    eng.point(ATOMIC_RMW_NS)
    old = shared.rd_seq
    min_seq = _compute_rd_seq(shared)
    if QSBR_LT(old, min_seq):
        shared.rd_seq = min_seq  # a lost CAS race would only mean someone raised it further
    ok = QSBR_LEQ(goal, shared.rd_seq)
    rt.emit(QSBR_POLL, goal, shared.rd_seq, old, ok, min_seq)
    return ok


def quiescent_state(rt, qsbr: QsbrThreadState, shared: QsbrShared, tid: int) -> None:
    """_Py_qsbr_quiescent_state: release-store seq = wr_seq."""
    wr = shared.wr_seq
    if qsbr.seq != wr:
        rt.engine.point(ATOMIC_STORE_NS)
        old = qsbr.seq
        wr = shared.wr_seq
        qsbr.seq = wr
        rt.emit(QSBR_QUIESCENT, tid, wr, old)


def attach(rt, qsbr: QsbrThreadState, shared: QsbrShared, tid: int) -> None:
    """_Py_qsbr_attach: seq_cst store seq = wr_seq (the thread comes online)."""
    if qsbr.seq != QSBR_OFFLINE:
        raise FatalError(f"_Py_qsbr_attach: thread {tid} is already online (seq {qsbr.seq})")
    rt.engine.point(ATOMIC_RMW_NS)
    wr = shared.wr_seq
    qsbr.seq = wr
    rt.emit(QSBR_ATTACH, tid, wr, QSBR_OFFLINE)


def detach(rt, qsbr: QsbrThreadState, tid: int) -> None:
    """_Py_qsbr_detach: release-store seq = QSBR_OFFLINE."""
    rt.engine.point(ATOMIC_STORE_NS)
    old = qsbr.seq
    qsbr.seq = QSBR_OFFLINE
    rt.emit(QSBR_DETACH, tid, QSBR_OFFLINE, old)


def reserve(rt, shared: QsbrShared) -> QsbrThreadState:
    """_Py_qsbr_reserve: pop a free slot under the mutex, growing the array if none is free."""
    shared.mutex.lock()
    if not shared.freelist:
        shared._grow()
    slot = shared.array[shared.freelist.pop()]
    slot.allocated = True
    shared.mutex.unlock()
    return slot


def register(rt, shared: QsbrShared, tstate, slot: QsbrThreadState) -> None:
    """_Py_qsbr_register: bind the reserved slot to the thread state (offline)."""
    shared.mutex.lock()
    slot.tstate = tstate
    slot.seq = QSBR_OFFLINE
    tstate.qsbr = slot
    rt.emit(QSBR_REGISTER, tstate.id, slot.index)
    shared.mutex.unlock()


def unregister(rt, shared: QsbrShared, tstate) -> None:
    """_Py_qsbr_unregister: the slot goes back to the freelist (the thread is offline)."""
    slot = tstate.qsbr
    if slot is None:
        return
    if slot.seq != QSBR_OFFLINE:
        raise FatalError(f"_Py_qsbr_unregister: thread {tstate.id} is still online")
    shared.mutex.lock()
    slot.tstate = None
    slot.allocated = False
    slot.deferred_count = slot.deferred_memory = slot.deferred_page_memory = 0
    slot.should_process = False
    shared.freelist.append(slot.index)
    tstate.qsbr = None
    rt.emit(QSBR_UNREGISTER, tstate.id, slot.index)
    shared.mutex.unlock()
