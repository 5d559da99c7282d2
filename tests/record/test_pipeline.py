"""Recording with the simulation in a forked child (record/pipeline.py): the same log bytes
and the same stored rows as recording in process, and all-or-nothing when the child fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ftreplay.errors import ScheduleDiverged
from ftreplay.record import store as store_mod
from ftreplay.record.events import TAGS, view_name
from ftreplay.record.log import FileSink
from ftreplay.record.pipeline import Recording, RecordError, can_fork
from ftreplay.record.recording import record_into, start_recording
from ftreplay.record.session import execute, make_meta
from ftreplay.record.store import DERIVED_TABLES, Store

pytestmark = pytest.mark.skipif(not can_fork(), reason="the pipeline needs os.fork")

CASES = [
    ("stress", {"threads": "3", "iterations": "40"}, {"batch": "700", "checkpoint_every": "300"}, []),
    ("join_race", {}, {}, ["join_tstate_lock_race"]),
    ("lock_order", {}, {"batch": "50"}, []),
    # the derived tables' other inputs: forked processes, GC, pauses, interpreters
    ("fork_many_threads", {}, {}, []),
    ("gc_cycles", {}, {}, []),
    ("stw_storm", {}, {}, []),
    ("subinterp_clear_from_main", {}, {}, []),
]


def _meta(scenario, args, knobs, bugs, seed=3):
    return make_meta(scenario, seed=seed, strategy="random", args=args, knobs=knobs, bugs=bugs)


def _derived(store: Store, run_id: str) -> dict[str, list]:
    return {t: sorted(store.con.execute(f"SELECT * EXCLUDE (run_id) FROM {t} WHERE run_id = ?", [run_id]).fetchall(), key=repr)
            for t, _sql in DERIVED_TABLES}


def _rows(store: Store, run_id: str) -> dict[str, list]:
    out = {}
    for tag in TAGS:
        t = f"raw.{view_name(tag)}"
        out[t] = store.con.execute(f"SELECT * EXCLUDE (run_id) FROM {t} WHERE run_id = ? ORDER BY seq", [run_id]).fetchall()
    out.update(_derived(store, run_id))
    out["checkpoints"] = store.con.execute("SELECT seq, state FROM checkpoints WHERE run_id = ? ORDER BY seq", [run_id]).fetchall()
    out["runs"] = store.con.execute(
        "SELECT * EXCLUDE (run_id, created, log_path) FROM runs WHERE run_id = ?", [run_id]
    ).fetchall()
    return out


@pytest.mark.parametrize("scenario,args,knobs,bugs", CASES, ids=[c[0] for c in CASES])
def test_forked_recording_writes_the_same_log_and_rows_as_in_process(tmp_path, monkeypatch, scenario, args, knobs, bugs):
    monkeypatch.setattr(store_mod, "KIND_FLUSH_ROWS", 40)  # many INSERTs in process
    monkeypatch.setattr(store_mod, "STREAMED_FLUSH_ROWS", 40)  # and while the child runs
    meta = _meta(scenario, args, knobs, bugs)
    plain = tmp_path / "plain.ftlog"
    expected = execute(meta, FileSink(plain))
    with Store.open(str(tmp_path / "a.duckdb"), read_only=False) as a, Store.open(str(tmp_path / "b.duckdb"), read_only=False) as b:
        forked = record_into(a, meta, "r", str(tmp_path / "forked.ftlog"), forked=True)
        inproc = record_into(b, meta, "r", str(tmp_path / "inproc.ftlog"), forked=False)
        assert (tmp_path / "forked.ftlog").read_bytes() == plain.read_bytes() == (tmp_path / "inproc.ftlog").read_bytes()
        assert forked.hash == inproc.hash == expected.hash
        assert forked.end == inproc.end == expected.end
        ra, rb = _rows(a, "r"), _rows(b, "r")
        assert sum(len(v) for k, v in ra.items() if k.startswith("raw.")) == expected.end.events
        assert ra == rb
    if bugs:
        assert expected.end.status == "failed"


def test_start_recording_overlaps_opening_the_store_and_replays_a_schedule(tmp_path):
    meta = _meta("join_race", {}, {}, [])
    first = execute(meta, FileSink(tmp_path / "first.ftlog"))
    from ftreplay.sim import schedule as schedule_text

    decisions = schedule_text.decode(first.end.schedule)
    other = make_meta("join_race", seed=99, strategy="random")
    with start_recording(other, decisions) as rec, Store.open(str(tmp_path / "s.duckdb"), read_only=False) as store:
        res = rec.store_into(store, "again", str(tmp_path / "again.ftlog"))
        assert res.end.schedule == first.end.schedule
        assert store.run("again")["events"] == first.end.events


def _assert_nothing_stored(db: str, log: str) -> None:
    assert not os.path.exists(log)
    with Store.open(db) as store:
        assert store.runs() == []
        n = store.con.execute("SELECT count(*) FROM raw.lock_acquire").fetchone()[0]
        assert n == 0


def test_an_error_in_the_child_reaches_the_caller_and_stores_nothing(tmp_path):
    meta = _meta("join_race", {}, {}, [])
    db, log = str(tmp_path / "s.duckdb"), str(tmp_path / "x.ftlog")
    with Store.open(db, read_only=False) as store:
        with pytest.raises(ScheduleDiverged, match="diverged"):
            record_into(store, meta, "x", log, schedule=[7, 7, 7], forked=True)
    _assert_nothing_stored(db, log)


def test_a_child_killed_mid_run_fails_the_recording_and_stores_nothing(tmp_path):
    meta = _meta("stress", {"threads": "8", "iterations": "2000"}, {"batch": "1000"}, [])
    db, log = str(tmp_path / "s.duckdb"), str(tmp_path / "k.ftlog")
    with Store.open(db, read_only=False) as store:
        with Recording(meta) as rec:
            os.kill(rec.pid, signal.SIGKILL)  # a run of ~600,000 events cannot be over yet
            with pytest.raises(RecordError, match="died before its run ended"):
                rec.store_into(store, "k", log)
            assert rec.pid is None
    _assert_nothing_stored(db, log)


def test_leaving_a_recording_unstored_reaps_the_child(tmp_path):
    meta = _meta("stress", {"threads": "8", "iterations": "2000"}, {}, [])
    with Recording(meta) as rec:
        pid = rec.pid
    assert rec.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_an_existing_log_path_is_refused_and_left_alone(tmp_path):
    log = tmp_path / "taken.ftlog"
    log.write_bytes(b"not ours")
    meta = _meta("join_race", {}, {}, [])
    with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as store:
        with start_recording(meta) as rec:
            with pytest.raises(Exception, match="already exists"):
                rec.store_into(store, "t", str(log))
        assert store.runs() == []
    assert log.read_bytes() == b"not ours"


def test_a_failed_parallel_derive_is_done_again_the_usual_way(tmp_path, monkeypatch):
    broken = tuple((t, "SELECT * FROM no_such_table") for t, _sql in store_mod._ARROW_DERIVED)
    monkeypatch.setattr(store_mod, "_ARROW_DERIVED", broken)
    meta = _meta("stress", {"threads": "2", "iterations": "30"}, {}, [])
    with Store.open(str(tmp_path / "a.duckdb"), read_only=False) as a, Store.open(str(tmp_path / "b.duckdb"), read_only=False) as b:
        record_into(a, meta, "r", str(tmp_path / "a.ftlog"), forked=True)
        record_into(b, meta, "r", str(tmp_path / "b.ftlog"), forked=False)
        assert a.con.execute("SELECT count(*) FROM derive_pending").fetchone()[0] == 0
        got, want = _derived(a, "r"), _derived(b, "r")
        assert got == want and want["refcount_history"] and want["lock_holds"]


def test_a_run_left_pending_between_its_two_commits_is_derived_on_the_next_write_open(tmp_path):
    meta = _meta("stress", {"threads": "2", "iterations": "30"}, {}, [])
    db = str(tmp_path / "s.duckdb")
    with Store.open(db, read_only=False) as store:
        record_into(store, meta, "r", str(tmp_path / "r.ftlog"), forked=True)
        want = _derived(store, "r")
        # what a process killed after the events' commit leaves: the mark, no derived rows
        for t, _sql in DERIVED_TABLES:
            store.con.execute(f"DELETE FROM {t} WHERE run_id = 'r'")
        store.con.execute("INSERT INTO derive_pending VALUES ('r')")
    with Store.open(db) as reader:  # readers change nothing
        assert reader.con.execute("SELECT count(*) FROM derive_pending").fetchone()[0] == 1
        assert not _derived(reader, "r")["lock_holds"]
    with Store.open(db, read_only=False) as store:
        assert store.con.execute("SELECT count(*) FROM derive_pending").fetchone()[0] == 0
        assert _derived(store, "r") == want


def test_what_the_guest_prints_in_the_child_comes_out_once(tmp_path):
    guest = tmp_path / "printer.py"
    guest.write_text(
        "def scenario(rt):\n"
        "    print('guest says hello')\n"
        "    m = rt.mutex('m')\n"
        "    m.lock()\n"
        "    m.unlock()\n"
    )
    # stdout a pipe, block-buffered (as when the output goes to a file)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out = subprocess.run(
        [sys.executable, "-m", "ftreplay", "record", f"{guest}:scenario", "--db", str(tmp_path / "s.duckdb")],
        capture_output=True, text=True, check=True, env=env,
    ).stdout
    assert out.count("guest says hello") == 1
    assert out.count("recorded scenario-1: ok") == 1


def _settings(store: Store) -> tuple:
    return store.con.execute(
        "SELECT current_setting('threads'), current_setting('preserve_insertion_order')").fetchone()


def test_rows_stay_in_seq_order_and_duckdb_settings_come_back(tmp_path, monkeypatch):
    """While a run streams in, INSERTs run single-threaded without insertion-order
    bookkeeping (Ingest._streaming); the stored rows are still in seq order, and the
    store's settings are back afterwards, also when the ingest fails."""
    meta = _meta("stress", {"threads": "3", "iterations": "40"}, {"batch": "700"}, [])
    monkeypatch.setattr(store_mod, "STREAMED_FLUSH_ROWS", 40)
    with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as store:
        before = _settings(store)
        for run in ("a", "b"):  # into empty tables, then into tables that have rows
            record_into(store, meta, run, str(tmp_path / f"{run}.ftlog"), forked=True)
            assert _settings(store) == before
        for tag in TAGS:
            t = f"raw.{view_name(tag)}"
            (n,) = store.con.execute(
                f"SELECT count(*) FROM (SELECT seq, lag(seq) OVER (PARTITION BY run_id ORDER BY rowid) AS p FROM {t}) "
                "WHERE seq < p").fetchone()
            assert n == 0, t
        with pytest.raises(ScheduleDiverged):
            record_into(store, _meta("join_race", {}, {}, []), "x", str(tmp_path / "x.ftlog"), schedule=[7, 7, 7],
                        forked=True)
        assert _settings(store) == before
