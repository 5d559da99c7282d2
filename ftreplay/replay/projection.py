"""The projection: runtime state as a pure function of the event prefix.

A registry maps each event kind to ``apply(state, ev)`` and ``undo(state, ev)``; events
carry old and new values, so both directions are O(1).  Later runtime modules register
their kinds here (``register``) without touching the cursor.
"""

from __future__ import annotations

from typing import Callable

from ..record.events import Event, tag_of
from .state import T_PARKED, T_PHASE, T_STATE, State

Handler = Callable[[State, Event], None]
APPLY: dict[str, Handler] = {}
UNDO: dict[str, Handler] = {}
NUM_BUCKETS = 257


def register(tag: str, apply: Handler, undo: Handler) -> None:
    APPLY[tag] = apply
    UNDO[tag] = undo


def _noop(state: State, ev) -> None:
    return None


def apply(state: State, ev, tag: str) -> None:
    APPLY.get(tag, _noop)(state, ev)
    state.seq = ev.seq
    state.ts = ev.ts


def undo(state: State, ev, tag: str, prev_ts: int) -> None:
    """Undo ``ev`` (the event at ``state.seq``); ``prev_ts`` is the ts of the one before."""
    UNDO.get(tag, _noop)(state, ev)
    state.seq = ev.seq - 1
    state.ts = prev_ts


def project(events, state: State | None = None) -> State:
    """Apply Struct events in order (from a log reader, for example)."""
    st = state or State()
    for ev in events:
        apply(st, ev, tag_of(type(ev)))
    return st


def _put(d: dict, key: int, value: list, empty: list) -> None:
    if value == empty:
        d.pop(key, None)
    else:
        d[key] = value


# -- mutexes ----------------------------------------------------------------------------------
def _acquire(st: State, e) -> None:
    _put(st.mutexes, e.mutex, [e.bits_new, e.tid], [0, None])


def _acquire_undo(st: State, e) -> None:
    # Before a hand-off acquire the unlocker had already made us the owner.
    _put(st.mutexes, e.mutex, [e.bits_old, e.tid if e.via == "handoff" else None], [0, None])


def _release(st: State, e) -> None:
    _put(st.mutexes, e.mutex, [e.bits_new, e.handoff_to], [0, None])


def _release_undo(st: State, e) -> None:
    _put(st.mutexes, e.mutex, [e.bits_old, e.tid], [0, None])


def _set_parked(st: State, e) -> None:
    owner = st.mutexes.get(e.mutex, [0, None])[1]
    _put(st.mutexes, e.mutex, [e.bits_new, owner], [0, None])


def _set_parked_undo(st: State, e) -> None:
    owner = st.mutexes.get(e.mutex, [0, None])[1]
    _put(st.mutexes, e.mutex, [e.bits_old, owner], [0, None])


register("lock.acquire", _acquire, _acquire_undo)
register("lock.release", _release, _release_undo)
register("lock.set_parked", _set_parked, _set_parked_undo)


def _word(st: State, e) -> None:
    _put(st.words, e.addr, [e.prim, e.bits_new], [e.prim, 0])


def _word_undo(st: State, e) -> None:
    _put(st.words, e.addr, [e.prim, e.bits_old], [e.prim, 0])


register("lock.word", _word, _word_undo)


def _recursive(st: State, e) -> None:
    _put(st.recursive, e.mutex, [e.level, e.owner], [0, None])


def _recursive_undo(st: State, e) -> None:
    if e.op == "acquire":
        before = [e.level - 1, e.owner] if e.level > 0 else [0, None]
    elif e.owner is not None:
        before = [e.level + 1, e.owner]
    else:
        before = [0, e.tid]
    _put(st.recursive, e.mutex, before, [0, None])


register("lock.recursive", _recursive, _recursive_undo)


# -- parking lot -------------------------------------------------------------------------------
def _park(st: State, e) -> None:
    if e.qlen:
        st.buckets.setdefault(e.bucket, []).append([e.tid, e.addr])
        st.threads[e.tid][T_PARKED] = e.addr


def _park_undo(st: State, e) -> None:
    if e.qlen:
        q = st.buckets[e.bucket]
        q.pop()
        if not q:
            del st.buckets[e.bucket]
        st.threads[e.tid][T_PARKED] = None


def _unpark(st: State, e) -> None:
    if e.woken is not None:
        q = st.buckets[e.bucket]
        del q[e.pos]
        if not q:
            del st.buckets[e.bucket]


def _unpark_undo(st: State, e) -> None:
    if e.woken is not None:
        st.buckets.setdefault(e.bucket, []).insert(e.pos, [e.woken, e.addr])


def _wake(st: State, e) -> None:
    st.threads[e.tid][T_PARKED] = None
    if e.pos is not None:  # timed out: the waiter dequeued itself
        b = e.addr % NUM_BUCKETS
        q = st.buckets[b]
        del q[e.pos]
        if not q:
            del st.buckets[b]


def _wake_undo(st: State, e) -> None:
    st.threads[e.tid][T_PARKED] = None if e.result == "again" else e.addr
    if e.pos is not None:
        st.buckets.setdefault(e.addr % NUM_BUCKETS, []).insert(e.pos, [e.tid, e.addr])


register("parking_lot.park", _park, _park_undo)
register("parking_lot.unpark", _unpark, _unpark_undo)
register("parking_lot.wake", _wake, _wake_undo)


# -- thread states -------------------------------------------------------------------------------
def _new_thread(st: State, e) -> None:
    st.threads[e.thread] = [e.new, "created", None]


def _new_thread_undo(st: State, e) -> None:
    del st.threads[e.thread]


def _transition(st: State, e) -> None:
    st.threads[e.thread][T_STATE] = e.new


def _transition_undo(st: State, e) -> None:
    st.threads[e.thread][T_STATE] = e.old


def _phase(new: str, old: str) -> tuple[Handler, Handler]:
    def fwd(st: State, e) -> None:
        st.threads[e.thread][T_PHASE] = new

    def back(st: State, e) -> None:
        st.threads[e.thread][T_PHASE] = old

    return fwd, back


register("pystate.new_thread", _new_thread, _new_thread_undo)
for _tag in ("pystate.attach", "pystate.detach", "pystate.suspend"):
    register(_tag, _transition, _transition_undo)
register("thread.start", *_phase("running", "created"))
register("thread.exit", *_phase("exited", "running"))
register("pystate.delete_thread", *_phase("deleted", "exited"))


# -- guest fields, labels, failure ---------------------------------------------------------------
def _store(st: State, e) -> None:
    if e.value:
        st.guest[e.addr] = e.value
    else:
        st.guest.pop(e.addr, None)


def _store_undo(st: State, e) -> None:
    if e.prev:
        st.guest[e.addr] = e.prev
    else:
        st.guest.pop(e.addr, None)


def _label(st: State, e) -> None:
    st.labels[e.addr] = e.label


def _label_undo(st: State, e) -> None:
    st.labels.pop(e.addr, None)


def _failure(st: State, e) -> None:
    st.failure = [e.reason, e.message, e.seq]


def _failure_undo(st: State, e) -> None:
    st.failure = None


register("guest.store", _store, _store_undo)
register("run.label", _label, _label_undo)
register("run.failure", _failure, _failure_undo)
