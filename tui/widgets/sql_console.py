"""The SQL console: read-only SQL over the store, results in a table.

Enter runs the query in a worker (the Session's console cursor); a new query interrupts
a running one.  Errors are one line in the console.  Selecting a result row that has a
``seq`` column asks the screen to move the cursor there (``JumpTo``).
"""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from ftreplay.errors import FtreplayError

from .. import fmt
from ..session import QueryResult, Session
from .result_table import ResultTable

MAX_CELL = 60


def cell(column: str, v: Any) -> Text | str:
    """A result value as the table shows it: NULL dimmed, addresses in hex, numbers right-aligned."""
    if v is None:
        return Text("NULL", style="dim")
    if column in fmt.ADDR_FIELDS and isinstance(v, int) and not isinstance(v, bool) and v > 0xFFFF:
        return f"0x{v:x}"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return Text(str(v), justify="right")
    if isinstance(v, float):
        return Text(f"{v:.6g}", justify="right")
    s = str(v)
    return s if len(s) <= MAX_CELL else s[: MAX_CELL - 1] + "…"


class SqlConsole(Vertical):
    DEFAULT_CSS = """
    SqlConsole { height: 16; border: round $secondary; border-title-color: $secondary; }
    SqlConsole > #sql-input { border: tall $surface; }
    SqlConsole > #sql-message { height: 1; padding: 0 1; color: $text-muted; }
    SqlConsole > #sql-message.error { color: $error; text-style: bold; }
    SqlConsole > DataTable { height: 1fr; }
    """

    class JumpTo(Message):
        """A result row with a ``seq`` was selected."""

        def __init__(self, seq: int, run_id: Optional[str]) -> None:
            super().__init__()
            self.seq = seq
            self.run_id = run_id

    class Done(Message):
        def __init__(self, sql: str, result: QueryResult) -> None:
            super().__init__()
            self.sql = sql
            self.result = result

    class Error(Message):
        def __init__(self, sql: str, error: str) -> None:
            super().__init__()
            self.sql = sql
            self.error = error

    BINDINGS = [
        Binding("up", "history(-1)", "Previous query", show=False, id="sql-history-back"),
        Binding("down", "history(1)", "Next query", show=False, id="sql-history-forward"),
    ]

    def __init__(self, session: Session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._hist_pos = 0
        self.columns: list[str] = []
        self.rows: list[tuple] = []
        self.history: list[str] = []
        self.running = False

    def compose(self) -> ComposeResult:
        example = ("SELECT seq, tid, kind, mutex, via FROM events WHERE run_id = $run "
                   "AND kind = 'lock.acquire' AND via <> 'fast' ORDER BY seq")
        yield Input(placeholder=example, id="sql-input")
        yield Static("Enter runs the query ($run is this run's id) · select a row with a seq to jump there · "
                     "Esc back to the replay", id="sql-message")
        yield ResultTable(id="sql-results", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.border_title = "SQL console"

    # -- running --------------------------------------------------------------------------------
    @on(Input.Submitted, "#sql-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        sql = event.value.strip()
        if sql:
            self.execute(sql)

    def execute(self, sql: str) -> None:
        if self.running:
            self.session.interrupt_query()
        self.running = True
        if not self.history or self.history[-1] != sql:
            self.history.append(sql)
        self._hist_pos = len(self.history)
        self._message("running…")
        self._run(sql)

    @work(thread=True, exclusive=True, group="sql")
    def _run(self, sql: str) -> None:
        try:
            result = self.session.query(sql)
        except FtreplayError as e:
            self.post_message(self.Error(sql, str(e)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Done(sql, result))

    def on_sql_console_done(self, message: Done) -> None:
        message.stop()
        self.running = False
        r = message.result
        self.columns, self.rows = r.columns, r.rows
        self.query_one(ResultTable).fill(r.columns, [[cell(c, v) for c, v in zip(r.columns, row)] for row in r.rows])
        n = len(r.rows)
        more = f" (first {n:,} shown)" if r.truncated else ""
        jump = " · select a row to jump to its seq" if "seq" in [c.lower() for c in r.columns] else ""
        self._message(f"{n:,} row{'s' if n != 1 else ''}{more} in {r.seconds * 1000:.0f} ms{jump}")

    def on_sql_console_error(self, message: Error) -> None:
        message.stop()
        self.running = False
        self._message(f"error: {message.error}", error=True)

    def _message(self, text: str, error: bool = False) -> None:
        msg = self.query_one("#sql-message", Static)
        msg.set_class(error, "error")
        msg.update(Text(text))

    @property
    def message_text(self) -> str:
        return str(self.query_one("#sql-message", Static).content)

    # -- selecting ----------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#sql-results")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        lower = [c.lower() for c in self.columns]
        if "seq" not in lower:
            self.notify("this result has no seq column to jump to", severity="warning")
            return
        row = self.rows[event.cursor_row]
        seq = row[lower.index("seq")]
        run_id = row[lower.index("run_id")] if "run_id" in lower else None
        if not isinstance(seq, int):
            self.notify(f"seq {seq!r} is not an event number", severity="warning")
            return
        self.post_message(self.JumpTo(seq, run_id))

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._hist_pos = max(0, min(len(self.history), self._hist_pos + step))
        inp = self.query_one("#sql-input", Input)
        inp.value = self.history[self._hist_pos] if self._hist_pos < len(self.history) else ""
        inp.cursor_position = len(inp.value)

    def close(self) -> None:
        """Hide the console; a query still running is interrupted."""
        if self.running:
            self.session.interrupt_query()
        self.display = False

    def focus_input(self) -> None:
        self.query_one("#sql-input", Input).focus()
