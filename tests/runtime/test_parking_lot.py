"""Python/parking_lot.c model: buckets, compare-and-sleep, FIFO wake-ups, timeouts and the
``is_unparking`` race between a waiter's timer and an unparker."""

from __future__ import annotations

from ftreplay.runtime.parking_lot import NUM_BUCKETS, ParkResult

MS = 1_000_000


def park_on(rt, addr, expected=0, timeout_ns=None, arg=None, value=0):
    return rt.parking_lot.park(addr, lambda: value, expected, timeout_ns, arg)


def test_bucket_table_and_index(run_guest):
    box = {}

    def guest(rt):
        pl = rt.parking_lot
        assert NUM_BUCKETS == 257
        assert len(pl.buckets) == 257
        addrs = [rt.alloc(8, f"w{i}") for i in range(3)] + [257 * 1000 + 5, 0x7F0000100000 + 257]
        box["addrs"] = addrs
        for a in addrs:
            assert pl.bucket_of(a) is pl.buckets[a % 257]
            assert pl.bucket_of(a).index == a % 257
            park_on(rt, a, expected=1)  # value differs: AGAIN, but the event names the bucket

    r = run_guest(guest).ok()
    parks = r.of("parking_lot.park")
    assert [(e.addr, e.bucket) for e in parks] == [(a, a % 257) for a in box["addrs"]]


def test_park_returns_again_when_value_differs(run_guest):
    box = {}

    def guest(rt):
        addr = rt.alloc(8, "word")
        box["addr"] = addr
        t0 = rt.now
        box["ret"] = rt.parking_lot.park(addr, lambda: 5, 7, None, "arg")
        box["elapsed"] = rt.now - t0
        box["waiters"] = rt.parking_lot.waiters(addr)
        box["num"] = rt.parking_lot.bucket_of(addr).num_waiters

    r = run_guest(guest).ok()
    addr = box["addr"]
    assert box["ret"] == ParkResult.AGAIN
    assert box["waiters"] == [] and box["num"] == 0
    assert box["elapsed"] < 1000  # never slept
    evs = [e for e in r.events if e.kind.startswith("parking_lot") and e.addr == addr]
    assert [e.kind for e in evs] == ["parking_lot.park", "parking_lot.wake"]
    park, wake = evs
    assert (park.expected, park.qlen, park.timeout_ns) == (7, 0, None)
    assert (wake.result, wake.timed_out, wake.pos) == ("again", False, None)


def _parkers(rt, box, addrs_and_delays, unparks, gap=200_000):
    """Start one parker per (addr, delay); once all are parked, ``unpark`` each addr of
    ``unparks`` in turn, collecting (callback arg, has_more, returned tid)."""
    pl = rt.parking_lot
    results = {}
    box["results"] = results
    box["calls"] = calls = []

    def parker(addr, delay, arg):
        rt.work(delay)
        results[arg] = pl.park(addr, lambda: 0, 0, None, arg)

    ts = [rt.start_thread(parker, a, d, f"P{i}", name=f"P{i}") for i, (a, d) in enumerate(addrs_and_delays)]
    box["tids"] = {f"P{i}": t.ident for i, t in enumerate(ts)}
    rt.work(gap * (len(ts) + 1))
    box["queued"] = {a: pl.waiters(a) for a, _ in addrs_and_delays}
    for a in unparks:
        tid = pl.unpark(a, lambda arg, more: calls.append((arg, more)))
        calls[-1] += (tid,)
    for t in ts:
        t.join()


def test_unpark_is_fifo_per_address(run_guest):
    box = {}

    def guest(rt):
        a = rt.alloc(8, "word")
        box["a"] = a
        # Started P0, P1, P2 but parked P1, P2, P0.
        _parkers(rt, box, [(a, 300_000), (a, 100_000), (a, 200_000)], [a, a, a])

    r = run_guest(guest).ok()
    tids = box["tids"]
    order = [tids["P1"], tids["P2"], tids["P0"]]
    assert box["queued"][box["a"]] == order
    assert box["calls"] == [("P1", True, order[0]), ("P2", True, order[1]), ("P0", False, order[2])]
    assert box["results"] == {"P0": ParkResult.OK, "P1": ParkResult.OK, "P2": ParkResult.OK}
    unparks = r.of("parking_lot.unpark", addr=box["a"])
    assert [(e.woken, e.has_more, e.mode, e.pos) for e in unparks] == [
        (order[0], True, "one", 0), (order[1], True, "one", 0), (order[2], False, "one", 0)
    ]
    parks = r.of("parking_lot.park", addr=box["a"])
    assert [(e.tid, e.qlen) for e in parks] == [(order[0], 1), (order[1], 2), (order[2], 3)]


def test_has_more_counts_other_addresses_in_the_bucket(run_guest):
    box = {}

    def guest(rt):
        a = rt.alloc(8, "a")
        b = a + NUM_BUCKETS * 16  # a different address in the same bucket
        assert a % NUM_BUCKETS == b % NUM_BUCKETS
        box["a"], box["b"] = a, b
        _parkers(rt, box, [(a, 100_000), (b, 200_000), (a, 300_000)], [a, a, b])

    r = run_guest(guest).ok()
    a, b = box["a"], box["b"]
    tids = box["tids"]
    assert box["queued"] == {a: [tids["P0"], tids["P2"]], b: [tids["P1"]]}
    # Waking P2 (the last waiter on a) still reports more waiters: P1 waits on b.
    assert box["calls"] == [("P0", True, tids["P0"]), ("P2", True, tids["P2"]), ("P1", False, tids["P1"])]
    parks = r.of("parking_lot.park")
    assert [(e.addr, e.qlen) for e in parks if e.addr in (a, b)] == [(a, 1), (b, 2), (a, 3)]
    # Queue positions at removal: [P0 a, P1 b, P2 a] -> P0 at 0; [P1 b, P2 a] -> P2 at 1; P1 at 0.
    unparks = [e for e in r.of("parking_lot.unpark") if e.addr in (a, b)]
    assert [(e.addr, e.woken, e.pos) for e in unparks] == [(a, tids["P0"], 0), (a, tids["P2"], 1), (b, tids["P1"], 0)]
    assert len({e.bucket for e in parks if e.addr in (a, b)}) == 1


def test_unpark_with_nobody_waiting_calls_back_with_none(run_guest):
    box = {}

    def guest(rt):
        a = rt.alloc(8, "a")
        box["a"] = a
        calls = []
        # Somebody waits in the same bucket on another address: has_more is still False.
        other = a + NUM_BUCKETS * 16

        def parker():
            rt.parking_lot.park(other, lambda: 0, 0, None, "other")

        t = rt.start_thread(parker)
        rt.work(100_000)
        box["ret"] = rt.parking_lot.unpark(a, lambda arg, more: calls.append((arg, more)))
        box["calls"] = calls
        box["still"] = rt.parking_lot.waiters(other)
        rt.parking_lot.unpark(other, lambda arg, more: None)
        t.join()

    r = run_guest(guest).ok()
    assert box["ret"] is None
    assert box["calls"] == [(None, False)]
    assert box["still"] == [2]
    [u] = r.of("parking_lot.unpark", addr=box["a"])
    assert (u.woken, u.has_more, u.mode, u.pos) == (None, False, "one", None)


def test_unpark_all_wakes_every_waiter_on_the_address_in_order(run_guest):
    box = {}

    def guest(rt):
        pl = rt.parking_lot
        a = rt.alloc(8, "a")
        b = a + NUM_BUCKETS * 16
        box["a"] = a

        def parker(addr, delay):
            rt.work(delay)
            pl.park(addr, lambda: 0, 0, None, None)

        ts = [rt.start_thread(parker, x, d) for x, d in ((a, 300_000), (b, 100_000), (a, 200_000))]
        rt.work(1 * MS)
        box["n"] = pl.unpark_all(a)
        box["left"] = pl.waiters(b)
        pl.unpark_all(b)
        for t in ts:
            t.join()

    r = run_guest(guest).ok()
    assert box["n"] == 2
    assert box["left"] == [3]
    ev = r.of("parking_lot.unpark", addr=box["a"])
    # Queue [T3 b, T4 a, T2 a]: T4 leaves from index 1, then T2 from index 1 of [T3, T2].
    assert [(e.woken, e.has_more, e.mode, e.pos) for e in ev] == [(4, True, "all", 1), (2, True, "all", 1)]


def test_park_timeout_returns_timeout_and_dequeues(run_guest):
    box = {}

    def guest(rt):
        pl = rt.parking_lot
        a = rt.alloc(8, "a")
        box["a"] = a
        t0 = rt.now
        box["ret"] = pl.park(a, lambda: 0, 0, 30_000, "me")
        box["elapsed"] = rt.now - t0
        box["after"] = (pl.waiters(a), pl.bucket_of(a).num_waiters)
        calls = []
        pl.unpark(a, lambda arg, more: calls.append((arg, more)))
        box["calls"] = calls

    r = run_guest(guest).ok()
    assert box["ret"] == ParkResult.TIMEOUT
    assert 30_000 <= box["elapsed"] < 40_000
    assert box["after"] == ([], 0)
    assert box["calls"] == [(None, False)]  # the entry is gone
    [park] = r.of("parking_lot.park", addr=box["a"])
    assert (park.timeout_ns, park.qlen) == (30_000, 1)
    [wake] = r.of("parking_lot.wake", addr=box["a"])
    assert (wake.result, wake.timed_out, wake.pos) == ("timeout", False, 0)


def test_park_detaches_only_when_asked(run_guest):
    box = {}

    def guest(rt):
        pl = rt.parking_lot
        a = rt.alloc(8, "a")
        box["a"] = a
        pl.park(a, lambda: 0, 0, 10_000, None, detach=False)
        pl.park(a, lambda: 0, 0, 10_000, None, detach=True)

    r = run_guest(guest).ok()
    a = box["a"]
    p1, p2 = r.of("parking_lot.park", addr=a)
    w1, w2 = r.of("parking_lot.wake", addr=a)
    assert (p1.detach, p2.detach) == (False, True)
    assert not [e for e in r.events if e.kind in ("pystate.detach", "pystate.attach") and p1.seq < e.seq < w1.seq]
    d = [e for e in r.events if e.kind == "pystate.detach" and p2.seq < e.seq < w2.seq]
    at = [e for e in r.events if e.kind == "pystate.attach" and e.seq > w2.seq]
    assert [(e.thread, e.old, e.new) for e in d] == [(1, "attached", "detached")]
    assert [(e.thread, e.old, e.new) for e in at] == [(1, "detached", "attached")]


def _race(out, timeout_ns, delay_ns):
    """A waiter parks with a tiny timeout; an unparker wakes it at about the same time."""

    def guest(rt):
        pl = rt.parking_lot
        addr = rt.alloc(8, "word")
        out["addr"] = addr

        def waiter():
            out["ret"] = pl.park(addr, lambda: 0, 0, timeout_ns, "W")

        def unparker():
            rt.work(delay_ns)
            out["woke"] = pl.unpark(addr, lambda arg, more: out.setdefault("cb", (arg, more)))

        ts = [rt.start_thread(waiter, name="waiter"), rt.start_thread(unparker, name="unparker")]
        for t in ts:
            t.join()

    return guest


def test_timeout_after_dequeue_returns_ok(run_guest, test_seed):
    """A waiter whose timer fires after an unparker dequeued it (before the post) must
    absorb the post and return OK: the unparker's decision (e.g. a hand-off) stands."""
    found = None
    outcomes = set()
    for seed in range(test_seed, test_seed + 2000):
        out = {}
        r = run_guest(_race(out, 1000, 1000), seed=seed).ok()
        [wake] = r.of("parking_lot.wake", addr=out["addr"])
        outcomes.add((wake.result, wake.timed_out))
        # Whatever happened, the waiter's result agrees with the unparker's view.
        if out.get("cb") is not None and out["cb"][0] == "W":
            assert out["ret"] == ParkResult.OK and wake.result == "ok"
            assert out["woke"] == 2
        else:
            assert out["ret"] == ParkResult.TIMEOUT and wake.result == "timeout"
            assert out["cb"] == (None, False)
        if wake.timed_out and found is None:
            found = seed
            unpark = r.of("parking_lot.unpark", addr=out["addr"])[0]
            assert wake.result == "ok"
            assert wake.pos is None  # the unparker removed it, not the waiter
            assert unpark.pos == 0
            assert out["ret"] == ParkResult.OK
            assert unpark.seq < wake.seq
        if found is not None and {("timeout", False), ("ok", False)} <= outcomes:
            break
    print(f"is_unparking race found at seed {found}; outcomes {sorted(outcomes)}")
    assert found is not None, "no seed reproduced the is_unparking race"
    assert ("timeout", False) in outcomes and ("ok", False) in outcomes


def _timed_vs_holder(box, hold):
    from ftreplay.runtime.lock import ACQUIRED, DETACH

    def guest(rt):
        m = rt.mutex("m")
        box["m"] = m

        def holder():
            m.lock()
            rt.work(hold)
            m.unlock()

        def timed():
            rt.work(20_000)
            box["ret"] = m.lock_timed(2 * MS, DETACH)
            if box["ret"] == ACQUIRED:
                m.unlock()

        ts = [rt.start_thread(holder), rt.start_thread(timed)]
        box["tids"] = [t.ident for t in ts]
        for t in ts:
            t.join()
        box["final_bits"] = m.bits

    return guest


def test_timeout_after_dequeue_keeps_the_mutex_handoff(run_guest, test_seed):
    """The same race on a PyMutex: the timer of a timed lock fires after the unlocker handed
    the lock off; the waiter must return ACQUIRED, not FAILURE (the lock would be lost)."""
    from ftreplay.runtime.lock import ACQUIRED, FAILURE

    found = None
    for seed in range(test_seed, test_seed + 5):
        # Probe: when does the holder take the lock, and when does the waiter's timer start?
        box = {}
        r = run_guest(_timed_vs_holder(box, 3 * MS), seed=seed).ok()
        ht, wt = box["tids"]
        m = box["m"]
        assert box["ret"] == FAILURE
        acq = r.of("lock.acquire", mutex=m.addr, tid=ht)[0]
        park = r.of("parking_lot.park", addr=m.addr, tid=wt)[0]
        guess = park.ts + 2 * MS - acq.ts
        for hold in range(guess - 3000, guess + 3000, 10):
            box = {}
            r = run_guest(_timed_vs_holder(box, hold), seed=seed)
            assert r.failure is None, f"seed {seed} hold {hold}: {r.failure.reason}: {r.failure.message}"
            assert box["final_bits"] == 0
            assert box["ret"] in (ACQUIRED, FAILURE)
            [wake] = r.of("parking_lot.wake", addr=box["m"].addr, tid=wt)
            if wake.result == "ok":
                assert box["ret"] == ACQUIRED
            if wake.timed_out:
                assert wake.result == "ok"
                assert box["ret"] == ACQUIRED
                assert r.of("lock.acquire", mutex=box["m"].addr, tid=wt)[-1].via == "handoff"
                assert not r.of("lock.fail", mutex=box["m"].addr)
                found = (seed, hold)
                break
        if found:
            break
    print(f"mutex is_unparking race found at (seed, hold) = {found}")
    assert found is not None
