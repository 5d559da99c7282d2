"""Inspector panels for objects: live object headers, BRC queues and eval breakers,
critical-section stacks.

The object header follows Include/object.h (free-threaded build): ``ob_tid`` owns the
object, ``ob_ref_local`` is the owner's count (UINT32_MAX = immortal), ``ob_ref_shared`` is
``count << 2 | flags`` and Py_REFCNT is their sum.  A non-owner whose decref finds the shared
count at zero sets QUEUED and hands the object to its owner's BRC queue; the owner merges it
at its next eval-breaker check (EVAL_EXPLICIT_MERGE).
"""

from __future__ import annotations

import heapq
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.state import (
    B_BUCKET,
    B_LOCAL,
    B_QUEUE,
    CS_ADDR,
    CS_MUTEX,
    CS_MUTEX2,
    CS_TAG,
    O_BLOCK,
    O_GC,
    O_LOCAL,
    O_SHARED,
    O_TID,
    O_TYPE,
    State,
)

from .. import fmt
from .panel_kit import Fit, Focus, dash, more, note, object_list, table

OBJECT_ROWS = 200  # rows of the Objects panel; the rest is counted, not drawn

FLAG_STYLE = {"INIT": "dim", "MAYBE_WEAKREF": "cyan", "QUEUED": "bold yellow1", "MERGED": "grey62"}
EXPLICIT_MERGE = 0x40  # _PY_EVAL_EXPLICIT_MERGE_BIT


# -- Objects ----------------------------------------------------------------------------------
COMPACT_BELOW = 72  # narrower than this, the notes go under the object's name and flags shorten
SHORT_FLAGS = {"MAYBE_WEAKREF": "WEAKREF"}


def render_objects(st: State, run: dict[str, Any], focus: Focus = Focus()) -> RenderableType:
    objs = st.objects
    lost = Text()
    if focus.follow is not None and focus.follow not in objs:
        lost = Text(f"#{focus.follow} (followed) is not live at this seq", style="italic magenta")
    if not objs:
        return Group(lost, note("no live objects")) if lost else note("no live objects")
    shown = heapq.nsmallest(OBJECT_ROWS, objs) if len(objs) > OBJECT_ROWS else sorted(objs)
    pinned = {o for o in focus if o is not None and o in objs} - set(shown)
    if pinned:  # the followed object and the current event's always show, even past the cap
        shown = sorted(set(shown) | pinned)
    parts: list[RenderableType] = [lost] if lost else []
    parts.append(Fit(lambda width: _objects_table(st, shown, focus, compact=width < COMPACT_BELOW)))
    if focus.follow in objs or focus.current in objs:
        parts.append(Text("◆ the followed object   ▶ the current event's object", style="dim"))
    hidden = len(objs) - len(shown)
    if hidden > 0:
        parts.append(more(hidden, f"of {len(objs):,} live objects (the lowest obj ids are shown)"))
    return Group(*parts)


def _objects_table(st: State, shown: list[int], focus: Focus, compact: bool) -> RenderableType:
    queued_to = {o: t for t, rec in st.brc.items() for o in rec[B_QUEUE]}
    merging_by = {o: t for t, rec in st.brc.items() for o in rec[B_LOCAL]}
    columns = ["obj", "object", "owner", "local", "shared", "flags", "refcnt"]
    columns = columns if compact else [""] + columns + ["notes"]
    t = table(*columns, wrap=("object", "notes"), right=("obj", "local", "shared", "refcnt"),
              min_width={"": 1, "object": 8 if compact else 12, "notes": 9}, tight=compact)
    objs = st.objects
    for o in shown:
        rec = objs[o]
        name = st.labels.get(rec[O_BLOCK], "")
        what = Text(name + " ", style="bold") if name else Text()
        what.append(rec[O_TYPE], style="dim" if name else "")
        local, raw = rec[O_LOCAL], rec[O_SHARED]
        immortal = local == fmt.IMMORTAL_LOCAL
        flags = fmt.shared_flags(raw)
        rc = fmt.refcnt(local, raw)
        notes = Text()
        if immortal:
            notes.append("immortal ", style="magenta")
        if o in queued_to:
            notes.append(f"queued→{fmt.tid(queued_to[o])} ", style="yellow1")
        if o in merging_by:
            notes.append(f"merging in {fmt.tid(merging_by[o])} ", style="yellow1")
        if rec[O_GC]:
            notes.append("gc", style="dim")
        notes.rstrip()
        if o == focus.follow:
            mark = Text("◆", style="bold magenta")
        elif o == focus.current:
            mark = Text("▶", style="bold")
        else:
            mark = Text(" ")
        ident = Text(str(o), style="bold" if o in (focus.follow, focus.current) else "")
        if compact:
            ident = mark + ident if mark.plain.strip() else ident
            if notes:
                what.append("\n")
                what.append_text(notes)
        row = [
            ident,
            what,
            fmt.tid(rec[O_TID]) if rec[O_TID] else dash(),
            Text("∞", style="magenta") if immortal else str(local),
            str(fmt.shared_count(raw)),
            Text(SHORT_FLAGS.get(flags, flags) if compact else flags, style=FLAG_STYLE[flags]),
            Text("∞", style="magenta") if rc is None else Text(str(rc), style="bold red1" if rc <= 0 else ""),
        ]
        if not compact:
            row = [mark] + row + [notes]
        t.add_row(*row, style="on grey19" if o == focus.follow else None)
    return t


# -- BRC queues & eval breaker -----------------------------------------------------------------
def render_brc(st: State, run: dict[str, Any]) -> RenderableType:
    tids = sorted(set(st.brc) | set(st.eval_breaker))
    if not tids:
        return note("no thread in the BRC table, no eval-breaker bit set")
    t = table("thread", "bucket", "queued to merge", "local stack", "eval breaker",
              wrap=("queued to merge", "local stack", "eval breaker"), min_width={"eval breaker": 19})
    for tid in tids:
        rec = st.brc.get(tid)
        bits = st.eval_breaker.get(tid, 0)
        queue = rec[B_QUEUE] if rec is not None else []
        if bits:
            style = "bold yellow1" if bits & EXPLICIT_MERGE else ""
            breaker = Text(fmt.eval_breaker_bits(bits).replace("|", " | "), style=style)
        else:
            breaker = dash()
        head = Text(f"({len(queue)}) ", style="dim") if queue else Text()
        t.add_row(
            Text(fmt.tid(tid), style="bold"),
            str(rec[B_BUCKET]) if rec is not None else Text("none", style="dim"),
            head + object_list(queue, st.objects, st.labels) if queue else dash(),
            object_list(rec[B_LOCAL], st.objects, st.labels) if rec is not None else dash(),
            breaker,
        )
    return t


# -- Critical sections ---------------------------------------------------------------------------
def render_critical_sections(st: State, run: dict[str, Any]) -> RenderableType:
    if not st.critical_sections:
        return note("no thread is in a critical section")
    t = table("thread", "#", "mutexes", "n", "state", "section", wrap="mutexes")
    for tid, stack in sorted(st.critical_sections.items()):
        for i, entry in enumerate(stack):
            tag = entry[CS_TAG]
            inactive = bool(tag & fmt.CS_INACTIVE)
            two = bool(tag & fmt.CS_TWO_MUTEXES)
            m1, m2 = entry[CS_MUTEX], entry[CS_MUTEX2]
            if m1 is None:
                mutexes = Text("released" if inactive else "locking…", style="dim italic")
            else:
                mutexes = Text(fmt.mutex_name(m1, st.labels))
                if m2 is not None:
                    mutexes.append(" + ")
                    mutexes.append(fmt.mutex_name(m2, st.labels))
            level = Text(f"{i + 1}", style="bold" if i == len(stack) - 1 else "")
            if i == len(stack) - 1:
                level.append(" top", style="dim")
            t.add_row(
                Text(fmt.tid(tid), style="bold") if i == 0 else "",
                level,
                mutexes,
                "2" if two else "1",
                Text("INACTIVE", style="grey50") if inactive else Text("ACTIVE", style="bold green3"),
                Text(fmt.hexaddr(entry[CS_ADDR]), style="dim"),
            )
    return t


__all__ = ["render_objects", "render_brc", "render_critical_sections", "OBJECT_ROWS"]
