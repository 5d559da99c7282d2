"""The projection self-check for objects, BRC queues, the eval breaker and critical sections:
the replayed state equals the live runtime state after every event of small runs, stepping
forward from the start, backward from the end, and seeking through checkpoints.
"""

from __future__ import annotations

import os
import random

import msgspec
import pytest

from ftreplay.record.log import FileSink, read_log
from ftreplay.record.session import Execution, make_meta
from ftreplay.record.store import Store
from ftreplay.replay.cursor import Cursor
from ftreplay.replay.state import State

SEED = int(os.environ.get("FTREPLAY_TEST_SEED", "20241126"))

CASES = [
    ("refcount_shared", {}),
    ("refcount_shared", {"objects": "2", "readers": "3", "rounds": "1", "orphans": "3"}),
    ("refcount_shared", {"readers": "1", "orphans": "1", "work_ns": "0"}),
    ("critical_sections", {}),
    ("critical_sections", {"threads": "4", "iterations": "2", "work_ns": "0"}),
    ("lockfree_read", {"rounds": "8", "reads": "12"}),
    ("list_append", {"threads": "2", "items": "6", "reads": "10"}),
    ("dict_replace", {"rounds": "6"}),
    ("alloc_churn", {"waves": "2", "allocs": "10"}),
    ("stw_storm", {"iterations": "5", "pauses": "3"}),
    ("async_exc", {"iterations": "6"}),
    ("gc_cycles", {"threads": "2", "cycles": "12", "finalizers": "5"}),
    ("gil_switch", {"threads": "2", "work_ms": "11", "chunk_us": "500"}),
    ("instrumentation_clear", {"calls": "2"}),
]
STRATEGIES = ("random", "pct", "round_robin")


def _record(tmp_path, store, scenario, args, strategy, seed):
    meta = make_meta(scenario, seed=seed, strategy=strategy, args=args, knobs={"checkpoint_every": "64"})
    log = tmp_path / f"{scenario}-{len(store.runs())}.ftlog"
    ex = Execution(meta, FileSink(log), capture_at=True)  # a live snapshot after every event
    res = ex.run()
    assert res.status == "ok", res.failure
    reader = read_log(log)
    run_id = f"r{len(store.runs()) + 1}"
    store.ingest(reader, run_id, str(log))
    reader.close()
    # Every event but those emitted while the Runtime is built (before snapshots can be taken).
    first = min(ex.rec.captured)
    assert first < 16 and set(ex.rec.captured) >= set(range(first, res.end.events))
    return run_id, ex.rec.captured


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    print(f"FTREPLAY_TEST_SEED={SEED}")
    tmp = tmp_path_factory.mktemp("selfcheck_objects")
    db = str(tmp / "s.duckdb")
    runs = []
    with Store.open(db, read_only=False) as store:
        for scenario, args in CASES:
            for strategy in STRATEGIES:
                for seed in (SEED % 1000 + 1, SEED % 1000 + 2):
                    run_id, captured = _record(tmp, store, scenario, args, strategy, seed)
                    runs.append((run_id, captured, (scenario, args, strategy, seed)))
    return db, runs


def _mismatch(st: State, live: State) -> str:
    a, b = st.comparable(), live.comparable()
    keys = [k for k in a if a[k] != b.get(k)]
    return "; ".join(f"{k}: replay {a[k]!r} != live {b.get(k)!r}" for k in keys)


def test_the_runs_exercise_every_new_kind(recorded):
    db, runs = recorded
    with Store.open(db) as store:
        _, rows = store.query(
            "SELECT DISTINCT kind || coalesce(':' || path, '') FROM events WHERE kind LIKE 'object.%' OR "
            "kind LIKE 'brc.%' OR kind LIKE 'critical_section.%' OR kind LIKE 'ceval_gil.%' ORDER BY 1")
    seen = {r[0] for r in rows}
    for want in (
        "object.new", "object.incref:local", "object.incref:shared", "object.incref:immortal",
        "object.decref:local", "object.decref:shared", "object.decref:immortal", "object.disown:zero_local",
        "object.disown:queue", "object.disown:owner_gone", "object.merge:queue", "object.merge:owner_gone",
        "object.merge:zero_local", "object.dealloc", "object.try_incref:shared", "object.set_maybe_weakref",
        "object.set_immortal", "brc.init_thread", "brc.remove_thread", "brc.queue", "brc.merge_batch",
        "brc.merge", "ceval_gil.eval_breaker", "critical_section.begin:fast", "critical_section.begin:slow",
        "critical_section.begin:skip", "critical_section.locked:begin", "critical_section.locked:resume",
        "critical_section.end:end", "critical_section.end:skip", "critical_section.suspend",
        "critical_section.resume",
    ):
        assert want in seen, f"no {want} event in the self-check runs"


def test_every_seq_forward_then_backward(recorded):
    db, runs = recorded
    checked = 0
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            cur = Cursor(store, run_id)
            cur.seek(-1)
            for seq in range(cur.total):
                st = cur.step(1)
                assert st.seq == seq
                if seq not in captured:
                    continue
                assert st.comparable() == captured[seq].comparable(), f"{what} forward at {seq}: " + _mismatch(
                    st, captured[seq])
                checked += 1
            for seq in range(cur.total - 2, -1, -1):
                st = cur.step(-1)
                assert st.seq == seq
                if seq not in captured:
                    continue
                assert st.comparable() == captured[seq].comparable(), f"{what} backward at {seq}: " + _mismatch(
                    st, captured[seq])
                checked += 1
            st = cur.step(-1)
            assert st.seq == -1 and not st.objects and not st.brc and not st.critical_sections
            assert not st.eval_breaker
    assert checked > 10_000


def test_random_seeks_through_checkpoints(recorded):
    db, runs = recorded
    rng = random.Random(SEED)
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            cur = Cursor(store, run_id)
            seqs = rng.sample(sorted(captured), min(80, len(captured)))
            for seq in seqs:  # far jumps load a checkpoint (every 64 events); near ones step
                st = cur.seek(seq)
                assert st.comparable() == captured[seq].comparable(), f"{what} seek {seq}: " + _mismatch(
                    st, captured[seq])


def test_checkpoint_states_round_trip_through_msgpack(recorded):
    _, runs = recorded
    for _, captured, what in runs[:6]:
        for seq in list(captured)[::25]:
            st = captured[seq]
            back = State.from_plain(msgspec.msgpack.decode(msgspec.msgpack.encode(st.to_plain())))
            assert back.comparable() == st.comparable(), what


def test_the_memory_state_is_exercised(recorded):
    """The self-check covers QSBR, pages, segments and delayed-free queues: some captured
    state of the memory scenarios has each of them."""
    _, runs = recorded
    seen = {"qsbr_threads": False, "pages_held": False, "segments_abandoned": False, "delayed": False,
            "rd_seq_advanced": False}
    for _, captured, what in runs:
        if what[0] not in ("lockfree_read", "list_append", "dict_replace", "alloc_churn"):
            continue
        for st in captured.values():
            seen["qsbr_threads"] |= bool(st.qsbr_threads)
            seen["pages_held"] |= any(rec[7] for rec in st.pages.values())
            seen["segments_abandoned"] |= 0 in st.segments.values()
            seen["delayed"] |= bool(st.delayed)
            seen["rd_seq_advanced"] |= st.qsbr[1] > 1
    assert all(seen.values()), seen


def test_the_gc_and_gil_state_is_exercised(recorded):
    """The self-check covers a collection's phases and the GIL holder."""
    _, runs = recorded
    phases, holders = set(), set()
    for _, captured, what in runs:
        for st in captured.values():
            phases.add(st.gc_phase)
            holders.add(st.gil_holder)
    assert {"update_refs", "mark", "scan", "delete"} <= phases
    assert len(holders - {None}) >= 2


def test_the_pause_state_is_exercised(recorded):
    """The self-check covers stop-the-world: captured states inside a pause, with threads
    suspended and the countdown at zero once the world is stopped."""
    _, runs = recorded
    stopped = requested = 0
    for _, captured, what in runs:
        if what[0] != "stw_storm":
            continue
        for st in captured.values():
            for requester, countdown, world_stopped in st.stw.values():
                requested += 1
                if world_stopped:
                    stopped += 1
                    assert countdown == 0, what
                    assert all(rec[0] != "attached" for tid, rec in st.threads.items()
                               if tid != requester and rec[1] == "running"), what
    assert stopped and requested > stopped


def test_the_end_state_of_a_refcount_run(recorded):
    db, runs = recorded
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            if what[0] != "refcount_shared":
                continue
            st = Cursor(store, run_id).seek(10**9)
            # Only the immortal object survives; every queue is empty; no live thread has a
            # merge request pending (an exited one may keep the bit: its queue was drained).
            assert [rec[0] for rec in st.objects.values()] == ["str"], what
            (rec,) = st.objects.values()
            assert rec[4:7] == [0, 0xFFFFFFFF, 0], what
            assert all(not q and not loc for _, q, loc in st.brc.values()), what
            assert list(st.brc) == [1], what  # only main is still registered
            assert all(st.threads[t][1] == "deleted" for t in st.eval_breaker), what
            assert not st.critical_sections, what


def test_state_agrees_with_sql_facts(recorded):
    db, runs = recorded
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            cur = Cursor(store, run_id)
            _, queued = store.query(
                "SELECT seq, tid, obj, owner FROM brc_queue WHERE run_id = ? ORDER BY seq", [run_id])
            for seq, tid, obj, owner in queued:
                st = cur.seek(seq)
                assert st.brc[owner][1][-1] == obj
                assert st.objects[obj][6] & 3 == 2, f"{what}: queued object {obj} lacks the QUEUED flag"
                # The queueing thread's next event asks the owner to merge.
                nxt = cur.find_thread(tid, start=seq)
                st = cur.seek(nxt)
                e = cur.event(nxt)
                assert (e.__struct_config__.tag, e.thread, e.op) == ("ceval_gil.eval_breaker", owner, "set")
                assert st.eval_breaker[owner] & 0x40
            _, begins = store.query(
                "SELECT seq, tid, cs, depth FROM critical_section_begin WHERE run_id = ? AND path = 'fast' "
                "ORDER BY seq", [run_id])
            for seq, tid, cs, depth in begins[::3]:
                st = cur.seek(seq)
                top = st.critical_sections[tid][-1]
                assert len(st.critical_sections[tid]) == depth and top[0] == cs and top[2] is not None
                assert st.mutexes[top[2]][1] == tid  # the section's mutex is held by its thread
