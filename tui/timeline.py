"""Thread lanes as data: the zoom ladder, the column grid and what each cell shows.

Columns are absolute: on an axis (seq or virtual ns) with ``w`` units per column, column
``k`` covers ``[k*w, (k+1)*w)``.  The view puts the cursor's column in the middle; data is
fetched for a margin around the view, so stepping redraws from what is already there.
A cell shows the state that covers most of its column; a thread parked for at least half
of the time it was alive in the column shows as parked (yellow when it parked without
detaching, red when detached), except a suspended one: it waits in the parking lot for the
world to restart, and 'suspended' says more.  ``mixed`` marks a column that saw more than
one state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AXES = ("seq", "time")

# State keys the lanes draw, in legend order.
STATES = ("attached", "detached", "parked", "parked_attached", "suspended", "shutting_down", "exited")


def ladder(limit: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to the first step at or above ``limit``."""
    out, base = [], 1
    while True:
        for m in (1, 2, 5):
            out.append(base * m)
            if base * m >= limit:
                return out
        base *= 10


def nice_at_least(value: float) -> int:
    """The smallest rung of the 1-2-5 ladder that is >= value."""
    return ladder(max(int(value), 1))[-1]


@dataclass(frozen=True)
class Grid:
    """One axis at one zoom: ``w`` units per column."""

    axis: str
    w: int

    def col(self, pos: int) -> int:
        return pos // self.w

    def view(self, pos: int, ncols: int) -> tuple[int, int]:
        """Columns [c0, c1) of a view ``ncols`` wide with ``pos`` in the middle column."""
        c0 = self.col(pos) - ncols // 2
        return c0, c0 + ncols


@dataclass
class Cell:
    state: str
    mixed: bool


@dataclass
class LaneData:
    """Cells of columns [c0, c1) for every thread; a missing cell means 'not alive'."""

    grid: Grid
    c0: int
    c1: int
    cells: dict[int, dict[int, Cell]] = field(default_factory=dict)
    # The stop-the-world row: column -> 'stw_requested' or 'stw_stopped' (no entry: no pause).
    stw: dict[int, Cell] = field(default_factory=dict)

    def covers(self, grid: Grid, c0: int, c1: int) -> bool:
        return grid == self.grid and self.c0 <= c0 and c1 <= self.c1


def classify(covers: dict[str, int]) -> Cell | None:
    """The cell for one thread and column from the time each state covers in it."""
    parked = covers.get("parked", 0)
    states = {k: v for k, v in covers.items() if k != "parked" and v > 0}
    if not states:
        return None
    top = max(states, key=lambda k: (states[k], k))
    alive = sum(states.values())
    mixed = len(states) > 1 or 0 < parked < alive
    if top != "suspended" and parked * 2 >= alive and parked > 0:
        return Cell("parked_attached" if top == "attached" else "parked", mixed)
    return Cell(top, mixed)


def build(grid: Grid, c0: int, c1: int, rows) -> LaneData:
    """LaneData from the rows of ``LANES_BY_*`` (thread, col, state, cover) in thread, col order."""
    data = LaneData(grid, c0, c1)
    acc: dict[tuple[int, int], dict[str, int]] = {}
    for thread, col, state, cover in rows:
        acc.setdefault((thread, col), {})[state] = int(cover)
    for (thread, col), covers in acc.items():
        cell = classify(covers)
        if cell is not None:
            data.cells.setdefault(thread, {})[col] = cell
    return data


def classify_stw(covers: dict[str, int], w: int) -> Cell | None:
    """A column of the pause row: stopped when the world was stopped at all in it (a pause is
    short and it is what the row is for), else requested; ``mixed`` unless one of them covers
    the whole column."""
    stopped, requested = covers.get("stw_stopped", 0), covers.get("stw_requested", 0)
    if stopped > 0:
        return Cell("stw_stopped", stopped < w)
    if requested > 0:
        return Cell("stw_requested", requested < w)
    return None


def build_stw(data: LaneData, rows) -> LaneData:
    """Add the pause row from the rows of ``STW_LANE_BY_*`` (col, state, cover)."""
    acc: dict[int, dict[str, int]] = {}
    for col, state, cover in rows:
        acc.setdefault(col, {})[state] = int(cover)
    for col, covers in acc.items():
        cell = classify_stw(covers, data.grid.w)
        if cell is not None:
            data.stw[col] = cell
    return data
