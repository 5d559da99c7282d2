"""Arrow out of DuckDB across its Python API's versions (``to_arrow_*`` since 1.4, before
that ``arrow()`` / ``fetch_record_batch``), values bound as parameters."""

from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa


def arrow_table(con, sql: str, params: Optional[list[Any]] = None) -> pa.Table:
    rel = con.sql(sql, params=params or None)
    if hasattr(rel, "to_arrow_table"):
        return rel.to_arrow_table()
    return rel.arrow()  # pragma: no cover - DuckDB < 1.4


def arrow_reader(con, sql: str, params: Optional[list[Any]] = None, rows: int = 65536) -> pa.RecordBatchReader:
    rel = con.sql(sql, params=params or None)
    if hasattr(rel, "to_arrow_reader"):
        return rel.to_arrow_reader(rows)
    return rel.fetch_record_batch(rows)  # pragma: no cover - DuckDB < 1.4
