"""tui.widgets.heap_panels: QSBR and the heaps, rendered from hand-built states."""

from __future__ import annotations

import io

from rich.console import Console

from ftreplay.replay.state import State
from tui.widgets.heap_panels import GOAL_ROWS, PAGE_ROWS, render_heaps, render_qsbr


def plain(renderable, width=120) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def lines_with(text: str, needle: str) -> list[str]:
    return [ln for ln in text.splitlines() if needle in ln]


def rows_of(text: str, first: str) -> list[str]:
    """Lines whose first word is ``first``."""
    return [ln for ln in text.splitlines() if ln.split()[:1] == [first]]


SEG_A, SEG_B = 0x7F00_0040_0000, 0x7F00_0080_0000


def heap_state() -> State:
    st = State()
    st.qsbr = [7, 5]  # wr_seq, rd_seq
    st.qsbr_threads = {1: [0, 7], 2: [1, 5], 3: [2, 0]}
    st.segments = {SEG_A: 3, SEG_B: 0}
    # [heap, bin, block_size, capacity, segment, used, xthread pending, goal]
    st.pages = {
        SEG_A + 0x1000: ["object", 3, 48, 100, SEG_A, 10, 0, 5],
        SEG_A + 0x2000: ["gc", 4, 64, 60, SEG_A, 60, 2, 9],
        SEG_A + 0x3000: ["mem", 1, 16, 200, SEG_A, 0, 0, 0],
        SEG_B + 0x1000: ["object", 3, 48, 100, SEG_B, 7, 1, 0],
    }
    st.delayed = {3: [[0xAA0, 3], [0xAB0, 7]], 0: [[0xCC0, 9]]}
    return st


def test_qsbr_sequences_threads_and_pending_goals():
    text = plain(render_qsbr(heap_state(), {}))
    assert "wr_seq 7   rd_seq 5" in text
    (t1,), (t2,), (t3,) = rows_of(text, "T1"), rows_of(text, "T2"), rows_of(text, "T3")
    assert t1.split()[1:4] == ["0", "7", "online"]
    assert "online, behind wr_seq (holds rd_seq back)" in t2
    assert t3.split()[1:4] == ["2", "0", "offline"]
    assert "pending goals: 5 (2 reclaimable)" in text
    goals = [ln.split() for ln in text.splitlines() if ln.strip().startswith(("page ", "block "))]
    assert [g[-2] for g in goals] == ["3", "5", "7", "9", "9"]  # lowest goal first
    assert goals[0][:4] == ["block", "0xaa0", "T3", "queue"] and goals[0][-1] == "reclaimable"
    assert goals[1][:4] == ["page", f"0x{SEG_A + 0x1000:x}", "object", "heap"] and goals[1][-1] == "reclaimable"
    assert all(g[-1] == "waiting" for g in goals[2:])
    assert any(g[:4] == ["block", "0xcc0", "interpreter", "queue"] for g in goals)


def test_qsbr_empty_and_capped():
    assert plain(render_qsbr(State(), {})).strip() == \
        "no thread registered with QSBR, nothing waits (wr_seq 1, rd_seq 1)"
    st = State()
    st.delayed = {2: [[0x1000 + 16 * i, 3 + 2 * i] for i in range(GOAL_ROWS + 25)]}
    text = plain(render_qsbr(st, {}))
    assert "no thread registered" in text
    assert len([ln for ln in text.splitlines() if ln.strip().startswith("block ")]) == GOAL_ROWS
    assert "+25 more" in text


def test_heaps_segments_pages_by_owner_and_heap_and_delayed_queues():
    text = plain(render_heaps(heap_state(), {}))
    (seg_a,), (seg_b,) = lines_with(text, f"0x{SEG_A:x}  "), lines_with(text, f"0x{SEG_B:x}  ")
    assert seg_a.split()[1:] == ["T3", "3"] and seg_b.split()[1:] == ["abandoned", "1"]
    assert "1 abandoned segment" in text
    page_addrs = {f"0x{p:x}" for p in heap_state().pages}
    pages = [ln.split() for ln in text.splitlines() if page_addrs & set(ln.split())]
    # owner T3's pages by heap tag (mem, object, gc), then the abandoned segment's
    assert [p[-6] for p in pages] == [f"0x{SEG_A + 0x3000:x}", f"0x{SEG_A + 0x1000:x}", f"0x{SEG_A + 0x2000:x}",
                                      f"0x{SEG_B + 0x1000:x}"]
    assert pages[0][:2] == ["T3", "mem"] and pages[1][0] == "object" and pages[2][0] == "gc"
    assert pages[3][:2] == ["abandoned", "object"]
    assert pages[1][-5:] == ["3", "48", "10/100", "-", "5"]
    assert pages[2][-5:] == ["4", "64", "60/60", "2", "9"]
    queues = {ln.split()[0]: ln.split()[1:] for ln in text.splitlines() if ln.split()[:1] in (["T3"], ["interpreter"])
              and ("reclaimable" in ln or "waiting" in ln)}
    assert queues == {"T3": ["2", "3", "reclaimable"], "interpreter": ["1", "9", "waiting"]}


def test_heaps_empty_and_capped():
    assert plain(render_heaps(State(), {})).strip() == "no allocator segments, pages or delayed frees yet"
    st = State()
    st.segments = {SEG_A: 2}
    st.pages = {SEG_A + 0x100 * i: ["object", 2, 32, 10, SEG_A, 1, 0, 0] for i in range(PAGE_ROWS + 7)}
    text = plain(render_heaps(st, {}))
    assert len([ln for ln in text.splitlines() if "1/10" in ln]) == PAGE_ROWS
    assert "+7 more pages" in text and "no delayed frees" in text
