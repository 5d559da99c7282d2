"""The SQL console: results in a table, row selection moves the cursor, errors are messages."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tui.widgets.sql_console import SqlConsole

HANDOFFS = ("SELECT run_id, seq, tid, kind, handoff_to FROM events WHERE run_id = $run "
            "AND kind = 'lock.release' AND handoff_to IS NOT NULL ORDER BY seq")


async def run_query(ui, sql: str) -> SqlConsole:
    console = ui.screen.query_one(SqlConsole)
    if not console.display:
        await ui.press("s")
    assert console.display and ui.app.focused is console.query_one(Input)
    console.query_one(Input).value = sql
    await ui.press("enter")
    return console


def test_selecting_a_row_jumps_to_its_seq(drive, sql):
    rows = sql(HANDOFFS.replace("$run", "'join'"))
    assert len(rows) >= 2

    async def check(ui):
        console = await run_query(ui, HANDOFFS)
        text = ui.text()
        assert "SQL console" in text and "handoff_to" in text
        assert f"{len(rows)} rows" in console.message_text
        table = console.query_one(DataTable)
        assert table.row_count == len(rows)
        table.focus()
        table.move_cursor(row=1)
        await ui.press("enter")
        assert ui.status().startswith(f"seq {rows[1][1]}/")

    drive("join", check)


def test_a_bad_query_is_a_message_and_the_app_keeps_working(drive):
    async def check(ui):
        console = await run_query(ui, "SELEC nonsense FROM nowhere")
        assert console.message_text.startswith("error: ")
        assert "error: Parser Error" in ui.text()
        console = await run_query(ui, "CREATE TABLE x (a INT)")  # the store is read-only
        assert console.message_text.startswith("error: ")
        await ui.press("escape")  # close the console
        assert not console.display
        await ui.press("right")
        assert ui.status().startswith("seq 1/")
        console = await run_query(ui, "SELECT 42 AS answer")
        assert "1 row" in console.message_text and "42" in ui.text()

    drive("counter", check)


def test_a_row_of_another_run_does_not_move_the_cursor(drive):
    async def check(ui):
        console = await run_query(ui, "SELECT run_id, seq FROM events WHERE run_id = 'join' AND seq = 10")
        table = console.query_one(DataTable)
        table.focus()
        await ui.press("enter")
        assert ui.status().startswith("seq 0/")
        assert "that row is from run join" in ui.text()

    drive("counter", check)


def test_history_recalls_the_last_query(drive):
    async def check(ui):
        console = await run_query(ui, "SELECT 1 AS one")
        inp = console.query_one(Input)
        inp.value = ""
        await ui.press("up")
        assert inp.value == "SELECT 1 AS one"
        assert ui.status().startswith("seq 0/")  # up went to the console, not the cursor

    drive("counter", check)
