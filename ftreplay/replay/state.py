"""The projected runtime state at one seq.

The same structure is produced two ways: by the projection (applying events forward or
undoing them backward) and by the live runtime (``Runtime.snapshot``).  A test keeps the
two equal; checkpoints stored with a run are live snapshots.

Entries equal to their default are absent: an unlocked, unowned mutex, a zero lock word,
an empty bucket.  Every container is plain (dicts, lists, str, int) so a state encodes to
msgpack/JSON as it is.
"""

from __future__ import annotations

from typing import Any, Optional

# thread record: [state name, phase, parked_on address or None]
T_STATE, T_PHASE, T_PARKED = 0, 1, 2
PHASES = ("created", "running", "exited", "deleted")
# object record: [type, size, gc, block, ob_tid, ob_ref_local, ob_ref_shared (raw), ob_gc_bits]
O_TYPE, O_SIZE, O_GC, O_BLOCK, O_TID, O_LOCAL, O_SHARED, O_GC_BITS = range(8)
# brc record of a registered thread: [bucket, objects_to_merge [obj...], local_objects_to_merge [obj...]]
B_BUCKET, B_QUEUE, B_LOCAL = 0, 1, 2
# critical-section entry, bottom to top: [cs address, tag bits of the word pointing at it, mutex, mutex2]
CS_ADDR, CS_TAG, CS_MUTEX, CS_MUTEX2 = 0, 1, 2, 3
# qsbr: [wr_seq, rd_seq] of the interpreter; qsbr_threads: tid -> [slot, seq] (seq 0 = offline)
Q_WR, Q_RD = 0, 1
QT_SLOT, QT_SEQ = 0, 1
# page record: [heap tag name, bin, block_size, capacity, segment, used, xthread frees pending, qsbr goal]
P_HEAP, P_BIN, P_BLOCK_SIZE, P_CAPACITY, P_SEGMENT, P_USED, P_XTHREAD, P_GOAL = range(8)
# subinterpreter record (interps, id > 0): [whence, feature_flags, own_gil, own_obmalloc,
#   the thread state running __main__ or None, the holder of its own GIL or None, its QSBR wr_seq, rd_seq]
I_WHENCE, I_FLAGS, I_OWN_GIL, I_OWN_OBMALLOC, I_MAIN, I_GIL, I_WR, I_RD = range(8)
# type cache entry (key interp << 12 | index): [version, name, value obj, sequence address]
TC_VERSION, TC_NAME, TC_VALUE, TC_SEQ = range(4)
MCACHE_SIZE_EXP = 12
QSBR_INITIAL = 1
# The fields of a State that belong to the run rather than to one process: a fork saves the
# others (the process's sections) and the child's exit restores them (replay/lifecycle.py).
GLOBAL_FIELDS = ("seq", "ts", "process", "procs", "thread_process", "saved", "exited", "failure")


class State:
    __slots__ = (
        "seq", "ts", "threads", "mutexes", "words", "recursive", "buckets", "guest", "labels", "failure",
        "objects", "brc", "eval_breaker", "critical_sections", "qsbr", "qsbr_threads", "pages", "segments",
        "delayed", "stw", "gc_phase", "gil_holder",
        "interps", "interp_of", "on_interp", "type_cache",
        "handles", "fin_phase", "process", "procs", "thread_process", "saved", "exited",
    )

    def __init__(self) -> None:
        self.seq = -1  # the last applied event; -1 = before the first
        self.ts = 0
        self.threads: dict[int, list] = {}  # tid -> [state, phase, parked_on]
        self.mutexes: dict[int, list] = {}  # addr -> [bits, owner]
        self.words: dict[int, list] = {}  # addr -> [prim, bits]  (event, once, rwmutex, seqlock, raw)
        self.recursive: dict[int, list] = {}  # addr -> [level, owner]
        self.buckets: dict[int, list] = {}  # bucket -> [[tid, addr], ...] FIFO
        self.guest: dict[int, int] = {}  # addr -> value
        self.labels: dict[int, str] = {}  # addr -> label
        self.failure: Optional[list] = None  # [reason, message, seq]
        self.objects: dict[int, list] = {}  # obj -> object record (live objects only)
        self.brc: dict[int, list] = {}  # tid -> brc record (threads registered in the BRC table)
        self.eval_breaker: dict[int, int] = {}  # tid -> tstate->eval_breaker (nonzero only)
        self.critical_sections: dict[int, list] = {}  # tid -> [entry, ...] bottom to top (nonempty only)
        self.qsbr: list = [QSBR_INITIAL, QSBR_INITIAL]  # [wr_seq, rd_seq]
        self.qsbr_threads: dict[int, list] = {}  # tid -> [slot, seq] (registered threads)
        self.pages: dict[int, list] = {}  # page address -> page record (pages carved from a segment)
        self.segments: dict[int, int] = {}  # segment address -> owner thread (0 = abandoned)
        self.delayed: dict[int, list] = {}  # queue (tid, 0 = interpreter) -> [[block, goal], ...] (nonempty)
        self.stw: dict[str, list] = {}  # scope -> [requester, countdown, world_stopped] while requested
        self.gc_phase = ""  # the collection's phase ('' = no collection running)
        self.gil_holder: Optional[int] = None  # the thread holding the GIL (GIL enabled only)
        self.interps: dict[int, list] = {}  # subinterpreter id -> interpreter record (alive ones)
        self.interp_of: dict[int, int] = {}  # tid -> interpreter, for thread states of subinterpreters
        self.on_interp: dict[int, int] = {}  # OS thread -> the subinterpreter it last swapped into
        self.type_cache: dict[int, list] = {}  # interp << 12 | index -> entry (entries ever written)
        # Thread lifecycle, fork and finalization (runtime/pylifecycle.py, replay/lifecycle.py).
        self.handles: dict[int, list] = {}  # handle address -> [ident, state name, daemon]
        self.fin_phase = ""  # the finalization phase of the running process ('' = none)
        self.process = 1  # the process whose state this is (1 = the first one)
        self.procs: dict[int, list] = {}  # child pid -> [parent pid, forking thread, 'running'|'exited']
        self.thread_process: dict[int, int] = {}  # tid -> pid, threads created in a child process
        self.saved: dict[int, dict] = {}  # pid -> its process sections while its child runs
        self.exited: dict[int, dict] = {}  # pid -> final process sections of an exited child

    # -- plain form ----------------------------------------------------------------------
    def to_plain(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "threads": {k: list(v) for k, v in self.threads.items()},
            "mutexes": {k: list(v) for k, v in self.mutexes.items()},
            "words": {k: list(v) for k, v in self.words.items()},
            "recursive": {k: list(v) for k, v in self.recursive.items()},
            "buckets": {k: [list(e) for e in v] for k, v in self.buckets.items()},
            "guest": dict(self.guest),
            "labels": dict(self.labels),
            "failure": list(self.failure) if self.failure else None,
            "objects": {k: list(v) for k, v in self.objects.items()},
            "brc": {k: [v[0], list(v[1]), list(v[2])] for k, v in self.brc.items()},
            "eval_breaker": dict(self.eval_breaker),
            "critical_sections": {k: [list(e) for e in v] for k, v in self.critical_sections.items()},
            "qsbr": list(self.qsbr),
            "qsbr_threads": {k: list(v) for k, v in self.qsbr_threads.items()},
            "pages": {k: list(v) for k, v in self.pages.items()},
            "segments": dict(self.segments),
            "delayed": {k: [list(e) for e in v] for k, v in self.delayed.items()},
            "stw": {k: list(v) for k, v in self.stw.items()},
            "gc_phase": self.gc_phase,
            "gil_holder": self.gil_holder,
            "interps": {k: list(v) for k, v in self.interps.items()},
            "interp_of": dict(self.interp_of),
            "on_interp": dict(self.on_interp),
            "type_cache": {k: list(v) for k, v in self.type_cache.items()},
            "handles": {k: list(v) for k, v in self.handles.items()},
            "fin_phase": self.fin_phase,
            "process": self.process,
            "procs": {k: list(v) for k, v in self.procs.items()},
            "thread_process": dict(self.thread_process),
            "saved": dict(self.saved),
            "exited": dict(self.exited),
        }

    @classmethod
    def from_plain(cls, d: dict[str, Any]) -> "State":
        s = cls()
        s.seq = d["seq"]
        s.ts = d["ts"]
        s.threads = {int(k): list(v) for k, v in d["threads"].items()}
        s.mutexes = {int(k): list(v) for k, v in d["mutexes"].items()}
        s.words = {int(k): list(v) for k, v in d["words"].items()}
        s.recursive = {int(k): list(v) for k, v in d["recursive"].items()}
        s.buckets = {int(k): [list(e) for e in v] for k, v in d["buckets"].items()}
        s.guest = {int(k): v for k, v in d["guest"].items()}
        s.labels = {int(k): v for k, v in d["labels"].items()}
        s.failure = list(d["failure"]) if d.get("failure") else None
        # Absent in checkpoints stored before these mechanisms were modelled.
        s.objects = {int(k): list(v) for k, v in d.get("objects", {}).items()}
        s.brc = {int(k): [v[0], list(v[1]), list(v[2])] for k, v in d.get("brc", {}).items()}
        s.eval_breaker = {int(k): v for k, v in d.get("eval_breaker", {}).items()}
        s.critical_sections = {int(k): [list(e) for e in v] for k, v in d.get("critical_sections", {}).items()}
        s.qsbr = list(d.get("qsbr", [QSBR_INITIAL, QSBR_INITIAL]))
        s.qsbr_threads = {int(k): list(v) for k, v in d.get("qsbr_threads", {}).items()}
        s.pages = {int(k): list(v) for k, v in d.get("pages", {}).items()}
        s.segments = {int(k): v for k, v in d.get("segments", {}).items()}
        s.delayed = {int(k): [list(e) for e in v] for k, v in d.get("delayed", {}).items()}
        s.stw = {k: list(v) for k, v in d.get("stw", {}).items()}
        s.gc_phase = d.get("gc_phase", "")
        s.gil_holder = d.get("gil_holder")
        s.interps = {int(k): list(v) for k, v in d.get("interps", {}).items()}
        s.interp_of = {int(k): v for k, v in d.get("interp_of", {}).items()}
        s.on_interp = {int(k): v for k, v in d.get("on_interp", {}).items()}
        s.type_cache = {int(k): list(v) for k, v in d.get("type_cache", {}).items()}
        s.handles = {int(k): list(v) for k, v in d.get("handles", {}).items()}
        s.fin_phase = d.get("fin_phase", "")
        s.process = d.get("process", 1)
        s.procs = {int(k): list(v) for k, v in d.get("procs", {}).items()}
        s.thread_process = {int(k): v for k, v in d.get("thread_process", {}).items()}
        s.saved = {int(k): v for k, v in d.get("saved", {}).items()}
        s.exited = {int(k): v for k, v in d.get("exited", {}).items()}
        return s

    def sections(self) -> dict[str, Any]:
        """The per-process part of the state, in plain form."""
        d = self.to_plain()
        for k in GLOBAL_FIELDS:
            d.pop(k, None)
        return d

    def load_sections(self, d: dict[str, Any]) -> None:
        """Replace the per-process part with ``d`` (from ``sections``)."""
        tmp = State.from_plain({**d, "seq": self.seq, "ts": self.ts})
        for k in State.__slots__:
            if k not in GLOBAL_FIELDS:
                setattr(self, k, getattr(tmp, k))

    def copy(self) -> "State":
        return State.from_plain(self.to_plain())

    def comparable(self) -> dict[str, Any]:
        """Everything but seq/ts, sorted, for equality checks."""
        d = self.to_plain()
        d.pop("seq")
        d.pop("ts")
        return {k: (dict(sorted(v.items())) if isinstance(v, dict) else v) for k, v in d.items()}

    def label(self, addr: Optional[int]) -> str:
        if addr is None:
            return "-"
        name = self.labels.get(addr)
        return f"{name} @0x{addr:x}" if name else f"0x{addr:x}"
