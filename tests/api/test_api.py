"""ftreplay.api: runs, SQL relations, events, the cursor, recording into a read-only handle, export."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ftreplay.api as ft
from ftreplay.errors import StoreError, UsageError
from ftreplay.record.events import FIELDS, KIND_ID


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "s.duckdb"
    with ft.open(str(path), write=True) as store:
        store.record("mutex_counter", seed=2, args={"iterations": 20})
        store.record("lock_order", seed=1)
    return path


def test_runs_and_sql(db):
    with ft.open(str(db)) as store:
        runs = store.runs()
        assert [r.run_id for r in runs] == ["mutex_counter-1", "lock_order-1"]
        assert store.run("latest") == runs[1] and store.run("mutex") == runs[0]
        assert runs[1].status == "failed" and runs[1].failure["reason"] == "deadlock"
        n = store.sql("SELECT count(*) FROM events WHERE run_id = ?", ["mutex_counter-1"]).fetchall()[0][0]
        assert n == runs[0].events
        assert store.sql("SELECT count(*) FROM events WHERE run_id = $r", r="mutex_counter-1").fetchall() == [(n,)]
        with pytest.raises(UsageError):
            store.sql("SELECT ?, $x", [1], x=2)
        with pytest.raises(StoreError):
            store.sql("SELECT nope FROM events")
        with pytest.raises(StoreError):  # read-only: no writes through sql()
            store.sql("DELETE FROM runs").fetchall()


def test_events_as_relation_and_arrow(db):
    with ft.open(str(db)) as store:
        rel = store.events("mutex_counter-1", kind="lock.acquire")
        want = ["run_id"] + list(FIELDS[KIND_ID["lock.acquire"]][:3]) + ["kind"] + list(FIELDS[KIND_ID["lock.acquire"]][3:])
        assert rel.columns == want
        tbl = store.arrow("mutex_counter-1")
        assert tbl.num_rows == store.run("mutex_counter-1").events
        assert tbl.column("seq").to_pylist() == list(range(tbl.num_rows))
        with pytest.raises(UsageError):
            store.events("mutex_counter-1", kind="lock.nope")


def test_cursor_travels(db):
    with ft.open(str(db)) as store:
        cur = store.cursor("mutex_counter-1")
        assert cur.seq == -1 and cur.event() is None
        seq = cur.find_next("kind = 'parking_lot.park' AND qlen > 0 AND tid = ?", 3)
        want = store.sql("SELECT min(seq) FROM events WHERE run_id = 'mutex_counter-1' "
                         "AND kind = 'parking_lot.park' AND qlen > 0 AND tid = 3").fetchall()[0][0]
        assert seq == want == cur.seq and cur.event()["kind"] == "parking_lot.park"
        assert {t["tid"]: t["parked_on"] for t in cur.state()["threads"]}[3] == hex(cur.event()["addr"])
        assert cur.step(-1) == seq - 1 and cur.step(2) == seq + 1
        assert cur.find_prev("kind = 'nothing'") is None and cur.seq == seq + 1
        assert cur.seek(10**9) == cur.total - 1
        assert cur.find_prev("kind = 'parking_lot.park' AND tid = 3") is not None


def test_record_into_a_read_only_handle(tmp_path):
    path = str(tmp_path / "s.duckdb")
    ft.open(path, write=True).close()
    with ft.open(path) as store:
        run = store.record("mutex_counter", seed=3, args={"iterations": 2})
        assert run.status == "ok" and store.runs() == [run]  # open again, read-only
        with pytest.raises(StoreError):
            store.sql("DROP TABLE runs").fetchall()
        out = tmp_path / "t.json"
        counts = store.export_perfetto(run.run_id, str(out))
        assert sum(counts.values()) == sum(1 for e in json.loads(out.read_text())["traceEvents"] if e["ph"] != "M")
        with pytest.raises(UsageError):
            store.export_perfetto(run.run_id, str(out))


def test_import_ftreplay_stays_light():
    code = "import sys, ftreplay; print(sorted(m for m in ('duckdb', 'pyarrow', 'distributed') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "[]"
