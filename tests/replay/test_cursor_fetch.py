"""How the Cursor reads events from the store: every kind in one query (rows as JSON arrays
decoded into the event structs), or kind by kind when the store lacks a field.  Both must
give exactly the events of the log."""

from __future__ import annotations

import shutil

import pytest

from ftreplay.record.events import ENVELOPE, FIELDS, KIND_ID
from ftreplay.record.log import FileSink, read_log
from ftreplay.record.session import Execution, make_meta
from ftreplay.record.store import Store
from ftreplay.replay import cursor as cursor_mod
from ftreplay.replay.cursor import Cursor

CASES = [
    ("stress", [], {"threads": "3", "iterations": "60"}),
    ("fork_many_threads", [], {"workers": "2", "parked": "1", "daemons": "1", "forks": "2"}),
    ("gc_cycles", [], {}),
    ("subinterp_clear_from_main", [], {"interps": "1", "legacy": "1"}),
    ("join_race", ["join_tstate_lock_race"], {}),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fetch")
    db = str(tmp / "s.duckdb")
    logged = {}
    with Store.open(db, read_only=False) as store:
        for i, (scenario, bugs, args) in enumerate(CASES):
            meta = make_meta(scenario, seed=3, strategy="random", args=args, bugs=bugs)
            log = tmp / f"{i}.ftlog"
            Execution(meta, FileSink(log)).run()
            reader = read_log(log)
            try:
                store.ingest(reader, f"r{i}", str(log))
            finally:
                reader.close()
            reader = read_log(log)
            try:
                logged[f"r{i}"] = list(reader.iter_events())
            finally:
                reader.close()
    return db, logged


def _all(cur: Cursor) -> list:
    return cur.events(0, cur.total - 1)


def test_one_query_reads_the_logs_events(runs):
    db, logged = runs
    with Store.open(db) as store:
        for run_id, events in logged.items():
            cur = Cursor(store, run_id)
            assert cur._union_sql is not None
            got = _all(cur)
            assert len(got) == cur.total == len(events)
            assert got == events, run_id
            # and in short windows, as a seek reads them
            assert cur.events(100, 2100) == [e for e in events if 100 <= e.seq <= 2100]


def test_kind_by_kind_reads_the_same(runs):
    db, logged = runs
    with Store.open(db) as store:
        for run_id, events in logged.items():
            cur = Cursor(store, run_id)
            cur._union_sql = None
            assert _all(cur) == events, run_id


def test_a_store_lacking_a_field_reads_it_as_none(runs, tmp_path):
    """A store written before a field was appended (here: pystate.new_thread's
    ``process``, dropped from a copy) is read kind by kind, the field as None."""
    db, logged = runs
    copy = str(tmp_path / "old.duckdb")
    shutil.copy(db, copy)
    with Store.open(copy, read_only=False) as store:
        con = store.con
        con.execute("ALTER TABLE raw.pystate_new_thread DROP COLUMN process")
        # the view, as such a store has it (the events view unions the kind views by name)
        fields = [f for f in FIELDS[KIND_ID["pystate.new_thread"]] if f not in ENVELOPE and f != "process"]
        con.execute("CREATE OR REPLACE VIEW main.pystate_new_thread AS SELECT run_id, seq, ts, tid, "
                    f"'pystate.new_thread' AS kind, {', '.join(fields)} FROM raw.pystate_new_thread")
    with Store.open(copy) as store:
        cur = Cursor(store, "r0")
        assert cur._union_sql is None
        got = _all(cur)
    want = logged["r0"]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if type(w).__name__ == "PystateNewThread":
            assert g.process is None and g.seq == w.seq and g.thread == w.thread
        else:
            assert g == w


def test_a_null_where_a_value_belongs_falls_back(runs, tmp_path, monkeypatch):
    """If the JSON rows do not decode (a NULL in a field the struct requires), the events
    are read kind by kind instead of failing the seek."""
    db, logged = runs
    calls = []
    real = cursor_mod._events_decoder

    class Failing:
        def decode(self, data):
            calls.append(len(data))
            real.decode(data)
            raise cursor_mod.msgspec.ValidationError("Expected `int`, got `null`")

    monkeypatch.setattr(cursor_mod, "_events_decoder", Failing())
    with Store.open(db) as store:
        cur = Cursor(store, "r1")
        assert _all(cur) == logged["r1"]
    assert calls
