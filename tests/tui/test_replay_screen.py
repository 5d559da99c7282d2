"""The replay screen: opening a run, stepping, jumping, finds, watch, play, quit."""

from __future__ import annotations

import re

from tui.screens.replay import ReplayScreen
from tui.widgets.event_list import EventList

PRED = "kind = 'lock.release' AND handoff_to IS NOT NULL"


def test_opening_a_run_shows_lanes_list_and_panels(drive, runs):
    last = runs["counter"]["events"] - 1

    async def check(ui):
        assert isinstance(ui.screen, ReplayScreen)
        assert ui.screen.first_full_screen is not None
        text = ui.text()
        for title in ("Threads · seq axis", "Events", "Failure", "Threads", "Locks & parking lot", "Guest fields"):
            assert title in text, title
        for t in ("T1", "T2", "T3", "T4"):  # the lanes' gutter
            assert f"  {t} " in text, t
        assert "run.label" in text and "runtime.interpreters.mutex" in text  # list rows, named by labels
        assert "no failure: the run finished ok" in text
        assert ui.status().startswith(f"seq 0/{last}")
        assert "▼" in text and "┃" in text  # the lanes' cursor column
        assert "counter   mutex_counter  seed 1  random   ok" in text  # the run header

    drive("counter", check)


def test_right_five_times_shows_seq_5(drive):
    async def check(ui):
        for _ in range(5):
            await ui.pilot.press("right")  # no waiting in between: each press is one step
        await ui.settle()
        assert ui.status().startswith("seq 5/")
        assert "seq 5/" in ui.text()
        assert ui.screen.query_one(EventList).cursor_seq == 5
        await ui.press("left")
        assert ui.status().startswith("seq 4/")
        await ui.press("down", "down")
        assert ui.status().startswith("seq 6/")

    drive("counter", check)


def test_end_then_left_shows_the_second_last_seq(drive, runs):
    last = runs["counter"]["events"] - 1

    async def check(ui):
        await ui.press("end")
        assert ui.status().startswith(f"seq {last}/{last}")
        await ui.press("left")
        assert ui.status().startswith(f"seq {last - 1}/{last}")
        assert re.search(rf"▶ *{last - 1:,} ", ui.text())  # the highlighted row of the event list
        await ui.press("home")
        assert ui.status().startswith(f"seq 0/{last}")

    drive("counter", check)


def test_goto_and_thread_and_kind_steps_match_sql(drive, sql):
    tid, kind = sql("SELECT tid, kind FROM events WHERE run_id = 'counter' AND seq = 300")[0]
    (nxt,), = sql("SELECT min(seq) FROM events WHERE run_id = 'counter' AND seq > 300 AND tid = ?", [tid])
    (prv,), = sql("SELECT max(seq) FROM events WHERE run_id = 'counter' AND seq < 300 AND kind = ?", [kind])

    async def check(ui):
        await ui.press("g")
        await ui.answer("300")
        assert ui.status().startswith("seq 300/")
        await ui.press("shift+right")
        assert ui.status().startswith(f"seq {nxt}/")
        await ui.press("shift+left")
        assert ui.status().startswith("seq 300/")
        await ui.press("left_square_bracket")
        assert ui.status().startswith(f"seq {prv}/")
        await ui.press("right_square_bracket")
        assert ui.status().startswith("seq 300/")
        await ui.press("g")
        await ui.answer("+10")
        assert ui.status().startswith("seq 310/")
        await ui.press("g")
        await ui.answer("nonsense")
        assert "not a seq number" in ui.text()
        assert ui.status().startswith("seq 310/")

    drive("counter", check)


def test_watch_continue_backward_lands_on_the_previous_match(drive, sql):
    matches = [r[0] for r in sql(f"SELECT seq FROM events WHERE run_id = 'join' AND ({PRED}) ORDER BY seq")]
    assert len(matches) >= 2

    async def check(ui):  # a failed run opens at its failure, after every match
        await ui.press("w")
        await ui.answer(PRED)
        assert f"watch {PRED}" in ui.status()
        assert f"({len(matches)} matches" in ui.status()
        await ui.press("C")
        assert ui.status().startswith(f"seq {matches[-1]}/")
        await ui.press("C")
        assert ui.status().startswith(f"seq {matches[-2]}/")
        await ui.press("c")
        assert ui.status().startswith(f"seq {matches[-1]}/")
        await ui.press("c")  # nothing later: the cursor stays, a message says so
        assert ui.status().startswith(f"seq {matches[-1]}/")
        assert "no later event matches the watch" in ui.text()

    drive("join", check)


def test_a_bad_watch_predicate_is_a_message_and_the_app_keeps_working(drive):
    async def check(ui):
        await ui.press("w")
        await ui.answer("no_such_column = 1")
        assert "bad predicate" in ui.text()
        await ui.press("c")
        assert "no watch predicate" in ui.text()
        await ui.press("right")
        assert ui.status().startswith("seq 1/")

    drive("counter", check)


def test_a_failed_run_opens_at_its_failure_with_the_reason(drive, runs):
    run = runs["join"]
    fs = run["failure_seq"]

    async def check(ui):
        assert ui.status().startswith(f"seq {fs}/{run['events'] - 1}")
        text = ui.text()
        assert f"ASSERTION  at seq {fs}" in text
        assert "◀ you are here" in text
        assert "an assertion failed" in text
        assert "_tstate_lock" in text
        assert "bug flag join_tstate_lock_race" in text
        assert "run.failure" in text
        await ui.press("home")
        assert f"({fs} events ahead)" in ui.text()
        await ui.press("f")
        assert ui.status().startswith(f"seq {fs}/")

    drive("join", check)


def test_a_deadlock_shows_its_wait_for_cycle(drive):
    async def check(ui):
        text = ui.text()
        assert "DEADLOCK" in text
        assert "wait-for cycle: T2 → T3 → T2" in text
        assert "waits on mutex 'lock_b'" in text
        assert "LOCKED|HAS_PARKED" in text  # the Locks panel at the failure

    drive("deadlock", check)


def test_space_plays_and_pauses(drive):
    async def check(ui):
        await ui.pilot.press("space")
        assert "▶ playing" in ui.status()
        await ui.pilot.press("greater_than_sign")
        assert "▶ playing ×10" in ui.status()
        await ui.pilot.press("space")
        await ui.settle()
        assert "▶ playing" not in ui.status() and "play speed ×10" in ui.status()
        seq = ui.screen.target
        ui.screen._tick()  # one tick of the timer: ten events
        await ui.settle()
        assert ui.status().startswith(f"seq {seq + 10}/")

    drive("counter", check)


def test_q_quits_cleanly(drive):
    async def check(ui):
        await ui.press("right", "right", "q")

    app = drive("counter", check)
    assert app.return_code == 0
    assert not app._exit_renderables  # no traceback was printed


def test_escape_goes_back_to_the_runs(drive):
    async def check(ui):
        await ui.press("escape")
        assert not isinstance(ui.screen, ReplayScreen)
        assert "runs in" in ui.text()

    drive("counter", check)
