"""Python/pylifecycle.c (_Py_Finalize) and Modules/posixmodule.c (PyOS_BeforeFork,
PyOS_AfterFork_Parent, PyOS_AfterFork_Child): finalization and fork.

Finalization, on the main thread (``rt.finalize()``), in _Py_Finalize's order:

    wait_threads -> pending_calls -> atexit -> stop_the_world -> set_finalizing
      -> remove_threads (RemoveExcept; each removed tstate SHUTTING_DOWN + UnparkAll)
      -> start_the_world -> delete_threads (DeleteList: Clear, decref) -> interp_delete
      -> exit (flush, _PyRuntime_Finalize, exit()) -> done

A daemon thread that tries to attach afterwards sees SHUTTING_DOWN and hangs
(_PyThreadState_HangThread: decref its tstate, park forever); a thread started too late
exits at once from thread_run (_PyThreadState_MustExit) without touching its tstate.

Fork (``rt.fork(child_fn, *args)``), on an attached thread T of process P:

    before:  before-forkers (reverse) ; import lock ; StopTheWorldAll ; HEAD_LOCK
    fork:    the child C gets a copy of P's memory; only T exists in it
    child:   ReInitThreads (parking lot first, runtime locks zeroed, dead thread handles DONE)
             ; RemoveExcept(T) ; StartTheWorldAll ; DeleteList(after_fork) ; after-forkers
    parent:  HEAD_UNLOCK ; StartTheWorldAll ; import lock released ; after-forkers (parent)

The processes share nothing after the fork, so the model runs the child to its exit inside
the parent's fork window (one interleaving of two independent processes, which loses no
behaviour of either), with its own engine on the same clock, strategy and schedule; the
parent's threads then go on.  T keeps its thread id in the child (``_Py_ThreadId`` is the
same after fork); every thread the child creates gets a fresh id, so ``pystate.new_thread``'s
``process`` field gives the thread -> process mapping, and T's events between
``pylifecycle.fork`` and ``pylifecycle.exit`` belong to the child.
"""

from __future__ import annotations

import copy
import sys
import types
from typing import Any, Callable

from ..record.events import (
    PYLIFECYCLE_AFTER_FORK_CHILD,
    PYLIFECYCLE_AFTER_FORK_PARENT,
    PYLIFECYCLE_EXIT,
    PYLIFECYCLE_FORK,
    PYLIFECYCLE_PHASE,
    PYLIFECYCLE_REINIT_LOCK,
    PYSTATE_DELETE_LIST,
    PYSTATE_HANG,
    PYSTATE_SHUTTING_DOWN,
)
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS
from ..sim.engine import Engine, FatalError, GuestFailure
from .lock import PyMutex, RWMutex, PyEvent, OnceFlag

BUG_FORK_WITHOUT_STW = "fork_without_stw"
BUG_FORK_WITHOUT_HEAD_LOCK = "fork_without_head_lock"
BUG_AFTERFORK_HANDLES = "afterfork_handles_joinable"
BUG_START_DURING_FIN = "start_thread_during_finalization"
BUG_DROP_GIL_FINAL = "drop_gil_finalizing_switch"

EXIT_NS = 200_000  # flush_std_files, _PyRuntime_Finalize, exit(): the main thread's last work

# Finalization phases, in order ('' = not finalizing).
PHASES = (
    "wait_threads", "pending_calls", "atexit", "stop_the_world", "set_finalizing", "remove_threads",
    "start_the_world", "delete_threads", "interp_delete", "exit", "done",
)


class Machine:
    """What the processes of one run share: process ids, which one runs, the parent's state
    saved while its child runs (the live side of the projection's save/restore)."""

    def __init__(self) -> None:
        self.next_pid = 2
        self.current = 1
        self.procs: dict[int, list] = {}  # pid -> [parent pid, forking thread, status]
        self.thread_process: dict[int, int] = {}  # tid -> pid for threads a child created
        self.saved: dict[int, dict] = {}  # pid -> process sections while its child runs
        self.exited: dict[int, dict] = {}  # pid -> final process sections of an exited child
        self.snapshots: dict[int, Any] = {}  # pid -> the recorder's snapshot function of that process

    def __deepcopy__(self, memo) -> "Machine":
        return self  # shared by every process


def sections(state) -> dict:
    """The per-process part of a State, in plain form."""
    return state.sections()


class Shared(dict):
    """A mapping the processes share (what a pipe or shared memory would carry): fork does
    not copy it, so a child can hand results back to the parent or a test."""

    def __deepcopy__(self, memo) -> "Shared":
        return self


class ForkError(Exception):
    """PythonFinalizationError raised to the guest by os.fork() at interpreter shutdown."""


class ChildProcess:
    """What ``rt.fork`` returns in the parent: the child's pid and how it ended."""

    def __init__(self, pid: int, status: str) -> None:
        self.pid = pid
        self.status = status  # 'ok' or the failure reason

    def __repr__(self) -> str:
        return f"<child process {self.pid} {self.status}>"


# -- thread states removed by another thread ------------------------------------------------------
def must_exit(rt, ts) -> bool:
    """_PyThreadState_MustExit: the finalizer has set this thread state SHUTTING_DOWN."""
    from .pystate import SHUTTING_DOWN

    rt.engine.point(ATOMIC_LOAD_NS)
    return ts.state == SHUTTING_DOWN


def hang_thread(rt, ts) -> None:
    """_PyThreadState_HangThread: drop the thread's reference to its tstate and pause forever
    (PyThread_hang_thread) instead of touching a finalized runtime.  Not a deadlock: the
    process exits around it."""
    eng = rt.engine
    rt.emit(PYSTATE_HANG, ts.id)
    cur = eng.cur
    if cur.tstate is ts:
        cur.tstate = None
    decref_threadstate(rt, ts)
    cur.wait_what = "hang (thread state shut down by finalization)"
    cur.wait_addr = ts.addr
    cur.wait_holder = None
    rt.hung.append(cur.tid)
    while True:
        eng.block(None)


def decref_threadstate(rt, ts) -> None:
    """decref_threadstate: the last reference frees the thread state."""
    ts.refcount -= 1
    if ts.refcount <= 0 and ts.id not in rt.pystate.freed:
        rt.pystate.freed[ts.id] = rt.seq_next()


def check_tstate_alive(rt, ts, what: str) -> None:
    """An access to ``ts``'s memory: use_after_free if it was freed."""
    seq = rt.pystate.freed.get(ts.id)
    if seq is not None:
        raise GuestFailure(
            "use_after_free",
            f"thread T{rt.engine.tid}: {what} wrote tstate#{ts.id}; block freed at seq {seq} by "
            f"_PyThreadState_DeleteList (finalization) [{BUG_START_DURING_FIN}]",
        )


def remove_except(rt, keep) -> list:
    """_PyThreadState_RemoveExcept: unlink every other thread state of every interpreter,
    under HEAD_LOCK, with the world stopped."""
    ps = rt.pystate
    stw = ps.stoptheworld
    if not rt.gil_build and not stw.world_stopped and not rt.bugs_on(BUG_FORK_WITHOUT_STW):
        raise FatalError("_PyThreadState_RemoveExcept: the world is not stopped")
    ps.head_lock()
    out = []
    for interp in ps.interpreters:
        for t in list(interp.threads):
            if t is keep:
                continue
            rt.engine.point(ATOMIC_STORE_NS)
            interp.threads.remove(t)
            out.append(t)
    ps.head_unlock()
    return out


def set_shutting_down(rt, ts) -> None:
    """_PyThreadState_SetShuttingDown: the state store, then wake anyone parked on it."""
    from .pystate import SHUTTING_DOWN, STATE_NAMES

    rt.engine.point(ATOMIC_STORE_NS)
    old = ts.state
    ts.state = SHUTTING_DOWN
    rt.emit(PYSTATE_SHUTTING_DOWN, ts.id, STATE_NAMES[old], "shutting_down")
    rt.parking_lot.unpark_all(ts.addr)


def delete_list(rt, tstates: list, is_after_fork: bool) -> None:
    """_PyThreadState_DeleteList: Clear each removed thread state on this thread (the world is
    running), then free it (after fork: its OS thread is gone) or drop the interpreter's
    reference (its own thread may still hold one)."""
    ps = rt.pystate
    for t in tstates:
        if not t.cleared:
            ps.clear(t)
        old = t.phase
        t.phase = "deleted"
        rt.emit(PYSTATE_DELETE_LIST, t.id, t.interp.id, old)
        if is_after_fork or rt.bugs_on(BUG_START_DURING_FIN):
            # 3.13: DeleteList frees at once; the thread's own pointer dangles.
            t.refcount = 0
            ps.freed.setdefault(t.id, rt.seq_next())
        else:
            decref_threadstate(rt, t)


# -- finalization ---------------------------------------------------------------------------------
def _phase(rt, phase: str) -> None:
    old = rt.fin_phase
    rt.fin_phase = phase
    rt.emit(PYLIFECYCLE_PHASE, phase, old)


def finalize(rt) -> None:
    """Py_FinalizeEx on the main thread."""
    from . import ceval_gil

    ps = rt.pystate
    eng = rt.engine
    ts = eng.cur.tstate
    if ts is None:
        raise FatalError("Py_FinalizeEx: the calling thread has no thread state")
    if rt.fin_phase:
        raise FatalError("Py_FinalizeEx: already finalizing")
    interp = ts.interp
    rt.check_eval_breaker()
    _phase(rt, "wait_threads")
    interp.finalizing = 1
    rt.threads.shutdown()  # wait_for_thread_shutdown -> threading._shutdown
    _phase(rt, "pending_calls")
    ceval_gil.make_pending_calls(rt, ts)  # _Py_FinishPendingCalls
    _phase(rt, "atexit")
    while rt.atexit:  # _PyAtExit_Call: last registered first
        fn = rt.atexit.pop()
        fn()
    _phase(rt, "stop_the_world")
    ps.stop_the_world(ps.stoptheworld)
    _phase(rt, "set_finalizing")
    eng.point(ATOMIC_STORE_NS)
    interp.finalizing_tstate = ts.id  # _PyInterpreterState_SetFinalizing
    ps.finalizing_tstate = ts.id  # _PyRuntimeState_SetFinalizing
    _phase(rt, "remove_threads")
    removed = remove_except(rt, ts)
    for t in removed:
        set_shutting_down(rt, t)
    _phase(rt, "start_the_world")
    ps.start_the_world(ps.stoptheworld)
    _phase(rt, "delete_threads")
    delete_list(rt, removed, False)
    _phase(rt, "interp_delete")
    eng.point(ATOMIC_STORE_NS)
    interp.freed_seq = rt.seq_next()  # finalize_interp_delete: PyInterpreterState_Delete
    _phase(rt, "exit")
    rt.work(EXIT_NS)
    _phase(rt, "done")


# -- fork -----------------------------------------------------------------------------------------
def runtime_locks(rt) -> list:
    """The locks _PyRuntimeState_ReInitThreads and _PyEval_ReInitThreads zero in the child."""
    ps = rt.pystate
    out: list = [ps.head_mutex, ps.main_pending.mutex]
    for interp in ps.interpreters:
        out += [interp.pending.mutex, interp.qsbr.mutex]  # _PyEval_ReInitThreads, _Py_qsbr_after_fork
    return out


def fork(rt, child_fn: Callable, args: tuple) -> ChildProcess:
    """os.fork(): run ``child_fn(child_rt, *copied args)`` as the child process; returns in
    the parent once the child has exited."""
    ps = rt.pystate
    eng = rt.engine
    me = eng.cur
    ts = me.tstate
    if ts is None:
        raise FatalError("os.fork() needs an attached thread state")
    interp = ts.interp
    if interp.finalizing_tstate is not None:
        raise ForkError("can't fork at interpreter shutdown")
    rt.check_eval_breaker()
    # PyOS_BeforeFork
    for before, _p, _c in reversed(rt.at_fork):
        if before is not None:
            before()
    rt.import_lock.lock()  # _PyImport_AcquireLock
    stw = not rt.bugs_on(BUG_FORK_WITHOUT_STW)
    head = not rt.bugs_on(BUG_FORK_WITHOUT_HEAD_LOCK)
    if stw:
        ps.stop_the_world(ps.stoptheworld)
    if head:
        ps.head_lock()
    # fork(): the child is a copy of this process.
    eng.point(ATOMIC_STORE_NS)
    machine = rt.machine
    pid = machine.next_pid
    machine.next_pid = pid + 1
    parent_pid = rt.pid
    machine.procs[pid] = [parent_pid, me.tid, "running"]
    snap = rt.snapshot()
    machine.saved[parent_pid] = sections(snap)
    machine.current = pid
    rt.emit(PYLIFECYCLE_FORK, pid, me.tid)
    status = _run_child(rt, pid, me, child_fn, args)
    # PyOS_AfterFork_Parent
    rt.emit(PYLIFECYCLE_AFTER_FORK_PARENT, pid, status)
    if head:
        ps.head_unlock()
    if stw:
        ps.start_the_world(ps.stoptheworld)
    rt.import_lock.unlock()
    for _b, after_parent, _c in rt.at_fork:
        if after_parent is not None:
            after_parent()
    return ChildProcess(pid, status)


def _copy_runtime(rt, child_eng: Engine, args: tuple):
    """The child's memory: a deep copy of the runtime (and the guest's arguments), sharing
    only the run's machinery (recorder, strategy, the sim threads of the parent)."""
    memo: dict[int, Any] = {id(rt.engine): child_eng, id(rt.machine): rt.machine}
    if rt._rec is not None:
        memo[id(rt._rec)] = rt._rec
    for t in rt.engine.order:
        memo[id(t)] = t
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    dispatch = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    atomic = dispatch[types.FunctionType]
    dispatch[types.FunctionType] = _copy_function
    try:
        return copy.deepcopy((rt, args), memo)
    finally:
        dispatch[types.FunctionType] = atomic
        sys.setrecursionlimit(limit)


def _copy_function(fn, memo):
    """A closure copied with the process: its cells hold the child's copies (guest callbacks,
    after-fork hooks, the child function itself).  Plain functions stay shared."""
    cells = fn.__closure__
    if not cells:
        return fn
    new_cells = tuple(types.CellType(copy.deepcopy(c.cell_contents, memo)) if _full(c) else types.CellType()
                      for c in cells)
    out = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, new_cells)
    out.__kwdefaults__ = fn.__kwdefaults__
    memo[id(fn)] = out
    return out


def _full(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _run_child(rt, pid: int, forker, child_fn: Callable, args: tuple) -> str:
    eng = rt.engine
    rec = rt._rec
    child_eng = Engine(eng.strategy, max_steps=eng.max_steps)
    child_eng.now = eng.now
    child_eng.steps = eng.steps
    child_eng.step_limit = eng.step_limit
    child_eng.decisions = eng.decisions
    parent_fail = eng.on_fail
    child: list = []

    def on_fail(reason: str, message: str):  # failures in the child are reported against it
        text = f"child process {pid} (forked by T{forker.tid}): {message}"
        if child:
            child[0].failure = [reason, text, rt.seq_next()]  # before the event: its snapshot shows it
        return parent_fail(reason, text) if parent_fail is not None else None

    child_eng.on_fail = on_fail
    crt, (child_fn, cargs) = _copy_runtime(rt, child_eng, (child_fn, args))
    child.append(crt)
    crt.pid = pid
    crt.parent_pid = rt.pid
    crt.hung = []
    fts = forker.tstate
    cts = next(t for t in crt.pystate.all_tstates if t.id == fts.id)
    saved_clock = saved_snapshot = None
    muted: list = []
    if rec is not None:
        saved_clock, saved_snapshot = rec.clock, rec.snapshot
        rt.machine.snapshots[rt.pid] = saved_snapshot
        rec.clock = child_eng
        rec.snapshot = crt.snapshot

        def mute() -> None:  # the child's leftover threads unwind without logging
            muted.append((rec.rows, rec.next_stop, rec.seq))
            rec.rows = [_Discard() for _ in rec.rows]
            rec.next_stop = -1

        child_eng.on_stop = mute
    _bind(eng.strategy, child_eng)
    try:
        failure = child_eng.run(_child_main, (crt, cts, child_fn, cargs), main_tid=forker.tid)
    finally:
        _bind(eng.strategy, eng)
        if rec is not None:
            rec.clock, rec.snapshot = saved_clock, saved_snapshot
            if muted:
                rec.rows, rec.next_stop, rec.seq = muted[0]
                rec._arm()
    eng.now = max(eng.now, child_eng.now)
    eng.steps = child_eng.steps
    if child_eng.decisions is not eng.decisions:
        eng.decisions = child_eng.decisions
    # Ids handed out in the child are never reused by the parent.
    rt.pystate.next_unique_id = max(rt.pystate.next_unique_id, crt.pystate.next_unique_id)
    rt._next_addr = max(rt._next_addr, crt._next_addr)
    rt.next_obj = max(rt.next_obj, crt.next_obj)
    if failure is not None:
        failure.message = f"child process {pid} (forked by T{forker.tid}): {failure.message}"
        rt.failure = crt.failure
        eng.adopt_failure(failure)  # the child's failure is the run's (recorded in the child)
        return failure.reason
    return "ok"


def _bind(strategy, engine) -> None:
    strategy.bind(engine)
    if hasattr(strategy, "_cache_version"):
        strategy._cache_version = -1  # PCT caches its pick per engine's runnable-list version


class _Discard(list):
    def append(self, _value) -> None:
        return None

    def __iadd__(self, _values):
        return self


def _child_main(crt, ts, child_fn: Callable, args: tuple) -> None:
    """The forking thread, continuing in the child: PyOS_AfterFork_Child, the guest's child
    function, then process exit."""
    eng = crt.engine
    me = eng.cur
    me.tstate = ts
    ts.sim = me
    after_fork_child(crt, ts)
    child_fn(crt, *args)
    if not crt.fin_phase:
        crt.threads.shutdown()
    _exit_process(crt, "ok")


def _exit_process(crt, status: str) -> None:
    machine = crt.machine
    pid = crt.pid
    machine.exited[pid] = sections(crt.snapshot())
    machine.procs[pid][2] = "exited"
    machine.current = crt.parent_pid
    machine.saved.pop(crt.parent_pid, None)
    rec = crt._rec
    if rec is not None and crt.parent_pid in machine.snapshots:
        rec.snapshot = machine.snapshots[crt.parent_pid]  # from this event on the state is the parent's
    crt.emit(PYLIFECYCLE_EXIT, pid, status)


def after_fork_child(crt, ts) -> None:
    """PyOS_AfterFork_Child on the only thread of the child."""
    from .threadmodule import after_fork as thread_after_fork

    ps = crt.pystate
    eng = crt.engine
    # _PyRuntimeState_ReInitThreads: main_thread = this one; the parking lot first (every
    # waiter is a thread of the parent).
    crt.parking_lot.after_fork()
    crt.emit(PYLIFECYCLE_AFTER_FORK_CHILD, crt.pid, crt.parent_pid, ts.id)
    for m in runtime_locks(crt):
        reinit_lock(crt, m)
    if not crt.bugs_on(BUG_AFTERFORK_HANDLES):
        thread_after_fork(crt, ts.id)  # _PyThread_AfterFork: before any Python code runs
    # _PyEval_ReInitThreads recreates the GIL taken by this thread: the copy already is.
    # The other thread states: removed with the world still stopped, deleted once it runs.
    removed = remove_except(crt, ts)
    if not crt.bugs_on(BUG_FORK_WITHOUT_STW):
        ps.start_the_world(ps.stoptheworld)
    delete_list(crt, removed, True)
    reinit_lock(crt, crt.import_lock)  # _PyImport_ReInitLock: this thread held it
    for _b, _p, after_child in crt.at_fork:
        if after_child is not None:
            after_child()
    eng.point(ATOMIC_LOAD_NS)


def reinit_lock(crt, m) -> None:
    """Zero a runtime lock in the child (``mutex = (PyMutex){0}``)."""
    if isinstance(m, PyMutex):
        if m.bits or m.owner is not None:
            bits, owner = m.bits, m.owner
            m.bits = 0
            m.owner = None
            crt.emit(PYLIFECYCLE_REINIT_LOCK, m.addr, bits, owner)
    elif isinstance(m, (RWMutex, PyEvent, OnceFlag)):
        from ..record.events import LOCK_WORD

        old = m._load()
        if old:
            prim = "rwmutex" if isinstance(m, RWMutex) else ("event" if isinstance(m, PyEvent) else "once")
            if isinstance(m, RWMutex):
                m.bits = 0
            else:
                m.v = 0
            crt.emit(LOCK_WORD, m.addr, prim, "after_fork", old, 0)


def held_by_vanished(crt) -> list[tuple[int, int]]:
    """(mutex, owner) of every PyMutex in this child process held by a thread that does not
    exist in it (the invariant the fork scenarios check)."""
    alive = {t.tid for t in crt.engine.order}
    out = []
    for p in crt.prims:
        if isinstance(p, PyMutex) and p.bits & 1 and p.owner is not None and p.owner not in alive:
            out.append((p.addr, p.owner))
    return out
