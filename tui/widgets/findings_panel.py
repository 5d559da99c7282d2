"""The Findings panel: what ``ftreplay check`` found in this run (lock-order inversions,
data races, lost waits, broken invariants), each with the seqs it involves.

The findings are read once when the run opens (``Session`` puts them in ``run["findings"]``:
None when ``check`` never ran on this store).  Relative to the cursor a finding is marked
``▶`` while the cursor is within its seqs, ``·`` before its first seq and ``✓`` after its
last; ``g`` then a seq number travels to one of them.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ftreplay.replay.state import State

from .panel_kit import note

SEVERITY_STYLE = {"error": "bold red1", "warning": "bold yellow1"}
CAP = 12


def render_findings(st: State, run: dict[str, Any]) -> RenderableType:
    findings = run.get("findings")
    if findings is None:
        return note(f"no checks yet: ftreplay check {run.get('run_id', 'RUN')}")
    if not findings:
        return note("ftreplay check found nothing in this run")
    lines: list[RenderableType] = []
    for f in findings[:CAP]:
        seqs = f.seqs
        if seqs and seqs[0] <= st.seq <= seqs[-1]:
            mark, style = "▶ ", "bold"
        elif seqs and st.seq > seqs[-1]:
            mark, style = "✓ ", "dim"
        else:
            mark, style = "· ", ""
        t = Text(mark, style=style)
        t.append(f.detector, style=SEVERITY_STYLE.get(f.severity, "bold"))
        t.append(" " + f.message, style=style)
        if seqs:
            t.append("  seqs " + ", ".join(map(str, seqs[:8])) + (" …" if len(seqs) > 8 else ""), style="cyan")
        lines.append(t)
    if len(findings) > CAP:
        lines.append(note(f"+{len(findings) - CAP} more: ftreplay check {run.get('run_id', 'RUN')}"))
    return Group(*lines)
