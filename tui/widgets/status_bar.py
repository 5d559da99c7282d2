"""The status line: where the cursor is (``seq N/LAST``, virtual time) and what is on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rich.text import Text
from textual.widgets import Static

from .. import fmt


@dataclass
class Status:
    seq: int
    last: int
    ts: int
    kind: str = ""
    tid: Optional[int] = None
    watch: str = ""
    watch_matches: Optional[int] = None
    follow: str = ""  # the followed object and where the cursor is among its events
    playing: bool = False
    speed: int = 1
    lanes: str = ""
    busy: bool = False


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, s: Status) -> None:
        t = Text()
        t.append(f"seq {s.seq}/{s.last}", style="bold")
        t.append("   ")
        t.append(f"t={fmt.ts_us(s.ts)} µs", style="bold")
        if s.kind:
            t.append("   ")
            t.append(fmt.tid(s.tid), style="bold cyan")
            t.append(" ")
            t.append(s.kind, style=fmt.kind_style(s.kind))
        if s.playing:
            t.append("   ▶ playing" + (f" ×{s.speed:,}" if s.speed != 1 else ""), style="bold green3")
        elif s.speed != 1:
            t.append(f"   play speed ×{s.speed:,}", style="dim")
        if s.follow:
            t.append("   following ", style="bold magenta")
            t.append(s.follow)
            t.append("  n/N", style="dim")
        if s.watch:
            t.append("   watch ", style="bold magenta")
            t.append(s.watch)
            if s.watch_matches is not None:
                t.append(f"  ({s.watch_matches:,} matches, c/C)", style="dim")
        if s.lanes:
            t.append(f"   lanes {s.lanes}", style="dim")
        if s.busy:
            t.append("   …", style="dim")
        self.update(t)
