"""Python/gc_free_threading.c model: scheduling by allocation counts, collection under
stop-the-world, gc_refs in ob_tid, ownership restored from the segment, finalizers once,
resurrection."""

from __future__ import annotations

from ftreplay.runtime.gc_free_threading import _PyGC_BITS_FINALIZED, _PyGC_BITS_UNREACHABLE, collect
from ftreplay.runtime.object import _Py_REF_MERGED


def _cycle(rt, n=2, **kw):
    nodes = [rt.new_object("Node", size=48, gc=True, **kw) for _ in range(n)]
    for a, b in zip(nodes, nodes[1:] + nodes[:1]):
        a.add_ref(b)
    return nodes


def test_a_dropped_cycle_is_collected_and_a_referenced_one_survives(run_guest):
    box = {}

    def guest(rt):
        dead = _cycle(rt, 3)
        kept = _cycle(rt, 2)
        for o in dead:
            o.decref()
        kept[1].decref()  # kept[0] is still referenced by us
        box["collected"] = rt.gc_collect()
        box["dead_alive"] = [o.alive for o in dead]
        box["kept"] = [(o.alive, o.ob_tid, o.ob_gc_bits & _PyGC_BITS_UNREACHABLE) for o in kept]

    r = run_guest(guest).ok()
    assert box["collected"] == 3 and box["dead_alive"] == [False] * 3
    assert box["kept"] == [(True, 1, 0), (True, 1, 0)]  # reachable: ob_tid restored to the owner
    [start] = r.of("gc.start")
    [end] = r.of("gc.end")
    assert start.reason == "manual" and end.collected == 3
    stops = r.of("pystate.stop_the_world")
    assert len(stops) == 2 and all(start.seq < s.seq < end.seq for s in stops)
    phases = [e.phase for e in r.of("gc.phase")]
    assert phases == ["merge_queued", "delayed_frees", "update_refs", "mark", "scan", "finalize",
                      "resurrection", "delete", ""]
    # gc_refs live in ob_tid during the first pause: the kept head has 1 outside reference.
    upd = [e for e in r.of("gc.header") if e.ob_gc_bits & _PyGC_BITS_UNREACHABLE and e.ob_tid_old == 1]
    assert sorted(e.ob_tid for e in upd if e.obj in (4, 5)) == [0, 1]


def test_allocation_counts_schedule_a_collection_at_the_eval_breaker(run_guest):
    def guest(rt):
        for _ in range(1100):  # 2,200 GC allocations: 4 flushes of 512 pass 2,000
            a, b = _cycle(rt, 2)
            a.decref()
            b.decref()
            rt.work(0)

    r = run_guest(guest).ok()
    [sched] = r.of("gc.schedule")[:1]
    assert sched.count > sched.threshold == 2000
    bits = [e for e in r.of("ceval_gil.eval_breaker") if e.eval_bit == 0x10]
    assert [e.op for e in bits[:2]] == ["set", "unset"]
    [start] = r.of("gc.start")[:1]
    assert start.reason == "threshold" and start.seq > bits[1].seq
    assert r.of("gc.end")[0].collected > 0


def test_finalizers_run_once_and_a_resurrected_object_survives(run_guest):
    box = {"fin": []}

    def guest(rt):
        keeper = rt.new_object("Keeper", gc=True)
        a, b = _cycle(rt, 2)

        def fin(op):
            box["fin"].append(op.obj)
            keeper.add_ref(op)  # resurrect it

        a.tp_finalize = fin
        a.decref()
        b.decref()
        box["first"] = rt.gc_collect()
        box["alive"] = (a.alive, b.alive, bool(a.ob_gc_bits & _PyGC_BITS_FINALIZED))
        keeper.clear_refs()
        box["second"] = rt.gc_collect()
        box["after"] = (a.alive, b.alive)

    run_guest(guest).ok()
    assert box["first"] == 0 and box["alive"] == (True, True, True)
    assert box["second"] == 2 and box["after"] == (False, False)
    assert len(box["fin"]) == 1  # FINALIZED: not called again


def test_queued_refcounts_are_merged_in_the_pause(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object("Node", gc=True)
        o.incref()  # a reference for the other thread

        def drop():
            o.decref()  # non-owner: queued to us

        rt.start_thread(drop, name="dropper").join()
        box["queued"] = len(rt.engine.cur.tstate.brc.objects_to_merge)
        collect(rt, "manual")  # no eval-breaker check first: the collection drains the queue itself
        box["after"] = (o.ob_ref_shared & 3, o.alive)

    r = run_guest(guest).ok()
    assert box["queued"] == 1
    assert box["after"] == (_Py_REF_MERGED, True)
    [m] = r.of("brc.merge")
    assert m.seq > r.of("pystate.stop_the_world")[0].seq
