"""Parquet export and import, and the rebuilt .ftlog: a round trip re-derives each run's hash."""

from __future__ import annotations

import os
import shutil

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ftreplay.errors import StoreError, UsageError
from ftreplay.export.ftlog import StoreRows, write_log
from ftreplay.export.parquet import export_parquet, import_parquet
from ftreplay.record.store import Store

RUNS = ["mutex_counter-1", "gc_cycles-1"]


def _rows(db, sql, *params):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def _exported(export_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("parquet") / "pq"
    with Store.open(str(export_store)) as store:
        done = export_parquet(store, RUNS, str(out))
    assert [r.run_id for r in done] == RUNS
    return out


@pytest.fixture
def exported(_exported, tmp_path):
    """A copy of the export this test may change."""
    return shutil.copytree(_exported, tmp_path / "pq")


def test_rebuilt_log_is_the_recorded_log(export_store):
    with Store.open(str(export_store)) as store:
        for run_id in RUNS + ["lock_order-1"]:  # lock_order-1 failed: its log ends at the failure
            run = store.run(run_id)
            buf = bytearray()
            digest = write_log(run, StoreRows(store.cursor(), run_id), buf.extend)
            with open(run["log_path"], "rb") as f:
                assert bytes(buf) == f.read()
            assert digest == run["hash"]


def test_layout_reads_as_hive_partitions(exported, export_store):
    got = duckdb.sql(
        "SELECT run_id, count(*), max(seq) FROM read_parquet(?, hive_partitioning = true) GROUP BY ALL ORDER BY 1",
        params=[str(exported / "events" / "*" / "*.parquet")]).fetchall()
    want = _rows(export_store, "SELECT run_id, events, events - 1 FROM runs WHERE run_id IN (?, ?) ORDER BY 1", *RUNS)
    assert got == want
    holds = pq.read_table(exported / "lock_holds" / "run_id=gc_cycles-1" / "part-0.parquet")
    assert holds.num_rows == _rows(export_store, "SELECT count(*) FROM lock_holds WHERE run_id = 'gc_cycles-1'")[0][0]


def test_round_trip_gives_the_same_hash(exported, export_store, tmp_path):
    db = tmp_path / "other" / "s.duckdb"
    with Store.open(str(db), read_only=False) as store:
        done = import_parquet(store, str(exported))
    assert sorted((r.run_id, r.source_run_id) for r in done) == sorted((r, r) for r in RUNS)
    cols = "run_id, scenario, seed, strategy, config, bugs, status, failure_seq, events, hash, schedule, steps, virtual_ns"
    sql = f"SELECT {cols} FROM runs WHERE run_id IN (?, ?) ORDER BY run_id"
    assert _rows(db, sql, *RUNS) == _rows(export_store, sql, *RUNS)
    derived = "SELECT run_id, count(*), sum(hold_ns) FROM lock_holds WHERE run_id IN (?, ?) GROUP BY ALL ORDER BY 1"
    assert _rows(db, derived, *RUNS) == _rows(export_store, derived, *RUNS)
    # a second import of the same folder gets fresh run ids, same hashes
    with Store.open(str(db), read_only=False) as store:
        again = import_parquet(store, str(exported), only=["mutex_counter-1"])
    first = {r.run_id: r.hash for r in done}
    assert again[0].run_id == "mutex_counter-2" and again[0].hash == first["mutex_counter-1"]


def test_changed_rows_do_not_import(exported, tmp_path):
    part = exported / "events" / "run_id=mutex_counter-1" / "part-0.parquet"
    tbl = pq.read_table(part)
    i = tbl.schema.get_field_index("wait_ns")
    wait = tbl.column(i)
    changed = pc.if_else(pc.greater(wait, 0), pc.add(wait, 1), wait)  # one nanosecond more on every wait
    pq.write_table(tbl.set_column(i, "wait_ns", changed.cast(pa.int64())), part)
    db = tmp_path / "other" / "s.duckdb"
    with Store.open(str(db), read_only=False) as store:
        with pytest.raises(StoreError, match="hashes to"):
            import_parquet(store, str(exported), only=["mutex_counter-1"])
        assert store.runs() == []
    assert [p for p in os.listdir(db.parent) if p.endswith(".ftlog")] == []


def test_export_never_overwrites(exported, export_store, tmp_path):
    with Store.open(str(export_store)) as store:
        with pytest.raises(UsageError, match="already exists"):
            export_parquet(store, ["gc_cycles-1"], str(exported))
        (tmp_path / "junk").mkdir()
        (tmp_path / "junk" / "x").write_text("x")
        with pytest.raises(UsageError, match="not an ftreplay Parquet export"):
            export_parquet(store, ["gc_cycles-1"], str(tmp_path / "junk"))
        export_parquet(store, ["stw_storm-1"], str(exported))  # a new run joins the folder
    assert sorted(os.listdir(exported / "runs")) == ["run_id=gc_cycles-1", "run_id=mutex_counter-1", "run_id=stw_storm-1"]


def test_cli_ftlog_export_and_parquet_import(export_store, tmp_path, capsys):
    from ftreplay.cli import main

    log = tmp_path / "copy.ftlog"
    assert main(["export", "lock_order-1", "--format", "ftlog", "-o", str(log), "--db", str(export_store)]) == 0
    run = _rows(export_store, "SELECT hash, log_path FROM runs WHERE run_id = 'lock_order-1'")[0]
    with open(run[1], "rb") as f:
        assert log.read_bytes() == f.read()
    out = tmp_path / "pq"
    assert main(["export", "lock_order-1", "--format", "parquet", "-o", str(out), "--db", str(export_store)]) == 0
    assert main(["import", str(out), "--db", str(tmp_path / "b.duckdb")]) == 0
    assert "imported lock_order-1: " in capsys.readouterr().out
    assert _rows(tmp_path / "b.duckdb", "SELECT run_id, status, hash FROM runs") == [("lock_order-1", "failed", run[0])]


def test_cli_import_of_a_plain_folder_is_one_line(tmp_path, capsys):
    from ftreplay.cli import main

    assert main(["import", str(tmp_path), "--db", str(tmp_path / "b.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "not a Parquet export" in err and err.count("\n") == 1
    assert not (tmp_path / "b.duckdb").exists()
