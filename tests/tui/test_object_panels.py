"""tui.widgets.object_panels: Objects, BRC queues & eval breaker, critical sections,
rendered from hand-built states (and one recorded run) to plain text."""

from __future__ import annotations

import io
import re

from rich.console import Console

from ftreplay.record.store import Store
from ftreplay.replay.cursor import Cursor
from ftreplay.replay.state import State
from tui.widgets.object_panels import OBJECT_ROWS, render_brc, render_critical_sections, render_objects
from tui.widgets.panel_kit import Focus

IMMORTAL = 0xFFFFFFFF
INIT, MAYBE_WEAKREF, QUEUED, MERGED = range(4)


def plain(renderable, width=120) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def rows_by_obj(text: str) -> dict[int, str]:
    """Table rows of the Objects panel by their obj column."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*[▶◆]?\s*(\d+)\s", line)
        if m:
            out[int(m.group(1))] = line
    return out


def obj_state() -> State:
    st = State()
    st.labels = {0x1000: "owned-0", 0x2000: "interned"}
    # [type, size, gc, block, ob_tid, ob_ref_local, ob_ref_shared (raw), ob_gc_bits]
    st.objects = {
        9: ["list", 48, True, 0x3000, 0, 0, (2 << 2) | MERGED, 0],
        5: ["dict", 32, False, 0x1000, 3, 3, (0 << 2) | QUEUED, 0],
        1: ["str", 32, False, 0x2000, 0, IMMORTAL, 0, 64],
        7: ["tuple", 32, False, 0x4000, 2, 2, (-1 << 2) | QUEUED, 0],
        8: ["list", 32, False, 0x5000, 4, 1, (3 << 2) | MAYBE_WEAKREF, 0],
    }
    st.brc = {3: [3, [5], []], 2: [2, [], [7]]}
    return st


def test_objects_show_owner_counts_flags_refcount_and_markers():
    text = plain(render_objects(obj_state(), {}, focus=Focus(follow=9, current=5)))
    header = text.splitlines()[0].split()
    assert header == ["obj", "object", "owner", "local", "shared", "flags", "refcnt", "notes"]
    rows = rows_by_obj(text)
    assert list(rows) == [1, 5, 7, 8, 9]  # sorted by obj
    cells = {o: row.replace("▶", "").replace("◆", "").split() for o, row in rows.items()}
    assert cells[1][1:8] == ["interned", "str", "-", "∞", "0", "INIT", "∞"] and "immortal" in rows[1]
    assert cells[5][1:8] == ["owned-0", "dict", "T3", "3", "0", "QUEUED", "3"]
    assert "queued→T3" in rows[5] and rows[5].lstrip().startswith("▶")  # the current event's object
    assert cells[7][1:7] == ["tuple", "T2", "2", "-1", "QUEUED", "1"]  # local + (shared >> 2)
    assert "merging in T2" in rows[7]  # on T2's local stack
    assert cells[8][1:7] == ["list", "T4", "1", "3", "MAYBE_WEAKREF", "4"]
    assert cells[9][1:7] == ["list", "-", "0", "2", "MERGED", "2"]  # ob_tid 0: '-'
    assert rows[9].lstrip().startswith("◆") and "gc" in rows[9]  # the followed object
    assert "◆ the followed object   ▶ the current event's object" in text


def test_objects_in_a_narrow_inspector_keep_every_count():
    text = plain(render_objects(obj_state(), {}, focus=Focus(follow=9)), width=51)
    assert text.splitlines()[0].split() == ["obj", "object", "owner", "local", "shared", "flags", "refcnt"]
    rows = rows_by_obj(text)
    assert rows[5].split()[1:] == ["owned-0", "dict", "T3", "3", "0", "QUEUED", "3"]
    assert rows[8].split()[-3:] == ["3", "WEAKREF", "4"]
    assert "◆9" in rows[9]
    assert "queued→T3" in text and "merging in T2" in text  # under the object's name


def test_objects_empty_and_followed_object_not_live():
    assert plain(render_objects(State(), {})).strip() == "no live objects"
    text = plain(render_objects(obj_state(), {}, focus=Focus(follow=42)))
    assert "#42 (followed) is not live at this seq" in text
    assert 42 not in rows_by_obj(text)


def test_objects_are_capped_and_the_followed_one_is_always_shown():
    st = State()
    n = 100_000
    st.objects = {o: ["dict", 32, False, 0x10_0000 + 32 * o, 1, 1, 0, 0] for o in range(n, 0, -1)}
    text = plain(render_objects(st, {}, focus=Focus(follow=n - 3)))
    rows = rows_by_obj(text)
    assert len(rows) == OBJECT_ROWS + 1
    assert list(rows)[:OBJECT_ROWS] == list(range(1, OBJECT_ROWS + 1))  # the lowest ids
    assert n - 3 in rows and rows[n - 3].lstrip().startswith("◆")
    assert f"+{n - OBJECT_ROWS - 1:,} more of {n:,} live objects" in text


def test_brc_queues_local_stacks_and_eval_breaker_bits_by_name():
    st = obj_state()
    st.brc = {3: [3, [5, 7], []], 2: [2, [], [8]], 1: [1, [], []]}
    st.eval_breaker = {3: 0x40, 5: 0x41}
    text = plain(render_brc(st, {}), width=160)
    lines = {ln.split()[0]: ln for ln in text.splitlines()[1:] if ln.strip()}
    assert list(lines) == ["T1", "T2", "T3", "T5"]
    assert "(2) #5 owned-0, #7" in lines["T3"] and "EVAL_EXPLICIT_MERGE" in lines["T3"]
    assert lines["T3"].split()[1] == "3"  # the bucket
    assert "#8" in lines["T2"]  # the local stack
    assert lines["T5"].split()[1] == "none" and "GIL_DROP_REQUEST | EVAL_EXPLICIT_MERGE" in lines["T5"]
    narrow = plain(render_brc(st, {}), width=80)  # the inspector's width: names wrap whole
    assert narrow.count("EVAL_EXPLICIT_MERGE") == 2 and "GIL_DROP_REQUEST" in narrow
    assert plain(render_brc(State(), {})).strip() == "no thread in the BRC table, no eval-breaker bit set"


def test_critical_sections_bottom_to_top_with_mutex_names():
    st = State()
    st.labels = {0x1000: "a", 0x1020: "b", 0x5000: "io_lock"}
    # [cs, tag (1 INACTIVE, 2 TWO_MUTEXES), mutex, mutex2]
    st.critical_sections = {
        4: [[0xC0, 0, None, None]],
        2: [[0xA0, 2, 0x100A, 0x102A], [0xB0, 1, 0x5000, None], [0xB8, 0, 0x9990, None]],
    }
    text = plain(render_critical_sections(st, {}))
    lines = [ln for ln in text.splitlines()[1:] if ln.strip()]
    assert len(lines) == 4
    assert lines[0].split()[:2] == ["T2", "1"]
    assert "a.ob_mutex + b.ob_mutex" in lines[0] and " 2 " in lines[0] and "ACTIVE" in lines[0]
    assert "io_lock" in lines[1] and "INACTIVE" in lines[1] and "top" not in lines[1]
    assert "0x9990" in lines[2] and "3 top" in lines[2] and "ACTIVE" in lines[2]
    assert lines[3].split()[:3] == ["T4", "1", "top"] and "locking…" in lines[3]
    assert plain(render_critical_sections(State(), {})).strip() == "no thread is in a critical section"


def test_panels_on_a_recorded_run(store_path, sql):
    (seq, obj, owner), = sql("SELECT seq, obj, owner FROM brc_queue WHERE run_id = 'refcount' ORDER BY seq LIMIT 1")
    with Store.open(store_path) as store:
        cur = Cursor(store, "refcount")
        st = cur.seek(seq)
        objects = plain(render_objects(st, cur.run))
        brc = plain(render_brc(st, cur.run))
    assert f"queued→T{owner}" in rows_by_obj(objects)[obj]
    row = [ln for ln in brc.splitlines() if ln.split()[:1] == [f"T{owner}"]][0]
    assert f"#{obj}" in row
    (cs_seq,), = sql("SELECT min(seq) FROM critical_section_begin WHERE run_id = 'cs' AND depth = 2")
    with Store.open(store_path) as store:
        cur = Cursor(store, "cs")
        text = plain(render_critical_sections(cur.seek(cs_seq), cur.run))
    assert "2 top" in text and "ob_mutex" in text
