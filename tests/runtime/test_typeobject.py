"""The type cache and type versions (runtime/typeobject.py): seqlock-validated hits, retries
when a writer rewrites the entry, version tags and their invalidation, strong MRO reads."""

from __future__ import annotations

from ftreplay.runtime.typeobject import _Py_MAX_GLOBAL_TYPE_VERSION_TAG, cache_index
from ftreplay.scenarios.interpreters import type_cache_torn_entry


def test_a_reader_retries_when_the_entry_changes_under_it(run_guest):
    r = run_guest(lambda rt: type_cache_torn_entry(rt, readers=2, rounds=10), seed=1).ok()
    paths = [e.path for e in r.of("typeobject.cache_read")]
    assert paths.count("retry") >= 1 and paths.count("hit") >= 10
    for retry in r.of("typeobject.cache_read", path="retry"):
        # the sequence the reader began with was bumped by a writer before its end_read
        reads = [e for e in r.of("lock.seq_read") if e.tid == retry.tid and e.seq < retry.seq]
        assert reads[-1].ok is False
    stores = r.of("typeobject.cache_store")
    # the writer stores value, name, then the version last, inside write_lock / write_unlock
    words = r.of("lock.word", prim="seqlock")
    for a, b, c in zip(stores[0::3], stores[1::3], stores[2::3]):
        assert b.name != b.name_old and c.version != c.version_old and a.addr == b.addr == c.addr
        ops = [w.op for w in words if w.addr == a.addr and w.seq < a.seq]
        assert ops[-1] == "write_lock"
        ops = [w.op for w in words if w.addr == a.addr and w.seq > c.seq]
        assert ops[0] == "write_unlock"


def test_without_the_seqlock_a_reader_sees_a_torn_entry(run_guest):
    r = run_guest(lambda rt: type_cache_torn_entry(rt, readers=2, rounds=30), seed=1,
                  bugs=["type_cache_no_seqlock"])
    assert r.failure.reason == "assertion"
    assert "type-cache hit for (A, 'x') at slot" in r.failure.message and "'B.y'" in r.failure.message
    assert not r.of("lock.seq_read")


def test_versions_are_assigned_on_lookup_and_invalidated_with_subclasses(run_guest):
    seen = {}

    def guest(rt):
        one, two = rt.new_object("int", name="1"), rt.new_object("int", name="2")
        base = rt.new_type("Base", attrs={"x": one})
        sub = rt.new_type("Sub", bases=(base,))
        v = rt.type_lookup(sub, "x")
        seen["found"] = v is one
        v.decref()
        seen["versions"] = (base.tp_version_tag, sub.tp_version_tag)
        v = rt.type_lookup(sub, "x")  # a hit now
        v.decref()
        rt.type_setattr(base, "x", two)  # invalidates Base and Sub first
        seen["invalidated"] = (base.tp_version_tag, sub.tp_version_tag)
        v = rt.type_lookup(sub, "x")
        seen["after"] = (v is two, base.tp_version_tag, sub.tp_version_tag)
        v.decref()
        seen["absent"] = rt.type_lookup(sub, "nope")
        seen["index"] = cache_index(rt, sub, "x")

    r = run_guest(guest).ok()
    first = _Py_MAX_GLOBAL_TYPE_VERSION_TAG + 1
    assert seen["found"] and seen["versions"] == (first, first + 1)  # bases first
    assert seen["invalidated"] == (0, 0)
    assert seen["after"] == (True, first + 2, first + 3)
    assert seen["absent"] is None
    assert [e.path for e in r.of("typeobject.cache_read")] == ["miss", "hit", "miss", "miss"]
    assert [(e.type, e.version) for e in r.of("typeobject.version")] == [
        ("Base", first), ("Sub", first + 1), ("Sub", 0), ("Base", 0), ("Base", first + 2), ("Sub", first + 3)]
    assert 0 <= seen["index"] < 4096


def test_the_mro_is_read_through_a_strong_reference(run_guest):
    def guest(rt):
        a = rt.new_type("A", attrs={"x": rt.new_object("int", name="x")})
        rt.start_thread(lambda: rt.type_lookup(a, "x").decref(), name="reader").join()

    r = run_guest(guest).ok()
    mro = next(e.obj for e in r.of("object.new") if e.type == "tuple")
    ops = [(e.kind, getattr(e, "path", "")) for e in r.events if getattr(e, "obj", None) == mro]
    # _Py_TryIncrefCompare on tp_mro (a non-owner: the shared count), the walk, then the decref
    assert ops[-2:] == [("object.try_incref", "shared"), ("object.decref", "shared")]
