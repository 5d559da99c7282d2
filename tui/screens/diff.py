"""The diff screen: two runs of one scenario side by side from where they part ways.

Both event lists are the replay screen's virtual ``EventList`` over their own Session; the
cursors move together (one seq in both runs), starting at the first divergent seq found
by ``ftreplay.diff.diff_runs``.  Above them: the divergence and, per thread, the first of
its own operations that differs.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..session import Session
from ..widgets.event_list import EventList


def summary_text(d: dict[str, Any]) -> str:
    if d["identical"]:
        return f"{d['run_a']} and {d['run_b']}: identical events"
    dec = d["decision"]
    lines = [f"first divergence at seq {d['first_divergent_seq']}"
             + (f" (scheduling decision {dec})" if dec is not None else "")
             + f" · {d['run_a']} {d['status_a']} · {d['run_b']} {d['status_b']}"]
    for t in d["threads"]:
        if t["first_different_op"] is not None:
            lines.append(f"T{t['tid']}: op {t['first_different_op']} {t['kind_a'] or '(none)'} @ {t['seq_a']}"
                         f"  vs  {t['kind_b'] or '(none)'} @ {t['seq_b']}")
    return "\n".join(lines[:6])


class DiffScreen(Screen):
    DEFAULT_CSS = """
    DiffScreen #diff-summary { height: auto; max-height: 7; padding: 0 1; border: round $primary 60%; }
    DiffScreen .diff-side { width: 1fr; border: round $primary 60%; border-title-style: bold; }
    DiffScreen EventList { height: 1fr; }
    """
    BINDINGS = [
        Binding("down,right", "step(1)", "Step", id="diff-step-forward"),
        Binding("up,left", "step(-1)", "Back", id="diff-step-back"),
        Binding("pagedown", "step(20)", "Page forward", id="diff-page-forward", show=False),
        Binding("pageup", "step(-20)", "Page back", id="diff-page-back", show=False),
        Binding("d", "divergence", "Divergence", id="diff-divergence"),
        Binding("escape", "app.quit", "Quit", id="diff-back"),
    ]

    def __init__(self, a: Session, b: Session, diff: dict[str, Any]) -> None:
        super().__init__()
        self.a, self.b, self.diff = a, b, diff
        self.start = diff["first_divergent_seq"] if diff["first_divergent_seq"] is not None else 0

    def compose(self) -> ComposeResult:
        summary = Static(summary_text(self.diff), id="diff-summary")
        summary.border_title = f"diff {self.diff['run_a']} · {self.diff['run_b']}"
        yield summary
        with Horizontal():
            for side, s in (("a", self.a), ("b", self.b)):
                with Vertical(classes="diff-side") as box:
                    box.border_title = s.run_id
                    yield EventList(s, id=f"events-{side}")
        yield Footer()

    def on_mount(self) -> None:
        self._set(self.start)

    def lists(self) -> tuple[EventList, EventList]:
        return self.query_one("#events-a", EventList), self.query_one("#events-b", EventList)

    def _set(self, seq: int) -> None:
        for lst in self.lists():
            lst.cursor_seq = max(0, min(seq, lst.session.total - 1))

    def action_step(self, n: int) -> None:
        a, b = self.lists()
        last = max(a.session.total, b.session.total) - 1
        self._set(max(0, min(max(a.cursor_seq, b.cursor_seq) + n, last)))

    def action_divergence(self) -> None:
        self._set(self.start)
