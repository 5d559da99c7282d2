"""Stop-the-world and eval-breaker scenarios."""

from __future__ import annotations

from ..runtime.ceval_gil import AsyncException
from ..runtime.pystate import ATTACHED, STATE_NAMES, SUSPENDED
from . import scenario


@scenario(
    "stw_storm",
    "frequent stop-the-world pauses while worker threads lock a mutex (parking detached), allocate objects and "
    "append them to a shared list; inside each pause the guest checks that every other thread is suspended, "
    "and one thread started during a pause must not run before the world restarts",
    steps_hint=2200,
    threads="worker threads",
    iterations="rounds per worker",
    pauses="stop-the-world pauses",
    scope="'interp' (_PyEval_StopTheWorld) or 'global' (_PyEval_StopTheWorldAll)",
)
def stw_storm(rt, threads: int = 3, iterations: int = 12, pauses: int = 5, scope: str = "interp"):
    lock = rt.mutex("counter_lock")
    counter = rt.var("counter", 0)
    lst = rt.new_list("shared_list")
    late_ran = rt.var("late_ran", 0)
    paused_count = rt.var("pauses_done", 0)
    late = []

    def worker(i: int):
        for k in range(iterations):
            lock.lock()  # may park detached: the requester flips us to SUSPENDED
            counter.store(counter.load() + 1)
            rt.work(300)
            lock.unlock()
            o = rt.new_object("int")
            lst.append(o)
            o.decref()
            rt.work(500)  # eval-breaker checks: PLEASE_STOP is handled here

    def late_thread():
        assert paused_count.load() >= 3, "a thread started during a pause ran before the world restarted"
        late_ran.store(1)

    def pauser():
        me = rt.engine.cur.tstate
        for p in range(pauses):
            rt.work(2000)
            with rt.stopped_world(scope):
                for t in rt.pystate.main_interp.threads:
                    if t is not me:
                        assert t.state == SUSPENDED, (
                            f"thread {t.id} is {STATE_NAMES[t.state]} while the world is stopped by {me.id}")
                if p == 2:
                    late.append(rt.start_thread(late_thread, name="late"))
                    assert late[0].tstate.state == SUSPENDED, "a thread created during a pause is not suspended"
                rt.work(1000)
                paused_count.store(p + 1)

    ts = [rt.start_thread(worker, i, name=f"worker-{i + 1}") for i in range(threads)]
    ts.append(rt.start_thread(pauser, name="pauser"))
    for t in ts:
        t.join()
    for t in late:
        t.join()
    assert counter.load() == threads * iterations, f"counter is {counter.load()}"
    assert len(lst) == threads * iterations
    assert late_ran.load() == (1 if pauses > 2 else 0)
    assert all(t.state != ATTACHED for t in rt.pystate.main_interp.threads if t is not rt.engine.cur.tstate)
    lst.clear()
    lst.op.decref()


@scenario(
    "async_exc",
    "PyThreadState_SetAsyncExc stops one busy thread at its next eval-breaker check while the other threads "
    "finish their work undisturbed",
    steps_hint=300,
    threads="threads that must finish (besides the one stopped)",
    iterations="work rounds of each such thread",
)
def async_exc(rt, threads: int = 2, iterations: int = 20):
    done = [rt.var(f"done-{i + 1}", 0) for i in range(threads)]
    stopped = rt.var("stopped_by", 0)
    spins = rt.var("victim_rounds", 0)

    def victim():
        n = 0
        try:
            while True:  # runs until the asynchronous exception arrives
                rt.work(1000)
                n += 1
                spins.store(n)
        except AsyncException as e:
            assert e.name == "KeyboardInterrupt", e.name
            stopped.store(1)

    def worker(i: int):
        for k in range(iterations):
            rt.work(1000)
            done[i].store(k + 1)

    v = rt.start_thread(victim, name="victim")
    ws = [rt.start_thread(worker, i, name=f"worker-{i + 1}") for i in range(threads)]
    rt.work(5000)
    rt.set_async_exc(v, "KeyboardInterrupt")
    v.join()
    for w in ws:
        w.join()
    assert stopped.load() == 1, "the victim was not stopped"
    for i in range(threads):
        assert done[i].load() == iterations, f"worker-{i + 1} stopped at {done[i].load()} of {iterations}"


@scenario(
    "instrumentation_clear",
    "monitoring is enabled (a new instrumentation version copied into every thread's eval breaker under "
    "stop-the-world), threads call functions (RESUME instruments their code), then interpreter_clear releases "
    "a global whose finalizer is Python code; with --bug instrumentation_version_clear its RESUME loops forever",
    steps_hint=160,
    threads="threads calling instrumented functions before the clear",
    calls="calls per thread",
)
def instrumentation_clear(rt, threads: int = 2, calls: int = 3):
    ran = rt.var("finalizers_ran", 0)
    work = rt.code(lambda: rt.work(200), "work")

    def __del__(op):
        ran.store(ran.load() + 1)

    del_code = rt.code(__del__, "C.__del__")
    version = rt.enable_monitoring()
    assert version > 0

    def caller():
        for _ in range(calls):
            rt.call(work)

    ts = [rt.start_thread(caller, name=f"caller-{i + 1}") for i in range(threads)]
    for t in ts:
        t.join()
    assert work._co_instrumentation_version == version, "RESUME did not instrument the called code"
    obj = rt.new_object("C", dealloc=lambda op: rt.call(del_code, op), name="c")
    rt.set_global("c", obj)
    obj.decref()  # the global holds the only reference now
    rt.interpreter_clear()
    assert ran.load() == 1, "the finalizer did not run"


@scenario(
    "gc_cycles",
    "threads build reference cycles that span threads (one node from each of two threads) and drop them; "
    "allocation counts schedule collections through the eval breaker, which stop the world, compute gc_refs "
    "over the GC heaps and free the cycles; a final gc.collect() must leave every cycle collected",
    steps_hint=100000,
    threads="threads building cycles",
    cycles="cycles per thread",
    finalizers="every this many cycles, one node has a finalizer (0: none)",
)
def gc_cycles(rt, threads: int = 4, cycles: int = 600, finalizers: int = 50):
    freed: dict[int, int] = {}
    created = rt.var("nodes_created", 0)
    finalized = rt.var("finalized", 0)
    count_lock = rt.mutex("count_lock")
    inboxes = [rt.new_list(f"inbox-{i + 1}") for i in range(threads)]
    total = [0]

    def on_dealloc(op) -> None:
        freed[op.obj] = freed.get(op.obj, 0) + 1

    def on_finalize(op) -> None:
        finalized.store(finalized.load() + 1)

    def node(name: str):
        o = rt.new_object("Node", size=48, gc=True, dealloc=on_dealloc)
        total[0] += 1
        return o

    def builder(i: int):
        mine = inboxes[i]
        peer = inboxes[(i + 1) % threads]
        made = 0
        for c in range(cycles):
            gift = node("gift")  # for the neighbour: its cycle will span two threads
            peer.append(gift)
            gift.decref()
            a = node("a")
            made += 2
            try:
                b = mine.pop()  # created by the other thread
            except IndexError:
                b = node("b")
                made += 1
            if finalizers and c % finalizers == 0:
                a.tp_finalize = on_finalize
            a.add_ref(b)
            b.add_ref(a)
            a.decref()
            b.decref()  # only the cycle keeps them alive now
            rt.work(100)
        with count_lock:
            created.store(created.load() + made)

    ts = [rt.start_thread(builder, i, name=f"builder-{i + 1}") for i in range(threads)]
    for t in ts:
        t.join()
    for box in inboxes:
        box.clear()  # gifts nobody took
    rt.gc_collect()
    for box in inboxes:
        box.op.decref()
    rt.work(0)
    nodes = total[0]
    assert created.load() <= nodes
    dead = sum(1 for n in freed.values() if n == 1)
    twice = [o for o, n in freed.items() if n != 1]
    assert not twice, f"nodes deallocated more than once: {twice[:5]}"
    assert dead == nodes, f"{nodes - dead} of {nodes} nodes were not collected"
    expected_fin = threads * len(range(0, cycles, finalizers)) if finalizers else 0
    assert finalized.load() == expected_fin, f"{finalized.load()} finalizers ran, expected {expected_fin}"


@scenario(
    "gil_switch",
    "CPU-bound threads in the GIL build (its default; --set build=ft --set gil=1 is PYTHON_GIL=1 in the "
    "free-threaded build): a waiter asks the holder to drop the GIL after each 5 ms switch interval, the "
    "holder drops it at its next eval-breaker check and waits until another thread has taken it",
    steps_hint=1100,
    knobs={"build": "gil"},
    threads="CPU-bound threads",
    work_ms="milliseconds of virtual CPU work per thread",
    chunk_us="microseconds of work between eval-breaker checks",
)
def gil_switch(rt, threads: int = 3, work_ms: int = 20, chunk_us: int = 100):
    done = [rt.var(f"done-{i + 1}", 0) for i in range(threads)]
    chunks = work_ms * 1000 // chunk_us

    def cpu(i: int):
        for k in range(chunks):
            rt.work(chunk_us * 1000)  # bytecodes between checks: the GIL is held throughout
        done[i].store(1)

    ts = [rt.start_thread(cpu, i, name=f"cpu-{i + 1}") for i in range(threads)]
    for t in ts:
        t.join()
    assert all(d.load() == 1 for d in done)
