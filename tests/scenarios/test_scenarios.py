"""The memory and stop-the-world scenarios: every run of the default runtime is ok; each memory bug flag makes
``lockfree_read`` fail with use_after_free on a known seed (and that seed passes without it);
runs are deterministic."""

from __future__ import annotations

import pytest

from ftreplay.record.log import MemorySink, NullSink
from ftreplay.record.session import execute, make_meta

SCENARIOS = ("list_append", "lockfree_read", "dict_replace", "alloc_churn", "stress", "stw_storm", "async_exc",
             "instrumentation_clear")
SMALL = {"stress": {"threads": "3", "iterations": "30"}, "gc_cycles": {"threads": "2", "cycles": "40", "finalizers": "10"},
         "gil_switch": {"work_ms": "12"}}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_default_runtime_runs_are_ok(scenario, test_seed):
    for strategy in ("random", "pct", "round_robin"):
        for seed in range(test_seed % 1000, test_seed % 1000 + 3):
            r = execute(make_meta(scenario, seed=seed, strategy=strategy, args=SMALL.get(scenario)), NullSink())
            assert r.status == "ok", (
                f"ftreplay record {scenario} --seed {seed} --strategy {strategy}: {r.failure}")


# (flag, a pct seed that fails with it, what the message names)
BUG_SEEDS = [
    ("free_delayed_without_qsbr", 3, "list array block"),
    ("mimalloc_page_immediate_reuse", 39, "re-carved"),
    ("debug_fill_refcount_fields", 39, "ob_ref_shared=0xdddddddddddddddd"),
]


@pytest.mark.parametrize("flag,seed,needle", BUG_SEEDS)
def test_each_memory_bug_flag_makes_lockfree_read_use_after_free(flag, seed, needle):
    bad = execute(make_meta("lockfree_read", seed=seed, strategy="pct", bugs=[flag]), NullSink())
    assert bad.status == "failed", f"ftreplay record lockfree_read --strategy pct --seed {seed} --bug {flag}"
    assert bad.failure["reason"] == "use_after_free"
    assert needle in bad.failure["message"] and f"[{flag}]" in bad.failure["message"]
    good = execute(make_meta("lockfree_read", seed=seed, strategy="pct"), NullSink())
    assert good.status == "ok", good.failure


def test_a_lockfree_read_that_lands_on_a_reused_block_keeps_the_reference_it_took():
    """pct seed 4052: a reader loads item 0, the item is freed and its block reused by the
    object now in slot 0; _Py_TryIncrefCompare increfs the object at that address and the
    slot still holds that address, so the reader gets that object.  The model once dropped
    the reference (it compared object identities) and fell back to the locked read: one
    object leaked and the guest's final check failed."""
    r = execute(make_meta("lockfree_read", seed=4052, strategy="pct"), NullSink())
    assert r.status == "ok", r.failure


@pytest.mark.parametrize("scenario", ("lockfree_read", "alloc_churn"))
def test_memory_runs_are_byte_identical(scenario):
    a, b = MemorySink(), MemorySink()
    ra = execute(make_meta(scenario, seed=5, strategy="pct"), a)
    rb = execute(make_meta(scenario, seed=5, strategy="pct"), b)
    assert ra.hash == rb.hash and bytes(a.data) == bytes(b.data)


def test_instrumentation_clear_livelocks_only_with_its_bug_flag():
    for seed in (1, 2):
        ok = execute(make_meta("instrumentation_clear", seed=seed, strategy="pct"), NullSink())
        assert ok.status == "ok", ok.failure
        bad = execute(make_meta("instrumentation_clear", seed=seed, strategy="pct",
                                bugs=["instrumentation_version_clear"]), NullSink())
        assert bad.status == "failed" and bad.failure["reason"] == "livelock", bad.failure


def test_every_bug_flag_names_its_scenario_and_failure_reason():
    from ftreplay.runtime.bugs import BUGS
    from ftreplay.scenarios import all_scenarios

    scenarios = all_scenarios()
    for b in BUGS.values():
        assert b.scenario in scenarios, b.name
        assert b.reason in ("assertion", "deadlock", "livelock", "use_after_free", "invariant", "crash"), b.name
