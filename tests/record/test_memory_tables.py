"""The memory tables derived at ingest: object_lifetimes and refcount_history, checked
against the log they were derived from (recorded refcount_shared runs), and the allocator
columns against a hand-written log."""

from __future__ import annotations

import shutil
from collections import defaultdict

import duckdb
import pytest

from ftreplay import __version__
from ftreplay.record.events import (
    BRC_QUEUE,
    CODECS,
    ENVELOPE,
    FIELDS,
    OBJECT_DEALLOC,
    OBJECT_DECREF,
    OBJECT_DISOWN,
    OBJECT_INCREF,
    OBJECT_MERGE,
    OBJECT_NEW,
    OBJECT_TRY_INCREF,
    OBMALLOC_ALLOC,
    OBMALLOC_FREE,
    RUN_LABEL,
)
from ftreplay.record.log import FileSink, RunEnd, RunMeta, read_log
from ftreplay.record.recorder import Recorder
from ftreplay.record.store import OBJECT_LIFETIMES_COLUMNS, REFCOUNT_HISTORY_COLUMNS, Store

RUNS = [("rs-1", 1, "random"), ("rs-2", 2, "random"), ("rs-3", 3, "pct"), ("rs-4", 4, "pct"), ("rs-5", 1, "round_robin")]
LIFETIME_COLS = [c for c, _ in OBJECT_LIFETIMES_COLUMNS]
HISTORY_COLS = [c for c, _ in REFCOUNT_HISTORY_COLUMNS]


@pytest.fixture(scope="module")
def rs_store(tmp_path_factory, record_to_store):
    d = tmp_path_factory.mktemp("memory_tables")
    path = str(d / "s.duckdb")
    with Store.open(path, read_only=False) as store:
        for run_id, seed, strategy in RUNS:
            res = record_to_store(store, d, run_id, "refcount_shared", seed=seed, strategy=strategy)
            assert res.status == "ok", res.end.failure_message
    return path


# Scenarios with allocator events: blocks are freed and reused (one run with a memory bug).
MEM_RUNS = [
    ("ac-1", "alloc_churn", 1, "random", []),
    ("la-1", "list_append", 2, "pct", []),
    ("dr-1", "dict_replace", 1, "pct", []),
    ("lf-1", "lockfree_read", 1, "pct", []),
    ("lf-2", "lockfree_read", 3, "pct", []),
    ("lf-bug", "lockfree_read", 2, "pct", ["free_delayed_without_qsbr"]),
]


@pytest.fixture(scope="module")
def mem_store(tmp_path_factory, record_to_store):
    d = tmp_path_factory.mktemp("memory_tables_alloc")
    path = str(d / "s.duckdb")
    with Store.open(path, read_only=False) as store:
        for run_id, scenario, seed, strategy, bugs in MEM_RUNS:
            record_to_store(store, d, run_id, scenario, seed=seed, strategy=strategy, bugs=bugs)
    return path


def log_events(store: Store, run_id: str) -> list:
    reader = read_log(store.run(run_id)["log_path"])
    try:
        return list(reader.iter_events())
    finally:
        reader.close()


def tag(e) -> str:
    return e.__struct_config__.tag


# -- reference implementations over the decoded log --------------------------------------------
def expected_lifetimes(run_id: str, events: list) -> list[tuple]:
    rows: dict[int, dict] = {}
    allocs, frees, news = defaultdict(list), defaultdict(list), defaultdict(list)
    for e in events:
        k = tag(e)
        if k == "obmalloc.alloc":
            allocs[e.block].append(e.seq)
        elif k == "obmalloc.free":
            frees[e.block].append(e.seq)
        if not k.startswith("object.") and k != "brc.queue":
            continue
        if k == "object.new":
            news[e.block].append(e.seq)
            rows[e.obj] = dict(
                run_id=run_id, obj=e.obj, type=e.type, size=e.size, gc=e.gc, block=e.block, creator_tid=e.tid,
                new_seq=e.seq, new_ts=e.ts, dealloc_seq=None, dealloc_ts=None, dealloc_tid=None, increfs=0,
                decrefs=0, shared_ops=0, first_shared_seq=None, disown_seq=None, queued_seq=None, queued_to=None,
                merged_seq=None, try_increfs_failed=0, block_freed_seq=None, block_reused_seq=None,
                block_reused_by=None, _obj_at={},
            )
            continue
        r = rows[e.obj]
        if k == "object.dealloc" and r["dealloc_seq"] is None:
            r.update(dealloc_seq=e.seq, dealloc_ts=e.ts, dealloc_tid=e.tid)
        elif k in ("object.incref", "object.decref"):
            r["increfs" if k == "object.incref" else "decrefs"] += 1
            if e.path == "shared":
                r["shared_ops"] += 1
                if r["first_shared_seq"] is None:
                    r["first_shared_seq"] = e.seq
        elif k == "object.disown" and r["disown_seq"] is None:
            r["disown_seq"] = e.seq
        elif k == "brc.queue" and r["queued_seq"] is None:
            r.update(queued_seq=e.seq, queued_to=e.owner)
        elif k == "object.merge" and r["merged_seq"] is None:
            r["merged_seq"] = e.seq
        elif k == "object.try_incref" and not e.ok:
            r["try_increfs_failed"] += 1
    obj_of_new = {r["new_seq"]: r["obj"] for r in rows.values()}
    for r in rows.values():
        if r["dealloc_seq"] is None:
            continue
        b = r["block"]
        freed = [s for s in frees[b] if s >= r["dealloc_seq"]]
        if not freed:
            continue
        r["block_freed_seq"] = freed[0]
        reused = [s for s in allocs[b] if s > freed[0]]
        if not reused:
            continue
        a = r["block_reused_seq"] = reused[0]
        later_alloc = min([s for s in allocs[b] if s > a], default=None)
        became = [s for s in news[b] if s >= a and (later_alloc is None or s < later_alloc)]
        r["block_reused_by"] = obj_of_new[became[0]] if became else None
    return [tuple(r[c] for c in LIFETIME_COLS) for _, r in sorted(rows.items())]


# -- object_lifetimes --------------------------------------------------------------------------
def test_one_lifetime_row_per_object_new(rs_store):
    with Store.open(rs_store) as store:
        for run_id, _, _ in RUNS:
            _, new = store.query("SELECT obj, seq FROM object_new WHERE run_id = $run ORDER BY obj", {"run": run_id})
            _, lt = store.query("SELECT obj, new_seq FROM object_lifetimes WHERE run_id = $run ORDER BY obj",
                                {"run": run_id})
            assert len(new) >= 6 and lt == new, run_id


def test_lifetimes_equal_the_log(rs_store):
    with Store.open(rs_store) as store:
        cols, _ = store.query("SELECT * FROM object_lifetimes LIMIT 0")
        assert cols == LIFETIME_COLS
        for run_id, _, _ in RUNS:
            _, rows = store.query("SELECT * FROM object_lifetimes WHERE run_id = $run ORDER BY obj", {"run": run_id})
            assert rows == expected_lifetimes(run_id, log_events(store, run_id)), run_id


def test_lifetimes_equal_the_log_with_allocator_events(mem_store):
    with Store.open(mem_store) as store:
        for run_id, *_ in MEM_RUNS:
            _, rows = store.query("SELECT * FROM object_lifetimes WHERE run_id = $run ORDER BY obj", {"run": run_id})
            assert rows == expected_lifetimes(run_id, log_events(store, run_id)), run_id
        _, [(freed, reused, became)] = store.query(
            "SELECT count(block_freed_seq), count(block_reused_seq), count(block_reused_by) FROM object_lifetimes")
        assert freed > 0 and reused > 0 and became > 0
        # what the columns promise, on every row
        _, bad = store.query(
            "SELECT l.run_id, l.obj FROM object_lifetimes l "
            "LEFT JOIN object_lifetimes n ON n.run_id = l.run_id AND n.obj = l.block_reused_by "
            "WHERE l.block_freed_seq < l.dealloc_seq OR l.block_reused_seq <= l.block_freed_seq "
            "OR (l.block_reused_by IS NOT NULL AND (n.block <> l.block OR n.new_seq < l.block_reused_seq)) "
            "OR (l.block_freed_seq IS NOT NULL AND l.dealloc_seq IS NULL) ORDER BY ALL")
        assert bad == []


def test_every_object_the_scenario_frees_has_a_dealloc(rs_store):
    """refcount_shared frees everything but its one immortal object."""
    with Store.open(rs_store) as store:
        for run_id, _, _ in RUNS:
            _, rows = store.query(
                "SELECT l.obj, l.dealloc_seq, d.seq, i.seq IS NOT NULL AS immortal FROM object_lifetimes l "
                "LEFT JOIN object_dealloc d ON d.run_id = l.run_id AND d.obj = l.obj "
                "LEFT JOIN object_set_immortal i ON i.run_id = l.run_id AND i.obj = l.obj "
                "WHERE l.run_id = $run ORDER BY l.obj", {"run": run_id})
            assert sum(1 for r in rows if r[3]) == 1
            for obj, dealloc_seq, seq, immortal in rows:
                assert (dealloc_seq is None) == immortal, (run_id, obj)
                assert dealloc_seq == seq
            # the scenario's cross-thread traffic shows: shared ops, queues to owners, merges
            _, [(shared, queued, merged)] = store.query(
                "SELECT sum(shared_ops), count(queued_seq), count(merged_seq) FROM object_lifetimes "
                "WHERE run_id = $run", {"run": run_id})
            assert shared > 0 and queued > 0 and merged > 0


# -- refcount_history --------------------------------------------------------------------------
CHANGES = (
    "object.new", "object.incref", "object.decref", "object.try_incref", "object.disown", "object.merge",
    "object.set_maybe_weakref", "object.set_immortal", "object.dealloc",
)


def changes_refcount(e) -> bool:
    k = tag(e)
    if k not in CHANGES:
        return False
    if k in ("object.incref", "object.decref", "object.try_incref") and e.path == "immortal":
        return False
    return k != "object.try_incref" or e.ok


@pytest.mark.parametrize("which", ["rs_store", "mem_store"])
def test_refcount_history_has_a_row_per_change(request, which):
    with Store.open(request.getfixturevalue(which)) as store:
        cols, _ = store.query("SELECT * FROM refcount_history LIMIT 0")
        assert cols == HISTORY_COLS
        for (run_id,) in store.query("SELECT run_id FROM runs ORDER BY run_id")[1]:
            events = [e for e in log_events(store, run_id) if changes_refcount(e)]
            _, rows = store.query(
                "SELECT obj, seq, ts, tid, kind FROM refcount_history WHERE run_id = $run ORDER BY obj, seq",
                {"run": run_id})
            assert rows == sorted((e.obj, e.seq, e.ts, e.tid, tag(e)) for e in events), run_id


def test_refcount_history_starts_at_new_and_ends_at_dealloc(rs_store):
    with Store.open(rs_store) as store:
        for run_id, _, _ in RUNS:
            _, rows = store.query(
                "SELECT obj, arg_min(kind, seq), arg_max(kind, seq), arg_max(refcnt, seq), "
                "bool_or(kind = 'object.set_immortal') FROM refcount_history WHERE run_id = $run "
                "GROUP BY obj ORDER BY obj", {"run": run_id})
            _, objs = store.query("SELECT obj FROM object_new WHERE run_id = $run ORDER BY obj", {"run": run_id})
            assert [r[0] for r in rows] == [o for (o,) in objs]
            for obj, first, last, refcnt, immortal in rows:
                assert first == "object.new"
                if immortal:
                    assert (last, refcnt) == ("object.set_immortal", 3 << 30)
                else:
                    assert (last, refcnt) == ("object.dealloc", 0), (run_id, obj)


@pytest.mark.parametrize("which", ["rs_store", "mem_store"])
def test_refcount_history_is_a_chain(request, which):
    """Each event's old header fields are the previous row's new ones: no change is missing,
    and the fields carried forward (disown's shared, merge's local) are right."""
    with Store.open(request.getfixturevalue(which)) as store:
        for (run_id,) in store.query("SELECT run_id FROM runs ORDER BY run_id")[1]:
            _, rows = store.query(
                "SELECT h.obj, h.seq, h.kind, h.ob_ref_local, h.ob_ref_shared, h.refcnt, h.shared_count, h.flags, "
                "e.ob_ref_local_old, e.ob_ref_shared_old, e.ob_ref_local, e.ob_ref_shared "
                "FROM refcount_history h JOIN events e ON e.run_id = h.run_id AND e.seq = h.seq "
                "WHERE h.run_id = $run ORDER BY h.obj, h.seq", {"run": run_id})
            prev = None
            kinds = set()
            for obj, seq, kind, local, shared, refcnt, count, flags, local_old, shared_old, ev_local, ev_shared in rows:
                kinds.add(kind)
                assert local is not None and shared is not None and refcnt is not None
                assert (count, flags) == (shared >> 2, shared & 3)
                if ev_local is not None:
                    assert local == ev_local
                if ev_shared is not None:
                    assert shared == ev_shared
                if kind == "object.new":
                    assert (local, shared, refcnt) == (1, 0, 1)
                else:
                    assert prev is not None and prev[0] == obj
                    if local_old is not None:
                        assert local_old == prev[1], (run_id, seq, kind)
                    if shared_old is not None:
                        assert shared_old == prev[2], (run_id, seq, kind)
                    if kind in ("object.disown", "object.set_maybe_weakref"):
                        assert refcnt == prev[3]
                prev = (obj, local, shared, refcnt)
            if which == "mem_store":
                continue
            assert {"object.disown", "object.merge", "object.set_maybe_weakref"} <= kinds
            _, [(negative,)] = store.query(
                "SELECT count(*) FROM refcount_history WHERE run_id = $run AND ob_ref_shared < 0", {"run": run_id})
            assert negative > 0  # the arithmetic shift was exercised


# -- upgrade -----------------------------------------------------------------------------------
def test_an_upgraded_store_derives_the_new_tables_for_its_runs(rs_store, tmp_path):
    path = str(tmp_path / "old.duckdb")
    shutil.copy(rs_store, path)
    queries = [f"SELECT * FROM {t} ORDER BY ALL" for t in ("object_lifetimes", "refcount_history")]
    with Store.open(path) as store:
        before = [store.query(q)[1] for q in queries]
    con = duckdb.connect(path)
    con.execute("DROP TABLE object_lifetimes")
    con.execute("DROP TABLE refcount_history")
    con.execute("UPDATE ftreplay_meta SET value = 'older' WHERE key = 'ddl_sha256'")
    con.close()
    Store.open(path, read_only=False).close()
    with Store.open(path) as store:
        assert [store.query(q)[1] for q in queries] == before
        assert before[0] and before[1]


# -- allocator columns, from a hand-written log ------------------------------------------------
_DEFAULT = {"q": 0, "b": False, "s": "", "n": None, "z": None}


class _Clock:
    now = 0
    tid = 0


def write_hand_log(path, events: list[tuple]) -> None:
    """``events``: (kind, tid, {field: value}); unnamed fields are 0 / '' / False / None."""
    clock = _Clock()
    sink = FileSink(path)
    rec = Recorder(clock, sink)
    rec.begin(RunMeta(scenario="hand_written", seed=0, strategy="round_robin", args={}, knobs={}, bugs=[],
                      ftreplay_version=__version__))
    for kind, tid, fields in events:
        names = [n for n in FIELDS[kind] if n not in ENVELOPE]
        assert set(fields) <= set(names)
        clock.tid, clock.now = tid, clock.now + 10
        rec.emit(kind, *[fields.get(n, _DEFAULT[c]) for n, c in zip(names, CODECS[kind][len(ENVELOPE):])])
    rec.finish(RunEnd(status="ok", events=rec.seq, steps=rec.seq, virtual_ns=clock.now, schedule=""))
    sink.close()


def test_block_free_and_reuse(tmp_path):
    A, B, C = 0x1000, 0x2000, 0x3000

    def alloc(tid, block):
        return (OBMALLOC_ALLOC, tid, dict(block=block, size=32, heap="object", page=0x10000, bin=2, block_size=32))

    def free(tid, block):
        return (OBMALLOC_FREE, tid, dict(block=block, size=32, heap="object", page=0x10000, path="local"))

    def new(tid, obj, block):
        return (OBJECT_NEW, tid, dict(obj=obj, type="dict", size=32, block=block, ob_tid=tid))

    def dealloc(tid, obj, block):
        return (OBJECT_DEALLOC, tid, dict(obj=obj, type="dict", size=32, block=block))

    events = [
        alloc(1, A), new(1, 1, A),                      # 0, 1
        alloc(1, B), new(1, 2, B),                      # 2, 3
        alloc(1, C), new(1, 3, C),                      # 4, 5
        dealloc(1, 1, A), free(1, A),                   # 6, 7: obj 1's block freed at 7
        alloc(2, A),                                    # 8: reused by thread 2 ...
        alloc(1, 0x4000), (RUN_LABEL, 2, dict(addr=A, label="x")),  # 9, 10: ... others run meanwhile
        new(2, 4, A),                                   # 11: ... which makes obj 4 there
        dealloc(1, 2, B), free(1, B),                   # 12, 13
        alloc(1, B), free(1, B),                        # 14, 15: B reused for non-object memory
        alloc(1, B), new(1, 5, B),                      # 16, 17: then for obj 5
        dealloc(2, 4, A), free(2, A),                   # 18, 19: obj 4 (at A again): its own free is 19, not 7
        dealloc(1, 3, C),                               # 20: obj 3's block is never freed
    ]
    path = str(tmp_path / "hand.ftlog")
    write_hand_log(path, events)
    with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as store:
        reader = read_log(path)
        try:
            store.ingest(reader, "hand", path)
        finally:
            reader.close()
        _, rows = store.query(
            "SELECT obj, dealloc_seq, block_freed_seq, block_reused_seq, block_reused_by FROM object_lifetimes "
            "WHERE run_id = 'hand' ORDER BY obj")
        assert rows == [
            (1, 6, 7, 8, 4),
            (2, 12, 13, 14, None),
            (3, 20, None, None, None),
            (4, 18, 19, None, None),
            (5, None, None, None, None),
        ]
        assert rows == [r[1:2] + r[9:10] + r[21:24]
                        for r in expected_lifetimes("hand", log_events(store, "hand"))]


def test_hand_written_refcount_changes(tmp_path):
    """Failed and immortal-path operations change no field: counted in object_lifetimes, not
    rows of refcount_history; a disown carries the shared field and the count forward."""
    events = [
        (OBJECT_NEW, 1, dict(obj=1, type="list", size=32, block=0x1000, ob_tid=1)),                      # 0
        (OBJECT_TRY_INCREF, 2, dict(obj=1, path="shared", ok=False, ob_ref_local=1, ob_ref_shared=0,
                                    refcnt=1, ob_ref_local_old=1)),                                       # 1
        (OBJECT_INCREF, 2, dict(obj=1, path="immortal", ob_ref_local=1, refcnt=3 << 30, ob_ref_local_old=1)),  # 2
        (OBJECT_DECREF, 2, dict(obj=1, path="shared", ob_ref_local=1, ob_ref_shared=2, refcnt=1,
                                ob_ref_local_old=1, ob_ref_shared_old=0)),                                # 3
        (BRC_QUEUE, 2, dict(obj=1, owner=1, bucket=1)),                                                   # 4
        (OBJECT_TRY_INCREF, 2, dict(obj=1, path="shared", ok=True, ob_ref_local=1, ob_ref_shared=6,
                                    refcnt=2, ob_ref_local_old=1, ob_ref_shared_old=2)),                  # 5
        (OBJECT_DISOWN, 1, dict(obj=1, path="queue", ob_tid=0, ob_ref_local=0, ob_tid_old=1,
                                ob_ref_local_old=1)),                                                     # 6
        (OBJECT_MERGE, 1, dict(obj=1, path="queue", extra=0, refcnt=2, ob_ref_shared=11,
                               ob_ref_shared_old=6)),                                                     # 7
        (OBJECT_DECREF, 2, dict(obj=1, path="shared", ob_ref_local=0, ob_ref_shared=7, refcnt=1,
                                ob_ref_local_old=0, ob_ref_shared_old=11)),                               # 8
    ]
    path = str(tmp_path / "hand.ftlog")
    write_hand_log(path, events)
    with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as store:
        reader = read_log(path)
        try:
            store.ingest(reader, "hand", path)
        finally:
            reader.close()
        _, lt = store.query(
            "SELECT increfs, decrefs, shared_ops, first_shared_seq, disown_seq, queued_seq, queued_to, merged_seq, "
            "try_increfs_failed, dealloc_seq FROM object_lifetimes WHERE run_id = 'hand'")
        assert lt == [(1, 2, 2, 3, 6, 4, 1, 7, 1, None)]
        _, hist = store.query(
            "SELECT seq, kind, path, ob_ref_local, ob_ref_shared, refcnt, shared_count, flags FROM refcount_history "
            "WHERE run_id = 'hand' ORDER BY obj, seq")
        assert hist == [
            (0, "object.new", None, 1, 0, 1, 0, 0),
            (3, "object.decref", "shared", 1, 2, 1, 0, 2),
            (5, "object.try_incref", "shared", 1, 6, 2, 1, 2),
            (6, "object.disown", "queue", 0, 6, 2, 1, 2),
            (7, "object.merge", "queue", 0, 11, 2, 2, 3),
            (8, "object.decref", "shared", 0, 7, 1, 1, 3),
        ]
