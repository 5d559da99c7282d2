"""``ftreplay diff RUN_A RUN_B``: where two runs of one scenario part ways."""

from __future__ import annotations

EPILOG = """examples:
  ftreplay diff join_race-3 join_race-4
  ftreplay diff join_race-3 join_race-5 --context 8 --json

The first divergent scheduling decision: the first seq at which the two runs' events come
from different threads (or differ in kind), and the index of the first differing decision
of their stored schedules, with the events around it in both runs.  Then, per thread, the
first of its own operations that differs between the runs (in kind, or in how it went:
'via', 'result', 'reason').  'ftreplay tui' shows the two runs side by side from the
divergence (the diff screen: 'ftreplay diff A B --tui')."""


def register(add, db) -> None:
    sp = add("diff", "compare two runs of one scenario: the first divergent decision, per-thread differences", EPILOG)
    sp.add_argument("run_a", metavar="RUN_A")
    sp.add_argument("run_b", metavar="RUN_B")
    sp.add_argument("--context", type=int, default=5, metavar="N", help="events shown before and after the divergence (default 5)")
    sp.add_argument("--tui", action="store_true", help="open the side-by-side diff screen instead of printing")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db(sp)
    sp.set_defaults(fn=cmd_diff)


def cmd_diff(args) -> int:
    from ..cli import _print_json
    from ..diff import diff_runs
    from ..errors import UsageError
    from ..record.store import Store

    if args.context < 0:
        raise UsageError(f"--context must be >= 0, got {args.context}")
    if args.tui:
        from tui.diff_app import run_diff_tui  # Textual loads only here

        return run_diff_tui(args.run_a, args.run_b, args.db)
    with Store.open(args.db) as store:
        d = diff_runs(store, args.run_a, args.run_b, args.context)
    if args.json:
        _print_json(d)
        return 0
    a, b = d["run_a"], d["run_b"]
    print(f"diff {a} ({d['status_a']}, {d['events_a']:,} events) vs {b} ({d['status_b']}, {d['events_b']:,} events)"
          + ("" if d["same_inputs"] else "  [arguments, knobs or bug flags differ]"))
    if d["identical"]:
        print("  the runs' events are identical (same threads and kinds at every seq)")
        return 0
    dec = d["decision"]
    print(f"  first divergence at seq {d['first_divergent_seq']}"
          + (f" (scheduling decision {dec} of {d['decisions_a']} / {d['decisions_b']})" if dec is not None else ""))
    w = max((len(e["text"]) for e in d["around_a"]), default=20)
    w = min(max(w, 20), 70)
    print(f"  {'':>7}  {a[:w + 4]:<{w + 4}}  {b}")
    by_b = {e["seq"]: e for e in d["around_b"]}
    seqs = sorted({e["seq"] for e in d["around_a"]} | set(by_b))
    by_a = {e["seq"]: e for e in d["around_a"]}
    for s in seqs:
        ea, eb = by_a.get(s), by_b.get(s)
        mark = ">" if s >= d["first_divergent_seq"] else " "
        ta = f"T{ea['tid']} {ea['text']}"[: w + 4] if ea else ""
        tb = f"T{eb['tid']} {eb['text']}" if eb else ""
        print(f" {mark}{s:>7}  {ta:<{w + 4}}  {tb}")
    print("  per thread (own operations):")
    for t in d["threads"]:
        if t["first_different_op"] is None:
            print(f"    T{t['tid']:<3} same {t['ops_a']:,} operations")
        else:
            print(f"    T{t['tid']:<3} op {t['first_different_op']}: {t['kind_a'] or '(none)'} at seq {t['seq_a']} "
                  f"vs {t['kind_b'] or '(none)'} at seq {t['seq_b']}  ({t['ops_a']:,} / {t['ops_b']:,} operations)")
    return 0
