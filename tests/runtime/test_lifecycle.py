"""Thread handles, finalization and fork (runtime/threadmodule.py, runtime/pylifecycle.py)."""

from __future__ import annotations

from ftreplay.runtime.pylifecycle import PHASES, Shared, held_by_vanished
from ftreplay.runtime.pystate import SHUTTING_DOWN
from ftreplay.runtime.threadmodule import ThreadError, ThreadHandle, ThreadHandleState

US = 1_000


def _handle_states(r, handle_addr):
    return [(e.old, e.new) for e in r.of("thread.handle", handle=handle_addr)]


# -- handles and joins ------------------------------------------------------------------------------
def test_handle_goes_through_every_state_once(run_guest):
    box = {}

    def guest(rt):
        t = rt.start_thread(lambda: rt.work(50 * US), name="w")
        box["addr"] = t.addr
        t.join()
        t.join()  # idempotent

    r = run_guest(guest).ok()
    assert _handle_states(r, box["addr"]) == [
        ("", "not_started"), ("not_started", "starting"), ("starting", "running"), ("running", "done")]
    running = r.of("thread.handle", handle=box["addr"], new="running")[0]
    assert running.thread == 2 and running.daemon is False


def test_concurrent_joiners_run_the_os_join_once(run_guest, test_seed):
    box = {}

    def guest(rt):
        a = rt.start_thread(lambda: rt.work(200 * US), name="A")
        box["a"] = a.addr
        js = [rt.start_thread(a.join, name=f"J{i}") for i in range(3)]
        for j in js:
            j.join()

    for strategy in ("random", "pct"):
        r = run_guest(guest, strategy=strategy, seed=test_seed).ok()
        assert len(r.of("thread.handle", handle=box["a"], new="done")) == 1
        assert len(r.of("thread.join", thread=2)) == 3


def test_self_join_and_unstarted_join_are_refused(run_guest):
    box = {}

    def guest(rt):
        me = []

        def body():
            try:
                me[0].join()
            except ThreadError as e:
                box["self"] = str(e)

        me.append(rt.start_thread(body, name="selfish"))
        me[0].join()
        try:
            ThreadHandle(rt, "never", False).join()
        except ThreadError as e:
            box["unstarted"] = str(e)

    run_guest(guest).ok()
    assert box == {"self": "Cannot join current thread", "unstarted": "thread not started"}


def test_start_is_refused_once_the_interpreter_is_finalizing(run_guest):
    box = {}

    def guest(rt):
        rt.finalize()
        try:
            rt.start_thread(lambda: None)
        except ThreadError as e:
            box["err"] = str(e)

    run_guest(guest).ok()
    assert box["err"] == "can't create new thread at interpreter shutdown"


# -- finalization -------------------------------------------------------------------------------------
def test_finalization_runs_cpythons_steps_in_order(run_guest, test_seed):
    box = {}

    def guest(rt):
        mark = rt.var("atexit_ran", 0)
        rt.atexit_register(lambda: mark.store(1))
        box["mark"] = mark.addr
        worker = rt.start_thread(lambda: rt.work(300 * US), name="worker")
        box["worker"] = worker.ident

        def daemon():
            while True:
                rt.work(20 * US)

        box["daemons"] = [rt.start_thread(daemon, name=f"d{i}", daemon=True).ident for i in range(2)]
        rt.work(100 * US)
        rt.finalize()

    for strategy in ("random", "pct"):
        r = run_guest(guest, strategy=strategy, seed=test_seed).ok()
        phases = r.of("pylifecycle.phase")
        assert [p.phase for p in phases] == list(PHASES)
        at = {p.phase: p.seq for p in phases}
        # The non-daemon worker was waited for; the atexit handler ran in its phase.
        [wexit] = r.of("pystate.delete_thread", thread=box["worker"])
        assert at["wait_threads"] < wexit.seq < at["pending_calls"]
        [store] = r.of("guest.store", addr=box["mark"], value=1)
        assert at["atexit"] < store.seq < at["stop_the_world"]
        [stw] = [e for e in r.of("pystate.stop_the_world") if e.seq > at["stop_the_world"]]
        assert stw.seq < at["set_finalizing"]
        downs = r.of("pystate.shutting_down")
        assert sorted(e.thread for e in downs) == sorted(box["daemons"])
        assert all(at["remove_threads"] < e.seq < at["start_the_world"] for e in downs)
        assert all(e.old == "suspended" for e in downs)
        deletes = r.of("pystate.delete_list")
        assert sorted(e.thread for e in deletes) == sorted(box["daemons"])
        assert all(at["delete_threads"] < e.seq < at["interp_delete"] for e in deletes)
        # Daemons run no bytecode after their state was shut down: at most they hang.
        for d in box["daemons"]:
            assert not [e for e in r.events if e.tid == d and e.seq > at["remove_threads"]
                        and e.kind not in ("pystate.hang", "parking_lot.wake", "lock.word")]
        assert all(t.state == SHUTTING_DOWN for t in r.rt.pystate.all_tstates if t.id in box["daemons"])


def test_daemon_parked_in_attach_is_woken_and_hangs(run_guest):
    box = {}

    def guest(rt):
        lock = rt.mutex("m")
        lock.lock()

        def daemon():
            lock.lock()  # parks detached; the pause flips it to suspended

        box["d"] = rt.start_thread(daemon, name="d", daemon=True).ident
        rt.work(100 * US)
        rt.finalize()
        lock.unlock()  # the daemon wakes, tries to attach, and hangs
        rt.work(100 * US)

    r = run_guest(guest, strategy="round_robin").ok()
    [hang] = r.of("pystate.hang", thread=box["d"])
    assert hang.seq > r.of("pystate.shutting_down", thread=box["d"])[0].seq
    assert box["d"] in r.rt.hung


# -- fork ----------------------------------------------------------------------------------------------
def _forking_guest(box):
    def guest(rt):
        lst = rt.new_list("L")
        go = rt.event("go")
        parked = rt.start_thread(go.wait, name="parked")

        def worker():
            for _ in range(4):
                with rt.critical_section(lst.op):
                    rt.work(30 * US)

        w = rt.start_thread(worker, name="w")
        rt.work(40 * US)

        def child(crt):
            me = crt.engine.tid
            box["child_tid"] = me
            box["child_pid"] = crt.pid
            box["tstates"] = [t.id for t in crt.pystate.main_interp.threads]
            box["handles"] = {h.ident: h.state for h in crt.threads.all_handles}
            box["linked"] = [h.ident for h in crt.threads.handles]
            box["held"] = held_by_vanished(crt)
            box["buckets"] = sum(len(b.root) for b in crt.parking_lot.buckets)
            o = crt.new_object("int")
            lst.append(o)  # the child's copy of the list
            box["child_len"] = lst.ob_size
            t = crt.start_thread(lambda: None, name="child-thread")
            box["new_tid"] = t.ident
            t.join()

        p = rt.fork(child)
        box["status"] = p.status
        box["parent_len"] = lst.ob_size
        box["parked"] = parked.ident
        go.notify()
        parked.join()
        w.join()

    return guest


def test_fork_child_keeps_only_the_forking_thread(run_guest, test_seed):
    for strategy in ("random", "pct"):
        box = Shared()  # the child's closure is copied with its process; this is not
        r = run_guest(_forking_guest(box), strategy=strategy, seed=test_seed).ok()
        assert box["status"] == "ok" and box["child_pid"] == 2 and box["child_tid"] == 1
        assert box["tstates"] == [1]
        assert box["linked"] == []
        assert {i: s for i, s in box["handles"].items() if i != 1} == {
            box["parked"]: ThreadHandleState.DONE, 3: ThreadHandleState.DONE}
        assert box["held"] == [] and box["buckets"] == 0
        assert box["child_len"] == 1 and box["parent_len"] == 0  # separate memory
        # Event order: pause, HEAD_LOCK, fork; the child first; its exit before the parent goes on.
        [fork] = r.of("pylifecycle.fork")
        [child] = r.of("pylifecycle.after_fork_child")
        [exit_] = r.of("pylifecycle.exit")
        [parent] = r.of("pylifecycle.after_fork_parent")
        assert fork.child == 2 and fork.thread == 1
        assert fork.seq + 1 == child.seq and exit_.seq + 1 == parent.seq
        assert child.process == 2 and child.parent == 1 and parent.status == "ok"
        stops = [e.seq for e in r.of("pystate.stop_the_world") if e.scope == "global"]
        assert stops and stops[0] < fork.seq
        [head] = [e for e in r.of("pylifecycle.reinit_lock") if e.mutex == r.rt.pystate.head_mutex.addr]
        assert child.seq < head.seq and head.holder == 1 and head.bits_old & 1
        deleted = r.of("pystate.delete_list")
        assert sorted(e.thread for e in deleted) == [2, 3]
        assert all(child.seq < e.seq < exit_.seq for e in deleted)
        # A thread created in the child has a fresh id and names its process.
        [new] = r.of("pystate.new_thread", thread=box["new_tid"])
        assert new.process == 2 and box["new_tid"] > 3
        assert r.rt.machine.thread_process == {box["new_tid"]: 2}
        # The parent's threads go on after the fork.
        assert r.of("thread.exit", thread=box["parked"])[0].seq > parent.seq


def test_fork_runs_are_deterministic(run_guest):
    a = run_guest(_forking_guest(Shared()), strategy="pct", seed=7).ok()
    b = run_guest(_forking_guest(Shared()), strategy="pct", seed=7).ok()
    assert a.data == b.data


def test_child_failure_is_the_runs_failure_and_names_the_child(run_guest):
    def guest(rt):
        def child(crt):
            assert False, "child check"

        rt.fork(child)
        raise AssertionError("the parent must not go on after its child failed")

    r = run_guest(guest)
    assert r.failure is not None and r.failure.reason == "assertion"
    assert r.failure.message.startswith("child process 2 (forked by T1): ")
    assert "child check" in r.failure.message
    [fail] = r.of("run.failure")
    assert fail.seq == r.end.events - 1 and not r.of("pylifecycle.after_fork_parent")


def test_after_fork_hooks_run_in_the_child_on_its_copies(run_guest):
    box = Shared()

    def guest(rt):
        v = rt.var("v", 0)
        rt.register_at_fork(before=lambda: box.setdefault("order", []).append("before"),
                            after_in_parent=lambda: box["order"].append("parent"),
                            after_in_child=lambda: (box["order"].append("child"), v.store(5)))
        rt.fork(lambda crt: box.__setitem__("child_v", v.value))
        box["parent_v"] = v.value

    run_guest(guest).ok()
    assert box["order"] == ["before", "child", "parent"]
    assert box["child_v"] == 5 and box["parent_v"] == 0


def test_a_child_can_fork_again(run_guest):
    box = Shared()

    def guest(rt):
        lst = rt.new_list("L")

        def grandchild(grt):
            lst.append(grt.new_object("int"))
            box["grandchild"] = (grt.pid, grt.parent_pid, lst.ob_size)
            box["gc_thread"] = grt.start_thread(lambda: None, name="gc-thread").ident

        def child(crt):
            w = crt.start_thread(lambda: crt.work(5 * US), name="child-worker")
            box["child_thread"] = w.ident
            box["grandchild_status"] = crt.fork(grandchild).status
            box["child_len"] = lst.ob_size
            w.join()

        box["status"] = rt.fork(child).status
        box["parent_len"] = lst.ob_size

    r = run_guest(guest, strategy="pct", seed=3).ok()
    assert box["status"] == box["grandchild_status"] == "ok"
    assert box["grandchild"] == (3, 2, 1) and box["child_len"] == 0 and box["parent_len"] == 0
    assert r.rt.machine.thread_process == {box["child_thread"]: 2, box["gc_thread"]: 3}
    assert [(e.child, e.thread) for e in r.of("pylifecycle.fork")] == [(2, 1), (3, 1)]
    assert [e.process for e in r.of("pylifecycle.exit")] == [3, 2]
