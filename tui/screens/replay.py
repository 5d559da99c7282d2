"""The replay screen: thread lanes, the event list, the state inspector, the SQL console.

The screen owns the cursor's *target*: a key updates it at once (so five quick presses are
five steps) and asks the ``nav`` worker to move the Session's Cursor there; the worker
posts ``CursorMoved`` with a copy of the state and the event, and only then do the widgets
change.  Finds (same thread, same kind, watch predicate) start from the target and set it
to where they land.

Following an object (``o``) loads its biography, the seqs of its events, in the ``follow``
worker; ``n`` / ``N`` then seek to its next / previous event with a bisect, no query.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Optional

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from ftreplay.errors import FtreplayError
from ftreplay.replay.state import State

from .. import fmt
from ..biography import Biography
from ..commands import ReplayCommands
from ..session import Move, Moved, Session
from ..widgets import event_list
from ..widgets.event_detail import EventDetail
from ..widgets.event_list import EventList
from ..widgets.inspector import Inspector
from ..widgets.lanes import ThreadLanes
from ..widgets.run_header import RunHeader
from ..widgets.sql_console import SqlConsole
from ..widgets.status_bar import Status, StatusBar
from .help import HelpScreen
from .prompt import Prompt

PLAY_INTERVAL = 0.05  # seconds between ticks while playing
PLAY_SPEEDS = (1, 10, 100, 1000)  # events per tick
WATCH_EXAMPLE = "kind = 'lock.release' AND handoff_to IS NOT NULL"


class ReplayScreen(Screen):
    CSS_PATH = "replay.tcss"
    COMMANDS = {ReplayCommands}
    BINDINGS = [
        Binding("right", "step(1)", "Step", id="step-forward", key_display="→",
                tooltip="Apply the next event"),
        Binding("left", "step(-1)", "Back", id="step-back", key_display="←",
                tooltip="Undo the current event"),
        Binding("down", "step(1)", "Step", id="step-down", show=False),
        Binding("up", "step(-1)", "Back", id="step-up", show=False),
        Binding("pagedown", "page(1)", "Page forward", id="page-forward", show=False),
        Binding("pageup", "page(-1)", "Page back", id="page-back", show=False),
        Binding("shift+right", "thread_step(True)", "Next event of this thread", id="thread-next", show=False,
                key_display="⇧→"),
        Binding("shift+left", "thread_step(False)", "Previous event of this thread", id="thread-prev", show=False,
                key_display="⇧←"),
        Binding("right_square_bracket", "kind_step(True)", "Next event of this kind", id="kind-next", show=False,
                key_display="]"),
        Binding("left_square_bracket", "kind_step(False)", "Previous event of this kind", id="kind-prev",
                show=False, key_display="["),
        Binding("home", "jump('start')", "First event", id="first", show=False),
        Binding("end", "jump('end')", "Last event", id="last", show=False),
        Binding("f", "jump('failure')", "Go to the failure", id="failure", show=False),
        Binding("g", "goto", "Go to", id="goto", tooltip="Go to a seq number (or +N / -N)"),
        Binding("w", "watch", "Watch", id="watch", tooltip="Set a watch predicate: SQL over the events columns"),
        Binding("c", "continue(True)", "Continue", id="continue-forward",
                tooltip="Continue forward to the next event matching the watch"),
        Binding("C", "continue(False)", "Continue back", id="continue-backward", show=False, key_display="C",
                tooltip="Continue backward to the previous event matching the watch"),
        Binding("o", "follow", "Follow", id="follow",
                tooltip="Follow object…: then n / N step through only that object's events"),
        Binding("n", "follow_step(True)", "Next event of the object", id="follow-next", show=False,
                tooltip="Next event of the followed object"),
        Binding("N", "follow_step(False)", "Previous event of the object", id="follow-prev", show=False,
                key_display="N", tooltip="Previous event of the followed object"),
        Binding("space", "play", "Play", id="play", tooltip="Play / pause: step forward on a timer"),
        Binding("greater_than_sign", "speed(1)", "Faster", id="play-faster", show=False, key_display=">",
                tooltip="Play faster (1, 10, 100, 1000 events a tick)"),
        Binding("less_than_sign", "speed(-1)", "Slower", id="play-slower", show=False, key_display="<",
                tooltip="Play slower"),
        Binding("plus,equals_sign", "zoom(-1)", "Zoom in", id="zoom-in", show=False, key_display="+"),
        Binding("minus", "zoom(1)", "Zoom out", id="zoom-out", show=False, key_display="-"),
        Binding("t", "axis", "Lanes axis", id="axis", show=False, tooltip="Thread lanes over seq or virtual time"),
        Binding("s", "sql", "SQL", id="sql", tooltip="Show / hide the SQL console"),
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("escape", "back", "Runs", id="back",
                tooltip="Close the console, stop playing, stop following, or go back to the runs"),
    ]

    class CursorMoved(Message):
        def __init__(self, result: Moved, move: Move, req: int) -> None:
            super().__init__()
            self.result = result
            self.move = move
            self.req = req

    class MoveFailed(Message):
        def __init__(self, error: str, req: int) -> None:
            super().__init__()
            self.error = error
            self.req = req

    class WatchCounted(Message):
        def __init__(self, predicate: str, count: Optional[int], error: str = "") -> None:
            super().__init__()
            self.predicate = predicate
            self.count = count
            self.error = error

    class BiographyLoaded(Message):
        def __init__(self, bio: Optional[Biography], error: str = "") -> None:
            super().__init__()
            self.bio = bio
            self.error = error

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.target = session.start_seq()
        self.state: Optional[State] = None
        self.event = None
        self.watch = ""
        self.watch_matches: Optional[int] = None
        self.bio: Optional[Biography] = None  # the followed object
        self.first_full_screen: Optional[float] = None
        self._req = 0
        self._applied = 0
        self._player: Optional[Timer] = None
        self._speed = 0  # index into PLAY_SPEEDS

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        s = self.session
        yield RunHeader(s.run, id="run-header")
        yield ThreadLanes(s, id="lanes")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                events = EventList(s, id="events")
                with Vertical(id="list-box") as box:
                    box.border_title = "Events"
                    yield Static(events.header_text(), id="list-header")
                    yield events
                yield EventDetail("", id="detail")
            yield Inspector(s.run, gil=s.has_gil, id="inspector")
        yield SqlConsole(s, id="sql")
        yield StatusBar("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(EventList).focus()
        self.query_one("#list-box").border_subtitle = f"{self.session.total:,} events"
        self._move(Move("seek", self.target))

    def on_unmount(self) -> None:
        if self._player is not None:
            self._player.stop()
        self.session.close()

    # -- moving -------------------------------------------------------------------------------
    def _move(self, move: Move) -> None:
        events = self.query_one(EventList)
        span = max(events.size.height, 1) + 8
        move = replace(move, block=event_list.BLOCK, span=span, have=events.cached_blocks())
        self._req += 1
        self._nav(move, self._req)
        self._show_status(busy=True)

    @work(thread=True, exclusive=True, group="nav")
    def _nav(self, move: Move, req: int) -> None:
        worker = get_current_worker()
        try:
            result = self.session.move(move, lambda: worker.is_cancelled)
        except FtreplayError as e:
            self.post_message(self.MoveFailed(str(e), req))
            return
        if result is not None:
            self.post_message(self.CursorMoved(result, move, req))

    def on_replay_screen_cursor_moved(self, message: CursorMoved) -> None:
        r, latest = message.result, message.req == self._req
        if not r.found:
            if latest:
                self.notify(r.note, severity="warning", timeout=3)
                self._show_status()
            return
        if message.req < self._applied:
            return
        self._applied = message.req
        if latest and message.move.how != "seek":
            self.target = r.seq
        self.state, self.event = r.state, r.event
        self.query_one(ThreadLanes).set_cursor(r.seq, r.ts, r.state, r.event.tid if r.event is not None else None)
        events = self.query_one(EventList)
        events.add_blocks(r.rows)
        events.cursor_seq = r.seq
        self.query_one(EventDetail).show(r.event, self.session.labels, self.session.obj_names)
        self.query_one(Inspector).show(r.state, getattr(r.event, "obj", None), r.collections)
        self._show_status(busy=not latest)
        self._check_ready()

    def on_replay_screen_move_failed(self, message: MoveFailed) -> None:
        if message.req == self._req:
            self.notify(message.error, title="cursor", severity="error")
            self.target = self.state.seq if self.state is not None else self.session.start_seq()
            self._show_status()

    def _seek(self, seq: int) -> None:
        self.target = self.session.clamp(seq)
        self._move(Move("seek", self.target))

    def action_step(self, n: int) -> None:
        self._seek(self.target + n)

    def action_page(self, n: int) -> None:
        self._seek(self.target + n * max(self.query_one(EventList).size.height - 1, 1))

    def action_thread_step(self, forward: bool) -> None:
        self._move(Move("thread", self.target, forward))

    def action_kind_step(self, forward: bool) -> None:
        self._move(Move("kind", self.target, forward))

    def action_jump(self, where: str) -> None:
        s = self.session
        if where == "start":
            self._seek(0)
        elif where == "end":
            self._seek(s.last)
        elif where == "failure":
            if s.failed:
                self._seek(s.run["failure_seq"])
            else:
                self.notify("this run did not fail", severity="information", timeout=2)

    def action_goto(self) -> None:
        self.app.push_screen(
            Prompt("Go to seq", placeholder=f"0..{self.session.last}  (or +N / -N to move relative)",
                   help="Enter a seq number; +N or -N moves relative to the cursor."),
            self._goto,
        )

    def _goto(self, text: Optional[str]) -> None:
        if not text:
            return
        raw = text.replace(",", "").replace("_", "").strip()
        try:
            n = int(raw)
        except ValueError:
            self.notify(f"not a seq number: {text!r}", severity="error")
            return
        self._seek(self.target + n if raw.startswith(("+", "-")) else n)

    # -- watch ----------------------------------------------------------------------------------
    def action_watch(self) -> None:
        self.app.push_screen(
            Prompt("Watch predicate", value=self.watch, placeholder=WATCH_EXAMPLE,
                   help="SQL over the events columns (kind, tid, mutex, addr, via, handoff_to, result, ...). "
                        "c continues forward to the next match, C backward. Empty clears the watch."),
            self._set_watch,
        )

    def _set_watch(self, text: Optional[str]) -> None:
        if text is None:
            return
        self.watch, self.watch_matches = text, None
        self._show_status()
        if text:
            self._count_watch(text)

    @work(thread=True, exclusive=True, group="watch")
    def _count_watch(self, predicate: str) -> None:
        try:
            n = self.session.watch_count(predicate)
        except FtreplayError as e:
            self.post_message(self.WatchCounted(predicate, None, str(e)))
            return
        self.post_message(self.WatchCounted(predicate, n))

    def on_replay_screen_watch_counted(self, message: WatchCounted) -> None:
        if message.predicate != self.watch:
            return
        if message.error:
            self.notify(message.error, title="watch", severity="error")
            self.watch = ""
        else:
            self.watch_matches = message.count
        self._show_status()

    def action_continue(self, forward: bool) -> None:
        if not self.watch:
            self.notify("no watch predicate: press w to set one", severity="warning", timeout=3)
            return
        self._move(Move("find", self.target, forward, self.watch))

    # -- following an object ---------------------------------------------------------------------
    def action_follow(self) -> None:
        current = getattr(self.event, "obj", None)
        default = current if current is not None else (self.bio.obj if self.bio is not None else None)
        self.app.push_screen(
            Prompt("Follow object", value="" if default is None else f"#{default}",
                   placeholder="an obj id (#5), an object's name, or its block address (0x...)",
                   help="n / N then move to the object's next / previous event; its events are marked ◆ in "
                        "the list and its row in the Objects panel.  Empty (or Esc on the screen) stops following."),
            self._set_follow,
        )

    def _set_follow(self, text: Optional[str]) -> None:
        if text is None:
            return
        if not text:
            self._stop_following()
            return
        self._load_biography(text, self.target)

    @work(thread=True, exclusive=True, group="follow")
    def _load_biography(self, text: str, at: int) -> None:
        try:
            bio = self.session.biography(text, at)
        except FtreplayError as e:
            self.post_message(self.BiographyLoaded(None, str(e)))
            return
        self.post_message(self.BiographyLoaded(bio))

    def on_replay_screen_biography_loaded(self, message: BiographyLoaded) -> None:
        if message.bio is None:
            self.notify(message.error, title="follow", severity="error")
            return
        bio = self.bio = message.bio
        self.query_one(EventList).follow(bio.obj)
        inspector = self.query_one(Inspector)
        inspector.follow(bio.obj)
        inspector.scroll_to_widget(inspector.panel("objects"), animate=False, top=True)
        self.notify(f"following {bio.title}: {len(bio):,} events (n / N)", timeout=3)
        self._show_status()

    def _stop_following(self) -> None:
        self.bio = None
        self.query_one(EventList).follow(None)
        self.query_one(Inspector).follow(None)
        self._show_status()

    def action_follow_step(self, forward: bool) -> None:
        bio = self.bio
        if bio is None:
            self.notify("no object followed: press o to pick one", severity="warning", timeout=3)
            return
        seq = bio.step(self.target, forward)
        if seq is None:
            self.notify(f"no {'later' if forward else 'earlier'} event of {bio.title}", severity="warning", timeout=3)
            return
        self._seek(seq)

    # -- play -----------------------------------------------------------------------------------
    def action_play(self) -> None:
        if self._player is not None:
            self._stop_playing()
        elif self.target < self.session.last:
            self._player = self.set_interval(PLAY_INTERVAL, self._tick)
        self._show_status()

    def _tick(self) -> None:
        if self.target >= self.session.last:
            self._stop_playing()
            self._show_status()
        else:
            self.action_step(PLAY_SPEEDS[self._speed])

    def action_speed(self, step: int) -> None:
        self._speed = max(0, min(len(PLAY_SPEEDS) - 1, self._speed + step))
        self._show_status()

    def _stop_playing(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player = None

    # -- lanes, console, help, back -----------------------------------------------------------
    def action_zoom(self, step: int) -> None:
        self.query_one(ThreadLanes).zoom(step)
        self._show_status()

    def action_axis(self) -> None:
        self.query_one(ThreadLanes).toggle_axis()
        self._show_status()

    def action_sql(self) -> None:
        console = self.query_one(SqlConsole)
        if console.display:
            console.close()
            self.query_one(EventList).focus()
        else:
            console.display = True
            console.focus_input()

    @on(SqlConsole.JumpTo)
    def _jump_to(self, message: SqlConsole.JumpTo) -> None:
        if message.run_id is not None and message.run_id != self.session.run_id:
            self.notify(f"that row is from run {message.run_id}; this screen replays {self.session.run_id} "
                        f"(open the other run from the runs list)", severity="warning")
            return
        if not 0 <= message.seq <= self.session.last:
            self.notify(f"seq {message.seq} is outside this run (0..{self.session.last})", severity="warning")
            return
        self._seek(message.seq)

    @on(EventList.Clicked)
    def _clicked(self, message: EventList.Clicked) -> None:
        self._seek(message.seq)

    def action_help(self) -> None:
        keys = [(self.app.get_key_display(b), b.tooltip or b.description)
                for b in self.BINDINGS if isinstance(b, Binding) and b.id not in ("step-down", "step-up")]
        keys.append(("↓ ↑", "Step / back (as → ←)"))
        keys.append(("q", "Quit"))
        keys.append((self.app.get_key_display(Binding("ctrl+p", "command_palette", "")), "Command palette: every action by name"))
        notes = ("The status line shows seq N/LAST (LAST is the run's last seq) and the virtual time after event N.\n"
                 "Lanes: one row per thread, the cursor's column marked ┃ in the middle.  "
                 "Watch predicates and the SQL console are DuckDB SQL over the store (read-only).\n"
                 "Following an object (o): n / N visit only the events whose obj column is it; "
                 "the status line says which of them the cursor is on (k/n).")
        self.app.push_screen(HelpScreen(f"ftreplay · keys · {self.session.run_id}", keys, notes))

    def action_back(self) -> None:
        console = self.query_one(SqlConsole)
        if console.display:
            console.close()
            self.query_one(EventList).focus()
        elif self._player is not None:
            self._stop_playing()
            self._show_status()
        elif self.bio is not None:
            self._stop_following()
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    # -- status, readiness ------------------------------------------------------------------------
    def _show_status(self, busy: bool = False) -> None:
        st, ev, bio = self.state, self.event, self.bio
        seq = st.seq if st is not None else self.target
        self.query_one(StatusBar).show(Status(
            seq=seq,
            last=self.session.last,
            ts=st.ts if st is not None else 0,
            kind=fmt.kind_of(ev) if ev is not None else "",
            tid=ev.tid if ev is not None else None,
            watch=self.watch,
            watch_matches=self.watch_matches,
            follow=f"{bio.title} ({bio.where(seq)})" if bio is not None else "",
            playing=self._player is not None,
            speed=PLAY_SPEEDS[self._speed],
            lanes=self.query_one(ThreadLanes).describe_zoom() + f" ({self.query_one(ThreadLanes).axis})",
            busy=busy,
        ))

    @on(ThreadLanes.Loaded)
    @on(EventList.BlocksLoaded)
    def _maybe_ready(self) -> None:
        self._check_ready()

    def _check_ready(self) -> None:
        if self.first_full_screen is not None:
            return
        if self.query_one(ThreadLanes).ready and self.query_one(EventList).ready and self.query_one(Inspector).ready:
            self.call_after_refresh(self._stamp_ready)

    def _stamp_ready(self) -> None:
        if self.first_full_screen is None:
            self.first_full_screen = time.perf_counter()
