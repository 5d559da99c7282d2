"""Objects/obmalloc.c + mimalloc model: heaps by tag, pages, QSBR-held empty pages, cross-thread
frees, abandoned and reclaimed segments, delayed free, debug fill."""

from __future__ import annotations

from ftreplay.runtime import obmalloc
from ftreplay.runtime.obmalloc import MI_BIN_SIZE, mi_bin


def test_bins_follow_mimalloc():
    assert [mi_bin(s) for s in (1, 8, 9, 16, 64, 72, 80)] == [1, 1, 2, 2, 8, 9, 9]
    assert MI_BIN_SIZE[mi_bin(1024)] == 1024 and MI_BIN_SIZE[mi_bin(1025)] == 1280
    assert mi_bin(obmalloc.MI_MEDIUM_OBJ_SIZE_MAX + 1) == obmalloc.MI_BIN_HUGE
    for s in range(1, 20000, 37):
        assert MI_BIN_SIZE[mi_bin(s)] >= s


def test_objects_go_to_heaps_by_type_and_memory_to_the_mem_heap(run_guest):
    def guest(rt):
        rt.new_object("int")
        rt.new_object("list", size=56, gc=True)
        rt.new_object("Klass", size=64, gc=True, preheader=True)
        rt.malloc(100)

    r = run_guest(guest).ok()
    assert [e.heap for e in r.of("obmalloc.alloc")] == ["object", "gc", "gc_pre", "mem"]
    for a in r.of("obmalloc.alloc"):
        [page] = [p for p in r.of("obmalloc.page_new") if p.page == a.page]
        assert page.heap == a.heap and page.block_size >= a.size and a.page <= a.block < a.page + 65536


def _lonely_object_page(rt, box, size=2048):
    """An object of a size class nothing else uses: freeing it empties its page."""
    o = rt.new_object("Rare", size=size)
    box["page"] = o.page
    return o


def test_an_empty_object_page_waits_for_a_qsbr_goal_and_reuse_cancels_it(run_guest):
    box = {}

    def guest(rt):
        go, started = rt.event("go"), rt.event("started")

        def online():
            started.notify()
            while not go.is_set():
                pass  # attached, no quiescent state

        t = rt.start_thread(online, name="online")
        started.wait()
        o = _lonely_object_page(rt, box)
        o.decref()  # the page is empty now
        page = box["page"]
        box["goal_after_free"] = page.qsbr_goal
        box["alive_after_free"] = page.alive
        rt.malloc(3000).free()  # needs a fresh mem page: the held page must not be used
        box["alive_after_other_class"] = page.alive
        o2 = rt.new_object("Rare", size=2048)  # the same size class: reuse cancels the goal
        box["same_page"] = o2.page is page
        box["goal_after_reuse"] = page.qsbr_goal
        go.notify()
        t.join()
        o2.decref()

    r = run_guest(guest).ok()
    assert box["goal_after_free"] > 0 and box["alive_after_free"] and box["alive_after_other_class"]
    assert box["same_page"] and box["goal_after_reuse"] == 0
    page = box["page"].addr
    [defer] = r.of("obmalloc.page_qsbr_defer", page=page)[:1]
    [cancel] = r.of("obmalloc.page_qsbr_cancel", page=page)[:1]
    assert cancel.goal_old == defer.goal and cancel.seq > defer.seq
    frees = [e for e in r.of("obmalloc.page_free", page=page) if e.seq < cancel.seq]
    assert frees == []


def test_a_held_page_is_freed_once_its_goal_is_reached(run_guest):
    box = {}

    def guest(rt):
        o = _lonely_object_page(rt, box)
        o.decref()
        page = box["page"]
        goal = page.qsbr_goal
        shared = rt.pystate.main_interp.qsbr
        while shared.wr_seq < goal:
            obmalloc.qsbr.advance(rt, shared, "free")
        rt.work(0)  # our quiescent state; nobody else is online
        rt.new_object("Other", size=4096)  # a fresh page: collect_qsbr frees the held one first
        box["alive"] = page.alive

    r = run_guest(guest).ok()
    assert box["alive"] is False
    [pf] = r.of("obmalloc.page_free", page=box["page"].addr)
    assert pf.goal > 0 and pf.rd_seq >= pf.goal


def test_bug_flag_frees_an_empty_object_page_at_once(run_guest):
    box = {}

    def guest(rt):
        o = _lonely_object_page(rt, box)
        o.decref()
        box["alive"] = box["page"].alive

    r = run_guest(guest, bugs=["mimalloc_page_immediate_reuse"]).ok()
    assert box["alive"] is False
    assert r.of("obmalloc.page_qsbr_defer") == []
    assert r.of("obmalloc.page_free", page=box["page"].addr)[0].goal == 0


def test_objects_dropped_by_non_owners_are_freed_by_the_owner_after_its_merge(run_guest):
    box = {}

    def guest(rt):
        objs = [rt.new_object("int") for _ in range(3)]
        box["page"] = objs[0].page

        def dropper():
            for o in objs:
                o.decref()  # non-owner decrefs queue them to us; we free them at our merge

        t = rt.start_thread(dropper, name="dropper")
        t.join()
        rt.work(0)  # merge: deallocs, local frees

    r = run_guest(guest).ok()
    frees = r.of("obmalloc.free")
    assert len(frees) == 3 and {(e.tid, e.path) for e in frees} == {(1, "local")}
    assert all(e.seq > r.of("brc.merge_batch")[0].seq for e in frees)


def test_xthread_free_then_collect(run_guest):
    box = {}

    def guest(rt):
        bufs = [rt.malloc(48) for _ in range(3)]
        page = rt.obmalloc.blocks[bufs[0].addr].page
        box["page"] = page

        def freer():
            for b in bufs:
                b.free()

        rt.start_thread(freer, name="freer").join()
        box["pending"] = (page.used, len(page.xthread_free))
        rt.malloc(48)  # the owner collects the xthread frees while looking for a block
        box["after"] = (page.used, len(page.xthread_free))

    r = run_guest(guest).ok()
    assert box["pending"] == (3, 3) and box["after"] == (1, 0)
    assert [e.path for e in r.of("obmalloc.free")] == ["xthread"] * 3
    [c] = r.of("obmalloc.collect")
    assert c.count == 3


def test_an_exiting_thread_abandons_its_segment_and_a_new_thread_reclaims_it(run_guest):
    box = {}

    def guest(rt):
        keep = []

        def maker():
            keep.append(rt.new_object("int"))
            keep.append(rt.new_object("list", size=56, gc=True))

        rt.start_thread(maker, name="maker").join()
        seg = keep[0].page.segment
        box["abandoned"] = seg.thread_id
        box["pool"] = seg in rt.pystate.main_interp.abandoned_pool

        def taker():
            rt.new_object("int")
            box["reclaimed_by"] = seg.thread_id
            box["me"] = rt.tid
            box["heap_tags"] = sorted(p.heap.tag for p in seg.pages)

        rt.start_thread(taker, name="taker").join()
        for o in keep:
            o.decref()
        rt.obmalloc.check_invariants()

    r = run_guest(guest).ok()
    assert box["abandoned"] == 0 and box["pool"]
    assert box["reclaimed_by"] == box["me"] == 3
    assert [(e.thread) for e in r.of("obmalloc.segment_abandon")][:1] == [2]
    assert r.of("obmalloc.segment_reclaim")[0].thread == 3


def test_delayed_free_waits_for_the_goal(run_guest):
    box = {}

    def guest(rt):
        buf = rt.malloc(100)
        blk = rt.obmalloc.blocks[buf.addr]
        buf.free_delayed()
        box["live_after_enqueue"] = blk.live
        me = rt.engine.cur.tstate
        goal = me.mem_free_queue.items[0][1]
        shared = rt.pystate.main_interp.qsbr
        while shared.wr_seq < goal:
            obmalloc.qsbr.advance(rt, shared, "free")
        rt.work(0)
        rt.obmalloc.process_delayed(me)
        box["live_after_process"] = blk.live

    r = run_guest(guest).ok()
    assert box["live_after_enqueue"] is True and box["live_after_process"] is False
    [fd] = r.of("obmalloc.free_delayed")
    [pd] = r.of("obmalloc.process_delayed")
    assert pd.block == fd.block and pd.rd_seq >= pd.goal == fd.goal


def test_bug_flag_frees_delayed_memory_at_once(run_guest):
    box = {}

    def guest(rt):
        buf = rt.malloc(100)
        buf.free_delayed()
        box["live"] = rt.obmalloc.blocks[buf.addr].live

    r = run_guest(guest, bugs=["free_delayed_without_qsbr"]).ok()
    assert box["live"] is False and r.of("obmalloc.free_delayed") == []


def test_freed_object_headers_stay_refcount_shaped_unless_the_debug_fill_bug(run_guest):
    for bugs, filled in (((), False), (("debug_fill_refcount_fields",), True)):
        box = {}

        def guest(rt):
            o = rt.new_object("int")
            o.decref()
            box["shared"] = o.ob_ref_shared

        r = run_guest(guest, bugs=bugs).ok()
        [f] = r.of("obmalloc.free")
        assert f.debug_fill is filled
        assert (box["shared"] in (0, 3)) is not filled
