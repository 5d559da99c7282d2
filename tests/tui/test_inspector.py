"""The state inspector: panels from the registry, rendered from the cursor's state."""

from __future__ import annotations

import io
import re

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
    assert [p.id for p in PANELS] == ["failure", "findings", "threads", "stw", "lifecycle", "gc", "locks", "guest",
                                      "critical-sections", "objects", "brc", "qsbr", "heaps", "interpreters"]
    assert all(p.title for p in PANELS)
    assert [p.id for p in PANELS if p.focus] == ["objects"]
    assert [p.id for p in PANELS if p.context] == ["gc"]


def test_the_memory_panels_render_an_empty_state_as_one_line(runs):
    from ftreplay.replay.state import State

    for p in PANELS:
        if p.id in ("failure", "threads", "locks", "guest"):
            continue
        text = plain(p.render(State(), runs["counter"]))
        assert len(text.strip().splitlines()) == 1, (p.id, text)


def test_panels_show_threads_locks_and_the_parking_lot(store_path, sql):
    (seq, tid, addr), = sql("SELECT seq, tid, addr FROM parking_lot_park WHERE run_id = 'counter' AND qlen > 0 "
                            "AND addr IN (SELECT mutex FROM lock_acquire WHERE run_id = 'counter') "
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
        for p in PANELS:
            insp.scroll_to_widget(insp.panel(p.id), animate=False, immediate=True)
            await ui.settle()
            assert p.title in ui.text(), p.title

    drive("counter", check)


def test_the_objects_panel_shows_live_objects_of_a_recorded_run(drive, sql):
    (seq, obj, owner), = sql("SELECT seq, obj, owner FROM brc_queue WHERE run_id = 'refcount' ORDER BY seq LIMIT 1")
    (typ,), = sql("SELECT type FROM object_new WHERE run_id = 'refcount' AND obj = ?", [obj])

    async def check(ui):
        insp = ui.screen.query_one(Inspector)
        await ui.press("g")
        await ui.answer(str(seq))
        insp.scroll_to_widget(insp.panel("objects"), animate=False, immediate=True, top=True)
        await ui.settle()
        text = ui.text()
        assert "Objects" in text
        row = [ln for ln in text.splitlines() if re.search(rf"│\s*▶\s+{obj}\s+\S+ {typ}\s+T{owner}\s", ln)]
        assert row, text
        assert "QUEUED" in row[0] and f"queued→T{owner}" in row[0]

    drive("refcount", check)
