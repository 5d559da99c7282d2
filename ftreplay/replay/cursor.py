"""Time travel over a stored run: seek, step, and continue to a SQL predicate.

``Cursor(store, run_id)`` holds the projected State at one seq.  A seek starts from the
nearest checkpoint at or before the target (a live snapshot stored every
``checkpoint_every`` events) and applies at most that many events; short moves apply or
undo events one by one.  Events come from DuckDB in blocks, cached around the cursor.
"Find" questions (next/previous event matching a predicate, of a kind, of a thread) are
answered by DuckDB, not by scanning in Python.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from typing import Any, Optional, Union

import duckdb
import msgspec

from ..errors import StoreError, UsageError
from ..record.events import FIELDS, KIND_ID, KINDS, Event, view_name
from ..record.store import Store
from .projection import apply, undo
from .state import (
    I_FLAGS, I_GIL, I_MAIN, I_OWN_GIL, I_OWN_OBMALLOC, I_WHENCE, MCACHE_SIZE_EXP, TC_NAME, TC_SEQ, TC_VALUE, TC_VERSION,
    State,
)

BLOCK = 1024  # events fetched per query
CACHE_BLOCKS = 64
SHORT_MOVE = 256  # at most this far, step event by event instead of seeking

_ckpt_decoder = msgspec.msgpack.Decoder()
# Events fetched as JSON arrays ``[kind, field, ...]`` (the structs' array form) decode
# straight into their structs.
_events_decoder = msgspec.json.Decoder(list[Union[tuple(KINDS)]])  # type: ignore[misc]


def _seq_of(e: Event) -> int:
    return e.seq


class Cursor:
    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.con = store.cursor()  # one DuckDB cursor per Cursor (thread-safe use)
        self.run_id = store.resolve_run(run_id)
        run = store.run(self.run_id)
        self.run = run
        self.total: int = run["events"] or 0
        self.end_ts: int = run["virtual_ns"] or 0
        self.state = State()
        self._blocks: OrderedDict[int, list[Event]] = OrderedDict()
        cols = [d[0] for d in self.con.execute("SELECT * FROM events LIMIT 0").description]
        self._columns = cols
        self._kind_col = cols.index("kind")
        # A store written by an older version lacks newer fields: those read as None.
        self._builders = {
            tag: (KINDS[kid], [cols.index(name) if name in cols else None for name in FIELDS[kid]])
            for tag, kid in KIND_ID.items()
        }
        self._ckpt_seqs = [r[0] for r in self.con.execute(
            "SELECT seq FROM checkpoints WHERE run_id = ? ORDER BY seq", [self.run_id]).fetchall()]
        # Blocks are read kind by kind from the raw tables this run has rows in: the union
        # view ``events`` scans every kind and pads every field, several times slower.
        self._kinds = []
        branches: list[str] = []
        complete = True
        for tag, kid in KIND_ID.items():
            table = "raw." + view_name(tag)
            try:
                if self.con.execute(f"SELECT 1 FROM {table} WHERE run_id = ? LIMIT 1", [self.run_id]).fetchone() is None:
                    continue
                names = [d[0] for d in self.con.execute(f"SELECT * FROM {table} LIMIT 0").description]
            except duckdb.Error:
                continue  # a store older than this kind
            idx = [names.index(name) if name in names else None for name in FIELDS[kid]]
            self._kinds.append((f"SELECT * FROM {table} WHERE run_id = ? AND seq BETWEEN ? AND ?", KINDS[kid], idx))
            if None in idx:
                complete = False  # a field this store lacks reads as None: row by row
            else:
                cols = ", ".join(f'"{name}"' for name in FIELDS[kid])
                branches.append(f"SELECT json_array('{tag}', {cols}) FROM {table} "
                                "WHERE run_id = $run AND seq BETWEEN $lo AND $hi")
        # Every kind in one query, each row one JSON array: one query instead of one per kind
        # (a DuckDB query costs ~0.7 ms before it reads anything; a seek reads ~60 kinds).
        self._union_sql = " UNION ALL ".join(branches) if complete and branches else None

    # -- events -----------------------------------------------------------------------------
    @property
    def seq(self) -> int:
        return self.state.seq

    def _row_to_event(self, row: tuple) -> Event:
        cls, idx = self._builders[row[self._kind_col]]
        return cls(*[row[i] if i is not None else None for i in idx])

    def _block(self, b: int) -> list[Event]:
        blk = self._blocks.get(b)
        if blk is None:
            self._fetch(b, b)
            blk = self._blocks[b]
        else:
            self._blocks.move_to_end(b)
        return blk

    def _fetch(self, first: int, last: int) -> None:
        """Load blocks first..last with one query (cheaper than one per block)."""
        lo, hi = first * BLOCK, (last + 1) * BLOCK - 1
        evs: Optional[list[Event]] = None
        if self._union_sql is not None:
            rows = self._sql(self._union_sql, {"run": self.run_id, "lo": lo, "hi": hi}).fetchall()
            try:
                evs = _events_decoder.decode("[" + ",".join([r[0] for r in rows]) + "]")
            except msgspec.ValidationError:
                evs = None  # a NULL where the struct wants a value (a damaged store): row by row
        if evs is None:
            evs = []
            params = [self.run_id, lo, hi]
            for sql, cls, idx in self._kinds:
                for r in self._sql(sql, params).fetchall():
                    evs.append(cls(*[r[i] if i is not None else None for i in idx]))
        evs.sort(key=_seq_of)
        blocks: dict[int, list[Event]] = {b: [] for b in range(first, last + 1)}
        for e in evs:
            blocks[e.seq // BLOCK].append(e)
        for b, blk in blocks.items():
            self._blocks[b] = blk
            self._blocks.move_to_end(b)
        while len(self._blocks) > CACHE_BLOCKS:
            self._blocks.popitem(last=False)

    def event(self, seq: int) -> Event:
        if not 0 <= seq < self.total:
            raise UsageError(f"seq {seq} is outside the run (0..{self.total - 1})")
        blk = self._block(seq // BLOCK)
        i = seq - (seq // BLOCK) * BLOCK
        if i >= len(blk) or blk[i].seq != seq:  # a recovered run may have gaps
            for e in blk:
                if e.seq == seq:
                    return e
            raise UsageError(f"event {seq} is missing from this (recovered) run")
        return blk[i]

    def events(self, lo: int, hi: int) -> list[Event]:
        """Events with lo <= seq <= hi, in seq order."""
        lo, hi = max(lo, 0), min(hi, self.total - 1)
        out: list[Event] = []
        if hi < lo:
            return out
        missing = [b for b in range(lo // BLOCK, hi // BLOCK + 1) if b not in self._blocks]
        if missing:
            self._fetch(missing[0], missing[-1])
        for b in range(lo // BLOCK, hi // BLOCK + 1):
            out.extend(e for e in self._block(b) if lo <= e.seq <= hi)
        return out

    # -- moving ------------------------------------------------------------------------------
    def seek(self, target: int) -> State:
        target = max(-1, min(target, self.total - 1))
        cur = self.state.seq
        if target == cur:
            return self.state
        if cur < target <= cur + SHORT_MOVE:
            self._forward(target)
        elif target < cur and cur - target <= SHORT_MOVE:
            self._backward(target)
        else:
            self._load_checkpoint(target)
            self._forward(target)
        return self.state

    def step(self, n: int = 1) -> State:
        return self.seek(self.state.seq + n)

    def _forward(self, target: int) -> None:
        st = self.state
        for e in self.events(st.seq + 1, target):
            apply(st, e, e.__struct_config__.tag)
        st.seq = target

    def _backward(self, target: int) -> None:
        st = self.state
        while st.seq > target:
            e = self.event(st.seq)
            prev_ts = self.event(st.seq - 1).ts if st.seq > 0 else 0
            undo(st, e, e.__struct_config__.tag, prev_ts)

    def _load_checkpoint(self, target: int) -> None:
        i = bisect.bisect_right(self._ckpt_seqs, target) - 1
        if i < 0:
            self.state = State()
            return
        seq = self._ckpt_seqs[i]
        (raw,) = self._sql("SELECT state FROM checkpoints WHERE run_id = ? AND seq = ?", [self.run_id, seq]).fetchone()
        ck_seq, plain = _ckpt_decoder.decode(raw)
        st = State.from_plain(plain)
        st.seq = ck_seq
        self.state = st

    # -- finding -----------------------------------------------------------------------------
    def find(self, predicate: str, forward: bool = True, start: Optional[int] = None,
             params: Optional[list[Any]] = None) -> Optional[int]:
        """The seq of the next (or previous) event after (before) ``start`` matching a SQL
        predicate over the ``events`` columns; None if there is none."""
        start = self.state.seq if start is None else start
        op, order = (">", "ASC") if forward else ("<", "DESC")
        sql = (f"SELECT seq FROM events WHERE run_id = ? AND seq {op} ? AND ({predicate}) "
               f"ORDER BY seq {order} LIMIT 1")
        row = self._sql(sql, [self.run_id, start] + list(params or []), what="predicate").fetchone()
        return row[0] if row else None

    def find_kind(self, kind: str, forward: bool = True, start: Optional[int] = None) -> Optional[int]:
        return self.find("kind = ?", forward, start, [kind])

    def find_thread(self, tid: int, forward: bool = True, start: Optional[int] = None) -> Optional[int]:
        return self.find("tid = ?", forward, start, [tid])

    def _sql(self, sql: str, params: Any, what: str = "query") -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, params)
        except duckdb.Error as e:
            text = str(e).strip().splitlines()[0]
            raise StoreError(f"bad {what}: {text}") from None


def state_to_json(st: State, cursor: Optional[Cursor] = None) -> dict[str, Any]:
    """A JSON-friendly view of a state (addresses as hex strings, names resolved)."""
    lab = st.labels

    def name(addr: Optional[int]) -> Optional[str]:
        return None if addr is None else lab.get(addr)

    def hx(addr: Optional[int]) -> Optional[str]:
        return None if addr is None else f"0x{addr:x}"

    return {
        "seq": st.seq,
        "ts": st.ts,
        "threads": [
            {"tid": t, "state": v[0], "phase": v[1], "parked_on": hx(v[2]), "parked_on_name": name(v[2])}
            for t, v in sorted(st.threads.items())
        ],
        "mutexes": [
            {"addr": hx(a), "name": name(a), "bits": v[0], "locked": bool(v[0] & 1), "has_parked": bool(v[0] & 2),
             "owner": v[1]}
            for a, v in sorted(st.mutexes.items())
        ],
        "words": [{"addr": hx(a), "name": name(a), "prim": v[0], "bits": v[1]} for a, v in sorted(st.words.items())],
        "recursive": [{"addr": hx(a), "name": name(a), "level": v[0], "owner": v[1]} for a, v in sorted(st.recursive.items())],
        "parking_lot": [
            {"bucket": b, "waiters": [{"tid": t, "addr": hx(a), "name": name(a)} for t, a in q]}
            for b, q in sorted(st.buckets.items())
        ],
        "guest": [{"addr": hx(a), "name": name(a), "value": v} for a, v in sorted(st.guest.items())],
        "objects": [
            {"obj": o, "type": r[0], "size": r[1], "gc": bool(r[2]), "block": hx(r[3]), "ob_tid": r[4],
             "ob_ref_local": r[5], "ob_ref_shared": r[6], "shared_count": r[6] >> 2, "shared_flags": r[6] & 3,
             "ob_gc_bits": r[7]}
            for o, r in sorted(st.objects.items())
        ],
        "brc": [{"tid": t, "bucket": r[0], "objects_to_merge": list(r[1]), "local_objects_to_merge": list(r[2])}
                for t, r in sorted(st.brc.items())],
        "eval_breaker": [{"tid": t, "bits": b} for t, b in sorted(st.eval_breaker.items())],
        "critical_sections": [
            {"tid": t, "stack": [{"cs": hx(e[0]), "tag": e[1], "mutex": hx(e[2]), "mutex2": hx(e[3]),
                                  "mutex_name": name(e[2])} for e in stack]}
            for t, stack in sorted(st.critical_sections.items())
        ],
        "failure": None if st.failure is None else {
            "reason": st.failure[0], "message": st.failure[1], "seq": st.failure[2]},
        "interpreters": interpreters_to_json(st),
        "lifecycle": lifecycle_to_json(st),
        "type_cache": [
            {"interp": k >> MCACHE_SIZE_EXP, "index": k & ((1 << MCACHE_SIZE_EXP) - 1), "version": r[TC_VERSION],
             "name": r[TC_NAME], "value": r[TC_VALUE],
             "sequence": st.words.get(r[TC_SEQ], ["seqlock", 0])[1], "sequence_addr": hx(r[TC_SEQ])}
            for k, r in sorted(st.type_cache.items())
        ],
    }


def lifecycle_to_json(st: State) -> dict[str, Any]:
    from .lifecycle import lifecycle_to_json as view

    return view(st)


def interpreters_to_json(st: State) -> list[dict[str, Any]]:
    """The main interpreter (its __main__ runs on thread 1) and the subinterpreters: which
    thread state runs __main__, the holder of the GIL each uses (its own, or main's), the thread
    states that belong to each."""
    main_thread = 1 if st.threads.get(1, [None, "deleted"])[1] != "deleted" else None
    out = [{"id": 0, "whence": "runtime", "feature_flags": None, "own_gil": True, "own_obmalloc": True,
            "main_thread": main_thread, "gil_holder": st.gil_holder,
            "threads": sorted(t for t, r in st.threads.items() if t not in st.interp_of and r[1] != "deleted")}]
    for i, r in sorted(st.interps.items()):
        out.append({"id": i, "whence": r[I_WHENCE], "feature_flags": r[I_FLAGS], "own_gil": r[I_OWN_GIL],
                    "own_obmalloc": r[I_OWN_OBMALLOC], "main_thread": r[I_MAIN],
                    "gil_holder": r[I_GIL] if r[I_OWN_GIL] else st.gil_holder,
                    "threads": sorted(t for t, it in st.interp_of.items() if it == i and st.threads[t][1] != "deleted")})
    return out


def event_to_json(e: Event) -> dict[str, Any]:
    d = {"kind": e.__struct_config__.tag}
    for f in e.__struct_fields__:
        d[f] = getattr(e, f)
    return d


__all__ = ["Cursor", "state_to_json", "event_to_json"]
