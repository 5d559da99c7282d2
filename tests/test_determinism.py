"""Determinism: same inputs => byte-identical log; verify re-executes; stored schedules replay."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ftreplay.record.log import MemorySink, parse_log
from ftreplay.record.session import execute, make_meta

SCENARIOS = ("mutex_counter", "event_notify", "join_race")
STRATEGIES = ("random", "pct", "round_robin")
BUG = "join_tstate_lock_race"


def record(scenario, seed=1, strategy="random", args=None, bugs=()):
    meta = make_meta(scenario, seed=seed, strategy=strategy, args={k: str(v) for k, v in (args or {}).items()},
                     bugs=list(bugs))
    sink = MemorySink()
    res = execute(meta, sink)
    return res, bytes(sink.data)


CASES = [(s, st, ()) for s in SCENARIOS for st in STRATEGIES] + [("join_race", st, (BUG,)) for st in STRATEGIES]


@pytest.mark.parametrize("scenario,strategy,bugs", CASES,
                         ids=[f"{s}-{st}{'-bug' if b else ''}" for s, st, b in CASES])
def test_same_inputs_give_byte_identical_logs(scenario, strategy, bugs):
    seed = 7
    r1, d1 = record(scenario, seed, strategy, bugs=bugs)
    r2, d2 = record(scenario, seed, strategy, bugs=bugs)
    assert d1 == d2
    assert r1.hash == r2.hash == hashlib.sha256(d1[: parse_log(d1).end_offset]).hexdigest()
    assert r1.end == r2.end
    assert r1.end.events > 0 and parse_log(d1).recovery.clean


def test_the_bug_flag_changes_the_run():
    # with the flag, some pct seed fails; the same seed without it passes and logs differently
    for seed in range(1, 51):
        with_bug, d_bug = record("join_race", seed, "pct", bugs=(BUG,))
        if with_bug.status == "failed":
            break
    else:
        pytest.fail("no failing seed")
    without, d = record("join_race", seed, "pct")
    assert without.status == "ok" and with_bug.hash != without.hash


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_different_seeds_under_random_differ(scenario):
    runs = [record(scenario, seed, "random")[0] for seed in range(1, 11)]
    assert len({r.hash for r in runs}) == len(runs)
    # not only the META frame (which holds the seed): the schedules differ too
    assert len({r.end.schedule for r in runs}) >= 8


def test_determinism_does_not_depend_on_the_hash_seed(tmp_path):
    hashes = []
    for hs in ("0", "12345"):
        db = tmp_path / f"s{hs}.duckdb"
        p = subprocess.run([sys.executable, "-m", "ftreplay", "record", "event_notify", "--seed", "3", "--json"],
                           capture_output=True, text=True, env={**os.environ, "FTREPLAY_DB": str(db),
                                                                  "PYTHONHASHSEED": hs})
        assert p.returncode == 0, p.stderr
        hashes.append(json.loads(p.stdout)["hash"])
    assert hashes[0] == hashes[1]
    assert hashes[0] == record("event_notify", 3, "random")[0].hash  # and equals the in-process run


# -- through the CLI ------------------------------------------------------------------------------
class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "s.duckdb"
        self.cwd = tmp_path

    def __call__(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ftreplay", *map(str, args)], capture_output=True, text=True,
                              env={**os.environ, "FTREPLAY_DB": str(self.db)}, cwd=self.cwd, timeout=300)

    def json(self, *args) -> dict:
        p = self(*args, "--json")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def run_row(self, run_id: str) -> dict:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
            cols = [d[0] for d in cur.description]
            return dict(zip(cols, cur.fetchone()))
        finally:
            con.close()


@pytest.fixture
def cli(tmp_path):
    return Cli(tmp_path)


def test_cli_records_twice_identically(cli):
    argv = ["record", "join_race", "--strategy", "pct", "--seed", "7", "--bug", BUG, "--arg", "joiners=3"]
    a, b = cli.json(*argv), cli.json(*argv)
    assert a["run_id"] != b["run_id"]
    assert a["hash"] == b["hash"]
    assert Path(a["log"]).read_bytes() == Path(b["log"]).read_bytes()
    assert (a["status"], a["events"], a["failure"]) == (b["status"], b["events"], b["failure"])
    assert a["hash"] == record("join_race", 7, "pct", args={"joiners": 3}, bugs=(BUG,))[0].hash


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("argv", [
    ["mutex_counter", "--seed", "2"],
    ["event_notify", "--strategy", "round_robin"],
    ["join_race", "--strategy", "pct", "--seed", "7", "--bug", BUG],
], ids=["mutex_counter", "event_notify-rr", "join_race-bug"])
def test_verify_passes_then_fails_after_a_flipped_byte(cli, argv):
    out = cli.json("record", *argv)
    run_id = out["run_id"]
    v = cli("verify", run_id)
    assert v.returncode == 0, v.stderr
    assert "OK" in v.stdout and v.stderr == ""
    vj = cli.json("verify", run_id)
    assert vj["ok"] is True and vj["problems"] == [] and vj["hash"] == out["hash"]

    row = cli.run_row(run_id)
    log = Path(row["log_path"])
    assert log == Path(out["log"]).resolve()
    size = log.stat().st_size
    # a byte in the middle of the events, then one in the END frame
    for offset in (size // 2, size - 3):
        original = log.read_bytes()
        _flip(log, offset)
        v = cli("verify", run_id)
        assert v.returncode == 1, (offset, v.stdout, v.stderr)
        assert "Traceback" not in v.stderr and "FAILED" in v.stderr
        vj = cli("verify", run_id, "--json")
        assert vj.returncode == 1
        j = json.loads(vj.stdout)
        assert j["ok"] is False and j["problems"]
        assert cli.run_row(run_id) == row  # the store's row is untouched
        log.write_bytes(original)
    assert cli("verify", run_id).returncode == 0


def test_verify_fails_when_the_stored_log_is_gone(cli):
    out = cli.json("record", "join_race", "--seed", "2")
    Path(out["log"]).unlink()
    v = cli("verify", out["run_id"])
    assert v.returncode == 1 and "Traceback" not in v.stderr


@pytest.mark.parametrize("argv", [
    ["mutex_counter", "--seed", "5"],
    ["mutex_counter", "--seed", "5", "--arg", "iterations=300"],  # a long, packed schedule
    ["join_race", "--strategy", "pct", "--seed", "7", "--bug", BUG],
    ["event_notify", "--strategy", "pct", "--seed", "9"],
], ids=["mutex_counter", "mutex_counter-packed", "join_race-bug", "event_notify-pct"])
def test_replaying_a_stored_schedule_gives_the_same_hash(cli, tmp_path, argv):
    out = cli.json("record", *argv)
    row = cli.run_row(out["run_id"])
    assert row["schedule"]
    if "iterations=300" in argv:
        assert row["schedule"].startswith("z64:"), row["schedule"][:20]
    sched = tmp_path / "sched.txt"
    sched.write_text(row["schedule"])
    again = cli.json("record", *argv, "--schedule", f"@{sched}")
    assert again["run_id"] != out["run_id"]
    assert again["hash"] == out["hash"]
    assert (again["events"], again["status"], again["failure"]) == (out["events"], out["status"], out["failure"])
    assert cli.run_row(again["run_id"])["schedule"] == row["schedule"]
    assert Path(again["log"]).read_bytes() == Path(out["log"]).read_bytes()
