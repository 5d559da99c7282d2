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
    process: int = 1  # the process creating it (pylifecycle.fork's child ids; 1 = the first)


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
    label_old: Optional[str] = None  # the label it replaces (a reused block), for undo


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


# -- qsbr.py: quiescent-state-based reclamation ------------------------------------------------
class QsbrRegister(Event, tag="qsbr.register"):
    """_Py_qsbr_reserve + _Py_qsbr_register: the thread takes a slot (offline, seq 0)."""

    thread: int
    slot: int


class QsbrUnregister(Event, tag="qsbr.unregister"):
    thread: int
    slot: int


class QsbrAttach(Event, tag="qsbr.attach"):
    """_Py_qsbr_attach: online, seq = wr_seq.  (The envelope owns the name ``seq``.)"""

    thread: int
    qsbr_seq: int
    qsbr_seq_old: int


class QsbrDetach(Event, tag="qsbr.detach"):
    """_Py_qsbr_detach: offline, seq = QSBR_OFFLINE (0)."""

    thread: int
    qsbr_seq: int
    qsbr_seq_old: int


class QsbrQuiescent(Event, tag="qsbr.quiescent"):
    """_Py_qsbr_quiescent_state at a periodic check: seq = wr_seq (logged when it changes)."""

    thread: int
    qsbr_seq: int
    qsbr_seq_old: int


class QsbrAdvance(Event, tag="qsbr.advance"):
    """_Py_qsbr_advance: wr_seq += QSBR_INCR; the new value is the goal."""

    wr_seq: int
    wr_seq_old: int
    path: str  # 'free' (delayed free limits), 'page' (page bytes), 'deferred' (deferral count)


class QsbrPoll(Event, tag="qsbr.poll"):
    """_Py_qsbr_poll(goal): rd_seq is raised to the minimum seq of the online threads."""

    goal: int
    rd_seq: int
    rd_seq_old: int
    ok: bool
    min_seq: int  # the minimum scanned (wr_seq when nobody else is online)


# -- obmalloc.py: mimalloc heaps, pages and segments, delayed free ----------------------------------
class ObmallocAlloc(Event, tag="obmalloc.alloc"):
    block: int
    size: int
    heap: str  # 'mem', 'object', 'gc', 'gc_pre'
    page: int
    bin: int
    block_size: int


class ObmallocFree(Event, tag="obmalloc.free"):
    """mi_free: 'local' on the owning thread (used - 1), 'xthread' onto the page's
    xthread_free list (collected later by the owner)."""

    block: int
    size: int
    heap: str
    page: int
    path: str  # 'local', 'xthread'
    debug_fill: bool  # the freed block was filled with 0xDD (header words included)


class ObmallocCollect(Event, tag="obmalloc.collect"):
    """_mi_page_thread_free_collect: the owner takes the xthread frees of a page."""

    page: int
    count: int


class ObmallocPageNew(Event, tag="obmalloc.page_new"):
    """A page carved from free slices of a segment for one size class of one heap."""

    page: int
    heap: str
    bin: int
    block_size: int
    capacity: int
    segment: int


class ObmallocPageFree(Event, tag="obmalloc.page_free"):
    """_mi_page_free: the (all-free) page's slices go back to its segment."""

    page: int
    heap: str
    bin: int
    block_size: int
    capacity: int
    segment: int
    goal: int  # the QSBR goal it waited for (0: none)
    rd_seq: int


class ObmallocPageQsbrDefer(Event, tag="obmalloc.page_qsbr_defer"):
    """_PyMem_mi_page_maybe_free: an all-free object page waits for a QSBR goal."""

    page: int
    goal: int
    goal_old: int


class ObmallocPageQsbrCancel(Event, tag="obmalloc.page_qsbr_cancel"):
    """_PyMem_mi_page_clear_qsbr on reuse by its own size class: the pending free is cancelled."""

    page: int
    goal_old: int


class ObmallocSegmentNew(Event, tag="obmalloc.segment_new"):
    segment: int
    thread: int


class ObmallocSegmentFree(Event, tag="obmalloc.segment_free"):
    segment: int
    thread: int


class ObmallocSegmentAbandon(Event, tag="obmalloc.segment_abandon"):
    """The exiting owner leaves a segment with live (or QSBR-held) pages in the pool."""

    segment: int
    thread: int  # the owner that left it


class ObmallocSegmentReclaim(Event, tag="obmalloc.segment_reclaim"):
    """A thread takes an abandoned segment; each page joins its heap of the same tag."""

    segment: int
    thread: int  # the new owner


class ObmallocFreeDelayed(Event, tag="obmalloc.free_delayed"):
    """_PyMem_FreeDelayed: the block joins a queue with a QSBR goal."""

    block: int
    size: int
    goal: int
    thread: int  # the queue: its thread, 0 = the interpreter's


class ObmallocProcessDelayed(Event, tag="obmalloc.process_delayed"):
    """process_queue: the head item's goal is reached; it is popped and freed."""

    block: int
    goal: int
    thread: int  # the queue (0 = the interpreter's)
    rd_seq: int


class ObmallocAbandonDelayed(Event, tag="obmalloc.abandon_delayed"):
    """_PyMem_AbandonDelayed: an exiting thread's queue is spliced onto the interpreter's."""

    thread: int
    count: int


# -- listobject.py / dictobject.py: guest containers ---------------------------------------------
class ListobjectResize(Event, tag="listobject.resize"):
    """list_resize: a new item array replaces the old one (freed at once, or delayed if shared)."""

    obj: int
    block: int
    capacity: int
    block_old: int
    capacity_old: int
    shared: bool


class ListobjectStore(Event, tag="listobject.store"):
    """An item slot written under the list's critical section (append or assignment)."""

    obj: int
    index: int
    value: int  # the item's obj id (0 = NULL)
    prev: int
    ob_size: int


class ListobjectRead(Event, tag="listobject.read"):
    """list_get_item_ref: 'lockfree' (_Py_TryXGetRef on the array) or 'locked'."""

    obj: int
    index: int
    value: int
    path: str
    block: int  # the array read


class DictobjectResize(Event, tag="dictobject.resize"):
    obj: int
    block: int
    capacity: int
    block_old: int
    capacity_old: int
    shared: bool


class DictobjectStore(Event, tag="dictobject.store"):
    obj: int
    index: int  # the entry
    value: int
    prev: int
    ob_size: int


class DictobjectRead(Event, tag="dictobject.read"):
    obj: int
    index: int
    value: int
    path: str
    block: int


# -- pystate.py: stop-the-world --------------------------------------------------------------------
class PystateStwRequest(Event, tag="pystate.stw_request"):
    """stop_the_world, under HEAD_LOCK: requested = 1, the countdown of threads to stop."""

    scope: str  # 'interp', 'global'
    requester: int
    countdown: int


class PystateStopTheWorld(Event, tag="pystate.stop_the_world"):
    """world_stopped = 1: every other thread in scope is suspended or detached-and-flipped."""

    scope: str
    requester: int


class PystateStartTheWorld(Event, tag="pystate.start_the_world"):
    """requested = world_stopped = 0 (the suspended threads were flipped back to detached)."""

    scope: str
    requester: int
    countdown: int  # what was left of the countdown (0 once stopped)


class PystateStwCountdown(Event, tag="pystate.stw_countdown"):
    """The countdown of a requested pause: threads flipped by the requester, or suspending
    themselves at their eval breaker, or exiting."""

    scope: str
    countdown: int
    countdown_old: int


# -- gc_free_threading.py: the stop-the-world cycle collector -----------------------------------------
class GcSchedule(Event, tag="gc.schedule"):
    """record_allocation flushed the thread's count and the threshold was passed: the
    GC-scheduled eval-breaker bit is set on this thread."""

    count: int
    threshold: int


class GcStart(Event, tag="gc.start"):
    gen: int
    reason: str  # 'threshold' (the eval breaker), 'manual' (gc.collect)


class GcPhase(Event, tag="gc.phase"):
    """The collection enters a phase: merge_queued, delayed_frees, update_refs, mark, scan,
    finalize, resurrection, delete."""

    phase: str
    phase_old: str


class GcHeader(Event, tag="gc.header"):
    """A header write by the collector (world stopped: plain stores): gc_refs live in ob_tid,
    the UNREACHABLE bit, merged refcounts, ob_tid restored from the segment owner."""

    obj: int
    ob_tid: int
    ob_gc_bits: int
    ob_ref_local: int
    ob_ref_shared: int
    ob_tid_old: int
    ob_gc_bits_old: int
    ob_ref_local_old: int
    ob_ref_shared_old: int


class GcEnd(Event, tag="gc.end"):
    collected: int
    uncollectable: int


# -- ceval_gil.py: the GIL ------------------------------------------------------------------------------
class CevalGilTake(Event, tag="ceval_gil.take"):
    """take_gil: locked = 1, holds_gil = 1 (switched: another thread held it last)."""

    thread: int
    switched: bool
    switch_number: int


class CevalGilDrop(Event, tag="ceval_gil.drop"):
    """drop_gil: locked = 0 (final: the thread's last release, no forced switching)."""

    thread: int
    final: bool


class CevalGilDropRequest(Event, tag="ceval_gil.drop_request"):
    """A waiter timed out after the switch interval and asks the holder to drop the GIL."""

    thread: int  # the holder asked
    switch_number: int


# -- interpreters.py: subinterpreters (PEP 684) ---------------------------------------------------------
class InterpretersNew(Event, tag="interpreters.new"):
    """PyInterpreterState_New with new_interpreter's config: its own GIL or the main one's, its
    own obmalloc state or main's (Py_RTFLAGS_USE_MAIN_OBMALLOC)."""

    interp: int
    whence: str  # 'runtime', 'stdlib' (_interpreters.create), 'capi'
    feature_flags: int  # Py_RTFLAGS_*
    own_gil: bool
    own_obmalloc: bool


class InterpretersDelete(Event, tag="interpreters.delete"):
    """PyInterpreterState_Delete (Py_EndInterpreter); the fields of its ``new`` again and its
    QSBR sequences, for undo."""

    interp: int
    whence: str
    feature_flags: int
    own_gil: bool
    own_obmalloc: bool
    wr_seq: int = 1
    rd_seq: int = 1


class InterpretersSwap(Event, tag="interpreters.swap"):
    """_PyThreadState_Swap on the event's OS thread: the thread state now current (0 = none)
    and its interpreter, and the ones before."""

    thread: int
    interp: int
    thread_old: int
    interp_old: int


class InterpretersRunningMain(Event, tag="interpreters.running_main"):
    """_PyInterpreterState_SetRunningMain / UnsetRunningMain: the thread state running
    ``__main__`` (0 = none)."""

    interp: int
    thread: int
    thread_old: int


class InterpretersExtensions(Event, tag="interpreters.extensions"):
    """The single-phase-init extension cache during an interpreter's sys/builtins fix-up:
    'lookup' / 'store' (under the cache's lock), and with the bug the shared main-interpreter
    thread state's 'bind' / 'unbind' to the OS thread using it."""

    name: str  # the module ('sys', 'builtins')
    op: str
    thread: int  # the thread state used
    interp: int  # the interpreter being initialised


# -- typeobject.py: the method cache and type versions -----------------------------------------------
class TypeobjectVersion(Event, tag="typeobject.version"):
    """tp_version_tag assigned (assign_version_tag) or invalidated to 0 (type_modified)."""

    interp: int
    type: str
    version: int
    version_old: int


class TypeobjectCacheRead(Event, tag="typeobject.cache_read"):
    """_PyType_Lookup's cache probe: 'hit', 'retry' (the entry's sequence changed: the reference
    taken is dropped), 'miss' (version or name differ) or 'incref_failed' (slow path)."""

    interp: int
    index: int
    type: str
    name: str
    value: int  # the obj returned (0 = none)
    path: str


class TypeobjectCacheStore(Event, tag="typeobject.cache_store"):
    """A store into a cache entry (the fields after and before; one event per field store)."""

    interp: int
    index: int
    addr: int  # the entry's sequence (_PySeqLock)
    version: int
    name: str
    value: int
    version_old: int
    name_old: str
    value_old: int


# -- funcobject.py: function versions ---------------------------------------------------------------------
class FuncobjectVersion(Event, tag="funcobject.version"):
    """A code object's co_version or a function's func_version set, and from which counter
    ('func_state.next_version'; with the bug also 'next_func_version'; 'cleared' / 'reset'
    when a mutation clears it)."""

    interp: int
    func: str
    version: int
    version_old: int
    counter: str


# Append-only.  The position is the kind id used on the hot path.


# -- threadmodule.py / pystate.py / pylifecycle.py: thread lifecycle, fork, finalization -----------
class ThreadHandle(Event, tag="thread.handle"):
    """A ThreadHandle's state: '' (new) -> not_started -> starting -> running -> done."""

    handle: int  # the handle's address
    thread: int  # its ident (0 until running)
    old: str
    new: str
    daemon: bool


class ThreadMustExit(Event, tag="thread.must_exit"):
    """thread_run found its thread state shut down by finalization: exit without binding it."""

    thread: int


class PystateShuttingDown(Event, tag="pystate.shutting_down"):
    """_PyThreadState_SetShuttingDown by the finalizer (then UnparkAll on the state)."""

    thread: int
    old: str
    new: str


class PystateHang(Event, tag="pystate.hang"):
    """_PyThreadState_HangThread: the thread found its state SHUTTING_DOWN and pauses forever."""

    thread: int


class PystateDeleteList(Event, tag="pystate.delete_list"):
    """_PyThreadState_DeleteList: another thread's state deleted by the finalizer or the forked
    child (it was removed by RemoveExcept)."""

    thread: int
    interp: int
    phase_old: str


class PylifecyclePhase(Event, tag="pylifecycle.phase"):
    """A step of _Py_Finalize ('wait_threads' ... 'done')."""

    phase: str
    phase_old: str


class PylifecycleFork(Event, tag="pylifecycle.fork"):
    """fork() in the thread of the event: process ``child`` starts, with only this thread."""

    child: int
    thread: int


class PylifecycleAfterForkChild(Event, tag="pylifecycle.after_fork_child"):
    """PyOS_AfterFork_Child begins (the parking lot already reset): the first event of
    ``process``; the other threads of ``parent`` do not exist in it."""

    process: int
    parent: int
    thread: int


class PylifecycleAfterForkParent(Event, tag="pylifecycle.after_fork_parent"):
    """PyOS_AfterFork_Parent: the parent goes on; ``status`` is how the child ended."""

    child: int
    status: str


class PylifecycleExit(Event, tag="pylifecycle.exit"):
    """Process ``process`` (a forked child) exits; the state is its parent's again."""

    process: int
    status: str


class PylifecycleReinitLock(Event, tag="pylifecycle.reinit_lock"):
    """A runtime lock zeroed in the forked child (``mutex = (PyMutex){0}``)."""

    mutex: int
    bits_old: int
    holder: Optional[int]


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
    QsbrRegister,
    QsbrUnregister,
    QsbrAttach,
    QsbrDetach,
    QsbrQuiescent,
    QsbrAdvance,
    QsbrPoll,
    ObmallocAlloc,
    ObmallocFree,
    ObmallocCollect,
    ObmallocPageNew,
    ObmallocPageFree,
    ObmallocPageQsbrDefer,
    ObmallocPageQsbrCancel,
    ObmallocSegmentNew,
    ObmallocSegmentFree,
    ObmallocSegmentAbandon,
    ObmallocSegmentReclaim,
    ObmallocFreeDelayed,
    ObmallocProcessDelayed,
    ObmallocAbandonDelayed,
    ListobjectResize,
    ListobjectStore,
    ListobjectRead,
    DictobjectResize,
    DictobjectStore,
    DictobjectRead,
    PystateStwRequest,
    PystateStopTheWorld,
    PystateStartTheWorld,
    PystateStwCountdown,
    GcSchedule,
    GcStart,
    GcPhase,
    GcHeader,
    GcEnd,
    CevalGilTake,
    CevalGilDrop,
    CevalGilDropRequest,
    InterpretersNew,
    InterpretersDelete,
    InterpretersSwap,
    InterpretersRunningMain,
    InterpretersExtensions,
    TypeobjectVersion,
    TypeobjectCacheRead,
    TypeobjectCacheStore,
    FuncobjectVersion,
    ThreadHandle,
    ThreadMustExit,
    PystateShuttingDown,
    PystateHang,
    PystateDeleteList,
    PylifecyclePhase,
    PylifecycleFork,
    PylifecycleAfterForkChild,
    PylifecycleAfterForkParent,
    PylifecycleExit,
    PylifecycleReinitLock,
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
QSBR_REGISTER = 42
QSBR_UNREGISTER = 43
QSBR_ATTACH = 44
QSBR_DETACH = 45
QSBR_QUIESCENT = 46
QSBR_ADVANCE = 47
QSBR_POLL = 48
OBMALLOC_ALLOC = 49
OBMALLOC_FREE = 50
OBMALLOC_COLLECT = 51
OBMALLOC_PAGE_NEW = 52
OBMALLOC_PAGE_FREE = 53
OBMALLOC_PAGE_QSBR_DEFER = 54
OBMALLOC_PAGE_QSBR_CANCEL = 55
OBMALLOC_SEGMENT_NEW = 56
OBMALLOC_SEGMENT_FREE = 57
OBMALLOC_SEGMENT_ABANDON = 58
OBMALLOC_SEGMENT_RECLAIM = 59
OBMALLOC_FREE_DELAYED = 60
OBMALLOC_PROCESS_DELAYED = 61
OBMALLOC_ABANDON_DELAYED = 62
LISTOBJECT_RESIZE = 63
LISTOBJECT_STORE = 64
LISTOBJECT_READ = 65
DICTOBJECT_RESIZE = 66
DICTOBJECT_STORE = 67
DICTOBJECT_READ = 68
PYSTATE_STW_REQUEST = 69
PYSTATE_STOP_THE_WORLD = 70
PYSTATE_START_THE_WORLD = 71
PYSTATE_STW_COUNTDOWN = 72
GC_SCHEDULE = 73
GC_START = 74
GC_PHASE = 75
GC_HEADER = 76
GC_END = 77
CEVAL_GIL_TAKE = 78
CEVAL_GIL_DROP = 79
CEVAL_GIL_DROP_REQUEST = 80
INTERPRETERS_NEW = 81
INTERPRETERS_DELETE = 82
INTERPRETERS_SWAP = 83
INTERPRETERS_RUNNING_MAIN = 84
INTERPRETERS_EXTENSIONS = 85
TYPEOBJECT_VERSION = 86
TYPEOBJECT_CACHE_READ = 87
TYPEOBJECT_CACHE_STORE = 88
FUNCOBJECT_VERSION = 89
THREAD_HANDLE = 90
THREAD_MUST_EXIT = 91
PYSTATE_SHUTTING_DOWN = 92
PYSTATE_HANG = 93
PYSTATE_DELETE_LIST = 94
PYLIFECYCLE_PHASE = 95
PYLIFECYCLE_FORK = 96
PYLIFECYCLE_AFTER_FORK_CHILD = 97
PYLIFECYCLE_AFTER_FORK_PARENT = 98
PYLIFECYCLE_EXIT = 99
PYLIFECYCLE_REINIT_LOCK = 100

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
