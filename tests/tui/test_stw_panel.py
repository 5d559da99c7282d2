"""The Stop-the-world panel and the pause row of the thread lanes: rendered from hand-built
states, and on the recorded stw_storm run at seqs found with SQL (inside a pause, while one
is requested, after the restart)."""

from __future__ import annotations

import io

from rich.console import Console

from ftreplay.replay.state import State
from tui.widgets.lanes import ThreadLanes
from tui.widgets.stw_panels import render_stw

TSTATE = 0x7F0000101950


def plain(renderable, width=90) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def rows(text: str) -> dict[str, list[str]]:
    """Table rows by thread ('T1'...), split on runs of two or more spaces."""
    import re

    out = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if re.fullmatch(r"T\d+", cells[0]):
            out[cells[0]] = cells[1:]
    return out


def stw_state(stopped: bool) -> State:
    st = State()
    # [state, phase, parked_on]
    st.threads = {
        1: ["detached", "running", 0x7F0000101930],
        2: ["attached", "running", None],
        3: ["suspended", "running", TSTATE],
        4: ["attached", "running", None],
        5: ["attached", "running", None],
    }
    st.eval_breaker = {2: 0x20, 3: 0x20 | 0x100}  # PLEASE_STOP (T3's with monitoring version 1)
    st.stw = {"interp": [5, 3, stopped]}
    return st


def test_no_pause_is_one_dim_line():
    text = plain(render_stw(State(), {}))
    assert text.strip() == "no stop-the-world pause requested"


def test_a_requested_pause_shows_who_it_waits_for():
    text = plain(render_stw(stw_state(stopped=False), {}))
    assert text.splitlines()[:2] == ["interp pause · requested by T5 · countdown 3 · world stopped: no",
                                     "waiting for T1, T2, T4"]
    assert rows(text) == {
        "T1": ["detached", "-", "detached, T5 flips it"],
        "T2": ["attached", "PLEASE_STOP", "still attached, stops at its eval breaker"],
        "T3": ["suspended", "PLEASE_STOP", "stopped"],  # the version bits are not an event
        "T4": ["attached", "-", "still attached"],
        "T5": ["attached", "-", "requester"],
    }


def test_a_stopped_world():
    st = stw_state(stopped=True)
    st.threads = {1: ["suspended", "running", TSTATE], 2: ["suspended", "exited", TSTATE],
                  3: ["exited", "deleted", None], 5: ["attached", "running", None]}
    st.eval_breaker = {}
    st.stw = {"global": [5, 0, True]}
    text = plain(render_stw(st, {}))
    assert text.splitlines()[0] == "global pause · requested by T5 · countdown 0 · world stopped: yes"
    assert rows(text) == {  # T3's thread state is gone: not in scope any more
        "T1": ["suspended", "-", "stopped"],
        "T2": ["suspended", "-", "stopped · exiting"],
        "T5": ["attached", "-", "requester"],
    }


def test_two_scopes_at_once():
    st = stw_state(stopped=False)
    st.stw = {"interp": [5, 3, False], "global": [4, 0, True]}
    heads = [line for line in plain(render_stw(st, {})).splitlines() if " pause · " in line]
    assert [h.split(" · ")[:2] for h in heads] == [["global pause", "requested by T4"],
                                                    ["interp pause", "requested by T5"]]


# -- on the recorded run ---------------------------------------------------------------------------
def panel_lines(text: str, title: str) -> list[str]:
    """The inside of the bordered panel titled ``title`` on the screen, line by line."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        at = line.find(f"╭─ {title} ")
        if at >= 0:
            end = line.index("╮", at)
            out = []
            for below in lines[i + 1:]:
                part = below[at:end + 1]
                if part.startswith("╰"):
                    return out
                out.append(part[1:-1].strip())
            return out
    raise AssertionError(f"no panel {title!r} on the screen:\n{text}")


def in_pause(sql) -> tuple[int, int, int]:
    """(a seq inside the first pause, stopped_seq, start_seq): between stop and restart."""
    (stopped, start), = sql("""
        SELECT s.seq, (SELECT min(r.seq) FROM pystate_start_the_world r WHERE r.run_id = 'stw' AND r.seq > s.seq)
        FROM pystate_stop_the_world s WHERE s.run_id = 'stw' ORDER BY s.seq LIMIT 1""")
    assert start - stopped >= 2
    return stopped + 1, stopped, start


async def go(ui, seq: int) -> None:
    await ui.press("g")
    await ui.answer(str(seq))
    assert ui.status().startswith(f"seq {seq}/")


def test_inside_a_pause_every_other_thread_is_suspended(drive, sql):
    seq, stopped, start = in_pause(sql)
    (requester, scope), = sql("SELECT requester, scope FROM stw_pauses WHERE run_id = 'stw' AND stopped_seq = ?",
                              [stopped])
    others = [t for (t,) in sql("SELECT DISTINCT thread FROM thread_state_intervals WHERE run_id = 'stw' "
                                "AND start_seq <= ? AND state <> 'exited' ORDER BY thread", [seq]) if t != requester]

    async def check(ui):
        await go(ui, seq)
        panel = panel_lines(ui.text(), "Stop-the-world")
        assert panel[0] == f"{scope} pause · requested by T{requester} · countdown 0 · world stopped: yes"
        shown = rows("\n".join(panel))
        assert shown.pop(f"T{requester}")[0::2] == ["attached", "requester"]
        assert list(shown) == [f"T{t}" for t in others] and len(others) >= 4
        assert all(r[0] == "suspended" and r[-1] == "stopped" for r in shown.values())
        # after the restart the panel is one line again
        await go(ui, start)
        assert panel_lines(ui.text(), "Stop-the-world") == ["no stop-the-world pause requested"]

    drive("stw", check)


def test_while_requested_an_attached_thread_with_please_stop_is_waited_for(drive, sql):
    (seq, thread, requester), = sql("""
        SELECT e.seq, e.thread, p.requester FROM ceval_gil_eval_breaker e
        JOIN stw_pauses p ON p.run_id = 'stw' AND e.seq > p.request_seq AND e.seq < p.stopped_seq
        JOIN thread_state_intervals i ON i.run_id = 'stw' AND i.thread = e.thread AND i.state = 'attached'
            AND e.seq BETWEEN i.start_seq AND i.end_seq
        WHERE e.run_id = 'stw' AND e.op = 'set' AND e.eval_bit = 32
        ORDER BY e.seq LIMIT 1""")

    async def check(ui):
        await go(ui, seq)
        panel = panel_lines(ui.text(), "Stop-the-world")
        assert f"requested by T{requester}" in panel[0] and panel[0].endswith("world stopped: no")
        assert f"T{thread}" in panel[1].removeprefix("waiting for ").split(", ")
        assert rows("\n".join(panel))[f"T{thread}"] == [
            "attached", "PLEASE_STOP", "still attached, stops at its eval breaker"]
        assert "ceval_gil.eval_breaker" in ui.text() and f"T{thread}  set EVAL_PLEASE_STOP" in ui.text()

    drive("stw", check)


def test_lanes_show_the_pause_and_the_suspended_threads(drive, sql):
    seq, stopped, start = in_pause(sql)
    (requester,), = sql("SELECT requester FROM stw_pauses WHERE run_id = 'stw' AND stopped_seq = ?", [stopped])

    async def check(ui):
        await go(ui, seq)
        lanes = ui.screen.query_one(ThreadLanes)
        col = lanes.grid.col(seq)
        text = lanes.render().plain
        stw_row = [line for line in text.splitlines() if line.lstrip().startswith("STW")]
        assert len(stw_row) == 1 and "stopped" in stw_row[0]
        assert lanes.data.stw[col].state == "stw_stopped"
        assert lanes.data.stw[lanes.grid.col(stopped - 1)].state == "stw_requested"
        assert lanes.grid.col(start + 1) not in lanes.data.stw
        suspended = {t for t, cells in lanes.data.cells.items() if t != requester and col in cells}
        assert len(suspended) >= 4
        assert all(lanes.data.cells[t][col].state == "suspended" for t in suspended)  # not 'parked'
        gutters = {line.split()[0]: line.split()[1] for line in text.splitlines() if line.lstrip().startswith("T")}
        assert all(gutters[f"T{t}"] == "suspended" for t in suspended)
        assert "world stopped" in text.splitlines()[-1]  # the legend
        await go(ui, start + 1)
        row = [line for line in lanes.render().plain.splitlines() if line.lstrip().startswith("STW")][0]
        assert row.split()[1] == "—"

    drive("stw", check)


def test_a_run_without_pauses_has_no_pause_row(drive):
    async def check(ui):
        text = ui.screen.query_one(ThreadLanes).render().plain
        assert "STW" not in text and "world stopped" not in text
        assert ui.screen.query_one(ThreadLanes).data.stw == {}

    drive("counter", check)
