"""A store with the runs the export tests read: recorded once per session, never written after."""

from __future__ import annotations

from pathlib import Path

import pytest

import ftreplay.api as ft


@pytest.fixture(scope="session")
def export_store(tmp_path_factory) -> Path:
    """mutex_counter, a small gc_cycles, a deadlocking lock_order and stw_storm."""
    db = tmp_path_factory.mktemp("export_store") / "s.duckdb"
    with ft.open(str(db), write=True) as store:
        store.record("mutex_counter", seed=1)
        store.record("gc_cycles", seed=1, args={"cycles": 60})
        store.record("lock_order", seed=1)
        store.record("stw_storm", seed=1)
    return db
