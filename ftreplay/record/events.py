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
