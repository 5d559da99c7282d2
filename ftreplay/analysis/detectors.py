"""Offline detectors over one stored run: dangers that did not (necessarily) fire.

    lock_order      lock-order inversions (potential deadlocks): a graph with an edge
                    A -> B whenever a thread acquires PyMutex B, or parks waiting for it,
                    while holding A; a cycle
                    whose edges come from different threads, with no common "gate" lock
                    held around both, is reported even if this schedule never deadlocked.
    race            happens-before data races on guest-level plain fields (guest.load /
                    guest.store), with vector clocks (FastTrack-style epochs): PyMutex
                    release -> acquire, lock words (PyEvent, once flags, rwmutex,
                    seqlock, raw mutex) as read-modify-write, parking-lot unpark -> the woken
                    thread's wake, thread creation -> the new thread, thread exit -> join,
                    stop-the-world (everyone -> the requester at the stop, the requester
                    -> everyone at the restart) and the GIL (drop -> take).  Two accesses
                    to one field by different threads, at least one a store, unordered
                    by those edges, are a race.
                    The log holds no event for an atomic load that finds a PyEvent or
                    once flag already set (the waiter's fast path), so that ordering is not
                    seen: a field published only through such a check can be reported.
    lost_wait       a thread parked without a timeout and never woken by the run's end;
                    an earlier unpark of the same address that found nobody waiting is
                    named (a wake-up that came too early).
    invariant:NAME  the memory invariants of ``analysis.invariants`` (refcounts, QSBR,
                    allocator) and the stop-the-world ones of ``analysis.stw``.

The event stream is read once in seq order in chunks (``STREAM``); findings are
``Finding(detector, severity, message, seqs, tids, addrs)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ..record.store import Store

MAX_RACES = 50  # reported per run (each field and pair of threads once)

STREAM = """
SELECT seq, tid, 'acquire' AS op, mutex AS a, NULL::BIGINT AS b, NULL::VARCHAR AS s FROM lock_acquire WHERE run_id = $run
UNION ALL SELECT seq, tid, 'release', mutex, NULL, NULL FROM lock_release WHERE run_id = $run
UNION ALL SELECT seq, tid, 'load', addr, NULL, NULL FROM guest_load WHERE run_id = $run
UNION ALL SELECT seq, tid, 'store', addr, NULL, NULL FROM guest_store WHERE run_id = $run
UNION ALL SELECT seq, tid, 'word', addr, NULL, NULL FROM lock_word WHERE run_id = $run
UNION ALL SELECT seq, tid, 'park', addr, timeout_ns, NULL FROM parking_lot_park WHERE run_id = $run
UNION ALL SELECT seq, tid, 'unpark', addr, woken, NULL FROM parking_lot_unpark WHERE run_id = $run
UNION ALL SELECT seq, tid, 'wake', addr, NULL, result FROM parking_lot_wake WHERE run_id = $run
UNION ALL SELECT seq, tid, 'new_thread', thread, NULL, NULL FROM pystate_new_thread WHERE run_id = $run
UNION ALL SELECT seq, tid, 'exit', thread, NULL, NULL FROM thread_exit WHERE run_id = $run
UNION ALL SELECT seq, tid, 'join', thread, NULL, NULL FROM thread_join WHERE run_id = $run
UNION ALL SELECT seq, tid, 'stop', requester, NULL, scope FROM pystate_stop_the_world WHERE run_id = $run
UNION ALL SELECT seq, tid, 'start', requester, NULL, scope FROM pystate_start_the_world WHERE run_id = $run
UNION ALL SELECT seq, tid, 'gil_take', thread, NULL, NULL FROM ceval_gil_take WHERE run_id = $run
UNION ALL SELECT seq, tid, 'gil_drop', thread, NULL, NULL FROM ceval_gil_drop WHERE run_id = $run
UNION ALL SELECT seq, tid, 'label', addr, NULL, label FROM run_label WHERE run_id = $run
ORDER BY seq
"""


@dataclass
class Finding:
    detector: str
    severity: str  # 'error' | 'warning'
    message: str
    seqs: list[int] = field(default_factory=list)
    tids: list[int] = field(default_factory=list)
    addrs: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"detector": self.detector, "severity": self.severity, "message": self.message,
                "seqs": self.seqs, "tids": self.tids, "addrs": self.addrs}


class _Analysis:
    """The state of one pass over a run's events."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        # lock order: per thread the mutexes it holds (acquisition order, with the seq)
        self.held: dict[int, list[tuple[int, int]]] = {}
        self.mutexes: set[int] = set()  # addresses seen in lock.acquire / lock.release
        # (a, b) -> {tid: (seq of a's acquire, seq of b's acquire, other locks held)}
        self.edges: dict[tuple[int, int], dict[int, tuple[int, int, frozenset]]] = {}
        # happens-before
        self.vc: dict[int, dict[int, int]] = {}
        self.lock_vc: dict[int, dict[int, int]] = {}
        self.word_vc: dict[int, dict[int, int]] = {}
        self.start_vc: dict[int, dict[int, int]] = {}
        self.exit_vc: dict[int, dict[int, int]] = {}
        self.unpark_vc: dict[int, dict[int, int]] = {}
        self.gil_vc: dict[int, int] = {}
        self.last_write: dict[int, tuple[int, int, int]] = {}  # addr -> (tid, epoch, seq)
        self.reads: dict[int, dict[int, tuple[int, int]]] = {}  # addr -> tid -> (epoch, seq)
        self.races: list[Finding] = []
        self.race_keys: set = set()
        # waits
        self.parked: dict[int, tuple[int, int, Optional[int]]] = {}  # tid -> (seq, addr, timeout)
        self.empty_unpark: dict[int, int] = {}  # addr -> seq of the latest unpark that woke nobody

    def name(self, addr: int) -> str:
        n = self.names.get(addr)
        return n if n else f"0x{addr:x}"

    # -- vector clocks --------------------------------------------------------------------
    def clock(self, tid: int) -> dict[int, int]:
        c = self.vc.get(tid)
        if c is None:
            c = dict(self.start_vc.pop(tid, {}))
            c[tid] = c.get(tid, 0) + 1
            self.vc[tid] = c
        return c

    @staticmethod
    def join(into: dict[int, int], other: Optional[dict[int, int]]) -> None:
        if other:
            for t, v in other.items():
                if into.get(t, 0) < v:
                    into[t] = v

    def release(self, tid: int) -> dict[int, int]:
        """A copy of tid's clock to hand over, then tid's epoch advances."""
        c = self.clock(tid)
        out = dict(c)
        c[tid] += 1
        return out

    # -- one event --------------------------------------------------------------------------
    def step(self, seq: int, tid: int, op: str, a: Optional[int], b: Optional[int], s: Optional[str]) -> None:
        if op == "acquire":
            self.mutexes.add(a)
            held = self.held.setdefault(tid, [])
            self.order_edges(tid, a, seq, held)
            held.append((a, seq))
            self.join(self.clock(tid), self.lock_vc.get(a))
        elif op == "release":
            self.mutexes.add(a)
            held = self.held.get(tid, [])
            for i in range(len(held) - 1, -1, -1):
                if held[i][0] == a:
                    del held[i]
                    break
            else:
                for other in self.held.values():
                    for i, (m, _) in enumerate(other):
                        if m == a:
                            del other[i]
                            break
            self.lock_vc[a] = self.release(tid)
        elif op == "load" or op == "store":
            self.access(seq, tid, a, op == "store")
        elif op == "word":
            c = self.clock(tid)
            self.join(c, self.word_vc.get(a))
            self.word_vc[a] = self.release(tid)
        elif op == "park":
            self.parked[tid] = (seq, a, b)
            if a in self.mutexes:  # waiting to take a mutex: the order counts even if it never gets it
                self.order_edges(tid, a, seq, self.held.get(tid, []))
        elif op == "unpark":
            if b is None:
                self.empty_unpark[a] = seq
            else:
                self.unpark_vc[b] = self.release(tid)
        elif op == "wake":
            self.parked.pop(tid, None)
            self.join(self.clock(tid), self.unpark_vc.pop(tid, None))
        elif op == "new_thread":
            if a != tid:
                self.start_vc[a] = self.release(tid)
        elif op == "exit":
            self.exit_vc[a] = self.release(tid)
        elif op == "join":
            self.join(self.clock(tid), self.exit_vc.get(a))
        elif op == "stop":
            c = self.clock(tid)
            for t, other in self.vc.items():
                if t != tid:
                    self.join(c, other)
        elif op == "start":
            c = self.release(tid)
            for t, other in self.vc.items():
                if t != tid:
                    self.join(other, c)
        elif op == "gil_drop":
            self.gil_vc = self.release(tid)
        elif op == "gil_take":
            self.join(self.clock(tid), self.gil_vc)
        elif op == "label":
            self.names[a] = s or ""

    def order_edges(self, tid: int, m: int, seq: int, held: list[tuple[int, int]]) -> None:
        locks = frozenset(h for h, _ in held)
        for h, hseq in held:
            if h != m:
                ex = self.edges.setdefault((h, m), {})
                if tid not in ex:
                    ex[tid] = (hseq, seq, locks - {h})

    def access(self, seq: int, tid: int, addr: int, write: bool) -> None:
        c = self.clock(tid)
        w = self.last_write.get(addr)
        if w is not None and w[0] != tid and w[1] > c.get(w[0], 0):
            self.race(addr, w[0], w[2], "store", tid, seq, "store" if write else "load")
        reads = self.reads.get(addr)
        if write:
            if reads:
                for u, (ep, rseq) in reads.items():
                    if u != tid and ep > c.get(u, 0):
                        self.race(addr, u, rseq, "load", tid, seq, "store")
            self.last_write[addr] = (tid, c[tid], seq)
            self.reads[addr] = {}
        else:
            if reads is None:
                reads = self.reads[addr] = {}
            reads[tid] = (c[tid], seq)

    def race(self, addr: int, t1: int, s1: int, op1: str, t2: int, s2: int, op2: str) -> None:
        key = (addr, min(t1, t2), max(t1, t2), op1, op2)
        if key in self.race_keys or len(self.races) >= MAX_RACES:
            return
        self.race_keys.add(key)
        self.races.append(Finding(
            "race", "error",
            f"data race on {self.name(addr)}: {op1} by T{t1} at seq {s1} and {op2} by T{t2} at seq {s2} "
            f"are not ordered by any lock, event, hand-off, join or pause",
            [s1, s2], [t1, t2], [addr],
        ))

    # -- results --------------------------------------------------------------------------
    def lock_cycles(self) -> list[Finding]:
        out: list[Finding] = []
        graph: dict[int, set[int]] = {}
        for a, b in self.edges:
            graph.setdefault(a, set()).add(b)
        seen: set = set()
        for start in sorted(graph):
            # simple cycles through ``start`` whose other nodes are all > start, up to 4 locks
            stack: list[tuple[int, list[int]]] = [(start, [start])]
            while stack:
                node, path = stack.pop()
                for nxt in sorted(graph.get(node, ())):
                    if nxt == start and len(path) >= 2:
                        cyc = tuple(path)
                        if cyc not in seen:
                            seen.add(cyc)
                            f = self._cycle_finding(list(cyc))
                            if f is not None:
                                out.append(f)
                    elif nxt > start and nxt not in path and len(path) < 4:
                        stack.append((nxt, path + [nxt]))
        return out

    def _cycle_finding(self, cyc: list[int]) -> Optional[Finding]:
        """Pick one example per edge, from pairwise different threads with disjoint gate
        locks; None when no such choice exists (one thread's own order, or a gate lock)."""
        edges = [(cyc[i], cyc[(i + 1) % len(cyc)]) for i in range(len(cyc))]
        options = [sorted(self.edges[e].items()) for e in edges]

        def choose(i: int, used: list[tuple[int, tuple]]) -> Optional[list]:
            if i == len(options):
                return used
            for tid, ex in options[i]:
                if any(tid == t for t, _ in used) or any(ex[2] & e[2] for _, e in used):
                    continue
                got = choose(i + 1, used + [(tid, ex)])
                if got is not None:
                    return got
            return None

        picked = choose(0, [])
        if picked is None:
            return None
        parts = []
        seqs: list[int] = []
        for (a, b), (tid, (sa, sb, _gate)) in zip(edges, picked):
            parts.append(f"T{tid} takes {self.name(b)} (seq {sb}) while holding {self.name(a)} (taken at seq {sa})")
            seqs += [sa, sb]
        return Finding(
            "lock_order", "warning",
            "lock-order inversion (potential deadlock): " + "; ".join(parts),
            sorted(seqs), [t for t, _ in picked], list(cyc),
        )

    def lost_waits(self, end_seq: int, deadlock: bool) -> list[Finding]:
        out = []
        tail = " — part of the run's deadlock" if deadlock else ""
        for tid in sorted(self.parked):
            seq, addr, timeout = self.parked[tid]
            if timeout is not None:
                continue
            early = self.empty_unpark.get(addr)
            hint = (f"; the unpark of it at seq {early} found nobody waiting (the wake-up came first)"
                    if early is not None and early < seq else "")
            seqs = ([early] if early is not None and early < seq else []) + [seq]
            out.append(Finding(
                "lost_wait", "error",
                f"T{tid} parked on {self.name(addr)} at seq {seq} with no timeout and was never woken "
                f"(run ends at seq {end_seq}){hint}{tail}",
                seqs, [tid], [addr],
            ))
        return out


def _stream(store: "Store", run_id: str, chunk: int = 65536):
    from ..errors import StoreError

    try:
        cur = store.cursor()
        cur.execute(STREAM, {"run": run_id})
    except Exception as e:  # duckdb.Error: one line
        raise StoreError(f"detectors: {str(e).splitlines()[0]}") from None
    try:
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                return
            yield from rows
    finally:
        cur.close()


def _invariant_findings(store: "Store", run_id: str) -> list[Finding]:
    from .invariants import MEMORY_INVARIANTS
    from .stw import STW_INVARIANTS

    out: list[Finding] = []
    for name, sql in list(MEMORY_INVARIANTS.items()) + list(STW_INVARIANTS.items()):
        cols, rows = store.query(sql, {"run": run_id})
        for row in rows[:MAX_RACES]:
            rec = dict(zip(cols, row))
            seqs: list[int] = []
            for c, v in rec.items():
                if c == "seq" or c.endswith("_seq"):
                    if isinstance(v, int):
                        seqs.append(v)
                elif c == "seqs" and isinstance(v, list):
                    seqs += [x for x in v if isinstance(x, int)]
            tids = [v for c, v in rec.items() if c in ("tid", "thread", "requester") and isinstance(v, int)]
            addrs = [v for c, v in rec.items() if c in ("obj", "page", "block") and isinstance(v, int)]
            text = ", ".join(f"{c}={v}" for c, v in rec.items())
            out.append(Finding(f"invariant:{name}", "error", f"{name}: {text}", sorted(set(seqs)), tids, addrs))
    return out


def run_detectors(store: "Store", run_id: str) -> list[Finding]:
    """Every detector on stored run ``run_id``, in a fixed order."""
    an = _Analysis()
    last = -1
    step = an.step
    for seq, tid, op, a, b, s in _stream(store, run_id):
        step(seq, tid, op, a, b, s)
        last = seq
    _c, rows = store.query("SELECT events, failure_reason FROM runs WHERE run_id = ?", [run_id])
    end = (rows[0][0] - 1) if rows and rows[0][0] else last
    deadlock = bool(rows) and rows[0][1] == "deadlock"
    return an.lock_cycles() + an.races + an.lost_waits(end, deadlock) + _invariant_findings(store, run_id)


def store_findings(store: "Store", run_id: str, findings: list[Finding]) -> None:
    """Replace the run's rows in ``findings``."""
    from .tables import ensure

    ensure(store)
    con = store.con
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM findings WHERE run_id = ?", [run_id])
        for i, f in enumerate(findings):
            con.execute("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, i, f.detector, f.severity, f.message, f.seqs, f.tids, f.addrs])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


FINDINGS_OF_RUN = """
SELECT n, detector, severity, message, seqs, tids, addrs FROM findings WHERE run_id = $run ORDER BY n
"""


def load_findings(store: "Store", run_id: str) -> Optional[list[Finding]]:
    """The stored findings of a run; None if ``check`` never ran on this store."""
    from .tables import exists

    if not exists(store, "findings"):
        return None
    _c, rows = store.query(FINDINGS_OF_RUN, {"run": run_id})
    return [Finding(d, s, m, list(q or []), list(t or []), list(a or [])) for _n, d, s, m, q, t, a in rows]
