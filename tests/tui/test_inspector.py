"""The state inspector: panels from the registry, rendered from the cursor's state."""

from __future__ import annotations

import io

from rich.console import Console

from ftreplay.record.store import Store
from ftreplay.replay.cursor import Cursor
from tui.widgets.inspector import Inspector
from tui.widgets.panels import PANELS, render_failure, render_locks, render_threads, wait_for_cycle


def plain(renderable, width=84) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_the_registry_has_the_panels():
    assert [p.id for p in PANELS] == ["failure", "threads", "locks", "guest"]
    assert all(p.title for p in PANELS)


def test_panels_show_threads_locks_and_the_parking_lot(store_path, sql):
    (seq, tid, addr), = sql("SELECT seq, tid, addr FROM parking_lot_park WHERE run_id = 'counter' AND qlen > 0 "
                            "ORDER BY seq LIMIT 1")
    with Store.open(store_path) as store:
        cur = Cursor(store, "counter")
        st = cur.seek(seq)
        name = st.labels.get(addr, f"0x{addr:x}")
        threads = plain(render_threads(st, cur.run))
        locks = plain(render_locks(st, cur.run))
    row = [line for line in threads.splitlines() if line.strip().startswith(f"T{tid} ")][0]
    assert "parked" in row and name in row
    assert "LOCKED" in locks
    assert f"T{tid} on {name}" in locks  # the bucket's FIFO


def test_failure_panel_explains_the_reason(runs):
    from ftreplay.replay.state import State

    st = State()
    st.seq = 0
    text = plain(render_failure(st, runs["deadlock"]))
    assert "DEADLOCK" in text and "every live thread is blocked" in text
    assert "wait-for cycle: T2 → T3 → T2" in text
    assert "events ahead" in text
    ok = plain(render_failure(st, runs["counter"]))
    assert "no failure" in ok


def test_wait_for_cycle_parses_the_engine_message():
    msg = ("wait-for cycle: T2 waits on mutex 'lock_b' @0x7f0000100060 held by T3; "
           "T3 waits on mutex 'lock_a' @0x7f0000100050 held by T2")
    assert wait_for_cycle(msg) == [
        (2, "mutex 'lock_b' @0x7f0000100060", 3),
        (3, "mutex 'lock_a' @0x7f0000100050", 2),
    ]


def test_the_inspector_shows_every_panel(drive):
    async def check(ui):
        insp = ui.screen.query_one(Inspector)
        assert insp.ready
        text = ui.text()
        for p in PANELS:
            assert p.title in text

    drive("counter", check)
