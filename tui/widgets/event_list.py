"""The event list: a virtual view over every event of a run.

A ScrollView whose virtual height is the run's event count.  ``render_line`` draws only the
visible rows, from blocks of formatted rows kept in an LRU cache; a missing block draws
as a placeholder and is fetched by a worker (its own DuckDB cursor via the Session), which
posts ``BlocksLoaded``.  Memory is bounded by the cache, not by the run's length.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState, get_current_worker

from ftreplay.errors import FtreplayError
from ftreplay.record.events import TAGS

from .. import fmt
from ..session import EventRow, Session

BLOCK = 256  # rows per fetched block
CACHE_BLOCKS = 64  # blocks kept (16k rows)
MARGIN = 3  # rows kept between the cursor and the edge when following it
KIND_W = max(len(t) for t in TAGS) + 2


class EventList(ScrollView, can_focus=True, inherit_bindings=False):
    COMPONENT_CLASSES = {"event-list--cursor", "event-list--pending", "event-list--header", "event-list--followed"}
    DEFAULT_CSS = """
    EventList { scrollbar-size-vertical: 1; overflow-x: hidden; }
    EventList > .event-list--cursor { background: $primary 70%; text-style: bold; }
    EventList > .event-list--pending { color: $text-muted; }
    EventList > .event-list--followed { color: $accent; text-style: bold; }
    """

    cursor_seq: reactive[int] = reactive(-1, always_update=True)

    class BlocksLoaded(Message):
        def __init__(self, blocks: dict[int, list[EventRow]]) -> None:
            super().__init__()
            self.blocks = blocks

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class Clicked(Message):
        """A row was clicked: move the cursor to ``seq``."""

        def __init__(self, seq: int) -> None:
            super().__init__()
            self.seq = seq

    def __init__(self, session: Session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._blocks: LRUCache[int, list[EventRow]] = LRUCache(CACHE_BLOCKS)
        self._lines: LRUCache[tuple, Strip] = LRUCache(512)
        self._inflight: set[int] = set()
        self._worker: Worker | None = None
        self._error = ""
        self._load_scheduled = False
        self._follow: int | None = None  # rows about this object are marked
        last = max(session.last, 0)
        self._seq_w = max(len(f"{last:,}"), 3)
        self._ts_w = max(len(fmt.ts_us(session.end_ts)), 5)
        self.virtual_size = Size(0, session.total)

    # -- what is shown ----------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """The cursor's row is loaded (the list shows real rows around the cursor)."""
        return self.session.total == 0 or (self.cursor_seq >= 0 and self.cursor_seq // BLOCK in self._blocks)

    def row(self, seq: int) -> EventRow | None:
        blk = self._blocks.get(seq // BLOCK)
        if blk is None:
            return None
        i = seq - (seq // BLOCK) * BLOCK
        if i < len(blk) and blk[i].seq == seq:
            return blk[i]
        return next((r for r in blk if r.seq == seq), None)

    def cached_blocks(self) -> frozenset:
        return frozenset(self._blocks.keys())

    def add_blocks(self, blocks: dict[int, list[EventRow]]) -> None:
        """Blocks fetched elsewhere (the cursor's worker sends the ones around a far jump)."""
        for b, rows in blocks.items():
            self._blocks.set(b, rows)
            self._inflight.discard(b)
        if blocks:
            self._lines.clear()

    def follow(self, obj: int | None) -> None:
        """Mark the rows of the events about ``obj`` (None: mark nothing)."""
        self._follow = obj
        self._lines.clear()
        self.refresh()

    def visible_text(self) -> list[str]:
        """The visible rows as plain text (for tests and debugging)."""
        return [self.render_line(y).text for y in range(self.size.height)]

    # -- following the cursor ---------------------------------------------------------------
    def watch_cursor_seq(self, old: int, new: int) -> None:
        self._lines.clear()
        height = self.size.height
        if height and new >= 0:
            top = int(self.scroll_y)
            margin = min(MARGIN, max(height // 2 - 1, 0))
            if new < top + margin or new >= top + height - margin:
                near = abs(new - old) < height if old >= 0 else False
                if near:
                    y = new - margin if new < top + margin else new - height + margin + 1
                else:
                    y = new - height // 3
                self.scroll_to(y=max(y, 0), animate=False, immediate=True)
        self.refresh()
        self._ensure_loaded()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.session.total)
        self._lines.clear()
        self.cursor_seq = self.cursor_seq  # re-follow with the new height

    # -- loading ------------------------------------------------------------------------------
    def _wanted(self) -> list[int]:
        top = int(self.scroll_y)
        height = max(self.size.height, 1)
        last = self.session.last
        if last < 0:
            return []
        lo = max(top - height, 0) // BLOCK
        hi = min(top + 2 * height, last) // BLOCK
        blocks = list(range(lo, hi + 1))
        if self.cursor_seq >= 0:
            blocks.append(self.cursor_seq // BLOCK)
        return blocks

    def _scheduled_load(self) -> None:
        self._load_scheduled = False
        self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        missing = [b for b in dict.fromkeys(self._wanted()) if b not in self._blocks]
        if not missing or set(missing) <= self._inflight:
            return
        self._inflight = set(missing)
        self._worker = self._load(missing)

    @work(thread=True, exclusive=True, group="event-list")
    def _load(self, blocks: list[int]) -> None:
        worker = get_current_worker()
        last = self.session.last
        for b in blocks:
            if worker.is_cancelled:
                return
            try:
                rows = self.session.rows(b * BLOCK, min((b + 1) * BLOCK - 1, last))
            except FtreplayError as e:
                self.post_message(self.Failed(str(e)))
                return
            self.post_message(self.BlocksLoaded({b: rows}))

    def on_event_list_blocks_loaded(self, message: BlocksLoaded) -> None:
        self.add_blocks(message.blocks)
        self.refresh()

    def on_event_list_failed(self, message: Failed) -> None:
        message.stop()
        self._error = message.error
        self._inflight.clear()
        self.notify(message.error, title="event list", severity="error")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._worker and event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED, WorkerState.ERROR):
            self._inflight.clear()
            if event.state is WorkerState.SUCCESS:
                self.call_after_refresh(self._ensure_loaded)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if round(old) != round(new):
            self._ensure_loaded()

    # -- drawing ------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        seq = int(self.scroll_y) + y
        width = self.size.width
        if seq >= self.session.total:
            return Strip.blank(width, self.rich_style)
        is_cursor = seq == self.cursor_seq
        key = (seq, width, is_cursor)
        strip = self._lines.get(key)
        if strip is not None:
            return strip
        row = self.row(seq)
        base = self.rich_style
        if is_cursor:
            base = base + self.get_component_rich_style("event-list--cursor", partial=True)
        if row is None:
            if not self._load_scheduled:
                self._load_scheduled = True
                self.call_after_refresh(self._scheduled_load)
            pending = base + self.get_component_rich_style("event-list--pending", partial=True)
            segs = [Segment(f"{seq:>{self._seq_w},}  " + ("…" if not self._error else self._error), pending)]
            return Strip(segs).adjust_cell_length(width, base)
        followed = self._follow is not None and row.obj == self._follow
        marker = "▶" if is_cursor else ("◆" if followed else " ")
        marker_style = base + Style(bold=True)
        if followed and not is_cursor:
            marker_style += self.get_component_rich_style("event-list--followed", partial=True)
        kind_style = base + Style.parse(fmt.kind_style(row.kind))
        segs = [
            Segment(marker, marker_style),
            Segment(f"{row.seq:>{self._seq_w},}", base + Style(bold=is_cursor)),
            Segment("  "),
            Segment(f"{fmt.ts_us(row.ts):>{self._ts_w}}", base + Style(dim=not is_cursor)),
            Segment("  "),
            Segment(f"{fmt.tid(row.tid):<4}", base + Style(color="cyan", bold=True)),
            Segment(f"{row.kind:<{KIND_W}}", kind_style),
            Segment(row.text, base),
        ]
        segs = [Segment(s.text, s.style or base) for s in segs]
        strip = Strip(segs).adjust_cell_length(width, base)
        self._lines.set(key, strip)
        return strip

    def header_text(self) -> str:
        return f" {'seq':>{self._seq_w}}  {'t (µs)':>{self._ts_w}}  {'thr':<4}{'kind':<{KIND_W}}details"

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        seq = int(self.scroll_y) + offset.y
        if 0 <= seq < self.session.total:
            self.post_message(self.Clicked(seq))
