"""The deterministic simulation engine.

Guest threads are greenlets running plain Python functions.  The runtime model calls
``point(cost)`` before every access to modelled shared state: the clock advances by the
cost, due timers fire, and when more than one thread can run the strategy picks which one
performs its next access (the choice is appended to the schedule).  ``block`` parks the
current thread until ``wake`` or its timer; when nobody can run, the clock jumps to the
next timer, or the run fails with a deadlock naming the wait-for cycle.

The engine knows nothing of CPython; the runtime tells it what a blocked thread waits on
(``SimThread.wait_*``) so a deadlock report can name addresses and holders.
"""

from __future__ import annotations

import heapq
import os
import traceback
from enum import IntEnum
from typing import Any, Callable, Optional

from greenlet import GreenletExit, getcurrent, greenlet

from ..errors import FtreplayError

INF = float("inf")
DEFAULT_MAX_STEPS = 20_000_000


class ThreadRun(IntEnum):
    RUNNABLE = 0
    BLOCKED = 1
    DONE = 2


class FatalError(Exception):
    """Py_FatalError in the model: the run fails with reason 'crash'."""


class GuestFailure(Exception):
    """Raised by the runtime to fail the run with a specific reason (e.g. 'invariant')."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SimThread:
    __slots__ = (
        "tid", "name", "glet", "state", "timed_out", "timer_gen", "prio",
        "wait_what", "wait_addr", "wait_holder", "tstate", "fn", "args", "parked_on",
    )

    def __init__(self, tid: int, name: str, fn: Callable, args: tuple) -> None:
        self.tid = tid
        self.name = name
        self.glet: Optional[greenlet] = None
        self.state = ThreadRun.RUNNABLE
        self.timed_out = False
        self.timer_gen = 0
        self.prio = 0.0
        self.wait_what = ""
        self.wait_addr = 0
        self.wait_holder: Optional[Callable[[], Optional[int]]] = None
        self.tstate: Any = None  # the runtime's current thread state (_Py_tss_tstate)
        self.fn = fn
        self.args = args
        self.parked_on: Optional[int] = None  # parking-lot address while enqueued (runtime-owned)

    def __repr__(self) -> str:
        return f"T{self.tid}"

    def __deepcopy__(self, memo) -> "SimThread":
        return self  # the run's machinery: a forked process's copy refers to the same sim thread


class Failure:
    __slots__ = ("reason", "message", "seq")

    def __init__(self, reason: str, message: str, seq: Optional[int]) -> None:
        self.reason = reason
        self.message = message
        self.seq = seq


def guest_location(exc: BaseException) -> str:
    """``file.py:LINE in func`` of the innermost frame, without directories (deterministic)."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return ""
    fr = tb[-1]
    return f"{os.path.basename(fr.filename)}:{fr.lineno} in {fr.name}"


class Engine:
    def __init__(self, strategy, max_steps: int = DEFAULT_MAX_STEPS) -> None:
        self.now = 0
        self.tid = 0
        self.cur: Optional[SimThread] = None
        self.threads: dict[int, SimThread] = {}
        self.order: list[SimThread] = []
        self.runnable: list[SimThread] = []
        self.rl_version = 0
        self.timers: list[tuple] = []
        self.next_deadline = INF
        self.steps = 0
        self.max_steps = max_steps
        self.step_limit = max_steps
        # One byte per decision while thread ids fit; a list beyond tid 255.
        self.decisions: bytearray | list[int] = bytearray()
        self.halted = False
        self.failure: Optional[Failure] = None
        self.internal_error: Optional[BaseException] = None
        self.on_fail: Optional[Callable[[str, str], Optional[int]]] = None
        self.on_stop: Optional[Callable[[], None]] = None  # before leftover threads are unwound
        self.main_tid = 1
        self.main_done = False
        self.hub: Optional[greenlet] = None
        self.strategy = strategy
        self.pick = strategy.pick
        strategy.bind(self)
        # A strategy that picks uniformly (``pick`` is runnable[int(uniform() * n)]) gets
        # the same choice made inline: one Python call less per scheduling point.
        self._uniform = getattr(strategy, "uniform", None)
        if self._uniform is not None:
            self.point = self._point_uniform

    # -- the hot path -------------------------------------------------------------------
    def point(self, cost: int) -> None:
        now = self.now + cost
        self.now = now
        if now >= self.next_deadline:
            self._fire_timers()
        steps = self.steps + 1
        self.steps = steps
        if steps >= self.step_limit:
            self._over_limit()
        rl = self.runnable
        if len(rl) > 1:
            nxt = self.pick(rl, self.cur)
            self.decisions.append(nxt.tid)
            if nxt is not self.cur:
                self.cur = nxt
                self.tid = nxt.tid
                nxt.glet.switch()

    def _point_uniform(self, cost: int) -> None:
        """``point`` for a uniform strategy (the same decisions, the pick inlined)."""
        now = self.now + cost
        self.now = now
        if now >= self.next_deadline:
            self._fire_timers()
        steps = self.steps + 1
        self.steps = steps
        if steps >= self.step_limit:
            self._over_limit()
        rl = self.runnable
        n = len(rl)
        if n > 1:
            nxt = rl[int(self._uniform() * n)]
            self.decisions.append(nxt.tid)
            if nxt is not self.cur:
                self.cur = nxt
                self.tid = nxt.tid
                nxt.glet.switch()

    # -- threads --------------------------------------------------------------------------
    def spawn(self, fn: Callable, args: tuple = (), tid: Optional[int] = None, name: str = "") -> SimThread:
        if tid is None:
            tid = max(self.threads, default=0) + 1
        if tid in self.threads:
            raise ValueError(f"thread id {tid} is in use")
        if tid > 255 and isinstance(self.decisions, bytearray):
            self.decisions = list(self.decisions)
        t = SimThread(tid, name or f"T{tid}", fn, args)
        t.glet = greenlet(self._thread_main, parent=self.hub)
        self.threads[tid] = t
        self.order.append(t)
        self.runnable.append(t)
        self.rl_version += 1
        self.strategy.on_spawn(t)
        return t

    def _thread_main(self, *_ignored) -> None:
        t = self.cur
        assert t is not None
        try:
            t.fn(*t.args)
        except GreenletExit:
            return
        except FtreplayError as e:
            self.internal_error = e
            self._halt()
            self.hub.switch()
            return
        except AssertionError as e:
            where = guest_location(e)
            text = str(e) or "assertion failed"
            self.fail("assertion", f"{where}: AssertionError: {text}" if where else text)
            return
        except FatalError as e:
            self.fail("crash", f"Fatal Python error: {e}")
            return
        except GuestFailure as e:
            self.fail(e.reason, str(e))
            return
        except Exception as e:  # a guest bug is the run's result, not ours
            where = guest_location(e)
            self.fail("crash", f"{where}: {type(e).__name__}: {e}" if where else f"{type(e).__name__}: {e}")
            return
        t.state = ThreadRun.DONE
        self.runnable.remove(t)
        self.rl_version += 1
        if t.tid == self.main_tid:
            self.main_done = True  # the process exits; daemon threads are abandoned

    def block(self, timeout_ns: Optional[int] = None) -> bool:
        """Block the current thread; True if woken, False if its timer fired."""
        if self.halted:
            raise GreenletExit
        t = self.cur
        t.state = ThreadRun.BLOCKED
        self.runnable.remove(t)
        self.rl_version += 1
        t.timed_out = False
        if timeout_ns is not None:
            deadline = self.now + timeout_ns
            heapq.heappush(self.timers, (deadline, t.tid, t.timer_gen, t))
            if deadline < self.next_deadline:
                self.next_deadline = deadline
        self._run_other()
        return not t.timed_out

    def wake(self, t: SimThread) -> None:
        if t.state == ThreadRun.BLOCKED:
            t.state = ThreadRun.RUNNABLE
            t.timer_gen += 1
            t.timed_out = False
            t.wait_holder = None
            self.runnable.append(t)
            self.rl_version += 1

    def _run_other(self) -> None:
        rl = self.runnable
        while not rl:
            if not self._jump_to_timer():
                self._deadlock()
        nxt = rl[0] if len(rl) == 1 else self._choose(rl)
        if nxt is not self.cur:
            self.cur = nxt
            self.tid = nxt.tid
            nxt.glet.switch()

    def _choose(self, rl: list[SimThread]) -> SimThread:
        nxt = self.pick(rl, self.cur)
        self.decisions.append(nxt.tid)
        return nxt

    # -- timers ---------------------------------------------------------------------------
    def _fire_timers(self) -> None:
        timers = self.timers
        while timers and timers[0][0] <= self.now:
            _, _, gen, t = heapq.heappop(timers)
            if t.timer_gen == gen and t.state == ThreadRun.BLOCKED:
                t.timed_out = True
                t.timer_gen += 1
                t.state = ThreadRun.RUNNABLE
                t.wait_holder = None
                self.runnable.append(t)
                self.rl_version += 1
        self.next_deadline = timers[0][0] if timers else INF

    def _jump_to_timer(self) -> bool:
        timers = self.timers
        while timers:
            deadline, _, gen, t = timers[0]
            if t.timer_gen == gen and t.state == ThreadRun.BLOCKED:
                if deadline > self.now:
                    self.now = deadline
                self._fire_timers()
                return True
            heapq.heappop(timers)
        self.next_deadline = INF
        return False

    # -- failures -------------------------------------------------------------------------
    def _halt(self) -> None:
        self.halted = True
        self.step_limit = 0

    def _over_limit(self) -> None:
        if self.halted:
            raise GreenletExit
        self.fail("livelock", f"step budget exceeded: {self.max_steps} scheduling points without finishing")

    def fail(self, reason: str, message: str, tid: Optional[int] = None) -> None:
        """Record the run's failure and stop it.  Does not return inside a guest thread."""
        if self.halted:
            if getcurrent() is not self.hub:
                raise GreenletExit
            return
        if tid is not None:
            self.tid = tid
        seq = self.on_fail(reason, message) if self.on_fail is not None else None
        self.failure = Failure(reason, message, seq)
        self._halt()
        if getcurrent() is not self.hub:
            self.hub.switch()
            raise GreenletExit

    def adopt_failure(self, failure: Failure) -> None:
        """End this run with a failure already recorded elsewhere (a nested engine's: a forked
        child process).  Does not return inside a guest thread."""
        if self.halted:
            raise GreenletExit
        self.failure = failure
        self._halt()
        if getcurrent() is not self.hub:
            self.hub.switch()
            raise GreenletExit

    def _deadlock(self) -> None:
        blocked = [t for t in self.order if t.state == ThreadRun.BLOCKED]
        self.fail("deadlock", describe_deadlock(blocked), tid=0)

    # -- the hub --------------------------------------------------------------------------
    def run(self, main: Callable, args: tuple = (), main_tid: int = 1) -> Optional[Failure]:
        self.hub = getcurrent()
        self.main_tid = main_tid
        self.spawn(main, args, tid=main_tid, name="main")
        try:
            while not self.halted and not self.main_done:
                rl = self.runnable
                if not rl:
                    if self._jump_to_timer():
                        continue
                    if any(t.state == ThreadRun.BLOCKED for t in self.order):
                        self._deadlock()
                    break
                nxt = rl[0] if len(rl) == 1 else self._choose(rl)
                self.cur = nxt
                self.tid = nxt.tid
                nxt.glet.switch()
        finally:
            if self.on_stop is not None:
                self.on_stop()
            self._cleanup()
        if self.internal_error is not None:
            raise self.internal_error
        return self.failure

    def _cleanup(self) -> None:
        """Unwind threads left suspended by a failure (their events are discarded)."""
        self._halt()
        for t in self.order:
            g = t.glet
            if g:  # started and not finished
                self.cur = t
                self.tid = t.tid
                try:
                    g.throw(GreenletExit)
                except GreenletExit:
                    pass
            t.glet = None


def describe_deadlock(blocked: list[SimThread]) -> str:
    def holder(t: SimThread) -> Optional[int]:
        return t.wait_holder() if t.wait_holder is not None else None

    def what(t: SimThread) -> str:
        return f"T{t.tid} waits on {t.wait_what or 'something'} @0x{t.wait_addr:x}"

    by_tid = {t.tid: t for t in blocked}
    for start in blocked:
        path: list[SimThread] = []
        seen: dict[int, int] = {}
        t: Optional[SimThread] = start
        while t is not None and t.tid not in seen:
            seen[t.tid] = len(path)
            path.append(t)
            h = holder(t)
            t = by_tid.get(h) if h is not None else None
        if t is not None:
            cycle = path[seen[t.tid] :]
            links = [f"{what(c)} held by T{holder(c)}" for c in cycle]
            return "wait-for cycle: " + "; ".join(links)
    parts = []
    for t in blocked:
        h = holder(t)
        if h is None:
            parts.append(f"{what(t)} (no holder)")
        elif h in by_tid:
            parts.append(f"{what(t)} held by T{h}")
        else:
            parts.append(f"{what(t)} held by T{h} (not blocked: exited or gone)")
    return "all threads blocked, no timer pending: " + "; ".join(parts)
