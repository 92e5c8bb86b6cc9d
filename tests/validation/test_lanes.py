"""Totals checked in lanes (``exchange.validation.lanes``) give the verdict of the exact rule
(``|total - sum(parts)| <= half a unit per value``, in Decimals) in every period, and the
migrant comparison that of comparing each period."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exchange.validation.ilms_totals import _adds_up
from exchange.validation.lanes import below, hold, pack
from exchange.validation.run_values import plain_values

#: values as integers in tenths: small ones, and near the largest a lane holds
_VALUE = st.one_of(st.integers(0, 2_000), st.integers(2**55 - 1_000, 2**56 - 1))


def _cell(tenths: int) -> tuple[float, float, str, None]:
    text = f"{tenths // 10}.{tenths % 10}"
    return float(text), 0.05, text, None


@st.composite
def _groups(draw: st.DrawFn) -> tuple[list[int], list[list[int]]]:
    """A total and its parts over some periods: the total is the parts' sum, moved by a few
    units in some periods (within rounding or not)."""
    size = draw(st.integers(1, 12))
    count = draw(st.integers(1, 6))
    parts = [draw(st.lists(st.integers(0, 5_000), min_size=size, max_size=size))]
    parts += [[draw(_VALUE) // count for _ in range(size)] for _ in range(count - 1)]
    moves = draw(st.lists(st.integers(-5, 5), min_size=size, max_size=size))
    sums = map(sum, zip(*parts, strict=True))
    total = [max(0, column + move) for column, move in zip(sums, moves, strict=True)]
    return total, parts


@given(_groups())
def test_hold_is_the_exact_rule_in_every_period(group: tuple[list[int], list[list[int]]]) -> None:
    total, parts = group
    members = [total, *parts]
    exact = all(_adds_up([_cell(member[i]) for member in members]) for i in range(len(total)))
    packed = [pack(m) for m in members]
    assert None not in packed
    tolerance = len(members) // 2
    assert hold(packed[0], packed[1:], tolerance, len(total)) is exact  # type: ignore[arg-type]


@given(st.lists(st.tuples(_VALUE, _VALUE), min_size=1, max_size=12))
def test_below_is_every_period_below(pairs: list[tuple[int, int]]) -> None:
    part, total = (list(column) for column in zip(*pairs, strict=True))
    expected = all(p < t for p, t in pairs)
    assert below(pack(part), pack(total), len(pairs)) is expected  # type: ignore[arg-type]


def test_values_a_lane_cannot_hold_are_not_packed() -> None:
    assert pack([1, 2**56]) is None
    assert pack([1, -1]) is None
    assert pack([1, 2**70]) is None
    assert pack([2**56 - 1, 0]) == 2**56 - 1


def test_a_total_beyond_rounding_is_caught_in_the_period_it_is() -> None:
    # three values of one decimal: 0.15 of tolerance, so 1 unit (0.1) passes and 2 do not
    _, _, male, _ = plain_values("5.0|5.0|5.0", 1)
    _, _, female, _ = plain_values("5.1|5.1|5.1", 1)
    _, _, total, _ = plain_values("10.1|10.2|10.0", 1)
    assert hold(total, [male, female], 1, 3) is True  # type: ignore[arg-type]
    _, _, total, _ = plain_values("10.1|10.3|10.1", 1)
    assert hold(total, [male, female], 1, 3) is False  # type: ignore[arg-type]
    _, _, total, _ = plain_values("10.1|10.1|9.9", 1)
    assert hold(total, [male, female], 1, 3) is False  # type: ignore[arg-type]
