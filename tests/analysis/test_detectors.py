"""Offline detectors on recorded runs: lock-order inversions with or without a deadlock,
happens-before races on guest fields (and none where locks, events or joins order them),
lost waits, and the findings table."""

from __future__ import annotations

import textwrap

import pytest

from ftreplay.analysis.detectors import load_findings, run_detectors, store_findings
from ftreplay.record.log import FileSink, MemorySink, read_log
from ftreplay.record.session import execute, make_meta
from ftreplay.record.store import Store

GUESTS = '''
def racy(rt):
    """two threads bump a plain field without a lock"""
    hits = rt.var("hits", 0)

    def bump():
        hits.store(hits.load() + 1)

    a = rt.start_thread(bump, name="a")
    b = rt.start_thread(bump, name="b")
    a.join(); b.join()


def ordered(rt):
    """a field written before a thread starts, by it, then read after the join: no race"""
    box = rt.var("box", 0)
    box.store(7)

    def bump():
        box.store(box.load() + 1)

    t = rt.start_thread(bump, name="bump")
    t.join()
    u = rt.start_thread(bump, name="bump2")
    u.join()
    assert box.load() == 9


def nested_same_order(rt):
    """two threads take a then b: an order, no inversion"""
    a = rt.mutex("a"); b = rt.mutex("b")

    def w():
        with a:
            with b:
                pass

    x = rt.start_thread(w); y = rt.start_thread(w)
    x.join(); y.join()


def gated(rt):
    """opposite orders, but always under one gate lock: no deadlock possible"""
    g = rt.mutex("gate"); a = rt.mutex("a"); b = rt.mutex("b")

    def f():
        with g:
            with a:
                with b:
                    pass

    def r():
        with g:
            with b:
                with a:
                    pass

    x = rt.start_thread(f); y = rt.start_thread(r)
    x.join(); y.join()
'''


def first_seed(scenario, want_failure, args=None, seeds=range(1, 60)):
    for s in seeds:
        meta = make_meta(scenario, seed=s, args=args or {})
        if (execute(meta, MemorySink()).failure is not None) == want_failure:
            return s
    raise AssertionError(f"no seed of {scenario} with failure={want_failure}")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("detectors")
    guest = d / "guests.py"
    guest.write_text(textwrap.dedent(GUESTS))
    runs = {
        "lock_order_ok": ("lock_order", first_seed("lock_order", False), {}),
        "lock_order_deadlock": ("lock_order", first_seed("lock_order", True), {}),
        "mutex_counter": ("mutex_counter", 1, {"threads": "3", "iterations": "10"}),
        "event_notify": ("event_notify", 1, {}),
        "racy": (f"{guest}:racy", 1, {}),
        "ordered": (f"{guest}:ordered", 1, {}),
        "nested_same_order": (f"{guest}:nested_same_order", 1, {}),
        "gated": (f"{guest}:gated", 1, {}),
    }
    db = str(d / "s.duckdb")
    with Store.open(db, read_only=False) as st:
        for run_id, (scenario, seed, args) in runs.items():
            log = str(d / f"{run_id}.ftlog")
            execute(make_meta(scenario, seed=seed, args=args), FileSink(log))
            reader = read_log(log)
            try:
                st.ingest(reader, run_id, log)
            finally:
                reader.close()
    st = Store.open(db, read_only=False)
    yield st
    st.close()


def detectors(store, run_id):
    return sorted({f.detector for f in run_detectors(store, run_id)})


def test_lock_order_inversion_without_a_deadlock(store):
    assert store.run("lock_order_ok")["status"] == "ok"
    found = [f for f in run_detectors(store, "lock_order_ok") if f.detector == "lock_order"]
    assert len(found) == 1
    f = found[0]
    assert "lock_a" in f.message and "lock_b" in f.message and len(set(f.tids)) == 2
    kinds = dict(store.query("SELECT seq, kind FROM events WHERE run_id = 'lock_order_ok' AND seq IN "
                             "(SELECT unnest(?::BIGINT[]))", [f.seqs])[1])
    assert set(kinds.values()) == {"lock.acquire"} and len(kinds) == 4


def test_a_deadlock_reports_the_inversion_and_the_waits(store):
    got = run_detectors(store, "lock_order_deadlock")
    assert [f.detector for f in got].count("lock_order") == 1
    waits = [f for f in got if f.detector == "lost_wait"]
    assert waits and all("deadlock" in f.message for f in waits)


@pytest.mark.parametrize("run_id", ["mutex_counter", "event_notify", "ordered", "nested_same_order", "gated"])
def test_nothing_on_correctly_synchronised_runs(store, run_id):
    assert run_detectors(store, run_id) == []


def test_unsynchronised_field_is_a_race(store):
    races = [f for f in run_detectors(store, "racy") if f.detector == "race"]
    assert races and all("hits" in f.message for f in races)
    assert all(len(set(f.tids)) == 2 and f.seqs[0] < f.seqs[1] for f in races)


def test_findings_are_stored_and_replaced(store):
    assert load_findings(store, "lock_order_ok") in (None, [])
    store_findings(store, "lock_order_ok", run_detectors(store, "lock_order_ok"))
    store_findings(store, "lock_order_ok", run_detectors(store, "lock_order_ok"))
    rows = store.query("SELECT n, detector FROM findings WHERE run_id = 'lock_order_ok' ORDER BY n")[1]
    assert rows == [(0, "lock_order")]
    assert [f.detector for f in load_findings(store, "lock_order_ok")] == ["lock_order"]
