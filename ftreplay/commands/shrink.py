"""``ftreplay shrink RUN``: the fewest preemptions that still fail the same way."""

from __future__ import annotations

EPILOG = """examples:
  ftreplay shrink join_race-3
  ftreplay shrink latest --json

A preemption is a scheduling decision that switches away from a thread that could have
continued.  Delta debugging drops preemptions while the run still fails with the same
reason and the same message (numbers and addresses masked).  The result is recorded as a
new run (its schedule replays through 'ftreplay verify'), linked to RUN in the run_links
table:  ftreplay query "SELECT * FROM run_links"."""


def register(add, db) -> None:
    sp = add("shrink", "shrink a failing run's schedule to the preemptions that make it fail", EPILOG)
    sp.add_argument("run", metavar="RUN", help="a failed run: id, unique prefix or 'latest'")
    sp.add_argument("--max-tests", type=int, default=4000, metavar="N", help="stop after N candidate runs (default 4000)")
    sp.add_argument("--json", action="store_true", help="one JSON object: run_id, preemptions_before, preemptions_after, ...")
    db(sp)
    sp.set_defaults(fn=cmd_shrink)


def cmd_shrink(args) -> int:
    from ..cli import _print_json
    from ..errors import UsageError
    from ..record.store import Store
    from ..shrink import shrink_run

    if args.max_tests < 1:
        raise UsageError(f"--max-tests must be >= 1, got {args.max_tests}")
    with Store.open(args.db, read_only=False) as store:
        res = shrink_run(store, args.run, max_tests=args.max_tests)
    if args.json:
        _print_json(res)
        return 0
    print(f"shrunk {res['source_run_id']} -> {res['run_id']}: {res['preemptions_before']} -> "
          f"{res['preemptions_after']} preemptions, {res['decisions_before']} -> {res['decisions_after']} decisions, "
          f"{res['events_before']:,} -> {res['events_after']:,} events ({res['tests']} candidate run{'s' * (res['tests'] != 1)}, {res['seconds']:.2f}s"
          + ("" if res["minimal"] else ", stopped at --max-tests: may not be minimal") + ")")
    f = res["failure"]
    print(f"  still fails: {f['reason']} at seq {f['seq']}: {f['message']}")
    print(f"  schedule: {res['schedule'] if len(res['schedule']) < 200 else res['schedule'][:200] + '...'}")
    print(f"  next: ftreplay verify {res['run_id']}   ftreplay diff {res['source_run_id']} {res['run_id']}")
    return 0
