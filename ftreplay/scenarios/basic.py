"""The lock-family scenarios."""

from __future__ import annotations

from . import scenario


@scenario(
    "mutex_counter",
    "threads increment one plain shared counter under one PyMutex; the guest checks the total",
    steps_hint=5200,
    threads="worker threads",
    iterations="increments per thread",
    work_ns="guest work inside the critical section (virtual ns)",
)
def mutex_counter(rt, threads: int = 4, iterations: int = 100, work_ns: int = 2000):
    lock = rt.mutex("counter_lock")
    counter = rt.var("counter", 0)

    def worker():
        for _ in range(iterations):
            lock.lock()
            value = counter.load()
            rt.work(work_ns)
            counter.store(value + 1)
            lock.unlock()

    workers = [rt.start_thread(worker, name=f"worker-{i + 1}") for i in range(threads)]
    for w in workers:
        w.join()
    total = counter.load()
    assert total == threads * iterations, f"counter is {total}, expected {threads * iterations}"


@scenario(
    "event_notify",
    "several threads wait on one PyEvent; one thread notifies it; every waiter must see it set",
    steps_hint=300,
    waiters="waiting threads",
    delay_ns="virtual time the notifier works before notifying",
)
def event_notify(rt, waiters: int = 4, delay_ns: int = 50_000):
    evt = rt.event("ready")
    seen = rt.var("seen", 0)
    seen_lock = rt.mutex("seen_lock")

    def waiter():
        evt.wait()
        assert evt.is_set(), "woke from PyEvent_Wait with the event unset"
        seen_lock.lock()
        seen.store(seen.load() + 1)
        seen_lock.unlock()

    def notifier():
        rt.work(delay_ns)
        evt.notify()

    threads = [rt.start_thread(waiter, name=f"waiter-{i + 1}") for i in range(waiters)]
    threads.append(rt.start_thread(notifier, name="notifier"))
    for t in threads:
        t.join()
    assert seen.load() == waiters, f"{seen.load()} of {waiters} waiters saw the event"


@scenario(
    "join_race",
    "threads B and C both join thread A (the _tstate_lock join race of gh-116372 with --bug join_tstate_lock_race)",
    steps_hint=200,
    bugs=("join_tstate_lock_race",),
    joiners="threads that join A (B, C, ...)",
    work_ns="virtual time thread A works before exiting; over 1 ms, joiners parked on A's lock get it handed off",
)
def join_race(rt, joiners: int = 2, work_ns: int = 1_500_000):
    def a():
        rt.work(work_ns)

    thread_a = rt.start_thread(a, name="A")

    def joiner():
        thread_a.join()

    others = [rt.start_thread(joiner, name=chr(ord("B") + i) if i < 24 else f"J{i}") for i in range(joiners)]
    for t in others:
        t.join()
    thread_a.join()


@scenario(
    "lock_order",
    "two threads take two PyMutexes in opposite orders: a lock-order inversion that deadlocks on some schedules",
    steps_hint=140,
    iterations="times each thread takes both locks",
    work_ns="guest work while holding the first lock",
)
def lock_order(rt, iterations: int = 3, work_ns: int = 0):
    a = rt.mutex("lock_a")
    b = rt.mutex("lock_b")

    def forward():
        for _ in range(iterations):
            a.lock()
            rt.work(work_ns)
            b.lock()
            b.unlock()
            a.unlock()

    def backward():
        for _ in range(iterations):
            b.lock()
            rt.work(work_ns)
            a.lock()
            a.unlock()
            b.unlock()

    t1 = rt.start_thread(forward, name="forward")
    t2 = rt.start_thread(backward, name="backward")
    t1.join()
    t2.join()
