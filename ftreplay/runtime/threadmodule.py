"""Modules/_threadmodule.c (and the parts of Lib/threading.py that join threads).

ThreadHandle states: NOT_STARTED 1 -> STARTING 2 -> RUNNING 3 -> DONE 4.

    start:  refuse if finalizing; non-daemon -> shutdown_handles (HEAD_LOCK); STARTING;
            new thread state; start the OS thread; RUNNING; notify handle_ready
    run:    wait handle_ready (no tstate: no detach); bind; attach; call; clear;
            delete current (unlink under HEAD_LOCK); leave shutdown_handles;
            notify thread_is_exiting
    join:   wait thread_is_exiting (detaching); once(join_thread) -> DONE
    fork:   in the child, every handle but the current thread's: DONE, once done, mutex 0,
            thread_is_exiting set, unlinked from both lists (_PyThread_AfterFork)
    free:   the last reference gone (``release``): still RUNNING -> PyThread_detach_thread,
            a crash in a fork child where that thread does not exist (gh-115035)

Every state change of a handle is a ``thread.handle`` event (old and new state names).  A
thread whose tstate the finalizer already shut down exits from thread_run at once
(``thread.must_exit``) without binding it (gh-108987).

With ``--bug join_tstate_lock_race`` joins use the <= 3.12 design instead: the thread owns
a ``_tstate_lock`` that the runtime releases when its thread state is deleted;
``join`` acquires and releases it, then ``_stop()`` asserts it is unlocked, which fails
when a second joiner holds it at that moment (gh-116372, fixed by gh-114271).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Callable, Optional

from ..record.events import THREAD_EXIT, THREAD_HANDLE, THREAD_JOIN, THREAD_MUST_EXIT, THREAD_START
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS, THREAD_START_NS
from . import pylifecycle
from .lock import OnceFlag, PyEvent, PyMutex
from .pylifecycle import BUG_START_DURING_FIN

BUG_JOIN_RACE = "join_tstate_lock_race"


class ThreadHandleState(IntEnum):
    NOT_STARTED = 1
    STARTING = 2
    RUNNING = 3
    DONE = 4


HANDLE_STATE_NAMES = {1: "not_started", 2: "starting", 3: "running", 4: "done"}


class ThreadError(Exception):
    """RuntimeError raised to the guest (e.g. joining the current thread)."""


class ThreadHandle:
    def __init__(self, rt, name: str, daemon: bool) -> None:
        self.rt = rt
        self.name = name
        self.daemon = daemon
        self.ident = 0
        self.state = ThreadHandleState.NOT_STARTED
        self.mutex = PyMutex(rt, rt.alloc(8, f"{name}.handle.mutex"), f"{name}.handle.mutex")
        self.thread_is_exiting = PyEvent(rt, rt.alloc(8, f"{name}.thread_is_exiting"), f"{name}.thread_is_exiting")
        self.once = OnceFlag(rt, rt.alloc(8, f"{name}.once"), f"{name}.once")
        self.tstate = None
        self.addr = self.mutex.addr  # the handle's identity in events (its first field)
        self.unlinking = False  # between the two stores of llist_remove (HEAD_LOCK held)
        rt.threads.all_handles.append(self)
        rt.emit(THREAD_HANDLE, self.addr, 0, "", "not_started", daemon)

    def _store_state(self, state: ThreadHandleState) -> None:
        """``handle->state = state`` (under ``mutex``, or with no other thread alive)."""
        old = self.state
        self.state = state
        self.rt.emit(THREAD_HANDLE, self.addr, self.ident, HANDLE_STATE_NAMES[old], HANDLE_STATE_NAMES[state],
                     self.daemon)

    def _set_state(self, state: ThreadHandleState) -> None:
        self.mutex.lock()
        self._store_state(state)
        self.mutex.unlock()

    def snapshot_record(self) -> list:
        return [self.ident, HANDLE_STATE_NAMES[self.state], self.daemon]

    def _join_thread(self) -> int:
        """join_thread: the OS-level join with the thread state released, then DONE."""
        rt = self.rt
        ps = rt.pystate
        ts = rt.engine.cur.tstate
        if ts is not None:
            ps.detach(ts)  # Py_BEGIN_ALLOW_THREADS
        rt.engine.point(ATOMIC_LOAD_NS)  # PyThread_join_thread: the thread has already exited
        if ts is not None:
            ps.attach(ts)  # Py_END_ALLOW_THREADS
        self._set_state(ThreadHandleState.DONE)
        return 0

    def _set_done(self) -> int:
        """set_done (ThreadHandle_set_done, threading's _after_fork in the child): detach the
        OS thread, notify, DONE."""
        self.thread_is_exiting.notify()
        self._set_state(ThreadHandleState.DONE)
        return 0

    def is_done(self) -> bool:
        """_ThreadHandle.is_done: the event is set (and, since gh-137017, the OS thread joined)."""
        if not self.thread_is_exiting.is_set():
            return False
        self.once.call_once(self._join_thread)
        return True

    def release(self, where: str) -> None:
        """ThreadHandle_decref reaching 0 (the ``_ThreadHandle`` object deallocated, from
        ``where``): a handle still RUNNING is joinable, so its OS thread is detached
        (PyThread_detach_thread).  In a forked child that thread does not exist unless it is
        the one that forked: detaching it is undefined behaviour, a crash.  Only the detach
        is modelled: the handle stays in the module's lists (no caller frees one that a
        list still holds)."""
        rt = self.rt
        if self.state != ThreadHandleState.RUNNING:
            return
        m = rt.machine
        pid = m.current
        exists = m.thread_process.get(self.ident, 1) == pid or (pid in m.procs and m.procs[pid][1] == self.ident)
        rt.engine.point(ATOMIC_LOAD_NS)  # pthread_detach
        if not exists:
            from ..sim.engine import GuestFailure

            flag = " [afterfork_handles_joinable]" if rt.bugs_on(pylifecycle.BUG_AFTERFORK_HANDLES) else ""
            raise GuestFailure(
                "crash",
                f"PyThread_detach_thread(os_thread=T{self.ident}): thread absent after fork; "
                f"ThreadHandle {self.name} @0x{self.addr:x} still RUNNING (dealloc from {where}){flag}",
            )

    def join(self) -> None:
        rt = self.rt
        if self.state < ThreadHandleState.RUNNING:
            raise ThreadError("thread not started")
        if not self.thread_is_exiting.is_set() and self.ident == rt.engine.tid:
            raise ThreadError("Cannot join current thread")
        self.thread_is_exiting.wait()
        self.once.call_once(self._join_thread)
        rt.emit(THREAD_JOIN, self.ident)


class ThreadModule:
    """The _thread module state of one interpreter plus the runtime's handle list."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.shutdown_handles: list[Any] = []
        self.handles: list[Any] = []  # _PyRuntime.threads.handles
        self.all_handles: list[ThreadHandle] = []  # every handle this process made (snapshots)
        self.at_fork_registered = False  # threading registers its _after_fork when imported

    def start(self, fn: Callable, args: tuple, name: str, daemon: bool):
        if self.rt.bugs_on(BUG_JOIN_RACE):
            return self._start_legacy(fn, args, name, daemon)
        return self._start(fn, args, name, daemon)

    # -- the current design ----------------------------------------------------------------
    def _start(self, fn: Callable, args: tuple, name: str, daemon: bool) -> ThreadHandle:
        rt = self.rt
        ps = rt.pystate
        interp = ps.main_interp
        if interp.finalizing_tstate is not None:  # _PyInterpreterState_GetFinalizing (gh-113964)
            raise ThreadError("can't create new thread at interpreter shutdown")
        if not self.at_fork_registered:
            self.at_fork_registered = True
            rt.at_fork.append((None, None, self._after_fork_py))
        h = ThreadHandle(rt, name, daemon)
        ps.head_lock()
        self.handles.append(h)
        if not daemon:
            self.shutdown_handles.append(h)
        ps.head_unlock()
        h.mutex.lock()
        if h.state != ThreadHandleState.NOT_STARTED:
            h.mutex.unlock()
            raise ThreadError("thread already started")
        h._store_state(ThreadHandleState.STARTING)
        h.mutex.unlock()
        ts = ps.new_threadstate(interp)
        h.tstate = ts
        ready = PyEvent(rt, rt.alloc(8, f"{name}.handle_ready"), f"{name}.handle_ready")
        ready.setter = rt.engine.tid
        rt.engine.point(THREAD_START_NS)
        sim = rt.engine.spawn(self._thread_run, (h, ts, ready, fn, args), tid=ts.id, name=name)
        h.thread_is_exiting.setter = sim.tid
        h.mutex.lock()
        h.ident = sim.tid
        h._store_state(ThreadHandleState.RUNNING)
        h.mutex.unlock()
        ready.notify()
        return h

    def _thread_run(self, h: ThreadHandle, ts, ready: PyEvent, fn: Callable, args: tuple) -> None:
        rt = self.rt
        ps = rt.pystate
        while not ready.wait_timed(-1, False):  # PyEvent_Wait without a tstate: no detach
            pass
        me = rt.engine.cur
        if rt.bugs_on(BUG_START_DURING_FIN):
            # <= 3.12: _PyThreadState_Bind before the must-exit test (gh-108987).
            pylifecycle.check_tstate_alive(rt, ts, "_PyThreadState_Bind")
            ps.bind(ts, me)
        if pylifecycle.must_exit(rt, ts):
            # Started just before finalization: the finalizer owns and clears the tstate.
            rt.emit(THREAD_MUST_EXIT, ts.id)
        else:
            ps.bind(ts, me)
            ps.attach(ts)  # hangs if the finalizer shut the tstate down meanwhile
            _run_body(rt, ts, fn, args)
        ps.head_lock()
        if h in self.shutdown_handles:  # remove_from_shutdown_handles: llist_remove
            h.unlinking = True  # prev->next = next ...
            rt.engine.point(ATOMIC_STORE_NS)
            self.shutdown_handles.remove(h)  # ... next->prev = prev
            h.unlinking = False
        ps.head_unlock()
        h.thread_is_exiting.notify()

    def shutdown(self) -> None:
        """_thread._shutdown: join every non-daemon thread but the current one."""
        rt = self.rt
        ps = rt.pystate
        me = rt.engine.tid
        while True:
            ps.head_lock()
            h = next((x for x in self.shutdown_handles if x.ident != me), None)
            ps.head_unlock()
            if h is None:
                return
            h.join()
            if h in self.shutdown_handles:  # joined but not yet removed by its thread
                self.shutdown_handles.remove(h)

    def _after_fork_py(self) -> None:
        """threading._after_fork in the child: every other thread's handle ``_set_done``
        (a no-op once _PyThread_AfterFork has run)."""
        me = self.rt.engine.tid
        for h in list(self.all_handles):
            if h.ident != me and h.state == ThreadHandleState.RUNNING:
                h.once.call_once(h._set_done)

    # -- the <= 3.12 design (bug flag) -----------------------------------------------------
    def _start_legacy(self, fn: Callable, args: tuple, name: str, daemon: bool) -> "LegacyThread":
        rt = self.rt
        ps = rt.pystate
        t = LegacyThread(rt, name, daemon)
        ts = ps.new_threadstate(ps.main_interp)
        rt.engine.point(THREAD_START_NS)
        sim = rt.engine.spawn(self._legacy_run, (t, ts, fn, args), tid=ts.id, name=name)
        t.ident = sim.tid
        t.started.setter = sim.tid
        if not daemon:
            self.shutdown_handles.append(t)
        t.started.wait()  # Thread.start waits for self._started
        return t

    def _legacy_run(self, t: "LegacyThread", ts, fn: Callable, args: tuple) -> None:
        rt = self.rt
        ps = rt.pystate
        me = rt.engine.cur
        ps.bind(ts, me)
        ps.attach(ts)
        # _set_sentinel(): a lock owned by this thread state, released when it is deleted.
        t.tstate_lock.lock()
        t.tstate_lock_field.store(t.tstate_lock)
        t.started.notify()
        _run_body(rt, ts, fn, args)
        t.tstate_lock.unlock()  # the runtime releases the sentinel as the tstate dies


def after_fork(rt, current: int) -> None:
    """_PyThread_AfterFork(&runtime->threads) in the child, before any Python code runs: the
    other threads do not exist, so their handles become DONE and unjoinable-by-waiting."""
    from ..record.events import LOCK_WORD
    from .lock import _Py_LOCKED, _Py_ONCE_INITIALIZED

    mod = rt.threads
    for lst, name in ((mod.handles, "runtime.threads.handles"), (mod.shutdown_handles, "shutdown_handles")):
        for h in lst:
            if getattr(h, "unlinking", False):
                from ..sim.engine import GuestFailure

                raise GuestFailure(
                    "invariant",
                    f"child process {rt.pid}: {name} corrupt at handle {h.name} @0x{h.addr:x} (prev.next ok, "
                    f"next.prev stale): T{h.ident} was inside a HEAD_LOCK region at fork [fork_without_head_lock]",
                )
    for h in list(mod.handles):
        if not isinstance(h, ThreadHandle) or h.ident == current:
            continue
        if h.state != ThreadHandleState.DONE:
            h._store_state(ThreadHandleState.DONE)
        if h.once.v != _Py_ONCE_INITIALIZED:
            old = h.once.v
            h.once.v = _Py_ONCE_INITIALIZED
            rt.emit(LOCK_WORD, h.once.addr, "once", "after_fork", old, _Py_ONCE_INITIALIZED)
        pylifecycle.reinit_lock(rt, h.mutex)
        ev = h.thread_is_exiting
        if ev.v != _Py_LOCKED:  # _PyEvent_Notify: nobody is parked (the lot was reset)
            old = ev.v
            ev.v = _Py_LOCKED
            rt.emit(LOCK_WORD, ev.addr, "event", "notify", old, _Py_LOCKED)
        mod.handles.remove(h)
        if h in mod.shutdown_handles:
            mod.shutdown_handles.remove(h)


class LegacyThread:
    """threading.Thread as of 3.12: join through ``_tstate_lock`` and ``_stop()``."""

    def __init__(self, rt, name: str, daemon: bool) -> None:
        self.rt = rt
        self.name = name
        self.daemon = daemon
        self.ident = 0
        self.started = PyEvent(rt, rt.alloc(8, f"{name}._started"), f"{name}._started")
        self.tstate_lock = PyMutex(rt, rt.alloc(8, f"{name}._tstate_lock"), f"{name}._tstate_lock")
        self.tstate_lock_field = rt.var(f"{name}._tstate_lock (field)", None)
        self.is_stopped = rt.var(f"{name}._is_stopped", False)

    def join(self) -> None:
        """Thread.join -> _wait_for_tstate_lock()."""
        if self.ident == self.rt.engine.tid:
            raise ThreadError("cannot join current thread")
        lock: Optional[PyMutex] = self.tstate_lock_field.load()
        if lock is None:
            assert self.is_stopped.load(), "_is_stopped is not set but _tstate_lock is None"
        elif self._acquire_and_release(lock):
            self._stop()
        self.rt.emit(THREAD_JOIN, self.ident)

    def _acquire_and_release(self, lock: PyMutex) -> bool:
        lock.lock()
        lock.unlock()
        return True

    def _stop(self) -> None:
        lock: Optional[PyMutex] = self.tstate_lock_field.load()
        if lock is not None:
            assert not lock.locked(), (
                f"Thread._stop: _tstate_lock of <{self.name}> is locked (owner=T{lock.owner}) "
                f"while <T{self.rt.engine.tid}> stops it [join_tstate_lock_race]"
            )
        self.is_stopped.store(True)
        self.tstate_lock_field.store(None)


def _run_body(rt, ts, fn: Callable, args: tuple) -> None:
    """The thread's target on its attached thread state, then PyThreadState_DeleteCurrent."""
    ts.phase = "running"
    rt.emit(THREAD_START, ts.id)
    fn(*args)
    ts.phase = "exited"
    rt.emit(THREAD_EXIT, ts.id)
    rt.pystate.delete_current(ts)
