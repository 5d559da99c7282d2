"""The DuckDB store: ingest, the events view and per-kind views, atomic ingest, read-only queries,
and SQL-level invariants over many recorded runs."""

from __future__ import annotations

import duckdb
import pytest

from ftreplay.errors import StoreError
from ftreplay.record.events import ENVELOPE, FIELDS, TAGS, view_name
from ftreplay.record.log import read_log
from ftreplay.record.store import RUNS_COLUMNS, Store

STRATEGIES = ("random", "pct", "round_robin")


def table_counts(store: Store) -> dict[str, int]:
    """Row counts of every table in the store (runs, raw per-kind tables, derived tables)."""
    _, tables = store.query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY ALL"
    )
    names = {f"{s}.{t}" for s, t in tables}
    assert "main.runs" in names
    assert {f"raw.{view_name(tag)}" for tag in TAGS} <= names
    return {n: store.query(f"SELECT count(*) FROM {n}")[1][0][0] for n in sorted(names)}


def relations(store: Store) -> list[tuple]:
    return store.query(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables ORDER BY ALL"
    )[1]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, record_to_store):
    """Three runs: two mutex_counter (ok), one failing join_race."""
    d = tmp_path_factory.mktemp("small_store")
    path = str(d / "s.duckdb")
    with Store.open(path, read_only=False) as store:
        record_to_store(store, d, "mc-1", "mutex_counter", seed=1, args={"threads": 3, "iterations": 30})
        record_to_store(store, d, "mc-2", "mutex_counter", seed=2, strategy="pct")
        res = record_to_store(store, d, "jr-1", "join_race", seed=7, strategy="pct", bugs=["join_tstate_lock_race"])
        assert res.status == "failed"
    return path


# -- schema of the store --------------------------------------------------------------------
def test_events_view_has_envelope_kind_and_every_field(small_store):
    with Store.open(small_store) as store:
        cols, _ = store.query("SELECT * FROM events LIMIT 0")
    assert cols[:5] == ["run_id", "seq", "ts", "tid", "kind"]
    every_field = {n for fields in FIELDS for n in fields if n not in ENVELOPE}
    assert set(cols[5:]) == every_field
    assert len(cols) == len(set(cols))


def test_a_view_per_kind_with_its_fields(small_store):
    with Store.open(small_store) as store:
        views = {r[0] for r in store.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'VIEW'"
        )[1]}
        for i, tag in enumerate(TAGS):
            v = view_name(tag)
            assert v == tag.replace(".", "_")
            assert v in views, f"no view {v}"
            cols, rows = store.query(f"SELECT * FROM {v} LIMIT 0")
            assert cols == ["run_id", "seq", "ts", "tid", "kind"] + [f for f in FIELDS[i] if f not in ENVELOPE]
            _, kinds = store.query(f"SELECT DISTINCT kind FROM {v}")
            assert kinds in ([], [(tag,)])


def test_events_count_matches_runs_and_seq_is_dense(small_store):
    with Store.open(small_store) as store:
        _, runs = store.query("SELECT run_id, events FROM runs ORDER BY run_id")
        assert [r[0] for r in runs] == ["jr-1", "mc-1", "mc-2"]
        for run_id, events in runs:
            _, [(n, distinct, lo, hi)] = store.query(
                "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE run_id = ?", [run_id]
            )
            assert events > 0
            assert n == events == distinct == hi + 1 and lo == 0, run_id
        # per kind: the view's rows are exactly the events rows of that kind
        _, by_kind = store.query("SELECT kind, count(*) FROM events GROUP BY kind")
        for kind, n in by_kind:
            assert store.query(f"SELECT count(*) FROM {view_name(kind)}")[1][0][0] == n


def test_runs_row_of_a_failed_run(small_store):
    with Store.open(small_store) as store:
        run = store.run("jr-1")
        _, [(kind, reason, seq)] = store.query(
            "SELECT kind, reason, seq FROM events WHERE run_id = 'jr-1' ORDER BY seq DESC LIMIT 1"
        )
    assert set(run) >= {c for c, _ in RUNS_COLUMNS}
    assert run["status"] == "failed" and run["failure_reason"] == "assertion"
    assert run["bugs"] == ["join_tstate_lock_race"]
    assert (kind, reason, seq) == ("run.failure", "assertion", run["events"] - 1)
    assert run["failure_seq"] == run["events"] - 1


def test_stored_rows_equal_the_logs_events(small_store):
    """The projection agrees with the log, field by field, for one kind with optional fields."""
    with Store.open(small_store) as store:
        log_path = store.run("mc-2")["log_path"]
        cols, rows = store.query(
            "SELECT seq, ts, tid, mutex, via, handoff_to, bits_old, bits_new FROM lock_release "
            "WHERE run_id = 'mc-2' ORDER BY seq"
        )
    reader = read_log(log_path)
    try:
        from_log = [(e.seq, e.ts, e.tid, e.mutex, e.via, e.handoff_to, e.bits_old, e.bits_new)
                    for e in reader.iter_events() if type(e).__name__ == "LockRelease"]
    finally:
        reader.close()
    assert rows and rows == from_log


# -- atomic ingest ---------------------------------------------------------------------------
def _copy_store(src: str, dst) -> str:
    import shutil

    shutil.copy(src, dst)
    return str(dst)


@pytest.mark.parametrize("fail_in", ["_insert_run", "_insert_kind", "_derive"])
def test_failed_ingest_leaves_the_store_unchanged(small_store, tmp_path, monkeypatch, record_mem, fail_in):
    path = _copy_store(small_store, tmp_path / "s.duckdb")
    rec = record_mem("mutex_counter", seed=5, args={"threads": 3, "iterations": 10})
    log = tmp_path / "x.ftlog"
    log.write_bytes(rec.data)
    with Store.open(path) as store:
        before, rel_before = table_counts(store), relations(store)

    calls = {"n": 0}
    real = getattr(Store, fail_in)

    def boom(self, *a, **kw):
        calls["n"] += 1
        if fail_in == "_insert_kind" and calls["n"] < 3:
            return real(self, *a, **kw)  # some kinds already inserted when it fails
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, fail_in, boom)
    reader = read_log(log)
    try:
        with Store.open(path, read_only=False) as store:
            with pytest.raises(RuntimeError, match="disk on fire"):
                store.ingest(reader, "x-1", str(log))
    finally:
        reader.close()
    monkeypatch.undo()
    assert calls["n"] >= (3 if fail_in == "_insert_kind" else 1)
    with Store.open(path) as store:
        assert table_counts(store) == before
        assert relations(store) == rel_before
        assert store.query("SELECT count(*) FROM runs WHERE run_id = 'x-1'")[1] == [(0,)]
    # and the store still takes the same run afterwards
    reader = read_log(log)
    try:
        with Store.open(path, read_only=False) as store:
            assert store.ingest(reader, "x-1", str(log)) == rec.end.events
    finally:
        reader.close()


# -- opening and querying ------------------------------------------------------------------------
def test_open_read_only_missing_store(tmp_path):
    p = tmp_path / "missing.duckdb"
    with pytest.raises(StoreError) as ei:
        Store.open(str(p))
    assert "\n" not in str(ei.value)
    assert not p.exists()


def test_open_a_file_that_is_not_a_store(tmp_path):
    p = tmp_path / "junk.duckdb"
    p.write_bytes(b"this is not duckdb" * 100)
    with pytest.raises(StoreError):
        Store.open(str(p))
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()  # a DuckDB file, but not an ftreplay store
    with pytest.raises(StoreError, match="not an ftreplay store"):
        Store.open(str(plain))


@pytest.mark.parametrize("sql", [
    "SELEC * FROM runs",
    "SELECT * FROM no_such_table",
    "INSERT INTO runs (run_id, scenario) VALUES ('evil', 'x')",
    "DELETE FROM runs",
    "UPDATE runs SET status = 'ok'",
    "DROP TABLE runs",
    "DROP VIEW events",
    "CREATE TABLE t (a INT)",
    "ALTER TABLE runs ADD COLUMN z INT",
    "TRUNCATE raw.lock_acquire",
])
def test_bad_or_writing_sql_is_refused_and_changes_nothing(small_store, tmp_path, sql):
    path = _copy_store(small_store, tmp_path / "s.duckdb")
    with Store.open(path) as store:
        before, rel_before = table_counts(store), relations(store)
        with pytest.raises(StoreError) as ei:
            store.query(sql)
        assert "\n" not in str(ei.value)
        assert table_counts(store) == before
    with Store.open(path) as store:
        assert table_counts(store) == before
        assert relations(store) == rel_before


def test_store_with_a_newer_schema_version_is_refused(tmp_path):
    path = str(tmp_path / "v99.duckdb")
    Store.open(path, read_only=False).close()
    con = duckdb.connect(path)
    con.execute("UPDATE ftreplay_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    for ro in (True, False):
        with pytest.raises(StoreError, match="99") as ei:
            Store.open(path, read_only=ro)
        assert "\n" not in str(ei.value)
    con = duckdb.connect(path, read_only=True)
    try:  # refusing it did not "migrate" it back
        assert con.execute("SELECT value FROM ftreplay_meta WHERE key = 'schema_version'").fetchall() == [("99",)]
    finally:
        con.close()


def test_ingest_into_a_read_only_store_is_refused(small_store, tmp_path, record_mem):
    log = tmp_path / "x.ftlog"
    log.write_bytes(record_mem("join_race", seed=2).data)
    reader = read_log(log)
    try:
        with Store.open(small_store) as store:
            with pytest.raises(StoreError):
                store.ingest(reader, "x", str(log))
    finally:
        reader.close()


def test_run_ids_and_resolution(small_store):
    from ftreplay.errors import UsageError

    with Store.open(small_store) as store:
        assert store.resolve_run("jr") == "jr-1"
        with pytest.raises(UsageError, match="ambiguous"):
            store.resolve_run("mc")
        with pytest.raises(UsageError):
            store.resolve_run("nope")
        assert store.resolve_run("latest") in {"jr-1", "mc-1", "mc-2"}


# -- many runs in one store --------------------------------------------------------------------
SEEDS = range(1, 201)


@pytest.fixture(scope="module")
def many_runs_store(tmp_path_factory, record_to_store):
    """mutex_counter (3 threads x 20 iterations), seeds 1..200, every strategy: 600 runs, one store."""
    d = tmp_path_factory.mktemp("many")
    path = str(d / "many.duckdb")
    with Store.open(path, read_only=False) as store:
        for strategy in STRATEGIES:
            for seed in SEEDS:
                record_to_store(store, d, f"{strategy}-{seed}", "mutex_counter", seed=seed, strategy=strategy,
                                args={"threads": 3, "iterations": 20})
    return path


def test_many_runs_all_ok_and_dense(many_runs_store):
    with Store.open(many_runs_store) as store:
        _, rows = store.query("SELECT strategy, status, count(*) FROM runs GROUP BY ALL ORDER BY ALL")
        assert rows == [(s, "ok", len(SEEDS)) for s in sorted(STRATEGIES)]
        _, bad = store.query("""
            SELECT r.run_id, r.events, e.n, e.d, e.lo, e.hi
            FROM runs r LEFT JOIN (
                SELECT run_id, count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi
                FROM events GROUP BY run_id
            ) e USING (run_id)
            WHERE e.n IS NULL OR e.n <> r.events OR e.d <> e.n OR e.lo <> 0 OR e.hi <> r.events - 1
            LIMIT 10
        """)
        assert bad == []
        # every run incremented the counter 60 times under the lock
        _, bad = store.query("""
            SELECT a.run_id, count(*) FROM lock_acquire a
            JOIN run_label l ON l.run_id = a.run_id AND l.addr = a.mutex AND l.label = 'counter_lock'
            GROUP BY a.run_id HAVING count(*) <> 60
        """)
        assert bad == []
        assert store.query("SELECT count(DISTINCT run_id) FROM run_label WHERE label = 'counter_lock'")[1] == [(600,)]


ALTERNATION_SQL = """
WITH ops AS (
    SELECT run_id, mutex, seq, 'acquire' AS op FROM {acq}
    UNION ALL
    SELECT run_id, mutex, seq, 'release' AS op FROM {rel}
), w AS (
    SELECT run_id, mutex, seq, op,
           lag(op) OVER (PARTITION BY run_id, mutex ORDER BY seq) AS prev
    FROM ops
)
SELECT run_id, mutex, seq, op, prev FROM w
WHERE (prev IS NULL AND op <> 'acquire') OR prev = op
ORDER BY run_id, mutex, seq
LIMIT 20
"""


def test_alternation_query_catches_violations():
    """The SQL below is able to fail: it flags a double acquire and a release first."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE acq (run_id VARCHAR, mutex BIGINT, seq BIGINT)")
        con.execute("CREATE TABLE rel (run_id VARCHAR, mutex BIGINT, seq BIGINT)")
        con.execute("INSERT INTO acq VALUES ('a', 1, 0), ('a', 1, 2), ('a', 1, 3), ('b', 7, 5)")
        con.execute("INSERT INTO rel VALUES ('a', 1, 1), ('a', 1, 4), ('b', 7, 4)")
        rows = con.execute(ALTERNATION_SQL.format(acq="acq", rel="rel")).fetchall()
    finally:
        con.close()
    assert rows == [("a", 1, 3, "acquire", "acquire"), ("b", 7, 4, "release", None)]


def test_acquire_release_strictly_alternate_per_mutex(many_runs_store):
    with Store.open(many_runs_store) as store:
        _, bad = store.query(ALTERNATION_SQL.format(acq="lock_acquire", rel="lock_release"))
        assert bad == [], f"acquire/release out of order: {bad}"
        _, [(pairs, runs)] = store.query(
            "SELECT count(DISTINCT (run_id, mutex)), count(DISTINCT run_id) FROM lock_acquire"
        )
    assert runs == 600 and pairs >= 600


# -- the lock family's core kinds in a contended run ---------------------------------------------------
def test_contended_mutex_counter_has_every_lock_family_kind(tmp_path, record_to_store):
    path = str(tmp_path / "c.duckdb")
    with Store.open(path, read_only=False) as store:
        for strategy in ("random", "pct"):
            for seed in (1, 2, 3):
                res = record_to_store(store, tmp_path, f"{strategy}-{seed}", "mutex_counter", seed=seed,
                                      strategy=strategy)
                assert res.status == "ok"
    with Store.open(path) as store:
        kinds = {r[0] for r in store.query("SELECT DISTINCT kind FROM events")[1]}
        for k in ("lock.acquire", "lock.release", "parking_lot.park", "parking_lot.unpark", "parking_lot.wake",
                  "pystate.attach", "pystate.detach"):
            assert k in kinds, f"no {k} events"
        vias = {r[0] for r in store.query("SELECT DISTINCT via FROM events WHERE kind = 'lock.acquire'")[1]}
        assert vias == {"fast", "slow", "handoff"}
        release_vias = {r[0] for r in store.query("SELECT DISTINCT via FROM lock_release")[1]}
        assert release_vias <= {"fast", "slow"} and "slow" in release_vias
        # a handoff release names the thread it hands the lock to, and that thread acquires next
        _, bad = store.query("""
            SELECT r.run_id, r.seq FROM lock_release r
            WHERE r.handoff_to IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM lock_acquire a
                WHERE a.run_id = r.run_id AND a.mutex = r.mutex AND a.via = 'handoff' AND a.tid = r.handoff_to
                  AND a.seq = (SELECT min(seq) FROM lock_acquire x
                               WHERE x.run_id = r.run_id AND x.mutex = r.mutex AND x.seq > r.seq))
        """)
        assert bad == []
        states = {r[0] for r in store.query("SELECT DISTINCT new FROM pystate_attach")[1]}
        assert states == {"attached"}
        states = {r[0] for r in store.query("SELECT DISTINCT new FROM pystate_detach")[1]}
        assert states == {"detached"}
        results = {r[0] for r in store.query("SELECT DISTINCT result FROM parking_lot_wake")[1]}
        assert results <= {"ok", "again", "timeout", "intr"} and "ok" in results
