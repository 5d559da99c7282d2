"""Fork and finalization scenarios: each bug flag makes its scenario fail with the flag's
reason on a known seed, the same seed passes without it, and the many-thread scenarios pass."""

from __future__ import annotations

import pytest

from ftreplay.record.log import NullSink
from ftreplay.record.session import execute, make_meta
from ftreplay.runtime.bugs import BUGS
from ftreplay.runtime.threadmodule import ThreadHandleState

# (flag, strategy, a seed that fails with it, what the message names)
BUG_SEEDS = [
    ("fork_without_stw", "pct", 1, "child process 2 (forked by T1): all threads blocked"),
    ("fork_without_head_lock", "pct", 23, "[fork_without_head_lock]"),
    ("afterfork_handles_joinable", "pct", 1, "PyThread_detach_thread(os_thread=T2): thread absent after fork"),
    ("start_thread_during_finalization", "pct", 11, "[start_thread_during_finalization]"),
    ("drop_gil_finalizing_switch", "pct", 9, "[drop_gil_finalizing_switch]"),
]


@pytest.mark.parametrize("flag,strategy,seed,needle", BUG_SEEDS)
def test_each_lifecycle_flag_fails_its_scenario_with_its_reason(flag, strategy, seed, needle):
    bug = BUGS[flag]
    cmd = f"ftreplay record {bug.scenario} --strategy {strategy} --seed {seed}"
    bad = execute(make_meta(bug.scenario, seed=seed, strategy=strategy, bugs=[flag]), NullSink())
    assert bad.status == "failed", f"{cmd} --bug {flag}"
    assert bad.failure["reason"] == bug.reason, bad.failure
    assert needle in bad.failure["message"]
    good = execute(make_meta(bug.scenario, seed=seed, strategy=strategy), NullSink())
    assert good.status == "ok", f"{cmd}: {good.failure}"


SMALL = {"fork_many_threads": {"workers": "2", "parked": "1", "daemons": "1", "forks": "2"},
         "finalize_many_threads": {"daemons": "1", "workers": "1"}, "fork_mid_handle_unlink": {"forks": "2"}}


def test_the_join_variant_of_afterfork_handles_joinable_deadlocks():
    """fork_join_dead_handle: the earlier hook joins the still-RUNNING handle instead of
    freeing it; with the flag the child waits for a thread it does not have."""
    meta = dict(seed=1, strategy="pct")
    bad = execute(make_meta("fork_join_dead_handle", bugs=["afterfork_handles_joinable"], **meta), NullSink())
    assert bad.status == "failed" and bad.failure["reason"] == "deadlock", bad.failure
    assert "T2.thread_is_exiting" in bad.failure["message"]
    assert execute(make_meta("fork_join_dead_handle", **meta), NullSink()).status == "ok"


def test_a_joinable_handle_freed_in_the_parent_detaches_without_failing(run_guest):
    """Releasing a still-RUNNING handle is only a crash where its thread does not exist: in
    the process that started the thread it detaches it."""

    def guest(rt):
        done = rt.event("done")
        h = rt.start_thread(done.notify, name="T2")
        done.wait()
        assert h.state == ThreadHandleState.RUNNING  # never joined
        h.release("a test")

    run_guest(guest).ok()


@pytest.mark.parametrize("scenario", ["fork_many_threads", "finalize_many_threads", "fork_mid_handle_unlink",
                                      "daemon_start_vs_finalize", "daemon_exit_vs_finalize"])
def test_default_runtime_lifecycle_runs_are_ok(scenario, test_seed):
    for strategy in ("random", "pct"):
        for seed in (test_seed % 1000, test_seed % 1000 + 1):
            r = execute(make_meta(scenario, seed=seed, strategy=strategy, args=SMALL.get(scenario)), NullSink())
            assert r.status == "ok", f"ftreplay record {scenario} --seed {seed} --strategy {strategy}: {r.failure}"
