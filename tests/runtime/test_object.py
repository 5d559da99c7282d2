"""Objects/object.c, Include/refcount.h model: the biased reference count of one object."""

from __future__ import annotations

import pytest

from ftreplay.runtime import object as pyobject
from ftreplay.runtime.object import (
    _Py_IMMORTAL_INITIAL_REFCNT,
    _Py_IMMORTAL_REFCNT_LOCAL,
    _Py_REF_MAYBE_WEAKREF,
    _Py_REF_MERGED,
    _Py_REF_QUEUED,
    GCBits,
    Py_REFCNT,
)

REF_KINDS = ("object.incref", "object.decref", "object.disown", "object.merge", "object.dealloc",
             "object.try_incref", "brc.queue", "brc.merge")


def _trail(r, obj):
    """(kind, path) of every event about one object, in order."""
    return [(e.kind, getattr(e, "path", None)) for e in r.events if e.kind in REF_KINDS and e.obj == obj]


def test_new_object_header(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object("dict", size=48, gc=True, name="d")
        box["o"] = (o.obj, o.ob_tid, o.ob_ref_local, o.ob_ref_shared, o.ob_flags, o.ob_gc_bits, Py_REFCNT(o))
        box["mutex"] = o.ob_mutex.addr - o.addr

    r = run_guest(guest).ok()
    # new_reference zeroes ob_gc_bits; a GC type's constructor then tracks it (_PyObject_GC_TRACK),
    # which the model does as part of creation.
    assert box["o"] == (1, 1, 1, 0, 0, 1, 1)
    assert box["mutex"] == 10  # ob_mutex lives at offset 10 of the header
    [new] = r.of("object.new")
    assert (new.obj, new.type, new.size, new.gc, new.ob_tid, new.tid) == (1, "dict", 48, True, 1, 1)
    assert r.rt.labels[new.block] == "d"


def test_obj_ids_are_unique_and_never_reused(run_guest):
    def guest(rt):
        for _ in range(3):
            o = rt.new_object()
            o.decref()  # freed at once
        rt.new_object()

    r = run_guest(guest).ok()
    assert [e.obj for e in r.of("object.new")] == [1, 2, 3, 4]
    assert [e.obj for e in r.of("object.dealloc")] == [1, 2, 3]


def test_owner_decref_to_zero_with_shared_zero_deallocates_at_once(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object(dealloc=lambda op: box.setdefault("freed", []).append(op.obj))
        o.incref()
        o.decref()
        assert o.alive and o.ob_ref_local == 1
        o.decref()
        box["alive"] = o.alive

    r = run_guest(guest).ok()
    assert box == {"freed": [1], "alive": False}
    assert _trail(r, 1) == [("object.incref", "local"), ("object.decref", "local"), ("object.decref", "local"),
                            ("object.dealloc", None)]
    [dec] = [e for e in r.of("object.decref") if e.ob_ref_local == 0]
    assert (dec.ob_ref_shared, dec.refcnt, dec.ob_ref_local_old) == (0, 0, 1)
    [dealloc] = r.of("object.dealloc")
    assert dealloc.ob_tid == 1  # the fast path leaves ob_tid alone
    assert not r.rt.objects


def test_owner_zero_local_with_shared_refs_merges_then_the_last_non_owner_frees(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object()
        go = rt.event("go")

        def other():
            o.incref()  # counted in ob_ref_shared
            go.wait()
            o.decref()

        t = rt.start_thread(other)
        while o.ob_ref_shared == 0:
            rt.work(1000)
        o.decref()  # local 1 -> 0 with shared 4: merge, keep alive
        box["after"] = (o.alive, o.ob_tid, o.ob_ref_local, o.ob_ref_shared)
        go.notify()
        t.join()
        box["end"] = o.alive

    r = run_guest(guest).ok()
    assert box["after"] == (True, 0, 0, (1 << 2) | _Py_REF_MERGED)
    assert box["end"] is False
    assert _trail(r, 1) == [
        ("object.incref", "shared"), ("object.decref", "local"),
        ("object.disown", "zero_local"), ("object.merge", "zero_local"),  # gh-121794: ob_tid = 0 first
        ("object.decref", "shared"), ("object.dealloc", None),
    ]
    merge = r.of("object.merge")[0]
    assert (merge.ob_ref_shared_old, merge.ob_ref_shared, merge.refcnt) == (4, 7, 1)
    assert r.of("object.dealloc")[0].tid == 2  # the non-owner's decref landed on MERGED
    assert not r.of("brc.queue")


def test_non_owner_incref_is_an_atomic_add_on_shared(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object()

        def other():
            o.incref()
            o.incref()
            box["mid"] = (o.ob_ref_local, o.ob_ref_shared, Py_REFCNT(o))
            o.decref()
            o.decref()

        rt.start_thread(other).join()
        box["end"] = (o.ob_ref_local, o.ob_ref_shared, o.ob_tid)
        o.decref()

    r = run_guest(guest).ok()
    assert box["mid"] == (1, 8, 3)
    assert box["end"] == (1, 0, 1)  # back to zero without queueing
    incs = r.of("object.incref", tid=2)
    assert [(e.path, e.ob_ref_shared_old, e.ob_ref_shared, e.refcnt) for e in incs] == [
        ("shared", 0, 4, 2), ("shared", 4, 8, 3)]
    assert not r.of("brc.queue")


def test_immortal_objects_never_change(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object("str", immortal=True)
        header = (o.ob_tid, o.ob_ref_local, o.ob_ref_shared, o.ob_gc_bits)
        box["header"] = header

        def other():
            for _ in range(3):
                o.incref()
                assert o.try_incref()
            for _ in range(6):
                o.decref()

        t = rt.start_thread(other)
        for _ in range(3):
            o.incref()
            o.decref()
        o.decref()  # even an extra decref does nothing
        t.join()
        box["after"] = (o.ob_tid, o.ob_ref_local, o.ob_ref_shared, o.ob_gc_bits)
        box["refcnt"] = Py_REFCNT(o)
        box["alive"] = o.alive

    r = run_guest(guest).ok()
    assert box["header"] == (0, _Py_IMMORTAL_REFCNT_LOCAL, 0, int(GCBits._PyGC_BITS_DEFERRED))
    assert box["after"] == box["header"] and box["alive"]
    assert box["refcnt"] == _Py_IMMORTAL_INITIAL_REFCNT == 3 << 30
    [imm] = r.of("object.set_immortal")
    assert (imm.ob_tid_old, imm.ob_ref_local_old, imm.ob_ref_shared_old) == (1, 1, 0)
    for kind in ("object.incref", "object.decref", "object.try_incref"):
        evs = r.of(kind)
        assert evs and all(e.path == "immortal" for e in evs), kind
        assert all(e.ob_ref_local == e.ob_ref_local_old == _Py_IMMORTAL_REFCNT_LOCAL and e.ob_ref_shared == 0
                   for e in evs)
    assert not r.of("object.dealloc") and not r.of("brc.queue")


def test_try_incref_fails_on_a_zero_shared_count_unless_maybe_weakref(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object()

        def reader(key):
            box[key] = o.try_incref()
            if box[key]:
                box[key + "_shared"] = o.ob_ref_shared
                o.decref()

        rt.start_thread(reader, "plain").join()
        o.set_maybe_weakref()
        rt.start_thread(reader, "weak").join()
        box["owner"] = o.try_incref()  # _Py_TryIncrefFast: the owner always succeeds
        o.decref()
        o.decref()

    r = run_guest(guest).ok()
    assert box["plain"] is False
    assert box["weak"] is True and box["weak_shared"] == (1 << 2) | _Py_REF_MAYBE_WEAKREF
    assert box["owner"] is True
    tries = r.of("object.try_incref")
    assert [(e.tid, e.path, e.ok) for e in tries] == [(2, "shared", False), (3, "shared", True), (1, "local", True)]
    [weak] = r.of("object.set_maybe_weakref")
    assert (weak.ob_ref_shared_old, weak.ob_ref_shared) == (0, _Py_REF_MAYBE_WEAKREF)


def test_try_incref_fails_on_a_merged_zero_object_even_after_it_is_freed(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object()
        o.set_maybe_weakref()
        o.decref()  # local 0, shared MAYBE_WEAKREF: merged to MERGED (count 0) and freed
        box["freed"] = (o.alive, o.ob_ref_shared)

        def reader():
            box["try"] = o.try_incref()  # reads the freed, refcount-shaped header

        rt.start_thread(reader).join()

    r = run_guest(guest).ok()
    assert box["freed"] == (False, _Py_REF_MERGED)
    assert box["try"] is False
    assert [(e.kind, getattr(e, "path", None)) for e in r.events
            if e.kind.startswith("object.") and e.kind != "object.new"] == [
        ("object.set_maybe_weakref", None), ("object.decref", "local"), ("object.disown", "zero_local"),
        ("object.merge", "zero_local"), ("object.dealloc", None), ("object.try_incref", "shared")]
    assert not r.of("object.try_incref")[0].ok


def test_try_incref_succeeds_on_a_merged_object_with_references(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object()

        def holder():
            o.incref()

        rt.start_thread(holder).join()
        o.decref()  # merged with count 1 (the holder's reference)

        def reader():
            box["try"] = o.try_incref()
            o.decref()
            o.decref()  # and the holder's: lands on MERGED

        rt.start_thread(reader).join()
        box["alive"] = o.alive

    run_guest(guest).ok()
    assert box == {"try": True, "alive": False}


def test_decref_after_dealloc_is_a_use_after_free(run_guest):
    def guest(rt):
        o = rt.new_object("list")
        o.decref()
        o.decref()

    r = run_guest(guest)
    assert r.failure is not None and r.failure.reason == "use_after_free"
    assert "Py_DECREF" in r.failure.message and "list #1" in r.failure.message
    assert r.events[-1].kind == "run.failure"


def test_incref_after_dealloc_by_another_thread_is_a_use_after_free(run_guest):
    def guest(rt):
        o = rt.new_object()
        o.decref()
        rt.start_thread(o.incref).join()

    r = run_guest(guest)
    assert r.failure.reason == "use_after_free" and "Py_INCREF" in r.failure.message


def test_a_second_release_of_a_freed_object_reads_freed_memory(run_guest):
    def guest(rt):
        o = rt.new_object()

        def holder():
            o.incref()

        rt.start_thread(holder).join()
        o.decref()  # merged, count 1

        def over():
            o.decref()  # count 0: freed
            pyobject.dec_ref_shared(o)  # a second release

        rt.start_thread(over).join()

    r = run_guest(guest)
    assert r.failure.reason == "use_after_free" and "_Py_DecRefShared" in r.failure.message


def test_a_negative_merged_refcount_is_fatal(run_guest):
    def guest(rt):
        o = rt.new_object()
        assert pyobject.explicit_merge_refcount(o, -2) == -1  # an over-release: merged count -1
        o.decref()  # unowned now: _Py_DecRefShared finds a negative merged count

    r = run_guest(guest)
    assert r.failure.reason == "crash" and "_Py_NegativeRefcount" in r.failure.message


@pytest.mark.parametrize("local,shared,expected", [
    (1, 0, 1), (3, -2, 2), (0, 7, 1), (2, (5 << 2) | _Py_REF_QUEUED, 7), (_Py_IMMORTAL_REFCNT_LOCAL, 0, 3 << 30),
])
def test_py_refcnt_is_local_plus_arithmetically_shifted_shared(run_guest, local, shared, expected):
    box = {}

    def guest(rt):
        o = rt.new_object()
        o.ob_ref_local, o.ob_ref_shared = local, shared
        box["n"] = Py_REFCNT(o)
        o.ob_ref_local, o.ob_ref_shared = 1, 0
        o.decref()

    run_guest(guest).ok()
    assert box["n"] == expected


def test_explicit_merge_gives_up_ownership_before_merging(run_guest):
    box = {}

    def guest(rt):
        o = rt.new_object()
        o.incref()
        o.incref()
        box["refcnt"] = pyobject.explicit_merge_refcount(o, -1)
        box["header"] = (o.ob_tid, o.ob_ref_local, o.ob_ref_shared)
        o.decref()  # no longer the owner: the shared path
        o.decref()

    r = run_guest(guest).ok()
    assert box["refcnt"] == 2
    assert box["header"] == (0, 0, (2 << 2) | _Py_REF_MERGED)
    assert _trail(r, 1)[2:] == [("object.disown", "explicit"), ("object.merge", "explicit"),
                                ("object.decref", "shared"), ("object.decref", "shared"), ("object.dealloc", None)]
    disown = r.of("object.disown")[0]
    assert (disown.ob_tid_old, disown.ob_ref_local_old, disown.ob_tid, disown.ob_ref_local) == (1, 3, 0, 0)
