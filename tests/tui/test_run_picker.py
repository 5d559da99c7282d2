"""The run picker: lists the store's runs; Enter opens the highlighted one."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.screens.picker import RunPicker
from tui.screens.replay import ReplayScreen


def test_the_picker_lists_every_run(drive, runs):
    async def check(ui):
        assert isinstance(ui.screen, RunPicker)
        text = ui.text()
        for header in ("run", "scenario", "seed", "strategy", "status", "events", "failure"):
            assert header in text
        for run_id, run in runs.items():
            assert run_id in text
            assert f"{run['events']:,}" in text
        assert "mutex_counter" in text and "join_race" in text
        assert "failed" in text and "assertion" in text and "deadlock" in text
        assert f"{len(runs)} runs" in text

    drive(None, check)


def test_enter_opens_the_highlighted_run_and_escape_comes_back(drive, runs):
    async def check(ui):
        table = ui.screen.query_one(DataTable)
        table.move_cursor(row=list(runs).index("join"))
        await ui.press("enter")
        assert isinstance(ui.screen, ReplayScreen)
        assert ui.screen.session.run_id == "join"
        fs = runs["join"]["failure_seq"]
        assert ui.status().startswith(f"seq {fs}/")  # a failed run opens at its failure
        await ui.press("escape")
        assert isinstance(ui.screen, RunPicker)
        await ui.press("q")

    app = drive(None, check)
    assert app.return_code == 0
