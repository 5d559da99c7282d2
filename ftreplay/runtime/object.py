"""Include/object.h, Include/refcount.h, Include/internal/pycore_object.h, Objects/object.c:
the free-threaded object header and biased reference counting.

    struct _object (Py_GIL_DISABLED), 32 bytes:
        @0  ob_tid        owner thread id (_Py_ThreadId); 0 = _Py_UNOWNED_TID (merged or immortal)
        @8  ob_flags      u16
        @10 ob_mutex      PyMutex (the object's critical-section lock)
        @11 ob_gc_bits    u8 (_PyGC_BITS_*)
        @12 ob_ref_local  u32, written only by the owner; UINT32_MAX = immortal
        @16 ob_ref_shared Py_ssize_t, atomic: count << 2 | flags
        @24 ob_type

    ob_ref_shared flags (monotonic per lifetime):
        0 INIT -> 1 MAYBE_WEAKREF -> 2 QUEUED -> 3 MERGED
    Py_REFCNT = ob_ref_local + (ob_ref_shared >> 2); the shared count may go negative
    when non-owners release references the owner counted locally.

    Py_INCREF:  immortal -> nothing | owner -> local + 1 | else atomic shared += 4
    Py_DECREF:  immortal -> nothing | owner -> local - 1, at 0 _Py_MergeZeroLocalRefcount
                | else _Py_DecRefShared: CAS; shared 0 or MAYBE_WEAKREF -> QUEUED (the queue
                  keeps this reference) and _Py_brc_queue_object; lands on MERGED -> dealloc
    merge_zero_local: shared 0 -> dealloc; else ob_tid = 0, CAS flags -> MERGED, count 0 -> dealloc
    explicit_merge(extra): local = 0, ob_tid = 0 (gh-119999), CAS shared = (count+local+extra)<<2|MERGED

``_Py_ThreadId()`` is the model thread id (== the thread state's id), so a BRC bucket is
``tid % 257``.  Each atomic access of the header is a scheduling point; the owner's
relaxed load and store of ob_ref_local are one step (no other thread writes it while its
owner runs).  An object keeps a unique ``obj`` id for its lifetime (never reused);
``block`` is its address.  A freed object keeps its final header (a refcount-shaped block,
as QSBR guarantees), so ``try_incref`` may read it and fail; any other access of a freed
object fails the run with ``use_after_free``.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import Callable, Optional

from ..record.events import (
    OBJECT_DEALLOC,
    OBJECT_DECREF,
    OBJECT_DISOWN,
    OBJECT_INCREF,
    OBJECT_MERGE,
    OBJECT_NEW,
    OBJECT_SET_IMMORTAL,
    OBJECT_SET_MAYBE_WEAKREF,
    OBJECT_TRY_INCREF,
)
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_RMW_NS, ATOMIC_STORE_NS, GUEST_OP_NS
from ..sim.engine import FatalError, GuestFailure
from . import brc
from .lock import PyMutex
from .obmalloc import _Py_MIMALLOC_HEAP_GC, _Py_MIMALLOC_HEAP_GC_PRE, _Py_MIMALLOC_HEAP_OBJECT

_Py_UNOWNED_TID = 0
_Py_REF_SHARED_SHIFT = 2
_Py_REF_SHARED_FLAG_MASK = 0x3
_Py_IMMORTAL_REFCNT_LOCAL = 0xFFFFFFFF  # UINT32_MAX
_Py_IMMORTAL_INITIAL_REFCNT = 3 << 30  # what Py_REFCNT reports for an immortal object
UINT32_MAX = 0xFFFFFFFF
SIZEOF_PYOBJECT = 32
OB_MUTEX_OFFSET = 10


class RefSharedFlag(IntEnum):
    _Py_REF_SHARED_INIT = 0x0
    _Py_REF_MAYBE_WEAKREF = 0x1
    _Py_REF_QUEUED = 0x2
    _Py_REF_MERGED = 0x3


class GCBits(IntFlag):
    """ob_gc_bits (Include/internal/pycore_gc.h, Py_GIL_DISABLED)."""

    _PyGC_BITS_TRACKED = 1 << 0
    _PyGC_BITS_FINALIZED = 1 << 1
    _PyGC_BITS_UNREACHABLE = 1 << 2
    _PyGC_BITS_FROZEN = 1 << 3
    _PyGC_BITS_SHARED = 1 << 4
    _PyGC_BITS_ALIVE = 1 << 5
    _PyGC_BITS_DEFERRED = 1 << 6


_Py_REF_MAYBE_WEAKREF = int(RefSharedFlag._Py_REF_MAYBE_WEAKREF)
_Py_REF_QUEUED = int(RefSharedFlag._Py_REF_QUEUED)
_Py_REF_MERGED = int(RefSharedFlag._Py_REF_MERGED)
_PyGC_BITS_DEFERRED = int(GCBits._PyGC_BITS_DEFERRED)
_PyGC_BITS_TRACKED = int(GCBits._PyGC_BITS_TRACKED)
_SHARED_ONE = 1 << _Py_REF_SHARED_SHIFT


def _Py_REF_SHARED(count: int, flags: int) -> int:
    return (count << _Py_REF_SHARED_SHIFT) + flags


class PyObject:
    """One modelled object.  Guest code uses the methods (each one is a bytecode-level
    operation: it checks the eval breaker first); the runtime uses the module functions."""

    __slots__ = (
        "rt", "obj", "type", "size", "gc", "addr", "name", "ob_tid", "ob_flags", "_ob_mutex", "ob_gc_bits",
        "ob_ref_local", "ob_ref_shared", "alive", "tp_dealloc", "merging", "alloc_id", "page",
        "ob_refs", "tp_traverse", "tp_clear", "tp_finalize",
    )

    def __init__(self, rt, obj: int, type: str, size: int, gc: bool, addr: int, tid: int, name: str = "",
                 alloc_id: int = 0, page=None) -> None:
        self.rt = rt
        self.alloc_id = alloc_id  # the allocation this object lives in (obmalloc.Block)
        self.page = page
        self.obj = obj
        self.type = type
        self.size = size
        self.gc = gc
        self.addr = addr  # the block
        self.name = name
        # new_reference()
        self.ob_flags = 0
        self._ob_mutex: Optional[PyMutex] = None  # created on first use (an unlocked byte is all zeros)
        self.ob_tid = tid
        self.ob_gc_bits = _PyGC_BITS_TRACKED if gc else 0  # GC objects are tracked at creation
        self.ob_ref_local = 1
        self.ob_ref_shared = 0
        self.alive = True
        self.tp_dealloc: Optional[Callable[["PyObject"], None]] = None
        self.ob_refs: list = []  # the references the object holds (tp_traverse / tp_clear)
        self.tp_traverse: Optional[Callable[[], list]] = None  # default: ob_refs
        self.tp_clear: Optional[Callable[[], None]] = None  # default: drop ob_refs
        self.tp_finalize: Optional[Callable[["PyObject"], None]] = None
        # Model-only: the ob_ref_local value an explicit merge carries between clearing the
        # field and its CAS on ob_ref_shared (so events can report the true count).
        self.merging = 0

    @property
    def block(self) -> int:
        return self.addr

    @property
    def ob_mutex(self) -> PyMutex:
        m = self._ob_mutex
        if m is None:
            m = self._ob_mutex = PyMutex(self.rt, self.addr + OB_MUTEX_OFFSET, f"{self}.ob_mutex")
        return m

    def __repr__(self) -> str:
        return f"<{self.type} #{self.obj}{' ' + self.name if self.name else ''} @0x{self.addr:x}>"

    def record(self) -> list:
        """The projection's record of a live object (ftreplay.replay.state.O_*)."""
        return [self.type, self.size, self.gc, self.addr, self.ob_tid, self.ob_ref_local, self.ob_ref_shared,
                self.ob_gc_bits]

    # -- guest operations ----------------------------------------------------------------------
    def incref(self) -> None:
        self.rt.check_eval_breaker()
        Py_INCREF(self)

    def decref(self) -> None:
        self.rt.check_eval_breaker()
        Py_DECREF(self)

    def try_incref(self) -> bool:
        """_Py_TryIncref: a lock-free reader's incref; fails once the count may be zero.
        Part of the bytecode that loaded the pointer (no periodic check of its own); it
        works on whatever header now lives at the object's address (obmalloc.header_at)."""
        target = self.rt.obmalloc.header_at(self, "TryIncref")
        if target is not self:
            # The block holds another object of the same size class now: the incref lands
            # on it, and the reader sees it is not the object it meant.
            if try_incref(target):
                Py_DECREF(target)
            return False
        return try_incref(self)

    def refcnt(self) -> int:
        self.rt.check_eval_breaker()
        self.rt.engine.point(ATOMIC_LOAD_NS)
        return Py_REFCNT(self)

    def add_ref(self, other: "PyObject") -> None:
        """Store a new reference to ``other`` in this object (an attribute, a cell)."""
        self.rt.check_eval_breaker()
        Py_INCREF(other)
        self.ob_refs.append(other)

    def clear_refs(self) -> None:
        """Drop every reference this object holds (as tp_clear would)."""
        self.rt.check_eval_breaker()
        refs = self.ob_refs
        while refs:
            Py_DECREF(refs.pop())

    def set_maybe_weakref(self) -> None:
        self.rt.check_eval_breaker()
        set_maybe_weakref(self)

    def set_immortal(self) -> None:
        self.rt.check_eval_breaker()
        set_immortal(self)

    def is_immortal(self) -> bool:
        return self.ob_ref_local == _Py_IMMORTAL_REFCNT_LOCAL

    def flags(self) -> int:
        return self.ob_ref_shared & _Py_REF_SHARED_FLAG_MASK


def Py_REFCNT(op: PyObject) -> int:
    """The count from the two fields as they are now (no scheduling point)."""
    local = op.ob_ref_local
    if local == _Py_IMMORTAL_REFCNT_LOCAL:
        return _Py_IMMORTAL_INITIAL_REFCNT
    return local + (op.ob_ref_shared >> _Py_REF_SHARED_SHIFT)


def _refcnt(op: PyObject, local: int, shared: int) -> int:
    """The count an event reports: Py_REFCNT of the fields, plus what an explicit merge in
    progress holds (Py_REFCNT itself can read negative in that window)."""
    if local == _Py_IMMORTAL_REFCNT_LOCAL:
        return _Py_IMMORTAL_INITIAL_REFCNT
    return local + (shared >> _Py_REF_SHARED_SHIFT) + op.merging


def _freed(op: PyObject, what: str) -> None:
    raise GuestFailure("use_after_free", f"{what} on {op!r}, which was deallocated")


# -- creation -----------------------------------------------------------------------------------
def new_object(rt, type: str = "object", size: int = SIZEOF_PYOBJECT, gc: bool = False, name: str = "",
               preheader: bool = False) -> PyObject:
    """Allocate and initialise an object (PyObject_Malloc + new_reference) owned by the caller."""
    eng = rt.engine
    ts = eng.cur.tstate
    if ts is not None and not ts.brc.tid:
        brc.init_thread(rt, ts)  # deferred from bind (brc.py)
    # PyObject_Malloc / _PyObject_MallocWithType: the heap follows the type's GC flags.
    tag = (_Py_MIMALLOC_HEAP_GC_PRE if preheader else _Py_MIMALLOC_HEAP_GC) if gc else _Py_MIMALLOC_HEAP_OBJECT
    blk = rt.obmalloc.malloc(tag, size)
    block = blk.addr
    if name:
        rt.label(block, name)
    eng.point(GUEST_OP_NS)
    rt.next_obj += 1
    op = PyObject(rt, rt.next_obj, type, size, gc, block, eng.tid, name, blk.alloc_id, blk.page)
    blk.obj = op
    rt.objects[op.obj] = op
    rt.emit(OBJECT_NEW, op.obj, type, size, gc, block, op.ob_tid)
    if gc and ts is not None:
        from .gc_free_threading import record_allocation

        record_allocation(rt, ts)
    return op


def set_immortal(op: PyObject) -> None:
    """_Py_SetImmortalUntracked: unowned, local = UINT32_MAX, shared = 0, DEFERRED gc bit."""
    rt = op.rt
    rt.engine.point(ATOMIC_STORE_NS)
    if not op.alive:
        _freed(op, "_Py_SetImmortal")
    if op.ob_ref_local == _Py_IMMORTAL_REFCNT_LOCAL:
        return
    old = (op.ob_tid, op.ob_ref_local, op.ob_ref_shared, op.ob_gc_bits)
    op.ob_tid = _Py_UNOWNED_TID
    op.ob_ref_local = _Py_IMMORTAL_REFCNT_LOCAL
    op.ob_ref_shared = 0
    op.ob_gc_bits |= _PyGC_BITS_DEFERRED
    rt.emit(OBJECT_SET_IMMORTAL, op.obj, op.ob_tid, op.ob_ref_local, op.ob_ref_shared, op.ob_gc_bits, *old)


# -- Py_INCREF / Py_DECREF ----------------------------------------------------------------------
def Py_INCREF(op: PyObject) -> None:
    rt = op.rt
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    if not op.alive:
        _freed(op, "Py_INCREF")
    local = op.ob_ref_local
    shared = op.ob_ref_shared
    new_local = (local + 1) & UINT32_MAX
    if new_local == 0:  # immortal
        rt.emit(OBJECT_INCREF, op.obj, "immortal", local, shared, _Py_IMMORTAL_INITIAL_REFCNT, local, shared)
        return
    if op.ob_tid == eng.tid:  # _Py_IsOwnedByCurrentThread
        op.ob_ref_local = new_local
        rt.emit(OBJECT_INCREF, op.obj, "local", new_local, shared, _refcnt(op, new_local, shared), local, shared)
        return
    eng.point(ATOMIC_RMW_NS)  # _Py_atomic_add_ssize(&ob_ref_shared, 1 << _Py_REF_SHARED_SHIFT)
    if not op.alive:
        _freed(op, "Py_INCREF")
    shared = op.ob_ref_shared
    new_shared = shared + _SHARED_ONE
    op.ob_ref_shared = new_shared
    local = op.ob_ref_local
    rt.emit(OBJECT_INCREF, op.obj, "shared", local, new_shared, _refcnt(op, local, new_shared), local, shared)


def Py_DECREF(op: PyObject) -> None:
    rt = op.rt
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    if not op.alive:
        _freed(op, "Py_DECREF")
    local = op.ob_ref_local
    if local == _Py_IMMORTAL_REFCNT_LOCAL:
        shared = op.ob_ref_shared
        rt.emit(OBJECT_DECREF, op.obj, "immortal", local, shared, _Py_IMMORTAL_INITIAL_REFCNT, local, shared)
        return
    if op.ob_tid == eng.tid:
        if local == 0:
            raise FatalError(f"_Py_NegativeRefcount: {op!r} has a negative ref count (owner decref at local 0)")
        shared = op.ob_ref_shared
        op.ob_ref_local = local - 1
        rt.emit(OBJECT_DECREF, op.obj, "local", local - 1, shared, _refcnt(op, local - 1, shared), local, shared)
        if local == 1:
            merge_zero_local_refcount(op)
    else:
        dec_ref_shared(op)


def dec_ref_shared_is_dead(op: PyObject) -> bool:
    """_Py_DecRefSharedIsDead: decrement ob_ref_shared (or queue the object to its owner);
    True if the object is now dead (count zero and merged)."""
    rt = op.rt
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    if not op.alive:
        _freed(op, "_Py_DecRefShared")
    shared = op.ob_ref_shared
    while True:
        should_queue = shared == 0 or shared == _Py_REF_MAYBE_WEAKREF
        if should_queue:
            # The queue keeps this reference: no subtraction.
            new_shared = _Py_REF_QUEUED
        else:
            new_shared = shared - _SHARED_ONE
        if new_shared < 0 and (new_shared & _Py_REF_SHARED_FLAG_MASK) == _Py_REF_MERGED:
            raise FatalError(f"_Py_NegativeRefcount: {op!r} has a negative ref count (merged, shared {new_shared})")
        eng.point(ATOMIC_RMW_NS)
        if not op.alive:
            _freed(op, "_Py_DecRefShared")
        if op.ob_ref_shared == shared:
            op.ob_ref_shared = new_shared
            local = op.ob_ref_local
            rt.emit(OBJECT_DECREF, op.obj, "shared", local, new_shared, _refcnt(op, local, new_shared), local, shared)
            break
        shared = op.ob_ref_shared  # the failed CAS reloads
    if should_queue:
        brc.queue_object(rt, op)
    elif new_shared == _Py_REF_MERGED:
        return True  # refcount is zero AND merged
    return False


def dec_ref_shared(op: PyObject) -> None:
    """_Py_DecRefShared."""
    if dec_ref_shared_is_dead(op):
        dealloc(op)


def merge_zero_local_refcount(op: PyObject) -> None:
    """_Py_MergeZeroLocalRefcount: the owner's local count just reached zero."""
    rt = op.rt
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)  # acquire load
    shared = op.ob_ref_shared
    if shared == 0:
        dealloc(op)  # fast path: shared count zero, flags included (ob_tid untouched)
        return
    # gh-121794: give up ownership before the store to ob_ref_shared (gh-119999), and only
    # here, so that a zero ob_tid implies a merged refcount.
    eng.point(ATOMIC_STORE_NS)
    tid = op.ob_tid
    op.ob_tid = _Py_UNOWNED_TID
    rt.emit(OBJECT_DISOWN, op.obj, "zero_local", _Py_UNOWNED_TID, op.ob_ref_local, tid, op.ob_ref_local)
    while True:
        new_shared = (shared & ~_Py_REF_SHARED_FLAG_MASK) | _Py_REF_MERGED
        eng.point(ATOMIC_RMW_NS)
        if op.ob_ref_shared == shared:
            op.ob_ref_shared = new_shared
            rt.emit(OBJECT_MERGE, op.obj, "zero_local", 0, _refcnt(op, op.ob_ref_local, new_shared), new_shared, shared)
            break
        shared = op.ob_ref_shared
    if new_shared == _Py_REF_MERGED:
        dealloc(op)  # the shared count is zero: only the flags are set


def explicit_merge_refcount(op: PyObject, extra: int, path: str = "explicit") -> int:
    """_Py_ExplicitMergeRefcount: fold ob_ref_local (plus ``extra``) into ob_ref_shared and
    mark it MERGED; returns the count.  The caller deallocates at zero.  ``path`` names the
    caller for the events ('queue', 'owner_gone', 'explicit')."""
    rt = op.rt
    eng = rt.engine
    if op.ob_ref_local == _Py_IMMORTAL_REFCNT_LOCAL:
        raise FatalError(f"_Py_ExplicitMergeRefcount on immortal {op!r}")
    # gh-119999: write ob_ref_local and ob_tid before merging the refcount.
    eng.point(ATOMIC_STORE_NS)
    if not op.alive:
        _freed(op, "_Py_ExplicitMergeRefcount")
    local = op.ob_ref_local
    tid = op.ob_tid
    op.ob_ref_local = 0
    op.ob_tid = _Py_UNOWNED_TID
    op.merging = local
    rt.emit(OBJECT_DISOWN, op.obj, path, _Py_UNOWNED_TID, 0, tid, local)
    eng.point(ATOMIC_LOAD_NS)
    shared = op.ob_ref_shared
    while True:
        refcnt = (shared >> _Py_REF_SHARED_SHIFT) + local + extra
        new_shared = _Py_REF_SHARED(refcnt, _Py_REF_MERGED)
        eng.point(ATOMIC_RMW_NS)
        if op.ob_ref_shared == shared:
            op.ob_ref_shared = new_shared
            op.merging = 0
            rt.emit(OBJECT_MERGE, op.obj, path, extra, refcnt, new_shared, shared)
            return refcnt
        shared = op.ob_ref_shared


# -- lock-free readers -------------------------------------------------------------------------
def try_incref_fast(op: PyObject) -> bool:
    """_Py_TryIncrefFast: succeeds only for immortal objects and the owner."""
    rt = op.rt
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    local = op.ob_ref_local
    shared = op.ob_ref_shared
    new_local = (local + 1) & UINT32_MAX
    if new_local == 0:
        rt.emit(OBJECT_TRY_INCREF, op.obj, "immortal", True, local, shared, _Py_IMMORTAL_INITIAL_REFCNT, local, shared)
        return True
    if op.ob_tid == eng.tid:
        if not op.alive:
            _freed(op, "_Py_TryIncrefFast (the owner revives freed memory)")
        op.ob_ref_local = new_local
        rt.emit(OBJECT_TRY_INCREF, op.obj, "local", True, new_local, shared, _refcnt(op, new_local, shared),
                local, shared)
        return True
    return False


def try_incref_shared(op: PyObject) -> bool:
    """_Py_TryIncRefShared: fails when the shared field is 0 or MERGED (count zero)."""
    rt = op.rt
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    shared = op.ob_ref_shared
    while True:
        if shared == 0 or shared == _Py_REF_MERGED:
            local = op.ob_ref_local
            rt.emit(OBJECT_TRY_INCREF, op.obj, "shared", False, local, shared, _refcnt(op, local, shared),
                    local, shared)
            return False
        eng.point(ATOMIC_RMW_NS)
        if op.ob_ref_shared == shared:
            if not op.alive:
                raise GuestFailure("use_after_free", rt.obmalloc.describe_dead_header(op, "_Py_TryIncRefShared"))
            new_shared = shared + _SHARED_ONE
            op.ob_ref_shared = new_shared
            local = op.ob_ref_local
            rt.emit(OBJECT_TRY_INCREF, op.obj, "shared", True, local, new_shared, _refcnt(op, local, new_shared),
                    local, shared)
            return True
        shared = op.ob_ref_shared


def try_incref(op: PyObject) -> bool:
    """_Py_TryIncref."""
    return try_incref_fast(op) or try_incref_shared(op)


def set_maybe_weakref(op: PyObject) -> None:
    """_PyObject_SetMaybeWeakref: lets non-owners revive a zero shared count (try_incref)."""
    rt = op.rt
    eng = rt.engine
    eng.point(ATOMIC_LOAD_NS)
    if not op.alive:
        _freed(op, "_PyObject_SetMaybeWeakref")
    if op.ob_ref_local == _Py_IMMORTAL_REFCNT_LOCAL:
        return
    shared = op.ob_ref_shared
    while True:
        if shared & _Py_REF_SHARED_FLAG_MASK:
            return  # already MAYBE_WEAKREF, QUEUED or MERGED
        eng.point(ATOMIC_RMW_NS)
        if op.ob_ref_shared == shared:
            op.ob_ref_shared = shared | _Py_REF_MAYBE_WEAKREF
            rt.emit(OBJECT_SET_MAYBE_WEAKREF, op.obj, op.ob_ref_shared, shared)
            return
        shared = op.ob_ref_shared


# -- deallocation -------------------------------------------------------------------------------
def dealloc(op: PyObject) -> None:
    """_Py_Dealloc: the object dies (tp_dealloc, then its memory is freed)."""
    rt = op.rt
    rt.engine.point(GUEST_OP_NS)
    if not op.alive:
        raise GuestFailure("use_after_free", f"_Py_Dealloc of {op!r} a second time")
    op.alive = False
    del rt.objects[op.obj]
    rt.emit(OBJECT_DEALLOC, op.obj, op.type, op.size, op.gc, op.addr, op.ob_tid, op.ob_ref_local,
            op.ob_ref_shared, op.ob_gc_bits)
    if op.tp_dealloc is not None:
        op.tp_dealloc(op)
    if op.gc:
        ts = rt.engine.cur.tstate
        if ts is not None:
            from .gc_free_threading import record_deallocation

            record_deallocation(rt, ts)
    rt.obmalloc.free(op.addr)  # PyObject_Free
