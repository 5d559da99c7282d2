"""The Perfetto export: a well-formed Chrome JSON trace whose slices, flows and counters match the store."""

from __future__ import annotations

import copy
import io
import json
from collections import Counter
from decimal import Decimal

import duckdb
import pytest
from trace_rules import check_trace

from ftreplay.export.perfetto import write_trace
from ftreplay.record.store import Store


def _trace(db, run_id: str, **kw) -> dict:
    with Store.open(str(db)) as store:
        buf = io.BytesIO()
        write_trace(store, run_id, buf, **kw)
    return json.loads(buf.getvalue())


def _one(db, sql: str, *params):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchone()[0]
    finally:
        con.close()


def _ns(v) -> int:
    return int(Decimal(str(v)) * 1000)


@pytest.mark.parametrize("run_id", ["mutex_counter-1", "gc_cycles-1", "lock_order-1", "stw_storm-1"])
def test_trace_is_well_formed(export_store, run_id):
    trace = _trace(export_store, run_id)
    assert check_trace(trace) == []
    evs = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
    threads = _one(export_store, "SELECT count(DISTINCT thread) FROM thread_state_intervals WHERE run_id = ?", run_id)
    assert sum(1 for n in names.values() if n.startswith("T")) == threads
    # one lock slice per stored hold, one GC slice per collection, one STW slice per pause
    by = Counter((e["ph"], e.get("cat")) for e in evs)
    assert by[("b", "lock")] == _one(export_store, "SELECT count(*) FROM lock_holds WHERE run_id = ?", run_id)
    assert by[("b", "gc")] == _one(export_store, "SELECT count(*) FROM gc_collections WHERE run_id = ?", run_id)
    assert by[("b", "stw")] == _one(export_store, "SELECT count(*) FROM stw_pauses WHERE run_id = ?", run_id)
    assert by[("C", "qsbr")] > 0


def test_lanes_follow_thread_states_and_parks(export_store):
    trace = _trace(export_store, "mutex_counter-1")
    lanes = [e for e in trace["traceEvents"] if e.get("cat") == "thread_state" and e["ph"] == "B"]
    assert {e["name"] for e in lanes} == {"attached", "detached", "parked"}
    # every park of the store starts a 'parked' lane at its time, on its thread
    parks = _one(export_store, "SELECT list((thread, start_ts) ORDER BY start_seq) FROM park_intervals WHERE run_id = ?",
                 "mutex_counter-1")
    starts = {(e["tid"], _ns(e["ts"])) for e in lanes if e["name"] == "parked"}
    assert {tuple(p) for p in parks} <= starts
    # the first lane of T1 starts at its first thread state, in exact virtual nanoseconds
    first = _one(export_store, "SELECT min(start_ts) FROM thread_state_intervals WHERE run_id = ? AND thread = 1",
                 "mutex_counter-1")
    assert min(_ns(e["ts"]) for e in lanes if e["tid"] == 1) == first


def test_flows_join_unpark_to_wake_and_request_to_suspend(export_store):
    trace = _trace(export_store, "stw_storm-1")
    evs = trace["traceEvents"]
    flow = {}
    for e in evs:
        if "bind_id" in e:
            flow.setdefault(e["bind_id"], {})["out" if e.get("flow_out") else "in"] = e
    unparks = [f for f in flow.values() if f["out"]["name"] == "unpark"]
    assert unparks and all(f["in"]["name"] == "wake" and f["in"]["tid"] == f["out"]["args"]["woken"] for f in unparks)
    stw = [f for f in flow.values() if f["out"]["name"] == "stop-the-world request"]
    assert len(stw) == _one(export_store, "SELECT sum(threads_suspended) FROM stw_pauses WHERE run_id = ?", "stw_storm-1")
    assert all(f["in"]["name"] == "suspend" and f["in"]["tid"] == f["out"]["args"]["suspends"] for f in stw)


def test_failure_is_an_instant(export_store):
    evs = _trace(export_store, "lock_order-1")["traceEvents"]
    inst = [e for e in evs if e["ph"] == "i"]
    seq, reason = _one(export_store, "SELECT (failure_seq, failure_reason) FROM runs WHERE run_id = ?", "lock_order-1")
    assert {e["s"] for e in inst} == {"t", "g"}
    assert all(e["name"] == f"failure: {reason}" and e["args"]["seq"] == seq for e in inst)
    # the deadlocked threads are still parked when the run ends
    last = {}
    for e in evs:
        if e.get("cat") == "thread_state" and e["ph"] == "B":
            last[e["tid"]] = e["name"]
    assert list(last.values()).count("parked") >= 2


def test_refcount_counters_for_shared_objects(export_store):
    evs = _trace(export_store, "gc_cycles-1", max_objects=3)["traceEvents"]
    objs = {e["name"] for e in evs if e["ph"] == "C" and e.get("cat") == "refcount"}
    assert len(objs) == 3
    none = _trace(export_store, "gc_cycles-1", max_objects=0)["traceEvents"]
    assert not [e for e in none if e.get("cat") == "refcount"]


def test_rules_catch_broken_traces(export_store):
    good = _trace(export_store, "mutex_counter-1")
    evs = good["traceEvents"]

    def broken(mutate) -> list[str]:
        t = copy.deepcopy(good)
        mutate(t["traceEvents"])
        return check_trace(t)

    first_e = next(i for i, e in enumerate(evs) if e["ph"] == "E")
    assert broken(lambda es: es.pop(first_e))  # a B without its E
    first_x = next(i for i, e in enumerate(evs) if "bind_id" in e)
    assert broken(lambda es: es.pop(first_x))  # a flow with one end
    first_b = next(i for i, e in enumerate(evs) if e["ph"] == "b")
    assert broken(lambda es: es[first_b].update(id="other"))  # an async end on another track
    last_lane = max(i for i, e in enumerate(evs) if e.get("cat") == "thread_state")
    assert broken(lambda es: es[last_lane].update(ts=0))  # time going back on a track


def test_cli_export_perfetto(export_store, tmp_path, capsys):
    from ftreplay.cli import main

    out = tmp_path / "t.json"
    argv = ["export", "mutex_counter-1", "--format", "perfetto", "-o", str(out), "--db", str(export_store)]
    assert main(argv + ["--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    trace = json.loads(out.read_text())
    assert summary["trace_events"] == sum(1 for e in trace["traceEvents"] if e["ph"] != "M")
    assert trace["otherData"]["hash"] == _one(export_store, "SELECT hash FROM runs WHERE run_id = 'mutex_counter-1'")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err
    assert json.loads(out.read_text()) == trace  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no partial file left


def test_a_forked_child_is_its_own_process(tmp_path):
    from ftreplay.scenarios import all_scenarios

    if "fork_child_inherits_cs" not in all_scenarios():
        pytest.skip("no fork scenario in this tree")
    import ftreplay.api as ft

    db = tmp_path / "s.duckdb"
    with ft.open(str(db), write=True) as store:
        run = store.record("fork_child_inherits_cs", seed=1)
    trace = _trace(db, run.run_id)
    assert check_trace(trace) == []
    evs = trace["traceEvents"]
    procs = {e["pid"]: e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"}
    assert procs[2].startswith("fork child 2 of 1")
    first, last = _one(db, "SELECT (min(seq), max(seq)) FROM events WHERE run_id = ? AND kind IN "
                           "('pylifecycle.after_fork_child', 'pylifecycle.exit')", run.run_id)
    child = [e for e in evs if e["ph"] in "BX" and e["pid"] == 2]
    assert child and all(first <= e["args"]["seq"] <= last for e in child)
    assert any(e["pid"] == 1 and e["ph"] == "B" and e["args"]["seq"] > last for e in evs)  # the parent goes on


def test_a_recovered_run_exports_up_to_its_last_event(tmp_path, capsys):
    import ftreplay.api as ft
    from ftreplay.cli import main

    db = tmp_path / "s.duckdb"
    with ft.open(str(db), write=True) as store:
        run = store.record("mutex_counter", args={"iterations": 40}, knobs={"batch": 200})
    log = _one(db, "SELECT log_path FROM runs WHERE run_id = ?", run.run_id)
    with open(log, "rb") as f:
        data = f.read()
    cut = tmp_path / "cut.ftlog"
    cut.write_bytes(data[: len(data) // 2])  # a killed recorder: no END frame, no end time
    assert main(["import", str(cut), "--db", str(db)]) == 0
    capsys.readouterr()
    rec = _one(db, "SELECT (run_id, events) FROM runs WHERE status = 'incomplete'")
    trace = _trace(db, rec[0])
    assert check_trace(trace) == []
    last = _one(db, "SELECT max(ts) FROM events WHERE run_id = ?", rec[0])
    assert max(_ns(e["ts"]) for e in trace["traceEvents"] if "ts" in e) == last
