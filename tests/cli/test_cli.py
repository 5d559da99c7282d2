"""The ``ftreplay`` command line, run as a user runs it (subprocesses, one store per test)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ftreplay.record.log import FILE_HEADER, FORMAT_VERSION, MAGIC, MemorySink
from ftreplay.record.session import execute, make_meta

STRATEGIES = ("random", "pct", "round_robin")
RECORD_KEYS = {"run_id", "status", "events", "hash", "failure"}


def assert_one_clean_error_line(p: subprocess.CompletedProcess) -> str:
    assert p.returncode != 0, f"expected failure, got exit 0: {p.stdout!r}"
    assert "Traceback" not in p.stdout + p.stderr, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {p.stderr!r}"
    assert lines[0].strip()
    return lines[0]


def ftlogs(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.ftlog"))}


# -- scenarios / record ---------------------------------------------------------------------------
def test_scenarios_json(cli):
    out = cli.json("scenarios")
    names = {s["name"] for s in out["scenarios"]}
    assert {"mutex_counter", "event_notify", "join_race"} <= names
    by = {s["name"]: s for s in out["scenarios"]}
    assert by["mutex_counter"]["args"] == {"threads": 4, "iterations": 100, "work_ns": 2000}
    assert "join_tstate_lock_race" in by["join_race"]["bugs"]


def test_scenarios_text_lists_every_scenario(cli):
    p = cli("scenarios")
    assert p.returncode == 0 and p.stderr == ""
    for name in ("mutex_counter", "event_notify", "join_race"):
        assert name in p.stdout


def test_record_json_is_one_object_and_matches_the_store(cli):
    out = cli.json("record", "mutex_counter", "--seed", "4", "--arg", "threads=3", "--arg", "iterations=10")
    assert RECORD_KEYS <= set(out)
    assert out["status"] == "ok" and out["failure"] is None
    assert isinstance(out["events"], int) and out["events"] > 0
    assert len(out["hash"]) == 64 and int(out["hash"], 16) >= 0
    [row] = cli.runs_rows()
    runs = cli.json("runs")["runs"]
    assert [r["run_id"] for r in runs] == [out["run_id"]]
    r = runs[0]
    assert (r["status"], r["events"], r["hash"], r["seed"], r["strategy"]) == ("ok", out["events"], out["hash"], 4, "random")
    assert Path(out["log"]).is_file()
    import hashlib

    from ftreplay.record.log import read_log

    # The hash covers the log up to its END frame (which carries it).
    data = Path(out["log"]).read_bytes()
    reader = read_log(out["log"])
    assert reader.end.content_sha256 == out["hash"]
    assert hashlib.sha256(data[: reader.end_offset]).hexdigest() == out["hash"]
    reader.close()


def test_record_text_output_names_the_run(cli):
    p = cli("record", "event_notify", "--seed", "2")
    assert p.returncode == 0, p.stderr
    assert "recorded event_notify-1: ok" in p.stdout
    assert "ftreplay verify event_notify-1" in p.stdout


def test_join_race_bug_fails_with_an_assertion_under_pct(cli):
    for seed in range(1, 51):
        out = cli.json("record", "join_race", "--strategy", "pct", "--seed", seed, "--bug", "join_tstate_lock_race")
        if out["status"] == "failed":
            break
    else:
        pytest.fail("join_race --bug join_tstate_lock_race never failed under pct, seeds 1..50")
    f = out["failure"]
    assert f["reason"] == "assertion" and f["message"]
    assert f["seq"] == out["events"] - 1
    rows = {r["run_id"]: r for r in cli.json("runs")["runs"]}
    assert rows[out["run_id"]]["status"] == "failed"
    assert rows[out["run_id"]]["failure_reason"] == "assertion"
    assert rows[out["run_id"]]["bugs"] == ["join_tstate_lock_race"]


def test_join_race_without_the_bug_never_fails():
    for strategy in STRATEGIES:
        for seed in range(1, 201):
            res = execute(make_meta("join_race", seed=seed, strategy=strategy), MemorySink())
            assert res.status == "ok", (strategy, seed, res.failure)


USER_SCENARIO = '''
def scn(rt, n: int = 3):
    """n threads bump a counter under one mutex"""
    m = rt.mutex("m")
    c = rt.var("c", 0)

    def w():
        m.lock()
        c.store(c.load() + 1)
        m.unlock()

    ts = [rt.start_thread(w, name=f"w{i}") for i in range(n)]
    for t in ts:
        t.join()
    assert c.load() == n, f"counter {c.load()} != {n}"
'''


def test_user_scenario_file(cli, tmp_path):
    f = tmp_path / "myscn.py"
    f.write_text(USER_SCENARIO)
    out = cli.json("record", f"{f}:scn", "--arg", "n=2")
    assert out["status"] == "ok" and out["failure"] is None
    rid = out["run_id"]
    # two guest threads besides main (thread 1), and the guest's counter reached 2
    q = cli("query", f"SELECT count(DISTINCT thread) AS n FROM thread_start WHERE run_id = '{rid}' AND thread <> 1",
            "--format", "json")
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout)["rows"] == [{"n": 2}]
    q = cli("query", f"SELECT max(s.value) AS v FROM guest_store s JOIN run_label l ON l.run_id = s.run_id "
                     f"AND l.addr = s.addr AND l.label = 'c' WHERE s.run_id = '{rid}'", "--format", "json")
    assert json.loads(q.stdout)["rows"] == [{"v": 2}]
    q = cli("query", f"SELECT config FROM runs WHERE run_id = '{out['run_id']}'", "--format", "json")
    assert json.loads(json.loads(q.stdout)["rows"][0]["config"])["args"] == {"n": 2}
    v = cli("verify", out["run_id"])
    assert v.returncode == 0, v.stderr
    # a relative path from another directory works too
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    p = subprocess.run([sys.executable, "-m", "ftreplay", "record", "../myscn.py:scn", "--json"],
                       capture_output=True, text=True, env=cli.env(), cwd=sub)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "ok"


def test_user_scenario_failure_is_a_successful_recording(cli, tmp_path):
    f = tmp_path / "bad.py"
    f.write_text("def scn(rt):\n    raise ValueError('boom')\n")
    out = cli.json("record", f"{f}:scn")
    assert out["status"] == "failed"
    assert out["failure"]["reason"] == "crash" and "boom" in out["failure"]["message"]


# -- error paths --------------------------------------------------------------------------------
def _write_bad_logs(d: Path) -> None:
    good = bytes(_good_log())
    (d / "random.ftlog").write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
    (d / "trunc_header.ftlog").write_bytes(good[:7])
    (d / "v99.ftlog").write_bytes(FILE_HEADER.pack(MAGIC, FORMAT_VERSION, 99) + good[FILE_HEADER.size:])
    (d / "header_only.ftlog").write_bytes(good[:FILE_HEADER.size])
    (d / "empty.ftlog").write_bytes(b"")
    (d / "syntax.py").write_text("def scn(rt:\n")


def _good_log() -> bytearray:
    sink = MemorySink()
    execute(make_meta("join_race", seed=1), sink)
    return sink.data


ERROR_CASES = {
    "unknown_scenario": ["record", "no_such_scenario"],
    "unknown_arg": ["record", "mutex_counter", "--arg", "nope=1"],
    "bad_arg_value": ["record", "mutex_counter", "--arg", "threads=abc"],
    "arg_without_value": ["record", "mutex_counter", "--arg", "threads"],
    "unknown_knob": ["record", "mutex_counter", "--set", "nope=1"],
    "bad_knob_value": ["record", "mutex_counter", "--set", "batch=0"],
    "unknown_bug": ["record", "mutex_counter", "--bug", "nope"],
    "unknown_strategy": ["record", "mutex_counter", "--strategy", "nope"],
    "negative_seed": ["record", "mutex_counter", "--seed", "-1"],
    "bad_schedule_text": ["record", "mutex_counter", "--schedule", "garbage"],
    "diverging_schedule": ["record", "mutex_counter", "--schedule", "9*5"],
    "missing_schedule_file": ["record", "mutex_counter", "--schedule", "@{tmp}/nope.txt"],
    "missing_user_file": ["record", "{tmp}/nope.py:scn"],
    "user_file_syntax_error": ["record", "{tmp}/syntax.py:scn"],
    "unknown_option": ["record", "mutex_counter", "--frobnicate"],
    "no_command": [],
    "bad_sql": ["query", "SELEC * FROM runs"],
    "unknown_table": ["query", "SELECT * FROM no_such_table"],
    "delete": ["query", "DELETE FROM runs"],
    "drop": ["query", "DROP TABLE runs"],
    "update": ["query", "UPDATE runs SET status = 'failed'"],
    "import_random_bytes": ["import", "{tmp}/random.ftlog"],
    "import_truncated_header": ["import", "{tmp}/trunc_header.ftlog"],
    "import_schema_v99": ["import", "{tmp}/v99.ftlog"],
    "import_header_only": ["import", "{tmp}/header_only.ftlog"],
    "import_empty": ["import", "{tmp}/empty.ftlog"],
    "import_missing_file": ["import", "{tmp}/nope.ftlog"],
    "import_directory": ["import", "{tmp}"],
    "verify_unknown_run": ["verify", "no-such-run"],
    "query_missing_store": ["query", "SELECT 1", "--db", "{tmp}/missing.duckdb"],
    "runs_missing_store": ["runs", "--db", "{tmp}/missing.duckdb"],
    "verify_missing_store": ["verify", "latest", "--db", "{tmp}/missing.duckdb"],
}


@pytest.mark.parametrize("argv", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_error_is_one_line_and_leaves_the_store_alone(populated_cli, tmp_path, argv):
    _write_bad_logs(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    before_rows = populated_cli.runs_rows()
    before_logs = ftlogs(tmp_path)
    assert len(before_rows) == 1
    p = populated_cli(*argv)
    line = assert_one_clean_error_line(p)
    assert line.startswith("ftreplay")
    assert p.stdout == ""
    assert populated_cli.runs_rows() == before_rows
    assert ftlogs(tmp_path) == before_logs
    assert not (tmp_path / "missing.duckdb").exists()


def test_seed_beyond_64_bits_is_a_clean_error(populated_cli, tmp_path):
    before_rows, before_logs = populated_cli.runs_rows(), ftlogs(tmp_path)
    p = populated_cli("record", "mutex_counter", "--arg", "iterations=1", "--seed", str(2**64))
    assert_one_clean_error_line(p)
    assert populated_cli.runs_rows() == before_rows
    assert ftlogs(tmp_path) == before_logs


def test_seed_beyond_bigint_leaves_no_orphan_log(populated_cli, tmp_path):
    before_rows, before_logs = populated_cli.runs_rows(), ftlogs(tmp_path)
    p = populated_cli("record", "mutex_counter", "--arg", "iterations=1", "--seed", str(2**63))
    if p.returncode == 0:  # accepting the seed is fine too, if the run is stored
        assert len(populated_cli.runs_rows()) == len(before_rows) + 1
        return
    assert_one_clean_error_line(p)
    assert populated_cli.runs_rows() == before_rows
    assert ftlogs(tmp_path) == before_logs


def test_record_log_to_a_directory_is_a_clean_error(populated_cli, tmp_path):
    before_rows = populated_cli.runs_rows()
    d = tmp_path / "adir"
    d.mkdir()
    p = populated_cli("record", "mutex_counter", "--log", str(d))
    assert_one_clean_error_line(p)
    assert populated_cli.runs_rows() == before_rows


def test_record_log_never_clobbers_a_stored_runs_log(cli, tmp_path):
    log = tmp_path / "mine.ftlog"
    first = cli.json("record", "mutex_counter", "--arg", "iterations=2", "--log", str(log))
    original = log.read_bytes()
    # a failed record naming the same --log
    p = cli("record", "mutex_counter", "--schedule", "9*5", "--log", str(log))
    assert p.returncode != 0
    assert log.is_file() and log.read_bytes() == original
    # a successful record naming the same --log (a different seed)
    cli("record", "mutex_counter", "--arg", "iterations=2", "--seed", "2", "--log", str(log))
    v = cli("verify", first["run_id"])
    assert v.returncode == 0, v.stderr


# -- import of a killed recording ---------------------------------------------------------------------
def test_import_a_log_of_a_killed_recorder(cli, tmp_path):
    log = tmp_path / "killed.ftlog"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftreplay", "record", "mutex_counter", "--arg", "threads=8", "--arg",
         "iterations=20000", "--set", "batch=2048", "--log", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env(), cwd=tmp_path,
    )
    try:
        for _ in range(1200):  # at most ~60 s
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
            if log.exists() and log.stat().st_size > 200_000:
                break
        assert proc.poll() is None, f"the recorder finished before it was killed: {proc.returncode}"
        assert log.stat().st_size > 200_000
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -9

    p = cli("import", str(log), "--json")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    out = json.loads(p.stdout)
    assert out["events"] > 0 and out["status"] == "incomplete"
    assert out["complete"] is False
    assert isinstance(out["bytes_dropped"], int) and out["bytes_dropped"] >= 0
    assert out["frames"] >= 2
    # every event of the recovered frames is stored, seq dense from 0
    q = cli("query", f"SELECT count(*) AS n, count(DISTINCT seq) AS d, max(seq) AS hi FROM events "
                     f"WHERE run_id = '{out['run_id']}'", "--format", "json")
    assert json.loads(q.stdout)["rows"] == [{"n": out["events"], "d": out["events"], "hi": out["events"] - 1}]

    # a second import of the same log works too, as another run
    again = cli.json("import", str(log))
    assert again["run_id"] != out["run_id"]
    assert (again["events"], again["status"]) == (out["events"], "incomplete")

    # text mode explains the recovery on stderr (one line), exit 0
    t = cli("import", str(log))
    assert t.returncode == 0 and "incomplete" in t.stdout
    assert len(t.stderr.splitlines()) == 1 and "Traceback" not in t.stderr

    # an incomplete run cannot be verified: a clean error
    assert_one_clean_error_line(cli("verify", out["run_id"]))


def test_import_a_log_with_a_damaged_tail(cli, tmp_path):
    src = cli.json("record", "mutex_counter", "--arg", "iterations=30", "--set", "batch=100")
    data = Path(src["log"]).read_bytes()
    cut = tmp_path / "cut.ftlog"
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = cli.json("import", str(cut))
    assert out["status"] == "incomplete" and out["complete"] is False
    assert out["bytes_dropped"] > 0 and 0 < out["events"] < src["events"]
    # the same log, whole, imports as a complete run with the recorded status and hash
    whole = cli.json("import", src["log"])
    assert (whole["status"], whole["events"], whole["complete"], whole["bytes_dropped"]) == ("ok", src["events"], True, 0)


# -- runs / query / bench / schema ---------------------------------------------------------------------
@pytest.fixture
def two_runs(cli):
    a = cli.json("record", "mutex_counter", "--arg", "iterations=5")
    b = cli.json("record", "join_race", "--strategy", "pct", "--bug", "join_tstate_lock_race")
    return cli, a, b


def test_runs_json(two_runs):
    cli, a, b = two_runs
    runs = cli.json("runs")["runs"]
    assert [r["run_id"] for r in runs] == [a["run_id"], b["run_id"]]
    for r, rec in zip(runs, (a, b)):
        assert (r["status"], r["events"], r["hash"], r["scenario"]) == (rec["status"], rec["events"], rec["hash"], rec["scenario"])
    t = cli("runs")
    assert t.returncode == 0 and a["run_id"] in t.stdout and b["run_id"] in t.stdout


def test_runs_on_an_empty_store(cli):
    from ftreplay.record.store import Store

    Store.open(str(cli.db), read_only=False).close()
    assert cli.json("runs") == {"runs": []}
    p = cli("runs")
    assert p.returncode == 0 and "no runs" in p.stdout


SQL = "SELECT run_id, count(*) AS n, max(seq) AS hi FROM events GROUP BY run_id ORDER BY run_id"


def test_query_formats(two_runs):
    cli, a, b = two_runs
    expected = sorted([(a["run_id"], a["events"], a["events"] - 1), (b["run_id"], b["events"], b["events"] - 1)])

    p = cli("query", SQL, "--format", "csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0] == ["run_id", "n", "hi"]
    assert [(r[0], int(r[1]), int(r[2])) for r in rows[1:]] == expected

    p = cli("query", SQL, "--format", "json")
    obj = json.loads(p.stdout)
    assert obj["columns"] == ["run_id", "n", "hi"]
    assert [(r["run_id"], r["n"], r["hi"]) for r in obj["rows"]] == expected

    p = cli("query", SQL)
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["run_id", "n", "hi"]
    assert lines[-1] == "(2 rows)"
    assert [tuple(line.split()) for line in lines[2:-1]] == [(r, str(n), str(h)) for r, n, h in expected]


def test_query_is_read_only_even_for_writes_that_parse(two_runs):
    cli, a, b = two_runs
    before = cli.runs_rows()
    for sql in ("INSERT INTO runs (run_id, scenario) VALUES ('x', 'y')", "DELETE FROM events",
                "CREATE TABLE t AS SELECT 1", "DROP VIEW events"):
        assert_one_clean_error_line(cli("query", sql))
    assert cli.runs_rows() == before
    p = cli("query", "SELECT count(*) AS n FROM events", "--format", "json")
    assert json.loads(p.stdout)["rows"] == [{"n": a["events"] + b["events"]}]


def test_bench_quick_json(cli):
    out = cli.json("bench", "--quick")
    for k in ("simulate_events_per_s", "record_events_per_s", "record_overhead_ratio", "ingest_events_per_s",
              "bytes_per_event", "record_bytes_per_event"):
        assert isinstance(out[k], (int, float)) and not isinstance(out[k], bool), k
        assert out[k] > 0, k
    assert not cli.db.exists()  # bench works in its own temporary store


def test_schema_check(cli, tmp_path):
    p = cli("schema", "--check")
    assert p.returncode == 0, p.stderr
    d = tmp_path / "sch"
    p = cli("schema", "--check", "--dir", str(d))
    assert p.returncode == 1
    line = assert_one_clean_error_line(p)
    assert "ftreplay schema" in line
    p = cli("schema", "--dir", str(d))
    assert p.returncode == 0 and (d / "store.sql").is_file()
    assert cli("schema", "--check", "--dir", str(d)).returncode == 0


def test_in_process_main_with_capsys(tmp_path, monkeypatch, capsys):
    from ftreplay.cli import main

    monkeypatch.setenv("FTREPLAY_DB", str(tmp_path / "s.duckdb"))
    assert main(["record", "join_race", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "ok" and out["run_id"] == "join_race-1"
    assert main(["verify", "join_race-1"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["query", "SELEC"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ftreplay: ") and err.count("\n") == 1


def test_query_cannot_overwrite_a_stored_log(cli):
    out = cli.json("record", "join_race")
    log = Path(out["log"])
    original = log.read_bytes()
    p = cli("query", f"COPY (SELECT 42 AS x) TO '{log}' (FORMAT csv)")
    assert log.read_bytes() == original
    assert cli("verify", out["run_id"]).returncode == 0
    assert_one_clean_error_line(p)


def test_record_help_names_every_knob():
    from ftreplay.cli import build_parser
    from ftreplay.record.session import KNOBS

    record = build_parser()._subparsers._group_actions[0].choices["record"]
    [knob_help] = [a.help for a in record._actions if a.dest == "set"]
    for name in KNOBS:
        assert name in knob_help, name
