"""The Python API: the store, its runs and time travel, for notebooks and scripts.

::

    import ftreplay.api as ft

    store = ft.open("notebook.duckdb", write=True)      # read-only unless write=True
    run = store.record("stw_storm", seed=3)             # a Run: run_id, status, events, hash, failure
    store.sql("SELECT kind, count(*) FROM events WHERE run_id = $run GROUP BY ALL", run=run.run_id)
    store.events(run.run_id, kind="lock.acquire").to_arrow_table()   # or .pl() (polars), .df() (pandas)
    cur = store.cursor(run.run_id)
    cur.find_next("kind = 'pystate.stw_request'"); cur.state()["stw"]; cur.step(-1)
    store.explore("join_race", bugs=["join_tstate_lock_race"], strategy="pct", runs=100)

``sql`` and ``events`` return DuckDB relations: nothing is read until you fetch, print or
convert one, and ``to_arrow_reader()`` streams a large result in batches.  The store is one
DuckDB connection; DuckDB lets a file have one writer or many readers, so a store opened
read-only here shares the file with ``ftreplay query`` and the TUI, and ``record`` /
``explore`` on a read-only store close it for the write and open it again (relations made
before then must be fetched again).  Importing this module loads DuckDB; ``import
ftreplay`` alone stays light.
"""

from __future__ import annotations

import builtins
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from .errors import StoreError, UsageError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from .record.store import Store as _Store
    from .replay.cursor import Cursor as _Cursor

__all__ = ["Store", "Run", "Cursor", "open"]


@dataclass(frozen=True)
class Run:
    """One stored run (a row of ``runs``)."""

    run_id: str
    scenario: str
    seed: int
    strategy: str
    bugs: tuple[str, ...]
    status: str  # 'ok' | 'failed' | 'incomplete'
    events: int
    hash: str
    failure: Optional[dict[str, Any]]  # {reason, message, seq} or None

    @classmethod
    def _from_row(cls, r: dict[str, Any]) -> "Run":
        failure = None
        if r.get("failure_reason"):
            failure = {"reason": r["failure_reason"], "message": r["failure_message"], "seq": r.get("failure_seq")}
        return cls(r["run_id"], r["scenario"], r["seed"], r["strategy"], tuple(r["bugs"] or ()), r["status"],
                   r["events"], r["hash"], failure)


def open(db: Optional[str] = None, *, write: bool = False) -> "Store":  # noqa: A001 - ft.open reads well
    """Open a store: ``db`` (default ``$FTREPLAY_DB`` or ``recordings/ftreplay.duckdb``).
    Read-only unless ``write``; a writable store is created if missing."""
    return Store(db, write=write)


class Store:
    """A DuckDB store of runs.  Use as a context manager or call ``close()``."""

    def __init__(self, db: Optional[str] = None, *, write: bool = False) -> None:
        from .record.store import default_db

        self.path: str = db or default_db()
        self.write = write
        self._store: Optional[_Store] = None
        self._open()

    def _open(self) -> None:
        from .record.store import Store as _Store

        self._store = _Store.open(self.path, read_only=not self.write)

    @property
    def con(self) -> "duckdb.DuckDBPyConnection":
        """The DuckDB connection (read-only unless the store was opened with ``write=True``)."""
        if self._store is None:
            raise StoreError("the store is closed")
        return self._store.con

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ftreplay store {self.path!r}{' (writable)' if self.write else ''}>"

    # -- runs ---------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        """Every run, oldest first."""
        cur = self.con.execute("SELECT * FROM runs ORDER BY created, run_id")
        cols = [d[0] for d in cur.description]
        return [Run._from_row(dict(zip(cols, r))) for r in cur.fetchall()]

    def run(self, ref: str = "latest") -> Run:
        """A run by id, unique prefix or 'latest'."""
        run_id = self._resolve(ref)
        return Run._from_row(self._store.run(run_id))  # type: ignore[union-attr]

    # -- SQL ----------------------------------------------------------------------------------
    def sql(self, query: str, params: Optional[Union[Sequence[Any], dict[str, Any]]] = None,
            **named: Any) -> "duckdb.DuckDBPyRelation":
        """A DuckDB relation for ``query``; values bind as ``?`` (``params``) or ``$name`` (keywords)."""
        import duckdb

        if params is not None and named:
            raise UsageError("bind values either by position (params) or by name (keywords), not both")
        bind = dict(named) if named else (params if params is not None else None)
        try:  # a cursor of its own: the relation runs whenever it is fetched, whatever else ran
            return self._store.cursor().sql(query, params=bind)
        except duckdb.Error as e:
            raise StoreError(str(e).strip().splitlines()[0]) from None

    def events(self, run: str, kind: Optional[str] = None) -> "duckdb.DuckDBPyRelation":
        """A run's events by seq: every column of ``events``, or only those of one ``kind``
        (``'lock.acquire'``: the kind's own fields)."""
        from .record.events import KIND_ID, view_name

        run_id = self._resolve(run)
        if kind is None:
            return self.sql("SELECT * FROM events WHERE run_id = ? ORDER BY seq", [run_id])
        if kind not in KIND_ID:
            raise UsageError(f"unknown event kind {kind!r} (see schemas/ or the events view's kind column)")
        return self.sql(f"SELECT * FROM main.{view_name(kind)} WHERE run_id = ? ORDER BY seq", [run_id])

    def arrow(self, run: str, kind: Optional[str] = None) -> "pa.Table":
        """``events(run, kind)`` as an Arrow table (reads it all: prefer ``events(...)`` for big runs)."""
        rel = self.events(run, kind)
        return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()

    def _resolve(self, ref: str) -> str:
        if self._store is None:
            raise StoreError("the store is closed")
        return self._store.resolve_run(ref)

    # -- time travel --------------------------------------------------------------------------
    def cursor(self, run: str = "latest") -> "Cursor":
        """A Cursor over one run, before its first event."""
        from .replay.cursor import Cursor as _ReplayCursor

        assert self._store is not None
        return Cursor(_ReplayCursor(self._store, run))

    # -- recording and exploring ----------------------------------------------------------------
    def record(self, scenario: str, *, seed: int = 1, strategy: str = "random", bugs: Sequence[str] = (),
               args: Optional[dict[str, Any]] = None, knobs: Optional[dict[str, Any]] = None) -> Run:
        """Run a scenario on the model and store it (as ``ftreplay record`` does)."""
        from .explore import record_schedule
        from .record.session import make_meta

        meta = make_meta(scenario, seed=seed, strategy=strategy, args=_text(args), knobs=_text(knobs),
                         bugs=list(bugs))
        with self._writer() as store:
            rec = record_schedule(store, meta, None)
        return self.run(rec["run_id"])

    def explore(self, scenario: str, *, runs: int = 100, strategy: str = "pct", bugs: Sequence[str] = (),
                args: Optional[dict[str, Any]] = None, knobs: Optional[dict[str, Any]] = None,
                jobs: int = 1, cluster: Optional[str] = None, first_seed: int = 1,
                until_failure: bool = False, preemption_bound: Optional[int] = None,
                **options: Any) -> dict[str, Any]:
        """Run ``runs`` seeds and store the failing ones; returns ``ftreplay explore --json``'s
        summary.  ``cluster``: ``'local'`` or ``'dask://HOST:PORT'`` (needs the ``cluster`` extra)."""
        from .explore import ExploreSpec, explore

        extra = {} if preemption_bound is None else {"preemption_bound": preemption_bound}
        spec = ExploreSpec(scenario=scenario, strategy=strategy, bugs=tuple(bugs),
                           args=tuple(_text(args).items()), knobs=tuple(_text(knobs).items()), **extra)
        self.close()
        try:
            if cluster is not None:
                from .cluster import cluster_executor

                with cluster_executor(cluster, jobs) as ex:
                    return explore(spec, runs=runs, jobs=jobs, db=self.path, first_seed=first_seed,
                                   until_failure=until_failure, executor=ex, **options)
            return explore(spec, runs=runs, jobs=jobs, db=self.path, first_seed=first_seed,
                           until_failure=until_failure, **options)
        finally:
            self._open()

    def _writer(self) -> "_WriteSession":
        return _WriteSession(self)

    # -- export ---------------------------------------------------------------------------------
    def export_perfetto(self, run: str, path: str, max_objects: Optional[int] = None) -> dict[str, int]:
        """Write a run as a Perfetto (Chrome JSON) trace; returns counts by phase."""
        from .export.perfetto import DEFAULT_MAX_OBJECTS, write_trace

        assert self._store is not None
        with _new_file(path) as f:
            return write_trace(self._store, self._resolve(run), f,
                               DEFAULT_MAX_OBJECTS if max_objects is None else max_objects)

    def export_parquet(self, runs: Sequence[str], folder: str) -> list[str]:
        """Write runs into a Parquet folder (partitioned by run); returns their ids."""
        from .export.parquet import export_parquet

        assert self._store is not None
        return [r.run_id for r in export_parquet(self._store, [self._resolve(r) for r in runs], folder)]


class _WriteSession:
    """The store's writable connection for one write: its own, or (read-only store) a
    writable one opened after closing it, and the read-only one opened again after."""

    def __init__(self, owner: Store) -> None:
        self.owner = owner
        self.store: Optional[_Store] = None

    def __enter__(self) -> "_Store":
        from .record.store import Store as _Store

        if self.owner.write:
            assert self.owner._store is not None
            return self.owner._store
        self.owner.close()
        try:
            self.store = _Store.open(self.owner.path, read_only=False)
        except BaseException:
            self.owner._open()
            raise
        return self.store

    def __exit__(self, *exc: Any) -> None:
        if self.store is not None:
            self.store.close()
            self.owner._open()


class _new_file:
    """A new file (never an existing one), removed again if the write fails."""

    def __init__(self, path: str) -> None:
        if os.path.exists(path):
            raise UsageError(f"{path} already exists")
        self.path = path

    def __enter__(self):
        self.f = builtins.open(self.path, "xb")
        return self.f

    def __exit__(self, exc_type, *exc: Any) -> None:
        self.f.close()
        if exc_type is not None:
            os.unlink(self.path)


def _text(d: Optional[dict[str, Any]]) -> dict[str, str]:
    """Scenario arguments and knobs as the command line gives them (the parser checks them)."""
    return {k: str(v) for k, v in (d or {}).items()}


class Cursor:
    """Time travel over one run: the state after any event, forward and backward.

    ``seq`` is the last applied event (-1: before the first).  Moves return the new seq;
    ``state()`` and ``event()`` describe where the cursor is."""

    def __init__(self, cursor: "_Cursor") -> None:
        self._c = cursor
        self.run_id: str = cursor.run_id
        self.total: int = cursor.total

    @property
    def seq(self) -> int:
        return self._c.seq

    def seek(self, seq: int) -> int:
        """Go to the state after event ``seq`` (clamped to -1 .. total-1)."""
        return self._c.seek(seq).seq

    def step(self, n: int = 1) -> int:
        """Move ``n`` events forward (negative: backward)."""
        return self._c.step(n).seq

    def find_next(self, predicate: str, *params: Any) -> Optional[int]:
        """Continue to the next event matching a SQL predicate over the ``events`` columns
        (``?`` binds ``params``); returns its seq, or None (the cursor stays)."""
        seq = self._c.find(predicate, True, None, list(params))
        if seq is not None:
            self._c.seek(seq)
        return seq

    def find_prev(self, predicate: str, *params: Any) -> Optional[int]:
        """Go back to the previous event matching the predicate (see ``find_next``)."""
        seq = self._c.find(predicate, False, None, list(params))
        if seq is not None:
            self._c.seek(seq)
        return seq

    def event(self) -> Optional[dict[str, Any]]:
        """The event at the cursor (the last applied), as a dict; None before the first."""
        from .replay.cursor import event_to_json

        return event_to_json(self._c.event(self.seq)) if self.seq >= 0 else None

    def state(self) -> dict[str, Any]:
        """The runtime state at the cursor: threads, mutexes, parking lot, objects, QSBR,
        stop-the-world, GC, failure (the dict ``ftreplay state --json`` prints)."""
        from .replay.cursor import state_to_json

        return state_to_json(self._c.state, self._c)

    def __repr__(self) -> str:
        return f"<ftreplay cursor {self.run_id} at seq {self.seq} of {self.total}>"
