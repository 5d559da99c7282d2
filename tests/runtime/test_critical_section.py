"""Python/critical_section.c model: one- and two-object sections, the tagged per-thread
stack, suspension on detach and resumption of the top section on attach."""

from __future__ import annotations

from ftreplay.runtime.critical_section import (
    _Py_CRITICAL_SECTION_INACTIVE,
    _Py_CRITICAL_SECTION_TWO_MUTEXES,
    stack_record,
)

CS_KINDS = ("critical_section.begin", "critical_section.locked", "critical_section.end",
            "critical_section.suspend", "critical_section.resume")


def _cs(r, tid, mutexes=None, states=False):
    """A thread's critical-section and lock events (and attach/detach), as short tuples."""
    out = []
    for e in r.events:
        if e.tid != tid:
            continue
        if e.kind in CS_KINDS:
            out.append((e.kind.split(".")[1], e.depth, getattr(e, "path", None)))
        elif e.kind in ("lock.acquire", "lock.release") and (mutexes is None or e.mutex in mutexes):
            out.append((e.kind, mutexes[e.mutex] if mutexes else e.mutex))
        elif states and e.kind in ("pystate.attach", "pystate.detach"):
            out.append((e.kind,))
    return out


def test_one_object_section_locks_its_ob_mutex(run_guest):
    box = {}

    def guest(rt):
        a = rt.new_object(name="a")
        box["m"] = a.ob_mutex.addr
        with rt.critical_section(a):
            ts = rt.pystate.current()
            box["inside"] = (a.ob_mutex.bits, ts.critical_section & 3, ts.critical_section & ~3, stack_record(ts))
        box["after"] = (a.ob_mutex.bits, rt.pystate.current().critical_section)

    r = run_guest(guest).ok()
    m = box["m"]
    bits, tag, top, stack = box["inside"]
    assert (bits, tag) == (1, 0)
    assert stack == [[top, 0, m, None]]
    assert box["after"] == (0, 0)
    assert _cs(r, 1, {m: "a"}) == [("lock.acquire", "a"), ("begin", 1, "fast"), ("lock.release", "a"),
                                   ("end", 1, "end")]
    [begin] = r.of("critical_section.begin")
    assert (begin.cs, begin.cs_tag, begin.cs_mutex, begin.cs_mutex2) == (top, 0, m, None)


def test_two_object_section_locks_the_lower_address_first(run_guest):
    box = {}

    def guest(rt):
        a = rt.new_object(name="a")
        b = rt.new_object(name="b")
        box["m"] = (a.ob_mutex.addr, b.ob_mutex.addr)
        with rt.critical_section(b, a):  # arguments high first
            box["tag"] = rt.pystate.current().critical_section & 3
        with rt.critical_section(a, b):
            pass

    r = run_guest(guest).ok()
    ma, mb = box["m"]
    assert ma < mb
    assert box["tag"] == _Py_CRITICAL_SECTION_TWO_MUTEXES
    names = {ma: "a", mb: "b"}
    once = [("lock.acquire", "a"), ("lock.acquire", "b"), ("begin", 1, "fast"),
            ("lock.release", "b"), ("lock.release", "a"), ("end", 1, "end")]  # End2 unlocks mutex2 first
    assert _cs(r, 1, names) == once + once
    for begin in r.of("critical_section.begin"):
        assert (begin.cs_mutex, begin.cs_mutex2, begin.cs_tag) == (ma, mb, _Py_CRITICAL_SECTION_TWO_MUTEXES)


def test_the_same_object_twice_is_one_lock(run_guest):
    box = {}

    def guest(rt):
        a = rt.new_object(name="a")
        box["m"] = a.ob_mutex.addr
        with rt.critical_section(a, a):
            box["tag"] = rt.pystate.current().critical_section & 3

    r = run_guest(guest).ok()
    assert box["tag"] == 0  # no TWO_MUTEXES tag
    assert _cs(r, 1, {box["m"]: "a"}) == [("lock.acquire", "a"), ("begin", 1, "fast"), ("lock.release", "a"),
                                          ("end", 1, "end")]
    [begin] = r.of("critical_section.begin")
    assert begin.cs_mutex2 is None


def test_nested_section_on_the_object_the_top_holds_is_skipped(run_guest):
    box = {}

    def guest(rt):
        a = rt.new_object(name="a")
        b = rt.new_object(name="b")
        box["m"] = {a.ob_mutex.addr: "a", b.ob_mutex.addr: "b"}
        with rt.critical_section(a, b):
            with rt.critical_section(b):  # b is the top's mutex2
                box["depth"] = len(rt.pystate.current().cs_frames)
            box["still"] = b.ob_mutex.bits & 1

    r = run_guest(guest).ok()
    assert box["depth"] == 1 and box["still"] == 1
    assert [x for x in _cs(r, 1, box["m"]) if x[0] in ("begin", "end")] == [
        ("begin", 1, "fast"), ("begin", 1, "skip"), ("end", 1, "skip"), ("end", 1, "end")]


def test_detach_suspends_every_section_and_attach_resumes_only_the_top(run_guest):
    box = {}

    def guest(rt):
        a = rt.new_object(name="a")
        b = rt.new_object(name="b")
        m = rt.mutex("m")
        box["names"] = {a.ob_mutex.addr: "a", b.ob_mutex.addr: "b", m.addr: "m"}
        held = rt.event("held")

        def holder():
            m.lock()
            held.notify()
            rt.work(200_000)
            m.unlock()

        t = rt.start_thread(holder, name="holder")
        held.wait()
        ts = rt.pystate.current()
        with rt.critical_section(a):
            with rt.critical_section(b):
                m.lock()  # parks detached: a and b released
                box["after_attach"] = [e[1] for e in stack_record(ts)]
                box["bits"] = (a.ob_mutex.bits & 1, b.ob_mutex.bits & 1)
                m.unlock()
            box["outer_back"] = [e[1] for e in stack_record(ts)], a.ob_mutex.bits & 1
        t.join()

    r = run_guest(guest).ok()
    # Top (b) resumed at attach; a stays suspended (INACTIVE) until b's section ends.
    assert box["after_attach"] == [_Py_CRITICAL_SECTION_INACTIVE, 0]
    assert box["bits"] == (0, 1)
    assert box["outer_back"] == ([0], 1)
    ev = _cs(r, 1, box["names"], states=True)
    start = ev.index(("begin", 1, "fast"))
    tail = [x for x in ev[start:] if x[0] != "lock.acquire" or x[1] != "m"]
    assert tail[:16] == [
        ("begin", 1, "fast"), ("lock.acquire", "b"), ("begin", 2, "fast"),
        # PyMutex_Lock(m) parks: detach_thread suspends from the top down
        ("lock.release", "b"), ("suspend", 2, None), ("lock.release", "a"), ("suspend", 1, None),
        ("pystate.detach",),
        # woken: attach resumes the top section only
        ("pystate.attach",), ("resume", 2, None), ("lock.acquire", "b"), ("locked", 2, "resume"),
        ("lock.release", "m"),
        # the inner section ends: the outer one is resumed by the pop
        ("lock.release", "b"), ("end", 2, "end"), ("resume", 1, None),
    ]
    assert tail[16:19] == [("lock.acquire", "a"), ("locked", 1, "resume"), ("lock.release", "a")]
    suspends = r.of("critical_section.suspend")
    assert [(e.depth, e.cs_tag & _Py_CRITICAL_SECTION_INACTIVE) for e in suspends] == [(2, 1), (1, 1)]


def test_blocking_on_a_nested_section_releases_the_outer_one(run_guest):
    """T1 holds a and waits for b; T2 holds b and wants a.  Because T1's park suspends its
    outer section, T2 gets a: no deadlock (lock-order inversion is harmless here)."""
    box = {}

    def guest(rt):
        a = rt.new_object(name="a")
        b = rt.new_object(name="b")
        box["names"] = {a.ob_mutex.addr: "a", b.ob_mutex.addr: "b"}
        t2_has_b = rt.event("t2_has_b")
        t1_has_a = rt.event("t1_has_a")

        def t1():
            t2_has_b.wait()
            with rt.critical_section(a):
                t1_has_a.notify()
                with rt.critical_section(b):  # blocks: T2 holds b
                    box["t1_inner"] = True

        def t2():
            with rt.critical_section(b):
                t2_has_b.notify()
                t1_has_a.wait()  # parks: suspends b ... so T1 may get b first
                with rt.critical_section(a):
                    box["t2_got_a"] = True

        ts = [rt.start_thread(t1, name="t1"), rt.start_thread(t2, name="t2")]
        for t in ts:
            t.join()

    for strategy in ("random", "pct", "round_robin"):
        for seed in range(1, 6):
            box.clear()
            r = run_guest(guest, strategy=strategy, seed=seed).ok()
            assert box == {"names": box["names"], "t1_inner": True, "t2_got_a": True}, (strategy, seed)
            begins = r.of("critical_section.begin", tid=2)
            assert [e.depth for e in begins] == [1, 2]


def test_slow_begin_pushes_with_null_mutexes_then_sets_them(run_guest):
    box = {}

    def guest(rt):
        a = rt.new_object(name="a")
        b = rt.new_object(name="b")
        box["m"] = (a.ob_mutex.addr, b.ob_mutex.addr)
        got = rt.event("got")

        def other():
            with rt.critical_section(b):
                got.notify()
                rt.work(100_000)  # holds b (busy, attached: a wait would suspend the section)

        t = rt.start_thread(other)
        got.wait()
        with rt.critical_section(a, b):  # a fast, b slow
            box["stack"] = stack_record(rt.pystate.current())
        t.join()

    r = run_guest(guest).ok()
    ma, mb = box["m"]
    top = box["stack"][0]
    assert top[1:] == [_Py_CRITICAL_SECTION_TWO_MUTEXES, ma, mb]
    [begin] = r.of("critical_section.begin", tid=1)
    assert (begin.path, begin.cs_mutex, begin.cs_mutex2) == ("slow", ma, mb)
    locked = [e for e in r.of("critical_section.locked", tid=1) if e.path == "begin"]
    assert [(e.cs_mutex, e.cs_mutex2) for e in locked] == [(ma, mb)]
    # m1 (a) was taken by the fast path and stays held while parked on b (its field is NULL)
    rel_a = [e.seq for e in r.of("lock.release", mutex=ma, tid=1)]
    assert len(rel_a) == 1 and rel_a[0] > locked[0].seq


def test_ending_a_section_that_is_not_the_top_is_fatal(run_guest):
    def guest(rt):
        a = rt.new_object(name="a")
        b = rt.new_object(name="b")
        ca = rt.critical_section(a)
        cb = rt.critical_section(b)
        ca.begin()
        cb.begin()
        ca.end()

    r = run_guest(guest)
    assert r.failure.reason == "crash" and "out of order" in r.failure.message


def test_critical_sections_scenario_is_ok_under_every_strategy(run_guest):
    from ftreplay.scenarios import get_scenario

    fn = get_scenario("critical_sections").fn
    paths = set()
    for strategy in ("random", "pct", "round_robin"):
        for seed in range(1, 11):
            r = run_guest(fn, strategy=strategy, seed=seed).ok()
            paths |= {(e.kind, getattr(e, "path", None)) for e in r.events if e.kind.startswith("critical_section.")}
            assert not r.rt.objects  # both objects freed at the end
    assert {("critical_section.begin", "slow"), ("critical_section.begin", "skip"),
            ("critical_section.suspend", None), ("critical_section.locked", "resume")} <= paths
