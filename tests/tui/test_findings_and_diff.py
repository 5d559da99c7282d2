"""The findings panel (rendered from findings around a cursor, and in the replay screen) and
the side-by-side diff screen on two recorded runs."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from ftreplay.analysis.detectors import Finding
from ftreplay.explore import ExploreSpec, explore
from ftreplay.replay.state import State
from tui.widgets.findings_panel import render_findings


def plain(renderable, width=160) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def at(seq: int) -> State:
    st = State()
    st.seq = seq
    return st


def test_findings_are_marked_relative_to_the_cursor():
    fs = [Finding("lock_order", "warning", "lock-order inversion", [10, 12, 30, 31], [2, 3], [1, 2]),
          Finding("race", "error", "data race on hits", [40, 45], [2, 3], [5])]
    lines = plain(render_findings(at(20), {"findings": fs})).splitlines()
    assert lines[0].startswith("▶ lock_order lock-order inversion") and "seqs 10, 12, 30, 31" in lines[0]
    assert lines[1].startswith("· race data race on hits")
    lines = plain(render_findings(at(50), {"findings": fs})).splitlines()
    assert lines[0].startswith("✓ lock_order") and lines[1].startswith("✓ race")
    assert "ftreplay check x-1" in plain(render_findings(at(0), {"findings": None, "run_id": "x-1"}))
    assert "found nothing" in plain(render_findings(at(0), {"findings": []}))


def test_replay_screen_has_a_findings_panel(drive):
    async def scenario(ui):
        text = ui.text()
        assert "Findings" in text and "ftreplay check deadlock" in text

    drive("deadlock", scenario)


def test_diff_screen_shows_both_runs_from_the_divergence(tmp_path):
    from tui.diff_app import make_diff_app
    from tui.widgets.event_list import EventList

    db = str(tmp_path / "s.duckdb")
    spec = ExploreSpec("join_race", "pct", bugs=("join_tstate_lock_race",))
    ok = explore(spec, runs=1, db=db, store_sample=1)["sample_runs"][0]
    bad = explore(spec, runs=30, until_failure=True, db=db)["run_id"]

    async def main():
        app = make_diff_app(ok, bad, db)
        async with app.run_test(size=(200, 40)) as pilot:
            for _ in range(50):
                await pilot.pause()
                await app.workers.wait_for_complete()
                lists = app.screen.query(EventList)
                if all(lst.ready for lst in lists):
                    break
            a, b = app.screen.query_one("#events-a", EventList), app.screen.query_one("#events-b", EventList)
            start = app.diff["first_divergent_seq"]
            assert a.cursor_seq == b.cursor_seq == start
            await pilot.press("down", "down")
            assert a.cursor_seq == b.cursor_seq == start + 2
            await pilot.press("d")
            assert a.cursor_seq == start
            console = Console(width=200, height=40, file=io.StringIO(), record=True, color_system=None)
            console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
            text = console.export_text()
            assert f"first divergence at seq {start}" in text and ok in text and bad in text

    asyncio.run(main())
