"""The seeds' fixed races, reproducible behind ``--bug NAME``.  The default runtime is the
fixed one."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class Bug:
    name: str
    scenario: str
    seed: str  # which seed commit / issue
    description: str
    reason: str = ""  # how the buggy run fails (the run.failure reason)


BUGS: dict[str, Bug] = {
    b.name: b
    for b in (
        Bug(
            "join_tstate_lock_race",
            "join_race",
            "gh-116372 (fixed by gh-114271)",
            "Thread.join acquires and releases the joined thread's _tstate_lock, then _stop() asserts the lock "
            "is unlocked; a second joiner that acquires it in between makes the assertion fail.",
            reason="assertion",
        ),
        Bug(
            "free_delayed_without_qsbr",
            "lockfree_read",
            "gh-115103 (QSBR #115180, delayed free #115367)",
            "_PyMem_FreeDelayed frees at once: a shared list's old item array goes back to the allocator while "
            "a lock-free reader still reads it.",
            reason="use_after_free",
        ),
        Bug(
            "mimalloc_page_immediate_reuse",
            "lockfree_read",
            "gh-115103 (delayed page reuse #115435)",
            "An emptied mimalloc object page is freed at once instead of waiting for a QSBR goal, so its memory "
            "is re-carved for another size class or heap while a reader still TryIncrefs an object there.",
            reason="use_after_free",
        ),
        Bug(
            "debug_fill_refcount_fields",
            "lockfree_read",
            "gh-115491 (#115573)",
            "The debug allocator fills freed object blocks with 0xDD including ob_tid/ob_ref_local/"
            "ob_ref_shared, so a racing _Py_TryIncref sees a non-zero count and increments freed memory.",
            reason="use_after_free",
        ),
        Bug(
            "instrumentation_version_clear",
            "instrumentation_clear",
            "gh-115832 (#115856)",
            "interpreter_clear zeroes the interpreter's instrumentation version but not the copy in each "
            "thread's eval_breaker, so a finalizer's RESUME re-instruments its code forever.",
            reason="livelock",
        ),
    )
}


def check_bugs(names) -> list[str]:
    out = []
    for n in names:
        if n not in BUGS:
            raise UsageError(f"unknown bug flag {n!r} (known: {', '.join(sorted(BUGS))})")
        if n not in out:
            out.append(n)
    return sorted(out)
