"""A series' values as one integer, 64 bits per period, so that a total is checked in one step.

Why: the totals of a group (``SEX_T = SEX_M + SEX_F + SEX_O`` in every period) were checked with
``map``/``max`` over float columns: fast loops, but still some 50 ns per cell, and the largest
cost of validation left. When every value of a group is a plain number with the same decimals,
each is an integer in units of its last decimal, and a series' integers can be laid side by side
in one Python integer, period ``i`` in bits ``64 i`` to ``64 i + 63`` (its *lanes*). Then

    total + T * ONES - (part_1 + part_2 + …)

is one integer whose lane ``i`` is ``d_i + T``, where ``d_i`` is period ``i``'s difference
between the total and the sum of its parts — exactly, in integers: a few big-integer operations
for all periods at once instead of a float operation per cell. Every ``d_i`` is within
``[-T, T]`` exactly when no lane went below zero (a borrow would show as a lane near 2**64)
nor above ``2 T``. With ``T`` the tolerance in units (half a unit per value involved, rounded
down: ``d_i`` is an integer) this is the rule of ``ilms_totals._adds_up`` itself, exact, so no
float margin and no close call.

Bounds: a lane holds a value below 2**56 (a value of 16 or more digits is left to the float
path), so a sum of up to 255 parts cannot spill into the next lane.
"""

from __future__ import annotations

from array import array
from itertools import repeat
from operator import truediv

__all__ = ["BITS", "below", "hold", "pack", "unpack", "written"]

BITS = 64
_WIDTH = BITS // 8
#: what a lane may hold; the top byte of each lane stays zero
_LIMIT_BYTE = _WIDTH - 1
#: borrows show as lanes at or above this (values are far below it)
_BORROWED = 1 << (BITS - 1)
_MAX_PARTS = 255
_ONES: dict[int, int] = {}


def pack(integers: list[int]) -> int | None:
    """The integers (non-negative, each below 2**56) in lanes; None if one is not."""
    packed = array("q")
    try:
        packed.fromlist(integers)  # (a fifth faster than ``array("q", integers)``)
    except OverflowError:
        return None
    raw = packed.tobytes()
    if raw[_LIMIT_BYTE::_WIDTH].count(0) != len(integers):
        return None  # 2**56 or more, or negative (two's complement sets the top byte)
    return int.from_bytes(raw, "little")


def _ones(size: int) -> int:
    """1 in each of ``size`` lanes."""
    found = _ONES.get(size)
    if found is None:
        found = _ONES[size] = int.from_bytes(array("q", [1] * size).tobytes(), "little")
    return found


def _lanes(value: int, size: int) -> array[int] | None:
    """The ``size`` lanes of a non-negative integer, None if it needs more."""
    if value < 0:
        return None
    try:
        raw = value.to_bytes(size * _WIDTH, "little")
    except OverflowError:
        return None
    lanes = array("Q")
    lanes.frombytes(raw)
    return lanes


def hold(total: int, parts: list[int], tolerance: int, size: int) -> bool:
    """Whether in each of ``size`` periods ``|total - sum(parts)| <= tolerance`` (all in units
    of the last decimal, packed by :func:`pack`); False also when there are too many parts
    for the lanes to tell."""
    if len(parts) > _MAX_PARTS:
        return False
    shifted = tolerance * _ones(size)
    found = total + shifted - sum(parts)
    if found == shifted:  # every difference is zero: data summed by the producer
        return True
    lanes = _lanes(found, size)
    return lanes is not None and max(lanes) <= 2 * tolerance


def below(part: int, total: int, size: int) -> bool:
    """Whether in each of ``size`` periods the part is less than the total."""
    lanes = _lanes(total - part - _ones(size), size)
    return lanes is not None and max(lanes) < _BORROWED


def _integers(lanes: int, size: int) -> array[int]:
    integers = array("q")
    integers.frombytes(lanes.to_bytes(size * _WIDTH, "little"))
    return integers


def unpack(lanes: int, size: int, scale: int) -> list[float]:
    """The values of :func:`pack` ed integers divided by ``scale`` (a power of ten): the same
    doubles as ``float`` of their decimal texts (a quotient of integers is correctly rounded)."""
    return list(map(truediv, _integers(lanes, size), repeat(scale)))


def written(lanes: int, size: int, scale: int) -> list[str]:
    """The :func:`pack` ed integers as decimal texts with ``scale`` (a power of ten) telling
    the decimals: ``6146`` over 10 is ``614.6``. The texts they were read from, if those had
    no leading zero (``07.5`` comes back as ``7.5``)."""
    decimals = len(str(scale)) - 1
    if not decimals:
        return list(map(str, _integers(lanes, size)))
    pairs = map(divmod, _integers(lanes, size), repeat(scale))
    return [f"{whole}.{part:0{decimals}d}" for whole, part in pairs]
