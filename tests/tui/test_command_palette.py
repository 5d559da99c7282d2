"""The command palette lists the replay screen's actions; the help screen lists the keys."""

from __future__ import annotations

from tui.commands import ReplayCommands
from tui.screens.help import HelpScreen
from tui.screens.replay import ReplayScreen


def test_the_palette_finds_and_runs_replay_actions(drive):
    async def check(ui):
        await ui.press("ctrl+p")
        for ch in "last event":
            await ui.pilot.press(ch if ch != " " else "space")
        await ui.settle()
        assert "Last event" in ui.text()
        await ui.press("enter")
        await ui.settle()
        assert isinstance(ui.screen, ReplayScreen)
        last = ui.screen.session.last
        assert ui.status().startswith(f"seq {last}/{last}")

    drive("counter", check)


def test_the_palette_lists_every_action_on_open(drive):
    async def check(ui):
        provider = ReplayCommands(ui.screen)
        titles = [str(hit.text) async for hit in provider.discover()]
        for title in ("Set a watch predicate: SQL over the events columns", "Show / hide the SQL console",
                      "Go to a seq number (or +N / -N)", "Next event of this thread", "Zoom in", "Zoom out",
                      "Continue backward to the previous event matching the watch", "Play / pause: step forward on a timer",
                      "Follow object…: then n / N step through only that object's events",
                      "Next event of the followed object", "Previous event of the followed object"):
            assert title in titles, title
        assert len(titles) == len(set(titles))  # up/down (same actions as the arrows) are not listed twice
        await ui.press("ctrl+p")
        assert titles[0] in ui.text()

    drive("counter", check)


def test_help_lists_the_keys(drive):
    async def check(ui):
        await ui.press("question_mark")
        assert isinstance(ui.screen, HelpScreen)
        text = ui.text()
        for line in ("Apply the next event", "Next event of this thread", "Previous event of this kind",
                     "Set a watch predicate", "Continue backward", "Play / pause", "Zoom in", "Quit",
                     "Follow object…", "Previous event of the followed object"):
            assert line in text, line
        await ui.press("escape")
        assert isinstance(ui.screen, ReplayScreen)
        await ui.press("right")
        assert ui.status().startswith("seq 1/")

    drive("counter", check)


def test_the_palette_follows_an_object(drive, sql):
    (obj, first), = sql("SELECT obj, min(seq) FROM events WHERE run_id = 'refcount' AND obj IS NOT NULL "
                        "GROUP BY obj ORDER BY obj LIMIT 1")

    async def check(ui):
        await ui.press("ctrl+p")
        for ch in "follow object":
            await ui.pilot.press(ch if ch != " " else "space")
        await ui.settle()
        assert "Follow object…" in ui.text()
        await ui.press("enter")
        await ui.answer(f"#{obj}")
        assert f"following obj #{obj}" in ui.status()
        await ui.press("n")
        assert ui.status().startswith(f"seq {first}/")

    drive("refcount", check)
