"""Python/critical_section.c, Include/internal/pycore_critical_section.h,
Include/cpython/critical_section.h: per-object critical sections (no-ops with the GIL).

    PyCriticalSection  { uintptr _cs_prev; PyMutex *_cs_mutex; }       on the C stack
    PyCriticalSection2 { PyCriticalSection _cs_base; PyMutex *_cs_mutex2; }

    tstate->critical_section: tagged pointer to the top section; each section's _cs_prev
    points (tagged) to the one below.  Tag bits of the word that points at a section S:
        0x1 _Py_CRITICAL_SECTION_INACTIVE      S's mutexes are released (suspended)
        0x2 _Py_CRITICAL_SECTION_TWO_MUTEXES   S is a PyCriticalSection2

    begin(m):      LockFast -> push | slow: top holds m -> no-op ('skip');
                   else push with _cs_mutex NULL, PyMutex_Lock(m) (may park and detach), set it
    begin2(a, b):  a == b -> begin(a); lower address first; fast both -> push | slow
    end:           _cs_mutex NULL -> nothing; unlock (mutex2 first) and pop;
                   the new top INACTIVE -> resume it
    suspend_all:   (detach) walk while active: unlock, set INACTIVE
    resume:        (attach, pop) the top only: NULL its fields, relock, restore, clear INACTIVE

A thread that blocks while beginning a nested section detaches, which suspends every
active section below it; only the top one is relocked on attach, the outer ones as the
inner ones are popped.  Section addresses are slots of a per-thread modelled C stack
(``tstate.c_stack`` + depth * 32), so the tagged words are plain ints; ``tstate.cs_frames``
maps the slots to the live section structs.  Not modelled: main's skip while the
interpreter's world is stopped (gh-144513; stop-the-world is not modelled yet).
"""

from __future__ import annotations

from typing import Optional

from ..record.events import (
    CRITICAL_SECTION_BEGIN,
    CRITICAL_SECTION_END,
    CRITICAL_SECTION_LOCKED,
    CRITICAL_SECTION_RESUME,
    CRITICAL_SECTION_SUSPEND,
    LOCK_ACQUIRE,
)
from ..sim.clock import ATOMIC_RMW_NS
from ..sim.engine import FatalError
from .lock import PyMutex

_Py_CRITICAL_SECTION_INACTIVE = 0x1
_Py_CRITICAL_SECTION_TWO_MUTEXES = 0x2
_Py_CRITICAL_SECTION_MASK = 0x3

CS_FRAME = 32  # bytes of modelled C stack per nested section (>= sizeof(PyCriticalSection2), aligned)
C_STACK_SLOTS = 64


class PyCriticalSection:
    __slots__ = ("addr", "_cs_prev", "_cs_mutex")

    def __init__(self, addr: int) -> None:
        self.addr = addr
        self._cs_prev = 0
        self._cs_mutex: Optional[PyMutex] = None


class PyCriticalSection2(PyCriticalSection):
    __slots__ = ("_cs_mutex2",)

    def __init__(self, addr: int) -> None:
        super().__init__(addr)
        self._cs_mutex2: Optional[PyMutex] = None


def is_active(tag: int) -> bool:
    """_PyCriticalSection_IsActive."""
    return tag != 0 and (tag & _Py_CRITICAL_SECTION_INACTIVE) == 0


def _untag(tstate, tag: int) -> PyCriticalSection:
    """untag_critical_section: the section struct at that (modelled stack) address."""
    return tstate.cs_frames[((tag & ~_Py_CRITICAL_SECTION_MASK) - tstate.c_stack) // CS_FRAME]


def _addr(m: Optional[PyMutex]) -> Optional[int]:
    return m.addr if m is not None else None


def _mutex2(c: PyCriticalSection) -> Optional[PyMutex]:
    return c._cs_mutex2 if isinstance(c, PyCriticalSection2) else None


def new_section(rt, tstate, two: bool) -> PyCriticalSection:
    """A section struct in the next free slot of the thread's modelled C stack."""
    if not tstate.c_stack:
        tstate.c_stack = rt.alloc(CS_FRAME * C_STACK_SLOTS)
    addr = tstate.c_stack + len(tstate.cs_frames) * CS_FRAME
    return PyCriticalSection2(addr) if two else PyCriticalSection(addr)


def _lock_fast(rt, m: PyMutex) -> bool:
    """PyMutex_LockFast: one CAS 0 -> LOCKED."""
    eng = rt.engine
    eng.point(ATOMIC_RMW_NS)
    if m.bits == 0:
        m.bits = 1
        m.owner = eng.tid
        rt.emit(LOCK_ACQUIRE, m.addr, "fast", 0, 1, 0)
        return True
    return False


def _push(rt, tstate, c: PyCriticalSection, tag: int, path: str, m1: PyMutex, m2: Optional[PyMutex]) -> None:
    c._cs_prev = tstate.critical_section
    tstate.critical_section = c.addr | tag
    tstate.cs_frames.append(c)
    rt.emit(CRITICAL_SECTION_BEGIN, c.addr, len(tstate.cs_frames), tag, m1.addr, _addr(m2), path)


# -- begin ------------------------------------------------------------------------------------
def begin_mutex(rt, tstate, c: PyCriticalSection, m: PyMutex) -> None:
    """_PyCriticalSection_BeginMutex."""
    if _lock_fast(rt, m):
        c._cs_mutex = m
        _push(rt, tstate, c, 0, "fast", m, None)
    else:
        begin_slow(rt, tstate, c, m)


def begin_slow(rt, tstate, c: PyCriticalSection, m: PyMutex) -> None:
    """_PyCriticalSection_BeginSlow."""
    top = tstate.critical_section
    if top:
        # Locking the same object again: skip if the top section already holds m.
        prev = _untag(tstate, top)
        if prev._cs_mutex is m or (top & _Py_CRITICAL_SECTION_TWO_MUTEXES and _mutex2(prev) is m):
            c._cs_mutex = None
            c._cs_prev = 0
            rt.emit(CRITICAL_SECTION_BEGIN, c.addr, len(tstate.cs_frames), 0, m.addr, None, "skip")
            return
    c._cs_mutex = None
    _push(rt, tstate, c, 0, "slow", m, None)
    m.lock()  # PyMutex_Lock: parks detached; the detach suspends the sections below
    c._cs_mutex = m
    _locked(rt, tstate, c, "begin")


def begin2_mutex(rt, tstate, c: PyCriticalSection2, m1: PyMutex, m2: PyMutex) -> None:
    """_PyCriticalSection2_BeginMutex."""
    if m1 is m2:
        # The same mutex twice: a single-mutex section.
        c._cs_mutex2 = None
        begin_mutex(rt, tstate, c, m1)
        return
    if m2.addr < m1.addr:
        # Lower address first: one global order, so two-object sections cannot deadlock.
        m1, m2 = m2, m1
    if _lock_fast(rt, m1):
        if _lock_fast(rt, m2):
            c._cs_mutex = m1
            c._cs_mutex2 = m2
            _push(rt, tstate, c, _Py_CRITICAL_SECTION_TWO_MUTEXES, "fast", m1, m2)
        else:
            begin2_slow(rt, tstate, c, m1, m2, True)
    else:
        begin2_slow(rt, tstate, c, m1, m2, False)


def begin2_slow(rt, tstate, c: PyCriticalSection2, m1: PyMutex, m2: PyMutex, is_m1_locked: bool) -> None:
    """_PyCriticalSection2_BeginSlow."""
    c._cs_mutex = None
    c._cs_mutex2 = None
    _push(rt, tstate, c, _Py_CRITICAL_SECTION_TWO_MUTEXES, "slow", m1, m2)
    if not is_m1_locked:
        m1.lock()
    m2.lock()
    c._cs_mutex = m1
    c._cs_mutex2 = m2
    _locked(rt, tstate, c, "begin")


def _locked(rt, tstate, c: PyCriticalSection, path: str) -> None:
    """The top section's mutex fields were just set at the end of a slow begin."""
    tag = tstate.critical_section & _Py_CRITICAL_SECTION_MASK
    rt.emit(CRITICAL_SECTION_LOCKED, c.addr, len(tstate.cs_frames), tag, _addr(c._cs_mutex), _addr(_mutex2(c)),
            tag, path)


# -- end --------------------------------------------------------------------------------------
def end(rt, tstate, c: PyCriticalSection) -> None:
    """_PyCriticalSection_End (and End2: mutex2 is unlocked first)."""
    m1 = c._cs_mutex
    if m1 is None:
        # Begin skipped it (the top section held the mutex): nothing to unlock or pop.
        rt.emit(CRITICAL_SECTION_END, c.addr, len(tstate.cs_frames), 0, None, None, "skip")
        return
    if (tstate.critical_section & ~_Py_CRITICAL_SECTION_MASK) != c.addr:
        raise FatalError("critical section ended out of order (it is not the top section)")
    m2 = _mutex2(c)
    if m2 is not None:
        m2.unlock()
    m1.unlock()
    pop(rt, tstate, c)


def pop(rt, tstate, c: PyCriticalSection) -> None:
    """_PyCriticalSection_Pop: the new top is resumed if it was suspended."""
    tag = tstate.critical_section & _Py_CRITICAL_SECTION_MASK
    depth = len(tstate.cs_frames)
    prev = c._cs_prev
    tstate.critical_section = prev
    tstate.cs_frames.pop()
    rt.emit(CRITICAL_SECTION_END, c.addr, depth, tag, _addr(c._cs_mutex), _addr(_mutex2(c)), "end")
    if prev & _Py_CRITICAL_SECTION_INACTIVE:
        resume(rt, tstate)


# -- suspend / resume ---------------------------------------------------------------------------
def suspend_all(rt, tstate) -> None:
    """_PyCriticalSection_SuspendAll: release every active section's mutexes (detach)."""
    above: Optional[PyCriticalSection] = None  # the section whose _cs_prev is the tag word (None: tstate's)
    tag = tstate.critical_section
    depth = len(tstate.cs_frames)
    while is_active(tag):
        c = _untag(tstate, tag)
        m1 = c._cs_mutex
        m2 = _mutex2(c) if tag & _Py_CRITICAL_SECTION_TWO_MUTEXES else None
        if m1 is not None:
            m1.unlock()
            if m2 is not None:
                m2.unlock()
        tag |= _Py_CRITICAL_SECTION_INACTIVE
        if above is None:
            tstate.critical_section = tag
        else:
            above._cs_prev = tag
        rt.emit(CRITICAL_SECTION_SUSPEND, c.addr, depth, tag & _Py_CRITICAL_SECTION_MASK, _addr(m1), _addr(m2))
        above = c
        tag = c._cs_prev
        depth -= 1


def resume(rt, tstate) -> None:
    """_PyCriticalSection_Resume: relock the top section (attach, or a pop)."""
    p = tstate.critical_section
    c = _untag(tstate, p)
    if is_active(p):
        raise FatalError("_PyCriticalSection_Resume: the top critical section is active")
    m1 = c._cs_mutex
    c._cs_mutex = None
    m2 = None
    if p & _Py_CRITICAL_SECTION_TWO_MUTEXES:
        m2 = c._cs_mutex2
        c._cs_mutex2 = None
    depth = len(tstate.cs_frames)
    rt.emit(CRITICAL_SECTION_RESUME, c.addr, depth, p & _Py_CRITICAL_SECTION_MASK, _addr(m1), _addr(m2))
    # With the fields NULL, a detach inside these locks suspends nothing of this section.
    if m1 is not None:
        m1.lock()
    if m2 is not None:
        m2.lock()
    c._cs_mutex = m1
    if m2 is not None:
        c._cs_mutex2 = m2
    tag_old = tstate.critical_section & _Py_CRITICAL_SECTION_MASK  # a nested resume may have cleared it
    tstate.critical_section &= ~_Py_CRITICAL_SECTION_INACTIVE
    rt.emit(CRITICAL_SECTION_LOCKED, c.addr, depth, tstate.critical_section & _Py_CRITICAL_SECTION_MASK,
            _addr(m1), _addr(m2), tag_old, "resume")


# -- the projection's view ----------------------------------------------------------------------
def stack_record(tstate) -> list:
    """[[cs, tag, mutex, mutex2], ...] bottom to top (ftreplay.replay.state: critical_sections)."""
    frames = tstate.cs_frames
    out = []
    n = len(frames)
    for i, c in enumerate(frames):
        tag = (frames[i + 1]._cs_prev if i + 1 < n else tstate.critical_section) & _Py_CRITICAL_SECTION_MASK
        out.append([c.addr, tag, _addr(c._cs_mutex), _addr(_mutex2(c))])
    return out


# -- the guest's Py_BEGIN_CRITICAL_SECTION / Py_END_CRITICAL_SECTION ------------------------------
def _mutex_of(x) -> PyMutex:
    return x if isinstance(x, PyMutex) else x.ob_mutex


class CriticalSection:
    """``with rt.critical_section(a[, b]):`` = Py_BEGIN_CRITICAL_SECTION(a) (or
    Py_BEGIN_CRITICAL_SECTION2(a, b)) ... Py_END_CRITICAL_SECTION.  ``a``/``b`` are objects
    (their ob_mutex) or PyMutexes (the _MUT variants)."""

    __slots__ = ("rt", "a", "b", "c", "tstate")

    def __init__(self, rt, a, b=None) -> None:
        self.rt = rt
        self.a = a
        self.b = b
        self.c: Optional[PyCriticalSection] = None
        self.tstate = None

    def begin(self) -> None:
        rt = self.rt
        ts = rt.engine.cur.tstate
        if ts is None:
            raise FatalError("critical section begun without an attached thread state")
        self.tstate = ts
        if rt.gil_build:
            return  # Py_BEGIN_CRITICAL_SECTION is a no-op with the GIL
        if self.b is None:
            self.c = new_section(rt, ts, False)
            begin_mutex(rt, ts, self.c, _mutex_of(self.a))
        else:
            self.c = new_section(rt, ts, True)
            begin2_mutex(rt, ts, self.c, _mutex_of(self.a), _mutex_of(self.b))

    def end(self) -> None:
        if self.c is not None:
            end(self.rt, self.tstate, self.c)

    def __enter__(self) -> "CriticalSection":
        self.begin()
        return self

    def __exit__(self, *exc) -> None:
        self.end()
