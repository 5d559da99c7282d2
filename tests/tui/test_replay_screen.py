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


def busiest_object(sql) -> tuple[int, list[int]]:
    """The refcount run's object with the most events, and their seqs (what n / N must visit)."""
    (obj,), = sql("SELECT obj FROM events WHERE run_id = 'refcount' AND obj IS NOT NULL "
                  "GROUP BY obj ORDER BY count(*) DESC, obj LIMIT 1")
    seqs = [r[0] for r in sql("SELECT seq FROM events WHERE run_id = 'refcount' AND obj = ? ORDER BY seq", [obj])]
    assert len(seqs) >= 5
    return obj, seqs


def test_following_an_object_visits_only_its_events(drive, sql):
    obj, seqs = busiest_object(sql)
    (name,), = sql("SELECT l.label FROM object_new n JOIN run_label l ON l.run_id = n.run_id AND l.addr = n.block "
                   "WHERE n.run_id = 'refcount' AND n.obj = ?", [obj])

    async def check(ui):
        await ui.press("g")
        await ui.answer(str(seqs[1]))
        await ui.press("o")
        assert ui.screen.query_one("#prompt-input").value == f"#{obj}"  # the current event's object
        await ui.press("enter")
        assert f"following obj #{obj} {name} (2/{len(seqs)})" in ui.status()
        for i in range(2, len(seqs)):
            await ui.press("n")
            assert ui.status().startswith(f"seq {seqs[i]}/"), i
            assert ui.screen.event.obj == obj
            assert f"({i + 1}/{len(seqs)})" in ui.status()
        await ui.press("n")  # past its last event: the cursor stays, a message says so
        assert ui.status().startswith(f"seq {seqs[-1]}/")
        assert f"no later event of obj #{obj}" in ui.text()
        for i in range(len(seqs) - 2, -1, -1):
            await ui.press("N")
            assert ui.status().startswith(f"seq {seqs[i]}/"), i
        await ui.press("home")
        assert f"(before 1/{len(seqs)})" in ui.status()
        for _ in range(3):
            await ui.pilot.press("n")  # no waiting in between: each press is one of its events
        await ui.settle()
        assert ui.status().startswith(f"seq {seqs[2]}/")
        await ui.press("right")
        if seqs[2] + 1 not in seqs:
            assert f"(after 3/{len(seqs)})" in ui.status()

    drive("refcount", check)


def test_the_followed_objects_rows_are_marked_and_escape_stops_following(drive, sql):
    obj, seqs = busiest_object(sql)

    async def check(ui):
        await ui.press("o")
        await ui.answer(f"#{obj}")
        await ui.press("n", "n")
        assert ui.status().startswith(f"seq {seqs[1]}/")
        lst = ui.screen.query_one(EventList)
        marked, unmarked = set(), set()
        for line in lst.visible_text():
            m = re.match(r"([◆▶ ])\s*([\d,]+) ", line)
            if m:
                (marked if m.group(1) == "◆" else unmarked).add(int(m.group(2).replace(",", "")))
        assert marked and marked <= set(seqs)
        assert not (unmarked - {seqs[1]}) & set(seqs)  # every visible event of it is marked
        text = ui.text()
        assert re.search(rf"◆\s+{obj}\s", text)  # its row in the Objects panel
        await ui.press("escape")
        assert "following" not in ui.status()
        assert isinstance(ui.screen, ReplayScreen)
        assert not any(line.startswith("◆") for line in lst.visible_text())
        await ui.press("n")
        assert "no object followed" in ui.text()

    drive("refcount", check)


def test_follow_by_name_and_bad_objects(drive, sql):
    (obj,), = sql("SELECT n.obj FROM object_new n JOIN run_label l ON l.run_id = n.run_id AND l.addr = n.block "
                  "WHERE n.run_id = 'refcount' AND l.label = 'owned-1'")
    (first,), = sql("SELECT min(seq) FROM events WHERE run_id = 'refcount' AND obj = ?", [obj])

    async def check(ui):
        await ui.press("o")
        assert ui.screen.query_one("#prompt-input").value == ""  # seq 0 is about no object
        await ui.answer("owned-1")
        assert f"following obj #{obj} owned-1" in ui.status()
        await ui.press("n")
        assert ui.status().startswith(f"seq {first}/")
        await ui.press("o")
        await ui.answer("#99999")
        assert "no object #99999 in this run" in ui.text()
        assert f"following obj #{obj} owned-1" in ui.status()  # still following the last one
        await ui.press("o")
        await ui.answer("")
        assert "following" not in ui.status()

    drive("refcount", check)
