"""Scheduling strategies: one per file.  Each has ``bind(engine)``, ``on_spawn(thread)``
and ``pick(runnable, current) -> thread``, called only when more than one thread can run."""

from __future__ import annotations

from typing import Any

from ...errors import UsageError
from .pct import PCTStrategy
from .random import RandomStrategy
from .replay import ReplayStrategy
from .round_robin import RoundRobinStrategy

STRATEGIES = {
    "random": RandomStrategy,
    "pct": PCTStrategy,
    "round_robin": RoundRobinStrategy,
}


def make_strategy(name: str, seed: int, knobs: dict[str, Any], schedule: list[int] | None = None):
    if schedule is not None:
        return ReplayStrategy(schedule)
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise UsageError(f"unknown strategy {name!r} (choose from: {', '.join(STRATEGIES)})") from None
    return cls(seed, knobs)
