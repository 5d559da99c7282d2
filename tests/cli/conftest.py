"""Running the ``ftreplay`` command line as a user does: a subprocess with its own store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import duckdb
import pytest


class Cli:
    """``ftreplay`` in a subprocess, with ``$FTREPLAY_DB`` pointing at this test's store."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.cwd = db.parent

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "FTREPLAY_DB": str(self.db)}
        env.pop("COLUMNS", None)
        env.update(extra)
        return env

    def __call__(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ftreplay", *map(str, args)],
            capture_output=True, text=True, env=self.env(**env), cwd=self.cwd, timeout=timeout,
        )

    def json(self, *args: str, **env: str) -> dict:
        p = self(*args, "--json", **env)
        assert p.returncode == 0, f"{args}: exit {p.returncode}: {p.stderr}"
        return one_json_object(p.stdout)

    def runs_rows(self, db: Optional[Path] = None) -> list[tuple]:
        return runs_rows(db or self.db)


def one_json_object(stdout: str) -> dict:
    lines = stdout.splitlines()
    assert len(lines) == 1, f"expected one line of JSON, got {len(lines)}: {stdout[:500]!r}"
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def runs_rows(db: Path) -> list[tuple]:
    """Every row of the store's runs table (read-only, connection closed before returning)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
    finally:
        con.close()


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "s.duckdb")


@pytest.fixture(scope="session")
def _seed_store(tmp_path_factory) -> Path:
    """A store holding one small recorded run (made once, copied per test)."""
    d = tmp_path_factory.mktemp("seed_store")
    c = Cli(d / "s.duckdb")
    out = c.json("record", "mutex_counter", "--arg", "iterations=5")
    assert out["status"] == "ok"
    return d


@pytest.fixture
def populated_cli(tmp_path, _seed_store) -> Cli:
    """``cli`` whose store already holds one run (mutex_counter-1) and its log."""
    for p in _seed_store.iterdir():
        shutil.copy(p, tmp_path / p.name)
    return Cli(tmp_path / "s.duckdb")
