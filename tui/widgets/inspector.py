"""The state inspector: one bordered panel per entry of ``panels.PANELS``."""

from __future__ import annotations

from typing import Any, Optional

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ftreplay.replay.state import State

from .panels import PANELS, Context, Focus


class Inspector(VerticalScroll):
    DEFAULT_CSS = """
    Inspector > .panel { height: auto; border: round $primary 60%; padding: 0 1; margin: 0 0 0 0; }
    Inspector > #panel-failure.failed { border: round $error; }
    """

    def __init__(self, run: dict[str, Any], gil: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.ready = False
        self._last_state: Optional[State] = None
        self.focus_objects = Focus()
        self.context = Context(gil=gil)

    def compose(self) -> ComposeResult:
        for p in PANELS:
            panel = Static("…", id=f"panel-{p.id}", classes="panel")
            panel.border_title = p.title
            if p.id == "failure" and self.run.get("failure_reason"):
                panel.add_class("failed")
            yield panel

    def show(self, state: State, current_obj: Optional[int] = None, collections: tuple = ()) -> None:
        """Render every panel for ``state``; ``current_obj`` is the object of the event at the
        cursor, ``collections`` the GC collections in progress there."""
        self._last_state = state
        self.focus_objects = self.focus_objects._replace(current=current_obj)
        self.context = self.context._replace(collections=collections)
        for p in PANELS:
            self._render_panel(p, state)
        self.ready = True

    def follow(self, obj: Optional[int]) -> None:
        """Point out ``obj`` (None: nothing) in the panels that show objects."""
        self.focus_objects = self.focus_objects._replace(follow=obj)
        if self._last_state is not None:
            for p in PANELS:
                if p.focus:
                    self._render_panel(p, self._last_state)

    def panel(self, panel_id: str) -> Static:
        return self.query_one(f"#panel-{panel_id}", Static)

    def _render_panel(self, p, state: State) -> None:
        if p.focus:
            body = p.render(state, self.run, focus=self.focus_objects)
        elif p.context:
            body = p.render(state, self.run, ctx=self.context)
        else:
            body = p.render(state, self.run)
        self.panel(p.id).update(body)
