"""How long the replay screen takes to open: for ``ftreplay bench``.

``measure_open(db, run_id)`` starts the app headless (``App.run_test``) on the run and returns
the seconds from app start until the first full screen: thread lanes drawn from their
data, the event list showing real rows at the cursor, and the state panels filled.
"""

from __future__ import annotations

import asyncio
import time

from .app import make_app
from .screens.replay import ReplayScreen

SIZE = (200, 50)


async def _measure(db: str, run_id: str, timeout: float) -> float:
    t0 = time.perf_counter()
    app = make_app(run_id, db)
    async with app.run_test(headless=True, size=SIZE) as pilot:
        deadline = t0 + timeout
        while True:
            screen = app.screen
            if isinstance(screen, ReplayScreen) and screen.first_full_screen is not None:
                return screen.first_full_screen - t0
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the replay screen of {run_id} was not complete after {timeout:.0f} s")
            await pilot.pause(0.005)


def measure_open(db: str, run_id: str, timeout: float = 60.0) -> float:
    """Seconds from app start to the first full replay screen of ``run_id`` in ``db``.

    Runs its own event loop (call it from synchronous code)."""
    return asyncio.run(_measure(db, run_id, timeout))
