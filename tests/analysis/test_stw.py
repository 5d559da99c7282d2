"""The stop-the-world invariant and stw_pauses on hand-written logs: silent on a consistent
pause, and it reports exactly the thread that is attached while the world is stopped."""

from __future__ import annotations

import pytest

from ftreplay.analysis.stw import STW_INVARIANTS, check, check_stw_invariants
from ftreplay.record.events import (
    CEVAL_GIL_EVAL_BREAKER,
    PYSTATE_ATTACH,
    PYSTATE_DETACH,
    PYSTATE_NEW_THREAD,
    PYSTATE_START_THE_WORLD,
    PYSTATE_STOP_THE_WORLD,
    PYSTATE_STW_COUNTDOWN,
    PYSTATE_STW_REQUEST,
    PYSTATE_SUSPEND,
)
from ftreplay.record.store import STW_PAUSES_COLUMNS, Store

PLEASE_STOP = 0x20
PAUSE_COLS = [c for c, _ in STW_PAUSES_COLUMNS]


@pytest.fixture
def store(tmp_path):
    with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as s:
        yield s


def attach(h, t):
    return h.emit(PYSTATE_ATTACH, tid=t, thread=t, old="detached", new="attached")


def detach(h, t, by=None, old="attached"):
    return h.emit(PYSTATE_DETACH, tid=by or t, thread=t, old=old, new="detached")


def threads(h, other_interp: bool = False) -> None:
    """T1 (main, detached: it joins), T2 and the requester T3 attached in interpreter 0; with
    ``other_interp`` also T4, attached in interpreter 1."""
    for t in (1, 2, 3):
        h.emit(PYSTATE_NEW_THREAD, tid=1, thread=t, interp=0, new="detached")
    if other_interp:
        h.emit(PYSTATE_NEW_THREAD, tid=1, thread=4, interp=1, new="detached")
        attach(h, 4)
    attach(h, 1)
    attach(h, 2)
    attach(h, 3)
    detach(h, 1)


def stop(h, scope: str = "interp") -> dict[str, int]:
    """T3 requests a pause: flips the detached T1, signals T2, which suspends at its eval breaker."""
    s = {"request": h.emit(PYSTATE_STW_REQUEST, tid=3, scope=scope, requester=3, countdown=2)}
    h.emit(PYSTATE_SUSPEND, tid=3, thread=1, old="detached", new="suspended")
    h.emit(PYSTATE_STW_COUNTDOWN, tid=3, scope=scope, countdown=1, countdown_old=2)
    h.emit(CEVAL_GIL_EVAL_BREAKER, tid=3, thread=2, eval_bit=PLEASE_STOP, op="set", bits_old=0, bits_new=PLEASE_STOP)
    h.emit(CEVAL_GIL_EVAL_BREAKER, tid=2, thread=2, eval_bit=PLEASE_STOP, op="unset", bits_old=PLEASE_STOP, bits_new=0)
    h.emit(PYSTATE_SUSPEND, tid=2, thread=2, old="attached", new="suspended")
    h.emit(PYSTATE_STW_COUNTDOWN, tid=2, scope=scope, countdown=0, countdown_old=1)
    s["stopped"] = h.emit(PYSTATE_STOP_THE_WORLD, tid=3, scope=scope, requester=3)
    return s


def restart(h, s: dict[str, int], scope: str = "interp") -> dict[str, int]:
    s["start"] = h.emit(PYSTATE_START_THE_WORLD, tid=3, scope=scope, requester=3, countdown=0)
    detach(h, 1, by=3, old="suspended")
    detach(h, 2, by=3, old="suspended")
    s["reattach"] = attach(h, 2)
    return s


def test_the_named_checks():
    assert list(STW_INVARIANTS) == ["attached_during_pause"]


def test_a_consistent_pause_holds_and_is_one_row(store, hand_log):
    h = hand_log("good")
    threads(h)
    s = restart(h, stop(h))
    h.ingest(store, "good")
    assert check_stw_invariants(store, "good") == {"attached_during_pause": []}
    _, rows = store.query("SELECT * FROM stw_pauses WHERE run_id = 'good'")
    ts = {k: 10 * (v + 1) for k, v in s.items()}  # the hand log's clock: 10 ns per event
    assert [dict(zip(PAUSE_COLS, r)) for r in rows] == [dict(
        run_id="good", scope="interp", requester=3,
        request_seq=s["request"], request_ts=ts["request"],
        stopped_seq=s["stopped"], stopped_ts=ts["stopped"],
        start_seq=s["start"], start_ts=ts["start"],
        threads_suspended=2,
        time_to_stop_ns=ts["stopped"] - ts["request"], pause_ns=ts["start"] - ts["stopped"],
    )]


def test_a_thread_attached_during_the_pause_is_reported(store, hand_log):
    h = hand_log("bad")
    threads(h)
    s = stop(h)
    bad = h.emit(PYSTATE_ATTACH, tid=2, thread=2, old="suspended", new="attached")  # never allowed
    back = h.emit(PYSTATE_SUSPEND, tid=2, thread=2, old="attached", new="suspended")
    restart(h, s)
    h.ingest(store, "bad")
    assert check(store, "bad", "attached_during_pause") == [
        ("interp", 3, s["stopped"], s["start"], 2, bad, back - 1),
    ]


def test_a_thread_that_never_stopped_is_reported(store, hand_log):
    """T2 is attached when the world is declared stopped, and stays attached through the pause."""
    h = hand_log("late")
    threads(h)
    request = h.emit(PYSTATE_STW_REQUEST, tid=3, scope="interp", requester=3, countdown=1)
    h.emit(PYSTATE_SUSPEND, tid=3, thread=1, old="detached", new="suspended")
    stopped = h.emit(PYSTATE_STOP_THE_WORLD, tid=3, scope="interp", requester=3)
    start = h.emit(PYSTATE_START_THE_WORLD, tid=3, scope="interp", requester=3, countdown=0)
    leave = detach(h, 2)
    h.ingest(store, "late")
    (row,) = check(store, "late", "attached_during_pause")
    assert row[:5] == ("interp", 3, stopped, start, 2) and row[5] < request and row[6] == leave - 1


def test_attached_right_after_the_restart_is_fine(store, hand_log):
    """restart() re-attaches T2 one event after start_the_world: the boundary is not an overlap."""
    h = hand_log("edge")
    threads(h)
    s = restart(h, stop(h))
    assert s["reattach"] == s["start"] + 3
    h.ingest(store, "edge")
    _, [(attached_from,)] = store.query(
        "SELECT min(start_seq) FROM thread_state_intervals WHERE run_id = 'edge' AND thread = 2 "
        "AND state = 'attached' AND start_seq > $s", {"s": s["stopped"]})
    assert attached_from == s["reattach"]
    assert check(store, "edge", "attached_during_pause") == []


@pytest.mark.parametrize("scope,reported", [("interp", []), ("global", [4])])
def test_scope_decides_which_threads_must_stop(store, hand_log, scope, reported):
    """T4 lives in another interpreter and stays attached: only a global pause must stop it."""
    h = hand_log(scope)
    threads(h, other_interp=True)
    restart(h, stop(h, scope), scope)
    h.ingest(store, scope)
    assert [r[4] for r in check(store, scope, "attached_during_pause")] == reported


def test_a_run_that_ends_stopped(store, hand_log):
    """No start_the_world: the pause lasts to the end of the run, start_* and pause_ns are NULL."""
    h = hand_log("open")
    threads(h)
    s = stop(h)
    bad = h.emit(PYSTATE_ATTACH, tid=2, thread=2, old="suspended", new="attached")
    h.ingest(store, "open")
    _, [(stopped_seq, start_seq, pause_ns, suspended)] = store.query(
        "SELECT stopped_seq, start_seq, pause_ns, threads_suspended FROM stw_pauses WHERE run_id = 'open'")
    assert (stopped_seq, start_seq, pause_ns, suspended) == (s["stopped"], None, None, 2)
    assert check(store, "open", "attached_during_pause") == [("interp", 3, s["stopped"], None, 2, bad, bad)]


def test_a_pause_that_never_stopped(store, hand_log):
    """Requested, never stopped: one row with stopped_* NULL, suspends counted to the end."""
    h = hand_log("waiting")
    threads(h)
    request = h.emit(PYSTATE_STW_REQUEST, tid=3, scope="global", requester=3, countdown=2)
    h.emit(PYSTATE_SUSPEND, tid=3, thread=1, old="detached", new="suspended")
    h.ingest(store, "waiting")
    _, rows = store.query("SELECT request_seq, stopped_seq, start_seq, threads_suspended, time_to_stop_ns "
                          "FROM stw_pauses WHERE run_id = 'waiting'")
    assert rows == [(request, None, None, 1, None)]
    assert check(store, "waiting", "attached_during_pause") == []  # T2 attached, but the world never stopped


def test_pauses_pair_in_order_and_read_only_their_run(store, hand_log):
    h = hand_log("two")
    threads(h)
    first = restart(h, stop(h))  # T2 attached again, T1 detached: ready for the next pause
    second = restart(h, stop(h, "global"), "global")
    h.ingest(store, "two")
    bad = hand_log("other")
    threads(bad)
    s = stop(bad)
    bad.emit(PYSTATE_ATTACH, tid=2, thread=2, old="suspended", new="attached")
    restart(bad, s)
    bad.ingest(store, "other")
    _, rows = store.query("SELECT scope, request_seq, stopped_seq, start_seq FROM stw_pauses "
                          "WHERE run_id = 'two' ORDER BY request_seq")
    assert rows == [("interp", first["request"], first["stopped"], first["start"]),
                    ("global", second["request"], second["stopped"], second["start"])]
    assert check(store, "two", "attached_during_pause") == []
    assert len(check(store, "other", "attached_during_pause")) == 1
