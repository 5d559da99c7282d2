"""Python/lock.c model: PyMutex, PyEvent, OnceFlag, RWMutex, SeqLock, RecursiveMutex, RawMutex.

Situations are built with ``rt.work`` delays (virtual-time timers) rather than schedules, so
each test states what must happen whatever the strategy picks.
"""

from __future__ import annotations

from collections import Counter

from ftreplay.runtime.lock import (
    _Py_HAS_PARKED,
    _Py_LOCKED,
    _Py_ONCE_INITIALIZED,
    _Py_UNLOCKED,
    ACQUIRED,
    DETACH,
    FAILURE,
    MAX_SPIN_COUNT,
    TIME_TO_BE_FAIR_NS,
)
from ftreplay.runtime.pystate import ATTACHED
from ftreplay.sim.clock import YIELD_NS
from ftreplay.sim.engine import ThreadRun

MS = 1_000_000


def count_yields(rt) -> Counter:
    """Count ``_Py_yield()`` scheduling points per thread from now on."""
    eng = rt.engine
    orig = eng.point
    yields: Counter = Counter()

    def point(cost: int) -> None:
        if cost == YIELD_NS:
            yields[eng.tid] += 1
        orig(cost)

    eng.point = point
    return yields


def between(events, lo, hi):
    return [e for e in events if lo.seq < e.seq < hi.seq]


# -- PyMutex -----------------------------------------------------------------------------------
def test_fast_path_lock_and_unlock(run_guest):
    box = {}

    def guest(rt):
        m = rt.mutex("m")
        box["m"] = m
        m.lock()
        box["held"] = (m.bits, m.owner)
        m.unlock()

    r = run_guest(guest).ok()
    m = box["m"]
    assert box["held"] == (_Py_LOCKED, 1)
    assert (m.bits, m.owner) == (_Py_UNLOCKED, None)
    acq = r.of("lock.acquire", mutex=m.addr)
    rel = r.of("lock.release", mutex=m.addr)
    assert [(e.tid, e.via, e.bits_old, e.bits_new, e.wait_ns) for e in acq] == [(1, "fast", 0, 1, 0)]
    assert [(e.tid, e.via, e.handoff_to, e.bits_old, e.bits_new) for e in rel] == [(1, "fast", None, 1, 0)]
    assert not [e for e in r.events if e.kind.startswith("parking_lot") and e.addr == m.addr]
    assert not r.of("lock.set_parked", mutex=m.addr)


def _holder_and_waiter(rt, box, hold_ns, waiter_hold_ns=0, holder_after=None):
    """T2 takes ``m`` and keeps it for ``hold_ns``; T3 starts waiting once T2 holds it."""
    m = rt.mutex("m")
    held = rt.event("held")
    box["m"] = m
    box["yields"] = count_yields(rt)

    def holder():
        m.lock()
        held.notify()
        rt.work(hold_ns)
        box["unlock_at"] = rt.now
        m.unlock()
        if holder_after is not None:
            holder_after(m)

    def waiter():
        held.wait()
        box["lock_called_at"] = rt.now
        m.lock()
        box["waiter_bits"] = m.bits
        rt.work(waiter_hold_ns)
        m.unlock()

    h = rt.start_thread(holder, name="holder")
    w = rt.start_thread(waiter, name="waiter")
    box["tids"] = (h.ident, w.ident)
    h.join()
    w.join()


def test_waiter_spins_sets_parked_and_parks_detached(run_guest):
    box = {}
    r = run_guest(lambda rt: _holder_and_waiter(rt, box, hold_ns=2 * MS)).ok()
    m = box["m"]
    _, wt = box["tids"]
    assert box["yields"][wt] == MAX_SPIN_COUNT == 40

    [sp] = r.of("lock.set_parked", mutex=m.addr)
    assert (sp.tid, sp.bits_old, sp.bits_new) == (wt, _Py_LOCKED, _Py_LOCKED | _Py_HAS_PARKED)
    [park] = r.of("parking_lot.park", addr=m.addr)
    assert (park.tid, park.detach, park.expected, park.timeout_ns) == (wt, True, 3, None)
    [wake] = r.of("parking_lot.wake", addr=m.addr)
    assert (wake.tid, wake.result, wake.timed_out) == (wt, "ok", False)

    # The waiter's own story: set_parked, park, detach ... wake, attach, acquire.
    mine = [
        e for e in r.events
        if e.tid == wt and sp.seq <= e.seq
        and e.kind in ("lock.set_parked", "parking_lot.park", "parking_lot.wake", "pystate.detach",
                       "pystate.attach", "lock.acquire")
        and getattr(e, "mutex", getattr(e, "addr", None)) in (m.addr, None)
    ]
    assert [e.kind for e in mine][:6] == [
        "lock.set_parked", "parking_lot.park", "pystate.detach",
        "parking_lot.wake", "pystate.attach", "lock.acquire",
    ]
    detach, attach = mine[2], mine[4]
    assert (detach.thread, detach.old, detach.new) == (wt, "attached", "detached")
    assert (attach.thread, attach.old, attach.new) == (wt, "detached", "attached")
    assert park.seq < detach.seq < wake.seq < attach.seq


def test_handoff_after_waiting_more_than_1ms(run_guest, test_seed):
    box = {}

    def holder_after(m):
        box["trylock_after_release"] = m.trylock()

    for seed in (test_seed, test_seed + 1, test_seed + 2):
        r = run_guest(
            lambda rt: _holder_and_waiter(rt, box, hold_ns=2 * MS, waiter_hold_ns=200_000, holder_after=holder_after),
            seed=seed,
        ).ok()
        m = box["m"]
        ht, wt = box["tids"]
        slow = [e for e in r.of("lock.release", mutex=m.addr) if e.via == "slow"]
        assert len(slow) == 1, r.describe()
        rel = slow[0]
        assert rel.tid == ht
        assert rel.handoff_to == wt
        assert rel.bits_old == _Py_LOCKED | _Py_HAS_PARKED
        assert rel.bits_new == _Py_LOCKED  # stays locked for the waiter; no other waiter
        [acq] = r.of("lock.acquire", mutex=m.addr, tid=wt)
        assert acq.via == "handoff"
        assert acq.bits_old == acq.bits_new == _Py_LOCKED
        assert acq.wait_ns > TIME_TO_BE_FAIR_NS
        assert box["waiter_bits"] == _Py_LOCKED
        # Nobody else acquired it in between, and the holder's own try-lock right after the
        # release failed because the byte stayed LOCKED.
        assert not [e for e in between(r.of("lock.acquire", mutex=m.addr), rel, acq)]
        assert box["trylock_after_release"] is False
        [fail] = r.of("lock.fail", mutex=m.addr)
        assert (fail.tid, fail.reason) == (ht, "trylock")


def test_short_hold_releases_without_handoff(run_guest, test_seed):
    box = {}
    for seed in range(test_seed, test_seed + 5):
        r = run_guest(lambda rt: _holder_and_waiter(rt, box, hold_ns=200_000), seed=seed).ok()
        m = box["m"]
        ht, wt = box["tids"]
        [rel] = [e for e in r.of("lock.release", mutex=m.addr) if e.via == "slow"]
        assert (rel.tid, rel.handoff_to) == (ht, None)
        assert (rel.bits_old, rel.bits_new) == (_Py_LOCKED | _Py_HAS_PARKED, _Py_UNLOCKED)
        [acq] = r.of("lock.acquire", mutex=m.addr, tid=wt)
        assert acq.via == "slow"
        assert acq.wait_ns < TIME_TO_BE_FAIR_NS
        assert (acq.bits_old, acq.bits_new) == (_Py_UNLOCKED, _Py_LOCKED)


def test_short_hold_with_a_second_waiter_keeps_has_parked(run_guest):
    box = {}

    def guest(rt):
        m = rt.mutex("m")
        box["m"] = m
        m.lock()

        def waiter():
            m.lock()
            m.unlock()

        ws = [rt.start_thread(waiter, name=f"w{i}") for i in range(2)]
        box["waiters"] = [w.ident for w in ws]
        rt.work(300_000)  # both waiters have parked, for less than 1 ms
        box["parked"] = rt.parking_lot.waiters(m.addr)
        m.unlock()
        for w in ws:
            w.join()

    r = run_guest(guest).ok()
    m = box["m"]
    assert sorted(box["parked"]) == sorted(box["waiters"])  # both parked (in either order)
    first = [e for e in r.of("lock.release", mutex=m.addr) if e.via == "slow"][0]
    assert (first.tid, first.handoff_to) == (1, None)
    assert (first.bits_old, first.bits_new) == (_Py_LOCKED | _Py_HAS_PARKED, _Py_HAS_PARKED)
    [unpark] = [e for e in r.of("parking_lot.unpark", addr=m.addr) if e.seq < first.seq]
    assert (unpark.woken, unpark.has_more, unpark.mode) == (box["parked"][0], True, "one")  # FIFO


def test_short_hold_allows_barging(run_guest, test_seed):
    """Without a hand-off the woken waiter competes: the unlocker may take the lock again first."""
    box = {}

    def holder_after(m):
        box["relocked"] = m.trylock()
        if box["relocked"]:
            m.unlock()

    barged, not_barged = [], []
    for seed in range(test_seed, test_seed + 60):
        r = run_guest(
            lambda rt: _holder_and_waiter(rt, box, hold_ns=100_000, holder_after=holder_after), seed=seed
        ).ok()
        m = box["m"]
        ht, wt = box["tids"]
        rel = [e for e in r.of("lock.release", mutex=m.addr) if e.via == "slow"][0]
        assert rel.handoff_to is None
        waiter_acq = r.of("lock.acquire", mutex=m.addr, tid=wt)[-1]
        assert waiter_acq.via == "slow"
        grabbed = [e for e in between(r.of("lock.acquire", mutex=m.addr), rel, waiter_acq) if e.tid == ht]
        if grabbed:
            # The holder's try-lock won against the woken waiter.
            assert box["relocked"] is True
            assert [(e.via, e.bits_old) for e in grabbed] == [("slow", _Py_UNLOCKED)]
        (barged if grabbed else not_barged).append(seed)
    print(f"barged: {barged}, waiter first: {not_barged}")
    assert barged, "no seed let the unlocker barge in ahead of the woken waiter"


def test_trylock_on_held_mutex_fails(run_guest):
    box = {}

    def guest(rt):
        m = rt.mutex("m")
        box["m"] = m
        m.lock()
        t = rt.start_thread(lambda: box.setdefault("try", m.trylock()), name="trier")
        t.join()
        m.unlock()
        box["try_free"] = m.trylock()
        m.unlock()

    r = run_guest(guest).ok()
    m = box["m"]
    assert box["try"] is False
    assert box["try_free"] is True
    [fail] = r.of("lock.fail", mutex=m.addr)
    assert (fail.tid, fail.reason) == (2, "trylock")
    assert not r.of("parking_lot.park", addr=m.addr)
    assert not r.of("lock.set_parked", mutex=m.addr)


def test_lock_timed_times_out(run_guest):
    box = {}
    timeout = 1 * MS

    def guest(rt):
        m = rt.mutex("m")
        box["m"] = m
        m.lock()

        def timed():
            t0 = rt.now
            box["ret"] = m.lock_timed(timeout, DETACH)
            box["elapsed"] = rt.now - t0
            box["bits_after"] = m.bits

        t = rt.start_thread(timed, name="timed")
        rt.work(5 * MS)
        m.unlock()
        t.join()

    r = run_guest(guest).ok()
    m = box["m"]
    assert box["ret"] == FAILURE
    assert timeout <= box["elapsed"] <= timeout + 100_000
    [fail] = r.of("lock.fail", mutex=m.addr)
    assert (fail.tid, fail.reason) == (2, "timeout")
    [park] = r.of("parking_lot.park", addr=m.addr)
    assert park.timeout_ns == timeout
    [wake] = r.of("parking_lot.wake", addr=m.addr)
    assert (wake.result, wake.timed_out) == ("timeout", False)
    assert wake.seq < fail.seq
    # HAS_PARKED outlives the timed-out waiter; the holder's unlock takes the slow path,
    # finds nobody and stores 0.
    assert box["bits_after"] == _Py_LOCKED | _Py_HAS_PARKED
    [rel] = r.of("lock.release", mutex=m.addr)
    assert (rel.via, rel.handoff_to, rel.bits_old, rel.bits_new) == ("slow", None, 3, 0)
    [unpark] = r.of("parking_lot.unpark", addr=m.addr)
    assert (unpark.woken, unpark.has_more) == (None, False)
    assert m.bits == _Py_UNLOCKED


def test_lock_timed_acquires_when_released_in_time(run_guest):
    box = {}

    def guest(rt):
        m = rt.mutex("m")
        box["m"] = m
        m.lock()

        def timed():
            box["ret"] = m.lock_timed(5 * MS, DETACH)
            m.unlock()

        t = rt.start_thread(timed, name="timed")
        rt.work(2 * MS)
        m.unlock()
        t.join()

    r = run_guest(guest).ok()
    assert box["ret"] == ACQUIRED
    [acq] = r.of("lock.acquire", mutex=box["m"].addr, tid=2)
    assert acq.via == "handoff"
    assert not r.of("lock.fail")


def test_unlocking_an_unlocked_mutex_is_fatal(run_guest):
    def guest(rt):
        m = rt.mutex("m")
        m.lock()
        m.unlock()
        m.unlock()

    r = run_guest(guest)
    assert r.failure is not None
    assert r.failure.reason == "crash"
    assert "unlocking mutex that is not locked" in r.failure.message
    last = r.events[-1]
    assert last.kind == "run.failure"
    assert (last.seq, last.reason, last.tid) == (r.failure.seq, "crash", 1)


def test_mutual_exclusion_under_contention(run_guest, test_seed):
    """Each thread's increment stays whole; at most one holder at a time, per the event order."""
    box = {}

    def guest(rt):
        m = rt.mutex("m")
        box["m"] = m
        counter = rt.var("counter", 0)

        def worker():
            for _ in range(5):
                m.lock()
                v = counter.load()
                rt.work(300_000)
                counter.store(v + 1)
                m.unlock()

        ts = [rt.start_thread(worker) for _ in range(3)]
        for t in ts:
            t.join()
        box["total"] = counter.value

    for strategy in ("random", "pct", "round_robin"):
        r = run_guest(guest, strategy=strategy, seed=test_seed).ok()
        assert box["total"] == 15
        m = box["m"]
        holder = None
        for e in r.events:
            if e.kind == "lock.acquire" and e.mutex == m.addr:
                if e.via == "handoff":
                    assert holder == e.tid, f"T{e.tid} took a hand-off meant for T{holder}"
                else:
                    assert holder is None, f"T{e.tid} acquired while T{holder} holds it"
                holder = e.tid
            elif e.kind == "lock.release" and e.mutex == m.addr:
                assert holder == e.tid
                holder = e.handoff_to
        assert holder is None


# -- PyEvent --------------------------------------------------------------------------------
def test_event_waiters_woken_fifo(run_guest):
    box = {}

    def guest(rt):
        evt = rt.event("evt")
        box["evt"] = evt

        def waiter(delay):
            rt.work(delay)
            evt.wait()
            box.setdefault("saw", []).append((rt.tid, evt.is_set()))

        # Started in one order, parked in another (by their delays).
        ws = [rt.start_thread(waiter, d, name=f"w{i}") for i, d in enumerate((300_000, 100_000, 200_000))]
        rt.work(1 * MS)
        box["parked"] = rt.parking_lot.waiters(evt.addr)
        evt.notify()
        for w in ws:
            w.join()

    r = run_guest(guest).ok()
    evt = box["evt"]
    parks = [e.tid for e in r.of("parking_lot.park", addr=evt.addr)]
    assert parks == [3, 4, 2]
    assert box["parked"] == parks
    unparks = r.of("parking_lot.unpark", addr=evt.addr)
    assert [(e.woken, e.mode, e.tid) for e in unparks] == [(t, "all", 1) for t in parks]
    wakes = r.of("parking_lot.wake", addr=evt.addr)
    assert {e.tid for e in wakes} == set(parks)
    assert all(e.result == "ok" for e in wakes)
    assert max(e.seq for e in unparks) < min(e.seq for e in wakes)
    words = r.of("lock.word", addr=evt.addr)
    assert [(e.op, e.bits_old, e.bits_new) for e in words] == [("set_parked", 0, 2), ("notify", 2, 1)]
    assert sorted(box["saw"]) == [(2, True), (3, True), (4, True)]


def test_event_notify_before_wait_returns_immediately(run_guest):
    box = {}

    def guest(rt):
        evt = rt.event("evt")
        box["evt"] = evt
        evt.notify()
        t0 = rt.now
        evt.wait()
        box["ok"] = evt.wait_timed(0, False)
        box["elapsed"] = rt.now - t0

    r = run_guest(guest).ok()
    evt = box["evt"]
    assert box["ok"] is True
    assert box["elapsed"] < 1000
    assert not r.of("parking_lot.park", addr=evt.addr)
    words = r.of("lock.word", addr=evt.addr)
    assert [(e.op, e.bits_old, e.bits_new) for e in words] == [("notify", 0, 1)]


def test_event_wait_timed_times_out(run_guest):
    box = {}

    def guest(rt):
        evt = rt.event("evt")
        box["evt"] = evt
        t0 = rt.now
        box["ret"] = evt.wait_timed(50_000, True)
        box["elapsed"] = rt.now - t0
        evt.notify()
        box["after"] = evt.wait_timed(50_000, True)

    r = run_guest(guest).ok()
    evt = box["evt"]
    assert box["ret"] is False
    assert box["after"] is True
    assert 50_000 <= box["elapsed"] <= 60_000
    [wake] = r.of("parking_lot.wake", addr=evt.addr)
    assert (wake.result, wake.timed_out) == ("timeout", False)
    # The timed-out waiter left the word at 2; notify sees it and finds nobody to wake.
    assert [(e.op, e.bits_old, e.bits_new) for e in r.of("lock.word", addr=evt.addr)] == [
        ("set_parked", 0, 2), ("notify", 2, 1)
    ]
    [unpark] = r.of("parking_lot.unpark", addr=evt.addr)
    assert (unpark.woken, unpark.mode) == (None, "all")


# -- OnceFlag --------------------------------------------------------------------------------
def test_once_runs_exactly_once_with_concurrent_callers(run_guest, test_seed):
    box = {}

    def guest(rt):
        once = rt.once_flag("once")
        box["once"] = once
        runs = rt.var("runs", 0)

        def init():
            runs.store(runs.load() + 1)
            rt.work(200_000)
            return 0

        def caller():
            box.setdefault("results", []).append(once.call_once(init))

        ts = [rt.start_thread(caller) for _ in range(4)]
        for t in ts:
            t.join()
        box["runs"] = runs.value
        box["results"].append(once.call_once(init))

    for strategy in ("random", "pct", "round_robin"):
        box.clear()
        r = run_guest(guest, strategy=strategy, seed=test_seed).ok()
        once = box["once"]
        assert box["runs"] == 1
        assert box["results"] == [0] * 5
        assert once.v == _Py_ONCE_INITIALIZED
        words = r.of("lock.word", addr=once.addr)
        assert [e.op for e in words].count("begin") == 1
        end = [e for e in words if e.op == "end"]
        assert len(end) == 1 and end[0].bits_new == _Py_ONCE_INITIALIZED
        # Others waited on the flag while init ran (it takes 200 us).
        assert r.of("parking_lot.park", addr=once.addr)
        assert end[0].bits_old == _Py_LOCKED | _Py_HAS_PARKED


def test_once_failure_leaves_it_retryable(run_guest):
    box = {}

    def guest(rt):
        once = rt.once_flag("once")
        box["once"] = once
        calls = []

        def init():
            calls.append(rt.tid)
            return -1 if len(calls) == 1 else 0

        box["first"] = once.call_once(init)
        box["v_after_fail"] = once.v
        box["second"] = once.call_once(init)
        box["third"] = once.call_once(init)
        box["calls"] = len(calls)

    r = run_guest(guest).ok()
    assert (box["first"], box["v_after_fail"]) == (-1, _Py_UNLOCKED)
    assert (box["second"], box["third"], box["calls"]) == (0, 0, 2)
    ops = [(e.op, e.bits_old, e.bits_new) for e in r.of("lock.word", addr=box["once"].addr)]
    assert ops == [("begin", 0, 1), ("end", 1, 0), ("begin", 0, 1), ("end", 1, 4)]


def test_once_failure_wakes_waiters_who_retry(run_guest, test_seed):
    box = {}

    def guest(rt):
        once = rt.once_flag("once")
        box["once"] = once
        calls = []

        def init():
            calls.append(rt.tid)
            rt.work(200_000)
            return -1 if len(calls) == 1 else 0

        def caller():
            box.setdefault("results", []).append(once.call_once(init))

        ts = [rt.start_thread(caller) for _ in range(3)]
        for t in ts:
            t.join()
        box["calls"] = list(calls)

    for seed in range(test_seed, test_seed + 3):
        box.clear()
        run_guest(guest, seed=seed).ok()
        assert sorted(box["results"]) == [-1, 0, 0]
        assert len(box["calls"]) == 2
        assert box["calls"][0] != box["calls"][1]
        assert box["once"].v == _Py_ONCE_INITIALIZED


def test_once_invalid_result_is_fatal(run_guest):
    r = run_guest(lambda rt: rt.once_flag("once").call_once(lambda: 7))
    assert r.failure.reason == "crash"
    assert "_PyOnceFlag_CallOnce" in r.failure.message


# -- RWMutex ----------------------------------------------------------------------------------
def test_rwmutex_readers_share_writer_excludes(run_guest, test_seed):
    box = {}

    def guest(rt):
        rw = rt.rwmutex("rw")
        box["rw"] = rw
        inside = {"readers": 0, "writer": 0, "max_readers": 0}
        box["inside"] = inside

        def reader(delay, hold):
            rt.work(delay)
            rw.rlock()
            assert inside["writer"] == 0 and not rw.bits & 1
            inside["readers"] += 1
            inside["max_readers"] = max(inside["max_readers"], inside["readers"])
            rt.work(hold)
            inside["readers"] -= 1
            rw.runlock()

        def writer(delay):
            rt.work(delay)
            rw.lock()
            assert inside["readers"] == 0 and inside["writer"] == 0
            assert rw.readers() == 0 and rw.bits & 1
            inside["writer"] += 1
            rt.work(300_000)
            inside["writer"] -= 1
            rw.unlock()

        ts = [
            rt.start_thread(reader, 0, 1 * MS, name="r1"),
            rt.start_thread(reader, 100_000, 1 * MS, name="r2"),
            rt.start_thread(writer, 300_000, name="w"),
            rt.start_thread(reader, 500_000, 100_000, name="r3"),
        ]
        for t in ts:
            t.join()

    for seed in range(test_seed, test_seed + 3):
        r = run_guest(guest, seed=seed).ok()
        rw = box["rw"]
        assert box["inside"]["max_readers"] == 2
        assert rw.bits == 0
        words = r.of("lock.word", addr=rw.addr)
        by = {(e.tid, e.op): e for e in words if e.op in ("rlock", "runlock", "wlock", "wunlock")}
        r1, r2, w, r3 = 2, 3, 4, 5
        # Two readers: the count lives above bit 1.
        assert (by[r1, "rlock"].bits_old, by[r1, "rlock"].bits_new) == (0, 1 << 2)
        assert (by[r2, "rlock"].bits_old, by[r2, "rlock"].bits_new) == (1 << 2, 2 << 2)
        # The writer waited for both readers, and set HAS_PARKED on top of the count.
        [wset] = [e for e in words if e.tid == w and e.op == "set_parked"]
        assert (wset.bits_old, wset.bits_new) == (2 << 2, (2 << 2) | 2)
        assert by[w, "wlock"].seq > max(by[r1, "runlock"].seq, by[r2, "runlock"].seq)
        assert by[w, "wlock"].bits_new & 1
        # Write preference: r3 arrived while only readers held it, but a writer was parked.
        assert by[r3, "rlock"].seq > by[w, "wunlock"].seq
        assert r.of("parking_lot.park", addr=rw.addr, tid=r3)


# -- SeqLock -------------------------------------------------------------------------------
def test_seqlock_write_abandon_and_read(run_guest):
    box = {}

    def guest(rt):
        sl = rt.seqlock("sl")
        box["sl"] = sl
        seen = []
        sl.lock_write()
        seen.append(sl.sequence)
        sl.unlock_write()
        seen.append(sl.sequence)
        sl.lock_write()
        seen.append(sl.sequence)
        sl.abandon_write()
        seen.append(sl.sequence)
        s = sl.begin_read()
        box["read"] = (s, sl.end_read(s))
        box["seen"] = seen

    r = run_guest(guest).ok()
    sl = box["sl"]
    assert box["seen"] == [1, 2, 3, 2]
    assert box["read"] == (2, True)
    ops = [(e.op, e.bits_old, e.bits_new) for e in r.of("lock.word", addr=sl.addr)]
    assert ops == [("write_lock", 0, 1), ("write_unlock", 1, 2), ("write_lock", 2, 3), ("write_abandon", 3, 2)]
    reads = [(e.seq_value, e.ok) for e in r.of("lock.seq_read", addr=sl.addr)]
    assert reads == [(2, True), (2, True)]


def test_seqlock_reader_overlapping_a_write_retries(run_guest):
    box = {}

    def guest(rt):
        sl = rt.seqlock("sl")
        box["sl"] = sl
        data = {"a": 0, "b": 0}

        def writer():
            rt.work(50_000)
            sl.lock_write()
            data["a"] = 1
            rt.work(100_000)
            data["b"] = 1
            sl.unlock_write()

        def reader():
            attempts = []
            while True:
                s = sl.begin_read()
                a = data["a"]
                rt.work(100_000)  # the writer starts in the middle of this read
                b = data["b"]
                ok = sl.end_read(s)
                attempts.append((s, ok, a, b))
                if ok:
                    break
            box["attempts"] = attempts

        ts = [rt.start_thread(writer, name="writer"), rt.start_thread(reader, name="reader")]
        for t in ts:
            t.join()

    r = run_guest(guest).ok()
    attempts = box["attempts"]
    assert attempts[0][:2] == (0, False)
    assert attempts[-1][1] is True
    s, _, a, b = attempts[-1]
    assert s % 2 == 0 and (a, b) == (1, 1)
    reads = r.of("lock.seq_read", addr=box["sl"].addr)
    assert (reads[1].seq_value, reads[1].ok) != (0, True)
    assert any(not e.ok for e in reads)
    # No successful begin_read ever returned an odd sequence.
    assert all(e.seq_value % 2 == 0 for e in reads if e.ok)


def test_seqlock_begin_read_waits_out_a_writer(run_guest):
    box = {}

    def guest(rt):
        sl = rt.seqlock("sl")
        box["sl"] = sl
        sl.lock_write()

        def reader():
            box["began"] = sl.begin_read()
            box["at"] = rt.now

        t = rt.start_thread(reader, name="reader")
        rt.work(200_000)
        box["unlock_at"] = rt.now
        sl.unlock_write()
        t.join()

    run_guest(guest).ok()
    assert box["began"] == 2
    assert box["at"] >= box["unlock_at"]


# -- RecursiveMutex ----------------------------------------------------------------------------
def test_recursive_mutex_levels_and_foreign_unlock(run_guest):
    box = {}

    def guest(rt):
        rm = rt.recursive_mutex("rm")
        box["rm"] = rm
        rm.lock()
        rm.lock()
        box["level"] = rm.level
        t = rt.start_thread(lambda: box.setdefault("foreign", rm.unlock()), name="other")
        t.join()
        box["after_foreign"] = (rm.thread, rm.level, rm.mutex.bits)
        assert rm.unlock() == 0
        box["mid"] = (rm.thread, rm.level, rm.mutex.bits)
        assert rm.unlock() == 0
        box["end"] = (rm.thread, rm.level, rm.mutex.bits)
        box["unowned"] = rm.unlock()

    r = run_guest(guest).ok()
    rm = box["rm"]
    assert box["level"] == 1
    assert box["foreign"] == -1
    assert box["after_foreign"] == (1, 1, _Py_LOCKED)
    assert box["mid"] == (1, 0, _Py_LOCKED)
    assert box["end"] == (0, 0, _Py_UNLOCKED)
    assert box["unowned"] == -1
    ev = [(e.op, e.level, e.owner, e.tid) for e in r.of("lock.recursive", mutex=rm.addr)]
    assert ev == [("acquire", 0, 1, 1), ("acquire", 1, 1, 1), ("release", 0, 1, 1), ("release", 0, None, 1)]
    assert [e.via for e in r.of("lock.acquire", mutex=rm.addr)] == ["fast"]
    assert [e.via for e in r.of("lock.release", mutex=rm.addr)] == ["fast"]


def test_recursive_mutex_excludes_other_threads(run_guest):
    box = {}

    def guest(rt):
        rm = rt.recursive_mutex("rm")
        box["rm"] = rm
        rm.lock()

        def other():
            rm.lock()
            box["other_at"] = rt.now
            rm.unlock()

        t = rt.start_thread(other, name="other")
        rt.work(300_000)
        box["release_at"] = rt.now
        rm.unlock()
        t.join()

    r = run_guest(guest).ok()
    assert box["other_at"] > box["release_at"]
    assert r.of("parking_lot.park", addr=box["rm"].addr, tid=2)


# -- RawMutex ----------------------------------------------------------------------------------
def test_raw_mutex_blocks_and_wakes_without_the_parking_lot(run_guest):
    box = {}

    def guest(rt):
        raw = rt.raw_mutex("raw")
        box["raw"] = raw
        raw.lock()

        def other():
            raw.lock()
            box["got_at"] = rt.now
            raw.unlock()

        t = rt.start_thread(other, name="other")
        rt.work(300_000)
        sim = rt.engine.threads[t.ident]
        box["while_blocked"] = (sim.state, sim.wait_what, sim.tstate.state, len(raw.stack))
        box["release_at"] = rt.now
        raw.unlock()
        t.join()

    r = run_guest(guest).ok()
    raw = box["raw"]
    assert box["while_blocked"] == (ThreadRun.BLOCKED, "raw mutex 'raw'", ATTACHED, 1)
    assert box["got_at"] > box["release_at"]
    assert not [e for e in r.events if e.kind.startswith("parking_lot") and e.addr == raw.addr]
    assert not [e for e in r.events if e.kind == "pystate.detach" and e.tid == 2]
    ops = [(e.tid, e.op, e.bits_old, e.bits_new) for e in r.of("lock.word", addr=raw.addr)]
    waiter_word = (2 << 1) | 1  # LOCKED plus the top waiter (T2) as the "pointer"
    assert ops == [
        (1, "lock", 0, 1),
        (2, "push_waiter", 1, waiter_word),
        (1, "unlock", waiter_word, 0),
        (2, "lock", 0, 1),
        (2, "unlock", 1, 0),
    ]
    assert raw.v == 0 and not raw.stack


def test_raw_mutex_unlock_when_unlocked_is_fatal(run_guest):
    r = run_guest(lambda rt: rt.raw_mutex("raw").unlock())
    assert r.failure.reason == "crash"
    assert "not locked" in r.failure.message
