"""The event list: virtual rows, the cursor highlighted and followed, bounded caches."""

from __future__ import annotations

import re

from tui.widgets import event_list
from tui.widgets.event_list import EventList


def test_the_list_renders_only_what_it_shows_and_follows_the_cursor(drive, runs):
    last = runs["counter"]["events"] - 1

    async def check(ui):
        lst = ui.screen.query_one(EventList)
        rows = lst.visible_text()
        assert len(rows) == lst.size.height < last
        assert re.match(r"▶ *0 ", rows[0])  # the cursor's row is highlighted
        assert len(lst._blocks) <= 2  # only the blocks around the view were fetched
        await ui.press("end")
        rows = lst.visible_text()
        assert any(re.match(rf"▶ *{last:,} ", r) for r in rows)
        page = lst.size.height - 1  # a page is the list's height when the key is pressed
        await ui.press("pageup")
        assert ui.status().startswith(f"seq {last - page}/")
        assert any(re.match(rf"▶ *{last - page:,} ", r) for r in lst.visible_text())

    drive("counter", check)


def test_the_detail_shows_fields_with_names_and_hex_addresses(drive, sql):
    (seq, mutex), = sql("SELECT seq, mutex FROM lock_acquire WHERE run_id = 'counter' ORDER BY seq LIMIT 1 OFFSET 5")

    async def check(ui):
        await ui.press("g")
        await ui.answer(str(seq))
        text = ui.text()
        assert f"seq {seq}" in text and "lock.acquire" in text
        assert f"@0x{mutex:x}" in text  # the address in hex, after its label
        assert "acquired PyMutex" in text  # what it means

    drive("counter", check)


def test_clicking_a_row_moves_the_cursor(drive):
    async def check(ui):
        lst = ui.screen.query_one(EventList)
        await ui.pilot.click(EventList, offset=(5, 3))
        await ui.settle()
        assert ui.status().startswith(f"seq {int(lst.scroll_y) + 3}/")

    drive("counter", check)


def test_the_block_cache_is_bounded():
    assert event_list.CACHE_BLOCKS * event_list.BLOCK <= 1 << 16
