"""One execution of the model: every piece of modelled state hangs off a ``Runtime``.

Scenarios receive it as ``rt`` and build their programs from it: mutexes, events, once
flags, rwmutexes, seqlocks, plain shared fields (``rt.var``), and threads
(``rt.start_thread``).  The guest's main function runs as thread 1 with an attached
thread state; when it returns, the runtime joins the remaining non-daemon threads, as
``threading._shutdown`` does.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from ..record.events import GUEST_LOAD, GUEST_STORE, RUN_LABEL, THREAD_START
from ..replay.state import State
from ..sim.clock import GUEST_OP_NS
from ..sim.engine import Engine
from .lock import OnceFlag, PyEvent, PyMutex, RawMutex, RecursiveMutex, RWMutex, SeqLock
from .parking_lot import ParkingLot
from .pystate import STATE_NAMES, RuntimeState
from .threadmodule import ThreadModule

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
        self._next_addr = HEAP_BASE
        self.labels: dict[int, str] = {}
        self.prims: list[Any] = []  # every modelled primitive, for snapshots
        self.failure: Optional[list] = None  # [reason, message, seq] once the run failed
        self.parking_lot = ParkingLot(self)
        self.pystate = RuntimeState(self)
        self.threads = ThreadModule(self)

    def bugs_on(self, name: str) -> bool:
        return name in self.bugs

    # -- addresses ------------------------------------------------------------------------
    def alloc(self, size: int, label: str = "") -> int:
        """A fresh modelled address (a bump allocator until the obmalloc model lands)."""
        addr = self._next_addr
        self._next_addr += (size + ALIGN - 1) // ALIGN * ALIGN
        if label:
            self.labels[addr] = label
            self.emit(RUN_LABEL, addr, label)
        return addr

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

    def start_thread(self, fn: Callable, *args: Any, name: str = "", daemon: bool = False):
        """threading.Thread(target=fn, args=args).start(); returns an object with join()."""
        return self.threads.start(fn, args, name or f"thread-{len(self.threads.handles) + 1}", daemon)

    def work(self, ns: int) -> None:
        """Guest computation touching no shared state, as if on its own core: the thread is
        busy (not runnable) for ``ns`` of virtual time while the others go on."""
        eng = self.engine
        eng.point(GUEST_OP_NS)
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
        for p in self.prims:
            p.snapshot_into(st)
        for b in self.parking_lot.buckets:
            if b.root:
                st.buckets[b.index] = [[e.thread.tid, e.addr] for e in b.root]
        st.labels = dict(self.labels)
        st.failure = list(self.failure) if self.failure else None
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
        self.threads.shutdown()
