"""Objects/dictobject.c (Py_GIL_DISABLED): a dict with string keys, a combined table, writers
under the dict's critical section and lock-free readers.

    PyDictObject (48 bytes, GC heap): ma_used, ma_keys -> PyDictKeysObject (PyMem heap):
        dk_size slots of indices and dk_usable = 2/3 entries {key, value}

    insert / replace / delete: Py_BEGIN_CRITICAL_SECTION(dict); a replaced value is stored
        (release) before the old one is decrefed; a full table is resized: new keys, copy,
        publish ma_keys, free the old keys -- through _PyMem_FreeDelayed once the dict is
        shared (ensure_shared_on_read)
    _Py_dict_lookup_threadsafe (reader): load ma_keys, find the key in the keys block, load
        the value pointer, _Py_TryXGetRef; then ma_keys must be unchanged (else retry); a
        non-owner's first read marks the dict shared under its critical section

Keys are plain Python strings found by a scan of the entries (each probe a read of the keys
block); only the memory and reference behaviour is modelled, not the hash layout.
"""

from __future__ import annotations

from typing import Optional

from ..record.events import DICTOBJECT_READ, DICTOBJECT_RESIZE, DICTOBJECT_STORE
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS
from . import object as pyobject
from .listobject import ItemArray, _obj_id, new_ref_with_lock, try_incref_compare

SIZEOF_PYDICTOBJECT = 48
PyDict_MINSIZE = 8
SIZEOF_DICTKEYS_HEADER = 32


def USABLE_FRACTION(n: int) -> int:
    return (n << 1) // 3


class DictKeys(ItemArray):
    """PyDictKeysObject: ``items`` holds the values, ``keys`` the entries' keys."""

    __slots__ = ("dk_size", "keys")

    def __init__(self, rt, dk_size: int) -> None:
        usable = USABLE_FRACTION(dk_size)
        super().__init__(rt, usable, header=SIZEOF_DICTKEYS_HEADER + dk_size + 8 * usable)
        self.dk_size = dk_size
        self.keys: list[Optional[str]] = [None] * usable


class PyDict:
    """A guest dict.  ``rt.new_dict(name)``; methods are bytecode-level operations."""

    def __init__(self, rt, name: str = "") -> None:
        self.rt = rt
        self.op = pyobject.new_object(rt, "dict", SIZEOF_PYDICTOBJECT, gc=True, name=name)
        self.ma_keys = DictKeys(rt, PyDict_MINSIZE)
        self.ma_used = 0
        self.nentries = 0
        self.shared = False

    def __repr__(self) -> str:
        return f"<dict {self.op!r} used {self.ma_used}>"

    def _find(self, keys: DictKeys, key: str) -> int:
        for i in range(self.nentries if keys is self.ma_keys else len(keys.keys)):
            if keys.keys[i] == key:
                return i
        return -1

    # -- writers -----------------------------------------------------------------------------
    def _resize(self) -> None:
        """dictresize: a table twice as large; the old keys are freed (delayed when shared)."""
        rt = self.rt
        old = self.ma_keys
        new = DictKeys(rt, old.dk_size * 2)
        j = 0
        for i in range(self.nentries):
            if old.keys[i] is not None:
                new.keys[j] = old.keys[i]
                new.items[j] = old.items[i]
                j += 1
        rt.engine.point(ATOMIC_STORE_NS)  # publish ma_keys (release)
        self.ma_keys = new
        self.nentries = j
        rt.emit(DICTOBJECT_RESIZE, self.op.obj, new.addr, new.dk_size, old.addr, old.dk_size, self.shared)
        if self.shared:
            rt.obmalloc.free_delayed(old.addr, old.nbytes)
        else:
            rt.obmalloc.free(old.addr)

    def __setitem__(self, key: str, v) -> None:
        """d[key] = v: the dict takes a new reference; a replaced value is decrefed after
        the new one is stored."""
        rt = self.rt
        rt.check_eval_breaker()
        pyobject.Py_INCREF(v)
        with rt.critical_section(self.op):
            keys = self.ma_keys
            i = self._find(keys, key)
            if i < 0:
                if self.nentries >= len(keys.keys):
                    self._resize()
                    keys = self.ma_keys
                i = self.nentries
                keys.keys[i] = key
                self.nentries += 1
                self.ma_used += 1
            rt.engine.point(ATOMIC_STORE_NS)
            old = keys.items[i]
            keys.items[i] = v
            rt.emit(DICTOBJECT_STORE, self.op.obj, i, v.obj, _obj_id(old), self.ma_used)
            if old is not None:
                pyobject.Py_DECREF(old)

    def __delitem__(self, key: str) -> None:
        rt = self.rt
        rt.check_eval_breaker()
        with rt.critical_section(self.op):
            keys = self.ma_keys
            i = self._find(keys, key)
            if i < 0:
                raise KeyError(key)
            rt.engine.point(ATOMIC_STORE_NS)
            old = keys.items[i]
            keys.items[i] = None
            keys.keys[i] = None
            self.ma_used -= 1
            rt.emit(DICTOBJECT_STORE, self.op.obj, i, 0, _obj_id(old), self.ma_used)
            pyobject.Py_DECREF(old)

    # -- readers -----------------------------------------------------------------------------
    def get_ref(self, key: str):
        """d.get(key): a new reference, or None."""
        rt = self.rt
        rt.check_eval_breaker()
        eng = rt.engine
        if self.op.ob_tid != eng.tid and not self.shared:
            # ensure_shared_on_read
            with rt.critical_section(self.op):
                self.shared = True
        am = rt.obmalloc
        while True:
            eng.point(ATOMIC_LOAD_NS)
            keys = self.ma_keys
            n = len(keys.keys)
            i = -1
            for j in range(n):
                eng.point(ATOMIC_LOAD_NS)
                am.check_read(keys.addr, keys.alloc_id, "probe the keys of dict")
                if keys.keys[j] == key:
                    i = j
                    break
            if i < 0:
                eng.point(ATOMIC_LOAD_NS)
                if self.ma_keys is keys:
                    return None
                continue

            def load_slot(keys=keys, i=i):
                eng.point(ATOMIC_LOAD_NS)
                am.check_read(keys.addr, keys.alloc_id, f"load value {i} of dict keys")
                return keys.items[i]

            v = load_slot()
            if v is None:
                return None
            v = try_incref_compare(load_slot, v)
            if v is not None:
                eng.point(ATOMIC_LOAD_NS)
                if self.ma_keys is keys:
                    rt.emit(DICTOBJECT_READ, self.op.obj, i, v.obj, "lockfree", keys.addr)
                    return v
                pyobject.Py_DECREF(v)
                continue
            # The value changed under us or is being freed: the locked path.
            with rt.critical_section(self.op):
                keys = self.ma_keys
                i = self._find(keys, key)
                if i < 0:
                    return None
                v = keys.items[i]
                new_ref_with_lock(v)
                rt.emit(DICTOBJECT_READ, self.op.obj, i, v.obj, "locked", keys.addr)
            return v
