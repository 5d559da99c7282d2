"""The Stop-the-world panel: a requested or stopped pause and where each thread stands.

A pause (Python/pystate.c, stop_the_world) is requested under HEAD_LOCK with a countdown of
the other threads in scope; the requester flips detached threads to SUSPENDED itself and
sets PLEASE_STOP in the eval breaker of attached ones, which suspend at their next check.
When the countdown reaches 0 the world is stopped; start_the_world flips every suspended
thread back to DETACHED.  The panel lists the threads with what the requester still waits
for: a thread attached (with or without PLEASE_STOP pending) or detached and not yet flipped.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.state import T_PHASE, T_STATE, State

from .. import fmt
from .panel_kit import dash, note, table

PLEASE_STOP = 0x20  # _PY_EVAL_PLEASE_STOP_BIT
EVENT_BITS = 0xFF  # eval_breaker bits 0-7; the monitoring version sits above them
STW_REQUESTER, STW_COUNTDOWN, STW_STOPPED = 0, 1, 2  # state.stw[scope]


def _threads(st: State) -> list[int]:
    """Threads whose thread state still exists (an exited thread counts until it is deleted)."""
    return [t for t, rec in sorted(st.threads.items()) if rec[T_PHASE] != "deleted"]


def _waiting_for(st: State, requester: int) -> list[int]:
    return [t for t in _threads(st) if t != requester and st.threads[t][T_STATE] in ("attached", "detached")]


def _bits(bits: int, hot: bool) -> RenderableType:
    """The event bits by name (PLEASE_STOP rather than EVAL_PLEASE_STOP), '-' when none."""
    bits &= EVENT_BITS
    if not bits:
        return dash()
    names = fmt.eval_breaker_bits(bits).replace("EVAL_", "").replace("|", " | ")
    return Text(names, style="bold yellow1" if hot else "")


def _header(scope: str, rec: list, waiting: list[int]) -> Text:
    requester, countdown, stopped = rec[STW_REQUESTER], rec[STW_COUNTDOWN], rec[STW_STOPPED]
    out = Text()
    out.append(f"{scope} pause", style="bold")
    out.append(" · requested by ")
    out.append(fmt.tid(requester), style="bold")
    out.append(f" · countdown {countdown} · world stopped: ")
    if stopped:
        out.append("yes", style="bold reverse " + fmt.STATE_STYLE["suspended"])
    else:
        out.append("no", style="bold yellow1")
        if waiting:
            out.append("\nwaiting for ")
            out.append(", ".join(fmt.tid(t) for t in waiting), style="bold yellow1")
    return out


def render_stw(st: State, run: dict[str, Any]) -> RenderableType:
    if not st.stw:
        return note("no stop-the-world pause requested")
    parts: list[RenderableType] = []
    for scope, rec in sorted(st.stw.items()):
        requester = rec[STW_REQUESTER]
        waiting = _waiting_for(st, requester)
        parts.append(_header(scope, rec, waiting))
        t = table("thread", "state", "eval breaker", "status", wrap="status", min_width={"state": 9})
        for tid in _threads(st):
            state, phase = st.threads[tid][T_STATE], st.threads[tid][T_PHASE]
            bits = st.eval_breaker.get(tid, 0)
            pending = bool(bits & PLEASE_STOP)
            if tid == requester:
                why = Text("requester", style="bold")
            elif state == "suspended":
                why = Text("stopped", style="dim")
            elif state == "attached":
                why = Text("still attached" + (", stops at its eval breaker" if pending else ""), style="bold yellow1")
            elif state == "detached":
                why = Text(f"detached, {fmt.tid(requester)} flips it", style="yellow1")
            else:
                why = Text(state, style="dim")
            if phase == "exited":
                why.append(" · exiting", style="dim")
            t.add_row(
                Text(fmt.tid(tid), style="bold"),
                Text(state, style=fmt.STATE_STYLE.get(state, "")),
                _bits(bits, hot=pending and state == "attached"),
                why,
            )
        parts.append(t)
    return Group(*parts)


__all__ = ["render_stw", "PLEASE_STOP"]
