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
        Bug(
            "fork_without_stw",
            "fork_child_inherits_cs",
            "gh-116522 (#116607, #117131)",
            "PyOS_BeforeFork forks without stopping the world: a thread attached inside a critical section "
            "keeps the object's ob_mutex locked in the child, where that thread does not exist, so the child's "
            "next critical section on the object parks forever.",
            reason="deadlock",
        ),
        Bug(
            "fork_without_head_lock",
            "fork_mid_handle_unlink",
            "gh-116522 (#116607)",
            "PyOS_BeforeFork does not hold HEAD_LOCK across fork: a thread with no thread state (exiting, "
            "unlinking its handle under HEAD_LOCK) can be between the two stores of llist_remove, and the "
            "child's _PyThread_AfterFork walks a half-removed list.",
            reason="invariant",
        ),
        Bug(
            "afterfork_handles_joinable",
            "fork_gc_dead_handle",
            "gh-115035 (#115042)",
            "The child does not mark the dead threads' handles done in PyOS_AfterFork_Child; only threading's "
            "own after-fork hook does, later.  Python code that runs first (an earlier after-fork hook running "
            "gc.collect()) can free a handle that is still RUNNING, whose deallocation detaches an OS thread "
            "that does not exist in the child: a crash.  (fork_join_dead_handle: such a hook joins the handle "
            "instead and waits forever.)",
            reason="crash",
        ),
        Bug(
            "start_thread_during_finalization",
            "daemon_start_vs_finalize",
            "gh-108987 (#109135); gh-104690 (#109056)",
            "thread_run binds its thread state before checking whether it must exit, and DeleteList frees the "
            "removed thread states at once (3.13): a thread first scheduled after finalization deleted its "
            "state writes to freed memory.",
            reason="use_after_free",
        ),
        Bug(
            "drop_gil_finalizing_switch",
            "daemon_exit_vs_finalize",
            "gh-104341 (#105109)",
            "A thread's last drop_gil (thread exit) passes its real thread state, so after releasing the GIL "
            "it still reads the interpreter's drop request for FORCE_SWITCHING; the thread that took the GIL "
            "may have finalized and freed the interpreter by then.",
            reason="use_after_free",
        ),
        Bug(
            "tstate_clear_wrong_interp",
            "subinterp_clear_from_main",
            "gh-112723 (#112776)",
            "_interpreters.create swaps back to the caller's thread state before PyThreadState_Clear of the new "
            "interpreter's initial one, so its objects are destroyed under the caller's interpreter: a block of "
            "the subinterpreter's obmalloc state is freed into the main interpreter's.",
            reason="crash",
        ),
        Bug(
            "subinterp_shared_sys_init",
            "twin_isolated_subinterp_init",
            "gh-105699 (#106974)",
            "Isolated subinterpreters fix up sys/builtins through a dict owned by the main interpreter, switching "
            "to it through one shared detached main thread state; two initialising interpreters bind it to two "
            "OS threads at once.",
            reason="invariant",
        ),
        Bug(
            "two_func_version_counters",
            "func_version_collision",
            "gh-116916 (#116918)",
            "Code objects take versions from interp->next_func_version while re-versioned functions take "
            "func_state.next_version; both start at 1, so a function gets the version of an unrelated one and "
            "a call site specialised for that one runs the wrong code.",
            reason="assertion",
        ),
        Bug(
            "type_cache_no_seqlock",
            "type_cache_torn_entry",
            "gh-113743 (#113930)",
            "The type cache's entries are read and written without their sequence lock, so a lookup can take "
            "version and name from one (type, name) and the value from the one a writer is storing.",
            reason="assertion",
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
