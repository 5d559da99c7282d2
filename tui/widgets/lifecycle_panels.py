"""The Lifecycle panel: processes, thread handles and the finalization phase.

A fork (Modules/posixmodule.c) runs the child on a copy of the parent with only the forking
thread; the state shown is the running process's, and the parent waits (its state is saved
until the child exits).  Thread handles (Modules/_threadmodule.c) go not_started -> starting
-> running -> done; in a child every other thread's handle is done at once.  Finalization
(Python/pylifecycle.c) runs its steps in order; from ``remove_threads`` on, the other thread
states are SHUTTING_DOWN and a daemon that tries to attach hangs.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.lifecycle import H_DAEMON, H_IDENT, H_STATE, process_of
from ftreplay.replay.state import T_PHASE, T_STATE, State
from ftreplay.runtime.pylifecycle import PHASES

from .. import fmt
from .panel_kit import dash, note, table

HANDLE_STYLE = {"not_started": "dim", "starting": "yellow1", "running": "green3", "done": "grey50"}
PHASE_DOES = {
    "wait_threads": "threading._shutdown joins the non-daemon threads",
    "pending_calls": "_Py_FinishPendingCalls",
    "atexit": "atexit handlers, last registered first",
    "stop_the_world": "_PyEval_StopTheWorldAll: every other thread suspends",
    "set_finalizing": "interp->_finalizing set: new threads are refused",
    "remove_threads": "RemoveExcept; each removed thread state SHUTTING_DOWN",
    "start_the_world": "_PyEval_StartTheWorldAll",
    "delete_threads": "DeleteList: removed thread states cleared on this thread",
    "interp_delete": "PyInterpreterState_Delete",
    "exit": "flush, _PyRuntime_Finalize, exit()",
    "done": "finished",
}


def _processes(st: State) -> RenderableType:
    t = table("process", "parent", "forked by", "status", wrap="status")
    t.add_row(Text("1", style="bold"), dash(), dash(),
              Text("running (shown)", style="bold green3") if st.process == 1 else Text("waiting for its child"))
    for pid, (parent, tid, status) in sorted(st.procs.items()):
        if pid == st.process:
            shown = Text("running (shown)", style="bold green3")
        elif status == "running":
            shown = Text("waiting for its child")
        else:
            shown = Text(status, style="dim")
        t.add_row(Text(str(pid), style="bold"), str(parent), fmt.tid(tid), shown)
    return t


def _finalization(st: State) -> RenderableType:
    out = Text()
    out.append("finalization: ", style="bold")
    cur = PHASES.index(st.fin_phase)
    for i, ph in enumerate(PHASES):
        style = "bold reverse yellow1" if i == cur else ("grey50" if i < cur else "dim")
        out.append(ph, style=style)
        if i + 1 < len(PHASES):
            out.append(" › ", style="dim")
    out.append(f"\n{st.fin_phase}: {PHASE_DOES[st.fin_phase]}")
    return out


def _handles(st: State) -> RenderableType:
    procs = bool(st.procs)
    cols = ["thread", "handle", "daemon", "thread state", "note"]
    if procs:
        cols.insert(1, "process")
    t = table(*cols, wrap="note")
    for addr, rec in sorted(st.handles.items(), key=lambda kv: (kv[1][H_IDENT] or 1 << 62, kv[0])):
        ident, hstate, daemon = rec[H_IDENT], rec[H_STATE], rec[H_DAEMON]
        trec = st.threads.get(ident) if ident else None
        tstate = Text(f"{trec[T_STATE]} · {trec[T_PHASE]}", style=fmt.STATE_STYLE.get(trec[T_STATE], "dim")) \
            if trec is not None else dash()
        if trec is not None and trec[T_STATE] == "shutting_down":
            why = Text("shut down by finalization: hangs if it attaches", style="yellow1")
        elif hstate == "running" and trec is not None and trec[T_PHASE] == "deleted":
            why = Text("exited; not joined yet", style="dim")
        elif hstate == "done":
            why = Text("joined" if trec is None or trec[T_PHASE] == "deleted" else "done", style="dim")
        else:
            why = dash()
        row = [Text(fmt.tid(ident) if ident else "-", style="bold"),
               Text(hstate, style=HANDLE_STYLE.get(hstate, "")),
               Text("daemon" if daemon else "-", style="" if daemon else "dim"), tstate, why]
        if procs:
            row.insert(1, str(process_of(st, ident)) if ident else "-")
        t.add_row(*row)
    return t


def render_lifecycle(st: State, run: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    if st.procs:
        parts.append(_processes(st))
    if st.fin_phase:
        parts.append(_finalization(st))
    if st.handles:
        parts.append(_handles(st))
    if not parts:
        return note("no thread handles, no fork, not finalizing")
    return Group(*parts)


__all__ = ["render_lifecycle", "PHASE_DOES"]
