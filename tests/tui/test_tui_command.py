"""``ftreplay tui``: bad input is one line on stderr and exit 2, before any screen is drawn."""

from __future__ import annotations

import os
import subprocess
import sys


def ftreplay(*args: str, db: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FTREPLAY_DB"}
    if db:
        env["FTREPLAY_DB"] = db
    return subprocess.run([sys.executable, "-m", "ftreplay", *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_a_bad_run_is_one_line_and_exit_2(store_path):
    p = ftreplay("tui", "no_such_run", "--db", store_path)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith("ftreplay: no run 'no_such_run'")
    assert p.stdout == ""


def test_a_missing_store_is_one_line_and_exit_2(tmp_path):
    p = ftreplay("tui", db=str(tmp_path / "nothing.duckdb"))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "no store at" in p.stderr
    assert p.stdout == ""


def test_an_ambiguous_prefix_is_one_line(store_path):
    p = ftreplay("tui", "", "--db", store_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "ambiguous" in p.stderr


def test_help_names_the_command(store_path):
    p = ftreplay("tui", "--help")
    assert p.returncode == 0
    assert "RUN" in p.stdout and "--db" in p.stdout
    p = ftreplay("--help")
    assert "tui" in p.stdout
