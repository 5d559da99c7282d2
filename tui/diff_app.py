"""``ftreplay diff A B --tui``: the diff screen in its own small app."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from ftreplay.diff import diff_runs
from ftreplay.record.store import Store

from .screens.diff import DiffScreen
from .session import Session


class DiffApp(App):
    TITLE = "ftreplay diff"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, store: Store, a: Session, b: Session, diff: dict) -> None:
        super().__init__()
        self.store, self.a, self.b, self.diff = store, a, b, diff

    def on_mount(self) -> None:
        self.push_screen(DiffScreen(self.a, self.b, self.diff))

    def on_unmount(self) -> None:
        self.a.close()
        self.b.close()
        self.store.close()


def make_diff_app(ref_a: str, ref_b: str, db) -> DiffApp:
    """Open both runs and compute their diff before anything is drawn (errors: one line)."""
    store = Store.open(db, read_only=True)
    try:
        d = diff_runs(store, ref_a, ref_b)
        a = Session(store, d["run_a"])
        b = Session(store, d["run_b"])
    except BaseException:
        store.close()
        raise
    return DiffApp(store, a, b, d)


def run_diff_tui(ref_a: str, ref_b: str, db) -> int:
    app = make_diff_app(ref_a, ref_b, db)
    app.run()
    return app.return_code or 0
