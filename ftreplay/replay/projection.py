"""The projection: runtime state as a pure function of the event prefix.

A registry maps each event kind to ``apply(state, ev)`` and ``undo(state, ev)``; events
carry old and new values, so both directions are O(1).  Later runtime modules register
their kinds here (``register``) without touching the cursor.
"""

from __future__ import annotations

from typing import Callable

from ..record.events import Event, tag_of
from .state import (
    B_LOCAL,
    B_QUEUE,
    CS_MUTEX,
    CS_MUTEX2,
    CS_TAG,
    I_GIL,
    I_OWN_GIL,
    I_RD,
    I_WR,
    O_GC_BITS,
    O_LOCAL,
    O_SHARED,
    O_TID,
    P_GOAL,
    P_USED,
    P_XTHREAD,
    Q_RD,
    Q_WR,
    QT_SEQ,
    T_PARKED,
    T_PHASE,
    T_STATE,
    State,
)

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
    if e.interp:
        st.interp_of[e.thread] = e.interp


def _new_thread_undo(st: State, e) -> None:
    del st.threads[e.thread]
    st.interp_of.pop(e.thread, None)


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
    if e.label_old is None:
        st.labels.pop(e.addr, None)
    else:
        st.labels[e.addr] = e.label_old


def _failure(st: State, e) -> None:
    st.failure = [e.reason, e.message, e.seq]


def _failure_undo(st: State, e) -> None:
    st.failure = None


register("guest.store", _store, _store_undo)
register("run.label", _label, _label_undo)
register("run.failure", _failure, _failure_undo)


# -- objects (object.py) -------------------------------------------------------------------------
def _obj_new(st: State, e) -> None:
    st.objects[e.obj] = [e.type, e.size, e.gc, e.block, e.ob_tid, 1, 0, 1 if e.gc else 0]  # GC objects: TRACKED


def _obj_new_undo(st: State, e) -> None:
    del st.objects[e.obj]


def _refs(st: State, e) -> None:
    """incref / decref / a successful try_incref: both fields after."""
    rec = st.objects[e.obj]
    rec[O_LOCAL] = e.ob_ref_local
    rec[O_SHARED] = e.ob_ref_shared


def _refs_undo(st: State, e) -> None:
    rec = st.objects[e.obj]
    rec[O_LOCAL] = e.ob_ref_local_old
    rec[O_SHARED] = e.ob_ref_shared_old


def _try_incref(st: State, e) -> None:
    if e.ok:  # a failed try may read a freed object's header: nothing changes
        _refs(st, e)


def _try_incref_undo(st: State, e) -> None:
    if e.ok:
        _refs_undo(st, e)


def _disown(st: State, e) -> None:
    rec = st.objects[e.obj]
    rec[O_TID] = e.ob_tid
    rec[O_LOCAL] = e.ob_ref_local


def _disown_undo(st: State, e) -> None:
    rec = st.objects[e.obj]
    rec[O_TID] = e.ob_tid_old
    rec[O_LOCAL] = e.ob_ref_local_old


def _shared(st: State, e) -> None:
    st.objects[e.obj][O_SHARED] = e.ob_ref_shared


def _shared_undo(st: State, e) -> None:
    st.objects[e.obj][O_SHARED] = e.ob_ref_shared_old


def _dealloc(st: State, e) -> None:
    del st.objects[e.obj]


def _dealloc_undo(st: State, e) -> None:
    st.objects[e.obj] = [e.type, e.size, e.gc, e.block, e.ob_tid, e.ob_ref_local, e.ob_ref_shared, e.ob_gc_bits]


def _immortal(st: State, e) -> None:
    rec = st.objects[e.obj]
    rec[O_TID], rec[O_LOCAL], rec[O_SHARED], rec[O_GC_BITS] = e.ob_tid, e.ob_ref_local, e.ob_ref_shared, e.ob_gc_bits


def _immortal_undo(st: State, e) -> None:
    rec = st.objects[e.obj]
    rec[O_TID], rec[O_LOCAL], rec[O_SHARED], rec[O_GC_BITS] = (
        e.ob_tid_old, e.ob_ref_local_old, e.ob_ref_shared_old, e.ob_gc_bits_old)


register("object.new", _obj_new, _obj_new_undo)
register("object.incref", _refs, _refs_undo)
register("object.decref", _refs, _refs_undo)
register("object.try_incref", _try_incref, _try_incref_undo)
register("object.disown", _disown, _disown_undo)
register("object.merge", _shared, _shared_undo)
register("object.set_maybe_weakref", _shared, _shared_undo)
register("object.set_immortal", _immortal, _immortal_undo)
register("object.dealloc", _dealloc, _dealloc_undo)


# -- biased reference counting queues (brc.py) ----------------------------------------------------
def _brc_init(st: State, e) -> None:
    st.brc[e.thread] = [e.bucket, [], []]


def _brc_remove(st: State, e) -> None:
    del st.brc[e.thread]


def _brc_queue(st: State, e) -> None:
    st.brc[e.owner][B_QUEUE].append(e.obj)


def _brc_queue_undo(st: State, e) -> None:
    st.brc[e.owner][B_QUEUE].pop()


def _brc_batch(st: State, e) -> None:
    rec = st.brc[e.thread]
    rec[B_LOCAL].extend(rec[B_QUEUE])
    rec[B_QUEUE] = []


def _brc_batch_undo(st: State, e) -> None:
    rec = st.brc[e.thread]
    local = rec[B_LOCAL]
    rec[B_QUEUE] = local[len(local) - e.count:]
    del local[len(local) - e.count:]


def _brc_merge(st: State, e) -> None:
    st.brc[e.owner][B_LOCAL].pop()


def _brc_merge_undo(st: State, e) -> None:
    st.brc[e.owner][B_LOCAL].append(e.obj)


register("brc.init_thread", _brc_init, _brc_remove)
register("brc.remove_thread", _brc_remove, _brc_init)
register("brc.queue", _brc_queue, _brc_queue_undo)
register("brc.merge_batch", _brc_batch, _brc_batch_undo)
register("brc.merge", _brc_merge, _brc_merge_undo)


# -- the eval breaker (ceval_gil.py) ----------------------------------------------------------------
def _set_bits(d: dict, key: int, value: int) -> None:
    if value:
        d[key] = value
    else:
        d.pop(key, None)


def _eval_breaker(st: State, e) -> None:
    _set_bits(st.eval_breaker, e.thread, e.bits_new)


def _eval_breaker_undo(st: State, e) -> None:
    _set_bits(st.eval_breaker, e.thread, e.bits_old)


register("ceval_gil.eval_breaker", _eval_breaker, _eval_breaker_undo)


# -- critical sections (critical_section.py) ------------------------------------------------------
def _cs_entry(st: State, e) -> list:
    return st.critical_sections[e.tid][e.depth - 1]


def _cs_push(st: State, e, fields: bool) -> None:
    st.critical_sections.setdefault(e.tid, []).append(
        [e.cs, e.cs_tag, e.cs_mutex if fields else None, e.cs_mutex2 if fields else None])


def _cs_pop(st: State, e) -> None:
    stack = st.critical_sections[e.tid]
    stack.pop()
    if not stack:
        del st.critical_sections[e.tid]


def _cs_begin(st: State, e) -> None:
    if e.path != "skip":
        _cs_push(st, e, e.path == "fast")  # a slow begin pushes with NULL fields, locks, then sets them


def _cs_begin_undo(st: State, e) -> None:
    if e.path != "skip":
        _cs_pop(st, e)


def _cs_locked(st: State, e) -> None:
    ent = _cs_entry(st, e)
    ent[CS_TAG], ent[CS_MUTEX], ent[CS_MUTEX2] = e.cs_tag, e.cs_mutex, e.cs_mutex2


def _cs_locked_undo(st: State, e) -> None:
    ent = _cs_entry(st, e)
    ent[CS_TAG], ent[CS_MUTEX], ent[CS_MUTEX2] = e.cs_tag_old, None, None


def _cs_end(st: State, e) -> None:
    if e.path != "skip":
        _cs_pop(st, e)


def _cs_end_undo(st: State, e) -> None:
    if e.path != "skip":
        _cs_push(st, e, True)


def _cs_suspend(st: State, e) -> None:
    _cs_entry(st, e)[CS_TAG] = e.cs_tag


def _cs_suspend_undo(st: State, e) -> None:
    _cs_entry(st, e)[CS_TAG] = e.cs_tag & ~1  # suspend_all only visits active sections


def _cs_resume(st: State, e) -> None:
    ent = _cs_entry(st, e)
    ent[CS_MUTEX] = ent[CS_MUTEX2] = None


def _cs_resume_undo(st: State, e) -> None:
    ent = _cs_entry(st, e)
    ent[CS_MUTEX], ent[CS_MUTEX2] = e.cs_mutex, e.cs_mutex2


register("critical_section.begin", _cs_begin, _cs_begin_undo)
register("critical_section.locked", _cs_locked, _cs_locked_undo)
register("critical_section.end", _cs_end, _cs_end_undo)
register("critical_section.suspend", _cs_suspend, _cs_suspend_undo)
register("critical_section.resume", _cs_resume, _cs_resume_undo)


# -- QSBR (qsbr.py) ----------------------------------------------------------------------------------
def _qsbr_register(st: State, e) -> None:
    st.qsbr_threads[e.thread] = [e.slot, 0]


def _qsbr_unregister(st: State, e) -> None:
    del st.qsbr_threads[e.thread]


def _qsbr_seq(st: State, e) -> None:
    st.qsbr_threads[e.thread][QT_SEQ] = e.qsbr_seq


def _qsbr_seq_undo(st: State, e) -> None:
    st.qsbr_threads[e.thread][QT_SEQ] = e.qsbr_seq_old


def _qsbr_of(st: State, e) -> tuple[list, int, int]:
    """The interpreter QSBR state an event's thread works on: main's, or (PEP 684) that of the
    subinterpreter it swapped into."""
    i = st.on_interp.get(e.tid)
    if i is None:
        return st.qsbr, Q_WR, Q_RD
    return st.interps[i], I_WR, I_RD


def _qsbr_advance(st: State, e) -> None:
    rec, wr, _ = _qsbr_of(st, e)
    rec[wr] = e.wr_seq


def _qsbr_advance_undo(st: State, e) -> None:
    rec, wr, _ = _qsbr_of(st, e)
    rec[wr] = e.wr_seq_old


def _qsbr_poll(st: State, e) -> None:
    rec, _, rd = _qsbr_of(st, e)
    rec[rd] = e.rd_seq


def _qsbr_poll_undo(st: State, e) -> None:
    rec, _, rd = _qsbr_of(st, e)
    rec[rd] = e.rd_seq_old


register("qsbr.register", _qsbr_register, _qsbr_unregister)
register("qsbr.unregister", _qsbr_unregister, _qsbr_register)
for _tag in ("qsbr.attach", "qsbr.detach", "qsbr.quiescent"):
    register(_tag, _qsbr_seq, _qsbr_seq_undo)
register("qsbr.advance", _qsbr_advance, _qsbr_advance_undo)
register("qsbr.poll", _qsbr_poll, _qsbr_poll_undo)


# -- the allocator (obmalloc.py) -------------------------------------------------------------------
def _used(delta: int) -> tuple[Handler, Handler]:
    def fwd(st: State, e) -> None:
        st.pages[e.page][P_USED] += delta

    def back(st: State, e) -> None:
        st.pages[e.page][P_USED] -= delta

    return fwd, back


def _mi_free(st: State, e) -> None:
    rec = st.pages[e.page]
    if e.path == "local":
        rec[P_USED] -= 1
    else:
        rec[P_XTHREAD] += 1


def _mi_free_undo(st: State, e) -> None:
    rec = st.pages[e.page]
    if e.path == "local":
        rec[P_USED] += 1
    else:
        rec[P_XTHREAD] -= 1


def _collect(st: State, e) -> None:
    rec = st.pages[e.page]
    rec[P_USED] -= e.count
    rec[P_XTHREAD] -= e.count


def _collect_undo(st: State, e) -> None:
    rec = st.pages[e.page]
    rec[P_USED] += e.count
    rec[P_XTHREAD] += e.count


def _page_new(st: State, e) -> None:
    st.pages[e.page] = [e.heap, e.bin, e.block_size, e.capacity, e.segment, 0, 0, 0]


def _page_free(st: State, e) -> None:
    del st.pages[e.page]


def _page_free_undo(st: State, e) -> None:
    # The goal it waited for is cleared in the same step that frees it.
    st.pages[e.page] = [e.heap, e.bin, e.block_size, e.capacity, e.segment, 0, 0, e.goal]


def _page_defer(st: State, e) -> None:
    st.pages[e.page][P_GOAL] = e.goal


def _page_defer_undo(st: State, e) -> None:
    st.pages[e.page][P_GOAL] = e.goal_old


def _page_cancel(st: State, e) -> None:
    st.pages[e.page][P_GOAL] = 0


def _page_cancel_undo(st: State, e) -> None:
    st.pages[e.page][P_GOAL] = e.goal_old


def _segment_owner(owner: Callable[[object], int], before: Callable[[object], int]) -> tuple[Handler, Handler]:
    def fwd(st: State, e) -> None:
        st.segments[e.segment] = owner(e)

    def back(st: State, e) -> None:
        st.segments[e.segment] = before(e)

    return fwd, back


def _segment_new(st: State, e) -> None:
    st.segments[e.segment] = e.thread


def _segment_free(st: State, e) -> None:
    del st.segments[e.segment]


def _segment_free_undo(st: State, e) -> None:
    st.segments[e.segment] = e.thread


def _free_delayed(st: State, e) -> None:
    st.delayed.setdefault(e.thread, []).append([e.block, e.goal])


def _free_delayed_undo(st: State, e) -> None:
    q = st.delayed[e.thread]
    q.pop()
    if not q:
        del st.delayed[e.thread]


def _process_delayed(st: State, e) -> None:
    q = st.delayed[e.thread]
    del q[0]
    if not q:
        del st.delayed[e.thread]


def _process_delayed_undo(st: State, e) -> None:
    st.delayed.setdefault(e.thread, []).insert(0, [e.block, e.goal])


def _abandon_delayed(st: State, e) -> None:
    items = st.delayed.pop(e.thread)
    st.delayed.setdefault(0, []).extend(items)


def _abandon_delayed_undo(st: State, e) -> None:
    q = st.delayed[0]
    st.delayed[e.thread] = q[len(q) - e.count:]
    del q[len(q) - e.count:]
    if not q:
        del st.delayed[0]


register("obmalloc.alloc", *_used(1))
register("obmalloc.free", _mi_free, _mi_free_undo)
register("obmalloc.collect", _collect, _collect_undo)
register("obmalloc.page_new", _page_new, _page_free)
register("obmalloc.page_free", _page_free, _page_free_undo)
register("obmalloc.page_qsbr_defer", _page_defer, _page_defer_undo)
register("obmalloc.page_qsbr_cancel", _page_cancel, _page_cancel_undo)
register("obmalloc.segment_new", _segment_new, _segment_free)
register("obmalloc.segment_free", _segment_free, _segment_free_undo)
register("obmalloc.segment_abandon", *_segment_owner(lambda e: 0, lambda e: e.thread))
register("obmalloc.segment_reclaim", *_segment_owner(lambda e: e.thread, lambda e: 0))
register("obmalloc.free_delayed", _free_delayed, _free_delayed_undo)
register("obmalloc.process_delayed", _process_delayed, _process_delayed_undo)
register("obmalloc.abandon_delayed", _abandon_delayed, _abandon_delayed_undo)


# -- stop-the-world (pystate.py) -------------------------------------------------------------------
def _stw_key(st: State, e) -> str:
    """'global', 'interp' (the main interpreter's pause) or 'interpN' (subinterpreter N's, whose
    threads are the ones requesting and counting down its pause)."""
    if e.scope != "interp":
        return e.scope
    i = st.on_interp.get(e.tid)
    return f"interp{i}" if i else "interp"


def _stw_request(st: State, e) -> None:
    st.stw[_stw_key(st, e)] = [e.requester, e.countdown, False]


def _stw_request_undo(st: State, e) -> None:
    del st.stw[_stw_key(st, e)]


def _stw_countdown(st: State, e) -> None:
    st.stw[_stw_key(st, e)][1] = e.countdown


def _stw_countdown_undo(st: State, e) -> None:
    st.stw[_stw_key(st, e)][1] = e.countdown_old


def _stw_stopped(st: State, e) -> None:
    st.stw[_stw_key(st, e)][2] = True


def _stw_stopped_undo(st: State, e) -> None:
    st.stw[_stw_key(st, e)][2] = False


def _stw_start(st: State, e) -> None:
    del st.stw[_stw_key(st, e)]


def _stw_start_undo(st: State, e) -> None:
    st.stw[_stw_key(st, e)] = [e.requester, e.countdown, True]


register("pystate.stw_request", _stw_request, _stw_request_undo)
register("pystate.stw_countdown", _stw_countdown, _stw_countdown_undo)
register("pystate.stop_the_world", _stw_stopped, _stw_stopped_undo)
register("pystate.start_the_world", _stw_start, _stw_start_undo)


# -- the collector (gc_free_threading.py) ------------------------------------------------------------
def _gc_header(st: State, e) -> None:
    rec = st.objects[e.obj]
    rec[O_TID], rec[O_GC_BITS], rec[O_LOCAL], rec[O_SHARED] = e.ob_tid, e.ob_gc_bits, e.ob_ref_local, e.ob_ref_shared


def _gc_header_undo(st: State, e) -> None:
    rec = st.objects[e.obj]
    rec[O_TID], rec[O_GC_BITS], rec[O_LOCAL], rec[O_SHARED] = (
        e.ob_tid_old, e.ob_gc_bits_old, e.ob_ref_local_old, e.ob_ref_shared_old)


def _gc_phase(st: State, e) -> None:
    st.gc_phase = e.phase


def _gc_phase_undo(st: State, e) -> None:
    st.gc_phase = e.phase_old


register("gc.header", _gc_header, _gc_header_undo)
register("gc.phase", _gc_phase, _gc_phase_undo)


# -- the GIL (ceval_gil.py) ---------------------------------------------------------------------------
def _set_gil_holder(st: State, thread: int, holder) -> None:
    """The holder of the GIL ``thread`` uses: its subinterpreter's own GIL (PEP 684), else the
    main interpreter's (``gil_holder``)."""
    rec = st.interps.get(st.interp_of.get(thread, 0))
    if rec is not None and rec[I_OWN_GIL]:
        rec[I_GIL] = holder
    else:
        st.gil_holder = holder


def _gil_take(st: State, e) -> None:
    _set_gil_holder(st, e.thread, e.thread)


def _gil_drop(st: State, e) -> None:
    _set_gil_holder(st, e.thread, None)


def _gil_drop_undo(st: State, e) -> None:
    _set_gil_holder(st, e.thread, e.thread)


register("ceval_gil.take", _gil_take, _gil_drop)
register("ceval_gil.drop", _gil_drop, _gil_drop_undo)


# Kinds projected in their own modules (they import register from here).
from . import interpreters as _interpreters  # noqa: E402,F401
from . import lifecycle as _lifecycle  # noqa: E402,F401
