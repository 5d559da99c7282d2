"""``ftreplay explore SCENARIO``: many schedules, the failing ones recorded."""

from __future__ import annotations

import contextlib
import sys
import time

from ..errors import UsageError

EPILOG = """examples:
  ftreplay explore join_race --bug join_tstate_lock_race --strategy pct --runs 10000 --until-failure
  ftreplay explore lockfree_read --bug free_delayed_without_qsbr --runs 2000 --jobs 2 --json
  ftreplay explore lockfree_read --bug free_delayed_without_qsbr --runs 2000 --cluster local --jobs 2
  ftreplay explore join_race --bug join_tstate_lock_race --runs 100000 --cluster dask://HOST:8786
  ftreplay explore lock_order --strategy dfs --preemptions 2 --runs 5000
  ftreplay explore mutex_counter --arg threads=2 --arg iterations=3 --runs 500 --store-sample 3

Seed N of random and pct is the run with that seed (ftreplay record ... --seed N replays it);
seed N of dfs is the N-th schedule of a depth-first walk over schedules with at most
--preemptions preemptions (dfs runs in one process).  Failing runs are recorded with their
schedules (the first of every distinct failure, up to --store-failures in all); passing
ones are only counted unless --store-sample asks for some.  Exit status 0 whether or not
a failure was found ("found" in the JSON says which)."""


def register(add, db) -> None:
    sp = add("explore", "run a scenario under many schedules and record the ones that fail", EPILOG)
    sp.add_argument("scenario", metavar="SCENARIO", help="a built-in scenario name, or path/to/file.py:function")
    sp.add_argument("--strategy", default="pct", metavar="NAME", help="pct (default), random or dfs")
    sp.add_argument("--depth", type=int, metavar="D", help="pct: bug depth (d-1 priority change points; knob pct_depth, default 3)")
    sp.add_argument("--preemptions", type=int, default=2, metavar="N", help="dfs: at most N preemptions per schedule (default 2)")
    sp.add_argument("--runs", type=int, default=1000, metavar="N", help="schedules to try (default 1000)")
    sp.add_argument("--first-seed", type=int, default=1, metavar="N", help="first seed (default 1)")
    sp.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    sp.add_argument("--cluster", metavar="ADDRESS",
                    help="run seed batches on Dask: 'local' (a LocalCluster of --jobs worker processes) or "
                    "dask://HOST:PORT (a running scheduler); same failing seeds and summary as without it; "
                    "needs the 'cluster' extra")
    sp.add_argument("--until-failure", action="store_true", help="stop at the first failing seed")
    sp.add_argument("--bug", action="append", metavar="NAME", help="re-introduce a fixed race (see 'ftreplay bugs'); repeatable")
    sp.add_argument("--arg", action="append", metavar="NAME=VALUE", help="scenario argument; repeatable")
    sp.add_argument("--set", action="append", metavar="KNOB=VALUE", help="model knob (see 'ftreplay record --help'); repeatable")
    sp.add_argument("--store-sample", type=int, default=0, metavar="N", help="also record the first N passing runs")
    sp.add_argument("--store-failures", type=int, default=10, metavar="N",
                    help="record up to N failing runs (the first of each distinct failure always; default 10)")
    sp.add_argument("--json", action="store_true", help="one JSON object: found, run_id, runs_tried, failures, seconds, schedules_per_s, ...")
    db(sp)
    sp.set_defaults(fn=cmd_explore)


class _Bar:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int, failures: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // max(total, 1)
        dt = time.perf_counter() - self.t0
        rate = done / dt if dt > 0 else 0.0
        sys.stderr.write(f"\r\x1b[2K[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}  "
                         f"{failures:,} failing  {rate:,.0f}/s  {dt:.1f}s")
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def cmd_explore(args) -> int:
    from ..cli import _kv, _print_json
    from ..explore import ExploreSpec, explore

    knobs = _kv(args.set, "--set")
    if args.depth is not None:
        knobs["pct_depth"] = str(args.depth)
    spec = ExploreSpec(
        scenario=args.scenario, strategy=args.strategy, bugs=tuple(args.bug or ()),
        args=tuple(sorted(_kv(args.arg, "--arg").items())), knobs=tuple(sorted(knobs.items())),
        preemption_bound=args.preemptions,
    )
    cluster = contextlib.nullcontext(None)
    if args.cluster:
        from ..cluster import cluster_executor
        from ..explore import base_meta

        base_meta(spec)  # a bad scenario, flag or knob fails before a cluster starts
        if args.strategy == "dfs":
            raise UsageError("--cluster does not apply to dfs (each schedule depends on the ones before it)")
        cluster = cluster_executor(args.cluster, args.jobs)
    bar = _Bar(not args.json)
    try:
        with cluster as executor:
            res = explore(spec, runs=args.runs, jobs=args.jobs, until_failure=args.until_failure, db=args.db,
                          first_seed=args.first_seed, store_sample=args.store_sample, progress=bar,
                          store_failures=args.store_failures, executor=executor)
    finally:
        bar.done()
    if args.json:
        _print_json(res)
        return 0
    print(f"explored {res['scenario']} with {res['strategy']}: {res['runs_tried']:,} schedule{'s' * (res['runs_tried'] != 1)} in {res['seconds']:.2f}s "
          f"({res['schedules_per_s'] or 0:,.0f}/s, {res['jobs']} job{'s' if res['jobs'] != 1 else ''})"
          + (", enumeration exhausted" if res["exhausted"] else ""))
    if not res["found"]:
        print("  no failure found")
        return 0
    print(f"  {res['failures']:,} failing; first: seed {res['seed']}: {res['failure']['reason']}: {res['failure']['message']}")
    for d in res["distinct_failures"]:
        print(f"    {d['runs']:>6,} x {d['reason']}: {d['message']}")
    stored = [f for f in res["failing_runs"] if f["run_id"]]
    print("  recorded: " + ", ".join(f"{f['run_id']} (seed {f['seed']})" for f in stored))
    if res["run_id"]:
        print(f"  next: ftreplay shrink {res['run_id']}   ftreplay tui {res['run_id']}")
    return 0
