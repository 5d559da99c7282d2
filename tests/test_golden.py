"""Golden logs: every version must open and import the committed recordings."""

from pathlib import Path

import pytest

from ftreplay.record.log import read_log
from ftreplay.record.store import Store

GOLDEN = sorted((Path(__file__).resolve().parents[1] / "recordings").glob("golden-*.ftlog"))


def test_there_are_golden_logs():
    assert len(GOLDEN) >= 3


@pytest.mark.parametrize("path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_golden_log_opens_and_imports(path, tmp_path):
    reader = read_log(path)
    try:
        assert reader.recovery.clean, reader.recovery.describe()
        assert reader.end is not None
        seqs = [e.seq for e in reader.iter_events()]
        assert seqs == list(range(reader.end.events))
        if reader.end.status == "failed":
            assert reader.end.failure_seq == seqs[-1]
        with Store.open(str(tmp_path / "g.duckdb"), read_only=False) as store:
            n = store.ingest(reader, "golden", str(path))
            assert n == reader.end.events
            cols, rows = store.query("SELECT count(*), max(seq) FROM events WHERE run_id = 'golden'")
            assert rows[0] == (n, n - 1)
            assert store.run("golden")["status"] == reader.end.status
    finally:
        reader.close()


def test_fields_appended_since_take_their_defaults(tmp_path):
    """pystate.new_thread gained ``process`` (default 1) after the golden logs were written:
    importing them fills the column with the default, as a fresh recording would have it."""
    [path] = [p for p in GOLDEN if p.name == "golden-event_notify.ftlog"]
    reader = read_log(path)
    try:
        with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as store:
            store.ingest(reader, "old", str(path))
            _, rows = store.query("SELECT count(*), count(process), min(process), max(process) FROM pystate_new_thread")
    finally:
        reader.close()
    n, non_null, lo, hi = rows[0]
    assert n > 0 and non_null == n and lo == hi == 1
