"""What the inspector's panels share: the registry entry, a borderless table, dim notes.

A panel is a function of the projected State (and the run's row) to a Rich renderable; it
must stay cheap however big the state is, so long lists are capped with a "+N more" line.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ftreplay.replay.state import O_BLOCK

from .. import fmt


class Focus(NamedTuple):
    """Objects a panel should point out: the one being followed, the current event's."""

    follow: Optional[int] = None
    current: Optional[int] = None


class Context(NamedTuple):
    """What a panel needs beyond the state, found by the move's worker in the store: the GC
    collections in progress at the cursor (``session.Collection``s) and whether the run
    takes a GIL at all."""

    collections: tuple[Any, ...] = ()
    gil: bool = False


class Panel(NamedTuple):
    id: str
    title: str
    render: Callable[..., RenderableType]
    # True: render takes ``focus=Focus(...)`` as well as (state, run).
    focus: bool = False
    # True: render takes ``ctx=Context(...)`` as well as (state, run).
    context: bool = False


def table(*columns: str, wrap: str | tuple[str, ...] = "", right: tuple[str, ...] = (),
          min_width: Optional[dict[str, int]] = None, expand: bool = True, tight: bool = False) -> Table:
    """A borderless table; every column keeps at least its header's width (or ``min_width``),
    ``wrap`` (one column or several) may wrap, ``right`` are right-aligned (numbers).
    ``expand=False`` keeps the columns as narrow as their contents; ``tight`` puts one space
    between columns instead of two (for narrow panels)."""
    wraps = (wrap,) if isinstance(wrap, str) else wrap
    widths = min_width or {}
    t = Table(box=None, padding=(0, 1), show_edge=False, expand=expand, header_style="bold bright_black",
              collapse_padding=tight, pad_edge=not tight)
    for c in columns:
        justify = "right" if c in right else "left"
        if c and c in wraps:
            t.add_column(c, ratio=1, overflow="fold", justify=justify, min_width=widths.get(c))
        else:
            t.add_column(c, no_wrap=True, overflow="ellipsis", min_width=widths.get(c, len(c)), justify=justify)
    return t


class Fit:
    """A renderable built for the width it is given: ``build(width)`` (so a narrow inspector
    can get a compact layout instead of Rich dropping columns)."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console, options):
        yield self.build(options.max_width)


def note(text: str) -> Text:
    """A dim one-liner (an empty panel, a remark)."""
    return Text(text, style="dim")


def dash() -> Text:
    return Text("-", style="dim")


def more(n: int, what: str = "") -> Text:
    return Text(f"+{n:,} more{' ' + what if what else ''}", style="dim italic")


def object_name(obj: int, objects: dict[int, list], labels: dict[int, str]) -> str:
    """The label of a live object's block ('' when it has none)."""
    rec = objects.get(obj)
    return labels.get(rec[O_BLOCK], "") if rec is not None else ""


def object_ref(obj: int, objects: dict[int, list], labels: dict[int, str]) -> str:
    """``#5 owned-0`` (or ``#5``)."""
    name = object_name(obj, objects, labels)
    return f"#{obj} {name}" if name else f"#{obj}"


def object_list(objs: list[int], objects: dict[int, list], labels: dict[int, str], cap: int = 12) -> Text:
    """Objects in order, at most ``cap`` of them, then how many more."""
    if not objs:
        return dash()
    out = Text()
    for i, o in enumerate(objs[:cap]):
        if i:
            out.append(", ", style="dim")
        out.append(object_ref(o, objects, labels))
    if len(objs) > cap:
        out.append(f", +{len(objs) - cap:,} more", style="dim italic")
    return out


def owner_text(tid: Optional[int]) -> Text:
    """A thread id, '-' for none, 'abandoned' for 0 (an allocator segment nobody owns)."""
    if tid is None:
        return dash()
    if tid == 0:
        return Text("abandoned", style="bold yellow1")
    return Text(fmt.tid(tid), style="bold")


__all__ = ["Focus", "Context", "Panel", "Fit", "table", "note", "dash", "more", "object_name", "object_ref", "object_list",
           "owner_text"]
