"""Python/brc.c model: non-owner decrefs queue objects to their owner, which merges them at
its eval-breaker checks, when it clears its thread state, or (once it has exited) the
queueing thread merges them on the spot."""

from __future__ import annotations

import os

import pytest

from ftreplay.record.log import FileSink, MemorySink, read_log
from ftreplay.record.session import execute, make_meta
from ftreplay.record.store import Store
from ftreplay.runtime import brc
from ftreplay.runtime.ceval_gil import _PY_EVAL_EXPLICIT_MERGE_BIT
from ftreplay.runtime.object import _Py_REF_MERGED, _Py_REF_QUEUED

RC_KINDS = ("object.incref", "object.decref", "object.disown", "object.merge", "object.dealloc", "brc.queue",
            "brc.merge", "brc.merge_batch", "ceval_gil.eval_breaker", "brc.init_thread", "brc.remove_thread")


def _trail(r, kinds=RC_KINDS):
    return [(e.tid, e.kind, getattr(e, "path", None) or getattr(e, "op", None)) for e in r.events if e.kind in kinds]


def _handed_out(rt, n: int, name: str = "obj"):
    """An object owned by the caller with ``n`` extra references counted in its ob_ref_local
    (as when the owner stores it into containers other threads then empty)."""
    o = rt.new_object(name=name)
    for _ in range(n):
        o.incref()
    return o


def test_non_owner_decref_below_zero_queues_once_and_the_owner_merges_at_its_eval_breaker(run_guest):
    box = {}

    def guest(rt):
        o = _handed_out(rt, 2)  # local 3: ours + two handed to the other thread

        def other():
            o.decref()  # shared 0 -> QUEUED (the queue keeps this reference)
            box["queued"] = (o.ob_ref_shared, rt.pystate.main_interp.threads[-1].eval_breaker)
            o.decref()  # QUEUED - 4: negative, still QUEUED, not queued again
            box["negative"] = o.ob_ref_shared

        rt.start_thread(other).join()
        ts = rt.pystate.current()
        box["before_check"] = ([x.obj for x in ts.brc.objects_to_merge], ts.eval_breaker, o.ob_tid)
        rt.work(0)  # a bytecode boundary: _Py_HandlePending merges (refcnt 3 - 2 - 1 + 1 = 1)
        box["merged"] = (o.alive, o.ob_tid, o.ob_ref_local, o.ob_ref_shared, ts.eval_breaker)
        o.decref()  # our own reference: lands on MERGED
        box["end"] = o.alive

    r = run_guest(guest).ok()
    assert box["queued"] == (_Py_REF_QUEUED, _PY_EVAL_EXPLICIT_MERGE_BIT)
    assert box["negative"] == -2 and box["negative"] & 3 == _Py_REF_QUEUED
    assert box["before_check"] == ([1], _PY_EVAL_EXPLICIT_MERGE_BIT, 1)
    assert box["merged"] == (True, 0, 0, (1 << 2) | _Py_REF_MERGED, 0)
    assert box["end"] is False
    [q] = r.of("brc.queue")
    assert (q.tid, q.obj, q.owner, q.bucket) == (2, 1, 1, 1 % 257)
    assert _trail(r) == [
        (1, "brc.init_thread", None),
        (1, "object.incref", "local"), (1, "object.incref", "local"),
        (2, "object.decref", "shared"), (2, "brc.queue", None), (2, "ceval_gil.eval_breaker", "set"),
        (2, "object.decref", "shared"),
        (1, "ceval_gil.eval_breaker", "unset"), (1, "brc.merge_batch", None),
        (1, "object.disown", "queue"), (1, "object.merge", "queue"), (1, "brc.merge", None),
        (1, "object.decref", "shared"), (1, "object.dealloc", None),
    ]
    [m] = r.of("brc.merge")
    assert (m.owner, m.refcnt) == (1, 1)


def test_the_owners_merge_deallocates_when_the_merged_count_is_zero(run_guest):
    box = {}

    def guest(rt):
        o = _handed_out(rt, 2)
        o.decref()  # our own reference: local 2 (both counted for the other thread)
        go = rt.event("go")

        def other():
            o.decref()
            o.decref()
            go.notify()

        t = rt.start_thread(other)
        go.wait()
        box["queued"] = (o.alive, o.ob_ref_local, o.ob_ref_shared)
        rt.work(0)
        box["after"] = o.alive
        t.join()

    r = run_guest(guest).ok()
    assert box["queued"] == (True, 2, -2)
    assert box["after"] is False
    [m] = r.of("brc.merge")
    assert m.refcnt == 0
    [d] = r.of("object.dealloc")
    assert d.tid == 1 and d.seq > m.seq and (d.ob_tid, d.ob_ref_local, d.ob_ref_shared) == (0, 0, _Py_REF_MERGED)


def test_the_owner_merges_only_at_a_bytecode_boundary(run_guest):
    def guest(rt):
        o = _handed_out(rt, 1)
        evt = rt.event("queued")

        def other():
            o.decref()
            evt.notify()

        rt.start_thread(other)
        evt.wait()  # parked and detached while the other thread queues: no merge yet
        assert o.ob_tid == 1 and len(rt.pystate.current().brc.objects_to_merge) == 1
        rt.new_object("marker")  # any guest operation checks the eval breaker first
        assert o.ob_tid == 0
        o.decref()

    r = run_guest(guest).ok()
    [marker] = [e for e in r.of("object.new") if e.type == "marker"]
    [batch] = r.of("brc.merge_batch")
    assert batch.tid == 1 and batch.seq < marker.seq


def test_owner_has_exited_the_queueing_thread_merges_in_place(run_guest):
    box = {}

    def guest(rt):
        box_objs = []

        def owner():
            o = _handed_out(rt, 2)
            o.decref()  # ours; two references stay counted in our ob_ref_local
            box_objs.append(o)

        rt.start_thread(owner, name="owner").join()  # the owner is gone, ob_tid still names it
        o = box_objs[0]
        box["orphan"] = (o.ob_tid, o.ob_ref_local, o.ob_ref_shared)
        o.decref()  # shared 0 -> QUEUED; no owner in the table: merge now (2 + 0 - 1 = 1)
        box["merged"] = (o.alive, o.ob_tid, o.ob_ref_local, o.ob_ref_shared)
        o.decref()
        box["end"] = o.alive

    r = run_guest(guest).ok()
    assert box["orphan"] == (2, 2, 0)
    assert box["merged"] == (True, 0, 0, (1 << 2) | _Py_REF_MERGED)
    assert box["end"] is False
    assert not r.of("brc.queue") and not r.of("brc.merge")
    main = [(k, p) for t, k, p in _trail(r) if t == 1]
    assert main == [("object.decref", "shared"), ("object.disown", "owner_gone"), ("object.merge", "owner_gone"),
                    ("object.decref", "shared"), ("object.dealloc", None)]
    [merge] = r.of("object.merge")
    assert (merge.extra, merge.refcnt, merge.ob_ref_shared_old) == (-1, 1, _Py_REF_QUEUED)
    # The bucket mutex is held around the merge.
    bucket_mutex = r.rt.pystate.main_interp.brc.table[2 % 257].addr
    acq = [e.seq for e in r.of("lock.acquire", mutex=bucket_mutex, tid=1)]
    rel = [e.seq for e in r.of("lock.release", mutex=bucket_mutex, tid=1)]
    assert len(acq) == len(rel) == 1 and acq[0] < merge.seq < rel[0]


def test_owner_exiting_with_objects_queued_merges_them_in_thread_state_clear(run_guest):
    box = {}

    def guest(rt):
        objs = []
        published = rt.event("published")
        released = rt.event("released")

        def owner():
            objs.extend(_handed_out(rt, 1, f"o{i}") for i in range(3))
            for o in objs:
                o.decref()  # ours
            published.notify()
            released.wait()  # detached: no eval-breaker check until we exit

        t = rt.start_thread(owner, name="owner")
        published.wait()
        for o in objs:
            o.decref()  # each queued to the live owner
        box["queued"] = [x.obj for x in t.tstate.brc.objects_to_merge]
        released.notify()
        t.join()
        box["end"] = [o.alive for o in objs]

    r = run_guest(guest).ok()
    assert box["queued"] == [1, 2, 3]
    assert box["end"] == [False, False, False]
    owner_events = [(k, p) for t, k, p in _trail(r) if t == 2]
    # PyThreadState_Clear: drain, then leave the table; the stack pops the last queued first.
    assert owner_events[-14:] == [
        ("brc.merge_batch", None),
        ("object.disown", "queue"), ("object.merge", "queue"), ("brc.merge", None), ("object.dealloc", None),
        ("object.disown", "queue"), ("object.merge", "queue"), ("brc.merge", None), ("object.dealloc", None),
        ("object.disown", "queue"), ("object.merge", "queue"), ("brc.merge", None), ("object.dealloc", None),
        ("brc.remove_thread", None),
    ]
    assert [e.obj for e in r.of("brc.merge")] == [3, 2, 1]
    [batch] = r.of("brc.merge_batch")
    assert (batch.thread, batch.count) == (2, 3)
    exit_seq = r.of("thread.exit", thread=2)[0].seq
    assert all(e.seq > exit_seq for e in r.of("brc.merge"))


def test_queue_object_of_an_object_whose_owner_already_merged_just_decrefs(run_guest):
    box = {}

    def guest(rt):
        o = _handed_out(rt, 1)
        rt.start_thread(o.incref).join()  # a shared reference too
        o.decref()
        o.decref()  # local 0 with shared 4: merged, ob_tid 0
        assert o.ob_tid == 0

        def other():
            brc.queue_object(rt, o)  # ob_tid 0: the owner merged meanwhile -> Py_DECREF
            box["alive"] = o.alive

        rt.start_thread(other).join()

    r = run_guest(guest).ok()
    assert box["alive"] is False
    assert not r.of("brc.queue")
    assert [(t, k) for t, k, _ in _trail(r) if t == 3] == [(3, "object.decref"), (3, "object.dealloc")]


def test_threads_register_in_the_bucket_of_their_id_and_leave_it(run_guest):
    box = {}

    def guest(rt):
        def worker():
            rt.new_object().decref()
            ts = rt.pystate.current()
            box[ts.id] = (ts.brc.tid, ts in rt.pystate.main_interp.brc.get_bucket(ts.id).root)

        for t in [rt.start_thread(worker) for _ in range(3)]:
            t.join()
        rt.start_thread(lambda: rt.work(10)).join()  # no objects: never registered

    r = run_guest(guest).ok()
    assert box == {2: (2, True), 3: (3, True), 4: (4, True)}
    assert sorted((e.thread, e.bucket) for e in r.of("brc.init_thread")) == [(2, 2), (3, 3), (4, 4)]
    assert sorted((e.thread, e.bucket) for e in r.of("brc.remove_thread")) == [(2, 2), (3, 3), (4, 4)]
    assert all(not b.root for b in r.rt.pystate.main_interp.brc.table.values())


@pytest.mark.parametrize("scenario", ["refcount_shared", "critical_sections"])
@pytest.mark.parametrize("strategy", ["random", "pct", "round_robin"])
def test_object_scenarios_are_deterministic(scenario, strategy):
    def once() -> bytes:
        sink = MemorySink()
        res = execute(make_meta(scenario, seed=11, strategy=strategy), sink)
        assert res.status == "ok", res.failure
        return bytes(sink.data)

    assert once() == once()


# -- many runs of the scenario, checked in SQL ------------------------------------------------------
SEEDS = int(os.environ.get("FTREPLAY_BRC_SEEDS", "200"))
STRATEGIES = ("random", "pct", "round_robin")


@pytest.fixture(scope="module")
def refcount_store(tmp_path_factory):
    base = int(os.environ.get("FTREPLAY_TEST_SEED", "1"))
    print(f"FTREPLAY_TEST_SEED={base} FTREPLAY_BRC_SEEDS={SEEDS}")
    tmp = tmp_path_factory.mktemp("refcount_shared")
    db = str(tmp / "rc.duckdb")
    failed = []
    with Store.open(db, read_only=False) as store:
        for strategy in STRATEGIES:
            for seed in range(base, base + SEEDS):
                run_id = f"{strategy}-{seed}"
                path = str(tmp / f"{run_id}.ftlog")
                res = execute(make_meta("refcount_shared", seed=seed, strategy=strategy), FileSink(path))
                if res.status != "ok":
                    failed.append(f"ftreplay record refcount_shared --seed {seed} --strategy {strategy}: {res.failure}")
                reader = read_log(path)
                store.ingest(reader, run_id, path)
                reader.close()
    assert not failed, "\n".join(failed)
    return db


def _rows(db, sql):
    with Store.open(db) as store:
        return store.query(sql)[1]


def test_all_refcount_runs_are_ok(refcount_store):
    assert _rows(refcount_store, "SELECT status, count(*) FROM runs GROUP BY ALL") == [("ok", SEEDS * 3)]


def test_refcnt_is_never_negative(refcount_store):
    bad = _rows(refcount_store,
                "SELECT run_id, seq, kind, obj, refcnt FROM events WHERE refcnt < 0 ORDER BY run_id, seq")
    assert bad == []
    assert _rows(refcount_store, "SELECT count(*) FROM events WHERE refcnt IS NOT NULL")[0][0] > SEEDS * 3 * 50


def test_no_refcount_operation_after_dealloc(refcount_store):
    bad = _rows(refcount_store, """
        SELECT e.run_id, e.seq, e.kind, e.obj FROM events e
        JOIN object_dealloc d ON e.run_id = d.run_id AND e.obj = d.obj AND e.seq > d.seq
        WHERE e.kind IN ('object.incref', 'object.decref', 'object.disown', 'object.merge',
                         'object.set_maybe_weakref', 'object.set_immortal', 'object.dealloc', 'brc.queue', 'brc.merge')
           OR (e.kind = 'object.try_incref' AND e.ok)
        ORDER BY e.run_id, e.seq""")
    assert bad == []


def test_every_mortal_object_is_deallocated_exactly_once(refcount_store):
    counts = _rows(refcount_store, """
        SELECT n.run_id, n.obj, count(d.seq) AS deallocs FROM object_new n
        LEFT JOIN object_dealloc d ON d.run_id = n.run_id AND d.obj = n.obj
        WHERE n.obj NOT IN (SELECT obj FROM object_set_immortal i WHERE i.run_id = n.run_id)
        GROUP BY ALL HAVING count(d.seq) <> 1""")
    assert counts == []


def test_an_object_is_queued_at_most_once_and_every_queue_entry_is_merged(refcount_store):
    assert _rows(refcount_store, "SELECT run_id, obj FROM brc_queue GROUP BY ALL HAVING count(*) > 1") == []
    unmerged = _rows(refcount_store, """
        SELECT q.run_id, q.obj FROM brc_queue q
        LEFT JOIN brc_merge m ON m.run_id = q.run_id AND m.obj = q.obj AND m.seq > q.seq AND m.owner = q.owner
        WHERE m.seq IS NULL""")
    assert unmerged == []


def test_the_runs_cover_every_merge_path(refcount_store):
    paths = dict(_rows(refcount_store, "SELECT path, count(*) FROM object_merge GROUP BY ALL"))
    assert {"zero_local", "queue", "owner_gone"} <= set(paths)
    # Merges at the owner's eval-breaker check (the bit is cleared before the batch) ...
    at_check = _rows(refcount_store, """
        SELECT count(*) FROM brc_merge_batch b JOIN ceval_gil_eval_breaker u
          ON u.run_id = b.run_id AND u.tid = b.tid AND u.op = 'unset' AND u.seq < b.seq
         AND u.seq = (SELECT max(seq) FROM ceval_gil_eval_breaker x
                      WHERE x.run_id = b.run_id AND x.tid = b.tid AND x.seq < b.seq)""")[0][0]
    # ... and in PyThreadState_Clear, after the owner's thread.exit.
    at_exit = _rows(refcount_store, """
        SELECT count(*) FROM brc_merge_batch b JOIN thread_exit x
          ON x.run_id = b.run_id AND x.thread = b.tid AND x.seq < b.seq""")[0][0]
    assert at_check > 0 and at_exit > 0
