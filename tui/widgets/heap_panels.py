"""Inspector panels for memory reclamation: QSBR and the mimalloc heaps.

QSBR (Python/qsbr.c): ``wr_seq`` advances when memory is freed for later; a thread reports
the wr_seq it has seen when quiescent (0 = offline); ``rd_seq`` is the minimum over online
threads, so memory tagged with goal G may be reused once ``G <= rd_seq``.  Pages of the
mimalloc heaps (one set per thread and heap tag) wait for such a goal before they are
reused or freed; blocks freed with ``_PyMem_FreeDelayed`` wait in a per-thread queue (the
interpreter's queue holds those of exited threads).
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Any, Optional

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.state import (
    P_BIN,
    P_BLOCK_SIZE,
    P_CAPACITY,
    P_GOAL,
    P_HEAP,
    P_SEGMENT,
    P_USED,
    P_XTHREAD,
    Q_RD,
    Q_WR,
    State,
)

from .. import fmt
from .panel_kit import dash, more, note, owner_text, table

GOAL_ROWS = 40  # pending goals listed in the QSBR panel
PAGE_ROWS = 100  # pages listed in the Heaps panel
SEGMENT_ROWS = 40
HEAPS = ("mem", "object", "gc", "gc_pre")  # the heap tags, in _Py_mimalloc_heap_id order


def goal_text(goal: int, rd_seq: int) -> Text:
    """A QSBR goal: green once reached (``goal <= rd_seq``), yellow while it waits."""
    if not goal:
        return dash()
    return Text(str(goal), style="green3" if goal <= rd_seq else "yellow1")


def _status(goal: int, rd_seq: int) -> Text:
    return Text("reclaimable", style="green3") if goal <= rd_seq else Text("waiting", style="yellow1")


def queue_name(q: int) -> str:
    return "interpreter" if q == 0 else fmt.tid(q)


# -- QSBR ---------------------------------------------------------------------------------------
def render_qsbr(st: State, run: dict[str, Any]) -> RenderableType:
    wr, rd = st.qsbr[Q_WR], st.qsbr[Q_RD]
    pages = [(rec[P_GOAL], 0, page, f"page {fmt.hexaddr(page)}", f"{rec[P_HEAP]} heap")
             for page, rec in st.pages.items() if rec[P_GOAL]]
    blocks = [(goal, 1, block, f"block {fmt.hexaddr(block)}", f"{queue_name(q)} queue")
              for q, items in st.delayed.items() for block, goal in items if goal]
    if not st.qsbr_threads and not pages and not blocks:
        return note(f"no thread registered with QSBR, nothing waits (wr_seq {wr}, rd_seq {rd})")
    head = Text()
    head.append("wr_seq ", style="dim")
    head.append(str(wr), style="bold")
    head.append("   rd_seq ", style="dim")
    head.append(str(rd), style="bold")
    head.append("   (a goal is reached once goal ≤ rd_seq)", style="dim")
    parts: list[RenderableType] = [head]
    if st.qsbr_threads:
        t = table("thread", "slot", "seq", "state", right=("slot", "seq"), expand=False)
        for tid, (slot, seq) in sorted(st.qsbr_threads.items(), key=lambda kv: kv[0]):
            if seq == 0:
                state = Text("offline", style="grey50")
            elif seq >= wr:
                state = Text("online", style="green3")
            else:
                state = Text("online, behind wr_seq" + (" (holds rd_seq back)" if seq <= rd else ""),
                             style="yellow1")
            t.add_row(Text(fmt.tid(tid), style="bold"), str(slot), str(seq), state)
        parts.append(t)
    else:
        parts.append(note("no thread registered"))
    goals = pages + blocks
    if goals:
        ready = sum(1 for g in goals if g[0] <= rd)
        parts.append(Text(f"pending goals: {len(goals):,} ({ready:,} reclaimable)", style="bold"))
        t = table("waiting", "where", "goal", "status", right=("goal",), expand=False)
        for goal, _, _, what, where in heapq.nsmallest(GOAL_ROWS, goals):
            t.add_row(what, where, goal_text(goal, rd), _status(goal, rd))
        parts.append(t)
        if len(goals) > GOAL_ROWS:
            parts.append(more(len(goals) - GOAL_ROWS, "(lowest goals shown)"))
    else:
        parts.append(note("no page or delayed free waits for a goal"))
    return Group(*parts)


# -- Heaps --------------------------------------------------------------------------------------
def _owner_key(owner: Optional[int]) -> tuple[int, int]:
    """Threads in tid order, then abandoned segments, then pages of unknown segments."""
    if owner is None:
        return (2, 0)
    return (1, 0) if owner == 0 else (0, owner)


def render_heaps(st: State, run: dict[str, Any]) -> RenderableType:
    if not (st.segments or st.pages or st.delayed):
        return note("no allocator segments, pages or delayed frees yet")
    rd = st.qsbr[Q_RD]
    parts: list[RenderableType] = []
    if st.segments:
        per_segment = Counter(rec[P_SEGMENT] for rec in st.pages.values())
        abandoned = sum(1 for o in st.segments.values() if o == 0)
        t = table("segment", "owner", "pages", right=("pages",), expand=False)
        for seg, owner in sorted(st.segments.items(), key=lambda kv: (_owner_key(kv[1]), kv[0]))[:SEGMENT_ROWS]:
            t.add_row(fmt.hexaddr(seg), owner_text(owner), str(per_segment.get(seg, 0)),
                      style="on grey19" if owner == 0 else None)
        parts.append(t)
        if len(st.segments) > SEGMENT_ROWS:
            parts.append(more(len(st.segments) - SEGMENT_ROWS, "segments"))
        if abandoned:
            parts.append(Text(f"{abandoned} abandoned segment{'s' if abandoned != 1 else ''}: "
                              f"{'its' if abandoned == 1 else 'their'} pages wait for another thread to reclaim them",
                              style="yellow1"))
    if st.pages:
        def key(item: tuple[int, list]) -> tuple:
            page, rec = item
            owner = st.segments.get(rec[P_SEGMENT])
            heap = HEAPS.index(rec[P_HEAP]) if rec[P_HEAP] in HEAPS else len(HEAPS)
            return (_owner_key(owner), heap, rec[P_BIN], page)

        rows = heapq.nsmallest(PAGE_ROWS, st.pages.items(), key=key)
        t = table("owner", "heap", "page", "bin", "block", "used/cap", "xthread", "goal",
                  right=("bin", "block", "used/cap", "xthread", "goal"), expand=False)
        last_group: Optional[tuple] = None
        for page, rec in rows:
            owner = st.segments.get(rec[P_SEGMENT])
            group = (owner, rec[P_HEAP])
            new_owner = last_group is None or owner != last_group[0]
            new_heap = group != last_group
            last_group = group
            used, cap = rec[P_USED], rec[P_CAPACITY]
            t.add_row(
                (owner_text(owner) if owner is not None else Text("?", style="dim")) if new_owner else "",
                Text(rec[P_HEAP], style="bold") if new_heap else "",
                fmt.hexaddr(page),
                str(rec[P_BIN]),
                str(rec[P_BLOCK_SIZE]),
                Text(f"{used}/{cap}", style="bold" if used >= cap else ("dim" if used == 0 else "")),
                str(rec[P_XTHREAD]) if rec[P_XTHREAD] else dash(),
                goal_text(rec[P_GOAL], rd),
            )
        parts.append(t)
        if len(st.pages) > PAGE_ROWS:
            parts.append(more(len(st.pages) - PAGE_ROWS, "pages"))
    else:
        parts.append(note("no pages"))
    if st.delayed:
        t = table("delayed-free queue", "length", "head goal", "status", right=("length", "head goal"), expand=False)
        for q, items in sorted(st.delayed.items(), key=lambda kv: (kv[0] == 0, kv[0])):
            goal = items[0][1]
            t.add_row(Text(queue_name(q), style="bold"), f"{len(items):,}", goal_text(goal, rd),
                      _status(goal, rd))
        parts.append(t)
    else:
        parts.append(note("no delayed frees"))
    return Group(*parts)


__all__ = ["render_qsbr", "render_heaps", "goal_text"]
