"""The GC panel: the cycle collector's phase, the collection in progress, the objects whose
GC bits it set, and who holds the GIL.

A collection (Python/gc_free_threading.c) runs merge_queued, delayed_frees, update_refs,
mark and scan in a first stop-the-world pause; finalize with the world running; resurrection
in a second pause; delete with the world running.  update_refs keeps gc_refs in ``ob_tid``
and sets UNREACHABLE (0x4) on every tracked object; mark clears it on what is reachable;
scan gives the rest a merged refcount + 1; finalize sets FINALIZED (0x2) once; resurrection
and delete clear UNREACHABLE again.  The GIL (Python/ceval_gil.c) shows only in a run that
takes it: its holder, a pending drop request, the threads waiting for it.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.state import O_BLOCK, O_GC_BITS, O_LOCAL, O_SHARED, O_TID, O_TYPE, State

from .. import fmt
from .panel_kit import Context, more, note, table

FLAGGED_ROWS = 6  # objects listed under the counts; the rest are counted
UNREACHABLE, FINALIZED = fmt.GC_UNREACHABLE, fmt.GC_FINALIZED

PHASES = fmt.GC_PHASES
GC_REFS_PHASES = ("update_refs", "mark")  # ob_tid holds gc_refs (scan replaces them)
REASONS = {"manual": "manual (gc.collect)", "threshold": "threshold"}


def _phase_line(phase: str, seq: int, c: Optional[Any]) -> Text:
    out = Text()
    out.append("phase ", style="bold")
    if phase:
        what, stopped = PHASES.get(phase, ("", False))
        n = list(PHASES).index(phase) + 1 if phase in PHASES else 0
        out.append(phase, style="bold " + fmt.kind_style("gc.phase"))
        out.append(f" ({n}/{len(PHASES)})" if n else "")
        out.append(" · ")
        out.append("world stopped" if stopped else "world running",
                   style=("bold " + fmt.STATE_STYLE["suspended"]) if stopped else "green3")
        if what:
            out.append(f"\n{what}", style="italic")
    elif c is not None and (c.first_phase_seq is None or seq < c.first_phase_seq):
        out.append("none yet", style="bold")
        out.append(": the collector is stopping the world", style="italic")
    else:
        out.append("done", style="bold")
        out.append(": the garbage is deleted, gc.end follows", style="italic")
    return out


def _collection(c: Any) -> Text:
    out = Text()
    out.append(f"collection {c.number} of {c.total}", style="bold")
    out.append(" · ")
    out.append(REASONS.get(c.reason, c.reason))
    out.append(" · requested by ")
    out.append(fmt.tid(c.requester), style="bold")
    span = f"seq {c.start_seq:,} → " + (f"{c.end_seq:,}" if c.end_seq is not None else "the run's end")
    collects = f" · collects {c.collected:,}" if c.collected is not None else ""
    out.append(f"\n{span} · visits {c.objects_visited:,} · unreachable {c.unreachable:,}{collects}", style="dim")
    return out


def _flagged(st: State) -> tuple[list[int], int, int]:
    """Objects with UNREACHABLE or FINALIZED, lowest ids first (at most FLAGGED_ROWS), and
    how many have each bit."""
    unreachable = finalized = 0
    flagged = []
    for o, rec in st.objects.items():
        bits = rec[O_GC_BITS]
        if bits & (UNREACHABLE | FINALIZED):
            flagged.append(o)
            unreachable += bool(bits & UNREACHABLE)
            finalized += bool(bits & FINALIZED)
    flagged.sort()
    return flagged, unreachable, finalized


def _objects(st: State, flagged: list[int], unreachable: int, finalized: int) -> list[RenderableType]:
    head = Text()
    for i, (n, bit) in enumerate(((unreachable, "UNREACHABLE"), (finalized, "FINALIZED"))):
        if i:
            head.append(" · ")
        head.append(f"{n:,}", style="bold" if n else "dim")
        head.append(f" {bit}", style="bold yellow1" if n else "dim")
    gc_refs = st.gc_phase in GC_REFS_PHASES
    t = table("obj", "object", "gc bits", "ob_tid (gc_refs)" if gc_refs else "ob_tid", "refcnt",
              wrap="object", right=("obj", "refcnt"))
    for o in flagged[:FLAGGED_ROWS]:
        rec = st.objects[o]
        name = st.labels.get(rec[O_BLOCK], "")
        what = Text(name + " ", style="bold") if name else Text()
        what.append(rec[O_TYPE], style="dim" if name else "")
        bits = rec[O_GC_BITS]
        rc = fmt.refcnt(rec[O_LOCAL], rec[O_SHARED])
        t.add_row(str(o), what, Text(fmt.gc_bits(bits), style="yellow1" if bits & UNREACHABLE else ""),
                  str(rec[O_TID]), "immortal" if rc is None else str(rc))
    parts: list[RenderableType] = [head, t]
    if len(flagged) > FLAGGED_ROWS:
        parts.append(more(len(flagged) - FLAGGED_ROWS, "(the lowest obj ids are shown)"))
    return parts


def _gil(st: State) -> Text:
    holder = st.gil_holder
    gil_addrs = {a for a, label in st.labels.items() if label == "gil"}
    waiting = sorted(t for q in st.buckets.values() for t, addr in q if addr in gil_addrs)
    switching = sorted(t for q in st.buckets.values() for t, addr in q if addr - 8 in gil_addrs)
    out = Text()
    out.append("GIL ", style="bold")
    if holder is None:
        out.append("free", style="dim")
    else:
        out.append("held by ")
        out.append(fmt.tid(holder), style="bold " + fmt.STATE_STYLE["attached"])
        if st.eval_breaker.get(holder, 0) & fmt.GIL_DROP_REQUEST:
            out.append(" · drop requested", style="bold yellow1")
    if waiting:
        out.append(" · waiting to take it: ")
        out.append(", ".join(fmt.tid(t) for t in waiting), style="bold red1")
    if switching:
        out.append(" · waiting for another thread to take it: ")
        out.append(", ".join(fmt.tid(t) for t in switching), style="yellow1")
    return out


def render_gc(st: State, run: dict[str, Any], ctx: Context = Context()) -> RenderableType:
    parts: list[RenderableType] = []
    if st.gil_holder is not None or ctx.gil:
        parts.append(_gil(st))
    for c in ctx.collections:
        parts.append(_collection(c))
    if ctx.collections or st.gc_phase:
        parts.append(_phase_line(st.gc_phase, st.seq, ctx.collections[0] if ctx.collections else None))
    flagged, unreachable, finalized = _flagged(st)
    if flagged:
        parts.extend(_objects(st, flagged, unreachable, finalized))
    if not (ctx.collections or st.gc_phase):
        idle = "no collection running" + ("" if flagged else "; no object is UNREACHABLE or FINALIZED")
        parts.append(note(idle))
    return parts[0] if len(parts) == 1 else Group(*parts)


__all__ = ["render_gc", "PHASES"]
