"""Subinterpreters (PEP 684): Python/pylifecycle.c new_interpreter / Py_EndInterpreter,
Python/pystate.c PyInterpreterState_New, _PyThreadState_Swap, PyThreadState_Clear /
PyThreadState_Delete, _PyInterpreterState_SetRunningMain; Python/crossinterp.c
_PyXI_NewInterpreter / _PyXI_EndInterpreter and the cross-interpreter data registry;
Python/import.c's extension cache (the sys/builtins fix-up); Modules/_interpretersmodule.c.

    PyInterpreterConfig         isolated (_PyInterpreterConfig_INIT)   legacy
      use_main_obmalloc         0: its own obmalloc state              1: Py_RTFLAGS_USE_MAIN_OBMALLOC
      gil                       OWN_GIL (2): interp->_gil              SHARED_GIL (1): main's GIL
      allow_threads/daemon/fork/exec, check_multi_interp_extensions  -> Py_RTFLAGS_* feature flags

    create   (_PyXI_NewInterpreter)   swap(NULL)  [the caller's GIL is dropped]
             new_interpreter: PyInterpreterState_New (HEAD_LOCK: id, link), tstate Ts bound to
               this OS thread, swap(Ts) [takes the new interpreter's GIL], sys/builtins fix-up
               through the runtime's extension cache
             throw the initial tstate away: Clear(Ts) while Ts is current, swap(caller),
               Delete(Ts)                               (--bug tstate_clear_wrong_interp:
               swap(caller) first, so Ts's objects die under the caller's interpreter)
    exec     (_PyXI_Enter/_PyXI_Exit) new bound tstate, swap, SetRunningMain (one thread runs
             __main__ at a time), run, UnsetRunningMain, Clear, swap back, Delete
    destroy  (_PyXI_EndInterpreter)    a FINI tstate, swap, Py_EndInterpreter (objects the
             interpreter holds released, Clear, delete; blocks still live are counted as the
             runtime's interpreter_leaks), swap back

Each interpreter has its own stop-the-world state, abandoned-segment pool, QSBR, BRC table,
pending calls and (OWN_GIL) GIL -- they hang off pystate.InterpreterState.  Its allocator
domain (interp->obmalloc) is its own unless it uses main's: a block of one domain freed while
an interpreter of another domain is current ends the run with ``crash``
(``free_in_other_interp``).  Cross-interpreter data is released in its owner interpreter,
through a pending call when another interpreter is current (_Py_CallInInterpreter).

The extension cache (gh-105699): fixed, it is a raw-memory hashtable under its own mutex.
With ``--bug subinterp_shared_sys_init`` it is a dict owned by the main interpreter and a
thread initialising an isolated interpreter switches to main through the ONE shared detached
main-interpreter tstate (bind it, swap to it -- taking the main GIL as that tstate --, store,
swap back, unbind); a second thread binding it meanwhile is the ``invariant`` failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..record.events import (
    INTERPRETERS_DELETE,
    INTERPRETERS_EXTENSIONS,
    INTERPRETERS_NEW,
    INTERPRETERS_RUNNING_MAIN,
    INTERPRETERS_SWAP,
    PYSTATE_DELETE_THREAD,
    THREAD_EXIT,
    THREAD_START,
)
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS
from ..sim.engine import FatalError, GuestFailure
from . import ceval_gil
from . import qsbr as _qsbr
from .lock import PyMutex
from .pystate import SUSPENDED

BUG_CLEAR_WRONG_INTERP = "tstate_clear_wrong_interp"
BUG_SHARED_SYS_INIT = "subinterp_shared_sys_init"

# Include/internal/pycore_interp.h
Py_RTFLAGS_USE_MAIN_OBMALLOC = 1 << 5
Py_RTFLAGS_MULTI_INTERP_EXTENSIONS = 1 << 8
Py_RTFLAGS_THREADS = 1 << 10
Py_RTFLAGS_DAEMON_THREADS = 1 << 11
Py_RTFLAGS_FORK = 1 << 15
Py_RTFLAGS_EXEC = 1 << 16
# Include/cpython/pylifecycle.h
PyInterpreterConfig_DEFAULT_GIL = 0
PyInterpreterConfig_SHARED_GIL = 1
PyInterpreterConfig_OWN_GIL = 2


class InterpreterError(Exception):
    """interpreters.InterpreterError raised to the guest (e.g. 'interpreter already running')."""


@dataclass(frozen=True)
class InterpreterConfig:
    """PyInterpreterConfig."""

    use_main_obmalloc: bool
    allow_fork: bool
    allow_exec: bool
    allow_threads: bool
    allow_daemon_threads: bool
    check_multi_interp_extensions: bool
    gil: int

    @classmethod
    def named(cls, name: str) -> "InterpreterConfig":
        if name == "isolated":  # _PyInterpreterConfig_INIT
            return cls(False, False, False, True, False, True, PyInterpreterConfig_OWN_GIL)
        if name == "legacy":  # _PyInterpreterConfig_LEGACY_INIT (free-threaded: multi-phase check on)
            return cls(True, True, True, True, True, True, PyInterpreterConfig_SHARED_GIL)
        raise ValueError(f"unknown interpreter config {name!r} (isolated, legacy)")

    def feature_flags(self) -> int:
        """init_interp_settings."""
        f = 0
        if self.use_main_obmalloc:
            f |= Py_RTFLAGS_USE_MAIN_OBMALLOC
        if self.check_multi_interp_extensions:
            f |= Py_RTFLAGS_MULTI_INTERP_EXTENSIONS
        if self.allow_threads:
            f |= Py_RTFLAGS_THREADS
        if self.allow_daemon_threads:
            f |= Py_RTFLAGS_DAEMON_THREADS
        if self.allow_fork:
            f |= Py_RTFLAGS_FORK
        if self.allow_exec:
            f |= Py_RTFLAGS_EXEC
        return f


class XIRegistry:
    """_PyXIData_registry_t: class -> getdata, newest first, under its own mutex."""

    def __init__(self, rt, name: str) -> None:
        self.mutex = PyMutex(rt, rt.alloc(8, f"{name}.xi.registry.mutex"), f"{name}.xi.registry.mutex")
        self.entries: list[list] = []  # [cls, getdata, refcount]


class ExtensionsCache:
    """_PyRuntime.imports.extensions: the single-phase-init module cache keyed by
    (filename, name)."""

    def __init__(self, rt) -> None:
        self.mutex = PyMutex(rt, rt.alloc(8, "imports.extensions.mutex"), "imports.extensions.mutex")
        self.hashtable: dict[str, int] = {}  # fixed: "filename\0name" -> a PyMem_RawMalloc'd entry
        self.main_dict: dict[str, Any] = {}  # --bug: a dict of the main interpreter
        self.main_tstate = None  # --bug: EXTENSIONS.main_tstate, the one detached main tstate


class InterpretersRuntime:
    """What the runtime keeps about interpreters beyond pystate.InterpreterState."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.next_id = 1  # _PyRuntime.interpreters.next_id (main is 0)
        self.extensions = ExtensionsCache(rt)
        self.global_registry = XIRegistry(rt, "runtime")  # _PyRuntime.xi.data_lookup.registry
        self.tstate_dict: dict[int, list] = {}  # tstate id -> objects its tstate->dict holds
        self.interp_objects: dict[int, list] = {}  # interp id -> objects the interpreter holds (sys, builtins)
        self.interpreter_leaks = 0  # _PyRuntime.obmalloc.interpreter_leaks
        self.on_interp: dict[int, int] = {}  # OS thread -> the subinterpreter it last swapped into
        self.clearing = None  # the thread state PyThreadState_Clear is clearing (for failure messages)


def runtime_state(rt) -> InterpretersRuntime:
    st = rt.__dict__.get("interpreters_runtime")
    if st is None:
        st = rt.interpreters_runtime = InterpretersRuntime(rt)
    return st


def _obmalloc_of(interp):
    """interp->obmalloc: main's state for the main interpreter and USE_MAIN_OBMALLOC ones."""
    return getattr(interp, "obmalloc", interp)


def _registry_of(rt, interp) -> XIRegistry:
    reg = interp.__dict__.get("xi_registry")
    if reg is None:
        reg = interp.xi_registry = XIRegistry(rt, f"interp{interp.id}")
    return reg


def free_in_other_interp(rt, blk, seg, tstate) -> None:
    """obmalloc.free of a block whose segment belongs to another interpreter than the
    current one: allowed when both use the same obmalloc state, else the block would be freed
    into an allocator state that does not own it (PEP 684)."""
    if _obmalloc_of(seg.interp) is _obmalloc_of(tstate.interp):
        return
    bugs = sorted(rt.bugs)
    tail = " [" + ", ".join(bugs) + "]" if bugs else ""
    what = f"{blk.obj!r} in " if blk.obj is not None else ""
    clearing = runtime_state(rt).clearing
    during = ""
    if clearing is not None and clearing.interp is seg.interp:
        during = f" by PyThreadState_Clear of tstate {clearing.id} (interpreter {clearing.interp.id})"
    raise GuestFailure("crash", (
        f"T{rt.engine.tid}: {what}block 0x{blk.addr:x} (allocation #{blk.alloc_id} by T{blk.alloc_tid}, {blk.size} B) "
        f"of interpreter {seg.interp.id}'s allocator freed{during} while interpreter {tstate.interp.id} is current "
        f"(tstate {tstate.id}): its obmalloc state does not own the block{tail}"))


# -- thread states -----------------------------------------------------------------------------------
def new_bound_tstate(rt, interp):
    """_PyThreadState_NewBound: a new thread state of ``interp`` bound to this OS thread."""
    ps = rt.pystate
    ts = ps.new_threadstate(interp)
    ps.bind(ts, rt.engine.cur)
    return ts


def swap(rt, new):
    """_PyThreadState_Swap(new): detach the current thread state (dropping its interpreter's
    GIL), attach ``new`` (taking its interpreter's GIL); returns the old one."""
    ps = rt.pystate
    cur = rt.engine.cur
    old = cur.tstate
    if old is not None:
        ps.detach(old)
    if new is not None:
        ps.attach(new)
        if new.phase == "created":
            new.phase = "running"
            rt.emit(THREAD_START, new.id)
    interp = new.interp.id if new is not None else -1
    on = runtime_state(rt).on_interp
    if interp > 0:
        on[rt.engine.tid] = interp
    else:
        on.pop(rt.engine.tid, None)
    rt.emit(INTERPRETERS_SWAP, new.id if new is not None else 0, interp,
            old.id if old is not None else 0, old.interp.id if old is not None else -1)
    return old


def thread_state_clear(rt, ts) -> None:
    """PyThreadState_Clear: must run with a thread state of the same interpreter current
    (gh-112723: objects and free lists would be destroyed under the wrong interpreter)."""
    cur = rt.engine.cur.tstate
    if (cur is None or cur.interp is not ts.interp) and not rt.bugs_on(BUG_CLEAR_WRONG_INTERP):
        raise FatalError(f"PyThreadState_Clear: tstate {ts.id} of interpreter {ts.interp.id} cleared while "
                         f"interpreter {cur.interp.id if cur else '-'} is current")
    # Py_CLEAR(tstate->dict) and the other object fields: their destructors run with the
    # *current* interpreter.
    xs = runtime_state(rt)
    xs.clearing = ts
    for op in xs.tstate_dict.pop(ts.id, []):
        op.decref()
    xs.clearing = None
    if ts.phase == "running":
        ts.phase = "exited"
        rt.emit(THREAD_EXIT, ts.id)
    rt.pystate.clear(ts)  # BRC, delayed frees, mimalloc heaps (pystate.py)


def thread_state_delete(rt, ts) -> None:
    """PyThreadState_Delete of a thread state that is not current: tstate_delete_common
    without releasing a GIL."""
    ps = rt.pystate
    if rt.engine.cur.tstate is ts:
        raise FatalError("PyThreadState_Delete: tstate is still current")
    if not ts.cleared:
        raise FatalError(f"PyThreadState_Delete: tstate {ts.id} was not cleared")
    ps.head_lock()
    rt.engine.point(ATOMIC_STORE_NS)
    ts.interp.threads.remove(ts)
    if ts.state != SUSPENDED:  # a pause that counted it must not wait for it
        for stw in (ts.interp.stoptheworld, ps.stoptheworld):
            if stw.requested and stw.thread_countdown > 0 and stw.requester is not ts:
                ps._decrement_countdown(stw)
    if ts.phase == "created":  # never ran: the replay's phases go created -> running -> exited -> deleted
        ts.phase = "running"
        rt.emit(THREAD_START, ts.id)
    if ts.phase == "running":
        ts.phase = "exited"
        rt.emit(THREAD_EXIT, ts.id)
    ts.phase = "deleted"
    rt.emit(PYSTATE_DELETE_THREAD, ts.id, ts.interp.id)
    ps.head_unlock()
    _qsbr.unregister(rt, ts.interp.qsbr, ts)
    ts.finalized = True
    ts.active = False


def set_running_main(rt, interp, ts) -> None:
    """_PyInterpreterState_SetRunningMain: fails if a thread already runs __main__."""
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    if interp.__dict__.get("threads_main") is not None:  # _PyInterpreterState_FailIfRunningMain
        raise InterpreterError("interpreter already running")
    if ts.interp is not interp:
        raise InterpreterError("current tstate has wrong interpreter")
    eng.point(ATOMIC_STORE_NS)
    interp.threads_main = ts
    rt.emit(INTERPRETERS_RUNNING_MAIN, interp.id, ts.id, 0)


def unset_running_main(rt, interp, ts) -> None:
    rt.engine.point(ATOMIC_STORE_NS)
    interp.threads_main = None
    rt.emit(INTERPRETERS_RUNNING_MAIN, interp.id, 0, ts.id)


# -- creation ---------------------------------------------------------------------------------------------
def interpreter_state_new(rt, config: InterpreterConfig, whence: str):
    """PyInterpreterState_New + init_interp_settings + init_interp_create_gil's choice."""
    from .pystate import InterpreterState

    ps = rt.pystate
    xs = runtime_state(rt)
    ps.head_lock()
    iid = xs.next_id
    xs.next_id = iid + 1
    interp = InterpreterState(ps, iid)
    interp.whence = whence
    interp.feature_flags = config.feature_flags()
    interp.own_gil = config.gil == PyInterpreterConfig_OWN_GIL
    if not interp.own_gil:
        interp.gil = ps.main_interp.gil  # init_shared_gil
    # _PyMem_init_obmalloc: its own state unless it uses the main interpreter's
    interp.obmalloc = _obmalloc_of(ps.main_interp) if config.use_main_obmalloc else interp
    interp.threads_main = None
    rt.engine.point(ATOMIC_STORE_NS)
    ps.interpreters.append(interp)
    rt.emit(INTERPRETERS_NEW, iid, whence, interp.feature_flags, interp.own_gil, not config.use_main_obmalloc)
    ps.head_unlock()
    return interp


def new_interpreter(rt, config: InterpreterConfig, whence: str):
    """new_interpreter (Py_NewInterpreterFromConfig): returns the interpreter and its new
    thread state, which is left current."""
    interp = interpreter_state_new(rt, config, whence)
    ts = new_bound_tstate(rt, interp)
    swap(rt, ts)  # takes the new interpreter's GIL (init_interp_create_gil)
    # pycore_interp_init: sys and builtins, created in the new interpreter's allocator, fixed up
    # through the extension cache; the thread state's dict gets its first object.
    xs = runtime_state(rt)
    held = xs.interp_objects.setdefault(interp.id, [])
    for mod in ("sys", "builtins"):
        held.append(rt.new_object("module", 64, name=f"interp{interp.id}.{mod}"))
        fixup_extension(rt, interp, ts, mod)
    xs.tstate_dict.setdefault(ts.id, []).append(rt.new_object("dict", 48, name=f"tstate{ts.id}.dict"))
    return interp, ts


def create(rt, config: InterpreterConfig, whence: str = "stdlib"):
    """_PyXI_NewInterpreter with the initial thread state thrown away (_interpreters.create)."""
    save = swap(rt, None)  # PyThreadState_Swap(NULL)
    interp, ts = new_interpreter(rt, config, whence)
    if rt.bugs_on(BUG_CLEAR_WRONG_INTERP):
        # interp_create before gh-112723: back to the caller first, then clear.
        swap(rt, save)
        thread_state_clear(rt, ts)
    else:
        thread_state_clear(rt, ts)
        swap(rt, save)
    thread_state_delete(rt, ts)
    return interp


def end_interpreter(rt, interp) -> None:
    """_PyXI_EndInterpreter: a FINI thread state, Py_EndInterpreter, swap back."""
    ps = rt.pystate
    xs = runtime_state(rt)
    save = swap(rt, None)
    ts = new_bound_tstate(rt, interp)
    swap(rt, ts)
    if interp.__dict__.get("threads_main") is not None:
        raise FatalError(f"Py_EndInterpreter: interpreter {interp.id} is still running __main__")
    if any(t is not ts for t in interp.threads):
        raise FatalError(f"Py_EndInterpreter: interpreter {interp.id} has other thread states")
    for op in reversed(xs.interp_objects.pop(interp.id, [])):  # finalize_modules, interpreter_clear
        op.decref()
    thread_state_clear(rt, ts)
    swap(rt, None)  # PyInterpreterState_Delete detaches the current thread state, then zapthreads
    thread_state_delete(rt, ts)
    # _PyInterpreterState_FinalizeAllocatedBlocks: blocks still live in its own state are leaks.
    if _obmalloc_of(interp) is interp:
        leaks = sum(1 for b in rt.obmalloc.blocks.values() if b.live and b.page.segment.interp is interp)
        xs.interpreter_leaks += leaks
    ps.head_lock()
    rt.engine.point(ATOMIC_STORE_NS)
    ps.interpreters.remove(interp)
    rt.emit(INTERPRETERS_DELETE, interp.id, interp.whence, interp.feature_flags, interp.own_gil,
            _obmalloc_of(interp) is interp, interp.qsbr.wr_seq, interp.qsbr.rd_seq)
    ps.head_unlock()
    swap(rt, save)


# -- the extension cache's sys/builtins fix-up ------------------------------------------------------------
def fixup_extension(rt, interp, ts, name: str) -> None:
    """_PyImport_FixupBuiltin -> the cache update for ``name`` while ``interp`` initialises."""
    ec = runtime_state(rt).extensions
    key = f"<builtin>\0{name}"
    if not rt.bugs_on(BUG_SHARED_SYS_INIT) or interp is rt.pystate.main_interp:
        ec.mutex.lock()
        rt.emit(INTERPRETERS_EXTENSIONS, name, "store", ts.id, interp.id)
        if key not in ec.hashtable:
            ec.hashtable[key] = rt.alloc(32)  # _Py_hashtable_set with the raw allocator
        ec.mutex.unlock()
        return
    # 3.12 betas: switch to the main interpreter through the shared detached tstate.
    eng = rt.engine
    ps = rt.pystate
    tm = ec.main_tstate
    if tm is None:
        tm = ec.main_tstate = ps.new_threadstate(ps.main_interp)  # _PyThreadState_InitDetached
    eng.point(ATOMIC_LOAD_NS)
    if tm.bound and tm.sim is not None and tm.sim is not eng.cur:
        raise GuestFailure("invariant", (
            f"tstate {tm.id} (interpreter 0) bound to OS threads T{tm.sim.tid} and T{eng.tid} simultaneously "
            f"(extension-cache fix-up for {name!r} of interpreter {interp.id}) [{BUG_SHARED_SYS_INIT}]"))
    eng.point(ATOMIC_STORE_NS)
    tm.bound = True  # _PyThreadState_BindDetached
    tm.sim = eng.cur
    rt.emit(INTERPRETERS_EXTENSIONS, name, "bind", tm.id, interp.id)
    swap(rt, tm)  # drops this interpreter's GIL, takes the main GIL as the shared tstate
    ec.mutex.lock()
    rt.emit(INTERPRETERS_EXTENSIONS, name, "store", tm.id, interp.id)
    if key not in ec.main_dict:
        ec.main_dict[key] = rt.obmalloc.malloc(0, 64).addr  # the dict's item, in main's allocator
    ec.mutex.unlock()
    swap(rt, ts)  # drop_gil(main) as the shared tstate (FORCE_SWITCHING wait if asked to drop)
    eng.point(ATOMIC_STORE_NS)
    tm.bound = False  # _PyThreadState_UnbindDetached
    tm.sim = None
    rt.emit(INTERPRETERS_EXTENSIONS, name, "unbind", tm.id, interp.id)


# -- cross-interpreter data and calls ---------------------------------------------------------------------
def register_class(rt, interp, cls: str, getdata: Callable) -> None:
    """_PyXIData_RegisterClass in the interpreter's registry."""
    reg = _registry_of(rt, interp)
    reg.mutex.lock()
    for ent in reg.entries:
        if ent[0] == cls:
            ent[2] += 1
            break
    else:
        reg.entries.insert(0, [cls, getdata, 1])
    reg.mutex.unlock()


def lookup_getdata(rt, interp, cls: str) -> Optional[Callable]:
    """_PyXIData_Lookup: the current interpreter's registry, then the runtime's."""
    for reg in (_registry_of(rt, interp), runtime_state(rt).global_registry):
        reg.mutex.lock()
        fn = next((e[1] for e in reg.entries if e[0] == cls), None)
        reg.mutex.unlock()
        if fn is not None:
            return fn
    return None


class XIData:
    """_PyXIData_t: ``obj`` stays owned by interpreter ``interp`` until released there."""

    __slots__ = ("obj", "interp", "value")

    def __init__(self, obj, interp, value: Any) -> None:
        self.obj = obj
        self.interp = interp
        self.value = value


def call_in_interpreter(rt, interp, fn: Callable[[], Any]) -> None:
    """_Py_CallInInterpreter: now if ``interp`` is current, else a pending call there (any of
    its threads runs it at an eval-breaker check)."""
    cur = rt.engine.cur.tstate
    if cur is not None and cur.interp is interp:
        fn()
        return
    ceval_gil.add_pending_call(rt, interp, fn, False)


def release_xidata(rt, data: XIData) -> None:
    """_PyXIData_Release: the owner's reference is dropped in the owner interpreter."""
    obj = data.obj
    call_in_interpreter(rt, data.interp, obj.decref)


# -- the guest's handle -----------------------------------------------------------------------------------
class Interpreter:
    """concurrent.interpreters.Interpreter, as scenarios use it (``rt.new_interpreter()``)."""

    def __init__(self, rt, interp) -> None:
        self.rt = rt
        self.interp = interp
        self.id = interp.id

    def exec(self, fn: Callable, *args: Any) -> Any:
        """Run ``fn(*args)`` as this interpreter's __main__ on the calling thread."""
        rt = self.rt
        rt.check_eval_breaker()
        interp = self.interp
        cur = rt.engine.cur.tstate
        switched = cur is None or cur.interp is not interp
        ts = cur
        prev = None
        if switched:
            ts = new_bound_tstate(rt, interp)
            prev = swap(rt, ts)
        try:
            set_running_main(rt, interp, ts)
            try:
                return fn(*args)
            finally:
                unset_running_main(rt, interp, ts)
        finally:
            if switched:
                thread_state_clear(rt, ts)
                swap(rt, prev)
                thread_state_delete(rt, ts)

    def share(self, obj) -> XIData:
        """_PyObject_GetXIData in this (the current) interpreter: the data keeps a reference."""
        rt = self.rt
        rt.check_eval_breaker()
        getdata = lookup_getdata(rt, self.interp, obj.type)
        if getdata is None:
            raise InterpreterError(f"{obj.type} does not support cross-interpreter data")
        obj.incref()
        return XIData(obj, self.interp, getdata(obj))

    def release(self, data: XIData) -> None:
        self.rt.check_eval_breaker()
        release_xidata(self.rt, data)

    def register_class(self, cls: str, getdata: Callable) -> None:
        self.rt.check_eval_breaker()
        register_class(self.rt, self.interp, cls, getdata)

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """_Py_CallInInterpreter(interp, fn)."""
        self.rt.check_eval_breaker()
        call_in_interpreter(self.rt, self.interp, fn)

    def close(self) -> None:
        """_interpreters.destroy."""
        self.rt.check_eval_breaker()
        end_interpreter(self.rt, self.interp)


# -- live state --------------------------------------------------------------------------------------------
def snapshot_into(rt, st) -> None:
    """The subinterpreters and the thread states that belong to them, as the projection has them."""
    ps = rt.pystate
    for interp in ps.interpreters:
        if interp.id == 0:
            continue
        main = interp.__dict__.get("threads_main")
        gil = interp.gil
        holder = None
        if interp.own_gil and gil.locked and gil.last_holder is not None:
            holder = gil.last_holder.id
        st.interps[interp.id] = [interp.whence, interp.feature_flags, interp.own_gil, _obmalloc_of(interp) is interp,
                                 main.id if main is not None else None, holder, interp.qsbr.wr_seq, interp.qsbr.rd_seq]
    for ts in ps.all_tstates:
        if ts.interp.id:
            st.interp_of[ts.id] = ts.interp.id
    xs = rt.__dict__.get("interpreters_runtime")
    if xs is not None:
        st.on_interp.update(xs.on_interp)
    for interp in ps.interpreters:
        stw = interp.stoptheworld
        if interp.id and stw.requested:  # a subinterpreter's pause (the main one's is 'interp')
            st.stw[f"interp{interp.id}"] = [stw.requester.id if stw.requester else 0, stw.thread_countdown,
                                            stw.world_stopped]
