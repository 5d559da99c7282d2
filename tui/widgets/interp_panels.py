"""The Interpreters panel: subinterpreters (PEP 684) and the type cache.

Per interpreter (runtime/interpreters.py): where it came from, whether it has its own GIL and
who holds the GIL it uses (its own, or the main interpreter's), whether it has its own obmalloc
state, which thread state runs its ``__main__``, its thread states and its QSBR sequences.
Then the type cache entries written so far (runtime/typeobject.py): index, version tag, the
attribute name, the value object and the entry's sequence -- odd while a writer holds it.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.cursor import interpreters_to_json
from ftreplay.replay.state import MCACHE_SIZE_EXP, TC_NAME, TC_SEQ, TC_VALUE, TC_VERSION, State

from .. import fmt
from .panel_kit import dash, more, note, object_ref, table

MAX_ENTRIES = 40


def _tid(t) -> RenderableType:
    return Text(fmt.tid(t), style="bold") if t is not None else dash()


def render_interpreters(st: State, run: dict[str, Any]) -> RenderableType:
    if not st.interps and not st.type_cache:
        return note("one interpreter; no type cache entries written")
    parts: list[RenderableType] = []
    if st.interps:
        t = table("interp", "whence", "GIL", "holder", "obmalloc", "__main__", "thread states", wrap="thread states")
        for i in interpreters_to_json(st):
            t.add_row(
                Text(str(i["id"]), style="bold"),
                i["whence"],
                Text("own") if i["own_gil"] else Text("main's", style="yellow1"),
                _tid(i["gil_holder"]),
                Text("own") if i["own_obmalloc"] else Text("main's", style="yellow1"),
                _tid(i["main_thread"]),
                Text(", ".join(fmt.tid(x) for x in i["threads"])) if i["threads"] else dash(),
            )
        parts.append(t)
    if st.type_cache:
        parts.append(Text("type cache", style="bold"))
        t = table("interp", "index", "version", "name", "value", "sequence")
        mask = (1 << MCACHE_SIZE_EXP) - 1
        items = sorted(st.type_cache.items())
        for key, rec in items[:MAX_ENTRIES]:
            seq = st.words.get(rec[TC_SEQ], ["seqlock", 0])[1]
            t.add_row(
                str(key >> MCACHE_SIZE_EXP),
                str(key & mask),
                str(rec[TC_VERSION]) if rec[TC_VERSION] else Text("0", style="dim"),
                rec[TC_NAME] or dash(),
                object_ref(rec[TC_VALUE], st.objects, st.labels) if rec[TC_VALUE] else dash(),
                Text(f"{seq} writing", style="bold yellow1") if seq & 1 else Text(str(seq)),
            )
        parts.append(t)
        if len(items) > MAX_ENTRIES:
            parts.append(more(len(items) - MAX_ENTRIES, "entries"))
    return Group(*parts)


__all__ = ["render_interpreters"]
