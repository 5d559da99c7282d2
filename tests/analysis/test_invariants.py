"""The memory invariants: silent on good runs (recorded and hand-written), and each one
returns exactly the offending rows when a bad event is injected into a hand-written log."""

from __future__ import annotations

import pytest

from ftreplay.analysis.invariants import MEMORY_INVARIANTS, check, check_memory_invariants
from ftreplay.record.events import (
    OBJECT_DEALLOC,
    OBJECT_DECREF,
    OBJECT_DISOWN,
    OBJECT_INCREF,
    OBJECT_MERGE,
    OBJECT_NEW,
    OBJECT_TRY_INCREF,
    OBMALLOC_ALLOC,
    OBMALLOC_FREE,
    OBMALLOC_FREE_DELAYED,
    OBMALLOC_PAGE_FREE,
    OBMALLOC_PAGE_QSBR_DEFER,
    OBMALLOC_PROCESS_DELAYED,
    QSBR_ADVANCE,
    QSBR_ATTACH,
    QSBR_DETACH,
    QSBR_POLL,
    QSBR_QUIESCENT,
    QSBR_REGISTER,
    QSBR_UNREGISTER,
)
from ftreplay.record.store import Store

BLOCK = 0x7F0000001000
PAGE = 0x7F0000000000
PAGE2 = 0x7F0000010000
PAGE3 = 0x7F0000020000
SEGMENT = 0x7E0000000000


@pytest.fixture
def store(tmp_path):
    with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as s:
        yield s


def good_run(h) -> dict[str, int]:
    """A consistent story: thread 1 owns obj 1, thread 2 shares it, merges and frees it; the
    block goes through delayed free and its page waits for a QSBR goal.  Returns named seqs."""
    s = {}
    h.emit(QSBR_REGISTER, tid=1, thread=1, slot=0)
    h.emit(QSBR_ATTACH, tid=1, thread=1, qsbr_seq=1, qsbr_seq_old=0)
    h.emit(QSBR_REGISTER, tid=2, thread=2, slot=1)
    h.emit(QSBR_ATTACH, tid=2, thread=2, qsbr_seq=1, qsbr_seq_old=0)
    h.emit(OBMALLOC_ALLOC, tid=1, block=BLOCK, size=32, heap="object", page=PAGE, bin=2, block_size=32)
    s["new"] = h.emit(OBJECT_NEW, tid=1, obj=1, type="list", size=32, block=BLOCK, ob_tid=1)
    h.emit(OBJECT_INCREF, tid=2, obj=1, path="shared", ob_ref_local=1, ob_ref_shared=4, refcnt=2,
           ob_ref_local_old=1, ob_ref_shared_old=0)
    h.emit(OBJECT_INCREF, tid=2, obj=1, path="immortal", ob_ref_local=1, ob_ref_shared=4, refcnt=-5,
           ob_ref_local_old=1, ob_ref_shared_old=4)  # immortal paths report a constant: never checked
    h.emit(OBJECT_DECREF, tid=1, obj=1, path="local", ob_ref_local=0, ob_ref_shared=4, refcnt=1,
           ob_ref_local_old=1, ob_ref_shared_old=4)
    h.emit(OBJECT_DISOWN, tid=1, obj=1, path="zero_local", ob_tid=0, ob_ref_local=0, ob_tid_old=1, ob_ref_local_old=0)
    h.emit(OBJECT_MERGE, tid=1, obj=1, path="zero_local", extra=0, refcnt=1, ob_ref_shared=7, ob_ref_shared_old=4)
    h.emit(OBJECT_DECREF, tid=2, obj=1, path="shared", ob_ref_local=0, ob_ref_shared=3, refcnt=0,
           ob_ref_local_old=0, ob_ref_shared_old=7)
    s["dealloc"] = h.emit(OBJECT_DEALLOC, tid=2, obj=1, type="list", size=32, block=BLOCK, ob_tid=0,
                          ob_ref_local=0, ob_ref_shared=3)
    # A lock-free reader may read the freed (refcount-shaped) header and fail.
    h.emit(OBJECT_TRY_INCREF, tid=1, obj=1, path="shared", ok=False, ob_ref_local=0, ob_ref_shared=3, refcnt=0,
           ob_ref_local_old=0, ob_ref_shared_old=3)
    h.emit(OBMALLOC_FREE_DELAYED, tid=2, block=BLOCK, size=32, goal=5, thread=2)
    h.emit(QSBR_ADVANCE, tid=2, wr_seq=5, wr_seq_old=1, path="free")
    h.emit(QSBR_QUIESCENT, tid=1, thread=1, qsbr_seq=5, qsbr_seq_old=1)
    h.emit(QSBR_QUIESCENT, tid=2, thread=2, qsbr_seq=5, qsbr_seq_old=1)
    h.emit(QSBR_POLL, tid=2, goal=5, rd_seq=5, rd_seq_old=1, ok=True, min_seq=5)
    h.emit(OBMALLOC_PROCESS_DELAYED, tid=2, block=BLOCK, goal=5, thread=2, rd_seq=5)
    h.emit(OBMALLOC_FREE, tid=2, block=BLOCK, size=32, heap="object", page=PAGE, path="local")
    # The page empties: it waits for goal 9.  Thread 2 goes offline (does not hold it back).
    h.emit(OBMALLOC_PAGE_QSBR_DEFER, tid=2, page=PAGE, goal=9, goal_old=0)
    h.emit(QSBR_ADVANCE, tid=2, wr_seq=9, wr_seq_old=5, path="page")
    h.emit(QSBR_DETACH, tid=2, thread=2, qsbr_seq=0, qsbr_seq_old=5)
    h.emit(QSBR_QUIESCENT, tid=1, thread=1, qsbr_seq=9, qsbr_seq_old=5)
    h.emit(QSBR_POLL, tid=1, goal=9, rd_seq=9, rd_seq_old=5, ok=True, min_seq=9)
    s["page_free"] = h.emit(OBMALLOC_PAGE_FREE, tid=1, page=PAGE, heap="object", bin=2, block_size=32,
                            capacity=128, segment=SEGMENT, goal=9, rd_seq=9)
    # A page that never deferred: freed at once, goal 0 (rd_seq is not looked at).
    h.emit(OBMALLOC_PAGE_FREE, tid=1, page=PAGE2, heap="object", bin=3, block_size=48,
           capacity=85, segment=SEGMENT, goal=0, rd_seq=0)
    return s


def broken(result: dict[str, list]) -> dict[str, list]:
    return {name: rows for name, rows in result.items() if rows}


def test_the_named_checks():
    assert list(MEMORY_INVARIANTS) == [
        "refcnt_negative", "op_after_dealloc", "double_dealloc", "page_freed_before_goal", "delayed_freed_early",
    ]


def test_a_good_hand_written_run_holds(store, hand_log):
    h = hand_log("good")
    good_run(h)
    h.ingest(store, "good")
    result = check_memory_invariants(store, "good")
    assert set(result) == set(MEMORY_INVARIANTS)
    assert broken(result) == {}


@pytest.mark.parametrize("seed,strategy", [(1, "random"), (2, "random"), (3, "pct"), (1, "round_robin")])
def test_recorded_refcount_shared_runs_hold(store, tmp_path, record_scenario, seed, strategy):
    record_scenario(store, tmp_path, "rs", "refcount_shared", seed=seed, strategy=strategy)
    _, [(objects,)] = store.query("SELECT count(*) FROM object_new WHERE run_id = 'rs'")
    assert objects > 3  # the checks looked at something
    assert broken(check_memory_invariants(store, "rs")) == {}


@pytest.mark.parametrize("scenario,seed,strategy", [
    ("alloc_churn", 1, "random"), ("alloc_churn", 2, "pct"), ("list_append", 1, "pct"),
    ("dict_replace", 1, "random"), ("lockfree_read", 1, "pct"),
])
def test_recorded_memory_scenarios_hold(store, tmp_path, record_scenario, scenario, seed, strategy):
    record_scenario(store, tmp_path, "m", scenario, seed=seed, strategy=strategy)
    _, [(allocs,)] = store.query("SELECT count(*) FROM obmalloc_alloc WHERE run_id = 'm'")
    assert allocs > 0
    assert broken(check_memory_invariants(store, "m")) == {}


def test_page_goals_are_checked_on_a_recorded_run(store, tmp_path, record_scenario):
    """alloc_churn frees pages that waited for a QSBR goal while threads were online."""
    record_scenario(store, tmp_path, "ac", "alloc_churn", seed=1, strategy="random")
    _, [(waited,)] = store.query("SELECT count(*) FROM obmalloc_page_free WHERE run_id = 'ac' AND goal <> 0")
    assert waited > 0
    assert check(store, "ac", "page_freed_before_goal") == []


def test_negative_refcount(store, hand_log):
    h = hand_log("neg")
    good_run(h)
    h.emit(OBJECT_NEW, tid=1, obj=2, type="dict", size=32, block=BLOCK + 64, ob_tid=1)
    bad = h.emit(OBJECT_DECREF, tid=2, obj=2, path="shared", ob_ref_local=1, ob_ref_shared=-8, refcnt=-1,
                 ob_ref_local_old=1, ob_ref_shared_old=-4)
    h.emit(OBJECT_DECREF, tid=2, obj=2, path="immortal", ob_ref_local=1, ob_ref_shared=-8, refcnt=-1,
           ob_ref_local_old=1, ob_ref_shared_old=-8)
    h.ingest(store, "neg")
    assert broken(check_memory_invariants(store, "neg")) == {
        "refcnt_negative": [("object.decref", bad, 2, 2, "shared", -1)],
    }


def test_negative_refcount_after_a_merge(store, hand_log):
    h = hand_log("negm")
    good_run(h)
    h.emit(OBJECT_NEW, tid=1, obj=2, type="dict", size=32, block=BLOCK + 64, ob_tid=1)
    bad = h.emit(OBJECT_MERGE, tid=1, obj=2, path="explicit", extra=0, refcnt=-2, ob_ref_shared=-5, ob_ref_shared_old=-8)
    h.ingest(store, "negm")
    assert check(store, "negm", "refcnt_negative") == [("object.merge", bad, 1, 2, "explicit", -2)]


@pytest.mark.parametrize("kind,fields", [
    (OBJECT_INCREF, dict(path="shared", ob_ref_local=0, ob_ref_shared=7, refcnt=1)),
    (OBJECT_DECREF, dict(path="shared", ob_ref_local=0, ob_ref_shared=-1, refcnt=-1)),
    (OBJECT_TRY_INCREF, dict(path="shared", ok=True, ob_ref_local=0, ob_ref_shared=7, refcnt=1)),
    (OBJECT_DISOWN, dict(path="explicit", ob_tid=0, ob_ref_local=0)),
    (OBJECT_MERGE, dict(path="queue", extra=0, refcnt=1, ob_ref_shared=7)),
])
def test_op_after_dealloc(store, hand_log, kind, fields):
    h = hand_log("uaf")
    seqs = good_run(h)
    bad = h.emit(kind, tid=1, obj=1, **fields)
    h.ingest(store, "uaf")
    result = broken(check_memory_invariants(store, "uaf"))
    (row,) = result.pop("op_after_dealloc")
    assert row[1:4] == (bad, 1, 1) and row[4] == fields["path"] and row[5] == seqs["dealloc"]
    result.pop("refcnt_negative", None)  # the decref also reads -1
    assert result == {}


def test_double_dealloc(store, hand_log):
    h = hand_log("dd")
    seqs = good_run(h)
    again = h.emit(OBJECT_DEALLOC, tid=1, obj=1, type="list", size=32, block=BLOCK, ob_tid=0,
                   ob_ref_local=0, ob_ref_shared=3)
    h.ingest(store, "dd")
    assert broken(check_memory_invariants(store, "dd")) == {
        "double_dealloc": [(1, 2, [seqs["dealloc"], again])],
    }


def _defer_page3(h, goal: int) -> None:
    h.emit(OBMALLOC_PAGE_QSBR_DEFER, tid=1, page=PAGE3, goal=goal, goal_old=0)
    h.emit(QSBR_ADVANCE, tid=1, wr_seq=goal, wr_seq_old=goal - 4, path="page")


def test_page_freed_before_its_goal(store, hand_log):
    """rd_seq behind the goal, and thread 1 (online at qsbr_seq 9) behind it too."""
    h = hand_log("pf")
    good_run(h)
    _defer_page3(h, 13)
    bad = h.emit(OBMALLOC_PAGE_FREE, tid=1, page=PAGE3, heap="object", bin=4, block_size=64,
                 capacity=64, segment=SEGMENT, goal=13, rd_seq=9)
    h.emit(QSBR_QUIESCENT, tid=1, thread=1, qsbr_seq=13, qsbr_seq_old=9)  # too late
    h.ingest(store, "pf")
    assert broken(check_memory_invariants(store, "pf")) == {
        "page_freed_before_goal": [
            ("rd_seq", bad, 1, PAGE3, 13, 9, None, None),
            ("online_thread", bad, 1, PAGE3, 13, 9, 1, 9),
        ],
    }


def test_page_freed_while_an_online_thread_lags(store, hand_log):
    """rd_seq claims the goal, but thread 3 attached at qsbr_seq 5 and has not passed a
    quiescent state since; thread 2 re-attached at the goal and thread 4 left: neither counts."""
    h = hand_log("lag")
    good_run(h)
    h.emit(QSBR_REGISTER, tid=3, thread=3, slot=2)
    h.emit(QSBR_ATTACH, tid=3, thread=3, qsbr_seq=5, qsbr_seq_old=0)
    h.emit(QSBR_REGISTER, tid=4, thread=4, slot=3)
    h.emit(QSBR_ATTACH, tid=4, thread=4, qsbr_seq=5, qsbr_seq_old=0)
    h.emit(QSBR_UNREGISTER, tid=4, thread=4, slot=3)
    _defer_page3(h, 13)
    h.emit(QSBR_ATTACH, tid=2, thread=2, qsbr_seq=13, qsbr_seq_old=0)
    h.emit(QSBR_QUIESCENT, tid=1, thread=1, qsbr_seq=13, qsbr_seq_old=9)
    bad = h.emit(OBMALLOC_PAGE_FREE, tid=1, page=PAGE3, heap="object", bin=4, block_size=64,
                 capacity=64, segment=SEGMENT, goal=13, rd_seq=13)
    h.ingest(store, "lag")
    assert broken(check_memory_invariants(store, "lag")) == {
        "page_freed_before_goal": [("online_thread", bad, 1, PAGE3, 13, 13, 3, 5)],
    }


def test_page_freed_once_every_online_thread_passed_the_goal(store, hand_log):
    h = hand_log("pok")
    good_run(h)
    h.emit(QSBR_ATTACH, tid=3, thread=3, qsbr_seq=5, qsbr_seq_old=0)
    _defer_page3(h, 13)
    h.emit(QSBR_QUIESCENT, tid=1, thread=1, qsbr_seq=13, qsbr_seq_old=9)
    h.emit(QSBR_DETACH, tid=3, thread=3, qsbr_seq=0, qsbr_seq_old=5)
    h.emit(OBMALLOC_PAGE_FREE, tid=1, page=PAGE3, heap="object", bin=4, block_size=64,
           capacity=64, segment=SEGMENT, goal=13, rd_seq=13)
    h.ingest(store, "pok")
    assert broken(check_memory_invariants(store, "pok")) == {}


def test_delayed_block_freed_early(store, hand_log):
    h = hand_log("dl")
    good_run(h)
    h.emit(OBMALLOC_FREE_DELAYED, tid=2, block=BLOCK + 128, size=64, goal=13, thread=2)
    bad = h.emit(OBMALLOC_PROCESS_DELAYED, tid=2, block=BLOCK + 128, goal=13, thread=2, rd_seq=9)
    h.emit(OBMALLOC_PROCESS_DELAYED, tid=2, block=BLOCK + 192, goal=13, thread=0, rd_seq=13)
    h.ingest(store, "dl")
    assert broken(check_memory_invariants(store, "dl")) == {
        "delayed_freed_early": [(bad, 2, BLOCK + 128, 13, 9, 2)],
    }


def test_checks_read_only_their_run(store, hand_log):
    bad = hand_log("bad")
    good_run(bad)
    bad.emit(OBJECT_DEALLOC, tid=1, obj=1, type="list", size=32, block=BLOCK)
    bad.emit(OBMALLOC_PROCESS_DELAYED, tid=2, block=BLOCK, goal=13, thread=2, rd_seq=9)
    bad.ingest(store, "bad")
    good = hand_log("good")
    good_run(good)
    good.ingest(store, "good")
    assert broken(check_memory_invariants(store, "good")) == {}
    assert set(broken(check_memory_invariants(store, "bad"))) == {"double_dealloc", "delayed_freed_early"}
