"""Replay a stored schedule decision by decision.  Past its end, the running thread keeps
running (so a shortened schedule still completes)."""

from __future__ import annotations

from ...errors import ScheduleDiverged


class ReplayStrategy:
    name = "replay"

    def __init__(self, decisions: list[int]) -> None:
        self.decisions = decisions
        self.i = 0
        self.exhausted = False

    def bind(self, engine) -> None:
        pass

    def on_spawn(self, thread) -> None:
        pass

    def pick(self, runnable, current):
        i = self.i
        if i >= len(self.decisions):
            self.exhausted = True
            return current if current in runnable else runnable[0]
        tid = self.decisions[i]
        self.i = i + 1
        t = thread_with(runnable, tid)
        if t is None:
            raise diverged("schedule", i, tid, runnable)
        return t


def thread_with(runnable, tid: int):
    """The runnable thread with id ``tid``, or None."""
    for t in runnable:
        if t.tid == tid:
            return t
    return None


def diverged(what: str, i: int, tid: int, runnable) -> ScheduleDiverged:
    ready = ", ".join(f"T{t.tid}" for t in runnable)
    return ScheduleDiverged(f"{what} diverged at decision {i}: T{tid} cannot run (runnable: {ready})")
