"""gc_collections, derived at ingest: checked against a recount from the log on recorded
gc_cycles runs (small ones whose only collection is the final gc.collect(), and one large
enough for a threshold collection), against gc.end and the guest's own counts, and on
hand-written guests where a finalizer resurrects a cycle or fails mid-collection."""

from __future__ import annotations

import shutil
import textwrap

import duckdb
import pytest

from ftreplay.record.log import read_log
from ftreplay.record.store import GC_COLLECTIONS_COLUMNS, Store

UNREACHABLE, FINALIZED = 0x4, 0x2
SMALL = {"threads": 2, "cycles": 12, "finalizers": 5}
# (run_id, strategy, seed, args): eight small runs and one with a threshold collection.
RUNS = [(f"small-{strategy}-{seed}", strategy, seed, SMALL) for strategy in ("random", "pct") for seed in (1, 2, 3, 4)]
RUNS.append(("threshold", "random", 1, {"threads": 4, "cycles": 600, "finalizers": 50}))

GUESTS = '''
def resurrect(rt):
    """a finalizer stores its object in a live one: the first collection resurrects the cycle,
    the second (the finalizer does not run again) collects it"""
    keeper = rt.new_object("Keeper", gc=True)
    a = rt.new_object("Node", size=48, gc=True)
    b = rt.new_object("Node", size=48, gc=True)
    a.add_ref(b)
    b.add_ref(a)
    a.tp_finalize = lambda op: keeper.add_ref(op)
    a.decref()
    b.decref()
    assert rt.gc_collect() == 0
    keeper.clear_refs()
    assert rt.gc_collect() == 2
    keeper.decref()


def fails_in_finalizer(rt):
    """the run fails while a finalizer runs: the collection never ends"""
    a = rt.new_object("Node", size=48, gc=True)
    b = rt.new_object("Node", size=48, gc=True)
    a.add_ref(b)
    b.add_ref(a)

    def fin(op):
        assert False, "finalizer failed"

    a.tp_finalize = fin
    a.decref()
    b.decref()
    rt.gc_collect()
'''
COLS = [c for c, _ in GC_COLLECTIONS_COLUMNS]


@pytest.fixture(scope="module")
def gc_store(tmp_path_factory, record_to_store):
    d = tmp_path_factory.mktemp("gc_tables")
    guests = d / "gc_guests.py"
    guests.write_text(textwrap.dedent(GUESTS))
    path = str(d / "s.duckdb")
    with Store.open(path, read_only=False) as store:
        for run_id, strategy, seed, args in RUNS:
            res = record_to_store(store, d, run_id, "gc_cycles", seed=seed, strategy=strategy, args=args)
            arg_text = " ".join(f"--arg {k}={v}" for k, v in args.items())
            assert res.status == "ok", (
                f"{res.end.failure_message} (ftreplay record gc_cycles --seed {seed} --strategy {strategy} {arg_text})")
        assert record_to_store(store, d, "resurrect", f"{guests}:resurrect").status == "ok"
        res = record_to_store(store, d, "fails", f"{guests}:fails_in_finalizer")
        assert res.status == "failed" and "finalizer failed" in res.end.failure_message
    return path


@pytest.fixture
def store(gc_store):
    with Store.open(gc_store) as s:
        yield s


def collections_from_log(store: Store, run_id: str) -> list[tuple]:
    """gc_collections rows recomputed by walking the log in order."""
    reader = read_log(store.run(run_id)["log_path"])
    try:
        events = list(reader.iter_events())
    finally:
        reader.close()
    open_: dict[int, dict] = {}  # collector tid -> its collection
    phase: dict[int, str] = {}
    stopped: dict[tuple[str, int], tuple[int, dict]] = {}
    rows = []
    for e in events:
        kind = e.__struct_config__.tag
        if kind == "gc.start":
            c = dict(run_id=run_id, start_seq=e.seq, start_ts=e.ts, end_seq=None, end_ts=None, reason=e.reason,
                     requester=e.tid, collected=None, uncollectable=None, pauses=0, paused_ns=0,
                     objects_visited=0, unreachable=set(), duration_ns=None)
            open_[e.tid] = c
            rows.append(c)
        elif kind == "gc.end":
            c = open_.pop(e.tid)
            c.update(end_seq=e.seq, end_ts=e.ts, collected=e.collected, uncollectable=e.uncollectable,
                     duration_ns=e.ts - c["start_ts"])
        elif kind == "gc.phase":
            phase[e.tid] = e.phase
        elif kind == "gc.header":
            c = open_[e.tid]  # only a collector writes headers
            if phase[e.tid] == "update_refs":
                c["objects_visited"] += 1
            elif phase[e.tid] == "scan" and e.ob_gc_bits & UNREACHABLE:
                c["unreachable"].add(e.obj)
        elif kind == "pystate.stop_the_world" and e.requester in open_:
            c = open_[e.requester]
            c["pauses"] += 1
            stopped[(e.scope, e.requester)] = (e.ts, c)
        elif kind == "pystate.start_the_world" and (e.scope, e.requester) in stopped:
            ts, c = stopped.pop((e.scope, e.requester))
            c["paused_ns"] += e.ts - ts
    for c in rows:
        c["unreachable"] = len(c["unreachable"])
    return [tuple(c[k] for k in COLS) for c in rows]


def table_rows(store: Store, run_id: str) -> list[tuple]:
    return store.query("SELECT * FROM gc_collections WHERE run_id = $run ORDER BY start_seq", {"run": run_id})[1]


def dicts(store: Store, run_id: str) -> list[dict]:
    return [dict(zip(COLS, r)) for r in table_rows(store, run_id)]


ALL = [r[0] for r in RUNS] + ["resurrect", "fails"]


@pytest.mark.parametrize("run_id", ALL)
def test_one_row_per_collection_as_the_log_tells_it(store, run_id):
    rows = table_rows(store, run_id)
    assert rows and rows == collections_from_log(store, run_id)


@pytest.mark.parametrize("run_id", [r[0] for r in RUNS])
def test_collected_is_gc_end_and_the_nodes_freed_inside(store, run_id):
    _, mismatched = store.query("""
        SELECT c.start_seq, c.collected, e.collected, e.uncollectable, c.uncollectable,
            (SELECT count(*) FROM object_dealloc d JOIN object_new n ON n.run_id = d.run_id AND n.obj = d.obj
             WHERE d.run_id = $run AND n.type = 'Node' AND d.seq BETWEEN c.start_seq AND c.end_seq) AS nodes_freed
        FROM gc_collections c LEFT JOIN gc_end e ON e.run_id = c.run_id AND e.seq = c.end_seq
        WHERE c.run_id = $run AND NOT (c.collected = e.collected AND c.uncollectable = e.uncollectable
                                       AND c.collected = nodes_freed)
        ORDER BY c.start_seq""", {"run": run_id})
    assert mismatched == []


def _guest_value(store: Store, run_id: str, label: str) -> int:
    (value,), = store.query("""
        SELECT s.value FROM guest_store s JOIN run_label l ON l.run_id = s.run_id AND l.addr = s.addr
        WHERE s.run_id = $run AND l.label = $label ORDER BY s.seq DESC LIMIT 1""", {"run": run_id, "label": label})[1]
    return value


@pytest.mark.parametrize("run_id,strategy,seed,args", RUNS)
def test_the_guests_counts_add_up(store, run_id, strategy, seed, args):
    """Every node the guest made was collected by a collection or freed by refcount outside
    one (a gift nobody took); every finalizer the guest counted set FINALIZED once."""
    rows = dicts(store, run_id)
    run = {"run": run_id}
    _, [(outside,)] = store.query("""
        SELECT count(*) FROM object_lifetimes o
        WHERE o.run_id = $run AND o.type = 'Node' AND NOT EXISTS (
            SELECT 1 FROM gc_collections c WHERE c.run_id = $run AND o.dealloc_seq BETWEEN c.start_seq AND c.end_seq)""",
        run)
    created = _guest_value(store, run_id, "nodes_created")
    assert created == sum(c["collected"] for c in rows) + outside
    assert sum(c["collected"] for c in rows) > outside
    _, [(finalized,)] = store.query(
        "SELECT count(*) FROM gc_header WHERE run_id = $run AND ob_gc_bits & 2 <> 0 AND ob_gc_bits_old & 2 = 0", run)
    assert _guest_value(store, run_id, "finalized") == finalized == args["threads"] * len(
        range(0, args["cycles"], args["finalizers"]))


@pytest.mark.parametrize("run_id", [r[0] for r in RUNS])
def test_each_collection_has_two_pauses_and_counts_in_order(store, run_id):
    rows = dicts(store, run_id)
    assert rows[-1]["reason"] == "manual" and rows[-1]["requester"] == 1  # the main thread's gc.collect()
    for c in rows:
        assert c["start_seq"] < c["end_seq"] and c["duration_ns"] == c["end_ts"] - c["start_ts"] >= 0
        assert c["pauses"] == 2 and c["uncollectable"] == 0
        assert c["objects_visited"] >= c["unreachable"] >= c["collected"] > 0
        _, [(n, pause_ns)] = store.query("""
            SELECT count(*), sum(pause_ns) FROM stw_pauses
            WHERE run_id = $run AND requester = $who AND stopped_seq BETWEEN $a AND $b""",
            {"run": run_id, "who": c["requester"], "a": c["start_seq"], "b": c["end_seq"]})
        assert (n, pause_ns) == (c["pauses"], c["paused_ns"])
        assert c["paused_ns"] <= c["duration_ns"]
    small = run_id.startswith("small-")
    assert [c["reason"] for c in rows] == (["manual"] if small else ["threshold", "manual"])


def test_a_threshold_collection_runs_on_the_thread_that_scheduled_it(store):
    first = dicts(store, "threshold")[0]
    _, [(tid, count, threshold)] = store.query(
        "SELECT tid, count, threshold FROM gc_schedule WHERE run_id = 'threshold' AND seq < $s ORDER BY seq DESC LIMIT 1",
        {"s": first["start_seq"]})
    assert first["reason"] == "threshold" and first["requester"] == tid != 1
    assert count > threshold == 2000


def test_a_resurrected_cycle_is_unreachable_but_not_collected(store):
    first, second = dicts(store, "resurrect")
    # update_refs visits the keeper and the cycle; after mark the cycle is unreachable, the
    # finalizer resurrects it, nothing is deleted.  The second time the finalizer does not run.
    assert (first["objects_visited"], first["unreachable"], first["collected"]) == (3, 2, 0)
    assert (second["objects_visited"], second["unreachable"], second["collected"]) == (3, 2, 2)
    _, [(n,)] = store.query("""
        SELECT count(*) FROM gc_header h WHERE run_id = 'resurrect' AND h.seq < $e AND ob_gc_bits_old & 4 <> 0
            AND ob_gc_bits & 4 = 0 AND h.seq > (SELECT seq FROM gc_phase WHERE run_id = 'resurrect'
                                                AND phase = 'resurrection' ORDER BY seq LIMIT 1)""",
                            {"e": first["end_seq"]})
    assert n == 2  # both lose UNREACHABLE in resurrection


def test_a_collection_the_run_ended_in_counts_up_to_the_end(store):
    (c,) = dicts(store, "fails")
    assert c["end_seq"] is c["end_ts"] is c["collected"] is c["uncollectable"] is c["duration_ns"] is None
    # the failure came in finalize: the first pause is over, the second never came
    assert (c["pauses"], c["objects_visited"], c["unreachable"]) == (1, 2, 2)
    _, [(pause_ns,)] = store.query("SELECT pause_ns FROM stw_pauses WHERE run_id = 'fails'")
    assert c["paused_ns"] == pause_ns


def test_an_upgraded_store_derives_gc_collections_for_its_runs(gc_store, tmp_path):
    path = str(tmp_path / "old.duckdb")
    shutil.copy(gc_store, path)
    query = "SELECT * FROM gc_collections ORDER BY ALL"
    with Store.open(path) as store:
        before = store.query(query)[1]
    con = duckdb.connect(path)
    con.execute("DROP TABLE gc_collections")
    con.execute("UPDATE ftreplay_meta SET value = 'older' WHERE key = 'ddl_sha256'")
    con.close()
    Store.open(path, read_only=False).close()
    with Store.open(path) as store:
        assert store.query(query)[1] == before
    assert len(before) == len(RUNS) + 1 + 3  # the threshold run and resurrect have two
