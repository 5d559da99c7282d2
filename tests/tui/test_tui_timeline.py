"""tui.timeline: the zoom ladder, the column grid, and what a lane cell shows."""

from __future__ import annotations

from tui.timeline import Cell, Grid, build, build_stw, classify, classify_stw, ladder, nice_at_least


def test_ladder_and_nice():
    assert ladder(1) == [1]
    assert ladder(30) == [1, 2, 5, 10, 20, 50]
    assert nice_at_least(743) == 1000
    assert nice_at_least(0.3) == 1


def test_grid_puts_the_cursor_in_the_middle():
    g = Grid("seq", 10)
    c0, c1 = g.view(1234, 100)
    assert c1 - c0 == 100 and g.col(1234) - c0 == 50


def test_classify():
    assert classify({"attached": 10}).state == "attached"
    assert not classify({"attached": 10}).mixed
    assert classify({"attached": 3, "detached": 7}).state == "detached"
    assert classify({"attached": 3, "detached": 7}).mixed
    assert classify({"detached": 10, "parked": 6}).state == "parked"
    assert classify({"attached": 10, "parked": 10}).state == "parked_attached"
    assert classify({"detached": 10, "parked": 2}).state == "detached"
    assert classify({"parked": 5}) is None  # no thread state: not alive in the column
    assert classify({}) is None
    # A suspended thread waits in the parking lot until the world restarts: it shows as suspended.
    assert classify({"suspended": 10, "parked": 10}) == Cell("suspended", False)
    assert classify({"suspended": 4, "detached": 6, "parked": 10}).state == "parked"


def test_build_groups_rows_by_thread_and_column():
    rows = [(1, 0, "attached", 5), (1, 0, "detached", 5), (1, 1, "detached", 10), (2, 1, "exited", 10)]
    data = build(Grid("seq", 10), 0, 2, rows)
    assert data.cells[1][0].mixed and data.cells[1][1].state == "detached"
    assert data.cells[2] == {1: data.cells[2][1]} and data.cells[2][1].state == "exited"
    assert data.covers(Grid("seq", 10), 0, 2) and not data.covers(Grid("seq", 10), 0, 3)
    assert not data.covers(Grid("time", 10), 0, 1)


def test_the_pause_row():
    w = 10
    assert classify_stw({"stw_requested": 10}, w) == Cell("stw_requested", False)
    assert classify_stw({"stw_requested": 3}, w) == Cell("stw_requested", True)
    assert classify_stw({"stw_requested": 9, "stw_stopped": 1}, w) == Cell("stw_stopped", True)  # a stop shows
    assert classify_stw({"stw_stopped": 10}, w) == Cell("stw_stopped", False)
    assert classify_stw({}, w) is None
    data = build_stw(build(Grid("seq", w), 0, 3, []), [(0, "stw_requested", 10), (1, "stw_requested", 4),
                                                      (1, "stw_stopped", 6)])
    assert data.stw == {0: Cell("stw_requested", False), 1: Cell("stw_stopped", True)}
