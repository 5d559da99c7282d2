"""Python/gc_free_threading.c: the free-threaded cycle collector (3.13's algorithm: no ALIVE
pre-pass, no deferred or per-thread refcounts, no weakrefs or legacy finalizers modelled).

    scheduling:  each GC allocation counts on its thread; every 512 the count is added to
                 young.count, and past the threshold (2000, and a quarter of the long-lived
                 objects) the thread's _PY_GC_SCHEDULED_BIT is set; _Py_HandlePending runs
                 the collection (``collecting`` serialises collectors)
    STW #1:      merge every thread's queued refcounts (BRC) with plain stores; process the
                 delayed frees; update_refs: for every live, tracked object of the GC heaps
                 (visited block by block in address order), gc_refs = refcount minus the
                 references from other tracked objects, kept in ob_tid with the UNREACHABLE
                 bit; mark: objects with gc_refs > 0 and all they reach are reachable; scan:
                 unreachable objects get a merged refcount + 1 (tid 0), reachable ones get
                 ob_tid back from their segment's owner (merged if that thread is gone)
    world runs:  finalizers (tp_finalize, once: FINALIZED)
    STW #2:      resurrection: an unreachable object referenced from outside the set (a
                 finalizer stored it) is reachable again, with everything it reaches
    world runs:  delete_garbage: tp_clear then Py_DECREF each; the cycles die by refcount

Objects keep their references in ``ob_refs`` (tp_traverse visits them, tp_clear drops them);
a list's items are its references.  Header writes of a collection are ``gc.header`` events.
"""

from __future__ import annotations

from ..record.events import BRC_MERGE, GC_END, GC_HEADER, GC_PHASE, GC_SCHEDULE, GC_START
from ..sim.clock import ATOMIC_RMW_NS, GUEST_OP_NS
from . import brc, ceval_gil, qsbr
from .object import (
    _Py_IMMORTAL_REFCNT_LOCAL,
    _Py_REF_MERGED,
    _Py_REF_SHARED_FLAG_MASK,
    _Py_REF_SHARED_SHIFT,
    GCBits,
    Py_DECREF,
)
from .obmalloc import _Py_MIMALLOC_HEAP_GC, _Py_MIMALLOC_HEAP_GC_PRE

_PyGC_BITS_TRACKED = int(GCBits._PyGC_BITS_TRACKED)
_PyGC_BITS_FINALIZED = int(GCBits._PyGC_BITS_FINALIZED)
_PyGC_BITS_UNREACHABLE = int(GCBits._PyGC_BITS_UNREACHABLE)
_PyGC_BITS_FROZEN = int(GCBits._PyGC_BITS_FROZEN)
_PY_GC_SCHEDULED_BIT = int(ceval_gil.EvalBreakerBit._PY_GC_SCHEDULED_BIT)
LOCAL_ALLOC_COUNT_THRESHOLD = 512
NUM_GENERATIONS = 3


class GCState:
    """interp->gc (struct _gc_runtime_state)."""

    def __init__(self) -> None:
        self.enabled = True
        self.young_threshold = 2000
        self.young_count = 0
        self.old = [[0, 10], [0, 0]]  # [count, threshold] of the older generations
        self.long_lived_total = 0
        self.collecting = 0
        self.phase = ""
        self.collections = 0


def should_collect(gcs: GCState) -> bool:
    count = gcs.young_count
    threshold = gcs.young_threshold
    return (count > threshold and threshold != 0 and gcs.enabled
            and (count > gcs.long_lived_total // 4 or gcs.old[0][1] == 0))


def record_allocation(rt, tstate) -> None:
    """record_allocation (gc_alloc / _PyObject_GC_Link)."""
    tstate.gc_alloc_count += 1
    if tstate.gc_alloc_count >= LOCAL_ALLOC_COUNT_THRESHOLD:
        gcs = tstate.interp.gc
        rt.engine.point(ATOMIC_RMW_NS)  # atomic add to young.count
        gcs.young_count += tstate.gc_alloc_count
        tstate.gc_alloc_count = 0
        if should_collect(gcs) and not gcs.collecting:
            rt.emit(GC_SCHEDULE, gcs.young_count, gcs.young_threshold)
            ceval_gil.set_eval_breaker_bit(rt, tstate, _PY_GC_SCHEDULED_BIT)


def record_deallocation(rt, tstate) -> None:
    tstate.gc_alloc_count -= 1
    if tstate.gc_alloc_count <= -LOCAL_ALLOC_COUNT_THRESHOLD:
        gcs = tstate.interp.gc
        rt.engine.point(ATOMIC_RMW_NS)
        gcs.young_count = max(0, gcs.young_count + tstate.gc_alloc_count)
        tstate.gc_alloc_count = 0


def traverse(op) -> list:
    """tp_traverse: the objects ``op`` holds references to."""
    t = op.tp_traverse
    return t() if t is not None else list(op.ob_refs)


def _set_header(rt, op, tid: int, bits: int, local: int, shared: int) -> None:
    old = (op.ob_tid, op.ob_gc_bits, op.ob_ref_local, op.ob_ref_shared)
    if old == (tid, bits, local, shared):
        return
    op.ob_tid, op.ob_gc_bits, op.ob_ref_local, op.ob_ref_shared = tid, bits, local, shared
    rt.emit(GC_HEADER, op.obj, tid, bits, local, shared, *old)


def _merge(rt, op, extra: int) -> int:
    """merge_refcount (world stopped, plain stores): tid 0, local 0, shared = rc << 2 | MERGED."""
    rc = _refcnt(op) + extra
    _set_header(rt, op, 0, op.ob_gc_bits, 0, (rc << _Py_REF_SHARED_SHIFT) | _Py_REF_MERGED)
    return rc


def _refcnt(op) -> int:
    return op.ob_ref_local + (op.ob_ref_shared >> _Py_REF_SHARED_SHIFT)


def _phase(rt, gcs: GCState, phase: str) -> None:
    old = gcs.phase
    gcs.phase = phase
    rt.emit(GC_PHASE, phase, old)


def _heap_objects(rt, interp) -> list:
    """gc_visit_heaps: the live objects of the GC heaps (tags 2 and 3) of every thread's
    segments and the abandoned pool, in address order."""
    out = []
    am = rt.obmalloc
    for seg_addr in sorted(am.segments):
        seg = am.segments[seg_addr]
        if seg.interp is not interp:
            continue
        for page in seg.pages:
            if page.tag not in (_Py_MIMALLOC_HEAP_GC, _Py_MIMALLOC_HEAP_GC_PRE):
                continue
            for i in range(page.next_fresh):
                blk = am.blocks.get(page.addr + i * page.block_size)
                if blk is not None and blk.live and blk.page is page and blk.obj is not None:
                    out.append(blk.obj)
    return out


def _tracked(op) -> bool:
    return (op.alive and op.ob_gc_bits & _PyGC_BITS_TRACKED and not op.ob_gc_bits & _PyGC_BITS_FROZEN
            and op.ob_ref_local != _Py_IMMORTAL_REFCNT_LOCAL)


def _merge_queued_refcounts(rt, interp, objs_to_decref: list) -> None:
    """Drain every thread's BRC queue: merge each object dropping the queue's reference."""
    for t in interp.threads:
        b = t.brc
        if not b.bucket_node:
            continue
        brc._splice(rt, t)
        stack = b.local_objects_to_merge
        while stack:
            op = stack[-1]
            rc = _merge(rt, op, -1)
            stack.pop()
            rt.emit(BRC_MERGE, op.obj, t.id, rc)
            if rc == 0 and not op.ob_gc_bits & _PyGC_BITS_TRACKED:
                # Keep it alive until the world restarts, then decref it.
                _set_header(rt, op, op.ob_tid, op.ob_gc_bits, op.ob_ref_local,
                            op.ob_ref_shared + (1 << _Py_REF_SHARED_SHIFT))
                objs_to_decref.append(op)


def _process_delayed_frees(rt, me) -> None:
    """process_delayed_frees: advance, be quiescent, free every queue's reachable goals."""
    interp = me.interp
    shared = interp.qsbr
    qsbr.advance(rt, shared, "gc")
    qsbr.quiescent_state(rt, me.qsbr, shared, me.id)
    am = rt.obmalloc
    for t in interp.threads:
        if t.mem_free_queue.items:
            am._process_queue(me, t.mem_free_queue)
    if interp.mem_free_queue.items:
        am._process_queue(me, interp.mem_free_queue)
        interp.mem_free_queue_has_work = bool(interp.mem_free_queue.items)


def collect(rt, reason: str) -> int:
    """gc_collect_main(0): a full collection; returns the number of objects collected."""
    eng = rt.engine
    me = eng.cur.tstate
    interp = me.interp
    gcs = interp.gc
    ps = rt.pystate
    eng.point(ATOMIC_RMW_NS)  # CAS collecting 0 -> 1
    if gcs.collecting:
        return 0
    gcs.collecting = 1
    gcs.collections += 1
    rt.emit(GC_START, 0, reason)
    ps.stop_the_world(interp.stoptheworld)
    # -- STW #1 ---------------------------------------------------------------------------------
    gcs.old[0][0] += 1
    gcs.young_count = 0
    objs_to_decref: list = []
    _phase(rt, gcs, "merge_queued")
    _merge_queued_refcounts(rt, interp, objs_to_decref)
    _phase(rt, gcs, "delayed_frees")
    _process_delayed_frees(rt, me)
    _phase(rt, gcs, "update_refs")
    heap = [op for op in _heap_objects(rt, interp) if _tracked(op)]
    gc_refs = {op.obj: _refcnt(op) for op in heap}
    for op in heap:
        for ref in traverse(op):
            if ref is not None and ref.obj in gc_refs:
                gc_refs[ref.obj] -= 1
    for op in heap:
        _set_header(rt, op, gc_refs[op.obj], op.ob_gc_bits | _PyGC_BITS_UNREACHABLE, op.ob_ref_local,
                    op.ob_ref_shared)
    _phase(rt, gcs, "mark")
    by_id = {op.obj: op for op in heap}
    for op in heap:
        if op.ob_gc_bits & _PyGC_BITS_UNREACHABLE and gc_refs[op.obj] > 0:
            _mark_reachable(rt, op, by_id)
    _phase(rt, gcs, "scan")
    unreachable = []
    for op in heap:
        if op.ob_gc_bits & _PyGC_BITS_UNREACHABLE:
            # The gc_refs in ob_tid go; the object holds a merged refcount + 1 from now on.
            rc = op.ob_ref_local + (op.ob_ref_shared >> _Py_REF_SHARED_SHIFT) + 1
            _set_header(rt, op, 0, op.ob_gc_bits, 0, (rc << _Py_REF_SHARED_SHIFT) | _Py_REF_MERGED)
            unreachable.append(op)
        else:
            _restore_tid(rt, op)
            gcs.long_lived_total += 1
    ps.start_the_world(interp.stoptheworld)
    for op in objs_to_decref:
        Py_DECREF(op)
    # -- finalizers, with the world running ---------------------------------------------------------
    _phase(rt, gcs, "finalize")
    for op in unreachable:
        if op.tp_finalize is not None and not op.ob_gc_bits & _PyGC_BITS_FINALIZED:
            eng.point(GUEST_OP_NS)
            _set_header(rt, op, op.ob_tid, op.ob_gc_bits | _PyGC_BITS_FINALIZED, op.ob_ref_local, op.ob_ref_shared)
            op.tp_finalize(op)
    # -- STW #2: resurrection ---------------------------------------------------------------------
    ps.stop_the_world(interp.stoptheworld)
    _phase(rt, gcs, "resurrection")
    members = {op.obj for op in unreachable}
    outside = {op.obj: (op.ob_ref_shared >> _Py_REF_SHARED_SHIFT) - 1 for op in unreachable}
    for op in unreachable:
        for ref in traverse(op):
            if ref is not None and ref.obj in members:
                outside[ref.obj] -= 1
    resurrected: set = set()
    by_id = {op.obj: op for op in unreachable}
    for op in unreachable:
        if outside[op.obj] > 0 and op.obj not in resurrected:
            stack = [op]
            while stack:
                o = stack.pop()
                if o.obj in resurrected:
                    continue
                resurrected.add(o.obj)
                stack.extend(r for r in traverse(o) if r is not None and r.obj in by_id)
    garbage = []
    for op in unreachable:
        if op.obj in resurrected:
            _set_header(rt, op, op.ob_tid, op.ob_gc_bits & ~_PyGC_BITS_UNREACHABLE, op.ob_ref_local,
                        op.ob_ref_shared - (1 << _Py_REF_SHARED_SHIFT))
        else:
            garbage.append(op)
    ps.start_the_world(interp.stoptheworld)
    # -- delete_garbage ------------------------------------------------------------------------
    _phase(rt, gcs, "delete")
    collected = 0
    for op in garbage:
        _set_header(rt, op, op.ob_tid, op.ob_gc_bits & ~_PyGC_BITS_UNREACHABLE, op.ob_ref_local, op.ob_ref_shared)
    for op in garbage:
        if not op.alive:
            continue
        collected += 1
        clear = op.tp_clear
        if clear is not None:
            clear()
        else:
            refs = op.ob_refs
            while refs:
                Py_DECREF(refs.pop())
        Py_DECREF(op)  # the reference the scan added
    _phase(rt, gcs, "")
    eng.point(ATOMIC_RMW_NS)
    gcs.collecting = 0
    rt.emit(GC_END, collected, 0)
    return collected


def _mark_reachable(rt, start, by_id: dict) -> None:
    """mark_reachable: clear UNREACHABLE on ``start`` and everything it reaches."""
    stack = [start]
    while stack:
        op = stack.pop()
        if not op.ob_gc_bits & _PyGC_BITS_UNREACHABLE:
            continue
        _set_header(rt, op, op.ob_tid, op.ob_gc_bits & ~_PyGC_BITS_UNREACHABLE, op.ob_ref_local, op.ob_ref_shared)
        for ref in traverse(op):
            if ref is not None and ref.obj in by_id and ref.ob_gc_bits & _PyGC_BITS_UNREACHABLE:
                stack.append(ref)


def _restore_tid(rt, op) -> None:
    """gc_restore_tid: merged -> 0; else the owner of the object's segment (ownership follows
    the segment); an abandoned segment's objects are merged."""
    if (op.ob_ref_shared & _Py_REF_SHARED_FLAG_MASK) == _Py_REF_MERGED:
        _set_header(rt, op, 0, op.ob_gc_bits, op.ob_ref_local, op.ob_ref_shared)
        return
    owner = op.page.segment.thread_id if op.page is not None else 0
    if owner:
        _set_header(rt, op, owner, op.ob_gc_bits, op.ob_ref_local, op.ob_ref_shared)
    else:
        _set_header(rt, op, 0, op.ob_gc_bits, op.ob_ref_local, op.ob_ref_shared)
        _merge(rt, op, 0)


def run_gc(rt, tstate) -> None:
    """_Py_RunGC from _Py_HandlePending."""
    gcs = tstate.interp.gc
    if should_collect(gcs) or gcs.young_count > gcs.young_threshold:
        collect(rt, "threshold")

