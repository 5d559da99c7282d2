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

from ..record.events import (
    CEVAL_GIL_EVAL_BREAKER,
    PYSTATE_ATTACH,
    PYSTATE_DELETE_THREAD,
    PYSTATE_DETACH,
    PYSTATE_NEW_THREAD,
    PYSTATE_START_THE_WORLD,
    PYSTATE_STOP_THE_WORLD,
    PYSTATE_STW_COUNTDOWN,
    PYSTATE_STW_REQUEST,
    PYSTATE_SUSPEND,
)
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_RMW_NS, ATOMIC_STORE_NS
from ..sim.engine import FatalError
from . import brc, critical_section
from . import qsbr as _qsbr
from .lock import DONT_DETACH, PyEvent, PyMutex, RWMutex
from .ceval_gil import GIL_ENABLED_PERMANENTLY, Gil, PendingCalls, drop_gil, take_gil
from .gc_free_threading import GCState
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
        "brc", "c_stack", "cs_frames", "qsbr", "mimalloc", "mem_free_queue", "async_exc", "gc_alloc_count",
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
        self.async_exc: Optional[str] = None  # PyThreadState_SetAsyncExc
        self.gc_alloc_count = 0  # _PyThreadStateImpl.gc.alloc_count

    def __repr__(self) -> str:
        return f"<tstate {self.id} {STATE_NAMES[self.state]}>"


STW_POLL_NS = 1_000_000  # the requester re-checks every 1 ms (PyEvent_WaitTimed)


class StopTheWorldState:
    """struct _stoptheworld_state: ``mutex`` serialises requests; the rest is guarded by
    HEAD_LOCK."""

    def __init__(self, rt, name: str, is_global: bool) -> None:
        self.name = name
        self.is_global = is_global
        self.scope = "global" if is_global else "interp"
        self.mutex = PyMutex(rt, rt.alloc(8, f"{name}.stoptheworld.mutex"), f"{name}.stoptheworld.mutex")
        self.stop_event = PyEvent(rt, rt.alloc(8, f"{name}.stoptheworld.stop_event"), f"{name}.stop_event")
        self.requested = False
        self.world_stopped = False
        self.thread_countdown = 0
        self.requester: Optional[ThreadState] = None


class InterpreterState:
    def __init__(self, runtime: "RuntimeState", interp_id: int) -> None:
        self.runtime = runtime
        self.id = interp_id
        self.threads: list[ThreadState] = []  # head first, like the C list
        self.finalizing = 0
        self.finalizing_tstate: Optional[int] = None  # interp->_finalizing (pylifecycle.py)
        self.freed_seq: Optional[int] = None  # PyInterpreterState_Delete ran (seq of the free)
        rt = runtime.rt
        self.brc = brc.BrcState(rt)  # interp->brc
        name = f"interp{interp_id}"
        self.qsbr = _qsbr.QsbrShared(rt, name)  # interp->qsbr
        self.abandoned_pool: list = []  # interp->mimalloc.abandoned_pool (segments)
        self.mem_free_queue = DelayedQueue(0)  # interp->mem_free_queue
        self.mem_free_queue_mutex = PyMutex(rt, rt.alloc(8, f"{name}.mem_free_queue.mutex"),
                                            f"{name}.mem_free_queue.mutex")
        self.mem_free_queue_has_work = False
        self.stoptheworld = StopTheWorldState(rt, name, False)  # interp->stoptheworld
        self.instrumentation_version = 0  # interp->ceval.instrumentation_version
        self.globals: dict = {}  # the interpreter's module globals (released by interpreter_clear)
        self.gc = GCState()  # interp->gc
        knobs = rt.knobs
        on = knobs.get("build", "ft") == "gil" or knobs.get("gil", -1) == 1
        self.gil = Gil(rt, GIL_ENABLED_PERMANENTLY if on else 0)  # interp->ceval.gil (own GIL)
        self.pending = PendingCalls(rt, name)  # interp->ceval.pending


class RuntimeState:
    """_PyRuntime: the interpreters, HEAD_LOCK, and thread-state bookkeeping."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.head_mutex = PyMutex(rt, rt.alloc(8, "runtime.interpreters.mutex"), "HEAD_LOCK")
        self.interpreters: list[InterpreterState] = []
        self.all_tstates: list[ThreadState] = []  # ever created, for snapshots
        self.freed: dict[int, int] = {}  # tstate id -> seq: thread states freed (pylifecycle.py)
        self.finalizing_tstate: Optional[int] = None  # _PyRuntime._finalizing
        self.next_unique_id = 1
        self.stoptheworld = StopTheWorldState(rt, "runtime", True)  # _PyRuntime.stoptheworld
        self.stoptheworld_mutex = RWMutex(rt, rt.alloc(8, "runtime.stoptheworld_mutex"), "stoptheworld_mutex")
        self.main_pending = PendingCalls(rt, "runtime.main")  # _PyRuntime.ceval.pending_mainthread
        self.signals: list = []  # Python-level handlers of signals received, in order
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
        if interp.stoptheworld.requested or self.stoptheworld.requested:
            ts.state = SUSPENDED  # init_threadstate: a thread created during a pause starts suspended
        version = interp.instrumentation_version  # init_threadstate seeds the monitoring version
        rt.engine.point(ATOMIC_STORE_NS)
        interp.threads.insert(0, ts)
        self.all_tstates.append(ts)
        if rt.pid != 1:
            rt.machine.thread_process[ts.id] = rt.pid
        rt.emit(PYSTATE_NEW_THREAD, ts.id, interp.id, STATE_NAMES[ts.state], rt.pid)
        if version:
            ts.eval_breaker = version
            rt.emit(CEVAL_GIL_EVAL_BREAKER, ts.id, 0, "version", 0, version)
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
        """_PyThreadState_DeleteCurrent: go QSBR-offline, stop being the current thread state,
        then unlink under HEAD_LOCK while still ATTACHED (gh-117303)."""
        rt = self.rt
        if not ts.cleared:
            self.clear(ts)
        if ts.qsbr is not None and ts.qsbr.seq != _qsbr.QSBR_OFFLINE:
            _qsbr.detach(rt, ts.qsbr, ts.id)
        cur = rt.engine.cur
        if cur.tstate is ts:
            # current_fast_clear before tstate_delete_common (gh-116515): a lock that parks in
            # there (the QSBR mutex) must not detach and re-attach a thread state being deleted.
            cur.tstate = None
        self.head_lock()
        rt.engine.point(ATOMIC_STORE_NS)
        ts.interp.threads.remove(ts)
        if ts.state != SUSPENDED:
            # A dying thread must not be waited for by a pause that counted it.
            for stw in (ts.interp.stoptheworld, self.stoptheworld):
                if stw.requested and stw.thread_countdown > 0 and stw.requester is not ts:
                    self._decrement_countdown(stw)
        ts.phase = "deleted"
        rt.emit(PYSTATE_DELETE_THREAD, ts.id, ts.interp.id)
        self.head_unlock()
        # tstate_delete_common(release_gil=1); before gh-104341 it passed the real tstate.
        drop_gil(rt, ts, final_release=not rt.bugs_on("drop_gil_finalizing_switch"))
        _qsbr.unregister(rt, ts.interp.qsbr, ts)
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
        take_gil(rt, ts)  # _PyEval_AcquireLock
        cur.tstate = ts  # current_fast_set: before the state check
        while True:
            eng.point(ATOMIC_RMW_NS)  # tstate_try_attach: CAS DETACHED -> ATTACHED
            if ts.state == DETACHED:
                break
            if ts.state == SHUTTING_DOWN:
                from .pylifecycle import hang_thread

                hang_thread(rt, ts)  # the interpreter is finalizing: never run again
            if ts.state != SUSPENDED:
                raise FatalError(f"thread state {ts.id} cannot attach from {STATE_NAMES[ts.state]}")
            # tstate_wait_attach: the world is stopped; park on the state until it restarts.
            rt.parking_lot.park(ts.addr, lambda: ts.state, SUSPENDED, None, detach=False,
                                what="the world to restart", holder=self._stw_holder)
        ts.state = ATTACHED
        rt.emit(PYSTATE_ATTACH, ts.id, "detached", "attached")
        ts.active = True
        if ts.qsbr is not None:
            _qsbr.attach(rt, ts.qsbr, ts.interp.qsbr, ts.id)
        if ts.critical_section:
            critical_section.resume(rt, ts)  # may block

    def detach(self, ts: ThreadState, new_state: int = DETACHED) -> None:
        """_PyThreadState_Detach = detach_thread(tstate, DETACHED); SUSPENDED from
        _PyThreadState_Suspend."""
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
        ts.state = new_state
        if new_state == SUSPENDED:
            rt.emit(PYSTATE_SUSPEND, ts.id, "attached", "suspended")
        else:
            rt.emit(PYSTATE_DETACH, ts.id, "attached", "detached")
        eng.cur.tstate = None  # current_fast_clear
        drop_gil(rt, ts)  # _PyEval_ReleaseLock

    def current(self) -> Optional[ThreadState]:
        return self.rt.engine.cur.tstate

    def suspend(self, ts: ThreadState) -> None:
        """_PyThreadState_Suspend: at an eval-breaker check with PLEASE_STOP set."""
        self.head_lock()
        stw = None
        if self.stoptheworld.requested:
            stw = self.stoptheworld
        elif ts.interp.stoptheworld.requested:
            stw = ts.interp.stoptheworld
        self.head_unlock()
        if stw is None:
            self.detach(ts)
            return
        self.detach(ts, SUSPENDED)  # releases its critical sections, goes QSBR-offline
        self.head_lock()
        self._decrement_countdown(stw)
        self.head_unlock()

    # -- stop-the-world -----------------------------------------------------------------------
    def _stw_holder(self) -> Optional[int]:
        for stw in (self.stoptheworld, *(i.stoptheworld for i in self.interpreters)):
            if stw.requested and stw.requester is not None:
                return stw.requester.id
        return None

    def _scope(self, stw: StopTheWorldState) -> list[ThreadState]:
        if stw.is_global:
            return [t for i in self.interpreters for t in i.threads]
        interp = next(i for i in self.interpreters if i.stoptheworld is stw)
        return list(interp.threads)

    def _decrement_countdown(self, stw: StopTheWorldState) -> None:
        """decrement_stoptheworld_countdown (HEAD_LOCK held): the last one wakes the requester."""
        rt = self.rt
        if stw.thread_countdown <= 0:
            raise FatalError(f"{stw.name}: stop-the-world countdown below zero")
        old = stw.thread_countdown
        stw.thread_countdown = old - 1
        rt.emit(PYSTATE_STW_COUNTDOWN, stw.scope, old - 1, old)
        if old == 1:
            stw.stop_event.notify()

    def _park_detached_threads(self, stw: StopTheWorldState) -> bool:
        """park_detached_threads: flip detached threads to SUSPENDED; ask attached ones to
        stop at their next eval-breaker check."""
        from . import ceval_gil

        rt = self.rt
        eng = rt.engine
        num_parked = 0
        for t in self._scope(stw):
            eng.point(ATOMIC_LOAD_NS)
            if t.state == DETACHED:
                eng.point(ATOMIC_RMW_NS)  # CAS DETACHED -> SUSPENDED
                if t.state == DETACHED:
                    t.state = SUSPENDED
                    rt.emit(PYSTATE_SUSPEND, t.id, "detached", "suspended")
                    num_parked += 1
            elif t.state == ATTACHED and t is not stw.requester:
                if not t.eval_breaker & ceval_gil._PY_EVAL_PLEASE_STOP_BIT:
                    ceval_gil.set_eval_breaker_bit(rt, t, ceval_gil._PY_EVAL_PLEASE_STOP_BIT)
        if num_parked:
            old = stw.thread_countdown
            stw.thread_countdown = old - num_parked
            rt.emit(PYSTATE_STW_COUNTDOWN, stw.scope, stw.thread_countdown, old)
        return num_parked > 0 and stw.thread_countdown == 0

    def stop_the_world(self, stw: StopTheWorldState) -> None:
        """stop_the_world: serialise, count the other threads, flip or signal them, wait.
        (A no-op in the GIL build: holding the GIL already excludes every other thread.)"""
        rt = self.rt
        if rt.gil_build:
            return
        eng = rt.engine
        # main (gh-137433): the RWMutex first (write for a global pause), then stw->mutex.
        if stw.is_global:
            self.stoptheworld_mutex.lock()
        else:
            self.stoptheworld_mutex.rlock()
        stw.mutex.lock()
        self.head_lock()
        stw.stop_event.reset()  # (all under HEAD_LOCK: the order of these stores is not observable)
        stw.requested = True
        me = eng.cur.tstate
        stw.requester = me
        stw.thread_countdown = sum(1 for t in self._scope(stw) if t is not me)
        rt.emit(PYSTATE_STW_REQUEST, stw.scope, me.id if me else 0, stw.thread_countdown)
        if stw.thread_countdown == 0:
            self.head_unlock()
        else:
            while True:
                stopped = self._park_detached_threads(stw)
                self.head_unlock()
                if stopped:
                    break
                # Stay attached while waiting (gh-118332).
                if stw.stop_event.wait_timed(STW_POLL_NS, False):
                    break
                self.head_lock()
        eng.point(ATOMIC_STORE_NS)
        stw.world_stopped = True
        rt.emit(PYSTATE_STOP_THE_WORLD, stw.scope, me.id if me else 0)

    def start_the_world(self, stw: StopTheWorldState) -> None:
        """start_the_world: flip every suspended thread back to DETACHED and wake it."""
        rt = self.rt
        if rt.gil_build:
            return
        eng = rt.engine
        self.head_lock()
        me = stw.requester
        stw.requested = False
        stw.world_stopped = False
        rt.emit(PYSTATE_START_THE_WORLD, stw.scope, me.id if me else 0, stw.thread_countdown)
        stw.thread_countdown = 0
        for t in self._scope(stw):
            if t is me:
                continue
            if t.state != SUSPENDED:
                raise FatalError(f"start_the_world: thread state {t.id} is {STATE_NAMES[t.state]}, not suspended")
            eng.point(ATOMIC_STORE_NS)
            t.state = DETACHED
            rt.emit(PYSTATE_DETACH, t.id, "suspended", "detached")
            rt.parking_lot.unpark_all(t.addr)
        stw.requester = None
        self.head_unlock()
        stw.mutex.unlock()
        if stw.is_global:
            self.stoptheworld_mutex.unlock()
        else:
            self.stoptheworld_mutex.runlock()
