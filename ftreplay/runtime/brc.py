"""Python/brc.c, Include/internal/pycore_brc.h: the biased reference counting inter-thread queue.

When a non-owner's decref finds ob_ref_shared at zero (flags 0 or MAYBE_WEAKREF), it sets
QUEUED and hands its reference to the owner's queue; the owner merges the two fields at
its next eval-breaker check (or when it clears its thread state).  Threads are found by
thread id in a per-interpreter hash table:

    interp->brc.table[_Py_BRC_NUM_BUCKETS = 257]   bucket = tid % 257
        { PyMutex mutex; llist root }   -> thread states registered in that bucket
    tstate->brc: { bucket_node, tid, objects_to_merge (guarded by the bucket mutex),
                   local_objects_to_merge (owner only) }

    queue_object(ob):  ob_tid == 0 -> the owner merged meanwhile: Py_DECREF
                       lock bucket; owner gone -> explicit_merge(ob, -1), dealloc at 0
                       else push on objects_to_merge, set _PY_EVAL_EXPLICIT_MERGE_BIT; unlock
    merge_refcounts:   lock; splice objects_to_merge onto the local stack; unlock;
                       pop each: explicit_merge(ob, -1), dealloc at 0
    init_thread (bind) / remove_thread (PyThreadState_Clear: drain until empty, unlink)

The queue's stacks are Python lists (push = append, pop from the end); their contents are
plain memory under the bucket mutex, so only the mutex and the eval-breaker bit are
scheduling points.

Deviation: CPython registers every thread at bind (bind_tstate, on the bound thread,
gh-117271); the model registers a thread on the same thread just before its first object
is created.  Only a thread that created an object can be named by an ob_tid, so every
lookup finds exactly what it would in CPython; what differs is only when the bucket
mutex is taken, and runs without objects keep their schedules and logs.
Not modelled: the push's out-of-memory fallback (stop the world and merge), and main's
gh-157838 path that merges a *detached* owner's queue on its behalf.
"""

from __future__ import annotations

from typing import Optional

from ..record.events import BRC_INIT_THREAD, BRC_MERGE, BRC_MERGE_BATCH, BRC_QUEUE, BRC_REMOVE_THREAD
from ..sim.clock import ATOMIC_LOAD_NS
from . import ceval_gil
from . import object as pyobject
from .lock import PyMutex

_Py_BRC_NUM_BUCKETS = 257
SIZEOF_BRC_BUCKET = 24  # struct _brc_bucket { PyMutex mutex; struct llist_node root; }


class BrcBucket:
    """struct _brc_bucket."""

    __slots__ = ("index", "addr", "_mutex", "root")

    def __init__(self, index: int, addr: int) -> None:
        self.index = index
        self.addr = addr
        self._mutex: Optional[PyMutex] = None
        self.root: list = []  # the registered thread states (llist, insert at tail)


class BrcState:
    """struct _brc_state: the interpreter's table of buckets."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.table_addr = 0  # the table's address, allocated on first use
        self.table: dict[int, BrcBucket] = {}  # index -> bucket, materialised on first use

    def get_bucket(self, tid: int) -> BrcBucket:
        index = tid % _Py_BRC_NUM_BUCKETS
        b = self.table.get(index)
        if b is None:
            if not self.table_addr:
                self.table_addr = self.rt.alloc(SIZEOF_BRC_BUCKET * _Py_BRC_NUM_BUCKETS)
            b = self.table[index] = BrcBucket(index, self.table_addr + index * SIZEOF_BRC_BUCKET)
        return b

    def mutex(self, bucket: BrcBucket) -> PyMutex:
        """The bucket's PyMutex, created (and labelled) on first use."""
        m = bucket._mutex
        if m is None:
            name = f"interp.brc.table[{bucket.index}].mutex"
            m = bucket._mutex = PyMutex(self.rt, bucket.addr, name)
            self.rt.label(bucket.addr, name)
        return m


class BrcThreadState:
    """struct _brc_thread_state."""

    __slots__ = ("bucket_node", "tid", "objects_to_merge", "local_objects_to_merge")

    def __init__(self) -> None:
        self.bucket_node = False  # linked into its bucket
        self.tid = 0
        self.objects_to_merge: list = []
        self.local_objects_to_merge: list = []

    def record(self) -> list:
        """The projection's record (ftreplay.replay.state: brc)."""
        return [self.tid % _Py_BRC_NUM_BUCKETS, [o.obj for o in self.objects_to_merge],
                [o.obj for o in self.local_objects_to_merge]]


def _find_thread_state(bucket: BrcBucket, thread_id: int):
    for ts in bucket.root:
        if ts.brc.tid == thread_id:
            return ts
    return None


def queue_object(rt, ob) -> None:
    """_Py_brc_queue_object: enqueue ``ob`` to be merged by its owner; steals a reference."""
    eng = rt.engine
    interp = eng.cur.tstate.interp
    eng.point(ATOMIC_LOAD_NS)
    ob_tid = ob.ob_tid
    if ob_tid == 0:
        # The owning thread may have concurrently decided to merge the refcount fields.
        pyobject.Py_DECREF(ob)
        return
    table = interp.brc
    bucket = table.get_bucket(ob_tid)
    mutex = table.mutex(bucket)
    mutex.lock()
    tstate = _find_thread_state(bucket, ob_tid)
    if tstate is None:
        # The owner has exited: merge now, dropping the stolen reference.
        refcount = pyobject.explicit_merge_refcount(ob, -1, "owner_gone")
        mutex.unlock()
        if refcount == 0:
            pyobject.dealloc(ob)
        return
    tstate.brc.objects_to_merge.append(ob)
    rt.emit(BRC_QUEUE, ob.obj, tstate.id, bucket.index)
    # Notify the owning thread.
    ceval_gil.set_eval_breaker_bit(rt, tstate, ceval_gil._PY_EVAL_EXPLICIT_MERGE_BIT)
    mutex.unlock()


def _merge_queued_objects(rt, tstate, to_merge: list) -> None:
    """merge_queued_objects: pop each, merge dropping the queue's reference, dealloc at 0."""
    while to_merge:
        ob = to_merge[-1]
        refcount = pyobject.explicit_merge_refcount(ob, -1, "queue")
        to_merge.pop()  # thread-local stack: popping after the merge is not observable
        rt.emit(BRC_MERGE, ob.obj, tstate.id, refcount)
        if refcount == 0:
            pyobject.dealloc(ob)


def _splice(rt, tstate) -> None:
    """_PyObjectStack_Merge(&local_objects_to_merge, &objects_to_merge) (bucket mutex held)."""
    brc = tstate.brc
    n = len(brc.objects_to_merge)
    if n:
        brc.local_objects_to_merge.extend(brc.objects_to_merge)
        brc.objects_to_merge.clear()
        rt.emit(BRC_MERGE_BATCH, tstate.id, n)


def merge_refcounts(rt, tstate) -> None:
    """_Py_brc_merge_refcounts: the owner processes its queue (from _Py_HandlePending)."""
    brc = tstate.brc
    table = tstate.interp.brc
    bucket = table.get_bucket(brc.tid)
    mutex = table.mutex(bucket)
    # Move everything to the local stack: destructors must not run under the lock.
    mutex.lock()
    _splice(rt, tstate)
    mutex.unlock()
    _merge_queued_objects(rt, tstate, brc.local_objects_to_merge)


def init_thread(rt, tstate) -> None:
    """_Py_brc_init_thread: register in the bucket of this thread's id (on the bound thread;
    the model calls it before the thread's first object, see the module docstring)."""
    brc = tstate.brc
    tid = rt.engine.tid  # _Py_ThreadId()
    table = tstate.interp.brc
    bucket = table.get_bucket(tid)
    mutex = table.mutex(bucket)
    mutex.lock()
    brc.tid = tid
    bucket.root.append(tstate)
    brc.bucket_node = True
    rt.emit(BRC_INIT_THREAD, tstate.id, bucket.index)
    mutex.unlock()


def remove_thread(rt, tstate) -> None:
    """_Py_brc_remove_thread: merge everything queued, then leave the table; afterwards other
    threads treat this thread's objects as abandoned and merge them on the spot."""
    brc = tstate.brc
    if brc.tid == 0:
        return  # never bound
    table = tstate.interp.brc
    bucket = table.get_bucket(brc.tid)
    mutex = table.mutex(bucket)
    empty = False
    while not empty:
        _merge_queued_objects(rt, tstate, brc.local_objects_to_merge)
        mutex.lock()
        empty = not brc.objects_to_merge
        if empty:
            bucket.root.remove(tstate)
            brc.bucket_node = False
            rt.emit(BRC_REMOVE_THREAD, tstate.id, bucket.index)
        else:
            _splice(rt, tstate)
        mutex.unlock()
