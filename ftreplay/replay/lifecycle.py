"""Projection of thread handles, finalization and fork (runtime/threadmodule.py,
runtime/pylifecycle.py).

A fork saves the parent's per-process sections (``State.sections``) under its pid and the
child continues from a copy; the child's ``pylifecycle.exit`` keeps its final sections (for
undo) and restores the parent's.  The child's first event, ``pylifecycle.after_fork_child``,
empties the parking lot and clears every thread's parked address (the threads of the parent
do not exist in the child); its undo restores both from the saved copy.
"""

from __future__ import annotations

from .projection import APPLY, UNDO, register
from .state import T_PARKED, T_PHASE, T_STATE, State

H_IDENT, H_STATE, H_DAEMON = 0, 1, 2
_BEFORE_RUNNING = ("", "not_started", "starting")


# -- thread handles -----------------------------------------------------------------------------
def _handle(st: State, e) -> None:
    if e.old == "":
        st.handles[e.handle] = [e.thread, e.new, e.daemon]
    else:
        rec = st.handles[e.handle]
        rec[H_IDENT] = e.thread
        rec[H_STATE] = e.new


def _handle_undo(st: State, e) -> None:
    if e.old == "":
        del st.handles[e.handle]
    else:
        rec = st.handles[e.handle]
        rec[H_STATE] = e.old
        rec[H_IDENT] = 0 if e.old in _BEFORE_RUNNING else e.thread


register("thread.handle", _handle, _handle_undo)


# -- thread states shut down or deleted by another thread ----------------------------------------
def _shutting_down(st: State, e) -> None:
    st.threads[e.thread][T_STATE] = e.new


def _shutting_down_undo(st: State, e) -> None:
    st.threads[e.thread][T_STATE] = e.old


def _delete_list(st: State, e) -> None:
    st.threads[e.thread][T_PHASE] = "deleted"


def _delete_list_undo(st: State, e) -> None:
    st.threads[e.thread][T_PHASE] = e.phase_old


register("pystate.shutting_down", _shutting_down, _shutting_down_undo)
register("pystate.delete_list", _delete_list, _delete_list_undo)

# The creating process of a thread (pystate.new_thread's process field), on top of the base
# projection of that kind.
_new_thread, _new_thread_undo = APPLY["pystate.new_thread"], UNDO["pystate.new_thread"]


def _new_thread_proc(st: State, e) -> None:
    _new_thread(st, e)
    if e.process != 1:
        st.thread_process[e.thread] = e.process


def _new_thread_proc_undo(st: State, e) -> None:
    _new_thread_undo(st, e)
    st.thread_process.pop(e.thread, None)


register("pystate.new_thread", _new_thread_proc, _new_thread_proc_undo)


# -- finalization ------------------------------------------------------------------------------
def _phase(st: State, e) -> None:
    st.fin_phase = e.phase


def _phase_undo(st: State, e) -> None:
    st.fin_phase = e.phase_old


register("pylifecycle.phase", _phase, _phase_undo)


# -- fork ----------------------------------------------------------------------------------------
def _fork(st: State, e) -> None:
    st.saved[st.process] = st.sections()
    st.procs[e.child] = [st.process, e.thread, "running"]
    st.process = e.child


def _fork_undo(st: State, e) -> None:
    parent = st.procs.pop(e.child)[0]
    st.saved.pop(parent, None)
    st.process = parent


def _after_fork_child(st: State, e) -> None:
    st.buckets = {}
    for rec in st.threads.values():
        rec[T_PARKED] = None


def _after_fork_child_undo(st: State, e) -> None:
    saved = State.from_plain({**st.saved[e.parent], "seq": 0, "ts": 0})
    st.buckets = saved.buckets
    for tid, rec in saved.threads.items():
        st.threads[tid][T_PARKED] = rec[T_PARKED]


def _exit(st: State, e) -> None:
    proc = st.procs[e.process]
    st.exited[e.process] = st.sections()
    st.load_sections(st.saved.pop(proc[0]))
    proc[2] = "exited"
    st.process = proc[0]


def _exit_undo(st: State, e) -> None:
    proc = st.procs[e.process]
    st.saved[proc[0]] = st.sections()
    st.load_sections(st.exited.pop(e.process))
    proc[2] = "running"
    st.process = e.process


def _reinit_lock(st: State, e) -> None:
    st.mutexes.pop(e.mutex, None)


def _reinit_lock_undo(st: State, e) -> None:
    st.mutexes[e.mutex] = [e.bits_old, e.holder]


register("pylifecycle.fork", _fork, _fork_undo)
register("pylifecycle.after_fork_child", _after_fork_child, _after_fork_child_undo)
register("pylifecycle.exit", _exit, _exit_undo)
register("pylifecycle.reinit_lock", _reinit_lock, _reinit_lock_undo)


# -- views ---------------------------------------------------------------------------------------
def process_of(st: State, tid: int) -> int:
    """The process a thread belongs to in this state: the running process for the thread that
    forked it (it is in both), else the one that created it (1 for the first process's)."""
    if tid in st.thread_process:
        return st.thread_process[tid]
    proc = st.procs.get(st.process)
    if proc is not None and proc[1] == tid:
        return st.process
    return 1


def lifecycle_to_json(st: State) -> dict:
    """Processes, thread handles and the finalization phase, JSON-friendly."""
    procs = [{"pid": 1, "parent": None, "forked_by": None,
              "status": "running" if st.process == 1 else "waiting for its child"}]
    for pid, (parent, tid, status) in sorted(st.procs.items()):
        running = status == "running" and pid != st.process
        procs.append({"pid": pid, "parent": parent, "forked_by": tid,
                      "status": "waiting for its child" if running else status})
    return {
        "process": st.process,
        "processes": procs,
        "thread_process": {t: process_of(st, t) for t in sorted(st.threads)},
        "handles": [{"addr": f"0x{a:x}", "name": st.labels.get(a), "ident": r[H_IDENT], "state": r[H_STATE],
                     "daemon": r[H_DAEMON]} for a, r in sorted(st.handles.items())],
        "finalization": st.fin_phase or None,
    }
