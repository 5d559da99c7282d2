"""The projection self-check: the replayed state equals the live runtime state.

Live snapshots are captured by the recorder in test mode at random seqs; the stored run is
then reached through the Cursor (checkpoint + forward, short forward/backward moves) and,
separately, by stepping forward from 0 and backward from the end.
"""

from __future__ import annotations

import os
import random

import pytest

from ftreplay.record.log import FileSink, NullSink, read_log
from ftreplay.record.session import Execution, make_meta
from ftreplay.record.store import Store
from ftreplay.replay.cursor import Cursor

SEED = int(os.environ.get("FTREPLAY_TEST_SEED", "20241125"))

CASES = [
    ("mutex_counter", [], {"threads": "3", "iterations": "40"}),
    ("event_notify", [], {}),
    ("join_race", [], {}),
    ("join_race", ["join_tstate_lock_race"], {}),
    ("subinterp_clear_from_main", [], {"interps": "1", "legacy": "1"}),
    ("type_cache_torn_entry", [], {"readers": "1", "rounds": "6"}),
    # fork (the parent's state saved and restored around the child) and finalization
    ("fork_many_threads", [], {"workers": "2", "parked": "1", "daemons": "1", "forks": "2"}),
    ("finalize_many_threads", [], {"daemons": "1", "workers": "1"}),
    ("fork_join_dead_handle", ["afterfork_handles_joinable"], {}),
    ("fork_gc_dead_handle", [], {"threads": "2"}),  # a GC in the child frees the handles' cycles
    ("fork_gc_dead_handle", ["afterfork_handles_joinable"], {}),
]


def _record(tmp_path, store, scenario, bugs, args, strategy, seed, rng, points):
    meta = make_meta(scenario, seed=seed, strategy=strategy, args=args, bugs=bugs,
                     knobs={"checkpoint_every": "64"})
    log = tmp_path / f"{scenario}-{strategy}-{seed}-{len(bugs)}.ftlog"
    # First pass to learn the length, second to capture at random points (same run).
    n = Execution(meta, NullSink()).run().end.events
    wanted = set(rng.sample(range(n), min(points, n)))
    ex = Execution(meta, FileSink(log), capture_at=wanted)
    res = ex.run()
    assert res.end.events == n
    reader = read_log(log)
    run_id = f"r{len(store.runs()) + 1}"
    store.ingest(reader, run_id, str(log))
    reader.close()
    return run_id, ex.rec.captured


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    print(f"FTREPLAY_TEST_SEED={SEED}")
    tmp = tmp_path_factory.mktemp("selfcheck")
    rng = random.Random(SEED)
    db = str(tmp / "s.duckdb")
    runs = []
    with Store.open(db, read_only=False) as store:
        for scenario, bugs, args in CASES:
            for strategy in ("random", "pct", "round_robin"):
                for seed in (1, 2):
                    run_id, captured = _record(tmp, store, scenario, bugs, args, strategy, seed, rng, 60)
                    runs.append((run_id, captured, (scenario, bugs, strategy, seed)))
    return db, runs


def test_enough_points(recorded):
    _, runs = recorded
    assert sum(len(c) for _, c, _ in runs) >= 1000


def test_cursor_seeks_match_live_state(recorded):
    db, runs = recorded
    rng = random.Random(SEED + 1)
    checked = 0
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            cur = Cursor(store, run_id)
            seqs = list(captured)
            rng.shuffle(seqs)  # jumps both ways: checkpoints, short forward and backward moves
            for seq in seqs:
                st = cur.seek(seq)
                assert st.seq == seq
                assert st.comparable() == captured[seq].comparable(), f"{what} at seq {seq}"
                checked += 1
    assert checked >= 1000


def test_stepping_forward_from_zero_and_backward_from_the_end(recorded):
    db, runs = recorded
    with Store.open(db) as store:
        for run_id, captured, what in runs[::3]:
            cur = Cursor(store, run_id)
            cur.seek(-1)
            for seq in range(cur.total):
                st = cur.step(1)
                if seq in captured:
                    assert st.comparable() == captured[seq].comparable(), f"{what} forward at {seq}"
            assert cur.seq == cur.total - 1
            for seq in range(cur.total - 1, -1, -1):
                st = cur.seek(seq)
                if seq in captured:
                    assert st.comparable() == captured[seq].comparable(), f"{what} backward at {seq}"
            st = cur.step(-1)
            assert st.seq == -1 and not st.threads and not st.mutexes and not st.labels


def test_state_agrees_with_sql_facts(recorded):
    db, runs = recorded
    with Store.open(db) as store:
        run_id = runs[0][0]  # mutex_counter, random, seed 1
        cur = Cursor(store, run_id)
        _, acquires = store.query(
            "SELECT seq, tid, mutex FROM lock_acquire WHERE run_id = ? ORDER BY seq", [run_id])
        for seq, tid, mutex in acquires[::7]:
            st = cur.seek(seq)
            assert st.mutexes[mutex][1] == tid and st.mutexes[mutex][0] & 1
        _, parks = store.query(
            "SELECT seq, tid, addr FROM parking_lot_park WHERE run_id = ? AND qlen > 0 ORDER BY seq", [run_id])
        assert parks
        for seq, tid, addr in parks[::5]:
            st = cur.seek(seq)
            assert st.threads[tid][2] == addr
            assert [tid, addr] in st.buckets[addr % 257]
        st = cur.seek(cur.total - 1)
        assert not any(bits & 1 for bits, _ in st.mutexes.values())
        assert not st.buckets
        assert all(t[2] is None for t in st.threads.values())


def test_find_answers_with_sql(recorded):
    db, runs = recorded
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            cur = Cursor(store, run_id)
            _, rows = store.query(
                "SELECT seq FROM events WHERE run_id = ? AND kind = 'parking_lot.wake' ORDER BY seq", [run_id])
            wakes = [r[0] for r in rows]
            if not wakes:
                continue
            assert cur.find("kind = 'parking_lot.wake'", forward=True, start=-1) == wakes[0]
            assert cur.find("kind = 'parking_lot.wake'", forward=False, start=cur.total) == wakes[-1]
            mid = wakes[len(wakes) // 2]
            assert cur.find_kind("parking_lot.wake", forward=False, start=mid) == (
                wakes[len(wakes) // 2 - 1] if len(wakes) > 1 else None)
            assert cur.find("kind = 'no.such.kind'") is None
