"""One execution of the model: every piece of modelled state hangs off a ``Runtime``.

Scenarios receive it as ``rt`` and build their programs from it: mutexes, events, once
flags, rwmutexes, seqlocks, plain shared fields (``rt.var``), threads
(``rt.start_thread``), objects with biased reference counts (``rt.new_object``) and
critical sections on them (``with rt.critical_section(a, b):``).  The guest's main
function runs as thread 1 with an attached thread state; when it returns, the runtime
joins the remaining non-daemon threads, as ``threading._shutdown`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from ..record.events import GUEST_LOAD, GUEST_STORE, RUN_LABEL, THREAD_START
from ..replay.state import State
from ..sim.clock import GUEST_OP_NS
from ..sim.engine import Engine
from . import ceval_gil
from . import object as pyobject
from . import qsbr as _qsbr
from . import interpreters, typeobject
from .critical_section import CriticalSection, stack_record
from .lock import OnceFlag, PyEvent, PyMutex, RawMutex, RecursiveMutex, RWMutex, SeqLock
from .obmalloc import HEAP_NAMES, Obmalloc
from .parking_lot import ParkingLot
from .pylifecycle import Machine
from .pystate import STATE_NAMES, RuntimeState
from .threadmodule import ThreadModule

if TYPE_CHECKING:
    from .dictobject import PyDict
    from .instrumentation import CodeObject
    from .listobject import PyList

HEAP_BASE = 0x7F0000100000
ALIGN = 16


class GuestVar:
    """A plain (non-atomic) shared field of the guest program: every access is a
    scheduling point and an event, so races on it are visible."""

    __slots__ = ("rt", "addr", "value", "name")

    def __init__(self, rt: "Runtime", addr: int, value: Any, name: str) -> None:
        self.rt = rt
        self.addr = addr
        self.value = value
        self.name = name
        rt.prims.append(self)
        if _code(value):
            rt.emit(GUEST_STORE, addr, _code(value), 0)  # the initial value, so replay sees it

    def snapshot_into(self, state) -> None:
        v = _code(self.value)
        if v:
            state.guest[self.addr] = v

    def load(self) -> Any:
        rt = self.rt
        rt.engine.point(GUEST_OP_NS)
        v = self.value
        rt.emit(GUEST_LOAD, self.addr, _code(v))
        return v

    def store(self, value: Any) -> None:
        rt = self.rt
        rt.engine.point(GUEST_OP_NS)
        prev = self.value
        self.value = value
        rt.emit(GUEST_STORE, self.addr, _code(value), _code(prev))


class MemBlock:
    """A PyMem_Malloc buffer held by guest code."""

    __slots__ = ("rt", "addr", "alloc_id", "size")

    def __init__(self, rt: "Runtime", addr: int, alloc_id: int, size: int) -> None:
        self.rt = rt
        self.addr = addr
        self.alloc_id = alloc_id
        self.size = size

    def read(self) -> None:
        """Touch the buffer: use_after_free if it was freed meanwhile."""
        self.rt.engine.point(GUEST_OP_NS)
        self.rt.obmalloc.check_read(self.addr, self.alloc_id, "read buffer")

    def free(self) -> None:
        """PyMem_Free."""
        self.rt.check_eval_breaker()
        self.rt.obmalloc.free(self.addr)

    def free_delayed(self) -> None:
        """_PyMem_FreeDelayed: freed once lock-free readers can no longer hold it."""
        self.rt.check_eval_breaker()
        self.rt.obmalloc.free_delayed(self.addr, self.size)


class StoppedWorld:
    """The context manager of ``Runtime.stopped_world``."""

    __slots__ = ("rt", "stw")

    def __init__(self, rt: "Runtime", scope: str) -> None:
        self.rt = rt
        ps = rt.pystate
        ts = rt.engine.cur.tstate
        interp = ts.interp if ts is not None else ps.main_interp
        self.stw = ps.stoptheworld if scope == "global" else interp.stoptheworld

    def __enter__(self) -> "StoppedWorld":
        self.rt.check_eval_breaker()
        self.rt.pystate.stop_the_world(self.stw)
        return self

    def __exit__(self, *exc) -> None:
        self.rt.pystate.start_the_world(self.stw)


def _code(v: Any) -> int:
    """The int an event records for a guest value: ints as is, None as 0, objects by address."""
    if v is None:
        return 0
    if isinstance(v, int):
        return int(v)
    addr = getattr(v, "addr", None)
    return addr if isinstance(addr, int) else 0


class Runtime:
    def __init__(self, engine: Engine, emit: Callable[..., None], bugs: Iterable[str] = (), knobs: Optional[dict] = None):
        self.engine = engine
        self.emit = emit
        self.bugs = frozenset(bugs)
        self.knobs = dict(knobs or {})
        self.gil_build = self.knobs.get("build", "ft") == "gil"  # no Py_GIL_DISABLED
        self._next_addr = HEAP_BASE
        self.labels: dict[int, str] = {}
        self.prims: list[Any] = []  # every modelled primitive, for snapshots
        self.failure: Optional[list] = None  # [reason, message, seq] once the run failed
        self.objects: dict[int, pyobject.PyObject] = {}  # live objects by obj id
        self.next_obj = 0  # the last obj id handed out (never reused)
        rec = getattr(emit, "__self__", None)
        self._rec = rec if hasattr(rec, "seq") else None
        # Processes and finalization (pylifecycle.py); set before the first thread state.
        self.machine = Machine()  # shared by the processes of the run
        self.pid = 1
        self.parent_pid = 0
        self.fin_phase = ""  # the finalization phase ('' = not finalizing)
        self.atexit: list[Callable[[], Any]] = []
        self.at_fork: list[tuple] = []  # (before, after_in_parent, after_in_child)
        self.hung: list[int] = []  # threads parked forever by _PyThreadState_HangThread
        self._import_lock: Optional[PyMutex] = None
        self.obmalloc = Obmalloc(self)
        self.parking_lot = ParkingLot(self)
        self.pystate = RuntimeState(self)
        self.threads = ThreadModule(self)

    def bugs_on(self, name: str) -> bool:
        return name in self.bugs

    def seq_next(self) -> int:
        """The seq the next event will get (-1 when not recording)."""
        rec = self._rec
        return rec.seq if rec is not None else -1

    # -- addresses ------------------------------------------------------------------------
    def alloc(self, size: int, label: str = "") -> int:
        """A fresh modelled address (a bump allocator until the obmalloc model lands)."""
        addr = self._next_addr
        self._next_addr += (size + ALIGN - 1) // ALIGN * ALIGN
        if label:
            self.label(addr, label)
        return addr

    def label(self, addr: int, label: str) -> None:
        """Name a modelled address (an event, so replay and the TUI see it)."""
        old = self.labels.get(addr)
        self.labels[addr] = label
        self.emit(RUN_LABEL, addr, label, old)

    # -- guest API ------------------------------------------------------------------------
    def mutex(self, name: str = "") -> PyMutex:
        return PyMutex(self, self.alloc(8, name or "mutex"), name)

    def raw_mutex(self, name: str = "") -> RawMutex:
        return RawMutex(self, self.alloc(8, name or "raw_mutex"), name)

    def recursive_mutex(self, name: str = "") -> RecursiveMutex:
        return RecursiveMutex(self, self.alloc(24, name or "recursive_mutex"), name)

    def event(self, name: str = "") -> PyEvent:
        return PyEvent(self, self.alloc(8, name or "event"), name)

    def once_flag(self, name: str = "") -> OnceFlag:
        return OnceFlag(self, self.alloc(8, name or "once_flag"), name)

    def rwmutex(self, name: str = "") -> RWMutex:
        return RWMutex(self, self.alloc(8, name or "rwmutex"), name)

    def seqlock(self, name: str = "") -> SeqLock:
        return SeqLock(self, self.alloc(8, name or "seqlock"), name)

    def var(self, name: str, value: Any = 0) -> GuestVar:
        return GuestVar(self, self.alloc(8, name), value, name)

    def new_object(
        self,
        type: str = "object",
        size: int = pyobject.SIZEOF_PYOBJECT,
        gc: bool = False,
        immortal: bool = False,
        dealloc: Optional[Callable[[pyobject.PyObject], None]] = None,
        name: str = "",
        preheader: bool = False,
    ) -> pyobject.PyObject:
        """A new object owned by the calling thread (refcount 1, in ob_ref_local).
        ``dealloc(obj)`` runs as its tp_dealloc; ``immortal`` makes it immortal at once."""
        self.check_eval_breaker()
        op = pyobject.new_object(self, type, size, gc, name, preheader)
        op.tp_dealloc = dealloc
        if immortal:
            pyobject.set_immortal(op)
        return op

    def new_list(self, name: str = "") -> "PyList":
        """A list (listobject.py): append/store/pop/clear under its critical section,
        ``get_item_ref`` lock-free once shared."""
        from .listobject import PyList

        self.check_eval_breaker()
        return PyList(self, name)

    def new_dict(self, name: str = "") -> "PyDict":
        """A dict with string keys (dictobject.py); ``get_ref`` reads without the lock."""
        from .dictobject import PyDict

        self.check_eval_breaker()
        return PyDict(self, name)

    def malloc(self, size: int) -> "MemBlock":
        """PyMem_Malloc(size): a raw buffer on the calling thread's mem heap."""
        self.check_eval_breaker()
        blk = self.obmalloc.malloc(0, size)
        return MemBlock(self, blk.addr, blk.alloc_id, size)

    def stopped_world(self, scope: str = "interp") -> "StoppedWorld":
        """``with rt.stopped_world():`` the body runs with every other thread of the
        interpreter (``scope='global'``: of every interpreter) suspended
        (_PyEval_StopTheWorld / _PyEval_StopTheWorldAll)."""
        if scope not in ("interp", "global"):
            raise ValueError(f"scope must be 'interp' or 'global', not {scope!r}")
        return StoppedWorld(self, scope)

    # -- code, monitoring, interpreter_clear (instrumentation.py) -------------------------------
    def code(self, fn: Callable, name: str = "") -> "CodeObject":
        """A code object for a guest function; ``rt.call(code, *args)`` runs it through RESUME."""
        from .instrumentation import CodeObject

        return CodeObject(fn, name or getattr(fn, "__name__", "code"))

    def call(self, code, *args: Any) -> Any:
        """Call a guest function: RESUME (periodic check, instrumentation version check), body."""
        from .instrumentation import call

        return call(self, code, *args)

    def enable_monitoring(self) -> int:
        """sys.monitoring.set_events: a new monitoring version, copied to every thread under
        stop-the-world; returns it."""
        from .instrumentation import enable_monitoring

        self.check_eval_breaker()
        return enable_monitoring(self)

    def set_global(self, name: str, obj) -> None:
        """A module global of ``__main__``: the interpreter holds a reference until
        ``interpreter_clear``."""
        self.check_eval_breaker()
        obj.incref()
        old = self.engine.cur.tstate.interp.globals.pop(name, None)
        self.engine.cur.tstate.interp.globals[name] = obj
        if old is not None:
            old.decref()

    def interpreter_clear(self) -> None:
        """The finalization step that clears the interpreter: monitoring versions go to 0,
        globals are released (their finalizers run Python code)."""
        from .instrumentation import interpreter_clear

        interpreter_clear(self, self.engine.cur.tstate.interp)

    # -- subinterpreters, types, functions (interpreters.py, typeobject.py, funcobject.py) -------
    def new_interpreter(self, config: str = "isolated"):
        """concurrent.interpreters.create(): a subinterpreter, created on this thread
        ('isolated': its own GIL and obmalloc state; 'legacy': main's).  The handle has
        exec(fn, *args), share(obj) / release(data), register_class, call_soon, close()."""
        from .interpreters import Interpreter, InterpreterConfig, create

        self.check_eval_breaker()
        return Interpreter(self, create(self, InterpreterConfig.named(config)))

    def new_type(self, name: str, bases: tuple = (), attrs: Optional[dict] = None):
        """class name(*bases): a heap type of the current interpreter; ``attrs`` maps
        attribute names to objects (the type holds references)."""
        from .typeobject import PyType

        self.check_eval_breaker()
        return PyType(self, name, bases, attrs)

    def type_lookup(self, tp, name: str):
        """_PyType_LookupRef(tp, name) through the type cache: a new reference or None."""
        from .typeobject import lookup

        return lookup(self, tp, name)

    def type_setattr(self, tp, name: str, value) -> None:
        """type.__setattr__: invalidates tp's version (and its subclasses'), then stores."""
        from .typeobject import setattr as type_setattr

        type_setattr(self, tp, name, value)

    def make_function(self, name: str, body: Callable, argcount: int, defaults: tuple = ()):
        """def name(...): a code object (its version from func_state.next_version) and a
        function carrying it; call it, or through ``rt.call_site()``."""
        from .funcobject import make_function

        return make_function(self, name, body, argcount, defaults)

    def call_site(self, name: str = "call"):
        """A CALL instruction that specialises on the callee's function version."""
        from .funcobject import CallSite

        return CallSite(self, name)

    def add_pending_call(self, fn: Callable[[], Any], main_only: bool = False) -> None:
        """Py_AddPendingCall / _PyEval_AddPendingCall: ``fn()`` runs at some thread's next
        eval-breaker check (only the main thread's with ``main_only``)."""
        self.check_eval_breaker()
        ceval_gil.add_pending_call(self, self.engine.cur.tstate.interp, fn, main_only)

    def raise_signal(self, handler: Callable[[], Any]) -> None:
        """A signal arrives: ``handler()`` runs on the main thread at its next check."""
        ceval_gil.signal_received(self, handler)

    def gc_collect(self) -> int:
        """gc.collect(): a full collection on this thread; returns the objects collected."""
        from .gc_free_threading import collect

        self.check_eval_breaker()
        return collect(self, "manual")

    def set_async_exc(self, thread, name: str = "SystemExit") -> None:
        """PyThreadState_SetAsyncExc(thread, exc): ``thread`` (a handle from start_thread)
        raises ``ceval_gil.AsyncException(name)`` at its next eval-breaker check."""
        self.check_eval_breaker()
        ceval_gil.set_async_exc(self, thread.tstate, name)

    def critical_section(self, a: Any, b: Any = None) -> CriticalSection:
        """``with rt.critical_section(a):`` / ``with rt.critical_section(a, b):``: the
        objects' (or PyMutexes') critical section, Py_BEGIN_CRITICAL_SECTION(2)."""
        return CriticalSection(self, a, b)

    def check_eval_breaker(self) -> None:
        """_CHECK_PERIODIC at a bytecode boundary: a QSBR quiescent state, then
        _Py_HandlePending when an event bit is set.  The relaxed load of the eval breaker is
        part of the calling operation's step."""
        ts = self.engine.cur.tstate
        if ts is not None:
            q = ts.qsbr
            if q is not None and q.seq != ts.interp.qsbr.wr_seq:
                _qsbr.quiescent_state(self, q, ts.interp.qsbr, ts.id)
            if ts.eval_breaker & ceval_gil._PY_EVAL_EVENTS_MASK:
                ceval_gil.handle_pending(self, ts)

    def start_thread(self, fn: Callable, *args: Any, name: str = "", daemon: bool = False):
        """threading.Thread(target=fn, args=args).start(); returns an object with join()."""
        return self.threads.start(fn, args, name or f"thread-{len(self.threads.handles) + 1}", daemon)

    # -- fork and finalization (pylifecycle.py) -------------------------------------------------
    @property
    def import_lock(self) -> PyMutex:
        """The import lock (made on first use: PyOS_BeforeFork takes it)."""
        if self._import_lock is None:
            self._import_lock = PyMutex(self, self.alloc(8, "runtime.imports.lock"), "import lock")
        return self._import_lock

    def fork(self, child: Callable, *args: Any):
        """os.fork(): ``child(child_rt, *args)`` runs as the child process, where only the
        calling thread exists, on a copy of this process (``args`` are copied with it, so the
        child uses its own copies).  Returns in the parent, after the child exited, an object
        with ``pid`` and ``status``."""
        from .pylifecycle import fork

        return fork(self, child, args)

    def register_at_fork(self, before: Optional[Callable] = None, after_in_parent: Optional[Callable] = None,
                         after_in_child: Optional[Callable] = None) -> None:
        """os.register_at_fork: ``before`` hooks run last-registered first, the others in order."""
        self.at_fork.append((before, after_in_parent, after_in_child))

    def atexit_register(self, fn: Callable[[], Any]) -> None:
        """atexit.register: ``fn()`` runs during finalization, last registered first."""
        self.atexit.append(fn)

    def finalize(self) -> None:
        """Py_FinalizeEx on the main thread: wait for non-daemon threads, pending calls, atexit,
        stop the world, shut the other thread states down, delete them, free the
        interpreter, exit.  Daemon threads hang when they next try to attach."""
        from .pylifecycle import finalize

        finalize(self)

    def work(self, ns: int) -> None:
        """Guest computation touching no shared state, as if on its own core: the thread is
        busy (not runnable) for ``ns`` of virtual time while the others go on."""
        eng = self.engine
        eng.point(GUEST_OP_NS)
        ts = eng.cur.tstate
        if ts is not None and (ts.eval_breaker or (ts.qsbr is not None and ts.qsbr.seq != ts.interp.qsbr.wr_seq)):
            self.check_eval_breaker()
        if ns > 0:
            me = eng.cur
            me.wait_what = "work"
            me.wait_addr = 0
            me.wait_holder = None
            eng.block(ns)

    @property
    def now(self) -> int:
        return self.engine.now

    @property
    def tid(self) -> int:
        return self.engine.tid

    # -- live state ---------------------------------------------------------------------------
    def snapshot(self) -> State:
        """The live runtime in the projection's terms (see ftreplay.replay.state)."""
        st = State()
        st.ts = self.engine.now
        sim = self.engine.threads
        for ts in self.pystate.all_tstates:
            t = sim.get(ts.id)
            st.threads[ts.id] = [STATE_NAMES[ts.state], ts.phase, t.parked_on if t is not None else None]
            if ts.eval_breaker:
                st.eval_breaker[ts.id] = ts.eval_breaker
            if ts.brc.bucket_node:
                st.brc[ts.id] = ts.brc.record()
            if ts.cs_frames:
                st.critical_sections[ts.id] = stack_record(ts)
        for op in self.objects.values():
            st.objects[op.obj] = op.record()
        interp = self.pystate.main_interp
        st.gc_phase = interp.gc.phase
        gil = interp.gil
        st.gil_holder = gil.last_holder.id if gil.locked and gil.last_holder is not None else None
        interpreters.snapshot_into(self, st)  # subinterpreters, their thread states
        typeobject.snapshot_into(self, st)  # type cache entries
        for stw in (self.pystate.stoptheworld, interp.stoptheworld):
            if stw.requested:
                st.stw[stw.scope] = [stw.requester.id if stw.requester else 0, stw.thread_countdown,
                                     stw.world_stopped]
        st.qsbr = [interp.qsbr.wr_seq, interp.qsbr.rd_seq]
        for ts in self.pystate.all_tstates:
            if ts.qsbr is not None:
                st.qsbr_threads[ts.id] = [ts.qsbr.index, ts.qsbr.seq]
            if ts.mem_free_queue.items:
                st.delayed[ts.id] = [[a, g] for a, g, _ in ts.mem_free_queue.items]
        if interp.mem_free_queue.items:
            st.delayed[0] = [[a, g] for a, g, _ in interp.mem_free_queue.items]
        for seg in self.obmalloc.segments.values():
            st.segments[seg.addr] = seg.thread_id
            for p in seg.pages:
                st.pages[p.addr] = [HEAP_NAMES[p.tag], p.bin, p.block_size, p.capacity, seg.addr, p.used,
                                    len(p.xthread_free), p.qsbr_goal]
        for p in self.prims:
            p.snapshot_into(st)
        for b in self.parking_lot.buckets:
            if b.root:
                st.buckets[b.index] = [[e.thread.tid, e.addr] for e in b.root]
        st.labels = dict(self.labels)
        st.failure = list(self.failure) if self.failure else None
        st.handles = {h.addr: h.snapshot_record() for h in self.threads.all_handles}
        st.fin_phase = self.fin_phase
        m = self.machine
        st.process = m.current
        st.procs = {k: list(v) for k, v in m.procs.items()}
        st.thread_process = dict(m.thread_process)
        st.saved = dict(m.saved)
        st.exited = dict(m.exited)
        return st

    # -- the main thread --------------------------------------------------------------------
    def main(self, fn: Callable, kwargs: dict) -> None:
        ps = self.pystate
        ts = ps.new_threadstate(ps.main_interp)
        ps.bind(ts, self.engine.cur)
        ps.attach(ts)
        ts.phase = "running"
        self.emit(THREAD_START, ts.id)
        fn(self, **kwargs)
        if not self.fin_phase:  # rt.finalize() already waited for them
            self.threads.shutdown()
