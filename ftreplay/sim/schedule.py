"""Schedules as compact text.

A schedule is the list of thread ids chosen at every scheduling point where more than one
thread could run (forced points are not stored).  The text form is run-length encoded:
``1*40 2 3*7`` means thread 1 forty times, then 2 once, then 3 seven times.
"""

from __future__ import annotations

from ..errors import UsageError


def encode(decisions: list[int]) -> str:
    out: list[str] = []
    n = len(decisions)
    i = 0
    while i < n:
        tid = decisions[i]
        j = i + 1
        while j < n and decisions[j] == tid:
            j += 1
        run = j - i
        out.append(str(tid) if run == 1 else f"{tid}*{run}")
        i = j
    return " ".join(out)


def decode(text: str) -> list[int]:
    out: list[int] = []
    for tok in text.split():
        tid, star, count = tok.partition("*")
        try:
            t = int(tid)
            c = int(count) if star else 1
        except ValueError:
            raise UsageError(f"bad schedule token {tok!r}: expected TID or TID*COUNT") from None
        if t < 0 or c < 1:
            raise UsageError(f"bad schedule token {tok!r}")
        out.extend([t] * c)
    return out
