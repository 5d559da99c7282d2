"""The command palette's replay commands: every binding of the replay screen, by name."""

from __future__ import annotations

from functools import partial
from typing import Iterator

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class ReplayCommands(Provider):
    """Lists the replay screen's actions (title, help, key) for Ctrl+P."""

    def _commands(self) -> Iterator[tuple[str, str, str]]:
        screen = self.screen
        seen: set[str] = set()
        for b in getattr(screen, "BINDINGS", []):
            if not isinstance(b, Binding) or b.action in seen:
                continue
            seen.add(b.action)
            title = b.tooltip or b.description
            key = self.app.get_key_display(b)
            yield title, f"{b.description} · key {key}", b.action

    async def discover(self) -> Hits:
        for title, help, action in self._commands():
            yield DiscoveryHit(title, partial(self.screen.run_action, action), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, action in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.screen.run_action, action), help=help)
