"""Run diff: identical runs, the first divergent seq and decision of two schedules, each
thread's first differing operation, and the errors."""

from __future__ import annotations

import pytest

from ftreplay.diff import diff_runs
from ftreplay.errors import UsageError
from ftreplay.explore import ExploreSpec, explore
from ftreplay.record.store import Store
from ftreplay.sim import schedule as schedule_text


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("diff") / "s.duckdb")
    spec = ExploreSpec("join_race", "pct", bugs=("join_tstate_lock_race",))
    ok = explore(spec, runs=1, db=db, store_sample=1)["sample_runs"]  # seed 1 passes
    ok += explore(spec, runs=3, first_seed=8, db=db, store_sample=3)["sample_runs"]  # 8, 9, 10 pass
    ok += explore(spec, runs=1, db=db, store_sample=1)["sample_runs"]  # seed 1 again
    bad = explore(spec, runs=30, until_failure=True, db=db)["run_id"]
    explore(ExploreSpec("mutex_counter", "random", args=(("threads", "2"), ("iterations", "2"))), runs=1, db=db,
            store_sample=1)
    st = Store.open(db)
    yield st, ok, bad
    st.close()


def test_first_divergence_is_where_the_schedules_part(store):
    st, ok, bad = store
    d = diff_runs(st, ok[0], bad)
    assert not d["identical"] and d["status_a"] == "ok" and d["status_b"] == "failed"
    seq = d["first_divergent_seq"]
    rows = st.query("SELECT run_id, seq, tid, kind FROM events WHERE run_id IN (?, ?) AND seq <= ? ORDER BY seq, run_id",
                    [ok[0], bad, seq])[1]
    a = [(s, t, k) for r, s, t, k in rows if r == ok[0]]
    b = [(s, t, k) for r, s, t, k in rows if r == bad]
    assert a[:-1] == b[:-1] and a[-1] != b[-1]  # equal before, different at the divergence
    sa, sb = (schedule_text.decode(st.run(r)["schedule"]) for r in (ok[0], bad))
    i = d["decision"]
    assert sa[:i] == sb[:i] and sa[i] != sb[i]
    assert [e["seq"] for e in d["around_a"]][-1] >= seq and any(e["diverged"] for e in d["around_b"])
    changed = [t for t in d["threads"] if t["first_different_op"] is not None]
    assert changed and all(t["kind_a"] != t["kind_b"] or t["seq_a"] != t["seq_b"] for t in changed)


def test_two_recordings_of_one_seed_are_identical(store):
    st, ok, _bad = store
    assert len(ok) == 5 and st.run(ok[0])["seed"] == st.run(ok[4])["seed"] == 1
    d = diff_runs(st, ok[0], ok[4])
    assert d["identical"] and d["first_divergent_seq"] is None and d["decision"] is None
    assert all(t["first_different_op"] is None for t in d["threads"])
    with pytest.raises(UsageError, match="two different runs"):
        diff_runs(st, ok[0], ok[0])


def test_runs_of_different_scenarios_are_refused(store):
    st, ok, _bad = store
    other = st.query("SELECT run_id FROM runs WHERE scenario = 'mutex_counter'")[1][0][0]
    with pytest.raises(UsageError, match="one scenario"):
        diff_runs(st, ok[0], other)
