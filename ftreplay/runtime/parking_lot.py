"""Python/parking_lot.c: futex-like compare-and-sleep keyed by address.

    NUM_BUCKETS = 257 buckets, bucket = addr % 257, each a FIFO of wait entries.

    park(addr, expected):  lock bucket; *addr != expected -> AGAIN
                           enqueue at tail; unlock; [detach]; sema wait (timeout)
                           timeout: lock bucket; if is_unparking -> wait for the post (OK)
                                    else dequeue -> TIMEOUT
                           [reattach]
    unpark(addr, fn, arg): lock bucket; dequeue first entry with addr; is_unparking = 1;
                           fn(arg, park_arg, has_more) under the bucket lock; unlock; post
    unpark_all(addr):      lock; dequeue every matching entry (FIFO); unlock; post each

The bucket's raw mutex is modelled as one atomic step (spec §12); the window between a
bucket unlock and the semaphore post is a scheduling point, which is where the
``is_unparking`` timeout race lives.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Callable, Optional

from ..record.events import PARKING_LOT_PARK, PARKING_LOT_UNPARK, PARKING_LOT_WAKE
from ..sim.clock import ATOMIC_STORE_NS, BUCKET_NS, PARK_NS, WAKEUP_NS

NUM_BUCKETS = 257


class ParkResult(IntEnum):
    OK = 0
    AGAIN = -1
    TIMEOUT = -2
    INTR = -3


RESULT_NAMES = {ParkResult.OK: "ok", ParkResult.AGAIN: "again", ParkResult.TIMEOUT: "timeout", ParkResult.INTR: "intr"}


class Semaphore:
    """_PySemaphore: a count and one waiting thread.  A post before the wait is kept."""

    __slots__ = ("engine", "thread", "count")

    def __init__(self, engine, thread) -> None:
        self.engine = engine
        self.thread = thread
        self.count = 0

    def wait(self, timeout_ns: Optional[int]) -> bool:
        """True when posted, False on timeout."""
        if self.count == 0 and not self.engine.block(timeout_ns):
            return False
        self.count -= 1
        return True

    def post(self) -> None:
        self.count += 1
        self.engine.wake(self.thread)


class WaitEntry:
    __slots__ = ("thread", "addr", "park_arg", "is_unparking", "sema")

    def __init__(self, thread, addr: int, park_arg: Any, sema: Semaphore) -> None:
        self.thread = thread
        self.addr = addr
        self.park_arg = park_arg
        self.is_unparking = False
        self.sema = sema


class Bucket:
    __slots__ = ("index", "root", "num_waiters")

    def __init__(self, index: int) -> None:
        self.index = index
        self.root: list[WaitEntry] = []
        self.num_waiters = 0


class ParkingLot:
    """The static bucket table (one per simulated process)."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.buckets = [Bucket(i) for i in range(NUM_BUCKETS)]

    def bucket_of(self, addr: int) -> Bucket:
        return self.buckets[addr % NUM_BUCKETS]

    def park(
        self,
        addr: int,
        load: Callable[[], int],
        expected: int,
        timeout_ns: Optional[int],
        park_arg: Any = None,
        detach: bool = False,
        what: str = "",
        holder: Optional[Callable[[], Optional[int]]] = None,
    ) -> ParkResult:
        """_PyParkingLot_Park.  ``timeout_ns`` None (or < 0) waits forever."""
        rt = self.rt
        eng = rt.engine
        if timeout_ns is not None and timeout_ns < 0:
            timeout_ns = None
        eng.point(BUCKET_NS)
        b = self.buckets[addr % NUM_BUCKETS]
        if load() != expected:
            rt.emit(PARKING_LOT_PARK, addr, detach, timeout_ns, b.index, expected, 0)
            rt.emit(PARKING_LOT_WAKE, addr, "again", False, None)
            return ParkResult.AGAIN
        me = eng.cur
        entry = WaitEntry(me, addr, park_arg, Semaphore(eng, me))
        b.root.append(entry)
        b.num_waiters += 1
        me.parked_on = addr
        rt.emit(PARKING_LOT_PARK, addr, detach, timeout_ns, b.index, expected, b.num_waiters)

        tstate = None
        if detach:
            ts = me.tstate
            if ts is not None and ts.state == 1:  # _Py_THREAD_ATTACHED
                tstate = ts
                rt.pystate.detach(ts)

        eng.point(PARK_NS)
        me.wait_what = what
        me.wait_addr = addr
        me.wait_holder = holder
        timed_out = False
        pos = None
        if entry.sema.wait(timeout_ns):
            res = ParkResult.OK
        else:
            eng.point(BUCKET_NS)
            if entry.is_unparking:
                # An unparker already dequeued us and will post: absorb that wake-up.
                timed_out = True
                me.wait_what = "semaphore post (unpark in progress)"
                me.wait_holder = None
                while not entry.sema.wait(None):
                    pass
                res = ParkResult.OK
            else:
                pos = b.root.index(entry)
                del b.root[pos]
                b.num_waiters -= 1
                res = ParkResult.TIMEOUT
        eng.point(WAKEUP_NS if res == ParkResult.OK else ATOMIC_STORE_NS)
        me.parked_on = None
        rt.emit(PARKING_LOT_WAKE, addr, RESULT_NAMES[res], timed_out, pos)
        if tstate is not None:
            rt.pystate.attach(tstate)
        return res

    def _dequeue_first(self, b: Bucket, addr: int) -> tuple[Optional[WaitEntry], Optional[int]]:
        for i, e in enumerate(b.root):
            if e.addr == addr:
                del b.root[i]
                b.num_waiters -= 1
                e.is_unparking = True
                return e, i
        return None, None

    def unpark(self, addr: int, fn: Callable[[Any, bool], None]) -> Optional[int]:
        """_PyParkingLot_Unpark: wake the first waiter on addr; ``fn(park_arg, has_more)``
        runs under the bucket lock (``park_arg`` None when nobody waits).  Returns the woken tid."""
        rt = self.rt
        eng = rt.engine
        eng.point(BUCKET_NS)
        b = self.buckets[addr % NUM_BUCKETS]
        entry, pos = self._dequeue_first(b, addr)
        if entry is None:
            rt.emit(PARKING_LOT_UNPARK, addr, None, False, b.index, "one", None)
            fn(None, False)
            return None
        has_more = b.num_waiters > 0  # the whole bucket, other addresses included
        rt.emit(PARKING_LOT_UNPARK, addr, entry.thread.tid, has_more, b.index, "one", pos)
        fn(entry.park_arg, has_more)
        eng.point(ATOMIC_STORE_NS)  # bucket unlocked; the post follows
        entry.sema.post()
        return entry.thread.tid

    def unpark_all(self, addr: int) -> int:
        """_PyParkingLot_UnparkAll: wake every waiter on addr in FIFO order."""
        rt = self.rt
        eng = rt.engine
        eng.point(BUCKET_NS)
        b = self.buckets[addr % NUM_BUCKETS]
        woken: list[WaitEntry] = []
        while True:  # dequeue every match in FIFO order, one event per removal
            e, pos = self._dequeue_first(b, addr)
            if e is None:
                break
            woken.append(e)
            rt.emit(PARKING_LOT_UNPARK, addr, e.thread.tid, b.num_waiters > 0, b.index, "all", pos)
        if not woken:
            rt.emit(PARKING_LOT_UNPARK, addr, None, False, b.index, "all", None)
            return 0
        for e in woken:
            eng.point(ATOMIC_STORE_NS)
            e.sema.post()
        return len(woken)

    def waiters(self, addr: int) -> list[int]:
        """Tids parked on addr, FIFO (for tests and state snapshots)."""
        return [e.thread.tid for e in self.buckets[addr % NUM_BUCKETS].root if e.addr == addr]

    def after_fork(self) -> None:
        """_PyParkingLot_AfterFork: every waiter belongs to a dead thread."""
        self.buckets = [Bucket(i) for i in range(NUM_BUCKETS)]
