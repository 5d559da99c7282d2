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
