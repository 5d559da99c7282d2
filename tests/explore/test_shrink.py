"""Shrinking: ddmin finds a 1-minimal subset; a shrunk run fails the same way with no more
preemptions, replays from its stored schedule, and is linked to the original."""

from __future__ import annotations

import json

import pytest

from ftreplay.errors import UsageError
from ftreplay.explore import ExploreSpec, explore, failure_signature
from ftreplay.record.log import MemorySink
from ftreplay.record.session import execute
from ftreplay.record.store import Store
from ftreplay.shrink import count_preemptions, ddmin, meta_of, shrink_run
from ftreplay.sim import schedule as schedule_text


def test_ddmin_finds_the_needed_items():
    tests = []

    def needs_3_and_7(subset):
        tests.append(subset)
        return 3 in subset and 7 in subset

    assert ddmin(list(range(12)), needs_3_and_7, lambda: True) == [3, 7]
    assert ddmin(list(range(5)), lambda s: True, lambda: True) == []
    assert ddmin(list(range(40)), lambda s: 39 in s, lambda: len(tests) < 3) != []  # budget: stops early


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """A store with one failing random-strategy run of lock_order (a deadlock) and one of
    lockfree_read with free_delayed_without_qsbr (a use-after-free)."""
    db = str(tmp_path_factory.mktemp("shrink") / "s.duckdb")
    ids = {}
    for name, spec in {
        "deadlock": ExploreSpec("lock_order", "random"),
        "uaf": ExploreSpec("lockfree_read", "random", bugs=("free_delayed_without_qsbr",),
                           args=(("rounds", "12"), ("reads", "20"))),
    }.items():
        res = explore(spec, runs=200, until_failure=True, db=db)
        assert res["found"], name
        ids[name] = res["run_id"]
    return db, ids


@pytest.mark.parametrize("which", ["deadlock", "uaf"])
def test_shrunk_run_fails_the_same_way_with_fewer_preemptions(failing, which):
    db, ids = failing
    with Store.open(db, read_only=False) as store:
        res = shrink_run(store, ids[which])
        src, out = store.run(ids[which]), store.run(res["run_id"])
        links = store.query("SELECT source_run_id, relation, detail FROM run_links WHERE run_id = ?", [res["run_id"]])[1]
    assert res["preemptions_before"] == count_preemptions(meta_of(src), src["schedule"])
    assert res["preemptions_before"] > 0  # a random schedule preempts often
    assert res["preemptions_after"] == count_preemptions(meta_of(out), out["schedule"]) <= res["preemptions_before"]
    assert res["minimal"]
    assert failure_signature(out["failure_reason"], out["failure_message"]) == \
        failure_signature(src["failure_reason"], src["failure_message"])
    assert (out["scenario"], out["seed"], out["config"], out["bugs"]) == (src["scenario"], src["seed"], src["config"], src["bugs"])
    rerun = execute(meta_of(out), MemorySink(), schedule=schedule_text.decode(out["schedule"]))
    assert rerun.hash == out["hash"]  # what verify checks
    assert links[0][:2] == (ids[which], "shrunk")
    assert json.loads(links[0][2])["preemptions_after"] == res["preemptions_after"]


def test_shrinking_a_passing_run_is_refused(tmp_path):
    spec = ExploreSpec("mutex_counter", "random", args=(("threads", "2"), ("iterations", "2")))
    db = str(tmp_path / "s.duckdb")
    run_id = explore(spec, runs=1, db=db, store_sample=1)["sample_runs"][0]
    with Store.open(db, read_only=False) as store, pytest.raises(UsageError, match="did not fail"):
        shrink_run(store, run_id)
