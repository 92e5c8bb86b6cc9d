"""The batch path reads plain numbers as integers in units of their last decimal: divided by
their scale, the same doubles as ``float`` of their text, which the exact path uses (so the two
paths judge the same numbers), and the same integers whichever way they were read (JSON, or
``int`` for leading zeros); texts without leading zeros come back from the lanes."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from exchange.validation.lanes import pack, unpack, written
from exchange.validation.run_values import plain_values

#: plain numbers: digits, then (with decimals) a dot and exactly that many digits
_DIGITS = st.text("0123456789", min_size=1, max_size=25)


@given(st.integers(0, 12), st.lists(st.tuples(_DIGITS, _DIGITS), min_size=1, max_size=20))
def test_same_doubles_as_float(decimals: int, parts: list[tuple[str, str]]) -> None:
    values = [
        f"{whole}.{(tail * decimals)[:decimals]}" if decimals else whole for whole, tail in parts
    ]
    found, scale, lanes, rebuilt = plain_values("|".join(values), decimals)
    assert [v / scale for v in found] == [float(v) for v in values]
    integers = [int(v.replace(".", "")) for v in values]
    assert lanes == pack(integers)
    if lanes is not None:  # integers in units of the last decimal, and back
        assert (list(found), scale) == (integers, 10**decimals)
        assert unpack(lanes, len(values), scale) == [float(v) for v in values]
    if rebuilt:  # the texts need not be kept: the lanes give them back as they were
        assert lanes is not None
        assert written(lanes, len(values), scale) == values
    else:  # a value starting with 0, whose zeros the lanes might lose (or no lanes)
        assert lanes is None or any(v.startswith("0") for v in values)


def test_too_long_for_int_falls_back_to_float() -> None:
    long = "9" * (sys.get_int_max_str_digits() + 1)
    assert plain_values(f"{long}|1", 0) == ([float(long), 1.0], 1, None, False)
    assert plain_values(f"{long}.5|1.5", 1) == ([float(f"{long}.5"), 1.5], 1, None, False)


def test_too_long_for_a_lane_are_floats() -> None:
    found = plain_values("12345678901234567.5|1.5", 1)
    assert found == ([12345678901234567.5, 1.5], 1, None, False)
