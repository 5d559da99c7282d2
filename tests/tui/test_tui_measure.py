"""``tui.measure.measure_open``: the bench helper opens a run headless and reports seconds."""

from __future__ import annotations

import threading

from tui.measure import measure_open


def test_measure_open_returns_seconds_to_the_first_full_screen(store_path):
    seconds = measure_open(store_path, "join")
    assert isinstance(seconds, float) and seconds > 0
    assert threading.active_count() < 20  # workers did not pile up
