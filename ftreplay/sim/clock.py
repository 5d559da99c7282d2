"""The virtual clock's cost model.

Time in a run is virtual nanoseconds on one global clock.  Every scheduling point
advances the clock by the cost of the operation that follows it, whichever thread runs
it; a thread that blocks costs nothing while it waits.  When every live thread is blocked
and a timer is pending, the clock jumps to the earliest timer.  The costs are rough
figures for a modern x86 core; what matters for fidelity is their order of magnitude
relative to CPython's time constants (the 1 ms fairness hand-off of PyMutex, the 1 ms
stop-the-world poll, the 5 ms GIL switch interval).
"""

ATOMIC_LOAD_NS = 2  # relaxed/acquire load of a lock word or state field
ATOMIC_STORE_NS = 2  # plain or release store
ATOMIC_RMW_NS = 20  # compare-and-swap, exchange, fetch-add (a cache line bounce)
YIELD_NS = 400  # _Py_yield(): sched_yield()
BUCKET_NS = 60  # take a parking-lot bucket lock, walk or edit its queue, release it
PARK_NS = 1_500  # enter a semaphore wait (futex syscall)
WAKEUP_NS = 5_000  # from a semaphore post to the parked thread running again
THREAD_START_NS = 20_000  # PyThread_start_joinable_thread
GUEST_OP_NS = 40  # one guest-level operation on a plain shared field (a few bytecodes)
