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
