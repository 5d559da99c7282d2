"""The ftreplay Textual app: the run picker at the bottom, a replay screen on top."""

from __future__ import annotations

from typing import Optional

from textual.app import App
from textual.binding import Binding

from ftreplay.record.store import Store

from .screens.picker import RunPicker
from .screens.replay import ReplayScreen
from .session import Session


class FtreplayApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "ftreplay"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", id="quit-ctrl-c", show=False, priority=True),
    ]

    def __init__(self, store: Store, session: Optional[Session] = None) -> None:
        super().__init__()
        self.store = store
        self.session = session

    def on_mount(self) -> None:
        self.push_screen(RunPicker(self.store))
        if self.session is not None:
            self.push_screen(ReplayScreen(self.session))

    def on_unmount(self) -> None:
        self.store.close()


def make_app(run: Optional[str], db: Optional[str]) -> FtreplayApp:
    """Open the store (and the run, if given) before anything is drawn: a bad store or
    run raises FtreplayError here, so the CLI prints one line and exits 2."""
    store = Store.open(db, read_only=True)
    try:
        session = Session.open(store, run) if run is not None else None
    except BaseException:
        store.close()
        raise
    return FtreplayApp(store, session)


def run_tui(run: Optional[str], db: Optional[str]) -> int:
    app = make_app(run, db)
    app.run()
    return app.return_code or 0
