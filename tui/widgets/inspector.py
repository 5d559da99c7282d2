"""The state inspector: one bordered panel per entry of ``panels.PANELS``."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ftreplay.replay.state import State

from .panels import PANELS


class Inspector(VerticalScroll):
    DEFAULT_CSS = """
    Inspector > .panel { height: auto; border: round $primary 60%; padding: 0 1; margin: 0 0 0 0; }
    Inspector > #panel-failure.failed { border: round $error; }
    """

    def __init__(self, run: dict[str, Any], **kwargs) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.ready = False

    def compose(self) -> ComposeResult:
        for p in PANELS:
            panel = Static("…", id=f"panel-{p.id}", classes="panel")
            panel.border_title = p.title
            if p.id == "failure" and self.run.get("failure_reason"):
                panel.add_class("failed")
            yield panel

    def show(self, state: State) -> None:
        for p in PANELS:
            self.query_one(f"#panel-{p.id}", Static).update(p.render(state, self.run))
        self.ready = True
