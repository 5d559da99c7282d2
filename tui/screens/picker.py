"""The run picker: every run in the store; Enter opens one in the replay screen."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ftreplay.errors import FtreplayError
from ftreplay.record.store import Store

from .. import fmt
from ..session import Session, child
from ..widgets.result_table import ResultTable

COLUMNS = ("run", "scenario", "seed", "strategy", "bugs", "status", "events", "failure", "created")


def _row(r: dict[str, Any]) -> list[Any]:
    status = r["status"] or "?"
    created = r["created"].strftime("%Y-%m-%d %H:%M:%S") if r.get("created") else ""
    scenario = r["scenario"]
    if len(scenario) > 40:  # a user scenario is path/to/file.py:function
        scenario = "…" + scenario[-39:]
    return [
        Text(r["run_id"], style="bold"),
        scenario,
        Text(str(r["seed"]), justify="right"),
        r["strategy"],
        Text(",".join(r["bugs"] or []) or "-", style="yellow1" if r["bugs"] else "dim"),
        Text(status, style=fmt.STATUS_STYLE.get(status, "")),
        Text(f"{r['events'] or 0:,}", justify="right"),
        Text(r["failure_reason"] or "-", style="red1" if r["failure_reason"] else "dim"),
        Text(created, style="dim"),
    ]


class RunPicker(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open run", id="picker-open", show=True, priority=False),
        Binding("r", "reload", "Reload", id="picker-reload"),
    ]
    DEFAULT_CSS = """
    RunPicker #picker-title { height: 1; background: $panel; }
    RunPicker #picker-hint { height: 1; color: $text-muted; padding: 0 1; }
    RunPicker DataTable { height: 1fr; }
    """

    class Loaded(Message):
        def __init__(self, runs: list[dict[str, Any]]) -> None:
            super().__init__()
            self.runs = runs

    class Opened(Message):
        def __init__(self, session: Session) -> None:
            super().__init__()
            self.session = session

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.runs: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        title = Text()
        title.append(" ftreplay ", style="bold reverse")
        title.append(f"  runs in {self.store.path}", style="bold")
        yield Static(title, id="picker-title")
        yield Static("loading runs…", id="picker-hint")
        yield ResultTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="picker")
    def _load(self) -> None:
        try:
            runs = child(self.store).runs()
        except FtreplayError as e:
            self.post_message(self.Failed(str(e)))
            return
        self.post_message(self.Loaded(runs))

    def on_run_picker_loaded(self, message: Loaded) -> None:
        self.runs = message.runs
        table = self.query_one(ResultTable)
        table.fill(COLUMNS, [_row(r) for r in self.runs], [r["run_id"] for r in self.runs])
        n = len(self.runs)
        hint = self.query_one("#picker-hint", Static)
        if n:
            hint.update(f"{n} run{'s' if n != 1 else ''} · Enter opens the highlighted run in the replay screen")
        else:
            hint.update("no runs yet: record one with 'ftreplay record mutex_counter'")
        table.focus()

    @on(DataTable.RowSelected, "#runs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open(str(event.row_key.value))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if self.runs and table.cursor_row is not None:
            self._open(self.runs[table.cursor_row]["run_id"])

    def _open(self, run_id: str) -> None:
        self.query_one("#picker-hint", Static).update(f"opening {run_id}…")
        self._open_worker(run_id)

    @work(thread=True, exclusive=True, group="picker-open")
    def _open_worker(self, run_id: str) -> None:
        try:
            session = Session.open(self.store, run_id)
        except FtreplayError as e:
            self.post_message(self.Failed(str(e)))
            return
        self.post_message(self.Opened(session))

    def on_run_picker_opened(self, message: Opened) -> None:
        from .replay import ReplayScreen

        self.query_one("#picker-hint", Static).update(
            f"{len(self.runs)} runs · Enter opens the highlighted run in the replay screen")
        self.app.push_screen(ReplayScreen(message.session))

    def on_run_picker_failed(self, message: Failed) -> None:
        self.query_one("#picker-hint", Static).update(Text(message.error, style="bold red1"))
        self.notify(message.error, severity="error")
