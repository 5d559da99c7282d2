"""Helpers for the TUI tests: a small store recorded in process, and Pilot utilities.

The store (made once per session) holds:
- ``counter``  mutex_counter, 3 threads x 30 iterations (ok, ~800 events, parks and slow acquires)
- ``join``     join_race with --bug join_tstate_lock_race, the first pct seed that fails (an assertion;
               has hand-offs)
- ``deadlock`` a guest that takes two mutexes in opposite orders (fails with a deadlock)
- ``many``     mutex_counter with 20 threads (more threads than the lanes show at once)
- ``refcount`` refcount_shared (objects, BRC queues, eval-breaker bits)
- ``cs``       critical_sections (one- and two-mutex critical sections, suspended ones)
- ``stw``      stw_storm (five stop-the-world pauses: threads flipped, PLEASE_STOP, a thread
               started during a pause)
- ``gc``       gc_cycles, 2 threads x 12 cycles, a finalizer every 5th (one collection: the final
               gc.collect())
- ``gil``      gil_switch (the GIL build: drop requests, forced switches)
- ``fork``     fork_many_threads, one fork (a child process with its own thread; the parent finalizes
               with a daemon still running)
- ``interp``   twin_isolated_subinterp_init, one round (the GIL build: two isolated subinterpreters with
               their own GILs, created and run by two threads; type cache untouched)

Tests open it read-only through ``tui.app.make_app`` (what ``ftreplay tui`` runs) and read
what the screen shows with ``screen_text``.
"""

from __future__ import annotations

import asyncio
import io
import textwrap

import pytest
from rich.console import Console

from ftreplay.record.log import FileSink, MemorySink, read_log
from ftreplay.record.session import execute, make_meta
from ftreplay.record.store import Store

SIZE = (200, 50)

DEADLOCK_GUEST = '''
def deadlock(rt):
    """two threads take two mutexes in opposite orders"""
    a = rt.mutex("lock_a")
    b = rt.mutex("lock_b")
    a_taken = rt.event("a_taken")
    b_taken = rt.event("b_taken")

    def first():
        a.lock(); a_taken.notify(); b_taken.wait(); b.lock(); b.unlock(); a.unlock()

    def second():
        b.lock(); b_taken.notify(); a_taken.wait(); a.lock(); a.unlock(); b.unlock()

    x = rt.start_thread(first, name="first")
    y = rt.start_thread(second, name="second")
    x.join(); y.join()
'''

RUNS = {
    "counter": ("mutex_counter", "random", 1, {"threads": "3", "iterations": "30"}, []),
    "join": ("join_race", "pct", None, {}, ["join_tstate_lock_race"]),  # None: the first failing seed
    "deadlock": ("{guest}:deadlock", "random", 1, {}, []),
    "many": ("mutex_counter", "random", 1, {"threads": "20", "iterations": "2"}, []),
    "refcount": ("refcount_shared", "random", 1, {}, []),
    "cs": ("critical_sections", "random", 1, {}, []),
    "stw": ("stw_storm", "random", 1, {}, []),
    "gc": ("gc_cycles", "random", 1, {"threads": "2", "cycles": "12", "finalizers": "5"}, []),
    "gil": ("gil_switch", "random", 1, {}, []),
    "interp": ("twin_isolated_subinterp_init", "random", 1, {"rounds": "1", "work_ms": "6"}, []),
    "fork": ("fork_many_threads", "random", 1, {"workers": "2", "parked": "1", "daemons": "1", "forks": "1"}, []),
}


def first_failing_seed(scenario: str, strategy: str, args: dict, bugs: list) -> int:
    """The first seed in 1..50 whose run fails (a bug's schedule depends on the whole model)."""
    for seed in range(1, 51):
        meta = make_meta(scenario, seed=seed, strategy=strategy, args=args, bugs=bugs)
        if execute(meta, MemorySink()).failure is not None:
            return seed
    raise AssertionError(f"no {strategy} seed in 1..50 makes {scenario} fail with {bugs}")


@pytest.fixture(scope="session")
def store_path(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("tui_store")
    guest = d / "guest_deadlock.py"
    guest.write_text(textwrap.dedent(DEADLOCK_GUEST))
    db = str(d / "s.duckdb")
    with Store.open(db, read_only=False) as store:
        for run_id, (scenario, strategy, seed, args, bugs) in RUNS.items():
            if seed is None:
                seed = first_failing_seed(scenario, strategy, args, bugs)
            meta = make_meta(scenario.format(guest=guest), seed=seed, strategy=strategy, args=args, bugs=bugs)
            log = d / f"{run_id}.ftlog"
            execute(meta, FileSink(str(log)))
            reader = read_log(str(log))
            try:
                store.ingest(reader, run_id, str(log))
            finally:
                reader.close()
    return db


@pytest.fixture(scope="session")
def runs(store_path) -> dict[str, dict]:
    """The runs rows, by run id."""
    with Store.open(store_path) as store:
        return {r: store.run(r) for r in RUNS}


class Ui:
    """One running app under Pilot, with the questions tests ask about the screen."""

    def __init__(self, app, pilot) -> None:
        self.app = app
        self.pilot = pilot

    @property
    def screen(self):
        return self.app.screen

    def text(self) -> str:
        """Everything the screen shows, as plain text."""
        app = self.app
        console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                          color_system=None, legacy_windows=False)
        console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
        return console.export_text()

    def status(self) -> str:
        from tui.widgets.status_bar import StatusBar

        return str(self.app.screen.query_one(StatusBar).content)

    async def settle(self) -> None:
        """Wait until no worker runs and every message they posted has been handled."""
        app, pilot = self.app, self.pilot
        quiet = 0
        for _ in range(400):
            await pilot.pause()
            if any(not w.is_finished for w in app.workers):
                quiet = 0
                await app.workers.wait_for_complete()
            else:
                quiet += 1
                if quiet >= 3:
                    return
        raise AssertionError("the app did not settle")

    async def press(self, *keys: str) -> None:
        """Press keys one by one, letting the app settle after each."""
        for k in keys:
            await self.pilot.press(k)
            await self.settle()

    async def answer(self, text: str) -> None:
        """Type into the open prompt and press Enter."""
        self.app.screen.query_one("#prompt-input").value = text
        await self.press("enter")


@pytest.fixture
def drive(store_path):
    """``drive(run_or_None, scenario)`` runs ``await scenario(ui)`` on a fresh app (``ftreplay tui
    [RUN]`` on the test store, 200x50, headless) once it has settled; returns the app."""

    def run(run_id, scenario, size=SIZE):
        from tui.app import make_app

        async def main():
            app = make_app(run_id, store_path)
            async with app.run_test(size=size, notifications=True) as pilot:
                ui = Ui(app, pilot)
                await ui.settle()
                await scenario(ui)
            return app

        return asyncio.run(main())

    return run


@pytest.fixture
def sql(store_path):
    """``sql(query, params)``: rows from the test store."""

    def q(query: str, params=None) -> list[tuple]:
        with Store.open(store_path) as store:
            return store.query(query, params)[1]

    return q
