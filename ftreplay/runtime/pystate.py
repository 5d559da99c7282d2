"""Python/pystate.c, Include/internal/pycore_pystate.h, pycore_tstate.h: thread states.

    tstate->state:  DETACHED 0 <-> ATTACHED 1     by the owning thread (attach / detach)
                    DETACHED 0 <-> SUSPENDED 2    by a stop-the-world requester
                    ATTACHED 1  -> SUSPENDED 2    by the owning thread (_PyThreadState_Suspend)
                    any         -> SHUTTING_DOWN 3 by the finalizing thread

HEAD_LOCK is ``runtime->interpreters.mutex``, a PyMutex taken with _Py_LOCK_DONT_DETACH:
a thread blocked on it stays ATTACHED.  It guards the interpreter and thread lists.

Cross-mechanism calls where CPython makes them: new_threadstate reserves a QSBR slot before
HEAD_LOCK and registers it after; PyThreadState_Clear drains the thread's BRC queue and leaves
the table (it joins at its first object, see brc.py), hands its delayed frees to the
interpreter (_PyMem_AbandonDelayed) and abandons its mimalloc heaps; detach suspends the
critical sections first and goes QSBR-offline, attach comes online and resumes the top
critical section last; _PyThreadState_DeleteCurrent goes offline before unlinking and
unregisters its QSBR slot after.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Optional

from ..record.events import PYSTATE_ATTACH, PYSTATE_DELETE_THREAD, PYSTATE_DETACH, PYSTATE_NEW_THREAD
from ..sim.clock import ATOMIC_RMW_NS, ATOMIC_STORE_NS
from ..sim.engine import FatalError
from . import brc, critical_section
from . import qsbr as _qsbr
from .lock import DONT_DETACH, PyMutex
from .obmalloc import DelayedQueue


class ThreadStatus(IntEnum):
    _Py_THREAD_DETACHED = 0
    _Py_THREAD_ATTACHED = 1
    _Py_THREAD_SUSPENDED = 2
    _Py_THREAD_SHUTTING_DOWN = 3


DETACHED = ThreadStatus._Py_THREAD_DETACHED
ATTACHED = ThreadStatus._Py_THREAD_ATTACHED
SUSPENDED = ThreadStatus._Py_THREAD_SUSPENDED
SHUTTING_DOWN = ThreadStatus._Py_THREAD_SHUTTING_DOWN
STATE_NAMES = ("detached", "attached", "suspended", "shutting_down")


class ThreadState:
    """_PyThreadStateImpl (the parts modelled so far)."""

    __slots__ = (
        "id", "interp", "state", "sim", "eval_breaker", "critical_section", "holds_gil",
        "active", "bound", "cleared", "finalized", "refcount", "next_free", "addr", "phase",
        "brc", "c_stack", "cs_frames", "qsbr", "mimalloc", "mem_free_queue",
    )

    def __init__(self, interp: "InterpreterState", tid: int, addr: int) -> None:
        self.id = tid
        self.interp = interp
        self.state = DETACHED
        self.sim = None  # the sim thread bound to it (PyThreadState.thread_id)
        self.eval_breaker = 0
        self.critical_section = 0
        self.holds_gil = 0
        self.active = False
        self.bound = False
        self.cleared = False
        self.finalized = False
        self.refcount = 2  # _PyThreadStateImpl_INIT: the interpreter's list + the OS thread
        self.addr = addr  # address of tstate->state (parking on it)
        self.phase = "created"  # created -> running -> exited -> deleted (the replay's view)
        self.brc = brc.BrcThreadState()  # _PyThreadStateImpl.brc
        # The modelled C stack that holds this thread's PyCriticalSection structs, and the
        # live ones by slot (critical_section.py).
        self.c_stack = 0
        self.cs_frames: list = []
        self.qsbr: Optional[_qsbr.QsbrThreadState] = None  # tstate->qsbr (its slot)
        self.mimalloc = None  # tstate->mimalloc (obmalloc.ThreadMimalloc), bound on first use
        self.mem_free_queue = DelayedQueue(tid)  # _PyThreadStateImpl.mem_free_queue

    def __repr__(self) -> str:
        return f"<tstate {self.id} {STATE_NAMES[self.state]}>"


class InterpreterState:
    def __init__(self, runtime: "RuntimeState", interp_id: int) -> None:
        self.runtime = runtime
        self.id = interp_id
        self.threads: list[ThreadState] = []  # head first, like the C list
        self.finalizing = 0
        rt = runtime.rt
        self.brc = brc.BrcState(rt)  # interp->brc
        name = f"interp{interp_id}"
        self.qsbr = _qsbr.QsbrShared(rt, name)  # interp->qsbr
        self.abandoned_pool: list = []  # interp->mimalloc.abandoned_pool (segments)
        self.mem_free_queue = DelayedQueue(0)  # interp->mem_free_queue
        self.mem_free_queue_mutex = PyMutex(rt, rt.alloc(8, f"{name}.mem_free_queue.mutex"),
                                            f"{name}.mem_free_queue.mutex")
        self.mem_free_queue_has_work = False


class RuntimeState:
    """_PyRuntime: the interpreters, HEAD_LOCK, and thread-state bookkeeping."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.head_mutex = PyMutex(rt, rt.alloc(8, "runtime.interpreters.mutex"), "HEAD_LOCK")
        self.interpreters: list[InterpreterState] = []
        self.all_tstates: list[ThreadState] = []  # ever created, for snapshots
        self.next_unique_id = 1
        self.main_interp = self.new_interpreter()

    def new_interpreter(self) -> InterpreterState:
        interp = InterpreterState(self, len(self.interpreters))
        self.interpreters.append(interp)
        return interp

    # -- HEAD_LOCK ------------------------------------------------------------------------
    def head_lock(self) -> None:
        self.head_mutex.lock_flags(DONT_DETACH)

    def head_unlock(self) -> None:
        self.head_mutex.unlock()

    # -- creation and deletion ---------------------------------------------------------------
    def new_threadstate(self, interp: InterpreterState) -> ThreadState:
        """new_threadstate: allocate, then under HEAD_LOCK take an id and link at the head."""
        rt = self.rt
        addr = rt.alloc(64, "")
        slot = _qsbr.reserve(rt, interp.qsbr)
        self.head_lock()
        tid = self.next_unique_id
        self.next_unique_id = tid + 1
        ts = ThreadState(interp, tid, addr)
        rt.engine.point(ATOMIC_STORE_NS)
        interp.threads.insert(0, ts)
        self.all_tstates.append(ts)
        rt.emit(PYSTATE_NEW_THREAD, ts.id, interp.id, STATE_NAMES[ts.state])
        self.head_unlock()
        # Must be called with HEAD_LOCK released to avoid lock-ordering deadlocks.
        _qsbr.register(rt, interp.qsbr, ts, slot)
        return ts

    def bind(self, ts: ThreadState, sim) -> None:
        """_PyThreadState_Bind (bind_tstate): runs on the owning thread.  Its
        _Py_brc_init_thread is deferred to the thread's first object (brc.py says why)."""
        ts.sim = sim
        ts.bound = True

    def clear(self, ts: ThreadState) -> None:
        """PyThreadState_Clear (the parts modelled): leave the BRC table, merging what is
        queued; hand the delayed frees to the interpreter; abandon the mimalloc heaps."""
        rt = self.rt
        brc.remove_thread(rt, ts)
        rt.obmalloc.abandon_delayed(ts)
        rt.obmalloc.abandon(ts)
        ts.cleared = True

    def delete_current(self, ts: ThreadState) -> None:
        """_PyThreadState_DeleteCurrent: unlink under HEAD_LOCK while still ATTACHED
        (gh-117303), then stop being the current thread state."""
        rt = self.rt
        if not ts.cleared:
            self.clear(ts)
        if ts.qsbr is not None and ts.qsbr.seq != _qsbr.QSBR_OFFLINE:
            _qsbr.detach(rt, ts.qsbr, ts.id)
        self.head_lock()
        rt.engine.point(ATOMIC_STORE_NS)
        ts.interp.threads.remove(ts)
        ts.phase = "deleted"
        rt.emit(PYSTATE_DELETE_THREAD, ts.id, ts.interp.id)
        self.head_unlock()
        _qsbr.unregister(rt, ts.interp.qsbr, ts)
        cur = rt.engine.cur
        if cur.tstate is ts:
            cur.tstate = None  # current_fast_clear
        ts.finalized = True
        ts.active = False

    # -- attach / detach ---------------------------------------------------------------------
    def attach(self, ts: ThreadState) -> None:
        """_PyThreadState_Attach."""
        rt = self.rt
        eng = rt.engine
        cur = eng.cur
        if cur.tstate is not None:
            raise FatalError("non-NULL old thread state")
        cur.tstate = ts  # current_fast_set: before the state check
        eng.point(ATOMIC_RMW_NS)
        if ts.state != DETACHED:
            raise FatalError(f"thread state {ts.id} cannot attach from {STATE_NAMES[ts.state]}")
        ts.state = ATTACHED
        rt.emit(PYSTATE_ATTACH, ts.id, "detached", "attached")
        ts.active = True
        if ts.qsbr is not None:
            _qsbr.attach(rt, ts.qsbr, ts.interp.qsbr, ts.id)
        if ts.critical_section:
            critical_section.resume(rt, ts)  # may block

    def detach(self, ts: ThreadState) -> None:
        """_PyThreadState_Detach = detach_thread(tstate, DETACHED)."""
        rt = self.rt
        eng = rt.engine
        if ts.state != ATTACHED:
            raise FatalError(f"detaching thread state {ts.id} that is {STATE_NAMES[ts.state]}")
        if eng.cur.tstate is not ts:
            raise FatalError(f"detaching thread state {ts.id} that is not the current one")
        if ts.critical_section:
            critical_section.suspend_all(rt, ts)
        if ts.qsbr is not None:
            _qsbr.detach(rt, ts.qsbr, ts.id)
        ts.active = False
        eng.point(ATOMIC_STORE_NS)
        ts.state = DETACHED
        rt.emit(PYSTATE_DETACH, ts.id, "attached", "detached")
        eng.cur.tstate = None  # current_fast_clear

    def current(self) -> Optional[ThreadState]:
        return self.rt.engine.cur.tstate
