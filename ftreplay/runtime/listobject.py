"""Objects/listobject.c (Py_GIL_DISABLED): a list whose writers take its critical section
and whose readers may go without a lock.

    PyListObject (56 bytes, GC heap):  ob_size, ob_item -> _PyListArray, allocated
    _PyListArray (PyMem heap):         { Py_ssize_t allocated; PyObject *ob_item[]; }

    writers (append, store, pop, clear): Py_BEGIN_CRITICAL_SECTION(list); items are stored
        with release stores; list_resize allocates a new array, copies, publishes it, and
        frees the old one -- through _PyMem_FreeDelayed once the list is shared
    list_get_item_ref (reader):  the owner, or anyone once the list is shared, reads without
        the lock: load ob_size, load ob_item, read the array's capacity, load ob_item[i],
        _Py_TryXGetRef (_Py_TryIncrefCompare once); on failure, or for a non-owner of a
        list not yet shared, list_item_impl: the critical section, mark the list shared
        (_PyObject_GC_SET_SHARED), _Py_NewRefWithLock (sets MAYBE_WEAKREF on the item)

The lock-free steps form one bytecode: the periodic check (QSBR quiescent state) comes
before them, never between, so a reader holds the old array across a concurrent resize
until its next check.  Every read of the array names the allocation it expects (the
allocator fails the run with use_after_free otherwise).  The SHARED GC bit is kept on the
list (``shared``), not in the projected ob_gc_bits.
"""

from __future__ import annotations

from typing import Optional

from ..record.events import LISTOBJECT_READ, LISTOBJECT_RESIZE, LISTOBJECT_STORE
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS
from . import object as pyobject
from .obmalloc import _Py_MIMALLOC_HEAP_MEM

SIZEOF_PYLISTOBJECT = 56
SIZEOF_PYLISTARRAY_HEADER = 8


class ItemArray:
    """A _PyListArray (or a dict's keys block): a PyMem block holding item pointers."""

    __slots__ = ("addr", "alloc_id", "allocated", "items", "nbytes")

    def __init__(self, rt, allocated: int, header: int = SIZEOF_PYLISTARRAY_HEADER) -> None:
        self.allocated = allocated
        self.nbytes = header + 8 * allocated
        blk = rt.obmalloc.malloc(_Py_MIMALLOC_HEAP_MEM, self.nbytes)
        self.addr = blk.addr
        self.alloc_id = blk.alloc_id
        self.items: list = [None] * allocated


def _obj_id(v) -> int:
    return v.obj if v is not None else 0


def new_ref_with_lock(op) -> None:
    """_Py_NewRefWithLock: a reference taken under the container's lock; a non-owner sets
    MAYBE_WEAKREF so that later lock-free readers' _Py_TryIncref can succeed."""
    if pyobject.try_incref_fast(op):
        return
    rt = op.rt
    eng = rt.engine
    while True:
        eng.point(ATOMIC_LOAD_NS)
        shared = op.ob_ref_shared
        new_shared = shared + (1 << pyobject._Py_REF_SHARED_SHIFT)
        if (shared & pyobject._Py_REF_SHARED_FLAG_MASK) == 0:
            new_shared |= pyobject._Py_REF_MAYBE_WEAKREF
        eng.point(pyobject.ATOMIC_RMW_NS)
        if op.ob_ref_shared == shared:
            op.ob_ref_shared = new_shared
            local = op.ob_ref_local
            rt.emit(pyobject.OBJECT_INCREF, op.obj, "shared", local, new_shared,
                    pyobject._refcnt(op, local, new_shared), local, shared)
            return


def try_incref_compare(load_slot, op):
    """_Py_TryIncrefCompare(src, op) for a pointer ``op`` loaded from ``*src``: the object
    now at op's address gets the reference and is returned; None if that failed or ``*src``
    changed.  CPython compares pointers: when op's block was freed and reused by an object
    that is now in ``*src`` itself, the reader gets (and must later drop) that object."""
    target = op.rt.obmalloc.header_at(op, "_Py_TryIncrefCompare")
    if pyobject.try_incref_fast(target):
        return target
    if not pyobject.try_incref_shared(target):
        return None
    cur = load_slot()
    if cur is None or cur.addr != op.addr:
        pyobject.Py_DECREF(target)
        return None
    return target


class PyList:
    """A guest list.  ``rt.new_list(name)``; methods are bytecode-level operations."""

    def __init__(self, rt, name: str = "") -> None:
        self.rt = rt
        self.op = pyobject.new_object(rt, "list", SIZEOF_PYLISTOBJECT, gc=True, name=name)
        self.ob_item: Optional[ItemArray] = None
        self.ob_size = 0
        self.allocated = 0
        self.shared = False  # _PyGC_BITS_SHARED
        self.op.tp_traverse = self._traverse
        self.op.tp_clear = self._gc_clear

    def _traverse(self) -> list:
        """list_traverse: the items."""
        arr = self.ob_item
        return [arr.items[i] for i in range(self.ob_size)] if arr is not None else []

    def _gc_clear(self) -> None:
        """_list_clear as tp_clear: the collector drops the items (the world is running)."""
        arr = self.ob_item
        if arr is None:
            return
        items = [arr.items[i] for i in range(self.ob_size)]
        for i in range(self.ob_size):
            arr.items[i] = None
        self.ob_size = 0
        for v in items:
            if v is not None:
                pyobject.Py_DECREF(v)

    def __repr__(self) -> str:
        return f"<list {self.op!r} size {self.ob_size}>"

    # -- writers (critical section held) ---------------------------------------------------------
    def _resize(self, newsize: int) -> None:
        """list_resize (FT): a new array; the old one is freed (delayed when shared)."""
        rt = self.rt
        allocated = self.allocated
        if allocated >= newsize and newsize >= (allocated >> 1):
            self.ob_size = newsize
            return
        new_allocated = (newsize + (newsize >> 3) + 6) & ~3
        if newsize - self.ob_size > new_allocated - newsize:
            new_allocated = (newsize + 3) & ~3
        if newsize == 0:
            new_allocated = 0
        old = self.ob_item
        array = ItemArray(rt, new_allocated) if new_allocated else None
        if array is not None and old is not None:
            n = min(self.ob_size, newsize)
            array.items[:n] = old.items[:n]
        rt.engine.point(ATOMIC_STORE_NS)  # publish: release store of ob_item
        self.ob_item = array
        self.allocated = new_allocated
        self.ob_size = min(self.ob_size, newsize)
        rt.emit(LISTOBJECT_RESIZE, self.op.obj, array.addr if array else 0, new_allocated,
                old.addr if old else 0, old.allocated if old else 0, self.shared)
        if old is not None:
            if self.shared:
                rt.obmalloc.free_delayed(old.addr, old.nbytes)
            else:
                rt.obmalloc.free(old.addr)

    def _store(self, i: int, v, size: int) -> None:
        rt = self.rt
        rt.engine.point(ATOMIC_STORE_NS)  # FT_ATOMIC_STORE_PTR_RELEASE(ob_item[i], v)
        arr = self.ob_item
        prev = arr.items[i]
        arr.items[i] = v
        self.ob_size = size
        rt.emit(LISTOBJECT_STORE, self.op.obj, i, _obj_id(v), _obj_id(prev), size)
        return prev

    def append(self, v) -> None:
        """list.append(v): the list takes a new reference to v."""
        rt = self.rt
        rt.check_eval_breaker()
        pyobject.Py_INCREF(v)
        with rt.critical_section(self.op):
            n = self.ob_size
            if self.allocated <= n:
                self._resize(n + 1)
                self.ob_size = n
            self._store(n, v, n + 1)

    def __setitem__(self, i: int, v) -> None:
        """list[i] = v: store under the lock, then drop the old item's reference."""
        rt = self.rt
        rt.check_eval_breaker()
        pyobject.Py_INCREF(v)
        with rt.critical_section(self.op):
            if not 0 <= i < self.ob_size:
                pyobject.Py_DECREF(v)
                raise IndexError("list assignment index out of range")
            old = self._store(i, v, self.ob_size)
            if old is not None:
                pyobject.Py_DECREF(old)

    def pop(self):
        """list.pop(): the caller gets the list's reference."""
        rt = self.rt
        rt.check_eval_breaker()
        with rt.critical_section(self.op):
            n = self.ob_size
            if n == 0:
                raise IndexError("pop from empty list")
            v = self._store(n - 1, None, n - 1)
            self._resize(n - 1)
        return v

    def clear(self) -> None:
        """del list[:] (list_clear): the array is freed, every item decrefed."""
        rt = self.rt
        rt.check_eval_breaker()
        with rt.critical_section(self.op):
            old_items = [self.ob_item.items[i] for i in range(self.ob_size)] if self.ob_item else []
            for i in range(self.ob_size - 1, -1, -1):
                self._store(i, None, i)
            self._resize(0)
            for v in old_items:
                if v is not None:
                    pyobject.Py_DECREF(v)

    def __len__(self) -> int:
        self.rt.engine.point(ATOMIC_LOAD_NS)
        return self.ob_size

    # -- readers ----------------------------------------------------------------------------------
    def get_item_ref(self, i: int):
        """list_get_item_ref: a new reference to item i, or None if out of range."""
        rt = self.rt
        rt.check_eval_breaker()
        eng = rt.engine
        if self.op.ob_tid != eng.tid and not self.shared:
            return self._item_impl(i)
        eng.point(ATOMIC_LOAD_NS)
        size = self.ob_size
        if not 0 <= i < size:
            return None
        eng.point(ATOMIC_LOAD_NS)
        arr = self.ob_item  # _Py_atomic_load_ptr(&op->ob_item)
        if arr is None:
            return None
        am = rt.obmalloc
        eng.point(ATOMIC_LOAD_NS)
        am.check_read(arr.addr, arr.alloc_id, "read the capacity of list array")
        if not 0 <= i < arr.allocated:
            return None

        def load_slot():
            eng.point(ATOMIC_LOAD_NS)
            am.check_read(arr.addr, arr.alloc_id, f"read ob_item[{i}] of list array")
            return arr.items[i]

        v = load_slot()
        if v is not None:
            v = try_incref_compare(load_slot, v)
            if v is not None:
                rt.emit(LISTOBJECT_READ, self.op.obj, i, v.obj, "lockfree", arr.addr)
                return v
        return self._item_impl(i)

    def _item_impl(self, i: int):
        """list_item_impl: the locked read; marks the list shared for later lock-free reads."""
        rt = self.rt
        with rt.critical_section(self.op):
            self.shared = True
            if not 0 <= i < self.ob_size:
                return None
            v = self.ob_item.items[i]
            new_ref_with_lock(v)
            rt.emit(LISTOBJECT_READ, self.op.obj, i, v.obj, "locked", self.ob_item.addr)
        return v
