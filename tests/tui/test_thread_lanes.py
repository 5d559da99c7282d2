"""Thread lanes: one row per thread around the cursor, zoom, the time axis."""

from __future__ import annotations

from tui.widgets.lanes import ThreadLanes


def lane_rows(ui) -> dict[str, str]:
    """The lanes' rows by thread label ('T1'...), cells only (after the gutter)."""
    lanes = ui.screen.query_one(ThreadLanes)
    out = {}
    for line in lanes.render().plain.splitlines():
        head, sep, cells = line.partition("│ ")
        if sep and head.strip().startswith("T"):
            out[head.split()[0]] = cells
    return out


def test_lanes_show_every_thread_with_the_cursor_in_the_middle(drive, sql):
    threads = [f"T{r[0]}" for r in sql("SELECT DISTINCT thread FROM thread_state_intervals WHERE run_id = 'join' "
                                       "ORDER BY 1")]

    async def check(ui):
        lanes = ui.screen.query_one(ThreadLanes)
        rows = lane_rows(ui)
        assert list(rows) == threads
        mid = lanes.ncols // 2
        assert all(r[mid] == "┃" for r in rows.values())  # the cursor column
        assert "▼" in lanes.render().plain.splitlines()[0]
        # the failure is the run's last event: nothing is drawn right of the cursor
        assert all(set(r[mid + 2:]) <= {" "} for r in rows.values())
        assert any("█" in r[:mid] for r in rows.values())  # attached or parked before it

    drive("join", check)


def test_a_parked_thread_shows_as_parked_at_the_cursor(drive, sql):
    # the run opens at its failure, where the deadlocked threads are parked
    (tid, addr), = sql("SELECT p.thread, p.addr FROM park_intervals p JOIN runs r USING (run_id) "
                       "WHERE run_id = 'deadlock' AND p.start_seq <= r.failure_seq AND p.end_seq >= r.failure_seq "
                       "ORDER BY p.thread LIMIT 1")

    async def check(ui):
        lanes = ui.screen.query_one(ThreadLanes)
        cell = lanes.data.cells[tid][lanes.grid.col(ui.screen.state.seq)]
        assert cell.state in ("parked", "parked_attached")
        gutter = [line for line in lanes.render().plain.splitlines() if line.strip().startswith(f"T{tid} ")][0]
        assert "parked" in gutter

    drive("deadlock", check)


def test_zoom_and_axis(drive):
    async def check(ui):
        lanes = ui.screen.query_one(ThreadLanes)
        assert "1 event/col" in ui.text()
        await ui.press("minus", "minus")
        assert "5 events/col" in ui.text()
        assert "lanes 5 events/col (seq)" in ui.status()
        await ui.press("plus")
        assert "2 events/col" in ui.text()
        await ui.press("t")
        assert lanes.axis == "time"
        assert "Threads · time axis" in ui.text()
        assert lanes.data.grid.axis == "time"
        ruler = lanes.render().plain.splitlines()[0]
        assert "+" in ruler and "-" in ruler  # time ticks are relative to the cursor
        await ui.press("t")
        assert "Threads · seq axis · 2 events/col" in ui.text()

    drive("counter", check)


def test_stepping_redraws_from_fetched_data(drive):
    async def check(ui):
        lanes = ui.screen.query_one(ThreadLanes)
        fetched = lanes.data
        await ui.press("right", "right", "right")
        assert lanes.data is fetched  # the margin around the view covered the move
        assert ui.status().startswith("seq 3/")

    drive("counter", check)


def test_more_threads_than_rows_scroll_with_the_wheel(drive):
    from textual import events

    from tui.widgets.lanes import MAX_LANES

    async def check(ui):
        lanes = ui.screen.query_one(ThreadLanes)
        assert len(lanes.session.threads) == 21 > MAX_LANES
        assert list(lane_rows(ui)) == [f"T{t}" for t in range(1, MAX_LANES + 1)]
        assert f"T1–T{MAX_LANES} of 21 threads" in ui.text()
        lanes.post_message(events.MouseScrollDown(lanes, 0, 0, 0, 0, 0, False, False, False))
        await ui.settle()
        assert list(lane_rows(ui))[0] == "T2"
        last = ui.screen.session.last
        await ui.press("g")
        await ui.answer(str(last))  # the main thread's last event: T1 comes back into view
        assert "T1" in lane_rows(ui)

    drive("many", check)
