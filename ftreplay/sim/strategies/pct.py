"""PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010).

Every thread gets a distinct random priority above ``depth``; the highest-priority
runnable thread always runs.  ``depth - 1`` change points k_1..k_{d-1} are drawn
independently and uniformly from ``[1, pct_steps]``; when the run reaches k_i, the running
thread's priority drops to ``i``, below every initial priority.  As in the paper, k_i's
priority is its draw index, not its rank in time, so a thread demoted earlier may outrank
one demoted later (the pattern "A is preempted, B runs part of its work, A resumes before B
finishes" needs exactly that).  A bug of depth d is found with probability at least
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
        # (k_i, i) in time order; a tie keeps the lower draw index first, the later one wins.
        self.changes = sorted((self._r.randint(1, steps), i) for i in range(1, max(1, self.depth)))
        self._ci = 0
        self.next_change = self.changes[0][0] if self.changes else INF
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
            changes = self.changes
            while self._ci < len(changes) and eng.steps >= changes[self._ci][0]:
                if current is not None:
                    current.prio = float(changes[self._ci][1])
                self._ci += 1
            self.next_change = changes[self._ci][0] if self._ci < len(changes) else INF
            self._cache_version = -1
        if self._cache_version != eng.rl_version:
            self._best = max(runnable, key=_prio)
            self._cache_version = eng.rl_version
        return self._best


def _prio(t) -> float:
    return t.prio
