"""Memory scenarios: lists and dicts read without locks, QSBR-delayed frees, mimalloc pages
and segments across threads."""

from __future__ import annotations

from . import scenario


class _Tally:
    """Counts tp_dealloc calls per object so a guest can check each died exactly once."""

    def __init__(self) -> None:
        self.freed: dict[int, int] = {}
        self.created = 0

    def __call__(self, op) -> None:
        self.freed[op.obj] = self.freed.get(op.obj, 0) + 1

    def new(self, rt, type: str = "int", size: int = 32, gc: bool = False, name: str = ""):
        self.created += 1
        return rt.new_object(type, size=size, gc=gc, dealloc=self, name=name)

    def check_all_freed_once(self) -> None:
        assert len(self.freed) == self.created, f"{self.created - len(self.freed)} of {self.created} objects leaked"
        twice = [o for o, n in self.freed.items() if n != 1]
        assert not twice, f"objects deallocated more than once: {twice[:5]}"


@scenario(
    "list_append",
    "threads append objects they create to one shared list while a reader reads it without locks; resizes of "
    "the shared list free the old item arrays through QSBR; the guest checks every item and refcount, then "
    "clears the list and checks every object is freed once",
    steps_hint=2000,
    threads="appending threads",
    items="objects each thread appends",
    reads="lock-free reads by the reader thread",
)
def list_append(rt, threads: int = 3, items: int = 12, reads: int = 30):
    tally = _Tally()
    lst = rt.new_list("shared_list")
    done = rt.var("appenders_done", 0)
    done_lock = rt.mutex("done_lock")

    def appender(i: int):
        for k in range(items):
            o = tally.new(rt, "int", 32)
            lst.append(o)
            o.decref()  # the list keeps the only reference
        with done_lock:
            done.store(done.load() + 1)

    def reader():
        n = 0
        while n < reads:
            size = len(lst)
            if size:
                v = lst.get_item_ref((n * 7) % size)
                if v is not None:
                    rt.work(200)
                    v.decref()
            else:
                rt.work(500)
            n += 1

    ts = [rt.start_thread(appender, i, name=f"appender-{i + 1}") for i in range(threads)]
    ts.append(rt.start_thread(reader, name="reader"))
    for t in ts:
        t.join()
    assert done.load() == threads
    assert len(lst) == threads * items, f"list has {len(lst)} items, expected {threads * items}"
    seen = set()
    for k in range(threads * items):
        v = lst.get_item_ref(k)
        assert v is not None and v.alive, f"item {k} is missing or dead"
        assert v.refcnt() == 2, f"item {k} {v!r} has refcount {v.refcnt()}, expected 2 (list + this read)"
        seen.add(v.obj)
        v.decref()
    assert len(seen) == threads * items, "an object was appended twice"
    lst.clear()
    rt.work(0)  # a periodic check: merges anything queued to us
    lst.op.decref()
    tally.check_all_freed_once()
    rt.obmalloc.check_invariants()


@scenario(
    "lockfree_read",
    "readers read a shared list without locks while a writer grows, clears and regrows it (old item arrays are "
    "freed through QSBR) and replaces item 0 with objects of two size classes nothing else uses, then "
    "allocates buffers (an emptied object page must wait for QSBR before it is reused for them); the bug flags "
    "free_delayed_without_qsbr, mimalloc_page_immediate_reuse and debug_fill_refcount_fields each make some "
    "seed fail with use_after_free",
    steps_hint=2000,
    readers="reader threads",
    rounds="writer rounds (append, replace item 0, allocate a buffer)",
    clear_every="the writer clears the list every this many rounds (0: never)",
    reads="reads per reader",
)
def lockfree_read(rt, readers: int = 2, rounds: int = 24, clear_every: int = 6, reads: int = 40):
    tally = _Tally()
    lst = rt.new_list("L")
    first = tally.new(rt, "int", 32, name="seed_item")
    lst.append(first)
    first.decref()

    def writer():
        for r in range(rounds):
            o = tally.new(rt, "int", 32)
            lst.append(o)
            o.decref()
            # Objects of a size class nothing else uses, alternating between two, so the one
            # replaced is alone on its page: freeing it empties the page.
            x = tally.new(rt, "Rare" + "AB"[r % 2], 1024 + 512 * (r % 2), name=f"rare-{r}")
            lst[0] = x
            x.decref()
            # A buffer: a fresh page for it may be carved from slices an empty object page
            # gave back (only once no reader can still hold a pointer into that page).
            buf = rt.malloc(4096 + 64 * (r % 4))
            buf.read()
            buf.free()
            if clear_every and r % clear_every == clear_every - 1:
                lst.clear()
                o = tally.new(rt, "int", 32)
                lst.append(o)
                o.decref()

    def reader(k: int):
        for n in range(reads):
            size = len(lst)
            i = 0 if n % 2 == 0 or size == 0 else (n * (k + 3)) % size
            v = lst.get_item_ref(i)
            if v is not None:
                v.decref()

    w = rt.start_thread(writer, name="writer")
    rs = [rt.start_thread(reader, k, name=f"reader-{k + 1}") for k in range(readers)]
    w.join()
    for t in rs:
        t.join()
    lst.clear()
    rt.work(0)
    lst.op.decref()
    tally.check_all_freed_once()
    rt.obmalloc.check_invariants()


@scenario(
    "dict_replace",
    "readers look a key up in a shared dict without locks while a writer replaces its value and adds keys "
    "(growing the table: old keys blocks are freed through QSBR)",
    steps_hint=1200,
    readers="reader threads",
    rounds="writer rounds",
)
def dict_replace(rt, readers: int = 2, rounds: int = 16):
    tally = _Tally()
    d = rt.new_dict("d")
    v0 = tally.new(rt, "float", 32)
    d["k"] = v0
    v0.decref()

    def writer():
        for r in range(rounds):
            v = tally.new(rt, "float", 32)
            d["k"] = v
            v.decref()
            if r % 3 == 0:
                extra = tally.new(rt, "float", 32)
                d[f"key{r}"] = extra
                extra.decref()

    def reader():
        for _ in range(rounds * 2):
            v = d.get_ref("k")
            assert v is not None, "the key vanished"
            v.decref()

    ts = [rt.start_thread(writer, name="writer")] + [rt.start_thread(reader, name=f"reader-{i + 1}")
                                                     for i in range(readers)]
    for t in ts:
        t.join()
    for key in ["k"] + [f"key{r}" for r in range(0, rounds, 3)]:
        del d[key]
    rt.work(0)
    d.op.decref()
    tally.check_all_freed_once()
    rt.obmalloc.check_invariants()


@scenario(
    "alloc_churn",
    "waves of threads allocate objects and buffers of many sizes, free some locally, hand some to other threads "
    "to free, and exit with others alive: their segments are abandoned and reclaimed by the next wave's heaps "
    "of the same tag; the guest checks the allocator's invariants and that every object is freed once",
    steps_hint=1800,
    waves="waves of threads (each wave starts after the previous one exited)",
    threads="threads per wave",
    allocs="allocations per thread",
)
def alloc_churn(rt, waves: int = 3, threads: int = 2, allocs: int = 24):
    tally = _Tally()
    handoff = rt.new_list("handoff")  # objects another thread frees
    survivors = []  # objects that outlive their creator (freed by main at the end)
    lock = rt.mutex("survivors_lock")
    sizes = (16, 24, 32, 48, 64, 96, 128, 200, 512, 1024, 3000, 8192, 20000)

    def worker(w: int, t: int):
        mine = []
        bufs = []
        for k in range(allocs):
            size = sizes[(k * 5 + t * 3 + w) % len(sizes)]
            if k % 3 == 0:
                bufs.append(rt.malloc(size))
            else:
                o = tally.new(rt, f"obj{size}", max(size, 16), gc=(k % 3 == 2))
                mine.append(o)
        for b in bufs[::2]:
            b.read()
            b.free()
        for o in mine[::3]:
            o.decref()  # freed locally
        # Take an object another thread handed off and free it here (a cross-thread free).
        for _ in range(2):
            try:
                v = handoff.pop()
            except IndexError:
                break
            v.decref()
        for o in mine[1::3]:
            handoff.append(o)
            o.decref()
        with lock:
            survivors.extend(mine[2::3])  # alive after this thread exits
        for b in bufs[1::2]:
            b.free()

    for w in range(waves):
        ts = [rt.start_thread(worker, w, t, name=f"w{w + 1}-{t + 1}") for t in range(threads)]
        for t in ts:
            t.join()
        rt.obmalloc.check_invariants()
    handoff.clear()
    for o in survivors:
        o.decref()  # cross-thread frees into abandoned or reclaimed segments
    handoff.op.decref()
    rt.work(0)
    tally.check_all_freed_once()
    rt.obmalloc.check_invariants()


@scenario(
    "stress",
    "a mix for benchmarks: threads lock a mutex around a counter, create objects and drop them on other "
    "threads (biased refcount queues and merges), append to and read a shared list without locks, and "
    "allocate buffers",
    steps_hint=40000,
    threads="worker threads",
    iterations="rounds per thread",
)
def stress(rt, threads: int = 4, iterations: int = 200):
    lock = rt.mutex("counter_lock")
    counter = rt.var("counter", 0)
    lst = rt.new_list("shared_list")
    inbox = [rt.new_list(f"inbox-{i + 1}") for i in range(threads)]

    def worker(i: int):
        peer = inbox[(i + 1) % threads]
        mine = inbox[i]
        for k in range(iterations):
            lock.lock()
            counter.store(counter.load() + 1)
            lock.unlock()
            o = rt.new_object("int", size=32 + 16 * (k % 4))
            if k % 4 == 0:
                lst.append(o)
                if len(lst) > 32:
                    lst.pop().decref()  # the list stays short: a shrinking resize now and then
            peer.append(o)  # dropped later by the peer: a non-owner decref
            o.decref()
            if len(lst):
                v = lst.get_item_ref(k % len(lst))
                if v is not None:
                    v.decref()
            if k % 8 == 7:
                mine.clear()
            buf = rt.malloc(64 + 32 * (k % 8))
            buf.free()
            rt.work(100)

    ts = [rt.start_thread(worker, i, name=f"worker-{i + 1}") for i in range(threads)]
    for t in ts:
        t.join()
    assert counter.load() == threads * iterations, f"counter is {counter.load()}"
    for b in inbox:
        b.clear()
        b.op.decref()
    lst.clear()
    lst.op.decref()
    rt.work(0)
    rt.obmalloc.check_invariants()
