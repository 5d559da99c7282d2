"""The Lifecycle panel (handles, processes, finalization) from hand-built states, and on the
recorded fork run: inside the child the panel and the lanes name each thread's process."""

from __future__ import annotations

import io

from rich.console import Console

from ftreplay.replay.state import State
from tui.widgets.lanes import ThreadLanes
from tui.widgets.lifecycle_panels import render_lifecycle



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


async def go(ui, seq: int) -> None:
    await ui.press("g")
    await ui.answer(str(seq))
    assert ui.status().startswith(f"seq {seq}/")


def plain(renderable, width=110) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_nothing_to_show_is_one_dim_line():
    assert plain(render_lifecycle(State(), {})).strip() == "no thread handles, no fork, not finalizing"


def test_handles_and_the_finalization_phase():
    st = State()
    st.threads = {1: ["attached", "running", None], 2: ["exited", "deleted", None],
                  3: ["shutting_down", "running", None]}
    st.handles = {0x100: [2, "done", False], 0x200: [3, "running", True], 0x300: [0, "not_started", False]}
    st.fin_phase = "delete_threads"
    text = plain(render_lifecycle(st, {}))
    lines = text.splitlines()
    assert lines[0].startswith("finalization: wait_threads › pending_calls")
    assert "delete_threads: DeleteList: removed thread states cleared on this thread" in text
    rows = {line.split()[0]: line.split() for line in lines if line.lstrip().startswith(("T", "-"))}
    assert rows["T2"][1:3] == ["done", "-"] and "joined" in rows["T2"]
    assert rows["T3"][1:3] == ["running", "daemon"] and "hangs" in " ".join(rows["T3"])
    assert rows["-"][1] == "not_started"


def test_processes_while_a_child_runs():
    st = State()
    st.threads = {1: ["attached", "running", None], 5: ["attached", "running", None]}
    st.handles = {0x100: [5, "running", False]}
    st.process = 2
    st.procs = {2: [1, 1, "running"]}
    st.thread_process = {5: 2}
    text = plain(render_lifecycle(st, {}))
    lines = [line.split(None, 3) for line in text.splitlines()]
    assert ["1", "-", "-", "waiting for its child"] in [line[:3] + [line[3].strip()] for line in lines if len(line) == 4]
    assert ["2", "1", "T1", "running (shown)"] in [line[:3] + [line[3].strip()] for line in lines if len(line) == 4]
    [t5] = [line.split() for line in text.splitlines() if line.lstrip().startswith("T5")]
    assert t5[:3] == ["T5", "2", "running"]


def test_inside_the_child_the_panel_and_lanes_name_processes(drive, sql):
    (fork, exit_), = sql("SELECT (SELECT seq FROM pylifecycle_fork WHERE run_id = 'fork'), "
                         "(SELECT seq FROM pylifecycle_exit WHERE run_id = 'fork')")
    (forker,), = sql("SELECT thread FROM pylifecycle_fork WHERE run_id = 'fork'")
    (last,), = sql("SELECT max(seq) FROM events WHERE run_id = 'fork'")

    async def check(ui):
        await go(ui, fork + 5)
        panel = panel_lines(ui.text(), "Handles, processes & finalization")
        assert panel[1].split()[:2] == ["1", "-"] and panel[1].endswith("waiting for its child")
        assert panel[2].split()[:3] == ["2", "1", f"T{forker}"] and panel[2].endswith("running (shown)")
        gutters = {line.split()[0]: line.split()[1] for line in ui.screen.query_one(ThreadLanes).render().plain
                   .splitlines() if line.lstrip().startswith("T")}
        assert gutters[f"T{forker}"] == "p2" and set(gutters.values()) - {"—"} == {"p1", "p2"}  # — : not created yet
        await go(ui, exit_ + 1)
        panel = panel_lines(ui.text(), "Handles, processes & finalization")
        assert panel[1].endswith("running (shown)") and panel[2].endswith("exited")
        await go(ui, last)  # the end: the parent finalized
        assert "done: finished" in panel_lines(ui.text(), "Handles, processes & finalization")

    drive("fork", check)


def test_event_list_lines_for_fork_and_finalization():
    from ftreplay.record.events import (
        PylifecycleFork, PylifecyclePhase, PylifecycleReinitLock, PystateHang, PystateShuttingDown, ThreadHandle)
    from tui import fmt

    labels = {0x10: "HEAD_LOCK"}
    assert fmt.summary(PylifecycleFork(5, 0, 1, 2, 1), labels) == "fork: process 2 starts, with only T1"
    assert fmt.summary(PylifecycleReinitLock(9, 0, 1, 0x10, 1, 1), labels).startswith("HEAD_LOCK  zeroed in the child")
    assert fmt.summary(PystateShuttingDown(7, 0, 1, 3, "suspended", "shutting_down"), labels) == (
        "T3  suspended → shutting_down  by T1")
    assert "hangs forever" in fmt.summary(PystateHang(8, 0, 3, 3), labels)
    assert fmt.summary(PylifecyclePhase(6, 0, 1, "atexit", "pending_calls"), labels) == "finalization: atexit"
    assert fmt.summary(ThreadHandle(2, 0, 1, 0x20, 4, "starting", "running", True), labels) == (
        "handle of T4  starting → running  daemon")
