"""Fork and finalization scenarios: each bug flag makes its scenario fail with the flag's
reason on a known seed, the same seed passes without it, and the many-thread scenarios pass."""

from __future__ import annotations

import pytest

from ftreplay.record.log import NullSink
from ftreplay.record.session import execute, make_meta
from ftreplay.runtime.bugs import BUGS

# (flag, strategy, a seed that fails with it, what the message names)
BUG_SEEDS = [
    ("fork_without_stw", "pct", 1, "child process 2 (forked by T1): all threads blocked"),
    ("fork_without_head_lock", "pct", 23, "[fork_without_head_lock]"),
    ("afterfork_handles_joinable", "pct", 1, "T2.thread_is_exiting"),
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


@pytest.mark.parametrize("scenario", ["fork_many_threads", "finalize_many_threads", "fork_mid_handle_unlink",
                                      "daemon_start_vs_finalize", "daemon_exit_vs_finalize"])
def test_default_runtime_lifecycle_runs_are_ok(scenario, test_seed):
    for strategy in ("random", "pct"):
        for seed in (test_seed % 1000, test_seed % 1000 + 1):
            r = execute(make_meta(scenario, seed=seed, strategy=strategy, args=SMALL.get(scenario)), NullSink())
            assert r.status == "ok", f"ftreplay record {scenario} --seed {seed} --strategy {strategy}: {r.failure}"
