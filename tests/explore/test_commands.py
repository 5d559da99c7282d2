"""The explore, shrink, diff and check commands as a user runs them: JSON summaries, text,
exit statuses, one-line errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ftreplay.cli import main


@pytest.fixture
def ftreplay(tmp_path, capsys, monkeypatch):
    """``ftreplay(*args)``: the command line in this process (stdout, stderr, exit status)."""
    monkeypatch.setenv("FTREPLAY_DB", str(tmp_path / "s.duckdb"))

    def run(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


def one_json(p) -> dict:
    assert p.returncode in (0, 1), p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 1, p.stdout
    return json.loads(lines[0])


def test_explore_shrink_verify_diff_check(ftreplay):
    ex = one_json(ftreplay("explore", "join_race", "--bug", "join_tstate_lock_race", "--strategy", "pct",
                           "--runs", "200", "--until-failure", "--json"))
    assert ex["found"] and ex["runs_tried"] == ex["seed"] and ex["failures"] == 1
    assert set(ex) >= {"found", "run_id", "runs_tried", "failures", "seconds", "schedules_per_s"}
    sh = one_json(ftreplay("shrink", ex["run_id"], "--json"))
    assert sh["source_run_id"] == ex["run_id"] and sh["preemptions_after"] <= sh["preemptions_before"]
    assert sh["failure"]["reason"] == "assertion"
    v = ftreplay("verify", sh["run_id"])
    assert v.returncode == 0 and "OK" in v.stdout
    d = ftreplay("diff", ex["run_id"], sh["run_id"])
    assert d.returncode == 0 and "first divergence at seq" in d.stdout and "per thread" in d.stdout
    c = one_json(ftreplay("check", sh["run_id"], "--json"))
    assert c["run_id"] == sh["run_id"] and isinstance(c["findings"], list)


def test_check_lock_order_and_mutex_counter(ftreplay):
    ex = one_json(ftreplay("explore", "lock_order", "--strategy", "random", "--runs", "1",
                           "--store-sample", "1", "--store-failures", "1", "--json"))
    run_id = ex["sample_runs"][0] if ex["sample_runs"] else ex["run_id"]
    p = ftreplay("check", run_id, "--json")
    assert p.returncode == 1
    assert [f["detector"] for f in one_json(p)["findings"]].count("lock_order") == 1
    ex = one_json(ftreplay("explore", "mutex_counter", "--arg", "threads=2", "--arg", "iterations=3",
                           "--runs", "1", "--store-sample", "1", "--json"))
    p = ftreplay("check", ex["sample_runs"][0])
    assert p.returncode == 0 and "no findings" in p.stdout


def test_errors_are_one_line(ftreplay):
    for args in (["explore", "nope"], ["explore", "join_race", "--strategy", "bfs"], ["explore", "join_race", "--runs", "0"],
                 ["shrink", "nope"], ["diff", "a", "b"], ["check", "nope"]):
        p = ftreplay(*args)
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr, (args, p.stderr)


def test_bugs_lists_each_flags_exploration(ftreplay):
    from ftreplay.runtime.bugs import BUGS
    from ftreplay.zoo import RESULTS

    out = one_json(ftreplay("bugs", "--json"))
    assert [b["name"] for b in out["bugs"]] == list(BUGS)
    for b in out["bugs"]:
        assert b["exploration"] == RESULTS.get(b["name"])
        if b["exploration"] is not None and b["exploration"]["found"]:
            before, after = b["exploration"]["preemptions"]
            assert after <= before
