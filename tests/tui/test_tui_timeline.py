"""tui.timeline: the zoom ladder, the column grid, and what a lane cell shows."""

from __future__ import annotations

from tui.timeline import Grid, build, classify, ladder, nice_at_least


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


def test_build_groups_rows_by_thread_and_column():
    rows = [(1, 0, "attached", 5), (1, 0, "detached", 5), (1, 1, "detached", 10), (2, 1, "exited", 10)]
    data = build(Grid("seq", 10), 0, 2, rows)
    assert data.cells[1][0].mixed and data.cells[1][1].state == "detached"
    assert data.cells[2] == {1: data.cells[2][1]} and data.cells[2][1].state == "exited"
    assert data.covers(Grid("seq", 10), 0, 2) and not data.covers(Grid("seq", 10), 0, 3)
    assert not data.covers(Grid("time", 10), 0, 1)
