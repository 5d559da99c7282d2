"""``ftreplay check RUN``: offline detectors over a stored run; findings stored as a table."""

from __future__ import annotations

EPILOG = """examples:
  ftreplay check lock_order-1
  ftreplay check latest --json
  ftreplay query "SELECT detector, severity, message, seqs FROM findings WHERE run_id = 'lock_order-1' ORDER BY n"

Detectors: lock_order (lock-order inversions: two threads take two PyMutexes in opposite
orders, reported even when this schedule did not deadlock), race (happens-before data
races on guest fields, vector clocks over locks, lock words, parking hand-offs, thread
start/exit/join, stop-the-world and the GIL), lost_wait (a park with no timeout never woken
by the run's end), invariant:NAME (refcount, QSBR, allocator and stop-the-world
invariants).  Each finding names the seqs involved; 'ftreplay tui RUN' lists them in the
findings panel.  Exit status 0 when nothing is found, 1 otherwise."""


def register(add, db) -> None:
    sp = add("check", "run the offline detectors on a run (lock order, data races, lost waits, invariants)", EPILOG)
    sp.add_argument("run", metavar="RUN", help="run id, unique prefix or 'latest'")
    sp.add_argument("--json", action="store_true", help="one JSON object: run_id, findings [{detector, severity, message, seqs, ...}]")
    sp.add_argument("--no-store", action="store_true", help="do not write the findings table (open the store read-only)")
    db(sp)
    sp.set_defaults(fn=cmd_check)


def cmd_check(args) -> int:
    from ..analysis.detectors import run_detectors, store_findings
    from ..cli import _print_json
    from ..record.store import Store

    with Store.open(args.db, read_only=args.no_store) as store:
        run_id = store.resolve_run(args.run)
        findings = run_detectors(store, run_id)
        if not args.no_store:
            store_findings(store, run_id, findings)
    if args.json:
        _print_json({"run_id": run_id, "findings": [f.to_json() for f in findings],
                     "counts": {d: sum(1 for f in findings if f.detector == d) for d in sorted({f.detector for f in findings})}})
        return 1 if findings else 0
    if not findings:
        print(f"check {run_id}: no findings")
        return 0
    print(f"check {run_id}: {len(findings)} finding{'s' if len(findings) != 1 else ''}")
    for f in findings:
        print(f"  [{f.severity}] {f.detector}: {f.message}")
        print(f"      seqs {', '.join(map(str, f.seqs))}")
    return 1
