"""Python/lock.c, Include/internal/pycore_lock.h: the runtime's lock family.

PyMutex, one byte::

    bit 0  _Py_LOCKED      held
    bit 1  _Py_HAS_PARKED  a thread is (or may be) parked on this address
    0b10 = unlocked with a waiter about to wake; 0b11 = held with waiters

    lock:   CAS 0->1 (fast) | loop: unlocked -> CAS v->v|LOCKED (barging, slow);
            no waiters and spins < 40 -> yield (re-read every 4th spin);
            set HAS_PARKED; park(expected=v|HAS_PARKED, detach); handed off -> done
    unlock: CAS 1->0 (fast) | HAS_PARKED -> unpark one; the callback hands the lock off
            (byte stays LOCKED) when the waiter has waited more than 1 ms, else releases

PyEvent (0 unset, 1 set, 2 unset with waiters), OnceFlag (0, 1 running, 2 parked, 4 done),
RWMutex (bit 0 writer, bit 1 parked, readers << 2), SeqLock (odd = writer active),
RawMutex (bit 0 locked, other bits: LIFO stack of waiters on semaphores, no parking lot),
RecursiveMutex (a PyMutex with an owner and a level).

Every atomic access is one scheduling point.  ``owner`` fields are diagnostics of the
model (CPython's mutex is one byte and does not know its owner).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import Optional

from ..record.events import (
    LOCK_ACQUIRE,
    LOCK_FAIL,
    LOCK_RECURSIVE,
    LOCK_RELEASE,
    LOCK_SEQ_READ,
    LOCK_SET_PARKED,
    LOCK_WORD,
)
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_RMW_NS, ATOMIC_STORE_NS, PARK_NS, WAKEUP_NS, YIELD_NS
from ..sim.engine import FatalError
from .parking_lot import ParkResult, Semaphore

_Py_UNLOCKED = 0
_Py_LOCKED = 1
_Py_HAS_PARKED = 2
_Py_ONCE_INITIALIZED = 4
_Py_WRITE_LOCKED = 1
_PyRWMutex_READER_SHIFT = 2

TIME_TO_BE_FAIR_NS = 1_000_000
MAX_SPIN_COUNT = 40  # Py_GIL_DISABLED
RELOAD_SPIN_MASK = 3  # Py_GIL_DISABLED


class LockFlags(IntFlag):
    _Py_LOCK_DONT_DETACH = 0
    _PY_LOCK_DETACH = 1
    _PY_LOCK_HANDLE_SIGNALS = 2
    _PY_FAIL_IF_INTERRUPTED = 4
    _PY_LOCK_PYTHONLOCK = 8


class PyLockStatus(IntEnum):
    PY_LOCK_FAILURE = 0
    PY_LOCK_ACQUIRED = 1
    PY_LOCK_INTR = 2


DETACH = LockFlags._PY_LOCK_DETACH
DONT_DETACH = LockFlags._Py_LOCK_DONT_DETACH
FAILURE = PyLockStatus.PY_LOCK_FAILURE
ACQUIRED = PyLockStatus.PY_LOCK_ACQUIRED
INTR = PyLockStatus.PY_LOCK_INTR


class MutexEntry:
    """``struct mutex_entry``: lives on the waiter's stack, passed as park_arg."""

    __slots__ = ("time_to_be_fair", "handed_off", "tid")

    def __init__(self, time_to_be_fair: int, tid: int) -> None:
        self.time_to_be_fair = time_to_be_fair
        self.handed_off = False
        self.tid = tid


class PyMutex:
    __slots__ = ("rt", "addr", "bits", "owner", "name")

    def __init__(self, rt, addr: int, name: str = "") -> None:
        self.rt = rt
        self.addr = addr
        self.bits = _Py_UNLOCKED
        self.owner: Optional[int] = None
        self.name = name
        rt.prims.append(self)

    def _load(self) -> int:
        return self.bits

    def _holder(self) -> Optional[int]:
        return self.owner

    def snapshot_into(self, state) -> None:
        if self.bits or self.owner is not None:
            state.mutexes[self.addr] = [self.bits, self.owner]

    def locked(self) -> bool:
        """PyMutex_IsLocked."""
        self.rt.engine.point(ATOMIC_LOAD_NS)
        return bool(self.bits & _Py_LOCKED)

    # -- lock ----------------------------------------------------------------------------
    def lock(self) -> None:
        """PyMutex_Lock: detaches while parked."""
        self.lock_flags(DETACH)

    def lock_flags(self, flags: int) -> None:
        """PyMutex_LockFlags: the inline fast path, then _PyMutex_LockTimed(-1)."""
        rt = self.rt
        eng = rt.engine
        eng.point(ATOMIC_RMW_NS)
        if self.bits == _Py_UNLOCKED:
            self.bits = _Py_LOCKED
            self.owner = eng.tid
            rt.emit(LOCK_ACQUIRE, self.addr, "fast", 0, 1, 0)
            return
        self.lock_timed(-1, flags)

    def trylock(self) -> bool:
        """_PyMutex_LockTimed(m, 0, 0)."""
        return self.lock_timed(0, DONT_DETACH) == ACQUIRED

    def lock_timed(self, timeout_ns: int, flags: int) -> PyLockStatus:
        """_PyMutex_LockTimed.  timeout < 0: forever; 0: try once."""
        rt = self.rt
        eng = rt.engine
        emit = rt.emit
        addr = self.addr
        eng.point(ATOMIC_LOAD_NS)
        v = self.bits
        if not v & _Py_LOCKED:
            eng.point(ATOMIC_RMW_NS)
            if self.bits == v:
                self.bits = v | _Py_LOCKED
                self.owner = eng.tid
                emit(LOCK_ACQUIRE, addr, "slow", v, v | _Py_LOCKED, 0)
                return ACQUIRED
        if timeout_ns == 0:  # main: a lost CAS on an unlocked byte fails a try-lock too
            emit(LOCK_FAIL, addr, "trylock")
            return FAILURE

        start = eng.now
        endtime = start + timeout_ns if timeout_ns > 0 else 0
        me = eng.cur
        entry = MutexEntry(start + TIME_TO_BE_FAIR_NS, me.tid)
        spin_count = 0
        eng.point(ATOMIC_LOAD_NS)
        v = self.bits
        while True:
            if not v & _Py_LOCKED:
                eng.point(ATOMIC_RMW_NS)
                if self.bits == v:
                    self.bits = v | _Py_LOCKED
                    self.owner = me.tid
                    emit(LOCK_ACQUIRE, addr, "slow", v, v | _Py_LOCKED, eng.now - start)
                    return ACQUIRED
                v = self.bits  # the failed CAS reloads v
                continue
            if not v & _Py_HAS_PARKED and spin_count < MAX_SPIN_COUNT:
                eng.point(YIELD_NS)  # _Py_yield()
                spin_count += 1
                if ((spin_count + me.tid) & RELOAD_SPIN_MASK) == 0:
                    eng.point(ATOMIC_LOAD_NS)
                    v = self.bits
                continue
            if timeout_ns == 0:
                emit(LOCK_FAIL, addr, "timeout")
                return FAILURE
            newv = v
            if not v & _Py_HAS_PARKED:
                newv = v | _Py_HAS_PARKED
                eng.point(ATOMIC_RMW_NS)
                if self.bits != v:
                    v = self.bits
                    continue
                self.bits = newv
                emit(LOCK_SET_PARKED, addr, v, newv)
            ret = rt.parking_lot.park(
                addr, self._load, newv, timeout_ns if timeout_ns > 0 else None, entry,
                detach=bool(flags & DETACH), what=f"mutex{_label(self.name)}", holder=self._holder,
            )
            if ret == ParkResult.OK and entry.handed_off:
                # The unlocker kept LOCKED set for us.
                self.owner = me.tid
                emit(LOCK_ACQUIRE, addr, "handoff", self.bits, self.bits, eng.now - start)
                return ACQUIRED
            if ret == ParkResult.TIMEOUT:
                emit(LOCK_FAIL, addr, "timeout")
                return FAILURE
            if ret == ParkResult.INTR and flags & LockFlags._PY_FAIL_IF_INTERRUPTED:
                emit(LOCK_FAIL, addr, "intr")
                return INTR
            if timeout_ns > 0:
                timeout_ns = max(0, endtime - eng.now)
            eng.point(ATOMIC_LOAD_NS)
            v = self.bits

    # -- unlock --------------------------------------------------------------------------
    def unlock(self) -> None:
        """PyMutex_Unlock."""
        rt = self.rt
        eng = rt.engine
        eng.point(ATOMIC_RMW_NS)
        if self.bits == _Py_LOCKED:
            self.bits = _Py_UNLOCKED
            self.owner = None
            rt.emit(LOCK_RELEASE, self.addr, "fast", None, 1, 0)
            return
        if self.try_unlock() < 0:
            raise FatalError("unlocking mutex that is not locked")

    def try_unlock(self) -> int:
        """_PyMutex_TryUnlock: -1 if it was not locked."""
        rt = self.rt
        eng = rt.engine
        while True:
            eng.point(ATOMIC_LOAD_NS)
            v = self.bits
            if not v & _Py_LOCKED:
                return -1
            if v & _Py_HAS_PARKED:
                rt.parking_lot.unpark(self.addr, self._mutex_unpark)
                return 0
            eng.point(ATOMIC_RMW_NS)
            if self.bits == v:
                self.bits = _Py_UNLOCKED
                self.owner = None
                rt.emit(LOCK_RELEASE, self.addr, "slow", None, v, 0)
                return 0

    def _mutex_unpark(self, entry: Optional[MutexEntry], has_more: bool) -> None:
        """mutex_unpark: runs under the bucket lock."""
        rt = self.rt
        old = self.bits
        if entry is None:
            self.bits = _Py_UNLOCKED
            self.owner = None
            rt.emit(LOCK_RELEASE, self.addr, "slow", None, old, 0)
            return
        fair = rt.engine.now > entry.time_to_be_fair
        entry.handed_off = fair
        new = (_Py_LOCKED if fair else 0) | (_Py_HAS_PARKED if has_more else 0)
        self.bits = new
        self.owner = entry.tid if fair else None
        rt.emit(LOCK_RELEASE, self.addr, "slow", entry.tid if fair else None, old, new)

    def __enter__(self) -> "PyMutex":
        self.lock()
        return self

    def __exit__(self, *exc) -> None:
        self.unlock()


def _label(name: str) -> str:
    return f" '{name}'" if name else ""


class RecursiveMutex:
    """_PyRecursiveMutex: a PyMutex, the owning thread, and a nesting level."""

    __slots__ = ("rt", "mutex", "thread", "level")

    def __init__(self, rt, addr: int, name: str = "") -> None:
        self.rt = rt
        self.mutex = PyMutex(rt, addr, name)
        self.thread = 0
        self.level = 0
        rt.prims.append(self)

    @property
    def addr(self) -> int:
        return self.mutex.addr

    def snapshot_into(self, state) -> None:
        if self.level or self.thread:
            state.recursive[self.mutex.addr] = [self.level, self.thread or None]

    def lock(self) -> None:
        rt = self.rt
        eng = rt.engine
        me = eng.tid
        eng.point(ATOMIC_LOAD_NS)
        if self.thread == me:
            self.level += 1
            rt.emit(LOCK_RECURSIVE, self.mutex.addr, "acquire", self.level, me)
            return
        self.mutex.lock()
        eng.point(ATOMIC_STORE_NS)
        self.thread = me
        rt.emit(LOCK_RECURSIVE, self.mutex.addr, "acquire", 0, me)

    def unlock(self) -> int:
        """-1 when the caller does not own it."""
        rt = self.rt
        eng = rt.engine
        eng.point(ATOMIC_LOAD_NS)
        if self.thread != eng.tid:
            return -1
        if self.level > 0:
            self.level -= 1
            rt.emit(LOCK_RECURSIVE, self.mutex.addr, "release", self.level, eng.tid)
            return 0
        eng.point(ATOMIC_STORE_NS)
        self.thread = 0
        rt.emit(LOCK_RECURSIVE, self.mutex.addr, "release", 0, None)
        self.mutex.unlock()
        return 0


class PyEvent:
    """PyEvent: one-shot; 0 unset, 1 set, 2 unset with waiters."""

    __slots__ = ("rt", "addr", "v", "name", "setter")

    def __init__(self, rt, addr: int, name: str = "") -> None:
        self.rt = rt
        self.addr = addr
        self.v = 0
        self.name = name
        self.setter: Optional[int] = None  # the thread expected to notify (diagnostics)
        rt.prims.append(self)

    def _load(self) -> int:
        return self.v

    def _holder(self) -> Optional[int]:
        return self.setter

    def snapshot_into(self, state) -> None:
        if self.v:
            state.words[self.addr] = ["event", self.v]

    def is_set(self) -> bool:
        self.rt.engine.point(ATOMIC_LOAD_NS)
        return self.v == _Py_LOCKED

    def notify(self) -> None:
        """_PyEvent_Notify."""
        rt = self.rt
        rt.engine.point(ATOMIC_RMW_NS)
        old = self.v
        self.v = _Py_LOCKED
        rt.emit(LOCK_WORD, self.addr, "event", "notify", old, _Py_LOCKED)
        if old == _Py_HAS_PARKED:
            rt.parking_lot.unpark_all(self.addr)

    def reset(self) -> None:
        """``evt = (PyEvent){0}``: a plain store by the event's owner (no waiter may remain)."""
        rt = self.rt
        old = self.v
        if old:
            rt.engine.point(ATOMIC_STORE_NS)
            self.v = 0
            rt.emit(LOCK_WORD, self.addr, "event", "reset", old, 0)

    def wait(self) -> None:
        """PyEvent_Wait: forever, detaching."""
        while not self.wait_timed(-1, True):
            pass

    def wait_timed(self, timeout_ns: int, detach: bool) -> bool:
        """PyEvent_WaitTimed: True if the event is set."""
        rt = self.rt
        eng = rt.engine
        while True:
            eng.point(ATOMIC_LOAD_NS)
            v = self.v
            if v == _Py_LOCKED:
                return True
            if v == _Py_UNLOCKED:
                eng.point(ATOMIC_RMW_NS)
                if self.v != _Py_UNLOCKED:
                    continue
                self.v = _Py_HAS_PARKED
                rt.emit(LOCK_WORD, self.addr, "event", "set_parked", 0, _Py_HAS_PARKED)
            rt.parking_lot.park(
                self.addr, self._load, _Py_HAS_PARKED, timeout_ns if timeout_ns >= 0 else None, None,
                detach=detach, what=f"event{_label(self.name)}", holder=self._holder,
            )
            eng.point(ATOMIC_LOAD_NS)
            return self.v == _Py_LOCKED


class OnceFlag:
    """_PyOnceFlag: 0 not run, 1 running, |2 waiters parked, 4 done."""

    __slots__ = ("rt", "addr", "v", "name", "runner")

    def __init__(self, rt, addr: int, name: str = "") -> None:
        self.rt = rt
        self.addr = addr
        self.v = 0
        self.name = name
        self.runner: Optional[int] = None
        rt.prims.append(self)

    def _load(self) -> int:
        return self.v

    def _holder(self) -> Optional[int]:
        return self.runner

    def snapshot_into(self, state) -> None:
        if self.v:
            state.words[self.addr] = ["once", self.v]

    def call_once(self, fn, *args) -> int:
        """_PyOnceFlag_CallOnce: 0 on success, -1 if fn failed (a later call retries)."""
        eng = self.rt.engine
        eng.point(ATOMIC_LOAD_NS)
        if self.v == _Py_ONCE_INITIALIZED:
            return 0
        return self._call_once_slow(fn, args)

    def _set(self, op: str, old: int, new: int) -> None:
        self.v = new
        self.rt.emit(LOCK_WORD, self.addr, "once", op, old, new)

    def _call_once_slow(self, fn, args) -> int:
        rt = self.rt
        eng = rt.engine
        while True:
            eng.point(ATOMIC_LOAD_NS)
            v = self.v
            if v == _Py_UNLOCKED:
                eng.point(ATOMIC_RMW_NS)
                if self.v != _Py_UNLOCKED:
                    continue
                self._set("begin", 0, _Py_LOCKED)
                self.runner = eng.tid
                res = fn(*args)
                if res not in (0, -1):
                    raise FatalError("invalid result from _PyOnceFlag_CallOnce")
                eng.point(ATOMIC_RMW_NS)
                old = self.v
                self._set("end", old, _Py_ONCE_INITIALIZED if res == 0 else _Py_UNLOCKED)
                self.runner = None
                if old & _Py_HAS_PARKED:
                    rt.parking_lot.unpark_all(self.addr)
                return res
            if v == _Py_ONCE_INITIALIZED:
                return 0
            newv = v
            if not v & _Py_HAS_PARKED:
                newv = v | _Py_HAS_PARKED
                eng.point(ATOMIC_RMW_NS)
                if self.v != v:
                    continue
                self._set("set_parked", v, newv)
            rt.parking_lot.park(
                self.addr, self._load, newv, None, None, detach=True,
                what=f"once flag{_label(self.name)}", holder=self._holder,
            )


class RWMutex:
    """_PyRWMutex: write-preferring, unfair, not reentrant."""

    __slots__ = ("rt", "addr", "bits", "name", "writer")

    def __init__(self, rt, addr: int, name: str = "") -> None:
        self.rt = rt
        self.addr = addr
        self.bits = 0
        self.name = name
        self.writer: Optional[int] = None
        rt.prims.append(self)

    def _load(self) -> int:
        return self.bits

    def _holder(self) -> Optional[int]:
        return self.writer

    def snapshot_into(self, state) -> None:
        if self.bits:
            state.words[self.addr] = ["rwmutex", self.bits]

    def readers(self) -> int:
        return self.bits >> _PyRWMutex_READER_SHIFT

    def _cas(self, old: int, new: int, op: str) -> bool:
        self.rt.engine.point(ATOMIC_RMW_NS)
        if self.bits != old:
            return False
        self.bits = new
        self.rt.emit(LOCK_WORD, self.addr, "rwmutex", op, old, new)
        return True

    def _set_parked_and_wait(self, bits: int) -> int:
        if not bits & _Py_HAS_PARKED:
            if not self._cas(bits, bits | _Py_HAS_PARKED, "set_parked"):
                self.rt.engine.point(ATOMIC_LOAD_NS)
                return self.bits
            bits |= _Py_HAS_PARKED
        self.rt.parking_lot.park(
            self.addr, self._load, bits, None, None, detach=True,
            what=f"rwmutex{_label(self.name)}", holder=self._holder,
        )
        self.rt.engine.point(ATOMIC_LOAD_NS)
        return self.bits

    def rlock(self) -> None:
        eng = self.rt.engine
        eng.point(ATOMIC_LOAD_NS)
        bits = self.bits
        while True:
            if bits & (_Py_WRITE_LOCKED | _Py_HAS_PARKED):
                bits = self._set_parked_and_wait(bits)
                continue
            if self._cas(bits, bits + (1 << _PyRWMutex_READER_SHIFT), "rlock"):
                return
            bits = self.bits

    def runlock(self) -> None:
        rt = self.rt
        rt.engine.point(ATOMIC_RMW_NS)
        old = self.bits
        if old >> _PyRWMutex_READER_SHIFT == 0:
            raise FatalError("_PyRWMutex_RUnlock: the rwmutex is not read-locked")
        new = old - (1 << _PyRWMutex_READER_SHIFT)
        self.bits = new
        rt.emit(LOCK_WORD, self.addr, "rwmutex", "runlock", old, new)
        if (new >> _PyRWMutex_READER_SHIFT) == 0 and new & _Py_HAS_PARKED:
            rt.parking_lot.unpark_all(self.addr)

    def lock(self) -> None:
        eng = self.rt.engine
        eng.point(ATOMIC_LOAD_NS)
        bits = self.bits
        while True:
            if (bits & ~_Py_HAS_PARKED) == 0:
                if self._cas(bits, bits | _Py_WRITE_LOCKED, "wlock"):
                    self.writer = eng.tid
                    return
                bits = self.bits
                continue
            bits = self._set_parked_and_wait(bits)

    def unlock(self) -> None:
        rt = self.rt
        rt.engine.point(ATOMIC_RMW_NS)
        old = self.bits
        if not old & _Py_WRITE_LOCKED:
            raise FatalError("_PyRWMutex_Unlock: the rwmutex is not write-locked")
        self.bits = 0
        self.writer = None
        rt.emit(LOCK_WORD, self.addr, "rwmutex", "wunlock", old, 0)
        if old & _Py_HAS_PARKED:
            rt.parking_lot.unpark_all(self.addr)


class SeqLock:
    """_PySeqLock: even = stable, odd = a writer is active."""

    __slots__ = ("rt", "addr", "sequence", "name")

    def __init__(self, rt, addr: int, name: str = "") -> None:
        self.rt = rt
        self.addr = addr
        self.sequence = 0
        self.name = name
        rt.prims.append(self)

    def snapshot_into(self, state) -> None:
        if self.sequence:
            state.words[self.addr] = ["seqlock", self.sequence]

    def _store(self, op: str, new: int) -> None:
        old = self.sequence
        self.sequence = new
        self.rt.emit(LOCK_WORD, self.addr, "seqlock", op, old, new)

    def _yield(self) -> None:
        """_Py_yield() while another thread holds the sequence: the spinning thread gives
        the CPU away (it is not runnable for YIELD_NS), so a writer that holds the lock
        finishes even under a strategy such as PCT that would otherwise always run the
        spinner."""
        eng = self.rt.engine
        me = eng.cur
        me.wait_what = "sched_yield"
        me.wait_addr = self.addr
        me.wait_holder = None
        eng.block(YIELD_NS)

    def lock_write(self) -> None:
        """_PySeqLock_LockWrite: CAS the sequence from even to odd, yielding while odd."""
        eng = self.rt.engine
        eng.point(ATOMIC_LOAD_NS)
        prev = self.sequence
        while True:
            if prev & 1:
                self._yield()
                eng.point(ATOMIC_LOAD_NS)
                prev = self.sequence
                continue
            eng.point(ATOMIC_RMW_NS)
            if self.sequence == prev:
                self._store("write_lock", prev + 1)
                return
            prev = self.sequence
            self._yield()

    def unlock_write(self) -> None:
        self.rt.engine.point(ATOMIC_STORE_NS)
        self._store("write_unlock", self.sequence + 1)

    def abandon_write(self) -> None:
        self.rt.engine.point(ATOMIC_STORE_NS)
        self._store("write_abandon", self.sequence - 1)

    def begin_read(self) -> int:
        eng = self.rt.engine
        while True:
            eng.point(ATOMIC_LOAD_NS)
            seq = self.sequence
            if not seq & 1:
                self.rt.emit(LOCK_SEQ_READ, self.addr, seq, True)
                return seq
            self._yield()

    def end_read(self, previous: int) -> bool:
        eng = self.rt.engine
        eng.point(ATOMIC_LOAD_NS)
        ok = self.sequence == previous
        self.rt.emit(LOCK_SEQ_READ, self.addr, self.sequence, ok)
        if not ok:
            eng.point(YIELD_NS)
        return ok

    def after_fork(self) -> bool:
        if self.sequence & 1:
            self._store("after_fork", 0)
            return True
        return False


class RawMutex:
    """_PyRawMutex: bit 0 locked, the rest a LIFO stack of waiters; no parking lot."""

    __slots__ = ("rt", "addr", "v", "stack", "name", "owner")

    def __init__(self, rt, addr: int, name: str = "") -> None:
        self.rt = rt
        self.addr = addr
        self.v = 0
        self.stack: list = []  # waiters' semaphores, top of the stack last
        self.name = name
        self.owner: Optional[int] = None
        rt.prims.append(self)

    def _word(self) -> int:
        # The modelled word: LOCKED plus a nonzero "pointer" (top waiter's tid << 1) when waited on.
        return (self.v & 1) | ((self.stack[-1].thread.tid << 1) if self.stack else 0)

    def _set(self, op: str, old: int) -> None:
        self.rt.emit(LOCK_WORD, self.addr, "raw", op, old, self._word())

    def snapshot_into(self, state) -> None:
        w = self._word()
        if w:
            state.words[self.addr] = ["raw", w]

    def _holder(self) -> Optional[int]:
        return self.owner

    def lock(self) -> None:
        eng = self.rt.engine
        eng.point(ATOMIC_RMW_NS)
        if self.v == 0 and not self.stack:
            old = self._word()
            self.v = 1
            self.owner = eng.tid
            self._set("lock", old)
            return
        me = eng.cur
        while True:
            eng.point(ATOMIC_LOAD_NS)
            if not self.v & 1:
                eng.point(ATOMIC_RMW_NS)
                if not self.v & 1:
                    old = self._word()
                    self.v |= 1
                    self.owner = eng.tid
                    self._set("lock", old)
                    return
                continue
            eng.point(ATOMIC_RMW_NS)
            if not self.v & 1:
                continue
            old = self._word()
            sema = Semaphore(eng, me)
            self.stack.append(sema)
            self._set("push_waiter", old)
            eng.point(PARK_NS)
            me.wait_what = f"raw mutex{_label(self.name)}"
            me.wait_addr = self.addr
            me.wait_holder = self._holder
            sema.wait(None)  # without detaching
            eng.point(WAKEUP_NS)

    def unlock(self) -> None:
        eng = self.rt.engine
        eng.point(ATOMIC_RMW_NS)
        if not self.v & 1:
            raise FatalError("unlocking raw mutex that is not locked")
        old = self._word()
        self.v &= ~1
        self.owner = None
        waiter = self.stack.pop() if self.stack else None
        self._set("unlock", old)
        if waiter is not None:
            eng.point(ATOMIC_STORE_NS)
            waiter.post()  # it retries (no hand-off)
