"""tui.fmt: how events and values read in the list, the detail line and the panels."""

from __future__ import annotations

from ftreplay.record.events import LockAcquire, LockRelease, ParkingLotPark, RunFailure
from tui import fmt

LABELS = {0x7F0000100050: "counter_lock"}


def test_values():
    assert fmt.mutex_bits(0) == "unlocked"
    assert fmt.mutex_bits(3) == "LOCKED|HAS_PARKED"
    assert fmt.named(0x7F0000100050, LABELS) == "counter_lock @0x7f0000100050"
    assert fmt.name(0x10, LABELS) == "0x10"
    assert fmt.ns(999) == "999 ns" and fmt.ns(1500) == "1.500 µs" and fmt.ns(2_000_000) == "2.000 ms"
    assert fmt.ns_short(10) == "+10ns" and fmt.ns_short(-1500) == "-1.5µs" and fmt.ns_short(0) == "0ns"
    assert fmt.ts_us(1_234_567) == "1,234.567"


def test_event_text():
    rel = LockRelease(5, 100, 3, 0x7F0000100050, "slow", 4, 3, 1)
    assert fmt.summary(rel, LABELS) == "counter_lock  via slow  hand-off → T4  LOCKED|HAS_PARKED → LOCKED"
    assert "handed it to T4" in fmt.explain(rel, LABELS)
    fields = dict(fmt.fields(rel, LABELS))
    assert fields["mutex"] == "counter_lock @0x7f0000100050"
    assert fields["handoff_to"] == "T4"
    assert fields["bits_old"] == "3 (LOCKED|HAS_PARKED)"
    acq = LockAcquire(6, 120, 4, 0x7F0000100050, "handoff", 1, 1, 2500)
    assert "waited 2.500 µs" in fmt.summary(acq, LABELS)
    park = ParkingLotPark(7, 130, 2, 0x7F0000100050, True, None, 12, 3, 2)
    assert fmt.summary(park, LABELS) == "counter_lock  bucket 12  queue 2"
    fail = RunFailure(8, 140, 0, "deadlock", "wait-for cycle: ...")
    assert fmt.kind_style("run.failure") == "bold red1"
    text = fmt.detail(fail, LABELS).plain
    assert text.startswith("seq 8") and "reason=deadlock" in text


def test_object_header_values():
    assert fmt.shared(0) == "0" and fmt.shared((3 << 2) | 3) == "3|MERGED" and fmt.shared((-1 << 2) | 2) == "-1|QUEUED"
    assert fmt.shared_count((-1 << 2) | 2) == -1 and fmt.shared_flags(1) == "MAYBE_WEAKREF"
    assert fmt.refcnt(2, (-1 << 2) | 2) == 1 and fmt.refcnt(fmt.IMMORTAL_LOCAL, 0) is None
    assert fmt.local(fmt.IMMORTAL_LOCAL) == "immortal"
    assert fmt.obj(5) == "#5" and fmt.obj(5, {5: "owned-0"}) == "#5 owned-0"
    labels = {0x1000: "a", 0x2000: "io_lock"}
    assert fmt.mutex_name(0x100A, labels) == "a.ob_mutex"  # ob_mutex sits at offset 10 of the header
    assert fmt.mutex_name(0x2000, labels) == "io_lock" and fmt.mutex_name(0x300A, labels) == "0x300a"
    assert fmt.eval_breaker_bits(0x40) == "EVAL_EXPLICIT_MERGE"
    assert fmt.eval_breaker_bits(0x41) == "GIL_DROP_REQUEST|EVAL_EXPLICIT_MERGE"
    assert fmt.eval_breaker_bits(0) == "0"
    # The monitoring version sits above the 8 event bits, in steps of MONITORING_VERSION_INCREMENT.
    assert fmt.eval_breaker_bits(0x100) == "version 1"
    assert fmt.eval_breaker_bits(0x220) == "EVAL_PLEASE_STOP|version 2"
    assert fmt.cs_tag(0) == "ACTIVE" and fmt.cs_tag(3) == "INACTIVE|TWO_MUTEXES"


def test_object_event_text():
    from ftreplay.record.events import BrcQueue, CriticalSectionBegin, ObjectDecref, ObjectNew

    names = {5: "owned-0"}
    new = ObjectNew(1, 10, 3, 5, "dict", 32, False, 0x1000, 3)
    assert fmt.summary(new, {}, names) == "#5 owned-0  dict  32 B  owner T3  @0x1000"
    dec = ObjectDecref(2, 20, 4, 5, "shared", 3, (0 << 2) | 2, 3, 3, 0)
    assert fmt.summary(dec, {}, names) == "#5 owned-0  shared  shared 0 → 0|QUEUED  refcnt 3"
    assert "not the owner" in fmt.explain(dec, {}, names)
    fields = dict(fmt.fields(dec, {}, names))
    assert fields["obj"] == "#5 owned-0" and fields["ob_ref_shared"] == "2 (0|QUEUED)"
    q = BrcQueue(3, 30, 4, 5, 3, 3)
    assert fmt.summary(q, {}, names) == "#5 owned-0  → T3's queue (bucket 3)"
    cs = CriticalSectionBegin(4, 40, 2, 0xA0, 1, 2, 0x100A, 0x102A, "fast")
    assert fmt.summary(cs, {0x1000: "a", 0x1020: "b"}) == "a.ob_mutex + b.ob_mutex  depth 1  ACTIVE|TWO_MUTEXES  fast"


def test_stop_the_world_event_text():
    from ftreplay.record.events import (
        PystateDetach,
        PystateStartTheWorld,
        PystateStopTheWorld,
        PystateStwCountdown,
        PystateStwRequest,
        PystateSuspend,
    )

    req = PystateStwRequest(10, 100, 5, "interp", 5, 4)
    assert fmt.summary(req, {}) == "interp  requested by T5  countdown 4"
    assert fmt.explain(req, {}).startswith("T5 requests a stop-the-world pause (interp): 4 other threads must stop")
    assert dict(fmt.fields(req, {}))["requester"] == "T5"
    assert fmt.kind_style("pystate.stw_request") != fmt.kind_style("pystate.attach")
    down = PystateStwCountdown(11, 110, 2, "interp", 0, 1)
    assert fmt.summary(down, {}) == "interp  countdown 1 → 0  all stopped"
    assert fmt.explain(down, {}) == "T2 counted down the interp pause: every other thread has stopped."
    stop = PystateStopTheWorld(12, 120, 5, "global", 5)
    assert fmt.summary(stop, {}) == "global  world stopped by T5"
    assert "every other thread in scope is suspended" in fmt.explain(stop, {})
    start = PystateStartTheWorld(13, 130, 5, "global", 5, 0)
    assert fmt.summary(start, {}) == "global  world restarted by T5"
    assert "back to detached" in fmt.explain(start, {})
    flipped = PystateSuspend(14, 140, 5, 1, "detached", "suspended")
    assert fmt.summary(flipped, {}) == "T1  detached → suspended  by T5"
    assert fmt.explain(flipped, {}) == "T5, stopping the world, flipped T1's thread state detached → suspended."
    itself = PystateSuspend(15, 150, 2, 2, "attached", "suspended")
    assert fmt.summary(itself, {}) == "T2  attached → suspended"
    assert fmt.explain(itself, {}).startswith("T2 suspended itself")
    back = PystateDetach(16, 160, 5, 2, "suspended", "detached")
    assert fmt.summary(back, {}) == "T2  suspended → detached  by T5"
    assert fmt.explain(back, {}).startswith("T5 restarted the world")
    own = PystateDetach(17, 170, 2, 2, "attached", "detached")
    assert fmt.summary(own, {}) == "T2  attached → detached"
    assert fmt.explain(own, {}) == "T2's thread state went attached → detached."


def test_eval_breaker_event_text():
    from ftreplay.record.events import CevalGilEvalBreaker

    ask = CevalGilEvalBreaker(1, 10, 5, 4, 0x20, "set", 0, 0x20)
    assert fmt.summary(ask, {}) == "T4  set EVAL_PLEASE_STOP  → EVAL_PLEASE_STOP"
    assert fmt.explain(ask, {}) == "T5 set EVAL_PLEASE_STOP in T4's eval breaker: it must suspend itself at its next check."
    handled = CevalGilEvalBreaker(2, 20, 4, 4, 0x20, "unset", 0x120, 0x100)
    assert fmt.summary(handled, {}) == "T4  unset EVAL_PLEASE_STOP  → version 1"
    assert fmt.explain(handled, {}).startswith("T4 handles EVAL_PLEASE_STOP")
    exc = CevalGilEvalBreaker(3, 30, 1, 2, 0x08, "set", 0, 0x08)
    assert "asynchronous exception" in fmt.explain(exc, {})
    version = CevalGilEvalBreaker(4, 40, 1, 3, 0, "version", 0x40, 0x240)
    assert fmt.summary(version, {}) == "T3  monitoring version 0 → 2"
    assert dict(fmt.fields(version, {}))["bits_new"] == "576 (EVAL_EXPLICIT_MERGE|version 2)"


def test_gc_and_gil_event_text():
    from ftreplay.record.events import (
        CevalGilDrop,
        CevalGilDropRequest,
        CevalGilEvalBreaker,
        CevalGilTake,
        GcEnd,
        GcHeader,
        GcPhase,
        GcSchedule,
        GcStart,
    )

    objs = {7: "owned-0"}
    sched = GcSchedule(1, 10, 3, 2048, 2000)
    assert fmt.summary(sched, {}) == "count 2,048 > threshold 2,000  GC scheduled on T3"
    assert "set GC_SCHEDULED in its eval breaker" in fmt.explain(sched, {})
    assert fmt.kind_style("gc.start") != fmt.kind_style("object.new")
    start = GcStart(2, 20, 3, 0, "threshold")
    assert fmt.summary(start, {}) == "collection of generation 0  threshold"
    assert fmt.explain(start, {}).startswith("T3 starts a collection (the eval breaker ran the scheduled collection)")
    phase = GcPhase(3, 30, 3, "mark", "update_refs")
    assert fmt.summary(phase, {}) == "phase mark  (after update_refs)"
    assert fmt.explain(phase, {}).startswith("The collection enters phase mark (world stopped): objects with gc_refs")
    assert fmt.summary(GcPhase(4, 40, 3, "", "delete"), {}) == "phase done  (after delete)"
    # update_refs: gc_refs 1 into ob_tid (it was owned by T2), UNREACHABLE set
    upd = GcHeader(5, 50, 3, 7, 1, 0x5, 1, 0, 2, 0x1, 1, 0)
    assert fmt.summary(upd, {}, objs) == "#7 owned-0  bits +UNREACHABLE  ob_tid 2 → 1"
    assert fmt.explain(upd, {}, objs).startswith("update_refs: #7 owned-0's gc_refs (1: its refcount minus")
    f = dict(fmt.fields(upd, {}, objs))
    assert f["ob_gc_bits"] == "5 (TRACKED|UNREACHABLE)" and f["ob_tid"] == "1" and f["ob_tid_old"] == "2"
    scan = GcHeader(6, 60, 3, 7, 0, 0x5, 0, (2 << 2) | 3, 0, 0x5, 1, 0)
    assert fmt.summary(scan, {}, objs) == "#7 owned-0  local 1 → 0  shared 0 → 2|MERGED"
    assert fmt.explain(scan, {}, objs).startswith("scan: #7 owned-0 is unreachable: its refcount is merged")
    fin = GcHeader(7, 70, 3, 7, 0, 0x7, 0, 11, 0, 0x5, 0, 11)
    assert fmt.summary(fin, {}) == "#7  bits +FINALIZED"
    assert "tp_finalize runs (once)" in fmt.explain(fin, {})
    cleared = GcHeader(8, 80, 3, 7, 0, 0x3, 0, 11, 0, 0x7, 0, 11)
    assert fmt.summary(cleared, {}) == "#7  bits -UNREACHABLE"
    end = GcEnd(9, 90, 3, 48, 0)
    assert fmt.summary(end, {}) == "collected 48  uncollectable 0"
    assert fmt.explain(end, {}) == "T3's collection ends: 48 objects collected, 0 uncollectable."
    take = CevalGilTake(10, 100, 2, 2, True, 5)
    assert fmt.summary(take, {}) == "T2 takes the GIL  switch 5"
    assert fmt.explain(take, {}) == "T2 took the GIL after another thread (switch number 5)."
    assert fmt.summary(CevalGilTake(11, 110, 2, 2, False, 5), {}) == "T2 takes the GIL  (again)"
    assert fmt.summary(CevalGilDrop(12, 120, 2, 2, True), {}) == "T2 drops the GIL  final"
    assert "gh-104341" in fmt.explain(CevalGilDrop(12, 120, 2, 2, True), {})
    ask = CevalGilDropRequest(13, 130, 3, 2, 5)
    assert fmt.summary(ask, {}) == "asks T2 to drop the GIL  (switch 5)"
    assert fmt.explain(ask, {}).startswith("T3 waited a switch interval for the GIL without a switch")
    bit = CevalGilEvalBreaker(14, 140, 3, 2, 0x01, "set", 0, 0x01)
    assert fmt.summary(bit, {}) == "T2  set GIL_DROP_REQUEST  → GIL_DROP_REQUEST"
    assert fmt.explain(bit, {}).endswith("it must drop the GIL at its next check.")
    assert fmt.gc_bits(0) == "0" and fmt.gc_bits(0x7) == "TRACKED|FINALIZED|UNREACHABLE"


def test_a_lock_on_an_objects_ob_mutex_reads_as_its_name():
    block = 0x200000010000
    labels = {block: "inbox-2"}
    acq = LockAcquire(1, 10, 3, block + fmt.OB_MUTEX_OFFSET, "fast", 0, 1, 0)
    assert fmt.summary(acq, labels) == "inbox-2.ob_mutex  via fast  unlocked → LOCKED"
    assert fmt.explain(acq, labels) == "T3 acquired PyMutex inbox-2.ob_mutex on the fast path (one compare-and-swap)."
    rel = LockRelease(2, 20, 3, block + fmt.OB_MUTEX_OFFSET, "fast", None, 1, 0)
    assert fmt.summary(rel, labels) == "inbox-2.ob_mutex  via fast  LOCKED → unlocked"
