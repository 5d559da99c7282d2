"""Exploration on a Dask LocalCluster finds the same failing seeds as a local exploration."""

from __future__ import annotations

import json

import pytest

from ftreplay.errors import UsageError

distributed = pytest.importorskip("distributed")

from ftreplay.cluster import cluster_executor, parse_address  # noqa: E402
from ftreplay.explore import ExploreSpec, explore  # noqa: E402

# Three fixed races of the zoo, each over a window of seeds where some fail and some pass.
ZOO = [
    ("join_race", "pct", "join_tstate_lock_race", 5, 6),           # pct fails seeds 7, 8 and 11 here
    ("lockfree_read", "pct", "free_delayed_without_qsbr", 1, 4),    # first pct failure: seed 3
    ("lockfree_read", "pct", "mimalloc_page_immediate_reuse", 38, 3),  # first pct failure: seed 39
]


def _outcome(summary: dict) -> tuple:
    return (summary["runs_tried"], summary["failures"], summary["seed"], summary["failure"],
            [(f["seed"], f["reason"]) for f in summary["failing_runs"]], summary["distinct_failures"])


@pytest.fixture(scope="module")
def executor():
    with cluster_executor("local", jobs=2, processes=False) as ex:  # worker threads: quick to start
        yield ex


@pytest.mark.parametrize("scenario,strategy,bug,first,runs", ZOO, ids=[z[2] for z in ZOO])
def test_cluster_finds_the_local_failures(executor, tmp_path, scenario, strategy, bug, first, runs):
    spec = ExploreSpec(scenario=scenario, strategy=strategy, bugs=(bug,))
    local = explore(spec, runs=runs, first_seed=first, db=str(tmp_path / "local.duckdb"))
    remote = explore(spec, runs=runs, first_seed=first, jobs=2, executor=executor, batch=1,
                     db=str(tmp_path / "cluster.duckdb"))
    assert local["found"], local
    assert 0 < local["failures"] < runs  # the window has failing and passing seeds
    assert _outcome(remote) == _outcome(local)
    # the failing seeds were recorded into the store from the cluster's outcomes too
    assert [f["run_id"] is not None for f in remote["failing_runs"]] == [f["run_id"] is not None
                                                                          for f in local["failing_runs"]]


def test_addresses():
    assert parse_address("local") == "local"
    assert parse_address("dask://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad in ("dask://nohost", "tcp://h:1", "dask://h:port", ""):
        with pytest.raises(UsageError):
            parse_address(bad)


def test_unreachable_scheduler_is_one_clear_error():
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        with cluster_executor("dask://127.0.0.1:9", connect_timeout=0.5):
            pass


def test_cli_cluster_local_matches_local(tmp_path, capsys):
    from ftreplay.cli import main

    def explore_json(*extra: str) -> dict:
        capsys.readouterr()
        argv = ["explore", "join_race", "--bug", "join_tstate_lock_race", "--strategy", "pct", "--first-seed", "6",
                "--runs", "3", "--json", *extra]
        assert main(argv) == 0
        out = json.loads(capsys.readouterr().out)
        return {k: v for k, v in out.items() if k not in ("seconds", "schedules_per_s", "db", "jobs", "run_id")}

    local = explore_json("--db", str(tmp_path / "a" / "s.duckdb"))
    cluster = explore_json("--cluster", "local", "--jobs", "2", "--db", str(tmp_path / "b" / "s.duckdb"))
    assert local["failures"] == 1 and [f["seed"] for f in local["failing_runs"]] == [7]
    for summary in (local, cluster):
        for f in summary["failing_runs"]:
            f.pop("run_id")
    assert cluster == local
