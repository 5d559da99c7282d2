"""Uniform random: at every decision, any runnable thread with equal probability."""

from __future__ import annotations

import random as _random


class RandomStrategy:
    name = "random"

    def __init__(self, seed: int, knobs: dict) -> None:
        self._rand = _random.Random(seed).random
        self.uniform = self._rand  # the engine inlines pick() for uniform strategies

    def bind(self, engine) -> None:
        pass

    def on_spawn(self, thread) -> None:
        pass

    def pick(self, runnable, current):
        return runnable[int(self._rand() * len(runnable))]
