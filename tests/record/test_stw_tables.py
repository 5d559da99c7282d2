"""stw_pauses, derived at ingest: checked against the log it came from on recorded stw_storm
runs (random and pct seeds, both scopes), the shape of every pause, and the stop-the-world
invariant (no thread but the requester attached while the world is stopped) on all of them."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from ftreplay.analysis.stw import STW_ATTACHED_DURING_PAUSE, STW_INVARIANTS, check_stw_invariants
from ftreplay.record.log import read_log
from ftreplay.record.store import STW_PAUSES_COLUMNS, Store

PAUSES = 5
# 20 recordings: seeds 1..10 of each strategy; odd seeds pause the interpreter, even ones the world.
RUNS = [(f"{strategy}-{seed}", strategy, seed, "interp" if seed % 2 else "global")
        for strategy in ("random", "pct") for seed in range(1, 11)]
PAUSE_COLS = [c for c, _ in STW_PAUSES_COLUMNS]


@pytest.fixture(scope="module")
def stw_store(tmp_path_factory, record_to_store):
    d = tmp_path_factory.mktemp("stw_tables")
    path = str(d / "s.duckdb")
    with Store.open(path, read_only=False) as store:
        for run_id, strategy, seed, scope in RUNS:
            res = record_to_store(store, d, run_id, "stw_storm", seed=seed, strategy=strategy,
                                  args={"pauses": PAUSES, "scope": scope})
            assert res.status == "ok", (
                f"{res.end.failure_message} (ftreplay record stw_storm --seed {seed} --strategy {strategy} "
                f"--arg scope={scope})")
    return path


@pytest.fixture
def store(stw_store):
    with Store.open(stw_store) as s:
        yield s


def pauses_from_log(store: Store, run_id: str) -> list[tuple]:
    """stw_pauses rows recomputed by walking the log in order (ts taken from the events)."""
    reader = read_log(store.run(run_id)["log_path"])
    try:
        events = list(reader.iter_events())
    finally:
        reader.close()
    open_: dict[tuple[str, int], dict] = {}
    rows = []
    for e in events:
        kind = e.__struct_config__.tag
        if kind == "pystate.stw_request":
            p = dict(run_id=run_id, scope=e.scope, requester=e.requester, request_seq=e.seq, request_ts=e.ts,
                     stopped_seq=None, stopped_ts=None, start_seq=None, start_ts=None, threads_suspended=0)
            open_[(e.scope, e.requester)] = p
            rows.append(p)
        elif kind == "pystate.suspend":
            for p in open_.values():
                if p["stopped_seq"] is None:
                    p["threads_suspended"] += 1
        elif kind == "pystate.stop_the_world":
            p = open_[(e.scope, e.requester)]
            p["stopped_seq"], p["stopped_ts"] = e.seq, e.ts
        elif kind == "pystate.start_the_world":
            p = open_.pop((e.scope, e.requester))
            p["start_seq"], p["start_ts"] = e.seq, e.ts
    out = []
    for p in rows:
        p["time_to_stop_ns"] = p["stopped_ts"] - p["request_ts"] if p["stopped_ts"] is not None else None
        p["pause_ns"] = p["start_ts"] - p["stopped_ts"] if p["start_ts"] is not None else None
        out.append(tuple(p[c] for c in PAUSE_COLS))
    return out


def table_rows(store: Store, run_id: str) -> list[tuple]:
    return store.query("SELECT * FROM stw_pauses WHERE run_id = $run ORDER BY request_seq", {"run": run_id})[1]


@pytest.mark.parametrize("run_id", [r[0] for r in RUNS])
def test_one_row_per_pause_as_the_log_tells_it(store, run_id):
    rows = table_rows(store, run_id)
    assert rows == pauses_from_log(store, run_id)
    _, [(requests,)] = store.query("SELECT count(*) FROM pystate_stw_request WHERE run_id = $run", {"run": run_id})
    assert len(rows) == requests == PAUSES


@pytest.mark.parametrize("run_id,strategy,seed,scope", RUNS)
def test_each_pause_is_requested_then_stopped_then_restarted(store, run_id, strategy, seed, scope):
    rows = [dict(zip(PAUSE_COLS, r)) for r in table_rows(store, run_id)]
    _, [(pauser,)] = store.query(
        "SELECT thread FROM pystate_new_thread WHERE run_id = $run ORDER BY seq LIMIT 1 OFFSET 4", {"run": run_id})
    prev_start = -1
    for p in rows:
        assert p["scope"] == scope and p["requester"] == pauser  # main, three workers, then the pauser
        assert prev_start < p["request_seq"] < p["stopped_seq"] < p["start_seq"]
        assert p["request_ts"] <= p["stopped_ts"] <= p["start_ts"]
        assert p["time_to_stop_ns"] == p["stopped_ts"] - p["request_ts"] >= 0
        assert p["pause_ns"] == p["start_ts"] - p["stopped_ts"] >= 0
        prev_start = p["start_seq"]


def test_most_pauses_suspend_threads(store):
    _, [(pauses, suspending)] = store.query(
        "SELECT count(*), count(*) FILTER (WHERE threads_suspended > 0) FROM stw_pauses")
    assert pauses == len(RUNS) * PAUSES
    assert suspending >= 0.8 * pauses
    # Each thread the request counted down is suspended at most once before the stop.
    _, over = store.query("""
        SELECT p.run_id, p.request_seq, p.threads_suspended, r.countdown
        FROM stw_pauses p JOIN pystate_stw_request r ON r.run_id = p.run_id AND r.seq = p.request_seq
        WHERE p.threads_suspended > r.countdown ORDER BY ALL
    """)
    assert over == []


def test_the_world_is_stopped_only_when_no_other_thread_is_attached(store):
    assert list(STW_INVARIANTS) == ["attached_during_pause"]
    for run_id, strategy, seed, scope in RUNS:
        assert check_stw_invariants(store, run_id) == {"attached_during_pause": []}, (
            f"ftreplay record stw_storm --seed {seed} --strategy {strategy} --arg scope={scope}")


def test_threads_were_attached_while_the_pause_was_requested(store):
    """The check's join sees real intervals: before the world stops, other threads are attached
    (they stop at their eval breaker), which is what it would report inside a pause."""
    _, [(n,)] = store.query("""
        SELECT count(*) FROM stw_pauses p JOIN thread_state_intervals i
            ON i.run_id = p.run_id AND i.state = 'attached' AND i.thread <> p.requester
            AND i.start_seq < p.stopped_seq AND i.end_seq >= p.request_seq
    """)
    assert n > len(RUNS)


def test_the_check_reports_a_pause_moved_over_attached_threads(stw_store, tmp_path):
    """Move one pause's stop back to its request: the threads still attached then are reported."""
    path = str(tmp_path / "moved.duckdb")
    shutil.copy(stw_store, path)
    run_id = RUNS[0][0]
    con = duckdb.connect(path)
    con.execute("UPDATE stw_pauses SET stopped_seq = request_seq WHERE run_id = ? AND request_seq = "
                "(SELECT min(request_seq) FROM stw_pauses WHERE run_id = ?)", [run_id, run_id])
    (request_seq,), = con.execute("SELECT min(request_seq) FROM stw_pauses WHERE run_id = ?", [run_id]).fetchall()
    attached = con.execute(
        "SELECT DISTINCT thread FROM thread_state_intervals i, stw_pauses p WHERE i.run_id = ? AND p.run_id = ? "
        "AND p.request_seq = ? AND i.state = 'attached' AND i.thread <> p.requester "
        "AND i.start_seq <= p.start_seq AND i.end_seq >= p.request_seq ORDER BY thread",
        [run_id, run_id, request_seq]).fetchall()
    con.close()
    assert attached
    with Store.open(path) as store:
        rows = store.query(STW_ATTACHED_DURING_PAUSE, {"run": run_id})[1]
    assert sorted({r[4] for r in rows if r[2] == request_seq}) == [t for (t,) in attached]


def test_an_upgraded_store_derives_stw_pauses_for_its_runs(stw_store, tmp_path):
    path = str(tmp_path / "old.duckdb")
    shutil.copy(stw_store, path)
    query = "SELECT * FROM stw_pauses ORDER BY ALL"
    with Store.open(path) as store:
        before = store.query(query)[1]
    con = duckdb.connect(path)
    con.execute("DROP TABLE stw_pauses")
    con.execute("UPDATE ftreplay_meta SET value = 'older' WHERE key = 'ddl_sha256'")
    con.close()
    Store.open(path, read_only=False).close()
    with Store.open(path) as store:
        assert store.query(query)[1] == before
    assert len(before) == len(RUNS) * PAUSES
