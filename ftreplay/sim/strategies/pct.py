"""PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010).

Every thread gets a distinct random priority above ``depth``; the highest-priority
runnable thread always runs.  ``depth - 1`` change points are drawn uniformly from
``[1, pct_steps]``: at the i-th one, the running thread's priority drops to ``i``, below
every initial priority.  A bug of depth d is found with probability at least
1 / (n * k^(d-1)) per run (n threads, k steps).
"""

from __future__ import annotations

import random as _random

INF = float("inf")


class PCTStrategy:
    name = "pct"

    def __init__(self, seed: int, knobs: dict) -> None:
        self.depth = int(knobs.get("pct_depth", 3))
        steps = int(knobs.get("pct_steps", 2000))
        self._r = _random.Random(seed)
        self.changes = sorted(self._r.randint(1, steps) for _ in range(max(0, self.depth - 1)))
        self._ci = 0
        self.next_change = self.changes[0] if self.changes else INF
        self._engine = None
        self._cache_version = -1
        self._best = None

    def bind(self, engine) -> None:
        self._engine = engine

    def on_spawn(self, thread) -> None:
        thread.prio = self.depth + self._r.random()
        self._cache_version = -1

    def pick(self, runnable, current):
        eng = self._engine
        if eng.steps >= self.next_change:
            while self._ci < len(self.changes) and eng.steps >= self.changes[self._ci]:
                self._ci += 1
                if current is not None:
                    current.prio = float(self._ci)
            self.next_change = self.changes[self._ci] if self._ci < len(self.changes) else INF
            self._cache_version = -1
        if self._cache_version != eng.rl_version:
            self._best = max(runnable, key=_prio)
            self._cache_version = eng.rl_version
        return self._best


def _prio(t) -> float:
    return t.prio
