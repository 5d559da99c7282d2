"""The key reference: every binding of the screen below, with its description."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > VerticalScroll { width: 96; height: auto; max-height: 90%; border: round $accent;
                                  background: $surface; padding: 0 2; }
    HelpScreen #help-notes { margin: 1 0 0 0; }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help-close"),
    ]

    def __init__(self, title: str, keys: list[tuple[str, str]], notes: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys
        self.notes = notes

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, description in self.keys:
            table.add_row(key, description)
        with VerticalScroll() as v:
            v.border_title = self.title_text
            v.border_subtitle = "Esc closes"
            yield Static(table, id="help-keys")
            if self.notes:
                yield Static(Text(self.notes, style="dim"), id="help-notes")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
