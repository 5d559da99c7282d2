"""Schedules as compact text.

A schedule is the list of thread ids chosen at every scheduling point where more than one
thread could run (forced points are not stored).  Two text forms:

- run-length encoded, for short schedules a person may read or edit: ``1*40 2 3*7`` means
  thread 1 forty times, then 2 once, then 3 seven times;
- packed, for long ones: ``z64:`` + base64(zlib(one byte per decision)).  A random
  schedule of millions of decisions packs to well under a byte per decision.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from ..errors import UsageError

RLE_MAX_DECISIONS = 10_000
PACKED = "z64:"


def encode(decisions) -> str:
    n = len(decisions)
    if n > RLE_MAX_DECISIONS and (isinstance(decisions, (bytes, bytearray)) or max(decisions) < 256):
        return PACKED + base64.b64encode(zlib.compress(bytes(decisions), 1)).decode("ascii")
    out: list[str] = []
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
    text = text.strip()
    if text.startswith(PACKED):
        try:
            return list(zlib.decompress(base64.b64decode(text[len(PACKED):], validate=True)))
        except (binascii.Error, zlib.error, ValueError):
            raise UsageError("bad packed schedule: not base64 of zlib data") from None
    out: list[int] = []
    for tok in text.split():
        tid, star, count = tok.partition("*")
        if not _digits(tid) or (star and not _digits(count)):
            raise UsageError(f"bad schedule token {tok!r}: expected TID or TID*COUNT")
        t = int(tid)
        c = int(count) if star else 1
        if c < 1:
            raise UsageError(f"bad schedule token {tok!r}: a count must be >= 1")
        out.extend([t] * c)
    return out


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()
