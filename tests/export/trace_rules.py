"""Structural rules of a Chrome JSON trace as Perfetto's importer reads it (used by the tests)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

LANES = {"attached", "detached", "suspended", "shutting_down", "parked"}


def _ns(v) -> int:
    return int(Decimal(str(v)) * 1000)


def check_trace(trace: dict) -> list[str]:
    """Every problem found (an empty list for a good trace)."""
    bad: list[str] = []
    evs = trace.get("traceEvents")
    if not isinstance(evs, list) or not evs:
        return ["no traceEvents"]
    named = set()
    stacks: dict[tuple, list] = defaultdict(list)      # thread track -> open B slices
    last_ts: dict[tuple, int] = {}
    async_open: dict[tuple, list] = defaultdict(list)  # (pid, cat, id) -> open b slices
    async_ts: dict[tuple, int] = {}
    flows_out: dict[int, list[int]] = defaultdict(list)
    flows_in: dict[int, list[int]] = defaultdict(list)
    for i, e in enumerate(evs):
        ph = e.get("ph")
        if "pid" not in e:
            bad.append(f"#{i}: no pid")
            continue
        if ph == "M":
            if e.get("name") == "thread_name":
                named.add((e["pid"], e["tid"]))
            continue
        ts = _ns(e["ts"])
        track = (e["pid"], e["tid"])
        if ph in "BEXi" or ph == "C":
            if ph != "C" and not (ph == "i" and e.get("s") == "g"):
                if ts < last_ts.get(track, 0):
                    bad.append(f"#{i}: time goes back on track {track}")
                last_ts[track] = ts
                if track not in named:
                    bad.append(f"#{i}: track {track} has no thread_name")
        if ph == "B":
            stacks[track].append((e["name"], ts, i))
            if e.get("cat") == "thread_state" and e["name"] not in LANES:
                bad.append(f"#{i}: unknown lane {e['name']!r}")
        elif ph == "E":
            if not stacks[track]:
                bad.append(f"#{i}: E without B on {track}")
            else:
                name, t0, _ = stacks[track].pop()
                if name != e["name"]:
                    bad.append(f"#{i}: E {e['name']!r} closes B {name!r} on {track}")
                if ts < t0:
                    bad.append(f"#{i}: slice ends before it starts")
        elif ph == "X":
            dur = _ns(e["dur"])
            if dur < 0:
                bad.append(f"#{i}: negative dur")
            if e.get("cat") == "thread_state":
                bad.append(f"#{i}: lanes are B/E")
        elif ph in "be":
            key = (e["pid"], e.get("cat"), e.get("id"))
            if e.get("id") is None:
                bad.append(f"#{i}: async slice without id")
            if ts < async_ts.get(key, 0):
                bad.append(f"#{i}: time goes back on async track {key}")
            async_ts[key] = ts
            if ph == "b":
                async_open[key].append((e["name"], ts))
            elif not async_open[key]:
                bad.append(f"#{i}: e without b on {key}")
            else:
                name, t0 = async_open[key].pop()
                if name != e["name"] or ts < t0:
                    bad.append(f"#{i}: e {e['name']!r} does not close b {name!r} on {key}")
        elif ph == "C":
            if not e.get("args") or not all(isinstance(v, (int, float)) for v in e["args"].values()):
                bad.append(f"#{i}: counter without numeric args")
        elif ph == "i":
            if e.get("s") not in ("t", "p", "g"):
                bad.append(f"#{i}: instant without scope")
        else:
            bad.append(f"#{i}: unexpected phase {ph!r}")
        if "bind_id" in e:
            if ph not in "BXb":
                bad.append(f"#{i}: flow on a {ph!r} event")
            (flows_out if e.get("flow_out") else flows_in)[e["bind_id"]].append(ts)
    for track, st in stacks.items():
        if st:
            bad.append(f"track {track}: {len(st)} B without E (first {st[0][0]!r})")
    for key, st in async_open.items():
        if st:
            bad.append(f"async {key}: {len(st)} b without e")
    for fid in set(flows_out) | set(flows_in):
        o, n = flows_out.get(fid, []), flows_in.get(fid, [])
        if len(o) != 1 or len(n) != 1:
            bad.append(f"flow {fid}: {len(o)} out, {len(n)} in")
        elif o[0] > n[0]:
            bad.append(f"flow {fid}: ends before it starts")
    return bad
