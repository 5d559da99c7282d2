"""Text for events and values: what the list, the detail line and the panels print.

Plain functions over event Structs and label maps (no Textual), so they are easy to test
and the widgets stay thin.  Addresses print as hex, with the run's label when it has one;
thread ids as ``T<n>``; PyMutex bits as their flag names.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text

ADDR_FIELDS = frozenset({"mutex", "addr", "obj", "cs", "cs_mutex", "cs_mutex2"})
TID_FIELDS = frozenset({"thread", "handoff_to", "woken", "owner", "tid", "ob_tid", "ob_tid_old"})
NS_FIELDS = frozenset({"wait_ns", "timeout_ns"})
MUTEX_BITS_KINDS = frozenset({"lock.acquire", "lock.release", "lock.set_parked"})

LOCKED, HAS_PARKED = 1, 2

# Colours (Rich styles) shared by the widgets.
KIND_STYLE = {
    "lock": "yellow",
    "parking_lot": "magenta",
    "pystate": "green",
    "thread": "cyan",
    "guest": "grey70",
    "run": "blue",
    "object": "bright_cyan",
    "brc": "dark_cyan",
    "ceval_gil": "dodger_blue1",
    "critical_section": "orange1",
}
STATE_STYLE = {
    "attached": "green3",
    "detached": "grey50",
    "parked": "red1",
    "parked_attached": "yellow1",
    "suspended": "dodger_blue1",
    "shutting_down": "magenta",
    "exited": "grey30",
}
STATUS_STYLE = {"ok": "green3", "failed": "bold red1", "incomplete": "yellow1"}


def kind_style(kind: str) -> str:
    if kind == "run.failure":
        return "bold red1"
    return KIND_STYLE.get(kind.split(".", 1)[0], "white")


def kind_of(e: Any) -> str:
    return e.__struct_config__.tag


def tid(t: Optional[int]) -> str:
    return "-" if t is None else f"T{t}"


def hexaddr(addr: Optional[int]) -> str:
    return "-" if addr is None else f"0x{addr:x}"


def name(addr: Optional[int], labels: dict[int, str]) -> str:
    """The label of an address, or the address in hex."""
    if addr is None:
        return "-"
    return labels.get(addr) or f"0x{addr:x}"


def named(addr: Optional[int], labels: dict[int, str]) -> str:
    """``label @0x...`` (or the hex address alone)."""
    if addr is None:
        return "-"
    lab = labels.get(addr)
    return f"{lab} @0x{addr:x}" if lab else f"0x{addr:x}"


def guest_value(v: int, labels: dict[int, str]) -> str:
    """A guest field's value; one that is a labelled address reads as a pointer to it."""
    lab = labels.get(v) if isinstance(v, int) else None
    return f"→ {lab} @0x{v:x}" if lab else str(v)


def mutex_bits(bits: int) -> str:
    flags = [n for bit, n in ((LOCKED, "LOCKED"), (HAS_PARKED, "HAS_PARKED")) if bits & bit]
    extra = bits & ~(LOCKED | HAS_PARKED)
    if extra:
        flags.append(hex(extra))
    return "|".join(flags) if flags else "unlocked"


def ns(value: Optional[int]) -> str:
    """A duration or timestamp in ns, in the unit that reads best."""
    if value is None:
        return "-"
    if abs(value) < 1_000:
        return f"{value} ns"
    if abs(value) < 1_000_000:
        return f"{value / 1_000:,.3f} µs"
    if abs(value) < 1_000_000_000:
        return f"{value / 1_000_000:,.3f} ms"
    return f"{value / 1_000_000_000:,.3f} s"


def ns_short(value: int) -> str:
    """A compact signed duration for ruler labels: ``+10ns``, ``-1.5µs``, ``+20ms``."""
    sign = "+" if value > 0 else ("-" if value < 0 else "")
    v = abs(value)
    for unit, scale in (("s", 1_000_000_000), ("ms", 1_000_000), ("µs", 1_000)):
        if v >= scale:
            return f"{sign}{v / scale:.3g}{unit}"
    return f"{sign}{v}ns"


def ts_us(ts: int) -> str:
    """A timestamp as µs with ns precision: ``1,234.567``."""
    return f"{ts / 1000:,.3f}"


def value(kind: str, field: str, v: Any, labels: dict[int, str]) -> str:
    """One field of an event, as the detail line prints it."""
    if v is None:
        return "-"
    if field in ADDR_FIELDS and isinstance(v, int):
        return named(v, labels)
    if field in TID_FIELDS:
        return tid(v)
    if field in NS_FIELDS:
        return ns(v)
    if field in ("bits_old", "bits_new") and kind in MUTEX_BITS_KINDS:
        return f"{v} ({mutex_bits(v)})"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def fields(e: Any, labels: dict[int, str]) -> list[tuple[str, str]]:
    """(name, text) for each field after the envelope."""
    k = kind_of(e)
    return [(f, value(k, f, getattr(e, f), labels)) for f in e.__struct_fields__ if f not in ("seq", "ts", "tid")]


def summary(e: Any, labels: dict[int, str]) -> str:
    """A compact one-line description for the event list."""
    k = kind_of(e)
    if k == "lock.acquire":
        waited = f"  waited {ns(e.wait_ns)}" if e.wait_ns else ""
        return f"{name(e.mutex, labels)}  via {e.via}  {mutex_bits(e.bits_old)} → {mutex_bits(e.bits_new)}{waited}"
    if k == "lock.release":
        to = f"  hand-off → {tid(e.handoff_to)}" if e.handoff_to is not None else ""
        return f"{name(e.mutex, labels)}  via {e.via}{to}  {mutex_bits(e.bits_old)} → {mutex_bits(e.bits_new)}"
    if k == "lock.set_parked":
        return f"{name(e.mutex, labels)}  {mutex_bits(e.bits_old)} → {mutex_bits(e.bits_new)}"
    if k == "lock.fail":
        return f"{name(e.mutex, labels)}  {e.reason}"
    if k == "parking_lot.park":
        if not e.qlen:
            return f"{name(e.addr, labels)}  value changed, not parked"
        extra = "" if e.detach else "  (stays attached)"
        tmo = f"  timeout {ns(e.timeout_ns)}" if e.timeout_ns is not None else ""
        return f"{name(e.addr, labels)}  bucket {e.bucket}  queue {e.qlen}{tmo}{extra}"
    if k == "parking_lot.unpark":
        if e.woken is None:
            return f"{name(e.addr, labels)}  nobody waiting"
        more = "  more waiting" if e.has_more else ""
        return f"{name(e.addr, labels)}  wakes {tid(e.woken)} ({e.mode}){more}"
    if k == "parking_lot.wake":
        return f"{name(e.addr, labels)}  {e.result}" + ("  (timer fired late)" if e.timed_out else "")
    if k in ("pystate.attach", "pystate.detach", "pystate.suspend"):
        return f"{tid(e.thread)}  {e.old} → {e.new}"
    if k == "pystate.new_thread":
        return f"{tid(e.thread)}  interp {e.interp}  {e.new}"
    if k == "pystate.delete_thread":
        return f"{tid(e.thread)}  interp {e.interp}"
    if k in ("thread.start", "thread.exit", "thread.join"):
        return tid(e.thread)
    if k == "lock.word":
        return f"{name(e.addr, labels)}  {e.prim}.{e.op}  {e.bits_old} → {e.bits_new}"
    if k == "lock.seq_read":
        return f"{name(e.addr, labels)}  seq {e.seq_value}  {'ok' if e.ok else 'retry'}"
    if k == "lock.recursive":
        return f"{name(e.mutex, labels)}  {e.op}  level {e.level}  owner {tid(e.owner)}"
    if k == "guest.load":
        return f"{name(e.addr, labels)} = {guest_value(e.value, labels)}"
    if k == "guest.store":
        return f"{name(e.addr, labels)} = {guest_value(e.value, labels)}  (was {guest_value(e.prev, labels)})"
    if k == "run.label":
        return f"{hexaddr(e.addr)} = {e.label}"
    if k == "run.failure":
        return f"{e.reason}: {e.message}"
    return "  ".join(f"{f}={v}" for f, v in fields(e, labels)) or k


def explain(e: Any, labels: dict[int, str]) -> str:
    """One sentence saying what the event means in CPython's terms."""
    k = kind_of(e)
    who = tid(e.tid)
    if k == "lock.acquire":
        how = {"fast": "on the fast path (one compare-and-swap)",
               "slow": "after spinning or parking",
               "handoff": "by direct hand-off from the unlocker"}.get(e.via, f"via {e.via}")
        return f"{who} acquired PyMutex {name(e.mutex, labels)} {how}."
    if k == "lock.release":
        if e.handoff_to is not None:
            return f"{who} released {name(e.mutex, labels)} and handed it to {tid(e.handoff_to)}, which now owns it."
        return f"{who} released PyMutex {name(e.mutex, labels)} ({e.via} path)."
    if k == "lock.set_parked":
        return f"{who} set _Py_HAS_PARKED on {name(e.mutex, labels)} before parking on it."
    if k == "lock.fail":
        return f"{who} gave up on {name(e.mutex, labels)}: {e.reason}."
    if k == "parking_lot.park":
        if not e.qlen:
            return f"{who} did not park on {name(e.addr, labels)}: the word no longer held the expected value."
        return f"{who} parked on {name(e.addr, labels)} (bucket {e.bucket}, {e.qlen} waiting)" + (
            ", detaching its thread state." if e.detach else ", staying attached.")
    if k == "parking_lot.unpark":
        if e.woken is None:
            return f"{who} unparked {name(e.addr, labels)} but nobody was waiting."
        return f"{who} dequeued {tid(e.woken)} from {name(e.addr, labels)}" + (
            "; others still wait." if e.has_more else "; the queue is now empty.")
    if k == "parking_lot.wake":
        return f"{who} woke from {name(e.addr, labels)} with result {e.result.upper()}."
    if k in ("pystate.attach", "pystate.detach", "pystate.suspend"):
        return f"{tid(e.thread)}'s thread state went {e.old} → {e.new}."
    if k == "pystate.new_thread":
        return f"{who} created thread state {tid(e.thread)} ({e.new})."
    if k == "pystate.delete_thread":
        return f"{who} deleted thread state {tid(e.thread)}."
    if k == "thread.start":
        return f"{tid(e.thread)} started running its function."
    if k == "thread.exit":
        return f"{tid(e.thread)} finished its function."
    if k == "thread.join":
        return f"{who} joined {tid(e.thread)}."
    if k == "lock.word":
        return f"{who}: {e.prim} {name(e.addr, labels)} {e.op}, word {e.bits_old} → {e.bits_new}."
    if k == "lock.seq_read":
        return f"{who} read seqlock {name(e.addr, labels)} at {e.seq_value}" + (", consistent." if e.ok else ", must retry.")
    if k == "lock.recursive":
        return f"{who} {e.op} recursive mutex {name(e.mutex, labels)}: level {e.level}."
    if k == "guest.load":
        return f"{who} read {name(e.addr, labels)} = {e.value}."
    if k == "guest.store":
        return f"{who} wrote {name(e.addr, labels)} = {e.value} (was {e.prev})."
    if k == "run.label":
        return f"Address {hexaddr(e.addr)} is named {e.label!r}."
    if k == "run.failure":
        return f"The run failed: {e.reason}."
    return k


def detail(e: Optional[Any], labels: dict[int, str]) -> Text:
    """The detail panel text: header, explanation, every field."""
    if e is None:
        return Text("before the first event", style="dim")
    k = kind_of(e)
    out = Text()
    out.append(f"seq {e.seq:,}", style="bold")
    out.append("  ·  ")
    out.append(f"t={ts_us(e.ts)} µs")
    out.append("  ·  ")
    out.append(tid(e.tid), style="bold cyan")
    out.append("  ·  ")
    out.append(k, style=kind_style(k))
    out.append("   ")
    out.append(explain(e, labels), style="italic")
    out.append("\n")
    for i, (f, v) in enumerate(fields(e, labels)):
        if i:
            out.append("   ")
        out.append(f + "=", style="dim")
        out.append(v)
    return out
