"""Objects/typeobject.c: _PyType_Lookup with the per-interpreter method cache, type version
tags, and strong MRO reads (_PyType_GetMRO) in the free-threaded build (gh-113743, gh-118362).

    interp->types.type_cache.hashtable[1 << MCACHE_SIZE_EXP]   (4096 entries)
        entry = {sequence (_PySeqLock), version (u32), name (strong ref), value (borrowed)}
        index = (tp_version_tag ^ (name pointer >> 3)) & 4095
    versions: 0 = none; heap types take interp->types.next_version_tag (from 2 << 16), at most
        MAX_VERSIONS_PER_CLASS per class, bases first; type_modified resets the tag to 0 (and
        the subclasses'), which makes every entry for the type miss.

    lookup:  loop { s = BeginRead; version and the type's tag (acquire); name equal?
                    value: _Py_TryXGetStackRef (TryIncref, compare) -> EndRead(s) ? hit
                                                                     : drop the ref, retry
             } else: TYPE_LOCK { assign a version; find_name_in_mro (MRO held strongly) }
                     update: LockWrite; identical -> AbandonWrite; value, name, version last;
                             UnlockWrite

With ``--bug type_cache_no_seqlock`` entries are read and written with plain loads and stores
(the writer stores version, value, name), so a reader can take version and name from one
(type, name) and the value from another: the guest's ``assertion`` that a lookup returned
its attribute fails.
"""

from __future__ import annotations

from typing import Optional

from ..record.events import TYPEOBJECT_CACHE_READ, TYPEOBJECT_CACHE_STORE, TYPEOBJECT_VERSION
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS, GUEST_OP_NS
from .lock import PyMutex, SeqLock
from .object import Py_DECREF, Py_INCREF, set_maybe_weakref, try_incref

BUG_NO_SEQLOCK = "type_cache_no_seqlock"

MCACHE_SIZE_EXP = 12
MCACHE_MAX_ATTR_SIZE = 100
_Py_MAX_GLOBAL_TYPE_VERSION_TAG = (2 << 16) - 1  # static types; heap types start above
MAX_VERSIONS_PER_CLASS = 1000


class CacheEntry:
    """struct type_cache_entry."""

    __slots__ = ("index", "sequence", "version", "name", "value")

    def __init__(self, rt, interp_id: int, index: int) -> None:
        self.index = index
        self.sequence = SeqLock(rt, rt.alloc(8, f"interp{interp_id}.type_cache[{index}].sequence"))
        self.version = 0
        self.name = ""  # the interned name ('' = NULL)
        self.value = None  # borrowed PyObject (None = NULL)


class TypesState:
    """interp->types: the type lock, the next heap-type version and the method cache."""

    def __init__(self, rt, interp) -> None:
        self.rt = rt
        self.interp = interp
        self.mutex = PyMutex(rt, rt.alloc(8, f"interp{interp.id}.types.mutex"), f"interp{interp.id}.types.mutex")
        self.next_version_tag = _Py_MAX_GLOBAL_TYPE_VERSION_TAG + 1
        self.entries: dict[int, CacheEntry] = {}  # index -> entry (created on first use)
        self.interned: dict[str, int] = {}  # name -> address of the interned string

    def entry(self, index: int) -> CacheEntry:
        e = self.entries.get(index)
        if e is None:
            e = self.entries[index] = CacheEntry(self.rt, self.interp.id, index)
        return e


def types_state(rt, interp) -> TypesState:
    ts = interp.__dict__.get("types")
    if ts is None:
        ts = interp.types = TypesState(rt, interp)
    return ts


def intern(rt, interp, name: str) -> int:
    """The address of ``name``'s interned string (the cache hashes the pointer)."""
    st = types_state(rt, interp)
    addr = st.interned.get(name)
    if addr is None:
        addr = st.interned[name] = rt.alloc(48 + len(name), f"'{name}'")
    return addr


def intern_at_index(rt, interp, name: str, tp: "PyType", index: int) -> int:
    """Intern ``name`` at an address whose (tp's version, name) pair maps to cache ``index``:
    what trying candidate names until one collides would find.  tp must have a version with the
    index's low bit (interned strings are 16-byte aligned, so pointer >> 3 is even)."""
    st = types_state(rt, interp)
    if name in st.interned:
        raise ValueError(f"{name!r} is already interned")
    mask = (1 << MCACHE_SIZE_EXP) - 1
    want = (index ^ tp.tp_version_tag) & mask
    if want & 1:
        raise ValueError("the version's low bit differs from the index's")
    addr = rt._next_addr
    while (addr >> 3) & mask != want:
        addr += 16
    if addr > rt._next_addr:
        rt.alloc(addr - rt._next_addr)  # the strings interned in between
    return intern(rt, interp, name)


def cache_index(rt, tp: "PyType", name: str) -> int:
    """MCACHE_HASH_METHOD(type, name)."""
    return (tp.tp_version_tag ^ (intern(rt, tp.interp, name) >> 3)) & ((1 << MCACHE_SIZE_EXP) - 1)


class PyType:
    """A heap type: its dict (name -> object, strong references), bases, tp_mro (a tuple
    object) and version tag."""

    def __init__(self, rt, name: str, bases: tuple = (), attrs: Optional[dict] = None) -> None:
        self.rt = rt
        self.name = name
        self.interp = rt.engine.cur.tstate.interp
        self.bases = tuple(bases)
        self.subclasses: list[PyType] = []
        for b in self.bases:
            b.subclasses.append(self)
        self.tp_version_tag = 0
        self.tp_versions_used = 0
        self.dict: dict = {}
        for k, v in (attrs or {}).items():
            Py_INCREF(v)
            set_maybe_weakref(v)  # read lock-free through the type cache (TryIncref)
            self.dict[k] = v
        self.mro_types = [self] + [t for b in self.bases for t in b.mro_types if t not in self.bases] + list(self.bases)
        self.tp_mro = rt.new_object("tuple", 56, name=f"{name}.__mro__")
        self.tp_mro.set_maybe_weakref()  # read lock-free by _PyType_GetMRO

    def __repr__(self) -> str:
        return f"<type {self.name}>"


# -- versions ------------------------------------------------------------------------------------------
def _set_version(rt, tp: PyType, version: int) -> None:
    rt.engine.point(ATOMIC_STORE_NS)  # FT_ATOMIC_STORE_UINT32_RELAXED
    old = tp.tp_version_tag
    tp.tp_version_tag = version
    rt.emit(TYPEOBJECT_VERSION, tp.interp.id, tp.name, version, old)


def assign_version_tag(rt, tp: PyType) -> bool:
    """assign_version_tag (TYPE_LOCK held)."""
    if tp.tp_version_tag:
        return True
    if tp.tp_versions_used >= MAX_VERSIONS_PER_CLASS:
        return False
    for b in tp.bases:
        if not assign_version_tag(rt, b):
            return False
    st = types_state(rt, tp.interp)
    if st.next_version_tag == 0:
        return False  # exhausted
    v = st.next_version_tag
    st.next_version_tag = v + 1
    tp.tp_versions_used += 1
    _set_version(rt, tp, v)
    return True


def type_modified(rt, tp: PyType) -> None:
    """type_modified_unlocked (TYPE_LOCK held): the subclasses first, then the tag goes to 0."""
    if tp.tp_version_tag == 0:
        return
    for sub in tp.subclasses:
        type_modified(rt, sub)
    _set_version(rt, tp, 0)


def setattr(rt, tp: PyType, name: str, value) -> None:
    """type_setattro: under the type lock, invalidate first, then store; the old value is
    released after the lock."""
    st = types_state(rt, tp.interp)
    rt.check_eval_breaker()
    with rt.critical_section(st.mutex):  # BEGIN_TYPE_DICT_LOCK
        type_modified(rt, tp)
        rt.engine.point(GUEST_OP_NS)
        Py_INCREF(value)
        set_maybe_weakref(value)
        old = tp.dict.get(name)
        tp.dict[name] = value
    if old is not None:
        Py_DECREF(old)


# -- MRO ---------------------------------------------------------------------------------------------------
def _try_incref_compare(rt, op, load) -> bool:
    """_Py_TryIncrefCompare(src, op): TryIncref, then re-read ``*src``; drop it on a mismatch."""
    if not try_incref(op):
        return False
    rt.engine.point(ATOMIC_LOAD_NS)
    if load() is not op:
        Py_DECREF(op)
        return False
    return True


def get_mro(rt, tp: PyType):
    """_PyType_GetMRO: a strong reference to tp_mro (lock-free when TryIncref succeeds)."""
    rt.engine.point(ATOMIC_LOAD_NS)
    mro = tp.tp_mro
    if mro is None:
        return None
    if _try_incref_compare(rt, mro, lambda: tp.tp_mro):
        return mro
    st = types_state(rt, tp.interp)
    with rt.critical_section(st.mutex):
        mro = tp.tp_mro
        if mro is not None:
            Py_INCREF(mro)
    return mro


def find_name_in_mro(rt, tp: PyType, name: str):
    """find_name_in_mro: walk the MRO (held strongly); a new reference to the value or None."""
    mro = get_mro(rt, tp)
    res = None
    for t in tp.mro_types:
        rt.engine.point(GUEST_OP_NS)  # a dict lookup
        v = t.dict.get(name)
        if v is not None:
            res = v
            Py_INCREF(res)
            break
    if mro is not None:
        Py_DECREF(mro)
    return res


# -- the cache --------------------------------------------------------------------------------------------
def _store(rt, st: TypesState, e: CacheEntry, version: int, name: str, value) -> None:
    rt.engine.point(ATOMIC_STORE_NS)
    old = (e.version, e.name, e.value.obj if e.value is not None else 0)
    e.version, e.name, e.value = version, name, value
    rt.emit(TYPEOBJECT_CACHE_STORE, st.interp.id, e.index, e.sequence.addr, version, name,
            value.obj if value is not None else 0, *old)


def _update_cache(rt, st: TypesState, e: CacheEntry, name: str, version: int, value) -> None:
    """update_cache_gil_disabled (and, with the bug, the unsynchronised update)."""
    if rt.bugs_on(BUG_NO_SEQLOCK):
        _store(rt, st, e, version, e.name, e.value)
        _store(rt, st, e, version, e.name, value)
        _store(rt, st, e, version, name, value)
        return
    e.sequence.lock_write()  # yields while another writer holds the entry
    rt.engine.point(ATOMIC_LOAD_NS)
    if e.name == name and e.value is value and e.version == version:
        e.sequence.abandon_write()  # a racing reader already stored the same
        return
    _store(rt, st, e, e.version, e.name, value)
    _store(rt, st, e, e.version, name, value)
    _store(rt, st, e, version, name, value)  # the version last (release)
    e.sequence.unlock_write()


def lookup(rt, tp: PyType, name: str):
    """_PyType_LookupRef: a new reference to the attribute ``name`` found along tp's MRO
    (None if absent)."""
    rt.check_eval_breaker()
    eng = rt.engine
    interp = tp.interp
    st = types_state(rt, interp)
    name_addr = intern(rt, interp, name)
    mask = (1 << MCACHE_SIZE_EXP) - 1
    eng.point(ATOMIC_LOAD_NS)
    index = (tp.tp_version_tag ^ (name_addr >> 3)) & mask
    e = st.entry(index)
    path = "miss"
    if rt.bugs_on(BUG_NO_SEQLOCK):
        eng.point(ATOMIC_LOAD_NS)
        ev = e.version
        eng.point(ATOMIC_LOAD_NS)
        if ev == tp.tp_version_tag:
            eng.point(ATOMIC_LOAD_NS)
            if e.name == name:
                eng.point(ATOMIC_LOAD_NS)
                value = e.value
                if value is not None:
                    Py_INCREF(value)
                rt.emit(TYPEOBJECT_CACHE_READ, interp.id, index, tp.name, name, value.obj if value else 0, "hit")
                return value
    else:
        while True:
            seq = e.sequence.begin_read()
            eng.point(ATOMIC_LOAD_NS)
            ev = e.version
            eng.point(ATOMIC_LOAD_NS)
            tv = tp.tp_version_tag
            eng.point(ATOMIC_LOAD_NS)
            if not (ev == tv and e.name == name):
                break
            eng.point(ATOMIC_LOAD_NS)
            value = e.value
            # _Py_TryXGetStackRef(&entry->value): NULL is a cached "absent"
            ok = value is None or _try_incref_compare(rt, value, lambda: e.value)
            if not ok:
                path = "incref_failed"
                break
            if e.sequence.end_read(seq):
                rt.emit(TYPEOBJECT_CACHE_READ, interp.id, index, tp.name, name, value.obj if value else 0, "hit")
                return value
            if value is not None:
                Py_DECREF(value)
            rt.emit(TYPEOBJECT_CACHE_READ, interp.id, index, tp.name, name, 0, "retry")
    rt.emit(TYPEOBJECT_CACHE_READ, interp.id, index, tp.name, name, 0, path)
    # The slow path: under the type lock, version the type and walk the MRO.
    with rt.critical_section(st.mutex):  # BEGIN_TYPE_LOCK
        has_version = len(name) <= MCACHE_MAX_ATTR_SIZE and assign_version_tag(rt, tp)
        version = tp.tp_version_tag
        res = find_name_in_mro(rt, tp, name)
    if has_version and version:
        name_addr = intern(rt, interp, name)
        e = st.entry((version ^ (name_addr >> 3)) & mask)
        _update_cache(rt, st, e, name, version, res)
    return res


def snapshot_into(rt, st) -> None:
    """Cache entries ever written, as the projection has them."""
    for interp in rt.pystate.interpreters:
        ts = interp.__dict__.get("types")
        if ts is None:
            continue
        for index, e in ts.entries.items():
            if e.version or e.name or e.value is not None:
                st.type_cache[(interp.id << MCACHE_SIZE_EXP) | index] = [
                    e.version, e.name, e.value.obj if e.value is not None else 0, e.sequence.addr]
