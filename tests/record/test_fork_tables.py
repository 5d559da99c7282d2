"""Derived tables of runs that fork: a forked child's events come inside its parent's fork
window, so holds, parks and thread-state stretches are paired within one process."""

from __future__ import annotations

from ftreplay.record.recording import record_into
from ftreplay.record.session import make_meta
from ftreplay.record.store import Store

# fork_many_threads, random seed 12: a parent thread holds interp0.qsbr.mutex across the
# first fork (it is reinitialised in the child, which then takes and releases it).
SEED = 12


def test_holds_and_stretches_stay_in_their_process(tmp_path):
    meta = make_meta("fork_many_threads", seed=SEED, strategy="random")
    with Store.open(str(tmp_path / "s.duckdb"), read_only=False) as store:
        res = record_into(store, meta, "f", str(tmp_path / "f.ftlog"))
        assert res.status == "ok"
        # the child's reinit (and its own uses) must not close or cut the parent's hold
        _, holds = store.query("""
            SELECT count(*), count(release_seq) FROM lock_holds h
            WHERE run_id = 'f' AND mutex IN (SELECT mutex FROM pylifecycle_reinit_lock WHERE run_id = 'f' AND holder <> tid)""")
        _, spans = store.query("""
            SELECT count(*) FROM thread_state_intervals i JOIN pylifecycle_exit x ON x.run_id = i.run_id
            WHERE i.run_id = 'f' AND i.start_seq <= x.seq AND i.end_seq > x.seq
              AND i.thread IN (SELECT thread FROM pylifecycle_fork WHERE run_id = 'f')
              AND i.start_seq > (SELECT min(seq) FROM pylifecycle_fork WHERE run_id = 'f')
              AND i.start_seq < x.seq""")
    assert holds[0][0] > 0, "the seed no longer holds a runtime lock across a fork: pick another"
    assert holds[0][0] == holds[0][1], "a hold taken in the parent was left open by the child's events"
    assert spans == [(0,)], "a stretch of the forking thread inside the child runs past the child's exit"
