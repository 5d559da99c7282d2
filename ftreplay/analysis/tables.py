"""Store tables written by the analyses (not derived at ingest): detector findings and links
between runs (a shrunk run and the run it came from).

    findings(run_id, detector, severity, message, seqs, tids, addrs, n)
        one row per finding of ``ftreplay check``; ``seqs`` are the events involved (in seq
        order), ``tids`` the threads and ``addrs`` the mutexes / fields / objects named;
        ``n`` numbers the run's findings from 0 in report order.
    run_links(run_id, source_run_id, relation, detail)
        ``relation`` 'shrunk': run_id is source_run_id's failing schedule with fewer
        preemptions; ``detail`` is JSON (preemptions before and after, tests run).

They are created on first write (``ensure``); readers check ``exists`` first, so stores
recorded before them still open read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..record.store import Store

FINDINGS_DDL = """CREATE TABLE IF NOT EXISTS findings (
    run_id VARCHAR NOT NULL,
    n INTEGER NOT NULL,
    detector VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    seqs BIGINT[],
    tids BIGINT[],
    addrs BIGINT[]
)"""

RUN_LINKS_DDL = """CREATE TABLE IF NOT EXISTS run_links (
    run_id VARCHAR NOT NULL,
    source_run_id VARCHAR NOT NULL,
    relation VARCHAR NOT NULL,
    detail VARCHAR
)"""


def ensure(store: "Store") -> None:
    store.con.execute(FINDINGS_DDL)
    store.con.execute(RUN_LINKS_DDL)


def exists(store: "Store", table: str) -> bool:
    _cols, rows = store.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [table]
    )
    return bool(rows)
