"""The README's Python example runs as written, and its numbers are what ``ftreplay query`` says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ftreplay.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    text = README.read_text()
    section = text[text.index("\n## Python\n"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def query(db: Path, capsys, sql: str) -> list[dict]:
    """``ftreplay query SQL --format json`` (the command's own code, in this process)."""
    capsys.readouterr()
    assert main(["query", sql, "--format", "json", "--db", str(db)]) == 0
    return json.loads(capsys.readouterr().out)["rows"]


def test_readme_python_example(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "readme"}
    exec(compile(readme_example(), "README.md#python", "exec"), ns)
    out = capsys.readouterr().out
    run_id = ns["run"].run_id
    assert out.startswith(f"{run_id} ok ")
    contended = ns["contended"].fetchall()
    parks = ns["parks"].fetchall()
    shared = ns["shared"].fetchall()
    pauses = ns["pauses"].fetchall()
    cursor_at = (ns["request"], ns["stopped"], ns["cur"].seq)
    ns["store"].close()
    db = tmp_path / "notebook.duckdb"

    # the same questions through the command line, asked of the raw event views
    want = query(db, capsys, f"""
        SELECT coalesce((SELECT arg_max(label, seq) FROM run_label l WHERE l.run_id = a.run_id AND l.addr = a.mutex),
                        printf('0x%x', a.mutex)) AS mutex,
               count(*) AS n, count(*) FILTER (WHERE wait_ns > 0) AS waited, sum(wait_ns) AS wait_ns
        FROM lock_acquire a WHERE run_id = '{run_id}' GROUP BY ALL HAVING waited > 0 ORDER BY wait_ns DESC, mutex LIMIT 5""")
    assert [(r["mutex"], r["n"], r["waited"], r["wait_ns"]) for r in want] == contended
    assert contended and contended[0][3] > 0

    want = query(db, capsys, f"""
        SELECT p.tid, w.ts - p.ts AS parked_ns, w.result
        FROM (SELECT * FROM parking_lot_park WHERE run_id = '{run_id}' AND qlen > 0) p
        ASOF JOIN (SELECT * FROM parking_lot_wake WHERE run_id = '{run_id}' AND result <> 'again') w
            ON w.tid = p.tid AND w.seq > p.seq
        ORDER BY parked_ns DESC, p.seq LIMIT 5""")
    assert [(r["tid"], r["parked_ns"], r["result"]) for r in want] == [(t, ns_, res) for t, _, ns_, res in parks]

    want = query(db, capsys, f"""
        SELECT n.type, count(DISTINCT o.obj) AS objects
        FROM (SELECT obj FROM object_incref WHERE run_id = '{run_id}' AND path = 'shared'
              UNION ALL SELECT obj FROM object_decref WHERE run_id = '{run_id}' AND path = 'shared') o
        JOIN object_new n ON n.run_id = '{run_id}' AND n.obj = o.obj GROUP BY n.type ORDER BY objects DESC, type""")
    assert [(r["type"], r["objects"]) for r in want] == [(t, n) for t, n, *_ in shared]

    want = query(db, capsys, f"""
        SELECT s.ts - q.ts AS time_to_stop_ns, r.ts - s.ts AS pause_ns
        FROM pystate_stw_request q
        ASOF JOIN pystate_stop_the_world s ON s.run_id = q.run_id AND s.requester = q.requester AND s.seq > q.seq
        ASOF JOIN pystate_start_the_world r ON r.run_id = q.run_id AND r.requester = q.requester AND r.seq > s.seq
        WHERE q.run_id = '{run_id}' ORDER BY q.seq""")
    assert [(r["time_to_stop_ns"], r["pause_ns"]) for r in want] == [(a, b) for *_, a, b in pauses]
    assert len(pauses) >= 2

    want = query(db, capsys, f"""
        WITH k AS (SELECT seq, kind FROM events WHERE run_id = '{run_id}'),
        s AS (SELECT min(seq) AS stop FROM k WHERE kind = 'pystate.stop_the_world')
        SELECT (SELECT min(seq) FROM k WHERE kind = 'pystate.stw_request') AS request, (SELECT stop FROM s) AS stop,
               (SELECT max(seq) FROM k WHERE kind = 'pystate.suspend' AND seq < (SELECT stop FROM s)) AS suspend""")
    assert cursor_at == (want[0]["request"], want[0]["stop"], want[0]["suspend"])
