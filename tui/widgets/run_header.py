"""The top line: which run this is and how it ended."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from .. import fmt


def header_text(run: dict[str, Any]) -> Text:
    t = Text()
    t.append(" ftreplay ", style="bold reverse")
    t.append("  ")
    t.append(run["run_id"], style="bold")
    t.append(f"   {run['scenario']}  seed {run['seed']}  {run['strategy']}", style="")
    bugs = run.get("bugs") or []
    if bugs:
        t.append("  bug " + ",".join(bugs), style="yellow1")
    status = run.get("status") or "?"
    t.append("   ")
    t.append(status, style=fmt.STATUS_STYLE.get(status, ""))
    if run.get("failure_reason"):
        t.append(f" ({run['failure_reason']} at seq {run['failure_seq']:,})", style="red1")
    t.append(f"   {run.get('events') or 0:,} events   {fmt.ns(run.get('virtual_ns') or 0)} virtual", style="dim")
    return t


class RunHeader(Static):
    DEFAULT_CSS = """
    RunHeader { height: 1; background: $panel; }
    """

    def __init__(self, run: dict[str, Any], **kwargs) -> None:
        super().__init__(header_text(run), **kwargs)
