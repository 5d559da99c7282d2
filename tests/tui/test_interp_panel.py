"""The Interpreters panel and the interpreter tags of the thread lanes: rendered from a
hand-built state, and on the recorded twin_isolated_subinterp_init run at a seq found with SQL
(a subinterpreter running its __main__ while holding its own GIL)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from ftreplay.replay.state import State
from tui.widgets.interp_panels import render_interpreters
from tui.widgets.lanes import ThreadLanes

SEQ_ADDR = 0x7F0000104000


def plain(renderable, width=110) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def cells(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def test_one_interpreter_and_no_cache_is_one_dim_line():
    assert plain(render_interpreters(State(), {})).strip() == "one interpreter; no type cache entries written"


def test_interpreters_and_cache_entries():
    st = State()
    st.threads = {1: ["attached", "running", None], 2: ["detached", "deleted", None],
                  4: ["attached", "running", None], 5: ["detached", "running", None]}
    st.gil_holder = 1
    st.interp_of = {2: 1, 4: 1, 5: 2}
    st.interps = {1: ["stdlib", 1280, True, True, 4, 4, 1, 1], 2: ["stdlib", 0x18D20, False, False, None, None, 1, 1]}
    st.type_cache = {804: [131072, "x", 7, SEQ_ADDR], (1 << 12) | 3: [0, "", 0, SEQ_ADDR + 8]}
    st.words = {SEQ_ADDR: ["seqlock", 17]}
    rows = cells(plain(render_interpreters(st, {})))
    assert rows[1] == ["0", "runtime", "own", "T1", "own", "T1", "T1"]
    assert rows[2] == ["1", "stdlib", "own", "T4", "own", "T4", "T4"]  # T2 was deleted
    assert rows[3] == ["2", "stdlib", "main's", "T1", "main's", "-", "T5"]  # the main GIL, held by T1
    assert rows[4] == ["type cache"]
    assert rows[6] == ["0", "804", "131072", "x", "#7", "17 writing"]  # an odd sequence: a writer holds it
    assert rows[7] == ["1", "3", "0", "-", "-", "0"]


async def go(ui, seq: int) -> None:
    await ui.press("g")
    await ui.answer(str(seq))
    assert ui.status().startswith(f"seq {seq}/")


def test_on_the_recorded_run(drive, sql):
    (seq, interp, thread), = sql("""
        SELECT r.seq, r.interp, r.thread FROM interpreters_running_main r WHERE r.run_id = 'interp'
        AND r.thread <> 0 AND EXISTS (SELECT 1 FROM ceval_gil_take t WHERE t.run_id = 'interp'
            AND t.thread = r.thread AND t.seq < r.seq) ORDER BY r.seq LIMIT 1""")

    async def check(ui):
        await go(ui, seq)
        panel = ui.screen.query_one("#panel-interpreters")
        rows = cells(plain(panel.content))
        mine = next(r for r in rows if r[0] == str(interp))
        assert mine[1:] == ["stdlib", "own", f"T{thread}", "own", f"T{thread}", f"T{thread}"]
        lanes = ui.screen.query_one(ThreadLanes)
        assert lanes.interp_of[thread] == interp
        assert f"T{thread} i{interp} attached" in ui.text()

    drive("interp", check)


def test_event_list_and_detail_text():
    from ftreplay.record.events import InterpretersSwap, TypeobjectCacheRead, TypeobjectCacheStore
    from tui import fmt

    swap = InterpretersSwap(seq=5, ts=0, tid=1, thread=4, interp=1, thread_old=1, interp_old=0)
    assert fmt.summary(swap, {}) == "T1 (interp 0) → T4 (interp 1)"
    assert "swapped in thread state T4 of interp 1" in fmt.explain(swap, {})
    read = TypeobjectCacheRead(seq=6, ts=0, tid=2, interp=0, index=804, type="A", name="x", value=0, path="retry")
    assert fmt.summary(read, {}) == "A.x  [804]  retry"
    assert "drops the reference and retries" in fmt.explain(read, {})
    store = TypeobjectCacheStore(seq=7, ts=0, tid=3, interp=0, index=804, addr=1, version=131073, name="y", value=2,
                                 version_old=131073, name_old="x", value_old=2)
    assert fmt.summary(store, {}, {2: "'B.y'"}).startswith("[804]  (131073, x, ")
