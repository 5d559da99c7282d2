"""``ftreplay export``: a stored run as a Perfetto trace, a Parquet folder or its .ftlog."""

from __future__ import annotations

import json
import os
import sys

from ..errors import UsageError

EPILOG = """examples:
  ftreplay export mutex_counter-1 --format perfetto -o mutex_counter-1.json
      open it at ui.perfetto.dev (Open trace file) or with Perfetto's trace_processor
  ftreplay export mutex_counter-1 gc_cycles-1 --format parquet -o traces/
  ftreplay export --all --format parquet -o traces/
      then: duckdb -c "SELECT run_id, kind, count(*) FROM 'traces/events/*/*.parquet' GROUP BY ALL"
      and back into a store: ftreplay import traces/ --db other.duckdb
  ftreplay export latest --format ftlog -o copy.ftlog

perfetto: one run; thread-state lanes (attached, detached, parked, suspended), lock holds,
  stop-the-world pauses and GC collections as slices, unpark->wake and stop-the-world
  request->suspend as flows, QSBR sequences and refcounts as counters, the failure as an
  instant.  Times are the virtual clock's.
parquet: a folder with runs/, events/, checkpoints/ and the derived tables, each partitioned
  by run (run_id=<id>/part-0.parquet); existing partitions are never overwritten.
ftlog: the run's log rebuilt from the store, checked to hash to the run's hash."""


def register(add, db) -> None:
    sp = add("export", "write runs as a Perfetto trace, a Parquet folder or a .ftlog", EPILOG)
    sp.add_argument("runs", metavar="RUN", nargs="*", help="run id, unique prefix or 'latest' (parquet: several)")
    sp.add_argument("--all", action="store_true", help="parquet: every run in the store")
    sp.add_argument("--format", required=True, choices=("perfetto", "parquet", "ftlog"), help="what to write")
    sp.add_argument("-o", "--output", required=True, metavar="PATH", help="file (perfetto, ftlog) or folder (parquet)")
    sp.add_argument("--force", action="store_true", help="perfetto, ftlog: replace an existing file")
    sp.add_argument("--objects", type=int, default=None, metavar="N",
                    help="perfetto: refcount counters for the first N objects that went shared (default 64)")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db(sp)
    sp.set_defaults(fn=cmd_export)


def _resolve(store, args) -> list[str]:
    if args.all:
        if args.runs:
            raise UsageError("give run ids or --all, not both")
        ids = [r["run_id"] for r in store.runs()]
        if not ids:
            raise UsageError("the store has no runs yet")
        return ids
    if not args.runs:
        raise UsageError("name a run to export (or --all with --format parquet)")
    out: list[str] = []
    for ref in args.runs:
        rid = store.resolve_run(ref)
        if rid not in out:
            out.append(rid)
    return out


def _new_file(path: str, force: bool) -> str:
    """A temporary path beside ``path``, renamed over it when complete."""
    if os.path.isdir(path):
        raise UsageError(f"{path} is a folder; -o takes a file path for this format")
    if os.path.exists(path) and not force:
        raise UsageError(f"{path} already exists (use --force to replace it)")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"no folder {parent}")
    return os.path.join(parent, f".{os.path.basename(path)}.part")


def cmd_export(args) -> int:
    from ..record.store import Store

    if args.objects is not None and args.format != "perfetto":
        raise UsageError("--objects applies to --format perfetto")
    if args.all and args.format != "parquet":
        raise UsageError("--all applies to --format parquet (perfetto and ftlog take one run)")
    with Store.open(args.db) as store:
        run_ids = _resolve(store, args)
        if args.format != "parquet" and len(run_ids) != 1:
            raise UsageError(f"--format {args.format} takes one run, got {len(run_ids)}")
        if args.format == "parquet":
            from ..export.parquet import export_parquet

            done = export_parquet(store, run_ids, args.output)
            summary = {"format": "parquet", "output": args.output,
                       "runs": [{"run_id": r.run_id, "events": r.events, "hash": r.hash} for r in done]}
            text = f"exported {len(done)} run{'s' if len(done) != 1 else ''} to {args.output.rstrip('/')}/ " \
                   f"({sum(r.events for r in done):,} events)"
        else:
            run_id = run_ids[0]
            tmp = _new_file(args.output, args.force)
            try:
                with open(tmp, "wb") as f:
                    if args.format == "perfetto":
                        from ..export.perfetto import DEFAULT_MAX_OBJECTS, write_trace

                        objects = DEFAULT_MAX_OBJECTS if args.objects is None else args.objects
                        counts = write_trace(store, run_id, f, max_objects=objects)
                        summary = {"format": "perfetto", "output": args.output, "run_id": run_id,
                                   "trace_events": sum(counts.values()), "by_phase": counts}
                        text = f"wrote {args.output}: {sum(counts.values()):,} trace events of {run_id} " \
                               f"(open it at ui.perfetto.dev)"
                    else:
                        from ..export.ftlog import StoreRows, check_hash, write_log

                        run = store.run(run_id)
                        digest = write_log(run, StoreRows(store.cursor(), run_id), f.write)
                        check_hash(run, digest)
                        summary = {"format": "ftlog", "output": args.output, "run_id": run_id,
                                   "events": run["events"], "hash": digest}
                        text = f"wrote {args.output}: {run['events']:,} events of {run_id}, hash {digest[:16]} (verified)"
                os.replace(tmp, args.output)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
    if args.json:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        print(text)
    return 0


def cmd_import_parquet(args) -> int:
    """``ftreplay import DIR``: the runs of a Parquet export (called by the import command)."""
    from ..export.parquet import import_parquet, is_parquet_export
    from ..record.store import Store

    if not is_parquet_export(args.file):
        raise UsageError(f"{args.file} is a folder but not a Parquet export (no ftreplay-parquet.json)")
    with Store.open(args.db, read_only=False) as store:
        done = import_parquet(store, args.file, only=args.run)
    if args.json:
        sys.stdout.write(json.dumps({"imported": [
            {"from": r.source_run_id, "run_id": r.run_id, "events": r.events, "status": r.status,
             "hash": r.hash, "log": r.log} for r in done]}) + "\n")
        return 0
    for r in done:
        renamed = f" as {r.run_id}" if r.run_id != r.source_run_id else ""
        print(f"imported {r.source_run_id}{renamed}: {r.events:,} events, status {r.status}, "
              f"hash {r.hash[:16]} (re-derived from the rebuilt log)")
    return 0
