"""Thread lanes: one row per thread, time flowing left to right around the cursor.

Columns sit on an absolute grid (``tui.timeline``); the cursor's column is in the middle and
marked.  Data for a margin of one view on each side is fetched by a worker over the
window's intervals only, so stepping redraws from memory and zoom or a far jump costs one
small query.  While a new zoom loads, the old picture stays (no blank frame).  A run with
stop-the-world pauses gets one more row, STW, above the threads: ▒ while a pause is
requested, █ while the world is stopped (the colour of 'suspended', which the threads'
lanes show for the same stretch).
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual import events, work
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import get_current_worker

from ftreplay.errors import FtreplayError
from ftreplay.replay.lifecycle import process_of
from ftreplay.replay.state import State

from .. import fmt
from ..session import Session
from ..timeline import AXES, Grid, LaneData, ladder, nice_at_least

GUTTER = 18
MAX_LANES = 16  # rows shown at once; the mouse wheel scrolls through more threads
TICK_EVERY = 10  # columns between ruler labels

GLYPH = {
    "attached": "█",
    "detached": "─",
    "parked": "█",
    "parked_attached": "█",
    "suspended": "█",
    "shutting_down": "█",
    "exited": "·",
}
MIXED_GLYPH = {"detached": "╌", "exited": "·"}
LEGEND = (
    ("attached", "attached"), ("detached", "detached"), ("parked", "parked"),
    ("parked_attached", "parked, attached"), ("suspended", "suspended"), ("exited", "exited"),
)
# The stop-the-world row (runs with pauses): requested, then stopped; in the 'suspended' colour.
STW_GLYPH = {"stw_requested": "▒", "stw_stopped": "█"}
STW_MIXED_GLYPH = {"stw_requested": "░", "stw_stopped": "▓"}
STW_STYLE = fmt.STATE_STYLE["suspended"]
STW_LEGEND = (("stw_requested", "pause requested"), ("stw_stopped", "world stopped"))


class ThreadLanes(Widget):
    DEFAULT_CSS = """
    ThreadLanes { height: auto; }
    """

    axis: reactive[str] = reactive("seq")

    class Loaded(Message):
        def __init__(self, data: LaneData) -> None:
            super().__init__()
            self.data = data

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, session: Session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.seq = session.start_seq()
        self.ts = 0
        self.threads: dict[int, tuple[str, bool]] = {}  # tid -> (state the gutter shows, parked)
        self.stw = ""  # the pause at the cursor: 'stopped', 'requested' or ''
        self.interp_of: dict[int, int] = {}  # tid -> subinterpreter (thread states of subinterpreters)
        self.proc_of: dict[int, int] = {}  # tid -> process, when the run forked
        self.data: Optional[LaneData] = None
        self._zoom = {"seq": 1, "time": nice_at_least(session.end_ts / max(session.total, 1))}
        # What the picture shows: a grid and the cursor position on it.  It moves only when
        # the data covers the new view, so a far jump or a zoom never draws a half-empty frame.
        self._view: Optional[tuple[Grid, int]] = None
        self._pending: Optional[tuple[Grid, int, int]] = None
        self.top = 0  # index of the first thread shown

    # -- inputs from the screen ---------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.data is not None

    @property
    def grid(self) -> Grid:
        """The grid wanted now (what is drawn catches up when its data arrives)."""
        return Grid(self.axis, self._zoom[self.axis])

    @property
    def ncols(self) -> int:
        return max(self.content_size.width - GUTTER, 10)

    def set_cursor(self, seq: int, ts: int, state: Optional[State], tid: Optional[int] = None) -> None:
        """Move to the cursor; ``tid`` (the current event's thread) is scrolled into view."""
        self.seq, self.ts = seq, ts
        if state is not None:
            self.threads = {t: ("exited" if v[1] in ("exited", "deleted") else v[0], v[2] is not None)
                            for t, v in state.threads.items()}
            pauses = state.stw.values()
            self.interp_of = state.interp_of
            # With more than one process, each lane names its thread's process (replay/lifecycle.py).
            self.proc_of = {t: process_of(state, t) for t in state.threads} if state.procs else {}
            self.stw = "stopped" if any(p[2] for p in pauses) else ("requested" if pauses else "")
        if tid in self.session.threads:
            i = self.session.threads.index(tid)
            if not self.top <= i < self.top + MAX_LANES:
                self._scroll_to(i - MAX_LANES // 2)
        self._sync()

    @property
    def shown_threads(self) -> list[int]:
        return self.session.threads[self.top:self.top + MAX_LANES]

    def _scroll_to(self, top: int) -> None:
        self.top = max(0, min(top, len(self.session.threads) - MAX_LANES))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._scroll_to(self.top + 1)
        self._sync()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._scroll_to(self.top - 1)
        self._sync()

    def zoom(self, step: int) -> None:
        """Zoom out (step > 0) or in (step < 0) one rung of the 1-2-5 ladder."""
        span = self.session.total if self.axis == "seq" else self.session.end_ts
        rungs = ladder(max(span // max(self.ncols // 2, 1) + 1, 1))  # out to: the whole run in half a view
        cur = self._zoom[self.axis]
        i = min(range(len(rungs)), key=lambda j: abs(rungs[j] - cur))
        self._zoom[self.axis] = rungs[max(0, min(len(rungs) - 1, i + step))]
        self._sync()

    def toggle_axis(self) -> None:
        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]

    def watch_axis(self) -> None:
        self._sync()

    def describe_zoom(self) -> str:
        g = self.grid
        if g.axis == "seq":
            return f"{g.w:,} event{'s' if g.w != 1 else ''}/col"
        return f"{fmt.ns_short(g.w).lstrip('+')}/col"

    def on_resize(self, event: events.Resize) -> None:
        self._sync()

    # -- data -----------------------------------------------------------------------------------
    def _pos(self, axis: str) -> int:
        return self.seq if axis == "seq" else self.ts

    def _sync(self) -> None:
        if not self.is_mounted or self.content_size.width == 0:
            return
        grid, n = self.grid, self.ncols
        c0, c1 = grid.view(self._pos(grid.axis), n)
        if self.data is not None and self.data.covers(grid, c0, c1):
            self._view = (grid, self._pos(grid.axis))
        else:
            want = (grid, c0 - n, c1 + n)
            pend = self._pending
            if not (pend and pend[0] == grid and pend[1] <= c0 and c1 <= pend[2]):
                self._pending = want
                self._fetch(*want)
        self._update_title()
        self.refresh(layout=True)

    @work(thread=True, exclusive=True, group="lanes")
    def _fetch(self, grid: Grid, c0: int, c1: int) -> None:
        try:
            data = self.session.lanes(grid, c0, c1)
        except FtreplayError as e:
            self.post_message(self.Failed(str(e)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(data))

    def on_thread_lanes_loaded(self, message: Loaded) -> None:
        self.data = message.data
        if self._pending and self._pending[0] == message.data.grid:
            self._pending = None
        self._sync()

    def on_thread_lanes_failed(self, message: Failed) -> None:
        message.stop()
        self._pending = None
        self.notify(message.error, title="thread lanes", severity="error")

    def _update_title(self) -> None:
        self.border_title = f"Threads · {self.grid.axis} axis · {self.describe_zoom()}"
        threads = self.session.threads
        scroll = ""
        if len(threads) > MAX_LANES:
            shown = self.shown_threads
            scroll = f"T{shown[0]}–T{shown[-1]} of {len(threads)} threads (wheel scrolls) · "
        self.border_subtitle = scroll + "+/- zoom · t axis"

    # -- drawing --------------------------------------------------------------------------------
    def render(self) -> Text:
        n = self.ncols
        lines: list[Text] = []
        if self._view is None or self.data is None or self.data.grid != self._view[0]:
            lines.append(Text("loading lanes…", style="dim"))
            if self.session.has_stw:
                lines.append(self._stw_gutter())
            for t in self.shown_threads:
                lines.append(self._gutter(t))
            return Text("\n").join(lines + [self._legend()])
        grid, pos = self._view
        c0, c1 = grid.view(pos, n)
        cursor_col = grid.col(pos) - c0
        lines.append(self._ruler(grid, c0, n, cursor_col))
        if self.session.has_stw:
            lines.append(self._stw_row(c0, n, cursor_col))
        for t in self.shown_threads:
            line = self._gutter(t)
            cells = self.data.cells.get(t, {})
            run: list[tuple[str, str]] = []
            for i in range(n):
                cell = cells.get(c0 + i)
                if cell is None:
                    ch, style = " ", ""
                else:
                    ch = MIXED_GLYPH.get(cell.state, "▓") if cell.mixed else GLYPH.get(cell.state, "█")
                    style = fmt.STATE_STYLE.get(cell.state, "")
                if i == cursor_col:
                    bg = fmt.STATE_STYLE.get(cell.state, "") if cell is not None and ch in "█▓" else ""
                    run.append(("┃", f"bold bright_white on {bg}" if bg else "bold bright_white"))
                else:
                    run.append((ch, style))
            _append_runs(line, run)
            lines.append(line)
        lines.append(self._legend())
        return Text("\n").join(lines)

    def _stw_gutter(self) -> Text:
        line = Text()
        line.append(" STW ", style="bold")
        label = self.stw or "—"
        line.append(f"{label[:GUTTER - 7]:<{GUTTER - 7}}", style=STW_STYLE if self.stw else "dim")
        line.append("│ ", style="bright_black")
        return line

    def _stw_row(self, c0: int, n: int, cursor_col: int) -> Text:
        """The pauses: ▒ requested, █ stopped (░ ▓ where that covers only part of a column)."""
        line = self._stw_gutter()
        run: list[tuple[str, str]] = []
        for i in range(n):
            cell = self.data.stw.get(c0 + i) if self.data is not None else None
            if i == cursor_col:
                run.append(("┃", f"bold bright_white on {STW_STYLE}" if cell is not None else "bold bright_white"))
            elif cell is None:
                run.append((" ", ""))
            else:
                run.append(((STW_MIXED_GLYPH if cell.mixed else STW_GLYPH)[cell.state], STW_STYLE))
        _append_runs(line, run)
        return line

    def _gutter(self, tid: int) -> Text:
        line = Text()
        line.append(f"{fmt.tid(tid):>4} ", style="bold")
        state, parked = self.threads.get(tid, ("", False))
        if parked and state != "suspended":  # a suspended thread parks until the world restarts
            key, label = ("parked_attached" if state == "attached" else "parked"), "parked"
        else:
            key, label = state, state or "—"
        interp = self.interp_of.get(tid)
        proc = self.proc_of.get(tid)
        if proc is not None:  # more than one process: the thread's process first
            line.append(f"p{proc} ", style="bold cyan")
        if interp is not None:  # a thread state of a subinterpreter: its interpreter first
            line.append(f"i{interp} ", style="bold magenta")
        tag = (f"p{proc} " if proc is not None else "") + (f"i{interp} " if interp is not None else "")
        if tag:
            label = label[:GUTTER - 7 - len(tag)]
            line.append(f"{label:<{GUTTER - 7 - len(tag)}}", style=fmt.STATE_STYLE.get(key, "dim"))
        else:
            line.append(f"{label[:GUTTER - 7]:<{GUTTER - 7}}", style=fmt.STATE_STYLE.get(key, "dim"))
        line.append("│ ", style="bright_black")
        return line

    def _ruler(self, grid: Grid, c0: int, n: int, cursor_col: int) -> Text:
        """Tick labels every TICK_EVERY columns: absolute seqs, or time relative to the cursor."""
        chars = [" "] * n
        styles = ["bright_black"] * n
        if grid.axis == "seq":
            ticks = [(i, f"{(c0 + i) * grid.w:,}") for i in range(n) if (c0 + i) % TICK_EVERY == 0 and c0 + i >= 0]
        else:
            first = cursor_col % TICK_EVERY
            ticks = [(i, fmt.ns_short((i - cursor_col) * grid.w)) for i in range(first, n, TICK_EVERY) if i != cursor_col]
        for i, text in ticks:
            label = "╷" + text
            if i + len(label) <= n and not (i - 1 <= cursor_col <= i + len(label)):
                for j, ch in enumerate(label):
                    chars[i + j] = ch
        if 0 <= cursor_col < n:
            chars[cursor_col] = "▼"
            styles[cursor_col] = "bold bright_white"
        line = Text(" " * (GUTTER - 2) + "│ ", style="bright_black")
        _append_runs(line, list(zip(chars, styles)))
        return line

    def _legend(self) -> Text:
        line = Text(" " * (GUTTER - 2) + "│ ", style="bright_black")
        for key, label in LEGEND:
            line.append(GLYPH[key] * 2, style=fmt.STATE_STYLE[key])
            line.append(f" {label}   ", style="dim")
        if self.session.has_stw:
            for key, label in STW_LEGEND:
                line.append(STW_GLYPH[key] * 2, style=STW_STYLE)
                line.append(f" {label}   ", style="dim")
        line.append("▓ mixed column   ┃ cursor", style="dim")
        return line


def _append_runs(text: Text, cells: list[tuple[str, str]]) -> None:
    """Append characters, merging neighbours of the same style into one span."""
    buf, cur = [], None
    for ch, style in cells:
        if style != cur and buf:
            text.append("".join(buf), style=cur or None)
            buf = []
        cur = style
        buf.append(ch)
    if buf:
        text.append("".join(buf), style=cur or None)

