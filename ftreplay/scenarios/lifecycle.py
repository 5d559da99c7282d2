"""Thread lifecycle, fork and finalization scenarios (runtime/threadmodule.py,
runtime/pylifecycle.py)."""

from __future__ import annotations

from ..runtime.pylifecycle import (
    BUG_AFTERFORK_HANDLES,
    BUG_DROP_GIL_FINAL,
    BUG_FORK_WITHOUT_HEAD_LOCK,
    BUG_FORK_WITHOUT_STW,
    BUG_START_DURING_FIN,
    held_by_vanished,
)
from ..runtime.pystate import STATE_NAMES
from ..runtime.threadmodule import ThreadHandleState
from . import scenario


def check_child(crt) -> None:
    """What every fork child checks: it is the only thread; no lock is held by a thread that
    does not exist here; every other thread's handle is done."""
    me = crt.engine.tid
    alive = [t.id for i in crt.pystate.interpreters for t in i.threads]
    assert alive == [me], f"child process {crt.pid}: thread states {alive} besides T{me}"
    held = held_by_vanished(crt)
    assert not held, "child process %d: locks held by threads that do not exist here: %s" % (
        crt.pid, ", ".join(f"{crt.labels.get(a, hex(a))} by T{o}" for a, o in held))
    for h in crt.threads.handles:
        assert h.ident == me, f"child process {crt.pid}: the handle of T{h.ident} is still linked"
    for h in crt.threads.all_handles:
        if h.ident != me:
            assert h.state == ThreadHandleState.DONE, f"child: the handle of T{h.ident} is {h.state.name}"


@scenario(
    "fork_child_inherits_cs",
    "a worker holds a list's critical section (attached, in a long loop) when the main thread forks; the "
    "child appends to its copy of the list.  Without the stop-the-world pause before fork the list's "
    "ob_mutex stays locked by a thread that does not exist in the child, which parks forever",
    steps_hint=250,
    bugs=(BUG_FORK_WITHOUT_STW,),
    iterations="work slices the worker spends inside the critical section",
)
def fork_child_inherits_cs(rt, iterations: int = 40):
    lst = rt.new_list("L")
    in_cs = rt.event("in_sort")

    def worker():
        with rt.critical_section(lst.op):  # list.sort(key=...) holds it for the whole sort
            in_cs.notify()
            for _ in range(iterations):
                rt.work(20_000)  # the key function: attached, eval-breaker checks

    def child(crt, lst):
        o = crt.new_object("int", name="child-item")
        lst.append(o)  # begins a critical section on the list
        o.decref()
        check_child(crt)

    w = rt.start_thread(worker, name="W")
    in_cs.wait()
    p = rt.fork(child, lst)
    assert p.status == "ok", p
    w.join()


@scenario(
    "fork_mid_handle_unlink",
    "the main thread forks repeatedly while short-lived threads compute briefly and exit; a thread still "
    "attached when the fork's pause is requested deletes its thread state (waking the forker) and then "
    "unlinks its handle from the shutdown list under HEAD_LOCK with no thread state (two stores).  Without "
    "HEAD_LOCK across fork the child finds a half-removed node when _PyThread_AfterFork walks the lists",
    steps_hint=1050,
    bugs=(BUG_FORK_WITHOUT_HEAD_LOCK,),
    threads="threads started per round",
    forks="fork rounds",
    work_ns="each thread's computation before it exits (virtual ns)",
)
def fork_mid_handle_unlink(rt, threads: int = 4, forks: int = 4, work_ns: int = 5_000):
    def body():
        rt.work(work_ns)

    def child(crt):
        check_child(crt)

    started = []
    for _ in range(forks):
        started += [rt.start_thread(body, name=f"w{len(started) + i + 1}") for i in range(threads)]
        rt.work(3_000)
        rt.fork(child)
    for t in started:
        t.join()


def _releases(handle):
    """The Thread object's deallocation: its _ThreadHandle goes with it (a closure, so a
    forked child's copy releases the child's handle)."""

    def on_dealloc(_op) -> None:
        handle.release("gc.collect")

    return on_dealloc


@scenario(
    "fork_gc_dead_handle",
    "a thread's Thread object is left in a reference cycle, its handle still joinable, and the process "
    "forks; in the child an after-fork hook registered before threading's runs gc.collect(), which frees "
    "the cycle.  Fixed, _PyThread_AfterFork marked the handle done before any Python code ran; with the "
    "flag it is still RUNNING and its deallocation detaches an OS thread that does not exist in the child",
    steps_hint=300,
    bugs=(BUG_AFTERFORK_HANDLES,),
)
def fork_gc_dead_handle(rt, threads: int = 1):
    rt.register_at_fork(after_in_child=rt.gc_collect)  # before threading registers its hook
    done = [rt.event(f"done-{i + 1}") for i in range(threads)]
    for i in range(threads):
        handle = rt.start_thread(done[i].notify, name=f"T{i + 2}")  # an empty body, never joined
        # t.me = t: the cycle keeps the Thread (and its _ThreadHandle) alive after M drops it
        t = rt.new_object("Thread", size=64, gc=True, dealloc=_releases(handle))
        t.add_ref(t)
        t.decref()
    for ev in done:
        ev.wait()  # not join(), not is_alive(): the handles stay RUNNING in the parent

    def child(crt):
        check_child(crt)

    p = rt.fork(child)
    assert p.status == "ok", p


@scenario(
    "fork_join_dead_handle",
    "an after-fork hook registered before threading joins a thread that was still running in the parent at "
    "fork.  Fixed, _PyThread_AfterFork marked its handle done before any Python code ran and the join "
    "returns; with the flag only threading's own later hook does, and the join waits forever",
    steps_hint=200,
    bugs=(BUG_AFTERFORK_HANDLES,),
)
def fork_join_dead_handle(rt):
    workers: list = []
    joined = []

    def hook_in_child():  # os.register_at_fork(after_in_child=...), runs before threading's
        for h in workers:
            h.join()
        joined.append(len(workers))

    rt.register_at_fork(after_in_child=hook_in_child)
    done = rt.event("done")

    def body():
        done.notify()
        for _ in range(20):  # still running when the parent forks: the pause suspends it here
            rt.work(50_000)

    workers.append(rt.start_thread(body, name="T2"))
    done.wait()

    def child(crt):
        check_child(crt)

    p = rt.fork(child)
    assert p.status == "ok", p
    workers[0].join()


@scenario(
    "daemon_start_vs_finalize",
    "the main thread starts daemon threads and returns at once: finalization shuts their thread states down "
    "before they first run.  Fixed, each exits from thread_run without touching its thread state; with the "
    "flag it binds the state first, which 3.13's DeleteList already freed",
    steps_hint=150,
    bugs=(BUG_START_DURING_FIN,),
    threads="daemon threads",
)
def daemon_start_vs_finalize(rt, threads: int = 3):
    def daemon_body():
        for _ in range(3):
            rt.work(5_000)

    for i in range(threads):
        rt.start_thread(daemon_body, name=f"D{i + 1}", daemon=True)
    rt.finalize()


@scenario(
    "daemon_exit_vs_finalize",
    "GIL mode: a daemon thread ends while the main thread waits to take the GIL and finalize.  The daemon's "
    "last drop_gil releases the GIL; fixed, it touches nothing after that; with the flag it still reads the "
    "interpreter's drop request, which the main thread may have freed meanwhile",
    steps_hint=100,
    bugs=(BUG_DROP_GIL_FINAL,),
    knobs={"gil": 1},
    busy="work slices of the daemon (each 1 ms; drop requests are honoured between them)",
)
def daemon_exit_vs_finalize(rt, busy: int = 8):
    almost = rt.event("almost_done")

    def daemon_body():
        for _ in range(busy):
            rt.work(1_000_000)
        almost.notify()

    rt.start_thread(daemon_body, name="D", daemon=True)
    almost.wait()
    rt.finalize()


@scenario(
    "fork_many_threads",
    "many threads when the main thread forks: daemons looping, threads parked on an event, threads working "
    "inside critical sections, threads exiting; the child checks it is alone, that no lock is held by a "
    "thread it lacks and every other handle is done, then starts and joins its own thread and uses the "
    "shared list; the parent goes on, forks again, and finalizes with the daemons still running",
    steps_hint=1200,
    workers="threads in critical sections",
    parked="threads parked on an event",
    daemons="daemon threads",
    forks="forks",
)
def fork_many_threads(rt, workers: int = 3, parked: int = 2, daemons: int = 2, forks: int = 2):
    # One list per thread: a contended ob_mutex can be handed off to a thread that the pause
    # then suspends before it notices (gh-133130), and that lock stays locked in the child.
    shared = rt.new_list("shared")
    go = rt.event("go")

    def cs_worker(i: int):
        own = rt.new_list(f"list-cs{i + 1}")
        for _ in range(6):
            with rt.critical_section(own.op):
                o = rt.new_object("int")
                own.append(o)
                o.decref()
                rt.work(4_000)

    def parked_thread():
        go.wait()

    def daemon(i: int):
        own = rt.new_list(f"list-daemon{i + 1}")
        while True:
            with rt.critical_section(own.op):
                rt.work(3_000)
            rt.work(2_000)

    def child(crt, lst):
        check_child(crt)
        t = crt.start_thread(lambda: lst.append(crt.new_object("int", name="from-child")), name="child-thread")
        t.join()
        with crt.critical_section(lst.op):
            pass

    ts = [rt.start_thread(cs_worker, i, name=f"cs{i + 1}") for i in range(workers)]
    ts += [rt.start_thread(parked_thread, name=f"parked{i + 1}") for i in range(parked)]
    for i in range(daemons):
        rt.start_thread(daemon, i, name=f"daemon{i + 1}", daemon=True)
    for k in range(forks):
        rt.work(6_000)
        p = rt.fork(child, shared)
        assert p.status == "ok", p
    go.notify()
    for t in ts:
        t.join()
    rt.finalize()


@scenario(
    "finalize_many_threads",
    "finalization with daemons in every state: looping attached, inside critical sections, parked on a mutex "
    "held by a daemon, parked on an event never set; non-daemon threads finishing their work; an atexit "
    "handler starting a thread.  The main thread must get through every phase; the daemons must hang "
    "when they next try to attach and never run again",
    steps_hint=5500,
    daemons="daemon threads per kind",
    workers="non-daemon threads",
)
def finalize_many_threads(rt, daemons: int = 2, workers: int = 2):
    lst = rt.new_list("shared")
    lock = rt.mutex("daemon_lock")
    never = rt.event("never")
    ran_after = rt.var("ran_after_finalize", 0)
    holder_in = rt.event("holder_in")

    def looping():
        while True:
            rt.work(2_000)
            if rt.fin_phase in ("delete_threads", "interp_delete", "exit", "done"):
                ran_after.store(1)

    def in_cs():
        while True:
            with rt.critical_section(lst.op):
                o = rt.new_object("int")
                lst.append(o)
                o.decref()
                rt.work(3_000)

    def holder():
        lock.lock()
        holder_in.notify()
        while True:
            rt.work(5_000)

    def blocked():
        holder_in.wait()
        lock.lock()  # parks (detached) behind the holder forever
        ran_after.store(2)

    def waiter():
        never.wait()
        ran_after.store(3)

    def worker(i: int):
        for _ in range(4):
            o = rt.new_object("int")
            lst.append(o)
            o.decref()
            rt.work(3_000)

    late = []

    def late_body():
        rt.work(1_000)

    def at_exit():
        late.append(rt.start_thread(late_body, name="atexit-thread"))

    rt.atexit_register(at_exit)
    for i in range(daemons):
        for fn, name in ((looping, "loop"), (in_cs, "cs"), (waiter, "wait")):
            rt.start_thread(fn, name=f"{name}{i + 1}", daemon=True)
    rt.start_thread(holder, name="holder", daemon=True)
    rt.start_thread(blocked, name="blocked", daemon=True)
    ws = [rt.start_thread(worker, i, name=f"worker{i + 1}") for i in range(workers)]
    rt.work(10_000)
    rt.finalize()
    assert ran_after.value == 0, f"a daemon ran after its thread state was deleted ({ran_after.value})"
    me = rt.engine.cur.tstate
    for t in rt.pystate.all_tstates:
        if t is not me and t.phase != "deleted" and t.interp.threads.count(t):
            raise AssertionError(f"thread state {t.id} ({STATE_NAMES[t.state]}) survived finalization")
    for w in ws:  # wait_for_thread_shutdown waited for every non-daemon thread to exit
        assert w.thread_is_exiting.v == 1, f"non-daemon {w.name} had not exited when finalization went on"
