"""A DataTable filled in one go, with column widths measured up front.

DataTable sizes auto-width columns on idle; a table redrawn before that keeps rows cut at
the header's width.  ``fill`` measures every cell first and gives each column its width.
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

MAX_WIDTH = 60


def _width(v: Any) -> int:
    if isinstance(v, Text):
        return cell_len(v.plain)
    return cell_len(str(v))


class ResultTable(DataTable):
    def fill(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], keys: Sequence[str] | None = None) -> None:
        self.clear(columns=True)
        widths = [_width(c) for c in columns]
        for row in rows:
            for i, v in enumerate(row):
                widths[i] = max(widths[i], _width(v))
        for c, w in zip(columns, widths):
            self.add_column(c, key=c, width=min(w, MAX_WIDTH))
        for i, row in enumerate(rows):
            self.add_row(*row, key=keys[i] if keys else None)
