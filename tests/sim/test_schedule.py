"""The schedule's run-length text form: ``1*40 2 3*7``."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftreplay.errors import UsageError
from ftreplay.sim.schedule import decode, encode

decisions = st.lists(st.integers(min_value=0, max_value=64), max_size=300)
runs = st.lists(st.tuples(st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=50)), max_size=40)


@given(decisions)
def test_round_trip(ds):
    text = encode(ds)
    assert decode(text) == ds
    assert encode(decode(text)) == text


@given(runs)
def test_runs_become_star_tokens(rs):
    ds = [tid for tid, n in rs for _ in range(n)]
    text = encode(ds)
    for tok in text.split():
        tid, star, count = tok.partition("*")
        assert tid.isdigit()
        if star:
            assert count.isdigit() and int(count) >= 2
    # Adjacent tokens never repeat a thread id (runs are maximal).
    tids = [tok.partition("*")[0] for tok in text.split()]
    assert all(a != b for a, b in zip(tids, tids[1:]))
    assert decode(text) == ds


def test_examples():
    assert encode([]) == ""
    assert decode("") == []
    assert encode([1] * 40 + [2] + [3] * 7) == "1*40 2 3*7"
    assert decode("1*40 2 3*7") == [1] * 40 + [2] + [3] * 7
    assert decode("  2\t1*2\n") == [2, 1, 1]  # any whitespace separates tokens
    assert decode("1 1 1") == [1, 1, 1]  # non-canonical but valid


@pytest.mark.parametrize("bad", ["x", "1*", "*2", "1*0", "-1", "1*-2", "1**2", "1*2*3", "a*3", "2*b", "1.5", "*"])
def test_bad_tokens_raise_usage_error(bad):
    with pytest.raises(UsageError, match="bad schedule token"):
        decode(f"1 {bad} 2")


@pytest.mark.parametrize("lenient", ["1_0", "+2", "3*1_0", "3*+2", "\u0661", "2*\u0661"])
def test_tokens_are_ascii_digits_only(lenient):
    """int() alone would take '_' separators, a sign and non-ASCII digits."""
    with pytest.raises(UsageError, match="bad schedule token"):
        decode(f"1 {lenient}")


@pytest.mark.parametrize("max_tid", [2, 8, 255, 300])
def test_long_schedules_round_trip(max_tid, test_seed):
    """Long schedules may use another text form; they must round-trip all the same."""
    rnd = random.Random(test_seed + max_tid)
    ds = []
    while len(ds) < 25_000:
        ds += [rnd.randint(1, max_tid)] * rnd.choice((1, 1, 2, 40))
    text = encode(ds)
    assert decode(text) == ds
    assert decode(f"  {text}\n") == ds
