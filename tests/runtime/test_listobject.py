"""Objects/listobject.c and dictobject.c models: critical-section writers, lock-free readers,
resizes whose old arrays are freed through QSBR once the container is shared."""

from __future__ import annotations


def test_a_non_owner_first_read_locks_marks_shared_and_sets_maybe_weakref(run_guest):
    box = {}

    def guest(rt):
        lst = rt.new_list("l")
        o = rt.new_object("int")
        lst.append(o)
        o.decref()

        def reader():
            for _ in range(2):
                v = lst.get_item_ref(0)
                v.decref()

        rt.start_thread(reader, name="reader").join()
        box["shared"] = lst.shared
        box["flags"] = o.ob_ref_shared & 3

    r = run_guest(guest).ok()
    assert box["shared"] is True and box["flags"] == 1  # MAYBE_WEAKREF
    assert [e.path for e in r.of("listobject.read")] == ["locked", "lockfree"]


def test_resizing_a_shared_list_delays_the_free_of_the_old_array(run_guest):
    for shared in (False, True):
        def guest(rt):
            lst = rt.new_list("l")
            lst.shared = shared
            for _ in range(5):  # capacities 4, then 8
                o = rt.new_object("int")
                lst.append(o)
                o.decref()
            lst.clear()
            lst.op.decref()

        r = run_guest(guest).ok()
        resizes = r.of("listobject.resize")
        assert [e.capacity for e in resizes] == [4, 8, 0]
        old = {e.block_old for e in resizes if e.block_old}
        delayed = {e.block for e in r.of("obmalloc.free_delayed")}
        assert delayed == (old if shared else set())


def test_readers_never_see_a_freed_array_or_item(run_guest, test_seed):
    for seed in range(test_seed, test_seed + 4):
        for strategy in ("random", "pct"):
            def guest(rt):
                lst = rt.new_list("l")

                def writer():
                    for k in range(12):
                        o = rt.new_object("int")
                        lst.append(o)
                        o.decref()
                        if k % 4 == 3:
                            lst.clear()

                def reader():
                    for _ in range(20):
                        n = len(lst)
                        v = lst.get_item_ref(n - 1) if n else None
                        if v is not None:
                            assert v.alive
                            v.decref()

                ts = [rt.start_thread(writer, name="w"), rt.start_thread(reader, name="r")]
                for t in ts:
                    t.join()
                lst.clear()

            r = run_guest(guest, seed=seed, strategy=strategy)
            assert r.failure is None, f"seed {seed} {strategy}: {r.failure.reason}: {r.failure.message}"


def test_dict_replace_stores_the_new_value_before_dropping_the_old(run_guest):
    def guest(rt):
        d = rt.new_dict("d")
        a, b = rt.new_object("int"), rt.new_object("int")
        d["k"] = a
        d["k"] = b
        a.decref()
        b.decref()
        v = d.get_ref("k")
        assert v is b
        v.decref()
        del d["k"]

    r = run_guest(guest).ok()
    stores = r.of("dictobject.store")
    assert [(e.value, e.prev) for e in stores] == [(1 + 1, 0), (3, 2), (0, 3)]
    [dealloc_a] = r.of("object.dealloc", obj=2)
    assert dealloc_a.seq > stores[1].seq


def test_dict_growth_frees_old_keys_through_qsbr_when_shared(run_guest):
    def guest(rt):
        d = rt.new_dict("d")
        d.shared = True
        for i in range(6):  # 5 usable entries in an 8-slot table: the 6th insert resizes
            o = rt.new_object("int")
            d[f"k{i}"] = o
            o.decref()

    r = run_guest(guest).ok()
    [rs] = r.of("dictobject.resize")
    assert rs.capacity == 16 and rs.capacity_old == 8
    assert [e.block for e in r.of("obmalloc.free_delayed")] == [rs.block_old]
