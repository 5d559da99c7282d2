"""An object's biography: the seqs of the events about one object, and where the cursor is
among them.  Plain Python (no Textual, no DuckDB): the Session fills it, the replay screen
steps through it.

The seqs are kept in an ``array('q')`` (8 bytes an event), so even an object touched by
millions of events costs little, and stepping to its next or previous event is a bisect,
with no query.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Optional, Union

_ID = re.compile(r"#?\s*(\d+)")
_HEX = re.compile(r"0x[0-9a-fA-F]+")


def parse_object_ref(text: str) -> Union[int, str]:
    """What the user typed to name an object: an obj id (``5`` or ``#5``) as an int, a block
    address (``0x7f...``) or a name as a string.  Raises ValueError when empty."""
    t = text.strip()
    if not t:
        raise ValueError("no object given")
    m = _ID.fullmatch(t.replace(",", ""))
    return int(m.group(1)) if m else t


def is_block(ref: Union[int, str]) -> bool:
    return isinstance(ref, str) and _HEX.fullmatch(ref) is not None


@dataclass
class Biography:
    obj: int
    type: str = ""
    name: str = ""
    born: Optional[int] = None  # seq of its object.new (None: not created in this run)
    seqs: array = field(default_factory=lambda: array("q"))

    @property
    def title(self) -> str:
        """``obj #5 owned-0`` (or ``obj #5 dict``, or ``obj #5``)."""
        what = self.name or self.type
        return f"obj #{self.obj}" + (f" {what}" if what else "")

    def __len__(self) -> int:
        return len(self.seqs)

    def position(self, seq: int) -> tuple[int, bool]:
        """(how many of its events are at or before ``seq``, whether ``seq`` is one of them)."""
        k = bisect_right(self.seqs, seq)
        return k, k > 0 and self.seqs[k - 1] == seq

    def step(self, seq: int, forward: bool) -> Optional[int]:
        """The seq of its next (previous) event after (before) ``seq``; None if there is none."""
        if forward:
            i = bisect_right(self.seqs, seq)
            return self.seqs[i] if i < len(self.seqs) else None
        i = bisect_left(self.seqs, seq) - 1
        return self.seqs[i] if i >= 0 else None

    def where(self, seq: int) -> str:
        """Where ``seq`` is in the biography: ``3/12`` on its 3rd event, ``after 3/12`` between."""
        n = len(self.seqs)
        k, on = self.position(seq)
        if on:
            return f"{k}/{n}"
        if k == 0:
            return f"before 1/{n}" if n else "no events"
        return f"after {k}/{n}"


__all__ = ["Biography", "parse_object_ref", "is_block"]
