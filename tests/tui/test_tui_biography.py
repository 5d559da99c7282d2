"""tui.biography: an object's event seqs, stepping through them, where the cursor is."""

from __future__ import annotations

from array import array

import pytest

from tui.biography import Biography, is_block, parse_object_ref


def test_parse_object_ref():
    assert parse_object_ref("5") == 5 and parse_object_ref(" #12 ") == 12 and parse_object_ref("1,024") == 1024
    assert parse_object_ref("owned-0") == "owned-0"
    assert is_block(parse_object_ref("0x7f0000101870")) and not is_block("owned-0") and not is_block(5)
    with pytest.raises(ValueError):
        parse_object_ref("  ")


def test_steps_and_position():
    bio = Biography(5, "dict", "owned-0", 10, array("q", [10, 14, 30, 31]))
    assert bio.title == "obj #5 owned-0" and len(bio) == 4
    assert Biography(7, "list").title == "obj #7 list" and Biography(7).title == "obj #7"
    assert bio.step(0, True) == 10 and bio.step(10, True) == 14 and bio.step(20, True) == 30
    assert bio.step(31, True) is None and bio.step(99, False) == 31
    assert bio.step(30, False) == 14 and bio.step(10, False) is None
    assert bio.where(5) == "before 1/4" and bio.where(10) == "1/4" and bio.where(20) == "after 2/4"
    assert bio.where(31) == "4/4" and bio.where(50) == "after 4/4"
    assert bio.position(14) == (2, True) and bio.position(15) == (2, False)
