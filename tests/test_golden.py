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
