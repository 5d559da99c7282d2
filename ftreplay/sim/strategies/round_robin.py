"""Round robin: each thread runs ``rr_quantum`` scheduling points, then the next runnable
thread in thread-id order takes over.  Ignores the seed."""

from __future__ import annotations


class RoundRobinStrategy:
    name = "round_robin"

    def __init__(self, seed: int, knobs: dict) -> None:
        self.quantum = int(knobs.get("rr_quantum", 1))
        self.left = self.quantum

    def bind(self, engine) -> None:
        pass

    def on_spawn(self, thread) -> None:
        pass

    def pick(self, runnable, current):
        if current in runnable and self.left > 1:
            self.left -= 1
            return current
        self.left = self.quantum
        cur_tid = current.tid if current is not None else 0
        after = [t for t in runnable if t.tid > cur_tid]
        pool = after or runnable
        return min(pool, key=_tid)


def _tid(t) -> int:
    return t.tid
