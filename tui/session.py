"""One run opened for the TUI: the store access its workers use.  No Textual here.

Each kind of work has its own DuckDB cursor and lock, so workers of different kinds run
side by side while two workers of one kind (an exclusive worker and the one it replaced,
which a thread cannot abandon mid-query) take turns:

- ``move``   the replay Cursor (seek, step, find): the one place the projected state lives,
             and the GC collection in progress where a move lands
- ``rows``   a second Cursor that reads event blocks for the event list
- ``lanes``  the thread-lane intervals of a window (and the stop-the-world pauses in it)
- ``query``  the SQL console (interruptible)
- ``objs``   object biographies (which events are about one object)

Every failure is an ``FtreplayError`` with a one-line message.
"""

from __future__ import annotations

import threading
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import duckdb

from ftreplay.errors import StoreError, UsageError
from ftreplay.analysis import gc as gc_queries
from ftreplay.analysis import queries
from ftreplay.record.store import Store
from ftreplay.replay.cursor import Cursor
from ftreplay.replay.state import State

from . import fmt
from .biography import Biography, is_block, parse_object_ref
from .timeline import Grid, LaneData, build, build_stw

SQL_ROW_LIMIT = 1000


def child(store: Store) -> Store:
    """A Store on its own DuckDB cursor: safe to use from one worker thread."""
    return Store(store.path, store.cursor(), store.read_only)


def _one_line(e: Exception) -> StoreError:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return StoreError(text)


@dataclass(frozen=True)
class Move:
    """A cursor move: ``seek`` to ``seq``, or find the next/previous event after/before
    ``seq`` that matches ``predicate`` (``find``), has the same kind (``kind``) or the same
    thread (``thread``) as the event at ``seq``."""

    how: str
    seq: int
    forward: bool = True
    predicate: str = ""
    # Event-list blocks to send along: blocks of ``block`` rows within ``span`` rows of where
    # the move lands, except those in ``have`` (so a far jump draws no placeholder rows).
    block: int = 0
    span: int = 0
    have: frozenset = frozenset()


@dataclass(frozen=True)
class Collection:
    """A GC collection in progress (its gc_collections row): ``number`` of ``total`` in the
    run; ``first_phase_seq`` is the collector's first gc.phase (None: the run ended first)."""

    start_seq: int
    reason: str
    requester: int
    end_seq: Optional[int]
    collected: Optional[int]
    objects_visited: int
    unreachable: int
    number: int
    total: int
    first_phase_seq: Optional[int]


@dataclass
class Moved:
    """Where a move landed: the state after event ``seq`` and that event.  ``found`` is
    False when a find matched nothing (``note`` says what)."""

    seq: int
    ts: int = 0
    state: Optional[State] = None
    event: Any = None
    found: bool = True
    note: str = ""
    rows: dict[int, list["EventRow"]] = field(default_factory=dict)
    collections: tuple[Collection, ...] = ()  # the GC collections in progress at ``seq``


@dataclass(frozen=True)
class EventRow:
    seq: int
    ts: int
    tid: int
    kind: str
    text: str
    obj: Optional[int] = None  # the event's obj column


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool
    seconds: float


@dataclass
class _Guarded:
    con: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


class Session:
    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._children = [child(store), child(store)]  # the two Cursors' stores
        nav = Cursor(self._children[0], run_id)
        self.run: dict[str, Any] = nav.run
        self.total: int = nav.total
        self.end_ts: int = nav.end_ts
        self._nav = _Guarded(nav)
        self._rows = _Guarded(Cursor(self._children[1], run_id))
        self._lanes = _Guarded(store.cursor())
        self._sql = _Guarded(store.cursor())
        self._objs = _Guarded(store.cursor())
        con = self._lanes.con
        try:
            self.threads: list[int] = [r[0] for r in con.execute(queries.THREADS, {"run": run_id}).fetchall()]
            self.labels: dict[int, str] = dict(con.execute(queries.LABELS, {"run": run_id}).fetchall())
            self.obj_names: dict[int, str] = dict(con.execute(queries.OBJECT_NAMES, {"run": run_id}).fetchall())
        except duckdb.Error as e:
            raise _one_line(e) from None
        self.has_stw: bool = self._any(queries.STW_PAUSE_COUNT)
        self.has_gc: bool = self._any(gc_queries.GC_COLLECTION_COUNT)
        self.has_gil: bool = self._any(gc_queries.GIL_USED)
        self.run["findings"] = self._findings()

    def _findings(self):
        """The run's stored ``ftreplay check`` findings (None: check never ran on this store)."""
        from ftreplay.analysis.detectors import load_findings

        try:
            return load_findings(self.store, self.run_id)
        except (StoreError, UsageError):
            return None

    def _any(self, count_sql: str) -> bool:
        """Whether a count over the run is positive; False when the store predates the table
        (opened read-only, so not migrated)."""
        try:
            return self._lanes.con.execute(count_sql, {"run": self.run_id}).fetchone()[0] > 0
        except duckdb.CatalogException:
            return False
        except duckdb.Error as e:
            raise _one_line(e) from None

    @classmethod
    def open(cls, store: Store, ref: str) -> "Session":
        """Resolve ``ref`` (a run id, a unique prefix, or 'latest') and open it."""
        return cls(store, child(store).resolve_run(ref))

    @property
    def failed(self) -> bool:
        return self.run.get("failure_seq") is not None

    @property
    def last(self) -> int:
        """The last seq of the run (-1 for an empty run)."""
        return self.total - 1

    def start_seq(self) -> int:
        """Where the replay opens: a failed run at its failure, any other at its first event."""
        fs = self.run.get("failure_seq")
        if fs is not None and 0 <= fs < self.total:
            return fs
        return 0 if self.total else -1

    def clamp(self, seq: int) -> int:
        return max(0 if self.total else -1, min(seq, self.last))

    # -- the replay cursor ------------------------------------------------------------------
    def move(self, m: Move, cancelled: Callable[[], bool] = lambda: False) -> Optional[Moved]:
        """Carry out a move; None when ``cancelled()`` says a newer move replaced it."""
        with self._nav.lock:
            if cancelled():
                return None
            cur: Cursor = self._nav.con
            if self.total == 0:
                return Moved(-1, 0, cur.state.copy(), None)
            if m.how == "seek":
                target: Optional[int] = self.clamp(m.seq)
            elif m.how == "find":
                target = cur.find(m.predicate, m.forward, m.seq)
                if target is None:
                    return Moved(m.seq, found=False, note=f"no {'later' if m.forward else 'earlier'} event matches the watch")
            elif m.how in ("kind", "thread"):
                at = self.clamp(m.seq)
                ev = cur.event(at)
                if m.how == "kind":
                    what = fmt.kind_of(ev)
                    target = cur.find_kind(what, m.forward, at)
                else:
                    what = f"event of {fmt.tid(ev.tid)}"
                    target = cur.find_thread(ev.tid, m.forward, at)
                if target is None:
                    return Moved(at, found=False, note=f"no {'later' if m.forward else 'earlier'} {what}")
            else:
                raise ValueError(f"unknown move {m.how!r}")
            if cancelled():
                return None
            st = cur.seek(target)
            moved = Moved(st.seq, st.ts, st.copy(), cur.event(st.seq) if st.seq >= 0 else None,
                          collections=self._collections_at(cur, st.seq))
            if m.block and st.seq >= 0:
                lo, hi = max(st.seq - m.span, 0) // m.block, min(st.seq + m.span, self.last) // m.block
                for b in range(lo, hi + 1):
                    if b not in m.have:
                        moved.rows[b] = self._format(cur.events(b * m.block, min((b + 1) * m.block - 1, self.last)))
            return moved

    def _collections_at(self, cur: Cursor, seq: int) -> tuple[Collection, ...]:
        if not self.has_gc or seq < 0:
            return ()
        try:
            rows = cur.con.execute(gc_queries.GC_COLLECTIONS_AT, {"run": self.run_id, "seq": seq}).fetchall()
        except duckdb.Error as e:
            raise _one_line(e) from None
        return tuple(Collection(*r) for r in rows)

    def watch_count(self, predicate: str) -> int:
        """How many events of the run match a watch predicate (checks that it is valid SQL)."""
        with self._sql.lock:
            try:
                row = self._sql.con.execute(queries.WATCH_COUNT.format(predicate=predicate), {"run": self.run_id}).fetchone()
            except duckdb.Error as e:
                raise StoreError(f"bad predicate: {_one_line(e)}") from None
        return int(row[0])

    # -- the event list ---------------------------------------------------------------------
    def rows(self, lo: int, hi: int) -> list[EventRow]:
        """Display rows of the events lo..hi (inclusive)."""
        with self._rows.lock:
            events = self._rows.con.events(lo, hi)
        return self._format(events)

    def _format(self, events) -> list[EventRow]:
        labels, names = self.labels, self.obj_names
        return [EventRow(e.seq, e.ts, e.tid, fmt.kind_of(e), fmt.summary(e, labels, names), getattr(e, "obj", None))
                for e in events]

    # -- object biographies -------------------------------------------------------------------
    def biography(self, text: str, at: int) -> Biography:
        """The biography of the object ``text`` names: an obj id (``5``, ``#5``), a block
        address (``0x...``: the object created there nearest seq ``at``) or an object's name
        (several objects of one name: the one created nearest ``at``)."""
        try:
            ref = parse_object_ref(text)
        except ValueError as e:
            raise UsageError(str(e)) from None
        run = {"run": self.run_id}
        with self._objs.lock:
            con = self._objs.con
            try:
                if isinstance(ref, int):
                    obj = ref
                elif is_block(ref):
                    row = con.execute(queries.OBJECT_AT_BLOCK, {**run, "block": int(ref, 16), "at": at}).fetchone()
                    if row is None:
                        raise UsageError(f"no object was created at {ref}")
                    obj = row[0]
                else:
                    obj = self._object_named(con, ref, at)
                born = con.execute(queries.OBJECT_BORN, {**run, "obj": obj}).fetchone()
                seqs = array("q")
                cur = con.execute(queries.OBJECT_EVENTS, {**run, "obj": obj})
                while chunk := cur.fetchmany(65536):
                    seqs.extend(r[0] for r in chunk)
            except duckdb.Error as e:
                raise _one_line(e) from None
        if born is None and not seqs:
            raise UsageError(f"no object #{obj} in this run")
        return Biography(obj, born[1] if born else "", self.obj_names.get(obj, ""), born[0] if born else None, seqs)

    def _object_named(self, con, name: str, at: int) -> int:
        objs = [o for o, n in self.obj_names.items() if n == name]
        if not objs:
            raise UsageError(f"no object is named {name!r} (give an obj id such as #5, or a block address)")
        if len(objs) == 1:
            return objs[0]
        born = {}
        for o in sorted(objs)[:100]:
            row = con.execute(queries.OBJECT_BORN, {"run": self.run_id, "obj": o}).fetchone()
            if row is not None:
                born[o] = row[0]
        before = [o for o, seq in born.items() if seq <= at]
        if before:
            return max(before, key=born.__getitem__)
        return min(born, key=born.__getitem__) if born else objs[0]

    # -- thread lanes -----------------------------------------------------------------------
    def lanes(self, grid: Grid, c0: int, c1: int) -> LaneData:
        seq_axis = grid.axis == "seq"
        sql = queries.LANES_BY_SEQ if seq_axis else queries.LANES_BY_TIME
        params = {"run": self.run_id, "w": grid.w, "c0": c0, "c1": c1}
        stw_rows: list = []
        with self._lanes.lock:
            try:
                rows = self._lanes.con.execute(sql, params).fetchall()
                if self.has_stw:
                    stw_sql = queries.STW_LANE_BY_SEQ if seq_axis else queries.STW_LANE_BY_TIME
                    stw_rows = self._lanes.con.execute(stw_sql, params).fetchall()
            except duckdb.Error as e:
                raise _one_line(e) from None
        return build_stw(build(grid, c0, c1, rows), stw_rows)

    # -- the SQL console --------------------------------------------------------------------
    def query(self, sql: str, limit: int = SQL_ROW_LIMIT) -> QueryResult:
        """Run read-only SQL; at most ``limit`` rows are fetched.  ``$run`` binds this run's id."""
        params = {"run": self.run_id} if "$run" in sql else None
        t0 = time.perf_counter()
        with self._sql.lock:
            try:
                cur = self._sql.con.execute(sql, params) if params else self._sql.con.execute(sql)
                if cur.description is None:
                    return QueryResult([], [], False, time.perf_counter() - t0)
                cols = [d[0] for d in cur.description]
                rows = cur.fetchmany(limit + 1)
            except duckdb.Error as e:
                raise _one_line(e) from None
        return QueryResult(cols, rows[:limit], len(rows) > limit, time.perf_counter() - t0)

    def interrupt_query(self) -> None:
        """Stop a running console query (it then fails with an 'interrupted' error)."""
        try:
            self._sql.con.interrupt()
        except duckdb.Error:
            pass

    def close(self) -> None:
        """Close every cursor, each after the worker using it (if any) is done with it."""
        self.interrupt_query()
        for g in (self._nav, self._rows, self._lanes, self._sql, self._objs):
            got = g.lock.acquire(timeout=5)
            try:
                con = g.con.con if isinstance(g.con, Cursor) else g.con
                con.close()
            except duckdb.Error:
                pass
            finally:
                if got:
                    g.lock.release()
        for c in self._children:
            try:
                c.close()
            except duckdb.Error:
                pass
