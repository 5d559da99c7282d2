"""Objects/obmalloc.c with mimalloc (Objects/mimalloc/{heap,page,segment}.c as CPython
patches them): per-thread heaps, pages, segments, QSBR-delayed page reuse and delayed free.

    tstate->mimalloc.heaps[tag]   0 mem (PyMem_Malloc)   1 object (non-GC objects)
                                  2 gc (GC objects)      3 gc_pre (GC objects with a pre-header)
    segment (32 MiB, 512 slices of 64 KiB, slice 0 = segment info) owned by one thread
      └ page: small (1 slice) for blocks <= 8 KiB, medium (8 slices) for <= 128 KiB;
              one size class (bin) of one heap; blocks are carved in order, then reused LIFO
              free / local_free (owner frees: used - 1) / xthread_free (other threads' frees,
              collected by the owner: used - n)

    empty page of an object heap (use_qsbr):  _PyMem_mi_page_maybe_free
        goal reached -> _mi_page_free (slices back to the segment: any bin or heap may take them)
        else         -> qsbr_goal = advance or shared_next, on the thread's page_list; the page
                        stays in its bin: allocating from it cancels the pending free
    _PyMem_mi_heap_collect_qsbr (before a fresh page): free page_list pages whose goal polls true
    thread exit: _mi_heap_collect_abandon: empty pages freed, segments with live (or QSBR-held)
        pages go to the interpreter's abandoned pool (thread_id 0); a thread that needs a page
        reclaims one (suitable: a free span, or a page of its size class and heap tag with room;
        forced after 3 visits), and each page joins the reclaimer's heap with the same tag.

    _PyMem_FreeDelayed(ptr, size): the block waits in the thread's queue (chunks of 254) with a
        QSBR goal; processed when a chunk fills, from _Py_HandlePending when should_process is
        set, and at thread exit (_PyMem_AbandonDelayed: spliced into the interpreter's queue,
        which is processed at once, gh-130794).

The allocator knows which blocks are live.  Guest readers name the block and allocation they
expect; a read of a freed block, a reused one, or a block whose page went back to its segment
ends the run with ``use_after_free`` naming the block, the object and both threads.  The one
allowed read of dead memory is the refcount-shaped header of an object-heap block (ob_tid,
ob_ref_local, ob_ref_shared: mimalloc skips ``debug_offset`` bytes when it fills freed blocks)
while its page still serves the same size class and heap, which is what _Py_TryIncref relies
on (see ``header_at``).

Simplifications: mimalloc's retire grace period for the only page of a size class and its
full-page queue are not modelled (an empty page goes to _PyMem_mi_page_maybe_free at once);
allocations above 128 KiB (large and huge pages) are refused.
"""

from __future__ import annotations

from typing import Optional

from ..record.events import (
    OBMALLOC_ABANDON_DELAYED,
    OBMALLOC_ALLOC,
    OBMALLOC_COLLECT,
    OBMALLOC_FREE,
    OBMALLOC_FREE_DELAYED,
    OBMALLOC_PAGE_FREE,
    OBMALLOC_PAGE_NEW,
    OBMALLOC_PAGE_QSBR_CANCEL,
    OBMALLOC_PAGE_QSBR_DEFER,
    OBMALLOC_PROCESS_DELAYED,
    OBMALLOC_SEGMENT_ABANDON,
    OBMALLOC_SEGMENT_FREE,
    OBMALLOC_SEGMENT_NEW,
    OBMALLOC_SEGMENT_RECLAIM,
)
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_RMW_NS, GUEST_OP_NS
from ..sim.engine import FatalError, GuestFailure
from . import qsbr

# -- mimalloc geometry (mimalloc/types.h as CPython ships it) ----------------------------------------
MI_SEGMENT_SLICE_SHIFT = 16
MI_SEGMENT_SLICE_SIZE = 1 << MI_SEGMENT_SLICE_SHIFT  # 64 KiB
MI_SEGMENT_SHIFT = 25
MI_SEGMENT_SIZE = 1 << MI_SEGMENT_SHIFT  # 32 MiB
MI_SEGMENT_MASK = MI_SEGMENT_SIZE - 1
MI_SLICES_PER_SEGMENT = MI_SEGMENT_SIZE // MI_SEGMENT_SLICE_SIZE  # 512
MI_SMALL_PAGE_SIZE = MI_SEGMENT_SLICE_SIZE  # 64 KiB
MI_MEDIUM_PAGE_SIZE = 8 * MI_SEGMENT_SLICE_SIZE  # 512 KiB
MI_SMALL_OBJ_SIZE_MAX = MI_SMALL_PAGE_SIZE // 8  # 8 KiB
MI_MEDIUM_OBJ_SIZE_MAX = MI_MEDIUM_PAGE_SIZE // 4  # 128 KiB
MI_INTPTR_SIZE = 8
MI_MEDIUM_OBJ_WSIZE_MAX = MI_MEDIUM_OBJ_SIZE_MAX // MI_INTPTR_SIZE
MI_BIN_HUGE = 73
MI_BIN_FULL = MI_BIN_HUGE + 1
SEGMENT_BASE = 0x200000000000  # where the model's segments live (aligned to MI_SEGMENT_SIZE)

# -- CPython's heaps (pycore_mimalloc.h) -----------------------------------------------------------
_Py_MIMALLOC_HEAP_MEM = 0
_Py_MIMALLOC_HEAP_OBJECT = 1
_Py_MIMALLOC_HEAP_GC = 2
_Py_MIMALLOC_HEAP_GC_PRE = 3
_Py_MIMALLOC_HEAP_COUNT = 4
HEAP_NAMES = ("mem", "object", "gc", "gc_pre")
# Bytes at the start of a block that mimalloc's debug fill skips (ob_tid..ob_ref_shared for
# object heaps; 2 more pointers before a GC_PRE object's header).
DEBUG_OFFSET = (0, 24, 24, 40)
DEBUG_FILL_BYTE = 0xDD
_DD64 = int.from_bytes(bytes([DEBUG_FILL_BYTE]) * 8, "little", signed=True)  # as Py_ssize_t
_DD32 = int.from_bytes(bytes([DEBUG_FILL_BYTE]) * 4, "little")

# -- delayed free (obmalloc.c) ---------------------------------------------------------------------
WORK_ITEMS_PER_CHUNK = 254
QSBR_DEFERRED_LIMIT = 127  # newest obmalloc.c (per-thread deferred_count)
QSBR_FREE_MEM_LIMIT = 1024 * 1024
QSBR_PAGE_MEM_LIMIT = 4096 * 20

BUG_FREE_DELAYED = "free_delayed_without_qsbr"
BUG_PAGE_REUSE = "mimalloc_page_immediate_reuse"
BUG_DEBUG_FILL = "debug_fill_refcount_fields"


def _mi_bsr(x: int) -> int:
    return x.bit_length() - 1


def mi_bin(size: int) -> int:
    """_mi_bin: the size class of a request (word sizes 1..8 exact, then 4 bins per power of 2)."""
    wsize = (size + MI_INTPTR_SIZE - 1) // MI_INTPTR_SIZE
    if wsize <= 1:
        return 1
    if wsize <= 8:
        return wsize
    if wsize > MI_MEDIUM_OBJ_WSIZE_MAX:
        return MI_BIN_HUGE
    wsize -= 1
    b = _mi_bsr(wsize)
    return ((b << 2) + ((wsize >> (b - 2)) & 0x03)) - 3


def _bin_sizes() -> list[int]:
    """Block size of each bin: the largest request (in words) that maps to it."""
    sizes = [0] * (MI_BIN_HUGE + 1)
    for w in range(1, MI_MEDIUM_OBJ_WSIZE_MAX + 1):
        b = mi_bin(w * MI_INTPTR_SIZE)
        sizes[b] = w * MI_INTPTR_SIZE
    return sizes


MI_BIN_SIZE = _bin_sizes()


class Block:
    """What the allocator knows of one block (the model's shadow memory)."""

    __slots__ = ("addr", "alloc_id", "live", "size", "page", "obj", "freed_seq", "freed_tid", "alloc_tid", "filled")

    def __init__(self, addr: int, alloc_id: int, size: int, page: "Page", tid: int) -> None:
        self.addr = addr
        self.alloc_id = alloc_id
        self.live = True
        self.size = size
        self.page = page
        self.obj = None  # the PyObject living (or last living) here
        self.freed_seq = -1
        self.freed_tid = 0
        self.alloc_tid = tid
        self.filled = False  # debug-filled including the refcount header


class Page:
    """mi_page_t (the fields the model needs)."""

    __slots__ = (
        "addr", "segment", "slice_index", "slice_count", "tag", "bin", "block_size", "capacity", "used",
        "free", "local_free", "xthread_free", "next_fresh", "use_qsbr", "qsbr_goal", "alive", "heap",
        "freed_seq", "new_seq",
    )

    def __init__(self, segment: "Segment", slice_index: int, slice_count: int, tag: int, bin: int) -> None:
        self.segment = segment
        self.slice_index = slice_index
        self.slice_count = slice_count
        self.addr = segment.addr + slice_index * MI_SEGMENT_SLICE_SIZE
        self.tag = tag
        self.bin = bin
        self.block_size = MI_BIN_SIZE[bin]
        self.capacity = (slice_count * MI_SEGMENT_SLICE_SIZE) // self.block_size
        self.used = 0
        self.free: list[int] = []
        self.local_free: list[int] = []
        self.xthread_free: list[int] = []
        self.next_fresh = 0
        self.use_qsbr = tag != _Py_MIMALLOC_HEAP_MEM
        self.qsbr_goal = 0
        self.alive = True
        self.heap: Optional[Heap] = None
        self.freed_seq = -1
        self.new_seq = -1

    def has_available(self) -> bool:
        return bool(self.free or self.local_free or self.xthread_free) or self.next_fresh < self.capacity

    def __repr__(self) -> str:
        return f"page@0x{self.addr:x}({HEAP_NAMES[self.tag]} bin {self.bin}/{self.block_size}B)"


class Segment:
    """mi_segment_t: slice map, owner thread (0 = abandoned)."""

    __slots__ = ("addr", "thread_id", "slices", "slice_page", "pages", "abandoned_visits", "interp")

    def __init__(self, addr: int, thread_id: int, interp) -> None:
        self.addr = addr
        self.thread_id = thread_id
        self.slices = bytearray(MI_SLICES_PER_SEGMENT)
        self.slices[0] = 1  # the segment info
        self.slice_page: list[Optional[Page]] = [None] * MI_SLICES_PER_SEGMENT
        self.pages: list[Page] = []  # in address order
        self.abandoned_visits = 0
        self.interp = interp

    def find_span(self, n: int) -> int:
        i = self.slices.find(bytes(n), 1)
        return i


class Heap:
    """mi_heap_t of one tag."""

    __slots__ = ("tag", "tm", "pages", "use_qsbr")

    def __init__(self, tag: int, tm: "ThreadMimalloc") -> None:
        self.tag = tag
        self.tm = tm
        self.pages: dict[int, list[Page]] = {}  # bin -> page queue
        self.use_qsbr = tag != _Py_MIMALLOC_HEAP_MEM


class ThreadMimalloc:
    """tstate->mimalloc: the heaps, the segments this thread owns (tld) and page_list."""

    __slots__ = ("tstate", "heaps", "segments", "page_list")

    def __init__(self, tstate) -> None:
        self.tstate = tstate
        self.heaps = [Heap(tag, self) for tag in range(_Py_MIMALLOC_HEAP_COUNT)]
        self.segments: list[Segment] = []
        self.page_list: list[Page] = []  # pages waiting for a QSBR goal, oldest first


class DelayedQueue:
    """A thread's mem_free_queue or the interpreter's queue: items [block, goal, size] in
    FIFO order; ``tail_count`` counts the items written into the last 254-item chunk."""

    __slots__ = ("items", "tail_count", "owner")

    def __init__(self, owner: int) -> None:
        self.items: list[list] = []
        self.tail_count = 0
        self.owner = owner


class Obmalloc:
    """The allocator state of one execution (segments are process-wide; pools per interpreter)."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.segments: dict[int, Segment] = {}
        self.free_segment_addrs: list[int] = []
        self.next_segment = SEGMENT_BASE
        self.blocks: dict[int, Block] = {}
        self.next_alloc_id = 0
        self.debug_fill_header = rt.bugs_on(BUG_DEBUG_FILL)
        self.page_immediate = rt.bugs_on(BUG_PAGE_REUSE)
        self.free_immediate = rt.bugs_on(BUG_FREE_DELAYED)

    # -- lookups ---------------------------------------------------------------------------
    def page_of(self, addr: int) -> Optional[Page]:
        seg = self.segments.get(addr & ~MI_SEGMENT_MASK)
        if seg is None:
            return None
        return seg.slice_page[(addr - seg.addr) >> MI_SEGMENT_SLICE_SHIFT]

    def thread_mimalloc(self, ts) -> ThreadMimalloc:
        tm = ts.mimalloc
        if tm is None:
            tm = ts.mimalloc = ThreadMimalloc(ts)  # tstate_mimalloc_bind (no shared state)
        return tm

    # -- malloc --------------------------------------------------------------------------------
    def malloc(self, tag: int, size: int) -> Block:
        """mi_heap_malloc on the current thread's heap ``tag``."""
        rt = self.rt
        eng = rt.engine
        ts = eng.cur.tstate
        if ts is None:
            raise FatalError("PyMem/PyObject allocation without an attached thread state")
        if size > MI_MEDIUM_OBJ_SIZE_MAX:
            raise FatalError(f"model: allocation of {size} bytes (above 128 KiB) is not modelled")
        heap = self.thread_mimalloc(ts).heaps[tag]
        b = mi_bin(max(size, 1))
        eng.point(GUEST_OP_NS)
        page = self._find_page(heap, b, size)
        if page.qsbr_goal:
            # _PyMem_mi_page_clear_qsbr: allocating from a page cancels its pending free.
            self._clear_qsbr(page, cancel=True)
        if page.free:
            addr = page.free.pop()
        else:
            addr = page.addr + page.next_fresh * page.block_size
            page.next_fresh += 1
        page.used += 1
        self.next_alloc_id += 1
        blk = Block(addr, self.next_alloc_id, size, page, eng.tid)
        self.blocks[addr] = blk
        rt.emit(OBMALLOC_ALLOC, addr, size, HEAP_NAMES[tag], page.addr, b, page.block_size)
        return blk

    def _find_page(self, heap: Heap, b: int, size: int) -> Page:
        pq = heap.pages.get(b)
        if pq:
            for page in pq:
                self._free_collect(page)
                if page.free or page.next_fresh < page.capacity:
                    return page
        return self._fresh_page(heap, b, size)

    def _free_collect(self, page: Page) -> None:
        """_mi_page_free_collect: local_free joins free; xthread frees are taken (used - n)."""
        if page.local_free:
            page.free.extend(page.local_free)
            page.local_free.clear()
        xs = page.xthread_free
        if xs:
            rt = self.rt
            rt.engine.point(ATOMIC_RMW_NS)  # atomic exchange of the xthread_free list
            n = len(xs)
            page.free.extend(xs)
            xs.clear()
            page.used -= n
            rt.emit(OBMALLOC_COLLECT, page.addr, n)

    def _fresh_page(self, heap: Heap, b: int, size: int) -> Page:
        """mi_page_fresh_alloc: QSBR-held pages first get their chance to be freed, then a
        free span in one of our segments, then an abandoned segment, then a new segment."""
        if heap.use_qsbr:
            self.heap_collect_qsbr(heap)
        slices = 1 if MI_BIN_SIZE[b] <= MI_SMALL_OBJ_SIZE_MAX else MI_MEDIUM_PAGE_SIZE // MI_SEGMENT_SLICE_SIZE
        tm = heap.tm
        while True:
            for seg in tm.segments:
                i = seg.find_span(slices)
                if i > 0:
                    return self._page_alloc(heap, seg, i, slices, b)
            page = self._try_reclaim(heap, slices, MI_BIN_SIZE[b])
            if page is not None:
                return page
            if not any(seg.find_span(slices) > 0 for seg in tm.segments):
                self._segment_alloc(tm)

    def _page_alloc(self, heap: Heap, seg: Segment, i: int, slices: int, b: int) -> Page:
        rt = self.rt
        page = Page(seg, i, slices, heap.tag, b)
        for j in range(i, i + slices):
            seg.slices[j] = 1
            seg.slice_page[j] = page
        seg.pages.append(page)
        seg.pages.sort(key=_page_addr)
        page.heap = heap
        page.new_seq = rt.seq_next()
        heap.pages.setdefault(b, []).insert(0, page)  # mi_page_queue_push: the new page first
        rt.emit(OBMALLOC_PAGE_NEW, page.addr, HEAP_NAMES[heap.tag], b, page.block_size, page.capacity, seg.addr)
        return page

    def _segment_alloc(self, tm: ThreadMimalloc) -> Segment:
        rt = self.rt
        rt.engine.point(GUEST_OP_NS)
        if self.free_segment_addrs:
            addr = self.free_segment_addrs.pop()
        else:
            addr = self.next_segment
            self.next_segment += MI_SEGMENT_SIZE
        seg = Segment(addr, tm.tstate.id, tm.tstate.interp)
        self.segments[addr] = seg
        tm.segments.append(seg)
        rt.emit(OBMALLOC_SEGMENT_NEW, addr, seg.thread_id)
        return seg

    # -- free ----------------------------------------------------------------------------------
    def free(self, addr: int, obj=None) -> None:
        """mi_free from any thread: local (used - 1; an empty page is retired) or onto the
        page's xthread_free list."""
        rt = self.rt
        eng = rt.engine
        blk = self.blocks.get(addr)
        if blk is None or not blk.live:
            raise GuestFailure("use_after_free", f"T{eng.tid} freed block 0x{addr:x} twice"
                               + (f" (first freed at seq {blk.freed_seq} by T{blk.freed_tid})" if blk else ""))
        page = blk.page
        seg = page.segment
        ts = eng.cur.tstate
        if ts is not None and seg.interp is not ts.interp:
            from .interpreters import free_in_other_interp  # (interpreters -> pystate -> obmalloc)

            free_in_other_interp(rt, blk, seg, ts)  # PEP 684: only the owning allocator state may free it
        local = seg.thread_id == eng.tid
        eng.point(GUEST_OP_NS if local else ATOMIC_RMW_NS)
        blk.live = False
        blk.freed_seq = rt.seq_next()
        blk.freed_tid = eng.tid
        fill = page.tag != _Py_MIMALLOC_HEAP_MEM and self.debug_fill_header
        if fill and blk.obj is not None:
            _debug_fill_header(blk.obj)
            blk.filled = True
        if local:
            page.local_free.append(addr)
            page.used -= 1
            rt.emit(OBMALLOC_FREE, addr, blk.size, HEAP_NAMES[page.tag], page.addr, "local", fill)
            if page.used == 0:
                self._page_retire(page)
        else:
            page.xthread_free.append(addr)
            rt.emit(OBMALLOC_FREE, addr, blk.size, HEAP_NAMES[page.tag], page.addr, "xthread", fill)

    def _page_retire(self, page: Page) -> None:
        """_mi_page_retire -> _PyMem_mi_page_maybe_free (the retire grace period is not modelled)."""
        self._free_collect(page)
        self.page_maybe_free(page)

    def page_maybe_free(self, page: Page) -> bool:
        """_PyMem_mi_page_maybe_free: an empty QSBR page is kept until its goal is reached."""
        if page.use_qsbr and not self.page_immediate:
            rt = self.rt
            tstate = rt.engine.cur.tstate
            shared = tstate.interp.qsbr
            if page.qsbr_goal and qsbr.goal_reached(tstate.qsbr, shared, page.qsbr_goal):
                goal = page.qsbr_goal
                self._clear_qsbr(page, cancel=False)
                self._page_free(page, goal)
                return True
            goal = self._page_goal(tstate, page)
            old = page.qsbr_goal
            tm = page.heap.tm
            if old and page in tm.page_list:
                tm.page_list.remove(page)  # re-deferred with the new goal, at the list's end
            page.qsbr_goal = goal
            tm.page_list.append(page)
            rt.emit(OBMALLOC_PAGE_QSBR_DEFER, page.addr, goal, old)
            return False
        self._page_free(page, 0)
        return True

    def _page_goal(self, tstate, page: Page) -> int:
        """The newest policy: advance when this page, or the pages deferred since the last
        advance, hold more than QSBR_PAGE_MEM_LIMIT bytes; else the next goal (shared_next)."""
        rt = self.rt
        q = tstate.qsbr
        shared = tstate.interp.qsbr
        page_bytes = page.capacity * page.block_size
        if page_bytes > QSBR_PAGE_MEM_LIMIT:
            return qsbr.advance(rt, shared, "page")
        q.deferred_page_memory += page_bytes
        if q.deferred_page_memory > QSBR_PAGE_MEM_LIMIT:
            q.deferred_page_memory = 0
            return qsbr.advance(rt, shared, "page")
        return qsbr.shared_next(rt, shared)

    def _clear_qsbr(self, page: Page, cancel: bool) -> None:
        """_PyMem_mi_page_clear_qsbr: goal = 0, off the page_list."""
        old = page.qsbr_goal
        page.qsbr_goal = 0
        heap = page.heap
        if heap is not None and page in heap.tm.page_list:
            heap.tm.page_list.remove(page)
        if cancel:
            self.rt.emit(OBMALLOC_PAGE_QSBR_CANCEL, page.addr, old)

    def heap_collect_qsbr(self, heap: Heap) -> None:
        """_PyMem_mi_heap_collect_qsbr: walk the thread's page_list oldest first; pages used
        again lose their goal, pages whose goal polls true are freed; stop at the first that
        does not."""
        rt = self.rt
        tstate = rt.engine.cur.tstate
        tm = heap.tm
        for page in list(tm.page_list):
            if page.used != 0 or page.xthread_free:
                self._clear_qsbr(page, cancel=True)
                continue
            goal = page.qsbr_goal
            if not qsbr.poll(rt, tstate.qsbr, tstate.interp.qsbr, goal):
                return
            self._clear_qsbr(page, cancel=False)
            self._page_free(page, goal)

    def _page_free(self, page: Page, goal: int) -> None:
        """_mi_page_free: out of its queue; its slices go back to the segment (an empty
        segment is freed)."""
        rt = self.rt
        seg = page.segment
        _page_queue_remove(page)
        shared = seg.interp.qsbr
        for j in range(page.slice_index, page.slice_index + page.slice_count):
            seg.slices[j] = 0
            seg.slice_page[j] = None
        seg.pages.remove(page)
        page.alive = False
        page.freed_seq = rt.seq_next()
        rt.emit(OBMALLOC_PAGE_FREE, page.addr, HEAP_NAMES[page.tag], page.bin, page.block_size, page.capacity,
                seg.addr, goal, shared.rd_seq)
        if not seg.pages and seg.thread_id:
            self._segment_free(seg)

    def _segment_free(self, seg: Segment) -> None:
        rt = self.rt
        owner = seg.thread_id
        if owner:
            ts = _tstate_of(rt, owner)
            if ts is not None and ts.mimalloc is not None and seg in ts.mimalloc.segments:
                ts.mimalloc.segments.remove(seg)
        del self.segments[seg.addr]
        self.free_segment_addrs.append(seg.addr)
        rt.emit(OBMALLOC_SEGMENT_FREE, seg.addr, owner)

    # -- thread exit and reclaim ------------------------------------------------------------------
    def abandon(self, tstate) -> None:
        """_PyThreadState_ClearMimallocHeaps: _mi_heap_collect_abandon on the 4 heaps."""
        tm = tstate.mimalloc
        if tm is None:
            return
        rt = self.rt
        for heap in tm.heaps:
            for b in list(heap.pages):
                for page in list(heap.pages.get(b, ())):
                    self._free_collect(page)
                    if page.used == 0:
                        self.page_maybe_free(page)
        pool = tstate.interp.abandoned_pool
        for seg in list(tm.segments):
            if not seg.pages:
                self._segment_free(seg)
                continue
            rt.engine.point(ATOMIC_RMW_NS)  # push onto the pool
            for page in seg.pages:
                _page_queue_remove(page)
                page.heap = None
            old = seg.thread_id
            seg.thread_id = 0
            seg.abandoned_visits = 0
            pool.append(seg)
            rt.emit(OBMALLOC_SEGMENT_ABANDON, seg.addr, old)
        tm.segments.clear()
        tm.page_list.clear()  # the goals stay on the pages (kept with the segment)

    def _try_reclaim(self, heap: Heap, slices: int, block_size: int) -> Optional[Page]:
        """mi_segment_try_reclaim: visit the interpreter's abandoned pool (oldest first)."""
        rt = self.rt
        tstate = rt.engine.cur.tstate
        pool = tstate.interp.abandoned_pool
        if not pool:
            return None
        for seg in list(pool):
            rt.engine.point(ATOMIC_RMW_NS)  # pop from the pool
            if seg not in pool:
                continue  # another thread popped it first
            pool.remove(seg)  # ours alone while we look at it
            seg.abandoned_visits += 1
            has_page = self._check_free(seg, heap, slices, block_size)
            if not seg.pages:
                self._segment_free(seg)
                continue
            if not (has_page or seg.abandoned_visits > 3):
                rt.engine.point(ATOMIC_RMW_NS)
                pool.append(seg)  # back on the (visited) pool
                continue
            self._reclaim(seg, heap.tm)
            if has_page:
                pq = heap.pages.get(mi_bin(block_size))
                for page in pq or ():
                    if page.has_available():
                        return page
                return None  # a free span: the caller finds it in its segments
        return None

    def _check_free(self, seg: Segment, heap: Heap, slices: int, block_size: int) -> bool:
        """mi_segment_check_free: collect other threads' frees; free pages that became empty
        (if _PyMem_mi_page_is_safe_to_free); is there a span or a page for this request?"""
        rt = self.rt
        tstate = rt.engine.cur.tstate
        has_page = False
        for page in list(seg.pages):
            self._free_collect(page)
            if page.used == 0:
                goal = page.qsbr_goal
                if goal == 0 or qsbr.goal_reached(tstate.qsbr, tstate.interp.qsbr, goal):
                    page.qsbr_goal = 0
                    self._page_free(page, goal)
                    continue
            if page.block_size == block_size and page.tag == heap.tag and page.has_available():
                has_page = True
        if seg.find_span(slices) > 0:
            has_page = True
        return has_page

    def _reclaim(self, seg: Segment, tm: ThreadMimalloc) -> None:
        """mi_segment_reclaim: the segment is ours; each page joins our heap of its tag
        (_PyMem_mi_page_reclaimed: an all-free page keeps its goal on our page_list)."""
        rt = self.rt
        seg.thread_id = tm.tstate.id
        tm.segments.append(seg)
        rt.emit(OBMALLOC_SEGMENT_RECLAIM, seg.addr, seg.thread_id)
        for page in seg.pages:
            heap = tm.heaps[page.tag]
            page.heap = heap
            heap.pages.setdefault(page.bin, []).append(page)
            if page.qsbr_goal:
                if page.used == 0:
                    tm.page_list.append(page)
                else:
                    self._clear_qsbr(page, cancel=True)

    # -- delayed free (obmalloc.c) ----------------------------------------------------------------
    def free_delayed(self, addr: int, size: int) -> None:
        """_PyMem_FreeDelayed: free once every thread online now has passed a quiescent state."""
        rt = self.rt
        if self.free_immediate:
            self.free(addr)  # the seed's bug: PyMem_Free at once
            return
        tstate = rt.engine.cur.tstate
        q = tstate.qsbr
        shared = tstate.interp.qsbr
        if size > QSBR_FREE_MEM_LIMIT:
            advance = True
        else:
            q.deferred_count += 1
            q.deferred_memory += size
            advance = q.deferred_count > QSBR_DEFERRED_LIMIT or q.deferred_memory > QSBR_FREE_MEM_LIMIT
        if advance:
            q.deferred_count = 0
            q.deferred_memory = 0
            q.should_process = True
            goal = qsbr.advance(rt, shared, "free")
            # Signal the eval breaker that there is work to do.
            from . import ceval_gil  # (ceval_gil -> brc -> object -> obmalloc)

            ceval_gil.set_eval_breaker_bit(rt, tstate, ceval_gil._PY_EVAL_EXPLICIT_MERGE_BIT)
        else:
            goal = qsbr.shared_next(rt, shared)
        queue = tstate.mem_free_queue
        if queue.tail_count == WORK_ITEMS_PER_CHUNK:
            queue.tail_count = 0  # a new chunk
        queue.items.append([addr, goal, size])
        queue.tail_count += 1
        rt.emit(OBMALLOC_FREE_DELAYED, addr, size, goal, tstate.id)
        if queue.tail_count == WORK_ITEMS_PER_CHUNK:
            self.process_delayed(tstate)  # the chunk is full: a safety net

    def _process_queue(self, tstate, queue: DelayedQueue) -> None:
        """process_queue: FIFO; stop at the first item whose goal does not poll true."""
        rt = self.rt
        items = queue.items
        shared = tstate.interp.qsbr
        while items:
            addr, goal, _size = items[0]
            if not qsbr.poll(rt, tstate.qsbr, shared, goal):
                return
            items.pop(0)
            rt.emit(OBMALLOC_PROCESS_DELAYED, addr, goal, queue.owner, shared.rd_seq)
            self.free(addr)
        queue.tail_count = 0  # keep_empty: the drained last chunk is reset

    def process_delayed(self, tstate) -> None:
        """_PyMem_ProcessDelayed: the thread's queue, then the interpreter's if it has work
        and its mutex is free (a zero-timeout try-lock)."""
        tstate.qsbr.should_process = False
        self._process_queue(tstate, tstate.mem_free_queue)
        interp = tstate.interp
        iq = interp.mem_free_queue
        rt = self.rt
        rt.engine.point(ATOMIC_LOAD_NS)
        if interp.mem_free_queue_has_work and interp.mem_free_queue_mutex.trylock():
            self._process_queue(tstate, iq)
            interp.mem_free_queue_has_work = bool(iq.items)
            interp.mem_free_queue_mutex.unlock()

    def abandon_delayed(self, tstate) -> None:
        """_PyMem_AbandonDelayed (gh-130794): splice the thread's queue onto the
        interpreter's and process that at once with this thread's QSBR state."""
        rt = self.rt
        queue = tstate.mem_free_queue
        if not queue.items:
            return
        interp = tstate.interp
        iq = interp.mem_free_queue
        interp.mem_free_queue_mutex.lock()
        n = len(queue.items)
        iq.items.extend(queue.items)
        queue.items.clear()
        queue.tail_count = 0
        rt.emit(OBMALLOC_ABANDON_DELAYED, tstate.id, n)
        self._process_queue(tstate, iq)
        interp.mem_free_queue_has_work = bool(iq.items)
        interp.mem_free_queue_mutex.unlock()

    # -- consistency ---------------------------------------------------------------------------
    def check_invariants(self) -> None:
        """The allocator's own invariants (spec memory.md section 4); ``invariant`` failure
        on the first that does not hold."""
        live_by_page: dict[int, int] = {}
        for blk in self.blocks.values():
            if blk.live:
                if not blk.page.alive:
                    self._invariant(f"live block 0x{blk.addr:x} on freed {blk.page!r}")
                live_by_page[id(blk.page)] = live_by_page.get(id(blk.page), 0) + 1
        for seg in self.segments.values():
            for page in seg.pages:
                if page.next_fresh != page.used + len(page.free) + len(page.local_free):
                    self._invariant(f"{page!r}: {page.next_fresh} carved != used {page.used} + free lists")
                if live_by_page.get(id(page), 0) != page.used - len(page.xthread_free):
                    self._invariant(f"{page!r}: used {page.used} - xthread {len(page.xthread_free)} != live "
                                    f"{live_by_page.get(id(page), 0)}")
                if page.qsbr_goal and page.used:
                    self._invariant(f"{page!r} holds a QSBR goal but has {page.used} blocks in use")
                if page.heap is not None and page.heap.tag != page.tag:
                    self._invariant(f"{page!r} sits in a heap of tag {page.heap.tag}")
                if page.heap is not None and seg.thread_id != page.heap.tm.tstate.id:
                    self._invariant(f"{page!r} is in T{page.heap.tm.tstate.id}'s heap, its segment is T{seg.thread_id}'s")

    def _invariant(self, msg: str) -> None:
        raise GuestFailure("invariant", f"allocator: {msg}")

    # -- guest reads: the use-after-free checker ----------------------------------------------------
    def check_read(self, addr: int, alloc_id: int, what: str) -> None:
        """A guest read of a block it holds a pointer to: fails the run unless the block is
        still the allocation the reader expects."""
        blk = self.blocks.get(addr)
        if blk is not None and blk.live and blk.alloc_id == alloc_id and blk.page.alive:
            return
        raise GuestFailure("use_after_free", self.describe_stale(addr, alloc_id, what))

    def header_at(self, op, what: str):
        """The object whose header now lives at ``op``'s address, for a reader that holds a
        pointer to ``op`` but no reference (_Py_TryIncref).  Allowed while ``op``'s page still
        serves the same size class and heap (the header stays refcount-shaped: the dead
        object's, or a new object's of the same size class); otherwise use_after_free."""
        page = op.page
        if page is None:
            return op
        if not page.alive:
            cur = self.page_of(op.addr)
            if cur is None or cur.bin != page.bin or cur.tag != page.tag or cur.addr != page.addr:
                rt = self.rt
                if cur is None:
                    now = "its slices are free (returned to the segment)"
                else:
                    now = (f"re-carved at seq {cur.new_seq} as {cur!r} for size class {cur.block_size} B / heap "
                           f"{HEAP_NAMES[cur.tag]}")
                raise GuestFailure("use_after_free", (
                    f"T{rt.engine.tid} {what} at the address of {op!r}: {page!r} was freed at seq "
                    f"{page.freed_seq}; {now}{self._bug_tail()}"))
        blk = self.blocks.get(op.addr)
        if blk is None or blk.obj is None:
            raise GuestFailure("use_after_free", self.describe_stale(op.addr, op.alloc_id, what))
        return blk.obj

    def describe_dead_header(self, op, what: str) -> str:
        """A refcount write that succeeded on a freed object's header."""
        rt = self.rt
        blk = self.blocks.get(op.addr)
        when = ""
        if blk is not None and blk.alloc_id == op.alloc_id:
            when = f", freed at seq {blk.freed_seq} by T{blk.freed_tid}"
            if blk.filled:
                when += " and debug-filled"
        return (f"T{rt.engine.tid} {what} succeeded on freed {op!r} (ob_ref_shared=0x"
                f"{op.ob_ref_shared & 0xFFFFFFFFFFFFFFFF:x}{when}){self._bug_tail()}")

    def _bug_tail(self) -> str:
        bugs = sorted(self.rt.bugs)
        return " [" + ", ".join(bugs) + "]" if bugs else ""

    def describe_stale(self, addr: int, alloc_id: int, what: str) -> str:
        me = self.rt.engine.tid
        blk = self.blocks.get(addr)
        tail = self._bug_tail()
        if blk is None:
            return f"T{me} {what} block 0x{addr:x}, which the allocator never handed out{tail}"
        if blk.alloc_id != alloc_id:
            return (f"T{me} {what} block 0x{addr:x} (allocation #{alloc_id}), reused as allocation "
                    f"#{blk.alloc_id} by T{blk.alloc_tid}{tail}")
        if not blk.page.alive:
            return (f"T{me} {what} block 0x{addr:x}: its {blk.page!r} went back to the segment at seq "
                    f"{blk.page.freed_seq}{tail}")
        return f"T{me} {what} block 0x{addr:x}, freed at seq {blk.freed_seq} by T{blk.freed_tid}{tail}"


def _page_queue_remove(page: Page) -> None:
    """mi_page_queue_remove: the page leaves its heap's queue for its size class."""
    heap = page.heap
    if heap is not None:
        pq = heap.pages.get(page.bin)
        if pq and page in pq:
            pq.remove(page)
            if not pq:
                del heap.pages[page.bin]


def _page_addr(p: Page) -> int:
    return p.addr


def _tstate_of(rt, tid: int):
    for ts in rt.pystate.all_tstates:
        if ts.id == tid:
            return ts
    return None


def _debug_fill_header(op) -> None:
    """The seed's bug: the debug allocator fills the whole freed block with 0xDD, the
    refcount header included (the fix skips page->debug_offset bytes)."""
    op.ob_tid = _DD64 & 0xFFFFFFFFFFFFFFFF
    op.ob_ref_local = _DD32
    op.ob_ref_shared = _DD64
