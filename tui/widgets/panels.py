"""The state inspector's panels: a registry of ``Panel(id, title, render(state, run))``.

A render function gets the projected State at the cursor and the run's row and returns a
Rich renderable; the Inspector widget shows one bordered panel per entry, in order.  Add a
panel by appending to ``PANELS``.  This file holds the thread and lock panels; the object
panels live in ``object_panels``, QSBR and the heaps in ``heap_panels``, stop-the-world in
``stw_panels``, the collector and the GIL in ``gc_panels``, subinterpreters and the type
cache in ``interp_panels``.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.state import State
from ftreplay.runtime.bugs import BUGS

from .. import fmt
from .findings_panel import render_findings
from .gc_panels import render_gc
from .heap_panels import render_heaps, render_qsbr
from .interp_panels import render_interpreters
from .lifecycle_panels import render_lifecycle
from .object_panels import render_brc, render_critical_sections, render_objects
from .panel_kit import Context, Focus, Panel
from .panel_kit import table as _table
from .stw_panels import render_stw


def _state_text(state: str, parked: bool) -> Text:
    """'parked' (red, or yellow when the thread stayed attached) or the thread state; a
    suspended thread shows as suspended (it parks until the world restarts)."""
    if parked and state != "suspended":
        key = "parked_attached" if state == "attached" else "parked"
        return Text("parked" + (" (attached)" if state == "attached" else ""), style=fmt.STATE_STYLE[key])
    return Text(state, style=fmt.STATE_STYLE.get(state, ""))


# -- Threads ----------------------------------------------------------------------------------
def render_threads(st: State, run: dict[str, Any]) -> RenderableType:
    if not st.threads:
        return Text("no threads yet", style="dim")
    holds: dict[int, list[str]] = {}
    for addr, (bits, owner) in st.mutexes.items():
        if owner is not None and bits & fmt.LOCKED:
            holds.setdefault(owner, []).append(fmt.mutex_name(addr, st.labels))
    for addr, (level, owner) in st.recursive.items():
        if owner is not None and level:
            holds.setdefault(owner, []).append(f"{fmt.name(addr, st.labels)}×{level}")
    t = _table("thread", "state", "parked on", "holds", "phase", wrap=("parked on", "holds"))
    for tid, (state, phase, parked_on) in sorted(st.threads.items()):
        t.add_row(
            Text(fmt.tid(tid), style="bold"),
            _state_text(state, parked_on is not None) if phase in ("created", "running")
            else Text(state, style="grey50"),
            fmt.mutex_name(parked_on, st.labels) if parked_on is not None else Text("-", style="dim"),
            ", ".join(sorted(holds.get(tid, []))) or Text("-", style="dim"),
            Text(phase, style="" if phase == "running" else "dim"),
        )
    return t


# -- Locks & parking lot ----------------------------------------------------------------------
def render_locks(st: State, run: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    waiting: dict[int, int] = {}
    for q in st.buckets.values():
        for _tid, addr in q:
            waiting[addr] = waiting.get(addr, 0) + 1
    if st.mutexes:
        t = _table("PyMutex", "bits", "owner", "waiters")
        for addr, (bits, owner) in sorted(st.mutexes.items()):
            style = "bold red1" if bits & fmt.HAS_PARKED else ("yellow1" if bits & fmt.LOCKED else "dim")
            name = fmt.mutex_name(addr, st.labels)
            t.add_row(name if name.startswith("0x") else f"{name} @0x{addr:x}", Text(fmt.mutex_bits(bits), style=style),
                      fmt.tid(owner),
                      str(waiting.get(addr, 0)) if waiting.get(addr) else Text("-", style="dim"))
        parts.append(t)
    if st.recursive:
        t = _table("recursive mutex", "level", "owner")
        for addr, (level, owner) in sorted(st.recursive.items()):
            t.add_row(fmt.named(addr, st.labels), str(level), fmt.tid(owner))
        parts.append(t)
    if st.words:
        t = _table("lock word", "kind", "value")
        for addr, (prim, bits) in sorted(st.words.items()):
            t.add_row(fmt.named(addr, st.labels), prim, f"{bits} (0b{bits:b})")
        parts.append(t)
    if st.buckets:
        t = _table("bucket", "waiters, first in line first", wrap="waiters, first in line first")
        for b, q in sorted(st.buckets.items()):
            line = Text()
            for i, (tid, addr) in enumerate(q):
                if i:
                    line.append(" → ", style="dim")
                line.append(fmt.tid(tid), style="bold red1")
                line.append(f" on {fmt.mutex_name(addr, st.labels)}")
            t.add_row(str(b), line)
        parts.append(t)
    else:
        parts.append(Text("parking lot: empty", style="dim"))
    if not (st.mutexes or st.recursive or st.words):
        parts.insert(0, Text("no lock is held or has waiters", style="dim"))
    return Group(*parts)


# -- Guest fields -----------------------------------------------------------------------------
def render_guest(st: State, run: dict[str, Any]) -> RenderableType:
    if not st.guest:
        return Text("no guest fields set", style="dim")
    t = _table("field", "value")
    for addr, v in sorted(st.guest.items(), key=lambda kv: fmt.name(kv[0], st.labels)):
        t.add_row(fmt.named(addr, st.labels), fmt.guest_value(v, st.labels))
    return t


# -- Failure ----------------------------------------------------------------------------------
REASONS = {
    "assertion": "an assertion failed: the guest or a CPython invariant the model checks saw an impossible state",
    "deadlock": "deadlock: every live thread is blocked and no timer is pending",
    "livelock": "livelock: the step budget ran out while threads kept running without finishing",
    "use_after_free": "use after free: an object or thread state was used after it was freed",
    "invariant": "a runtime invariant of the model was violated",
    "crash": "the runtime crashed (a Fatal Python error or an unexpected exception)",
}

_LINK = re.compile(r"T(\d+) waits on (.+?) held by T(\d+)")


def wait_for_cycle(message: str) -> list[tuple[int, str, int]]:
    """(waiter, what it waits on, holder) for each link of a deadlock message."""
    return [(int(a), what, int(b)) for a, what, b in _LINK.findall(message)]


def render_failure(st: State, run: dict[str, Any]) -> RenderableType:
    reason, message, seq = run.get("failure_reason"), run.get("failure_message"), run.get("failure_seq")
    if reason is None:
        status = run.get("status") or "?"
        return Text(f"no failure: the run finished {status}", style=fmt.STATUS_STYLE.get(status, "dim"))
    out = Text()
    out.append(reason.upper(), style="bold reverse red1")
    out.append(f"  at seq {seq:,}" if seq is not None else "")
    here = st.seq
    if seq is not None:
        if here == seq:
            out.append("  ◀ you are here", style="bold")
        elif here < seq:
            out.append(f"  ({seq - here:,} events ahead)", style="dim")
    out.append("\n")
    out.append(REASONS.get(reason, reason) + ".", style="italic")
    out.append("\n")
    links = wait_for_cycle(message or "") if reason == "deadlock" else []
    if links:
        out.append("wait-for cycle: ", style="bold")
        out.append(" → ".join([f"T{a}" for a, _, _ in links] + [f"T{links[0][0]}"]), style="bold red1")
        for a, what, b in links:
            out.append(f"\n  T{a}", style="bold")
            out.append(f" waits on {what} held by ")
            out.append(f"T{b}", style="bold")
    else:
        out.append(message or "", style="red1")
    for bug in run.get("bugs") or []:
        b = BUGS.get(bug)
        out.append(f"\nbug flag {bug}", style="bold yellow1")
        if b is not None:
            out.append(f" · {b.seed}: {b.description}", style="yellow1")
    return out


PANELS: list[Panel] = [
    Panel("failure", "Failure", render_failure),
    Panel("findings", "Findings", render_findings),
    Panel("threads", "Threads", render_threads),
    Panel("stw", "Stop-the-world", render_stw),
    Panel("lifecycle", "Handles, processes & finalization", render_lifecycle),
    Panel("gc", "GC", render_gc, context=True),
    Panel("locks", "Locks & parking lot", render_locks),
    Panel("guest", "Guest fields", render_guest),
    Panel("critical-sections", "Critical sections", render_critical_sections),
    Panel("objects", "Objects", render_objects, focus=True),
    Panel("brc", "BRC queues & eval breaker", render_brc),
    Panel("qsbr", "QSBR", render_qsbr),
    Panel("heaps", "Heaps", render_heaps),
    Panel("interpreters", "Interpreters & type cache", render_interpreters),
]

__all__ = ["PANELS", "Panel", "Focus", "Context", "render_gc", "render_failure", "render_threads", "render_locks", "render_guest",
           "render_objects", "render_brc", "render_critical_sections", "render_qsbr", "render_heaps", "render_stw",
           "render_interpreters", "render_lifecycle",
           "wait_for_cycle"]
