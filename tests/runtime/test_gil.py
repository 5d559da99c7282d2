"""The GIL (Python/ceval_gil.c): take_gil / drop_gil, drop requests after the switch
interval, forced switching; --set build=gil and PYTHON_GIL (--set gil=1) in the free-threaded build."""

from __future__ import annotations

import pytest

from ftreplay.errors import UsageError
from ftreplay.record.session import make_meta


def _attached_overlap(run_guest_events) -> int:
    """Max number of threads attached at once, from the attach/detach/suspend events."""
    attached, worst = set(), 0
    for e in run_guest_events:
        if e.kind in ("pystate.attach", "pystate.detach", "pystate.suspend"):
            (attached.add if e.new == "attached" else attached.discard)(e.thread)
            worst = max(worst, len(attached))
        elif e.kind == "ceval_gil.drop" and e.final:  # an exiting thread's last release
            attached.discard(e.thread)
    return worst


def test_at_most_one_thread_is_attached_with_the_gil(run_guest):
    for knobs in ({"build": "gil"}, {"gil": 1}):
        def guest(rt):
            def cpu():
                for _ in range(60):
                    rt.work(100_000)

            ts = [rt.start_thread(cpu, name=f"cpu{i}") for i in range(3)]
            for t in ts:
                t.join()

        r = run_guest(guest, knobs=knobs).ok()
        assert _attached_overlap(r.events) == 1, knobs
        takes = [e for e in r.of("ceval_gil.take") if e.switched]
        gaps = [b.ts - a.ts for a, b in zip(takes, takes[1:]) if a.thread != 1 and b.thread != 1]
        assert gaps and all(4_900_000 <= g <= 5_300_000 for g in gaps[1:-1]), gaps  # the 5 ms interval
        reqs = r.of("ceval_gil.drop_request")
        assert reqs and all(any(t.seq > q.seq and t.thread != q.thread for t in takes) for q in reqs)


def test_without_the_gil_threads_run_in_parallel(run_guest):
    def guest(rt):
        def cpu():
            for _ in range(20):
                rt.work(100_000)

        ts = [rt.start_thread(cpu, name=f"cpu{i}") for i in range(3)]
        for t in ts:
            t.join()

    r = run_guest(guest).ok()
    assert _attached_overlap(r.events) > 1 and r.of("ceval_gil.take") == []


def test_forced_switching_hands_the_gil_to_the_waiter(run_guest):
    def guest(rt):
        def cpu():
            for _ in range(80):
                rt.work(100_000)

        ts = [rt.start_thread(cpu, name=f"cpu{i}") for i in range(2)]
        for t in ts:
            t.join()

    r = run_guest(guest, knobs={"build": "gil"}).ok()
    for q in r.of("ceval_gil.drop_request"):
        drop = next(e for e in r.events if e.seq > q.seq and e.kind == "ceval_gil.drop" and e.thread == q.thread)
        nxt = next(e for e in r.events if e.seq > drop.seq and e.kind == "ceval_gil.take")
        assert nxt.thread != q.thread  # the holder that was asked does not get it straight back


def test_final_release_never_waits(run_guest):
    def guest(rt):
        t = rt.start_thread(lambda: rt.work(1_000), name="short")
        t.join()

    r = run_guest(guest, knobs={"build": "gil"}).ok()
    finals = [e for e in r.of("ceval_gil.drop") if e.final]
    assert [e.thread for e in finals] == [2]


def test_gil_knobs_are_checked():
    with pytest.raises(UsageError):
        make_meta("gil_switch", knobs={"gil": "0"})  # gil_switch defaults to the GIL build
    with pytest.raises(UsageError):
        make_meta("mutex_counter", knobs={"build": "nogil"})
    with pytest.raises(UsageError):
        make_meta("mutex_counter", knobs={"gil": "2"})
    assert make_meta("gil_switch").knobs["build"] == "gil"
    assert make_meta("gil_switch", knobs={"build": "ft"}).knobs["build"] == "ft"
