"""Systematic exploration with a preemption bound (CHESS's iterative context bounding, as in
Loom and Shuttle's DFS), and the schedule-guided strategy that shrinking uses.

A *preemption* is a decision that switches away from a thread that could have continued
(the running thread is among the runnable ones and another is chosen).  Switching after a
thread blocks or exits is free.  Both strategies default to "keep running the current
thread, else the lowest thread id", so a schedule is determined by where it deviates.

``DFSEnumerator`` walks the tree of decisions depth first: each run follows a prefix of
choices, then the default.  After the run, the deepest decision with an untried choice that
keeps the path within the bound is advanced, and the choices after it are forgotten.  The
bound grows from 0 to ``bound`` preemptions (iterative context bounding: schedules with fewer
preemptions come first).  No schedule is counted twice, and the N-th schedule is a pure
function of the scenario, so "seed N" means "the N-th schedule of the enumeration" (1-based).

``GuidedStrategy`` replays a failing run's switches keyed by each thread's own progress
(``(tid, k)``: the k-th decision at which thread tid was running and could continue), so
that dropping one preemption does not shift the others.  It never preempts anywhere else.
"""

from __future__ import annotations

from typing import Optional

from .replay import diverged, thread_with


def _tid(t) -> int:
    return t.tid


def _options(runnable, current) -> tuple[tuple[int, ...], bool]:
    """The choices at one decision, the default first; and whether the current thread could
    continue (then every other choice is a preemption)."""
    ordered = sorted(runnable, key=_tid)
    if current is not None and current in runnable:
        return (current.tid,) + tuple(t.tid for t in ordered if t is not current), True
    return tuple(t.tid for t in ordered), False


class DFSStrategy:
    """One run of the enumeration: follow ``prefix``, then the default; note each new
    decision's options in ``nodes`` as ``(options, current_could_continue)``."""

    name = "dfs"

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.i = 0
        self.nodes: list[tuple[tuple[int, ...], bool]] = []

    def bind(self, engine) -> None:
        pass

    def on_spawn(self, thread) -> None:
        pass

    def pick(self, runnable, current):
        i = self.i
        self.i = i + 1
        if i < len(self.prefix):
            tid = self.prefix[i]
            t = thread_with(runnable, tid)
            if t is None:
                raise diverged("dfs prefix", i, tid, runnable)
            return t
        opts, cont = _options(runnable, current)
        self.nodes.append((opts, cont))
        if cont:
            return current
        first = opts[0]
        for t in runnable:
            if t.tid == first:
                return t
        raise AssertionError("unreachable")


class DFSEnumerator:
    """The walk, by iterative context bounding (CHESS): pass 0 visits every schedule with no
    preemption, pass 1 those with exactly one, ... up to ``bound``; each pass is a depth-first
    walk with that pass's bound, and a schedule counts only in the pass whose bound equals its
    preemptions (the ones below are re-run to find their way, not counted again).

    ``prefix`` is the next run's prefix (None: exhausted); after running it with
    ``DFSStrategy(prefix)``, ``advance(strategy)`` says whether that run counted (it is
    schedule number ``index`` before the call) and computes the next prefix."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.pass_bound = 0
        # Per decision of the current path: [options, chosen index, could continue, preemptions before it].
        self.path: list[list] = []
        self.prefix: Optional[list[int]] = []
        self.index = 1  # the 1-based number the next counted schedule gets

    def advance(self, strategy: DFSStrategy) -> bool:
        path = self.path
        used = 0
        if path:
            last = path[-1]
            used = last[3] + (1 if last[2] and last[1] > 0 else 0)
        for opts, cont in strategy.nodes:
            path.append([opts, 0, cont, used])
        counted = used == self.pass_bound
        if counted:
            self.index += 1
        limit = self.pass_bound
        while path:
            node = path[-1]
            opts, chosen, cont, before = node
            if chosen + 1 < len(opts) and before + (1 if cont else 0) <= limit:
                node[1] = chosen + 1
                self.prefix = [n[0][n[1]] for n in path]
                return counted
            path.pop()
        if self.pass_bound < self.bound:
            self.pass_bound += 1
            self.prefix = []
        else:
            self.prefix = None
        return counted


class GuidedStrategy:
    """Keep running the current thread except at the kept switches.

    ``preempt[(tid, k)] = target``: at thread tid's k-th decision while it could continue,
    switch to target (if it can run).  ``free[(tid, k)] = target``: at the k-th decision
    after thread tid (or 0 at the start) blocked or exited, run target if it can run, else
    the lowest thread id.  ``trace`` notes every decision as ``(key, could_continue, chosen)``.
    """

    name = "guided"

    def __init__(self, preempt: dict, free: dict) -> None:
        self.preempt = preempt
        self.free = free
        self.counts: dict[tuple[int, bool], int] = {}
        self.trace: list[tuple[tuple[int, int], bool, int]] = []

    def bind(self, engine) -> None:
        pass

    def on_spawn(self, thread) -> None:
        pass

    def pick(self, runnable, current):
        key, cont = _decision_key(self.counts, runnable, current)
        want = (self.preempt if cont else self.free).get(key)
        chosen = thread_with(runnable, want) if want is not None else None
        if chosen is None:
            chosen = current if cont else min(runnable, key=_tid)
        self.trace.append((key, cont, chosen.tid))
        return chosen


class TracingReplay:
    """Replay a stored schedule (like ``ReplayStrategy``) and note each decision the way
    ``GuidedStrategy`` does, so a recorded run's preemptions can be counted and kept."""

    name = "replay"

    def __init__(self, decisions: list[int]) -> None:
        self.decisions = decisions
        self.i = 0
        self.counts: dict[tuple[int, bool], int] = {}
        self.trace: list[tuple[tuple[int, int], bool, int]] = []

    def bind(self, engine) -> None:
        pass

    def on_spawn(self, thread) -> None:
        pass

    def pick(self, runnable, current):
        key, cont = _decision_key(self.counts, runnable, current)
        i = self.i
        if i < len(self.decisions):
            self.i = i + 1
            want = self.decisions[i]
            chosen = thread_with(runnable, want)
            if chosen is None:
                raise diverged("schedule", i, want, runnable)
        else:
            chosen = current if cont else runnable[0]
        self.trace.append((key, cont, chosen.tid))
        return chosen


def _decision_key(counts: dict, runnable, current) -> tuple[tuple[int, int], bool]:
    """``((tid, k), could_continue)``: the k-th decision taken after thread tid (0 at the
    start) ran, counted separately for when it could continue and when it could not."""
    cont = current is not None and current in runnable
    tid = current.tid if current is not None else 0
    ck = (tid, cont)
    k = counts.get(ck, 0)
    counts[ck] = k + 1
    return (tid, k), cont


def preemptions(trace) -> int:
    """Decisions in a trace that switch away from a thread that could continue."""
    return sum(1 for key, cont, chosen in trace if cont and chosen != key[0])
