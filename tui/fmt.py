"""Text for events and values: what the list, the detail line and the panels print.

Plain functions over event Structs and label maps (no Textual), so they are easy to test
and the widgets stay thin.  Addresses print as hex, with the run's label when it has one;
thread ids as ``T<n>``; PyMutex bits as their flag names.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text

from ftreplay.runtime.ceval_gil import EvalBreakerBit
from ftreplay.runtime.object import GCBits

ADDR_FIELDS = frozenset({"mutex", "addr", "cs", "cs_mutex", "cs_mutex2", "block", "block_old", "page", "segment"})
OBJ_FIELDS = frozenset({"obj"})
TID_FIELDS = frozenset({"thread", "handoff_to", "woken", "owner", "tid", "ob_tid", "ob_tid_old", "requester"})
NS_FIELDS = frozenset({"wait_ns", "timeout_ns"})
MUTEX_BITS_KINDS = frozenset({"lock.acquire", "lock.release", "lock.set_parked"})

LOCKED, HAS_PARKED = 1, 2

# The object header (Include/object.h, free-threaded build).
IMMORTAL_LOCAL = 0xFFFFFFFF  # ob_ref_local of an immortal object (UINT32_MAX)
SHARED_FLAGS = ("INIT", "MAYBE_WEAKREF", "QUEUED", "MERGED")  # ob_ref_shared & 3
QUEUED = 2
OB_MUTEX_OFFSET = 10  # ob_mutex's offset in the header: a critical section locks block + 10
# Critical-section tag bits (Include/internal/pycore_critical_section.h).
CS_INACTIVE, CS_TWO_MUTEXES = 1, 2

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
    "qsbr": "spring_green2",
    "obmalloc": "khaki1",
    "gc": "orchid",
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


# Stop-the-world kinds stand out from the other pystate events, in the 'suspended' colour.
STW_KIND_STYLE = {
    "pystate.stw_request": "dodger_blue1",
    "pystate.stw_countdown": "dodger_blue1",
    "pystate.stop_the_world": "bold dodger_blue1",
    "pystate.start_the_world": "bold dodger_blue1",
}


def kind_style(kind: str) -> str:
    if kind == "run.failure":
        return "bold red1"
    if kind in STW_KIND_STYLE:
        return STW_KIND_STYLE[kind]
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


def shared_count(raw: int) -> int:
    """The count part of a raw ob_ref_shared (an arithmetic shift: it may be negative)."""
    return raw >> 2


def shared_flags(raw: int) -> str:
    return SHARED_FLAGS[raw & 3]


def shared(raw: Optional[int]) -> str:
    """A raw ob_ref_shared as ``count`` or ``count|FLAG``: ``-1|QUEUED``."""
    if raw is None:
        return "-"
    return str(raw >> 2) + (f"|{SHARED_FLAGS[raw & 3]}" if raw & 3 else "")


def local(v: Optional[int]) -> str:
    """ob_ref_local, with the immortal value spelled out."""
    if v is None:
        return "-"
    return "immortal" if v == IMMORTAL_LOCAL else str(v)


def refcnt(local_: int, raw_shared: int) -> Optional[int]:
    """Py_REFCNT of a header (None when immortal)."""
    if local_ == IMMORTAL_LOCAL:
        return None
    return local_ + (raw_shared >> 2)


def obj(o: Optional[int], objs: Optional[dict[int, str]] = None) -> str:
    """An object id as ``#5`` (``#5 owned-0`` when the object has a name)."""
    if o is None:
        return "-"
    nm = objs.get(o) if objs else None
    return f"#{o} {nm}" if nm else f"#{o}"


def mutex_name(addr: Optional[int], labels: dict[int, str]) -> str:
    """A mutex's label; an unlabelled object's ob_mutex reads as ``<object's label>.ob_mutex``."""
    if addr is None:
        return "-"
    lab = labels.get(addr)
    if lab:
        return lab
    owner = labels.get(addr - OB_MUTEX_OFFSET)
    if owner and (addr - OB_MUTEX_OFFSET) % 8 == 0:
        return f"{owner}.ob_mutex"
    return f"0x{addr:x}"


EVAL_EVENTS_BITS = 8  # _PY_EVAL_EVENTS_BITS: the monitoring version sits above the event bits
PLEASE_STOP = int(EvalBreakerBit._PY_EVAL_PLEASE_STOP_BIT)
ASYNC_EXCEPTION = int(EvalBreakerBit._PY_ASYNC_EXCEPTION_BIT)
GIL_DROP_REQUEST = int(EvalBreakerBit._PY_GIL_DROP_REQUEST_BIT)
GC_SCHEDULED = int(EvalBreakerBit._PY_GC_SCHEDULED_BIT)
# ob_gc_bits (Include/internal/pycore_gc.h)
GC_TRACKED = int(GCBits._PyGC_BITS_TRACKED)
GC_FINALIZED = int(GCBits._PyGC_BITS_FINALIZED)
GC_UNREACHABLE = int(GCBits._PyGC_BITS_UNREACHABLE)


# The collector's phases in order (Python/gc_free_threading.c): what each does, and
# whether the world is stopped meanwhile.
GC_PHASES = {
    "merge_queued": ("merging every thread's queued refcounts (BRC)", True),
    "delayed_frees": ("processing the delayed frees", True),
    "update_refs": ("gc_refs = refcount minus references from tracked objects, kept in ob_tid; "
                    "every tracked object is UNREACHABLE for now", True),
    "mark": ("objects with gc_refs > 0 and all they reach lose UNREACHABLE", True),
    "scan": ("unreachable objects get a merged refcount + 1, reachable ones their ob_tid back", True),
    "finalize": ("tp_finalize of unreachable objects, once each (FINALIZED)", False),
    "resurrection": ("unreachable objects referenced from outside again are resurrected", True),
    "delete": ("tp_clear and Py_DECREF of the garbage", False),
}


def gc_bits(bits: int) -> str:
    """ob_gc_bits by name (``TRACKED|UNREACHABLE``), or ``0``."""
    names = [b.name.removeprefix("_PyGC_BITS_") for b in GCBits if bits & b.value]
    extra = bits & ~sum(b.value for b in GCBits)
    if extra:
        names.append(hex(extra))
    return "|".join(names) if names else "0"


def gc_bits_change(old: int, new: int) -> str:
    """What a header write did to ob_gc_bits: ``+UNREACHABLE``, ``-UNREACHABLE +FINALIZED``."""
    gained, lost = new & ~old, old & ~new
    return " ".join([f"+{gc_bits(gained)}"] * bool(gained) + [f"-{gc_bits(lost)}"] * bool(lost))


def eval_breaker_bits(bits: int) -> str:
    """tstate->eval_breaker by name: its event bits (``EVAL_EXPLICIT_MERGE``) and the monitoring
    version above them (``version 2``: the count of MONITORING_VERSION_INCREMENTs), or ``0``."""
    names = [b.name.removeprefix("_PY_").removesuffix("_BIT") for b in EvalBreakerBit if bits & b.value]
    extra = bits & ((1 << EVAL_EVENTS_BITS) - 1) & ~sum(b.value for b in EvalBreakerBit)
    if extra:
        names.append(hex(extra))
    version = bits >> EVAL_EVENTS_BITS
    if version:
        names.append(f"version {version}")
    return "|".join(names) if names else "0"


def cs_tag(tag: int) -> str:
    """A critical section's tag bits: ACTIVE/INACTIVE, and 2 when it holds two mutexes."""
    return ("INACTIVE" if tag & CS_INACTIVE else "ACTIVE") + ("|TWO_MUTEXES" if tag & CS_TWO_MUTEXES else "")


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


def value(kind: str, field: str, v: Any, labels: dict[int, str], objs: Optional[dict[int, str]] = None) -> str:
    """One field of an event, as the detail line prints it (``objs``: object names by id)."""
    if v is None:
        return "-"
    if field in OBJ_FIELDS:
        return obj(v, objs)
    if field in ("mutex", "cs_mutex", "cs_mutex2") and isinstance(v, int):
        lab = mutex_name(v, labels)
        return lab if lab.startswith("0x") else f"{lab} @0x{v:x}"
    if field in ADDR_FIELDS and isinstance(v, int):
        return named(v, labels)
    if field in ("ob_tid", "ob_tid_old") and kind == "gc.header":
        return str(v)  # gc_refs during update_refs .. scan, a thread id otherwise
    if field in ("ob_tid", "ob_tid_old") and v == 0:
        return "0 (unowned)"
    if field in TID_FIELDS:
        return tid(v)
    if field in NS_FIELDS:
        return ns(v)
    if field in ("bits_old", "bits_new") and kind in MUTEX_BITS_KINDS:
        return f"{v} ({mutex_bits(v)})"
    if field in ("bits_old", "bits_new", "eval_bit") and kind == "ceval_gil.eval_breaker":
        return f"{v} ({eval_breaker_bits(v)})"
    if field in ("ob_ref_shared", "ob_ref_shared_old") and isinstance(v, int):
        return f"{v} ({shared(v)})" if v & 3 else str(v)
    if field in ("ob_ref_local", "ob_ref_local_old") and v == IMMORTAL_LOCAL:
        return f"{v} (immortal)"
    if field in ("cs_tag", "cs_tag_old"):
        return f"{v} ({cs_tag(v)})"
    if field in ("ob_gc_bits", "ob_gc_bits_old"):
        return f"{v} ({gc_bits(v)})"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def fields(e: Any, labels: dict[int, str], objs: Optional[dict[int, str]] = None) -> list[tuple[str, str]]:
    """(name, text) for each field after the envelope."""
    k = kind_of(e)
    return [(f, value(k, f, getattr(e, f), labels, objs)) for f in e.__struct_fields__ if f not in ("seq", "ts", "tid")]


def _cs_mutexes(e: Any, labels: dict[int, str]) -> str:
    if e.cs_mutex is None:
        return f"section @{hexaddr(e.cs)}"
    two = getattr(e, "cs_mutex2", None)
    return mutex_name(e.cs_mutex, labels) + (f" + {mutex_name(two, labels)}" if two is not None else "")


def _object_summary(k: str, e: Any, labels: dict[int, str], objs: Optional[dict[int, str]]) -> Optional[str]:
    """The list line of an object, BRC, eval-breaker or critical-section event (None: another kind)."""
    if k == "object.new":
        return (f"{obj(e.obj, objs)}  {e.type}  {e.size} B{'  gc' if e.gc else ''}  owner {tid(e.ob_tid)}"
                f"  @{hexaddr(e.block)}")
    if k in ("object.incref", "object.decref"):
        if e.path == "immortal":
            return f"{obj(e.obj, objs)}  immortal: no change"
        if e.ob_ref_local != e.ob_ref_local_old:
            change = f"local {e.ob_ref_local_old} → {e.ob_ref_local}"
        else:
            change = f"shared {shared(e.ob_ref_shared_old)} → {shared(e.ob_ref_shared)}"
        return f"{obj(e.obj, objs)}  {e.path}  {change}  refcnt {e.refcnt}"
    if k == "object.try_incref":
        return f"{obj(e.obj, objs)}  {e.path}  {'ok' if e.ok else 'failed'}  refcnt {e.refcnt}"
    if k == "object.disown":
        return f"{obj(e.obj, objs)}  {e.path}  ob_tid {tid(e.ob_tid_old)} → {tid(e.ob_tid) if e.ob_tid else 'unowned'}"
    if k == "object.merge":
        extra = f"  extra {e.extra}" if e.extra else ""
        return (f"{obj(e.obj, objs)}  {e.path}  shared {shared(e.ob_ref_shared_old)} → {shared(e.ob_ref_shared)}"
                f"{extra}  refcnt {e.refcnt}")
    if k == "object.dealloc":
        return f"{obj(e.obj, objs)}  {e.type}  freed  @{hexaddr(e.block)}"
    if k == "object.set_maybe_weakref":
        return f"{obj(e.obj, objs)}  shared {shared(e.ob_ref_shared_old)} → {shared(e.ob_ref_shared)}"
    if k == "object.set_immortal":
        return f"{obj(e.obj, objs)}  now immortal"
    if k == "brc.queue":
        return f"{obj(e.obj, objs)}  → {tid(e.owner)}'s queue (bucket {e.bucket})"
    if k == "brc.merge":
        return f"{obj(e.obj, objs)}  merged for {tid(e.owner)}  refcnt {e.refcnt}"
    if k == "brc.merge_batch":
        return f"{tid(e.thread)}  merges {e.count} queued object{'s' if e.count != 1 else ''}"
    if k in ("brc.init_thread", "brc.remove_thread"):
        return f"{tid(e.thread)}  bucket {e.bucket}"
    if k == "ceval_gil.eval_breaker":
        if e.op == "version":
            return f"{tid(e.thread)}  monitoring version {e.bits_old >> EVAL_EVENTS_BITS} → {e.bits_new >> EVAL_EVENTS_BITS}"
        return f"{tid(e.thread)}  {e.op} {eval_breaker_bits(e.eval_bit)}  → {eval_breaker_bits(e.bits_new)}"
    if k.startswith("critical_section."):
        path = getattr(e, "path", "")
        return f"{_cs_mutexes(e, labels)}  depth {e.depth}  {cs_tag(e.cs_tag)}" + (f"  {path}" if path else "")
    return None


def _qsbr_seq(v: int) -> str:
    return "offline" if v == 0 else str(v)


def _queue(q: int) -> str:
    return "the interpreter's queue" if q == 0 else f"{tid(q)}'s queue"


def _memory_summary(k: str, e: Any, labels: dict[int, str]) -> Optional[str]:
    """The list line of a QSBR or allocator event (None: another kind)."""
    if k in ("qsbr.register", "qsbr.unregister"):
        return f"{tid(e.thread)}  slot {e.slot}"
    if k in ("qsbr.attach", "qsbr.detach", "qsbr.quiescent"):
        return f"{tid(e.thread)}  seq {_qsbr_seq(e.qsbr_seq_old)} → {_qsbr_seq(e.qsbr_seq)}"
    if k == "qsbr.advance":
        return f"wr_seq {e.wr_seq_old} → {e.wr_seq}  ({e.path})"
    if k == "qsbr.poll":
        return f"goal {e.goal}  rd_seq {e.rd_seq_old} → {e.rd_seq}  {'reached' if e.ok else 'not reached'}"
    if k == "obmalloc.alloc":
        return f"{name(e.block, labels)}  {e.size} B  {e.heap} heap  page {hexaddr(e.page)}"
    if k == "obmalloc.free":
        return f"{name(e.block, labels)}  {e.size} B  {e.heap} heap  {e.path}"
    if k == "obmalloc.collect":
        return f"page {hexaddr(e.page)}  collects {e.count} cross-thread free{'s' if e.count != 1 else ''}"
    if k == "obmalloc.page_new":
        return f"page {hexaddr(e.page)}  {e.heap} bin {e.bin}  {e.block_size} B × {e.capacity}"
    if k == "obmalloc.page_free":
        goal = f"  goal {e.goal} (rd_seq {e.rd_seq})" if e.goal else ""
        return f"page {hexaddr(e.page)}  {e.heap} bin {e.bin}{goal}"
    if k == "obmalloc.page_qsbr_defer":
        return f"page {hexaddr(e.page)}  goal {e.goal_old} → {e.goal}"
    if k == "obmalloc.page_qsbr_cancel":
        return f"page {hexaddr(e.page)}  goal {e.goal_old} cancelled"
    if k in ("obmalloc.segment_new", "obmalloc.segment_free", "obmalloc.segment_abandon",
             "obmalloc.segment_reclaim"):
        return f"segment {hexaddr(e.segment)}  {tid(e.thread)}"
    if k == "obmalloc.free_delayed":
        return f"{name(e.block, labels)}  {e.size} B  goal {e.goal}  → {_queue(e.thread)}"
    if k == "obmalloc.process_delayed":
        return f"{name(e.block, labels)}  goal {e.goal}  from {_queue(e.thread)}  (rd_seq {e.rd_seq})"
    if k == "obmalloc.abandon_delayed":
        return f"{tid(e.thread)}'s queue: {e.count} block{'s' if e.count != 1 else ''} → the interpreter's queue"
    return None


def _gc_header_summary(e: Any, objs: Optional[dict[int, str]]) -> str:
    """What a collector header write changed, field by field."""
    parts = [obj(e.obj, objs)]
    if e.ob_gc_bits != e.ob_gc_bits_old:
        parts.append(f"bits {gc_bits_change(e.ob_gc_bits_old, e.ob_gc_bits)}")
    if e.ob_tid != e.ob_tid_old:
        parts.append(f"ob_tid {e.ob_tid_old} → {e.ob_tid}")
    if e.ob_ref_local != e.ob_ref_local_old:
        parts.append(f"local {local(e.ob_ref_local_old)} → {local(e.ob_ref_local)}")
    if e.ob_ref_shared != e.ob_ref_shared_old:
        parts.append(f"shared {shared(e.ob_ref_shared_old)} → {shared(e.ob_ref_shared)}")
    return "  ".join(parts)


def _gc_summary(k: str, e: Any, objs: Optional[dict[int, str]]) -> Optional[str]:
    """The list line of a collector or GIL event (None: another kind)."""
    if k == "gc.schedule":
        return f"count {e.count:,} > threshold {e.threshold:,}  GC scheduled on {tid(e.tid)}"
    if k == "gc.start":
        return f"collection of generation {e.gen}  {e.reason}"
    if k == "gc.phase":
        return f"phase {e.phase or 'done'}" + (f"  (after {e.phase_old})" if e.phase_old else "")
    if k == "gc.header":
        return _gc_header_summary(e, objs)
    if k == "gc.end":
        return f"collected {e.collected:,}  uncollectable {e.uncollectable:,}"
    if k == "ceval_gil.take":
        return f"{tid(e.thread)} takes the GIL" + (f"  switch {e.switch_number}" if e.switched else "  (again)")
    if k == "ceval_gil.drop":
        return f"{tid(e.thread)} drops the GIL" + ("  final" if e.final else "")
    if k == "ceval_gil.drop_request":
        return f"asks {tid(e.thread)} to drop the GIL  (switch {e.switch_number})"
    return None


def _gc_explain(k: str, e: Any, objs: Optional[dict[int, str]]) -> Optional[str]:
    """What a collector or GIL event means (None: another kind)."""
    who = tid(e.tid)
    if k == "gc.schedule":
        return (f"{who}'s allocations brought young.count to {e.count:,}, past the threshold {e.threshold:,}: "
                f"it set GC_SCHEDULED in its eval breaker and collects at its next check.")
    if k == "gc.start":
        why = {"manual": "gc.collect() was called", "threshold": "the eval breaker ran the scheduled collection"}
        return f"{who} starts a collection ({why.get(e.reason, e.reason)}): it stops the world first."
    if k == "gc.phase":
        if not e.phase:
            return f"The collection's phases are done (the last was {e.phase_old})."
        what, stopped = GC_PHASES.get(e.phase, ("", False))
        world = "world stopped" if stopped else "world running"
        return f"The collection enters phase {e.phase} ({world})" + (f": {what}." if what else ".")
    if k == "gc.header":
        o = obj(e.obj, objs)
        gained, lost = e.ob_gc_bits & ~e.ob_gc_bits_old, e.ob_gc_bits_old & ~e.ob_gc_bits
        if gained & GC_UNREACHABLE:
            return (f"update_refs: {o}'s gc_refs ({e.ob_tid}: its refcount minus references from tracked "
                    f"objects) go into ob_tid, and it is UNREACHABLE until mark finds it reachable.")
        if gained & GC_FINALIZED:
            return f"{o} is unreachable and has a finalizer: FINALIZED is set and tp_finalize runs (once)."
        if lost & GC_UNREACHABLE:
            return f"{o} is no longer UNREACHABLE (reachable after all, resurrected, or about to be deleted)."
        if e.ob_gc_bits & GC_UNREACHABLE and e.ob_ref_local == 0 and e.ob_tid == 0:
            return (f"scan: {o} is unreachable: its refcount is merged into ob_ref_shared plus one reference "
                    f"that delete_garbage drops (ob_tid 0, flags MERGED).")
        if e.ob_ref_shared != e.ob_ref_shared_old and e.ob_ref_local == 0 and e.ob_tid == 0:
            return f"The collector merged {o}'s refcount into ob_ref_shared (ob_tid 0, flags MERGED)."
        if e.ob_tid != e.ob_tid_old:
            return f"The collector set {o}'s ob_tid {e.ob_tid_old} → {e.ob_tid} (restored from its segment's owner)."
        return f"The collector wrote {o}'s header (the world is stopped: plain stores)."
    if k == "gc.end":
        return f"{who}'s collection ends: {e.collected:,} objects collected, {e.uncollectable:,} uncollectable."
    if k == "ceval_gil.take":
        if not e.switched:
            return f"{tid(e.thread)} took the GIL again: it was the last holder (no switch)."
        if e.switch_number == 1:
            return f"{tid(e.thread)} took the GIL, the first thread to hold it (switch number 1)."
        return f"{tid(e.thread)} took the GIL after another thread (switch number {e.switch_number})."
    if k == "ceval_gil.drop":
        if e.final:
            return f"{tid(e.thread)} released the GIL for the last time (no forced switch: gh-104341)."
        return (f"{tid(e.thread)} released the GIL; if another thread asked for it, {tid(e.thread)} waits until "
                f"one has taken it (forced switching).")
    if k == "ceval_gil.drop_request":
        return (f"{who} waited a switch interval for the GIL without a switch: it sets GIL_DROP_REQUEST in "
                f"{tid(e.thread)}'s eval breaker.")
    return None


def _stw_summary(k: str, e: Any) -> Optional[str]:
    """The list line of a stop-the-world event (None: another kind)."""
    if k == "pystate.stw_request":
        return f"{e.scope}  requested by {tid(e.requester)}  countdown {e.countdown}"
    if k == "pystate.stw_countdown":
        return f"{e.scope}  countdown {e.countdown_old} → {e.countdown}" + ("  all stopped" if e.countdown == 0 else "")
    if k == "pystate.stop_the_world":
        return f"{e.scope}  world stopped by {tid(e.requester)}"
    if k == "pystate.start_the_world":
        left = f"  countdown was {e.countdown}" if e.countdown else ""
        return f"{e.scope}  world restarted by {tid(e.requester)}{left}"
    return None


def _stw_explain(k: str, e: Any) -> Optional[str]:
    """What a stop-the-world event, or a thread-state change it causes, means (None: another)."""
    who = tid(e.tid)
    if k == "pystate.stw_request":
        n = f"{e.countdown} other thread{'s' if e.countdown != 1 else ''}"
        return (f"{tid(e.requester)} requests a stop-the-world pause ({e.scope}): {n} must stop; it flips "
                f"detached ones to suspended and sets PLEASE_STOP in the attached ones' eval breakers.")
    if k == "pystate.stw_countdown":
        left = "every other thread has stopped" if e.countdown == 0 else f"{e.countdown} left to stop"
        return f"{who} counted down the {e.scope} pause: {left}."
    if k == "pystate.stop_the_world":
        return (f"The world is stopped ({e.scope}): every other thread in scope is suspended until "
                f"{tid(e.requester)} restarts it.")
    if k == "pystate.start_the_world":
        return f"{tid(e.requester)} restarts the world ({e.scope}): it flips every suspended thread back to detached."
    if k == "pystate.suspend":
        if e.tid != e.thread:
            return f"{who}, stopping the world, flipped {tid(e.thread)}'s thread state {e.old} → {e.new}."
        return f"{tid(e.thread)} suspended itself for a stop-the-world pause ({e.old} → {e.new})."
    if k == "pystate.detach" and e.old == "suspended":
        return f"{who} restarted the world: {tid(e.thread)}'s thread state went {e.old} → {e.new}."
    return None


def _eval_breaker_explain(e: Any) -> str:
    who, target = tid(e.tid), tid(e.thread)
    if e.op == "version":
        return (f"{who} copied monitoring version {e.bits_new >> EVAL_EVENTS_BITS} into {target}'s eval breaker "
                f"(was {e.bits_old >> EVAL_EVENTS_BITS}); RESUME compares it with the code's version.")
    bit = eval_breaker_bits(e.eval_bit)
    if e.eval_bit == PLEASE_STOP:
        if e.op == "set":
            return f"{who} set {bit} in {target}'s eval breaker: it must suspend itself at its next check."
        return f"{who} handles {bit} at its eval breaker: it suspends itself if a pause is still requested."
    if e.eval_bit == GC_SCHEDULED:
        if e.op == "set":
            return f"{who} set {bit} in {target}'s eval breaker: it collects garbage at its next check."
        return f"{who} handles {bit} at its eval breaker: it runs the scheduled collection."
    if e.eval_bit == GIL_DROP_REQUEST:
        if e.op == "set":
            return f"{who} set {bit} in {target}'s eval breaker: it must drop the GIL at its next check."
        return f"{who} clears {bit} in {target}'s eval breaker."
    if e.eval_bit == ASYNC_EXCEPTION:
        if e.op == "set":
            return f"{who} set {bit} in {target}'s eval breaker: an asynchronous exception waits for it."
        return f"{who} handles {bit}: it raises the asynchronous exception."
    return f"{who} {e.op} {bit} in {target}'s eval breaker."


def _interp(i: int) -> str:
    return "no interpreter" if i < 0 else f"interp {i}"


def _interp_summary(k: str, e: Any, objs: Optional[dict[int, str]]) -> Optional[str]:
    """The list line of a subinterpreter, type-cache or function-version event."""
    if k == "interpreters.new":
        gil = "own GIL" if e.own_gil else "main's GIL"
        alloc = "own obmalloc" if e.own_obmalloc else "main's obmalloc"
        return f"{_interp(e.interp)}  {e.whence}  {gil}, {alloc}"
    if k == "interpreters.delete":
        return _interp(e.interp)
    if k == "interpreters.swap":
        new = f"{tid(e.thread)} ({_interp(e.interp)})" if e.thread else "none"
        old = f"{tid(e.thread_old)} ({_interp(e.interp_old)})" if e.thread_old else "none"
        return f"{old} → {new}"
    if k == "interpreters.running_main":
        return f"{_interp(e.interp)}  __main__ {tid(e.thread_old) if e.thread_old else '-'} → " \
               f"{tid(e.thread) if e.thread else '-'}"
    if k == "interpreters.extensions":
        return f"{e.name}  {e.op}  as {tid(e.thread)} for {_interp(e.interp)}"
    if k == "typeobject.version":
        return f"{e.type}  version {e.version_old} → {e.version}"
    if k == "typeobject.cache_read":
        got = f" → {obj(e.value, objs)}" if e.value else ""
        return f"{e.type}.{e.name}  [{e.index}]  {e.path}{got}"
    if k == "typeobject.cache_store":
        return (f"[{e.index}]  ({e.version_old}, {e.name_old or '-'}, {obj(e.value_old, objs) if e.value_old else '-'})"
                f" → ({e.version}, {e.name or '-'}, {obj(e.value, objs) if e.value else '-'})")
    if k == "funcobject.version":
        return f"{e.func}  version {e.version_old} → {e.version}  ({e.counter})"
    return None


def _interp_explain(k: str, e: Any, objs: Optional[dict[int, str]]) -> Optional[str]:
    """What a subinterpreter, type-cache or function-version event means."""
    who = tid(e.tid)
    if k == "interpreters.new":
        return (f"{who} created {_interp(e.interp)} ({e.whence}) with "
                f"{'its own GIL' if e.own_gil else 'the main GIL'} and "
                f"{'its own obmalloc state' if e.own_obmalloc else 'the main obmalloc state'}.")
    if k == "interpreters.delete":
        return f"{who} deleted {_interp(e.interp)} (Py_EndInterpreter)."
    if k == "interpreters.swap":
        if not e.thread:
            return f"{who} swapped its thread state {tid(e.thread_old)} out: no thread state is current."
        return (f"{who} swapped in thread state {tid(e.thread)} of {_interp(e.interp)}: it now runs in that "
                f"interpreter (and under the GIL that interpreter uses).")
    if k == "interpreters.running_main":
        if e.thread:
            return f"{tid(e.thread)} now runs __main__ of {_interp(e.interp)}."
        return f"{tid(e.thread_old)} no longer runs __main__ of {_interp(e.interp)}."
    if k == "interpreters.extensions":
        if e.op == "bind":
            return (f"{who} bound the shared main-interpreter thread state {tid(e.thread)} to itself to fix up "
                    f"{e.name!r} for {_interp(e.interp)}.")
        if e.op == "unbind":
            return f"{who} unbound the shared main-interpreter thread state {tid(e.thread)}."
        return f"{who} stored {e.name!r} in the extension cache while initialising {_interp(e.interp)}."
    if k == "typeobject.version":
        if e.version:
            return f"{e.type} got version tag {e.version}: lookups on it can use the type cache."
        return f"{e.type} was modified: its version tag went {e.version_old} → 0, so its cache entries miss."
    if k == "typeobject.cache_read":
        text = {"hit": "found it in the cache (sequence unchanged, value increfed)",
                "retry": "saw the entry's sequence change under it: it drops the reference and retries",
                "miss": "missed the cache: it looks the name up along the MRO under the type lock",
                "incref_failed": "could not incref the cached value: the slow path under the type lock"}
        return f"{who} looked {e.type}.{e.name} up in slot {e.index} and {text.get(e.path, e.path)}."
    if k == "typeobject.cache_store":
        return f"{who} stored into type-cache slot {e.index} (version, name, value after the store)."
    if k == "funcobject.version":
        return f"{e.func}'s version went {e.version_old} → {e.version} ({e.counter})."
    return None


_LIFECYCLE_KINDS = frozenset((
    "thread.handle", "thread.must_exit", "pystate.shutting_down", "pystate.hang", "pystate.delete_list",
    "pylifecycle.phase", "pylifecycle.fork", "pylifecycle.after_fork_child", "pylifecycle.after_fork_parent",
    "pylifecycle.exit", "pylifecycle.reinit_lock"))


def _lifecycle_summary(k: str, e: Any, labels: dict[int, str]) -> str:
    """Thread handles, finalization and fork (runtime/threadmodule.py, runtime/pylifecycle.py)."""
    if k == "thread.handle":
        daemon = "  daemon" if e.daemon else ""
        return f"handle of {tid(e.thread) if e.thread else 'a new thread'}  {e.old or 'new'} → {e.new}{daemon}"
    if k == "thread.must_exit":
        return f"{tid(e.thread)}  started too late: exits without touching its thread state"
    if k == "pystate.shutting_down":
        return f"{tid(e.thread)}  {e.old} → {e.new}  by {tid(e.tid)}"
    if k == "pystate.hang":
        return f"{tid(e.thread)}  hangs forever: its thread state was shut down"
    if k == "pystate.delete_list":
        return f"{tid(e.thread)}  interp {e.interp}  deleted by {tid(e.tid)} (was {e.phase_old})"
    if k == "pylifecycle.phase":
        return f"finalization: {e.phase}"
    if k == "pylifecycle.fork":
        return f"fork: process {e.child} starts, with only {tid(e.thread)}"
    if k == "pylifecycle.after_fork_child":
        return f"process {e.process} (child of {e.parent}): after-fork begins, parking lot reset"
    if k == "pylifecycle.after_fork_parent":
        return f"process {e.child} ended ({e.status}); the parent goes on"
    if k == "pylifecycle.exit":
        return f"process {e.process} exits ({e.status})"
    return f"{mutex_name(e.mutex, labels)}  zeroed in the child  (was {mutex_bits(e.bits_old)}, {tid(e.holder)})"


def summary(e: Any, labels: dict[int, str], objs: Optional[dict[int, str]] = None) -> str:
    """A compact one-line description for the event list (``objs``: object names by id)."""
    k = kind_of(e)
    module = k.split(".", 1)[0]
    if module in ("interpreters", "typeobject", "funcobject"):
        line = _interp_summary(k, e, objs)
        if line is not None:
            return line
    if module in ("object", "brc", "critical_section") or k == "ceval_gil.eval_breaker":
        line = _object_summary(k, e, labels, objs)
        if line is not None:
            return line
    if module in ("qsbr", "obmalloc"):
        line = _memory_summary(k, e, labels)
        if line is not None:
            return line
    if module in ("gc", "ceval_gil"):
        line = _gc_summary(k, e, objs)
        if line is not None:
            return line
    if k == "lock.acquire":
        waited = f"  waited {ns(e.wait_ns)}" if e.wait_ns else ""
        return f"{mutex_name(e.mutex, labels)}  via {e.via}  {mutex_bits(e.bits_old)} → {mutex_bits(e.bits_new)}{waited}"
    if k == "lock.release":
        to = f"  hand-off → {tid(e.handoff_to)}" if e.handoff_to is not None else ""
        return f"{mutex_name(e.mutex, labels)}  via {e.via}{to}  {mutex_bits(e.bits_old)} → {mutex_bits(e.bits_new)}"
    if k == "lock.set_parked":
        return f"{mutex_name(e.mutex, labels)}  {mutex_bits(e.bits_old)} → {mutex_bits(e.bits_new)}"
    if k == "lock.fail":
        return f"{mutex_name(e.mutex, labels)}  {e.reason}"
    if k == "parking_lot.park":
        if not e.qlen:
            return f"{name(e.addr, labels)}  value changed, not parked"
        extra = "" if e.detach else "  (without detaching)"
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
        by = f"  by {tid(e.tid)}" if e.tid != e.thread else ""
        return f"{tid(e.thread)}  {e.old} → {e.new}{by}"
    if k.startswith("pystate.st"):
        line = _stw_summary(k, e)
        if line is not None:
            return line
    if k in _LIFECYCLE_KINDS:
        return _lifecycle_summary(k, e, labels)
    if k == "pystate.new_thread":
        proc = f"  process {e.process}" if e.process != 1 else ""
        return f"{tid(e.thread)}  interp {e.interp}  {e.new}{proc}"
    if k == "pystate.delete_thread":
        return f"{tid(e.thread)}  interp {e.interp}"
    if k in ("thread.start", "thread.exit", "thread.join"):
        return tid(e.thread)
    if k == "lock.word":
        return f"{name(e.addr, labels)}  {e.prim}.{e.op}  {e.bits_old} → {e.bits_new}"
    if k == "lock.seq_read":
        return f"{name(e.addr, labels)}  seq {e.seq_value}  {'ok' if e.ok else 'retry'}"
    if k == "lock.recursive":
        return f"{mutex_name(e.mutex, labels)}  {e.op}  level {e.level}  owner {tid(e.owner)}"
    if k == "guest.load":
        return f"{name(e.addr, labels)} = {guest_value(e.value, labels)}"
    if k == "guest.store":
        return f"{name(e.addr, labels)} = {guest_value(e.value, labels)}  (was {guest_value(e.prev, labels)})"
    if k == "run.label":
        return f"{hexaddr(e.addr)} = {e.label}"
    if k == "run.failure":
        return f"{e.reason}: {e.message}"
    return "  ".join(f"{f}={v}" for f, v in fields(e, labels, objs)) or k


_OBJECT_EXPLAIN = {
    ("object.incref", "local"): "{who} (the owner) increfed {o}: ob_ref_local += 1, no atomic.",
    ("object.incref", "shared"): "{who} (not the owner) increfed {o} with an atomic add on ob_ref_shared.",
    ("object.decref", "local"): "{who} (the owner) decrefed {o}: ob_ref_local -= 1.",
    ("object.decref", "shared"): "{who} (not the owner) decrefed {o} with a CAS on ob_ref_shared.",
    ("object.merge", "queue"): "{who} merged {o}'s counts while draining its BRC queue (flags → MERGED).",
    ("object.merge", "zero_local"): "{o}'s local count reached 0 with shared references left: the counts merged "
                                    "(flags → MERGED).",
    ("object.merge", "owner_gone"): "{o}'s owner has exited, so {who} merged its counts itself (flags → MERGED).",
    ("object.merge", "explicit"): "{o} was merged explicitly (local count moved into ob_ref_shared).",
}


def explain(e: Any, labels: dict[int, str], objs: Optional[dict[int, str]] = None) -> str:
    """One sentence saying what the event means in CPython's terms."""
    k = kind_of(e)
    who = tid(e.tid)
    if k == "lock.acquire":
        how = {"fast": "on the fast path (one compare-and-swap)",
               "slow": "after spinning or parking",
               "handoff": "by direct hand-off from the unlocker"}.get(e.via, f"via {e.via}")
        return f"{who} acquired PyMutex {mutex_name(e.mutex, labels)} {how}."
    if k == "lock.release":
        if e.handoff_to is not None:
            return f"{who} released {mutex_name(e.mutex, labels)} and handed it to {tid(e.handoff_to)}, which now owns it."
        return f"{who} released PyMutex {mutex_name(e.mutex, labels)} ({e.via} path)."
    if k == "lock.set_parked":
        return f"{who} set _Py_HAS_PARKED on {mutex_name(e.mutex, labels)} before parking on it."
    if k == "lock.fail":
        return f"{who} gave up on {mutex_name(e.mutex, labels)}: {e.reason}."
    if k == "parking_lot.park":
        if not e.qlen:
            return f"{who} did not park on {name(e.addr, labels)}: the word no longer held the expected value."
        return f"{who} parked on {name(e.addr, labels)} (bucket {e.bucket}, {e.qlen} waiting)" + (
            ", detaching its thread state." if e.detach else ", without detaching its thread state.")
    if k == "parking_lot.unpark":
        if e.woken is None:
            return f"{who} unparked {name(e.addr, labels)} but nobody was waiting."
        return f"{who} dequeued {tid(e.woken)} from {name(e.addr, labels)}" + (
            "; others still wait." if e.has_more else "; the queue is now empty.")
    if k == "parking_lot.wake":
        return f"{who} woke from {name(e.addr, labels)} with result {e.result.upper()}."
    if k.startswith("pystate."):
        text = _stw_explain(k, e)
        if text is not None:
            return text
    if k.startswith(("gc.", "ceval_gil.")):
        text = _gc_explain(k, e, objs)
        if text is not None:
            return text
    if k.startswith(("interpreters.", "typeobject.", "funcobject.")):
        text = _interp_explain(k, e, objs)
        if text is not None:
            return text
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
    o = obj(getattr(e, "obj", None), objs)
    text = _OBJECT_EXPLAIN.get((k, getattr(e, "path", None)))
    if text is not None:
        return text.format(who=who, o=o)
    if k in ("object.incref", "object.decref") and e.path == "immortal":
        return f"{o} is immortal: {who}'s {k.split('.')[1]} changed nothing."
    if k == "object.new":
        return f"{who} created {o}, a {e.type} it owns (ob_tid = {tid(e.ob_tid)}, ob_ref_local = 1)."
    if k == "object.dealloc":
        return f"{o}'s reference count reached 0: {who} deallocated it."
    if k == "object.disown":
        return f"{o} lost its owner (ob_tid → 0, {e.path})."
    if k == "object.try_incref":
        return f"{who} tried a lock-free incref of {o}: " + ("it succeeded." if e.ok else "the object was already dying.")
    if k == "object.set_maybe_weakref":
        return f"{o} was marked MAYBE_WEAKREF: other threads may now try_incref it."
    if k == "object.set_immortal":
        return f"{o} became immortal: refcount operations no longer touch its header."
    if k == "brc.queue":
        return (f"{who}'s decref found {o}'s shared count at zero: it set QUEUED and handed the reference to "
                f"the owner {tid(e.owner)}'s BRC queue.")
    if k == "brc.merge":
        return f"{o} was merged from {tid(e.owner)}'s BRC queue."
    if k == "brc.merge_batch":
        return f"{tid(e.thread)} merges the objects queued to it (_Py_brc_merge_refcounts)."
    if k == "ceval_gil.eval_breaker":
        return _eval_breaker_explain(e)
    if k in ("brc.init_thread", "brc.remove_thread"):
        verb = "registered in" if k == "brc.init_thread" else "left"
        return f"{tid(e.thread)} {verb} the BRC table (bucket {e.bucket})."
    if k.startswith("critical_section."):
        what = _cs_mutexes(e, labels)
        return {
            "critical_section.begin": f"{who} began a critical section on {what} ({getattr(e, 'path', '')}).",
            "critical_section.locked": f"{who} now holds {what} for its critical section.",
            "critical_section.end": f"{who} ended its critical section on {what}.",
            "critical_section.suspend": f"{who} suspended its critical section {what}, releasing its mutexes.",
            "critical_section.resume": f"{who} resumes its critical section {what}: it relocks its mutexes.",
        }.get(k, f"{who}: {k} on {what}.")
    return k


def detail(e: Optional[Any], labels: dict[int, str], objs: Optional[dict[int, str]] = None) -> Text:
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
    out.append(explain(e, labels, objs), style="italic")
    out.append("\n")
    for i, (f, v) in enumerate(fields(e, labels, objs)):
        if i:
            out.append("   ")
        out.append(f + "=", style="dim")
        out.append(v)
    return out
