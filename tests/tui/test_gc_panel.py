"""The GC panel: rendered from hand-built states, and on the recorded gc_cycles run at seqs
found with SQL inside its collection (update_refs, finalize, before the first phase), after
it, and on the gil_switch run where the GIL holder is asked to drop it."""

from __future__ import annotations

import io

from rich.console import Console

from ftreplay.replay.state import State
from tui.session import Collection
from tui.widgets.gc_panels import render_gc
from tui.widgets.inspector import Inspector
from tui.widgets.panel_kit import Context

IDLE = "no collection running; no object is UNREACHABLE or FINALIZED"
GIL = 0x7F0000100090


def plain(renderable, width=100) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.splitlines()]


def collection(**kw) -> Collection:
    c = dict(start_seq=776, reason="manual", requester=1, end_seq=1168, collected=48, objects_visited=50,
             unreachable=48, number=1, total=1, first_phase_seq=783)
    c.update(kw)
    return Collection(**c)


def gc_state(phase: str, seq: int = 800) -> State:
    st = State()
    st.seq = seq
    st.gc_phase = phase
    # [type, size, gc, block, ob_tid, ob_ref_local, ob_ref_shared, ob_gc_bits]
    st.objects = {
        3: ["Node", 48, True, 0x1000, 0, 1, 0, 0x5],  # TRACKED|UNREACHABLE, gc_refs 0
        4: ["Node", 48, True, 0x1040, 1, 1, 0, 0x1],  # TRACKED only: not listed
        5: ["Node", 48, True, 0x1080, 0, 0, (2 << 2) | 3, 0x7],  # |FINALIZED
        9: ["Keeper", 48, True, 0x10C0, 2, 1, 0, 0x3],  # FINALIZED, resurrected earlier
    }
    st.labels = {0x1080: "head"}
    return st


def test_nothing_to_show_is_one_dim_line():
    assert plain(render_gc(State(), {})).strip() == IDLE


def test_a_collection_in_update_refs():
    text = plain(render_gc(gc_state("update_refs"), {}, ctx=Context((collection(),))))
    out = lines(text)
    assert out[0] == "collection 1 of 1 · manual (gc.collect) · requested by T1"
    assert out[1] == "seq 776 → 1,168 · visits 50 · unreachable 48 · collects 48"
    assert out[2] == "phase update_refs (3/8) · world stopped"
    assert out[3].startswith("gc_refs = refcount minus references from tracked objects, kept in ob_tid")
    assert "2 UNREACHABLE · 2 FINALIZED" in out
    head = [ln for ln in out if ln.lstrip().startswith("obj")][0]
    assert head.split() == ["obj", "object", "gc", "bits", "ob_tid", "(gc_refs)", "refcnt"]
    rows = {ln.split()[0]: ln.split()[1:] for ln in out if ln.strip()[:1].isdigit() and " UNREACHABLE" not in ln}
    assert rows == {"3": ["Node", "TRACKED|UNREACHABLE", "0", "1"],
                    "5": ["head", "Node", "TRACKED|FINALIZED|UNREACHABLE", "0", "2"],
                    "9": ["Keeper", "TRACKED|FINALIZED", "2", "1"]}


def test_before_the_first_phase_and_after_the_last():
    c = collection(reason="threshold", requester=3, number=2, total=3, first_phase_seq=783)
    starting = lines(plain(render_gc(State(), {}, ctx=Context((c,)))))
    assert starting[0] == "collection 2 of 3 · threshold · requested by T3"
    assert starting[2] == "phase none yet: the collector is stopping the world"
    st = State()
    st.seq = 1167
    done = lines(plain(render_gc(st, {}, ctx=Context((c,)))))
    assert done[2] == "phase done: the garbage is deleted, gc.end follows"
    assert IDLE not in "\n".join(done)
    # a collection the run ended in
    cut = collection(end_seq=None, collected=None, objects_visited=2, unreachable=2, first_phase_seq=None)
    ended = lines(plain(render_gc(st, {}, ctx=Context((cut,)))))
    assert ended[1:3] == ["seq 776 → the run's end · visits 2 · unreachable 2",
                          "phase none yet: the collector is stopping the world"]


def test_the_gil_holder_and_who_waits():
    st = State()
    st.gil_holder = 2
    st.eval_breaker = {2: 0x01}  # GIL_DROP_REQUEST
    st.labels = {GIL: "gil"}
    st.buckets = {33: [[3, GIL], [4, GIL]], 34: [[1, GIL + 8]]}
    out = lines(plain(render_gc(st, {}, ctx=Context(gil=True)), width=160))
    assert out[0] == ("GIL held by T2 · drop requested · waiting to take it: T3, T4 · "
                      "waiting for another thread to take it: T1")
    assert out[1] == "no collection running; no object is UNREACHABLE or FINALIZED"
    st.gil_holder = None
    st.buckets = {}
    assert lines(plain(render_gc(st, {}, ctx=Context(gil=True))))[0] == "GIL free"
    # a free-threaded run (no GIL taken) does not mention it
    assert plain(render_gc(st, {}, ctx=Context(gil=False))).strip() == IDLE


# -- on the recorded runs ------------------------------------------------------------------------------
def panel_lines(text: str, title: str) -> list[str]:
    """The inside of the bordered panel titled ``title`` on the screen, line by line."""
    rows = text.splitlines()
    for i, line in enumerate(rows):
        at = line.find(f"╭─ {title} ")
        if at >= 0:
            end = line.index("╮", at)
            out = []
            for below in rows[i + 1:]:
                part = below[at:end + 1]
                if part.startswith("╰"):
                    return out
                out.append(part[1:-1].strip())
            raise AssertionError(f"the {title!r} panel runs off the screen:\n{text}")
    raise AssertionError(f"no panel {title!r} on the screen:\n{text}")


async def go(ui, seq: int) -> list[str]:
    """Move to ``seq`` and return the GC panel's lines (scrolled into view)."""
    await ui.press("g")
    await ui.answer(str(seq))
    assert ui.status().startswith(f"seq {seq}/")
    insp = ui.screen.query_one(Inspector)
    insp.scroll_to_widget(insp.panel("gc"), animate=False, immediate=True, top=True)
    await ui.settle()
    return panel_lines(ui.text(), "GC")


def test_inside_the_collection_the_panel_follows_its_phases(drive, sql):
    (start, end, reason, requester, visited, unreachable, collected), = sql(
        "SELECT start_seq, end_seq, reason, requester, objects_visited, unreachable, collected "
        "FROM gc_collections WHERE run_id = 'gc'")
    phases = dict(sql("SELECT phase, seq FROM gc_phase WHERE run_id = 'gc' AND seq BETWEEN ? AND ? ORDER BY seq",
                      [start, end]))
    # halfway through update_refs: the objects visited so far are UNREACHABLE
    (upd_seq, visited_so_far, lowest), = sql("""
        WITH h AS (SELECT seq, obj FROM gc_header WHERE run_id = 'gc' AND seq > $a AND seq < $b ORDER BY seq
                   LIMIT (SELECT count(*) // 2 FROM gc_header WHERE run_id = 'gc' AND seq > $a AND seq < $b))
        SELECT max(seq), count(*), min(obj) FROM h""", {"a": phases["update_refs"], "b": phases["mark"]})
    assert 0 < visited_so_far < visited
    # in finalize, after the first FINALIZED header
    (fin_seq, fin_obj), = sql("SELECT seq, obj FROM gc_header WHERE run_id = 'gc' AND seq > ? "
                              "AND ob_gc_bits & 2 <> 0 AND ob_gc_bits_old & 2 = 0 ORDER BY seq LIMIT 1",
                              [phases["finalize"]])
    head = f"collection 1 of 1 · manual (gc.collect) · requested by T{requester}"
    assert reason == "manual"

    async def check(ui):
        panel = await go(ui, start)
        assert panel[0] == head
        assert panel[1] == (f"seq {start:,} → {end:,} · visits {visited} · unreachable {unreachable} · "
                            f"collects {collected}")
        assert panel[2] == "phase none yet: the collector is stopping the world"
        panel = await go(ui, upd_seq)
        assert panel[0] == head and panel[2] == "phase update_refs (3/8) · world stopped"
        assert f"{visited_so_far} UNREACHABLE · 0 FINALIZED" in panel
        first = [ln for ln in panel if ln[:1].isdigit() and "UNREACHABLE ·" not in ln][0].split()
        assert first[0] == str(lowest) and "TRACKED|UNREACHABLE" in first
        panel = await go(ui, fin_seq)
        assert panel[2] == "phase finalize (6/8) · world running"
        assert f"{unreachable} UNREACHABLE · 1 FINALIZED" in panel
        assert any(ln.split()[:1] == [str(fin_obj)] and "TRACKED|FINALIZED|UNREACHABLE" in ln for ln in panel)
        assert "gc.header" in ui.text() and f"#{fin_obj}  bits +FINALIZED" in ui.text()
        assert await go(ui, end) == [IDLE]

    drive("gc", check)


def test_the_gil_holder_shows_and_who_asked_it_to_drop(drive, sql):
    (seq, holder), = sql("""
        SELECT b.seq, r.thread FROM ceval_gil_drop_request r
        JOIN ceval_gil_eval_breaker b ON b.run_id = r.run_id AND b.seq = r.seq + 1
        WHERE r.run_id = 'gil' ORDER BY r.seq LIMIT 1""")
    (taken,), = sql("SELECT max(seq) FROM ceval_gil_take WHERE run_id = 'gil' AND seq < ? AND thread = ?",
                    [seq, holder])
    assert taken < seq

    async def check(ui):
        panel = await go(ui, seq)
        assert panel[0].startswith(f"GIL held by T{holder} · drop requested")
        assert panel[-1] == IDLE
        assert f"asks T{holder} to drop the GIL" in ui.text()
        panel = await go(ui, taken - 1)
        assert not panel[0].startswith(f"GIL held by T{holder}")
        panel = await go(ui, taken)
        assert panel[0].startswith(f"GIL held by T{holder}") and "drop requested" not in panel[0]

    drive("gil", check)


def test_a_free_threaded_run_without_collections_is_one_line(drive):
    async def check(ui):
        assert await go(ui, 5) == [IDLE]

    drive("counter", check)
