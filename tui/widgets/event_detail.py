"""The current event, spelled out: header, what it means, every field."""

from __future__ import annotations

from typing import Any, Optional

from textual.widgets import Static

from .. import fmt


class EventDetail(Static):
    DEFAULT_CSS = """
    EventDetail { height: auto; min-height: 3; padding: 0 1; }
    """

    def show(self, event: Any, labels: dict[int, str], objs: Optional[dict[int, str]] = None) -> None:
        self.update(fmt.detail(event, labels, objs))
