"""The projection self-check for subinterpreters, the type cache and function versions: the
replayed state equals the live runtime state after every event, stepping forward from the start,
backward from the end, and seeking through checkpoints."""

from __future__ import annotations

import os
import random

import pytest

from ftreplay.record.log import FileSink, read_log
from ftreplay.record.session import Execution, make_meta
from ftreplay.record.store import Store
from ftreplay.replay.cursor import Cursor
from ftreplay.replay.state import I_GIL, I_MAIN, I_WR, State

SEED = int(os.environ.get("FTREPLAY_TEST_SEED", "20241127"))

CASES = [
    ("subinterp_clear_from_main", [], {"interps": "1", "legacy": "1"}),
    ("subinterp_clear_from_main", ["tstate_clear_wrong_interp"], {"interps": "1", "legacy": "1"}),
    ("twin_isolated_subinterp_init", [], {"rounds": "1", "work_ms": "6"}),
    ("twin_isolated_subinterp_init", ["subinterp_shared_sys_init"], {"rounds": "1", "work_ms": "6"}),
    ("type_cache_torn_entry", [], {"readers": "1", "rounds": "8"}),
    ("type_cache_torn_entry", ["type_cache_no_seqlock"], {"readers": "2", "rounds": "20"}),
    ("func_version_collision", [], {"functions": "2"}),
]


def _record(tmp_path, store, scenario, bugs, args, strategy, seed):
    meta = make_meta(scenario, seed=seed, strategy=strategy, args=args, bugs=bugs, knobs={"checkpoint_every": "64"})
    log = tmp_path / f"{scenario}-{len(store.runs())}.ftlog"
    ex = Execution(meta, FileSink(log), capture_at=True)
    res = ex.run()
    assert bugs or res.status == "ok", res.failure
    reader = read_log(log)
    run_id = f"r{len(store.runs()) + 1}"
    store.ingest(reader, run_id, str(log))
    reader.close()
    return run_id, ex.rec.captured


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    print(f"FTREPLAY_TEST_SEED={SEED}")
    tmp = tmp_path_factory.mktemp("selfcheck_interpreters")
    db = str(tmp / "s.duckdb")
    runs = []
    with Store.open(db, read_only=False) as store:
        for scenario, bugs, args in CASES:
            for strategy in ("random", "pct"):
                seed = SEED % 1000 + 1
                run_id, captured = _record(tmp, store, scenario, bugs, args, strategy, seed)
                runs.append((run_id, captured, (scenario, bugs, strategy, seed)))
    return db, runs


def _mismatch(st: State, live: State) -> str:
    a, b = st.comparable(), live.comparable()
    return "; ".join(f"{k}: replay {a[k]!r} != live {b.get(k)!r}" for k in a if a[k] != b.get(k))


def test_every_seq_forward_then_backward(recorded):
    db, runs = recorded
    checked = 0
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            cur = Cursor(store, run_id)
            cur.seek(-1)
            for seq in range(cur.total):
                st = cur.step(1)
                if seq in captured:
                    assert st.comparable() == captured[seq].comparable(), f"{what} forward at {seq}: " + _mismatch(
                        st, captured[seq])
                    checked += 1
            for seq in range(cur.total - 2, -1, -1):
                st = cur.step(-1)
                if seq in captured:
                    assert st.comparable() == captured[seq].comparable(), f"{what} backward at {seq}: " + _mismatch(
                        st, captured[seq])
                    checked += 1
            st = cur.step(-1)
            assert not st.interps and not st.interp_of and not st.type_cache
    assert checked > 5_000


def test_random_seeks_through_checkpoints(recorded):
    db, runs = recorded
    rng = random.Random(SEED)
    with Store.open(db) as store:
        for run_id, captured, what in runs:
            cur = Cursor(store, run_id)
            for seq in rng.sample(sorted(captured), min(20, len(captured))):
                st = cur.seek(seq)
                assert st.comparable() == captured[seq].comparable(), f"{what} seek {seq}: " + _mismatch(
                    st, captured[seq])


def test_the_states_show_interpreters_and_the_cache(recorded):
    _, runs = recorded
    seen_main = seen_gil = seen_entry = seen_pause = seen_qsbr = False
    for run_id, captured, what in runs:
        for st in captured.values():
            for rec in st.interps.values():
                seen_main |= rec[I_MAIN] is not None
                seen_gil |= rec[I_GIL] is not None
                seen_qsbr |= rec[I_WR] > 1  # a subinterpreter's own QSBR advanced
            seen_entry |= bool(st.type_cache)
            seen_pause |= any(k.startswith("interp") and k != "interp" for k in st.stw)  # a subinterpreter's pause
    assert seen_main and seen_gil and seen_entry and seen_pause and seen_qsbr
