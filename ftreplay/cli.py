"""The ``ftreplay`` command line.  Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from datetime import datetime
from typing import Any, Optional, Sequence

from . import __version__
from .errors import FtreplayError, LogError, UsageError

EPILOG_RECORD = """examples:
  ftreplay record mutex_counter --seed 7
  ftreplay record mutex_counter --strategy pct --arg threads=8 --arg iterations=500
  ftreplay record join_race --strategy pct --seed 1 --bug join_tstate_lock_race
  ftreplay record path/to/my_test.py:scenario --json
A failing guest is a successful recording (exit 0); the failure is stored with the run.
On Linux the run is simulated in a child process while this one writes the log and the store
(FTREPLAY_NO_FORK=1: both in this process, one after the other)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _kv(items: Optional[list[str]], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        k, eq, v = item.partition("=")
        if not eq or not k:
            raise UsageError(f"bad {what} {item!r}: expected NAME=VALUE")
        out[k.strip()] = v.strip()
    return out


class Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.shown = False

    def start(self) -> None:
        """Count time from now (a stage that begins after the bar was made)."""
        self.t0 = time.perf_counter()

    def __call__(self, n: int) -> None:
        if not self.enabled:
            return
        dt = time.perf_counter() - self.t0
        rate = n / dt if dt > 0 else 0.0
        self.note(f"{n:,} events  {rate / 1000:,.0f}k ev/s  {dt:.1f}s")

    def note(self, text: str) -> None:
        """A stage without a count: ``label: text``."""
        if not self.enabled:
            return
        sys.stderr.write(f"\r\x1b[2K{self.label}: {text}")
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    return str(o)


# -- commands ---------------------------------------------------------------------------------
def cmd_scenarios(args) -> int:
    from .scenarios import all_scenarios

    scns = all_scenarios()
    if args.json:
        _print_json({"scenarios": [
            {"name": s.name, "description": s.description, "args": s.args, "bugs": list(s.bugs)} for s in scns.values()
        ]})
        return 0
    for s in scns.values():
        print(f"{s.name}")
        print(f"    {s.description}")
        if s.args:
            print("    args: " + ", ".join(f"{k}={v}" for k, v in s.args.items()))
        for k, h in s.arg_help.items():
            print(f"      {k}: {h}")
        if s.bugs:
            print("    bug flags: " + ", ".join(s.bugs))
    return 0


def cmd_bugs(args) -> int:
    from .runtime.bugs import BUGS
    from .zoo import exploration

    if args.json:
        _print_json({"bugs": [{**b.__dict__, "exploration": exploration(b.name)} for b in BUGS.values()]})
        return 0
    for b in BUGS.values():
        print(f"{b.name}  (scenario {b.scenario}; {b.seed}; fails with {b.reason})")
        print(f"    {b.description}")
        ex = exploration(b.name)
        if ex is not None:
            tried = "; ".join(f"{s}: {'found after' if r['found'] else 'not found in'} {r['runs']:,} run{'s' * (r['runs'] != 1)}"
                              for s, r in ((s, ex[s]) for s in ("pct", "random") if s in ex))
            shrunk = (f"; shrunk from {ex['preemptions'][0]} to {ex['preemptions'][1]} preemptions"
                      if ex.get("preemptions") else "")
            print(f"    explore {tried}{shrunk}")
    return 0


def cmd_record(args) -> int:
    from .record.recording import start_recording
    from .record.session import make_meta
    from .record.store import Store
    from .sim import schedule as schedule_text

    meta = make_meta(
        args.scenario, seed=args.seed, strategy=args.strategy,
        args=_kv(args.arg, "--arg"), knobs=_kv(args.set, "--set"), bugs=args.bug,
    )
    decisions = None
    if args.schedule:
        text = args.schedule
        if text.startswith("@"):
            try:
                with open(text[1:]) as f:
                    text = f.read()
            except OSError as e:
                raise UsageError(f"cannot read schedule file {text[1:]!r}: {e.strerror}") from None
        decisions = schedule_text.decode(text)
    prog = Progress(f"recording {meta.scenario}", not args.json)
    # The simulation starts now (in a child process) and overlaps opening the store.
    with start_recording(meta, decisions) as rec, Store.open(args.db, read_only=False) as store:
        log_dir = os.path.dirname(os.path.abspath(args.log)) if args.log else os.path.dirname(os.path.abspath(store.path))
        run_id = store.new_run_id(meta.scenario, log_dir)
        log_path = args.log or os.path.join(log_dir, run_id + ".ftlog")
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        store_prog = Progress("storing", not args.json)
        try:
            result = rec.store_into(store, run_id, log_path, progress=prog, store_progress=store_prog)
        finally:
            prog.done()
            store_prog.done()
    end = result.end
    summary = {
        "run_id": run_id,
        "scenario": meta.scenario,
        "seed": meta.seed,
        "strategy": meta.strategy,
        "bugs": meta.bugs,
        "status": end.status,
        "events": end.events,
        "steps": end.steps,
        "virtual_ns": end.virtual_ns,
        "hash": result.hash,
        "failure": result.failure,
        "log": log_path,
        "db": store.path,
    }
    if args.json:
        _print_json(summary)
        return 0
    print(f"recorded {run_id}: {end.status}, {end.events:,} events, {end.steps:,} steps, "
          f"{end.virtual_ns / 1e6:.3f} ms virtual")
    print(f"  scenario {meta.scenario}  seed {meta.seed}  strategy {meta.strategy}"
          + (f"  bugs {','.join(meta.bugs)}" if meta.bugs else ""))
    if result.failure:
        f = result.failure
        print(f"  failure: {f['reason']} at seq {f['seq']}: {f['message']}")
    print(f"  hash {result.hash[:16]}  log {log_path}")
    print(f"  next: ftreplay query \"SELECT kind, count(*) FROM events WHERE run_id = '{run_id}' GROUP BY ALL ORDER BY 2 DESC\"")
    print(f"        ftreplay verify {run_id}")
    return 0


def cmd_runs(args) -> int:
    from .record.store import Store

    with Store.open(args.db) as store:
        runs = store.runs()
    if args.json:
        _print_json({"runs": runs})
        return 0
    if not runs:
        print("no runs yet: try 'ftreplay record mutex_counter'")
        return 0
    rows = [
        (r["run_id"], r["scenario"], r["seed"], r["strategy"], ",".join(r["bugs"] or []) or "-", r["status"],
         r["failure_reason"] or "-", f"{r['events']:,}", (r["hash"] or "")[:12])
        for r in runs
    ]
    _table(["run", "scenario", "seed", "strategy", "bugs", "status", "failure", "events", "hash"], rows)
    return 0


def _table(cols: Sequence[str], rows: Sequence[Sequence[Any]], out=None) -> None:
    out = out or sys.stdout
    text = [[_cell(v) for v in r] for r in rows]
    widths = [len(c) for c in cols]
    for r in text:
        for i, v in enumerate(r):
            widths[i] = min(max(widths[i], len(v)), 80)
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in text:
        out.write("  ".join(v[:80].ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")


def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def cmd_query(args) -> int:
    from .record.store import Store

    with Store.open(args.db) as store:
        cols, rows = store.query(args.sql)
    if args.format == "json":
        _print_json({"columns": cols, "rows": [dict(zip(cols, r)) for r in rows]})
    elif args.format == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    else:
        if cols:
            _table(cols, rows)
            print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return 0


def cmd_verify(args) -> int:
    from .record.log import MemorySink, RunMeta
    from .record.session import execute
    from .record.store import Store
    from .sim import schedule as schedule_text

    with Store.open(args.db) as store:
        run_id = store.resolve_run(args.run)
        run = store.run(run_id)
    if run["status"] == "incomplete" or not run["schedule"]:
        raise UsageError(f"{run_id} is an incomplete (recovered) run: it has no schedule to re-execute")
    config = json.loads(run["config"])
    meta = RunMeta(
        scenario=run["scenario"], seed=run["seed"], strategy=run["strategy"], args=config["args"],
        knobs=config["knobs"], bugs=list(run["bugs"] or []), ftreplay_version=run["ftreplay_version"],
    )
    sink = MemorySink()
    prog = Progress(f"re-executing {run_id}", not args.json)
    result = execute(meta, sink, schedule=schedule_text.decode(run["schedule"]), progress=prog)
    prog.done()
    problems: list[str] = []
    if result.hash != run["hash"]:
        problems.append(f"re-execution hash {result.hash[:16]} != recorded {run['hash'][:16]}")
    try:
        with open(run["log_path"], "rb") as f:
            stored = f.read()
    except OSError as e:
        problems.append(f"stored log {run['log_path']}: {e.strerror}")
        stored = None
    if stored is not None and stored != bytes(sink.data):
        problems.append("stored log differs from the re-execution" + _first_difference(stored, bytes(sink.data)))
    ok = not problems
    if args.json:
        _print_json({"run_id": run_id, "ok": ok, "events": result.end.events, "hash": result.hash, "problems": problems})
    elif ok:
        print(f"verify {run_id}: OK ({result.end.events:,} events re-executed, log identical, hash {result.hash[:16]})")
    else:
        for p in problems:
            sys.stderr.write(f"verify {run_id}: FAILED: {p}\n")
    return 0 if ok else 1


def _first_difference(stored: bytes, fresh: bytes) -> str:
    from .record.log import parse_log

    try:
        a = parse_log(stored, "stored")
    except LogError as e:
        return f" ({e})"
    b = parse_log(fresh, "fresh")
    for ea, eb in zip(a.iter_events(), b.iter_events()):
        if ea != eb:
            return f" (first different event: seq {eb.seq}, {eb.__struct_config__.tag})"
    if not a.recovery.clean:
        return f" (stored log damaged: {a.recovery.describe()})"
    return ""


def cmd_import(args) -> int:
    from .record.log import read_log
    from .record.store import Store

    if os.path.isdir(args.file):  # a folder written by 'ftreplay export --format parquet'
        from .commands.export import cmd_import_parquet

        return cmd_import_parquet(args)
    if args.run:
        raise UsageError("--run selects runs of a Parquet folder; a .ftlog holds one run")
    reader = read_log(args.file)  # validates before the store is touched
    try:
        with Store.open(args.db, read_only=False) as store:
            run_id = store.new_run_id(reader.meta.scenario, os.path.dirname(os.path.abspath(store.path)))
            prog = Progress("importing", not args.json)
            n = store.ingest(reader, run_id, args.file, progress=prog)
            prog.done()
            status = store.run(run_id)["status"]
    finally:
        reader.close()
    rec = reader.recovery
    if args.json:
        _print_json({
            "run_id": run_id, "events": n, "status": status, "frames": rec.frames,
            "bytes_dropped": rec.bytes_dropped, "damaged_regions": rec.damaged_regions,
            "complete": reader.end is not None, "recovery": rec.describe(),
        })
        return 0
    print(f"imported {args.file} as {run_id}: {n:,} events, status {status}")
    if reader.end is None:
        sys.stderr.write(f"ftreplay import: the log has no end frame (the recorder was interrupted): "
                         f"{rec.describe()}\n")
    elif not rec.clean:
        sys.stderr.write(f"ftreplay import: recovered a damaged log: {rec.describe()}\n")
    return 0


def _open_cursor(args):
    from .record.store import Store
    from .replay.cursor import Cursor

    store = Store.open(args.db)
    try:
        return store, Cursor(store, args.run)
    except BaseException:
        store.close()
        raise


def cmd_state(args) -> int:
    from .replay.cursor import event_to_json, state_to_json

    store, cur = _open_cursor(args)
    with store:
        at = cur.total - 1 if args.at is None else args.at
        if not -1 <= at < cur.total:
            raise UsageError(f"--at {at} is outside {cur.run_id} (seq 0..{cur.total - 1})")
        st = cur.seek(at)
        ev = cur.event(at) if at >= 0 else None
        out = state_to_json(st)
        out["run_id"] = cur.run_id
        out["total"] = cur.total
        out["event"] = event_to_json(ev) if ev is not None else None
    if args.json:
        _print_json(out)
        return 0
    print(f"{cur.run_id}  seq {st.seq}/{cur.total - 1}  t={st.ts / 1000:.3f} us")
    if ev is not None:
        e = out["event"]
        print("  event: " + e["kind"] + " " + " ".join(f"{k}={_fmt_field(k, v)}" for k, v in e.items()
                                                      if k not in ("kind", "seq", "ts")))
    print("threads:")
    procs = out["lifecycle"]["thread_process"] if len(out["lifecycle"]["processes"]) > 1 else {}
    for t in out["threads"]:
        parked = f"  parked on {t['parked_on_name'] or t['parked_on']}" if t["parked_on"] else ""
        proc = f"process {procs[t['tid']]}  " if procs else ""
        print(f"  T{t['tid']:<3} {proc}{t['state']:<13} {t['phase']:<8}{parked}")
    if out["mutexes"]:
        print("mutexes:")
        for m in out["mutexes"]:
            flags = ("LOCKED" if m["locked"] else "unlocked") + ("|HAS_PARKED" if m["has_parked"] else "")
            owner = f" owner T{m['owner']}" if m["owner"] is not None else ""
            print(f"  {m['name'] or m['addr']:<28} {flags}{owner}")
    if out["words"]:
        print("lock words:")
        for w in out["words"]:
            print(f"  {w['name'] or w['addr']:<28} {w['prim']} = {w['bits']}")
    if out["recursive"]:
        print("recursive mutexes:")
        for r in out["recursive"]:
            print(f"  {r['name'] or r['addr']:<28} level {r['level']} owner T{r['owner']}")
    if out["parking_lot"]:
        print("parking lot:")
        for b in out["parking_lot"]:
            ws = ", ".join(f"T{w['tid']} on {w['name'] or w['addr']}" for w in b["waiters"])
            print(f"  bucket {b['bucket']:<3} {ws}")
    if out["guest"]:
        print("guest fields:")
        for g in out["guest"]:
            print(f"  {g['name'] or g['addr']:<28} {g['value']}")
    if out["objects"]:
        print("objects:")
        for o in out["objects"]:
            flags = ("", "MAYBE_WEAKREF", "QUEUED", "MERGED")[o["shared_flags"]]
            print(f"  obj {o['obj']:<5} {o['type']:<10} owner T{o['ob_tid']}  local {o['ob_ref_local']}  "
                  f"shared {o['shared_count']}{(' ' + flags) if flags else ''}")
    queued = [b for b in out["brc"] if b["objects_to_merge"]]
    if queued:
        print("BRC queues:")
        for b in queued:
            print(f"  T{b['tid']:<3} to merge: {', '.join(map(str, b['objects_to_merge']))}")
    if out["critical_sections"]:
        print("critical sections:")
        for c in out["critical_sections"]:
            print(f"  T{c['tid']:<3} " + " > ".join(e["mutex_name"] or e["mutex"] or "-" for e in c["stack"]))
    if len(out["interpreters"]) > 1:
        print("interpreters:")
        for i in out["interpreters"]:
            gil = "own GIL" if i["own_gil"] else "main's GIL"
            holder = f" held by T{i['gil_holder']}" if i["gil_holder"] is not None else ""
            main = f"T{i['main_thread']}" if i["main_thread"] is not None else "-"
            alloc = "own obmalloc" if i["own_obmalloc"] else "main's obmalloc"
            ts = ", ".join(f"T{t}" for t in i["threads"]) or "-"
            print(f"  interp {i['id']:<3} __main__ {main:<5} {gil}{holder}, {alloc}; thread states {ts}")
    if out["type_cache"]:
        print("type cache:")
        for c in out["type_cache"]:
            print(f"  interp {c['interp']} [{c['index']:>4}] version {c['version']:<7} {c['name'] or '-':<12} "
                  f"value obj {c['value'] or '-'}  sequence {c['sequence']}")
    lc = out["lifecycle"]
    if len(lc["processes"]) > 1:
        print(f"processes (this state is process {lc['process']}'s):")
        for p in lc["processes"]:
            origin = f"forked from {p['parent']} by T{p['forked_by']}" if p["parent"] else "the first process"
            print(f"  process {p['pid']:<3} {origin}, {p['status']}")
    if lc["handles"]:
        print("thread handles:")
        for h in lc["handles"]:
            kind = "daemon" if h["daemon"] else "non-daemon"
            print(f"  T{h['ident'] or '-':<3} {h['state']:<12} {kind}")
    if lc["finalization"]:
        print(f"finalization: {lc['finalization']}")
    if out["failure"]:
        f = out["failure"]
        print(f"failure at seq {f['seq']}: {f['reason']}: {f['message']}")
    return 0


def _fmt_field(name: str, v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and name in ("mutex", "addr") and v > 0xFFFF:
        return f"0x{v:x}"
    return str(v)


def cmd_find(args) -> int:
    from .replay.cursor import event_to_json

    store, cur = _open_cursor(args)
    with store:
        start = args.start if args.start is not None else (-1 if args.next else cur.total)
        seq = cur.find(args.predicate, forward=args.next, start=start)
        ev = cur.event(seq) if seq is not None else None
    if args.json:
        _print_json({"run_id": cur.run_id, "from": start, "direction": "next" if args.next else "prev",
                     "seq": seq, "event": event_to_json(ev) if ev is not None else None})
        return 0 if seq is not None else 1
    if seq is None:
        sys.stderr.write(f"ftreplay find: no {'later' if args.next else 'earlier'} event matches\n")
        return 1
    e = event_to_json(ev)
    print(f"seq {seq}  t={ev.ts / 1000:.3f} us  T{ev.tid}  {e['kind']}  "
          + " ".join(f"{k}={_fmt_field(k, v)}" for k, v in e.items() if k not in ("kind", "seq", "ts", "tid")))
    return 0


def cmd_schema(args) -> int:
    from pathlib import Path

    from .record import schema

    d = Path(args.dir) if args.dir else None
    if args.check:
        stale = schema.check(d)
        if stale:
            sys.stderr.write(f"ftreplay schema: out of date: {', '.join(stale)}; run 'ftreplay schema' to regenerate\n")
            return 1
        print("schemas are up to date")
        return 0
    for p in schema.write(d):
        print(f"wrote {p}")
    return 0


def cmd_tui(args) -> int:
    from tui.app import run_tui  # Textual loads only for this command

    return run_tui(args.run, args.db)


def cmd_bench(args) -> int:
    from .bench import run_bench

    prog = Progress("bench", not args.json)
    try:
        res = run_bench(quick=args.quick, progress=prog.note)
    finally:
        prog.done()
    if args.json:
        _print_json(res)
    else:
        for k, v in res.items():
            print(f"{k:28} {v:,.3f}" if isinstance(v, float) else f"{k:28} {v}")
    return 0


# -- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ftreplay",
        description="Time-travel debugger for CPython's free-threaded runtime: record a guest program on a "
        "deterministic model of the runtime, store every lock, park and attach/detach event in DuckDB, query it.",
        epilog="Store: recordings/ftreplay.duckdb unless --db or $FTREPLAY_DB.  Start with: ftreplay record mutex_counter",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"ftreplay {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, help: str, epilog: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, epilog=epilog,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def db(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--db", metavar="PATH", help="DuckDB store (default: $FTREPLAY_DB or recordings/ftreplay.duckdb)")

    sp = add("scenarios", "list the built-in scenarios and their arguments")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sp.set_defaults(fn=cmd_scenarios)

    sp = add("bugs", "list the --bug flags (fixed CPython races the model can reintroduce)")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sp.set_defaults(fn=cmd_bugs)

    sp = add("record", "run a scenario on the model and record it into the store", EPILOG_RECORD)
    sp.add_argument("scenario", metavar="SCENARIO", help="a built-in scenario name, or path/to/file.py:function")
    sp.add_argument("--seed", type=int, default=1, help="scheduler seed (default 1)")
    sp.add_argument("--strategy", default="random", metavar="NAME", help="random (default), pct or round_robin")
    sp.add_argument("--bug", action="append", metavar="NAME", help="re-introduce a fixed race (see 'ftreplay bugs'); repeatable")
    sp.add_argument("--set", action="append", metavar="KNOB=VALUE",
                    help="model knob: max_steps, pct_depth, pct_steps, rr_quantum, batch, checkpoint_every, build (ft|gil), gil (-1|0|1); repeatable")
    sp.add_argument("--arg", action="append", metavar="NAME=VALUE", help="scenario argument (see 'ftreplay scenarios'); repeatable")
    sp.add_argument("--schedule", metavar="TEXT|@FILE", help="replay this schedule instead of asking the strategy")
    sp.add_argument("--log", metavar="PATH", help="where the .ftlog goes (default: recordings/<run_id>.ftlog beside the store)")
    sp.add_argument("--json", action="store_true", help="print one JSON object: run_id, status, events, hash, failure, ...")
    db(sp)
    sp.set_defaults(fn=cmd_record)

    sp = add("runs", "list recorded runs")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db(sp)
    sp.set_defaults(fn=cmd_runs)

    sp = add("query", "run read-only SQL over the store (tables: runs, events, one view per kind)",
             "examples:\n  ftreplay query \"SELECT kind, count(*) FROM events GROUP BY kind ORDER BY 2 DESC\"\n"
             "  ftreplay query \"SELECT * FROM lock_acquire WHERE via = 'handoff' ORDER BY run_id, seq\" --format csv")
    sp.add_argument("sql", metavar="SQL")
    sp.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default table)")
    db(sp)
    sp.set_defaults(fn=cmd_query)

    sp = add("verify", "re-execute a run from its stored schedule; exit 1 if the log differs",
             "RUN is a run id, a unique prefix of one, or 'latest'.")
    sp.add_argument("run", metavar="RUN")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db(sp)
    sp.set_defaults(fn=cmd_verify)

    sp = add("import", "store a .ftlog file (recovers every complete frame of a damaged or truncated log), "
             "or the runs of a Parquet folder written by 'ftreplay export --format parquet'",
             "examples:\n  ftreplay import recordings/mutex_counter-1.ftlog --db other.duckdb\n"
             "  ftreplay import traces/ --db other.duckdb\n  ftreplay import traces/ --run gc_cycles-1\n"
             "A Parquet run is imported by rebuilding its .ftlog (beside the store) from its events and\n"
             "checkpoints and checking that it hashes to the exported hash; it keeps its run id when free.")
    sp.add_argument("file", metavar="FILE.ftlog|DIR")
    sp.add_argument("--run", action="append", metavar="RUN", help="only this run of a Parquet folder; repeatable")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db(sp)
    sp.set_defaults(fn=cmd_import)

    sp = add("state", "the runtime state at one event of a run (threads, mutexes, parking lot, failure)",
             "examples:\n  ftreplay state mutex_counter-1 --at 120\n  ftreplay state latest --json\n"
             "The state is the one after event SEQ is applied (SEQ -1: before the first event).")
    sp.add_argument("run", metavar="RUN")
    sp.add_argument("--at", type=int, metavar="SEQ", help="event seq (default: the last event)")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db(sp)
    sp.set_defaults(fn=cmd_state)

    sp = add("find", "the next or previous event matching a SQL predicate over the events columns",
             "examples:\n  ftreplay find mutex_counter-1 --next \"kind = 'lock.release' AND handoff_to IS NOT NULL\"\n"
             "  ftreplay find latest --from 900 --prev \"kind = 'parking_lot.park' AND tid = 3\"\n"
             "Exit status 1 when nothing matches.")
    sp.add_argument("run", metavar="RUN")
    sp.add_argument("predicate", metavar="PREDICATE")
    sp.add_argument("--from", dest="start", type=int, metavar="SEQ",
                    help="search after (--next) or before (--prev) this seq (default: the run's start / end)")
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--next", action="store_true", help="search forward")
    g.add_argument("--prev", action="store_true", help="search backward")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db(sp)
    sp.set_defaults(fn=cmd_find)

    sp = add("schema", "write schemas/ (JSON Schema of the events, store DDL) from the code")
    sp.add_argument("--check", action="store_true", help="exit 1 if schemas/ differs from the code")
    sp.add_argument("--dir", metavar="DIR", help="target folder (default: the repository's schemas/)")
    sp.set_defaults(fn=cmd_schema)

    sp = add("tui", "browse runs and replay one in a terminal UI (lanes, events, state, SQL console)",
             "examples:\n  ftreplay tui\n  ftreplay tui join_race-1\n  ftreplay tui latest --db /tmp/s.duckdb\n"
             "Without RUN, a run picker opens first.  A failed run opens at its failure.  Press ? for the keys.")
    sp.add_argument("run", metavar="RUN", nargs="?", help="run id, unique prefix or 'latest' (default: pick one)")
    db(sp)
    sp.set_defaults(fn=cmd_tui)

    sp = add("bench", "measure simulate / record / ingest / replay throughput on a large stress run")
    sp.add_argument("--quick", action="store_true", help="a smaller run (seconds, for a smoke test)")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sp.set_defaults(fn=cmd_bench)

    # Commands that live in their own modules (ftreplay/commands/*.py, each with register(add, db)).
    from . import commands

    for register in commands.registrars():
        register(add, db)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except FtreplayError as e:
        sys.stderr.write(f"ftreplay: {e}\n")
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("ftreplay: interrupted\n")
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"))
        except OSError:
            pass
        return 0
