"""Object scenarios: biased reference counting across threads, and critical sections."""

from __future__ import annotations

from . import scenario


@scenario(
    "refcount_shared",
    "objects created on one thread are increfed/decrefed by others: non-owner decrefs go negative and are "
    "queued to the owner, merged at its eval-breaker checks, at its exit, or on the spot once it has exited; "
    "the guest checks every object is deallocated exactly once",
    steps_hint=550,
    objects="objects of the long-lived owner (one reference per reader each)",
    readers="reader threads",
    rounds="incref/decref rounds per reader on each object before releasing it",
    orphans="objects of an owner that exits before the readers release them (half queued at its exit)",
    work_ns="guest work per step (virtual ns)",
)
def refcount_shared(rt, objects: int = 3, readers: int = 2, rounds: int = 2, orphans: int = 2, work_ns: int = 2000):
    freed: dict[int, int] = {}  # obj -> times deallocated
    created: list = []

    def on_dealloc(o) -> None:
        freed[o.obj] = freed.get(o.obj, 0) + 1

    # An immortal object everyone uses: its header never changes.
    interned = rt.new_object("str", immortal=True, name="interned")
    # Published for lock-free readers (_Py_TryIncref), so it is marked MAYBE_WEAKREF first.
    slot_obj = rt.new_object("list", dealloc=on_dealloc, name="slot_obj")
    slot_obj.set_maybe_weakref()
    created.append(slot_obj)
    slot = rt.var("slot", slot_obj)

    published = rt.event("published")
    orphans_published = rt.event("orphans_published")
    early_done = rt.event("early_orphans_released")
    counts_lock = rt.mutex("counts_lock")
    done = rt.var("readers_done", 0)
    early = rt.var("early_released", 0)
    owned: list = []  # written before `published` is notified, read after
    orphaned: list = []
    n_early = orphans // 2

    def owner():
        objs = [rt.new_object("dict", dealloc=on_dealloc, name=f"owned-{i}") for i in range(objects)]
        for o in objs:
            for _ in range(readers):
                o.incref()  # a reference for each reader, counted in our ob_ref_local
        created.extend(objs)
        owned.extend(objs)
        published.notify()
        # Keep running bytecode until the readers are done: the eval-breaker checks in
        # rt.work merge what they queue.  (Each turn takes virtual time, so a spinning owner
        # cannot starve the readers under a priority scheduler.)
        while done.load() < readers:
            rt.work(max(work_ns, 100))
        for o in objs:
            o.decref()  # our own reference
        # Exit: PyThreadState_Clear merges whatever is still queued to us.

    def orphan_owner():
        objs = [rt.new_object("tuple", dealloc=on_dealloc, name=f"orphan-{i}") for i in range(orphans)]
        for o in objs:
            for _ in range(readers):
                o.incref()
            o.decref()  # our own reference: the readers' ones stay counted in ob_ref_local
        created.extend(objs)
        orphaned.extend(objs)
        orphans_published.notify()
        # Parked (detached: no eval-breaker checks) while readers queue the early half to us;
        # we exit with them still queued.
        early_done.wait()

    orphan_thread = rt.start_thread(orphan_owner, name="orphan_owner")

    def reader():
        published.wait()
        orphans_published.wait()
        for _ in range(rounds):
            for o in owned:
                o.incref()
                interned.incref()
                rt.work(work_ns)
                interned.decref()
                o.decref()
            s = slot.load()
            if s is not None and s.try_incref():  # fails once main's reference is gone
                rt.work(work_ns)
                s.decref()
        for o in owned:
            o.decref()  # the reference the owner counted for us: shared goes 0 -> QUEUED -> negative
        for o in orphaned[:n_early]:
            o.decref()  # queued to the orphan owner, which is still alive
        with counts_lock:
            e = early.load() + 1
            early.store(e)
        if e == readers:
            early_done.notify()
        orphan_thread.join()
        for o in orphaned[n_early:]:
            o.decref()  # the owner has exited: the first decref merges on the spot
        with counts_lock:
            done.store(done.load() + 1)

    threads = [rt.start_thread(owner, name="owner")]
    threads += [rt.start_thread(reader, name=f"reader-{i + 1}") for i in range(readers)]
    rt.work(work_ns)
    slot.store(None)
    slot_obj.decref()  # main's reference: a reader holding a try_incref one may free it instead
    for t in threads:
        t.join()
    orphan_thread.join()
    rt.work(0)  # a bytecode boundary: anything queued to main is merged here

    assert len(created) == 1 + objects + orphans, f"{len(created)} objects created"
    for o in created:
        assert not o.alive, f"{o!r} leaked: ob_tid={o.ob_tid} local={o.ob_ref_local} shared={o.ob_ref_shared}"
        assert freed.get(o.obj) == 1, f"{o!r} deallocated {freed.get(o.obj, 0)} times"
    assert interned.alive and interned.is_immortal() and interned.ob_ref_shared == 0 and interned.ob_tid == 0, (
        f"immortal {interned!r} changed: tid={interned.ob_tid} local={interned.ob_ref_local} "
        f"shared={interned.ob_ref_shared}")


@scenario(
    "critical_sections",
    "threads update counters under one- and two-object critical sections, nested and around a blocking lock "
    "(blocking suspends the sections; the top one is resumed on attach, outer ones when inner ones end)",
    steps_hint=450,
    threads="worker threads",
    iterations="rounds per thread",
    work_ns="guest work inside a section (virtual ns)",
)
def critical_sections(rt, threads: int = 3, iterations: int = 3, work_ns: int = 1000):
    a = rt.new_object("list", name="a")
    b = rt.new_object("list", name="b")
    count_a = rt.var("a.count", 0)
    count_b = rt.var("b.count", 0)
    count_ab = rt.var("ab.count", 0)
    io_lock = rt.mutex("io_lock")

    def worker(i: int):
        for _ in range(iterations):
            # Two objects: locked lower address first whatever the argument order.
            with rt.critical_section(a, b) if i % 2 else rt.critical_section(b, a):
                v = count_ab.load()
                rt.work(work_ns)
                count_ab.store(v + 1)
            with rt.critical_section(a):
                with rt.critical_section(b):  # blocking on b releases a meanwhile
                    v = count_b.load()
                    rt.work(work_ns)
                    count_b.store(v + 1)
                # a is held again here (resumed when the inner section ended)
                v = count_a.load()
                with rt.critical_section(a):  # the top section holds a: skipped
                    count_a.store(v + 1)
                io_lock.lock()  # parks detached: suspends a, relocks it on attach
                io_lock.unlock()
            with rt.critical_section(a, a):  # the same object twice: one mutex
                v = count_a.load()
                count_a.store(v + 1)

    ts = [rt.start_thread(worker, i, name=f"worker-{i + 1}") for i in range(threads)]
    for t in ts:
        t.join()
    n = threads * iterations
    assert count_ab.load() == n, f"ab.count is {count_ab.load()}, expected {n}"
    assert count_b.load() == n, f"b.count is {count_b.load()}, expected {n}"
    assert count_a.load() == 2 * n, f"a.count is {count_a.load()}, expected {2 * n}"
    a.decref()
    b.decref()
    assert not a.alive and not b.alive
