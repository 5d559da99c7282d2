"""The event union: the single source of truth for the log format and the store schema.

Every event is a msgspec Struct with the envelope ``seq, ts, tid`` followed by its own
fields; ``kind`` is the tag (``"<module>.<verb>"``).  The hot path never builds these
Structs: the recorder appends plain tuples laid out exactly like the Struct's fields
(``(seq, ts, tid, *fields)``) and the log stores them column by column.  The Structs
are built only when a reader asks for events one by one.

Evolution rules (also in schemas/README.md): append kinds to ``KINDS`` and fields to the
end of a kind, with defaults; never reorder, retype, rename or reuse a tag.  A field name
has one type across every kind, because the store's ``events`` view has one column per
name.
"""

from __future__ import annotations

from typing import Optional, Union

import msgspec

SCHEMA_VERSION = 1


class Event(msgspec.Struct, tag_field="kind", array_like=True, frozen=True, gc=False):
    seq: int
    ts: int
    tid: int


# -- run -------------------------------------------------------------------------------
class RunFailure(Event, tag="run.failure"):
    reason: str  # 'assertion', 'deadlock', 'livelock', 'use_after_free', 'invariant', 'crash'
    message: str


# -- lock.py: PyMutex ---------------------------------------------------------------------
class LockAcquire(Event, tag="lock.acquire"):
    mutex: int
    via: str  # 'fast', 'slow', 'handoff'
    bits_old: int
    bits_new: int
    wait_ns: int  # virtual time since the lock call began


class LockRelease(Event, tag="lock.release"):
    mutex: int
    via: str  # 'fast', 'slow'
    handoff_to: Optional[int]
    bits_old: int
    bits_new: int


class LockSetParked(Event, tag="lock.set_parked"):
    mutex: int
    bits_old: int
    bits_new: int


class LockFail(Event, tag="lock.fail"):
    mutex: int
    reason: str  # 'timeout', 'trylock', 'intr'


# -- parking_lot.py -----------------------------------------------------------------------
class ParkingLotPark(Event, tag="parking_lot.park"):
    addr: int
    detach: bool
    timeout_ns: Optional[int]
    bucket: int
    expected: int
    qlen: int  # waiters in the bucket after enqueue (0 when the value differed)


class ParkingLotUnpark(Event, tag="parking_lot.unpark"):
    addr: int
    woken: Optional[int]
    has_more: bool
    bucket: int
    mode: str  # 'one' (Unpark) or 'all' (UnparkAll: one event per woken waiter)
    pos: Optional[int]  # the woken entry's index in the bucket queue when it was removed


class ParkingLotWake(Event, tag="parking_lot.wake"):
    addr: int
    result: str  # 'ok', 'again', 'timeout', 'intr'
    timed_out: bool  # the timer fired but an unparker had already dequeued us
    pos: Optional[int]  # index in the bucket queue when the waiter removed itself (timeout)


# -- pystate.py ----------------------------------------------------------------------------
class PystateAttach(Event, tag="pystate.attach"):
    thread: int
    old: str
    new: str


class PystateDetach(Event, tag="pystate.detach"):
    thread: int
    old: str
    new: str


class PystateSuspend(Event, tag="pystate.suspend"):
    thread: int
    old: str
    new: str


class PystateNewThread(Event, tag="pystate.new_thread"):
    thread: int
    interp: int
    new: str  # initial state


class PystateDeleteThread(Event, tag="pystate.delete_thread"):
    thread: int
    interp: int


# -- threadmodule.py -----------------------------------------------------------------------
class ThreadStart(Event, tag="thread.start"):
    thread: int


class ThreadExit(Event, tag="thread.exit"):
    thread: int


class ThreadJoin(Event, tag="thread.join"):
    thread: int


# -- lock.py: the other primitives ----------------------------------------------------------
class LockWord(Event, tag="lock.word"):
    """A change of a PyEvent / OnceFlag / RWMutex / SeqLock / RawMutex word."""

    addr: int
    prim: str  # 'event', 'once', 'rwmutex', 'seqlock', 'raw'
    op: str
    bits_old: int
    bits_new: int


class LockSeqRead(Event, tag="lock.seq_read"):
    addr: int
    seq_value: int
    ok: bool


class LockRecursive(Event, tag="lock.recursive"):
    mutex: int
    op: str  # 'acquire', 'release'
    level: int
    owner: Optional[int]


# -- guest-level plain fields ----------------------------------------------------------------
class GuestLoad(Event, tag="guest.load"):
    addr: int
    value: int


class GuestStore(Event, tag="guest.store"):
    addr: int
    value: int
    prev: int


class RunLabel(Event, tag="run.label"):
    """A human name for a modelled address (a guest's mutex, event, variable...)."""

    addr: int
    label: str


# -- object.py: the free-threaded object header (biased reference counting) ------------------
class ObjectNew(Event, tag="object.new"):
    """new_reference: ob_tid = the creating thread, local 1, shared 0, flags/gc bits 0."""

    obj: int  # unique for the run, never reused
    type: str
    size: int
    gc: bool
    block: int  # the object's address (may be reused once the allocator model lands)
    ob_tid: int


class ObjectIncref(Event, tag="object.incref"):
    obj: int
    path: str  # 'local' (owner), 'shared' (atomic add), 'immortal' (nothing changes)
    ob_ref_local: int
    ob_ref_shared: int  # raw: count << 2 | flags
    refcnt: int  # the count after: local + (shared >> 2), plus a local an explicit merge holds in flight
    ob_ref_local_old: int
    ob_ref_shared_old: int


class ObjectDecref(Event, tag="object.decref"):
    obj: int
    path: str  # 'local' (owner), 'shared' (CAS; shared 0/MAYBE_WEAKREF -> QUEUED), 'immortal'
    ob_ref_local: int
    ob_ref_shared: int
    refcnt: int
    ob_ref_local_old: int
    ob_ref_shared_old: int


class ObjectDisown(Event, tag="object.disown"):
    """The stores that give up ownership before a merge: ob_tid = 0 (and ob_ref_local = 0
    in _Py_ExplicitMergeRefcount), gh-119999 / gh-121794."""

    obj: int
    path: str  # 'zero_local', 'queue', 'owner_gone', 'explicit'
    ob_tid: int
    ob_ref_local: int
    ob_tid_old: int
    ob_ref_local_old: int


class ObjectMerge(Event, tag="object.merge"):
    """The CAS that sets _Py_REF_MERGED (the count now lives in ob_ref_shared only)."""

    obj: int
    path: str  # 'zero_local', 'queue', 'owner_gone', 'explicit'
    extra: int
    refcnt: int
    ob_ref_shared: int
    ob_ref_shared_old: int


class ObjectDealloc(Event, tag="object.dealloc"):
    """_Py_Dealloc; carries the final header so a reverse step can restore the object."""

    obj: int
    type: str
    size: int
    gc: bool
    block: int
    ob_tid: int
    ob_ref_local: int
    ob_ref_shared: int
    ob_gc_bits: int


class ObjectTryIncref(Event, tag="object.try_incref"):
    obj: int
    path: str  # 'immortal', 'local' (_Py_TryIncrefFast), 'shared' (_Py_TryIncRefShared)
    ok: bool
    ob_ref_local: int
    ob_ref_shared: int
    refcnt: int
    ob_ref_local_old: int
    ob_ref_shared_old: int


class ObjectSetMaybeWeakref(Event, tag="object.set_maybe_weakref"):
    obj: int
    ob_ref_shared: int
    ob_ref_shared_old: int


class ObjectSetImmortal(Event, tag="object.set_immortal"):
    obj: int
    ob_tid: int
    ob_ref_local: int
    ob_ref_shared: int
    ob_gc_bits: int
    ob_tid_old: int
    ob_ref_local_old: int
    ob_ref_shared_old: int
    ob_gc_bits_old: int


# -- brc.py: the biased-reference-counting merge queues ----------------------------------------
class BrcInitThread(Event, tag="brc.init_thread"):
    thread: int
    bucket: int


class BrcRemoveThread(Event, tag="brc.remove_thread"):
    thread: int
    bucket: int


class BrcQueue(Event, tag="brc.queue"):
    """Pushed on the owner's objects_to_merge (under the bucket mutex)."""

    obj: int
    owner: Optional[int]
    bucket: int


class BrcMergeBatch(Event, tag="brc.merge_batch"):
    """The owner moves its objects_to_merge onto local_objects_to_merge (under the bucket mutex)."""

    thread: int
    count: int


class BrcMerge(Event, tag="brc.merge"):
    """A queued object popped from the owner's local stack after _Py_ExplicitMergeRefcount(op, -1)."""

    obj: int
    owner: Optional[int]
    refcnt: int


# -- ceval_gil.py: the eval breaker ----------------------------------------------------------
class CevalGilEvalBreaker(Event, tag="ceval_gil.eval_breaker"):
    """_Py_set_eval_breaker_bit / _Py_unset_eval_breaker_bit on a thread's eval_breaker."""

    thread: int
    eval_bit: int
    op: str  # 'set', 'unset'
    bits_old: int
    bits_new: int


# -- critical_section.py ------------------------------------------------------------------------
class CriticalSectionBegin(Event, tag="critical_section.begin"):
    """Py_BEGIN_CRITICAL_SECTION(2): 'fast' pushes holding the mutex(es); 'slow' pushes
    with NULL mutex fields and locks next; 'skip' (the top section holds it) pushes nothing."""

    cs: int  # the section's (stack) address
    depth: int  # stack depth with this section on top
    cs_tag: int  # the tag bits of the word pointing at it (_Py_CRITICAL_SECTION_TWO_MUTEXES)
    cs_mutex: Optional[int]  # the mutexes asked for, lower address first
    cs_mutex2: Optional[int]
    path: str


class CriticalSectionLocked(Event, tag="critical_section.locked"):
    """The section's mutex fields are set after PyMutex_Lock: at the end of a slow begin
    ('begin') or of _PyCriticalSection_Resume ('resume', which also clears INACTIVE)."""

    cs: int
    depth: int
    cs_tag: int
    cs_mutex: Optional[int]
    cs_mutex2: Optional[int]
    cs_tag_old: int
    path: str


class CriticalSectionEnd(Event, tag="critical_section.end"):
    """Pop after unlocking ('end'); 'skip' ends a section that begin skipped."""

    cs: int
    depth: int  # depth before the pop
    cs_tag: int
    cs_mutex: Optional[int]
    cs_mutex2: Optional[int]
    path: str


class CriticalSectionSuspend(Event, tag="critical_section.suspend"):
    """_PyCriticalSection_SuspendAll marks one active section INACTIVE (after unlocking it)."""

    cs: int
    depth: int
    cs_tag: int  # after (INACTIVE set)
    cs_mutex: Optional[int]
    cs_mutex2: Optional[int]


class CriticalSectionResume(Event, tag="critical_section.resume"):
    """_PyCriticalSection_Resume begins: the top section's mutex fields are cleared while it
    relocks them (these are the fields' old values)."""

    cs: int
    depth: int
    cs_tag: int
    cs_mutex: Optional[int]
    cs_mutex2: Optional[int]


# Append-only.  The position is the kind id used on the hot path.
KINDS: tuple[type[Event], ...] = (
    RunFailure,
    LockAcquire,
    LockRelease,
    LockSetParked,
    LockFail,
    ParkingLotPark,
    ParkingLotUnpark,
    ParkingLotWake,
    PystateAttach,
    PystateDetach,
    PystateSuspend,
    PystateNewThread,
    PystateDeleteThread,
    ThreadStart,
    ThreadExit,
    ThreadJoin,
    LockWord,
    LockSeqRead,
    LockRecursive,
    GuestLoad,
    GuestStore,
    RunLabel,
    ObjectNew,
    ObjectIncref,
    ObjectDecref,
    ObjectDisown,
    ObjectMerge,
    ObjectDealloc,
    ObjectTryIncref,
    ObjectSetMaybeWeakref,
    ObjectSetImmortal,
    BrcInitThread,
    BrcRemoveThread,
    BrcQueue,
    BrcMergeBatch,
    BrcMerge,
    CevalGilEvalBreaker,
    CriticalSectionBegin,
    CriticalSectionLocked,
    CriticalSectionEnd,
    CriticalSectionSuspend,
    CriticalSectionResume,
)

# Kind ids for the hot path (a module global is the cheapest lookup).  A test checks
# that each one names its class in KINDS.
RUN_FAILURE = 0
LOCK_ACQUIRE = 1
LOCK_RELEASE = 2
LOCK_SET_PARKED = 3
LOCK_FAIL = 4
PARKING_LOT_PARK = 5
PARKING_LOT_UNPARK = 6
PARKING_LOT_WAKE = 7
PYSTATE_ATTACH = 8
PYSTATE_DETACH = 9
PYSTATE_SUSPEND = 10
PYSTATE_NEW_THREAD = 11
PYSTATE_DELETE_THREAD = 12
THREAD_START = 13
THREAD_EXIT = 14
THREAD_JOIN = 15
LOCK_WORD = 16
LOCK_SEQ_READ = 17
LOCK_RECURSIVE = 18
GUEST_LOAD = 19
GUEST_STORE = 20
RUN_LABEL = 21
OBJECT_NEW = 22
OBJECT_INCREF = 23
OBJECT_DECREF = 24
OBJECT_DISOWN = 25
OBJECT_MERGE = 26
OBJECT_DEALLOC = 27
OBJECT_TRY_INCREF = 28
OBJECT_SET_MAYBE_WEAKREF = 29
OBJECT_SET_IMMORTAL = 30
BRC_INIT_THREAD = 31
BRC_REMOVE_THREAD = 32
BRC_QUEUE = 33
BRC_MERGE_BATCH = 34
BRC_MERGE = 35
CEVAL_GIL_EVAL_BREAKER = 36
CRITICAL_SECTION_BEGIN = 37
CRITICAL_SECTION_LOCKED = 38
CRITICAL_SECTION_END = 39
CRITICAL_SECTION_SUSPEND = 40
CRITICAL_SECTION_RESUME = 41

AnyEvent = Union[KINDS]  # type: ignore[valid-type]

ENVELOPE = ("seq", "ts", "tid")


def tag_of(cls: type[Event]) -> str:
    return cls.__struct_config__.tag


def view_name(tag: str) -> str:
    """Store view name of a kind: ``lock.acquire`` -> ``lock_acquire``."""
    return tag.replace(".", "_")


# Column codecs, derived from annotations: 'q' int64, 'b' bool, 's' str,
# 'n' optional int, 'z' optional str.
_CODEC_OF_TYPE = {int: "q", bool: "b", str: "s", Optional[int]: "n", Optional[str]: "z"}


def _codecs(cls: type[Event]) -> str:
    info = msgspec.inspect.type_info(cls)
    out = []
    for f in info.fields:
        t = f.type
        if isinstance(t, msgspec.inspect.IntType):
            out.append("q")
        elif isinstance(t, msgspec.inspect.BoolType):
            out.append("b")
        elif isinstance(t, msgspec.inspect.StrType):
            out.append("s")
        elif isinstance(t, msgspec.inspect.UnionType):
            inner = [x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)]
            if len(inner) == 1 and isinstance(inner[0], msgspec.inspect.IntType):
                out.append("n")
            elif len(inner) == 1 and isinstance(inner[0], msgspec.inspect.StrType):
                out.append("z")
            else:
                raise TypeError(f"{cls.__name__}.{f.name}: unsupported field type")
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported field type")
    return "".join(out)


FIELDS: tuple[tuple[str, ...], ...] = tuple(cls.__struct_fields__ for cls in KINDS)
CODECS: tuple[str, ...] = tuple(_codecs(cls) for cls in KINDS)
TAGS: tuple[str, ...] = tuple(tag_of(cls) for cls in KINDS)
KIND_ID: dict[str, int] = {t: i for i, t in enumerate(TAGS)}
