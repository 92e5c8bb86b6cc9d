"""A run's values read in bulk: one pattern over them all, then integers and lanes.

Why a module of its own: this is the batch path's per-value work (the rest of
:mod:`~exchange.validation.batch` is per run). A run's values, joined by "|", are checked by one
regular expression — plain numbers with the decimals asked for — and read as integers in units
of their last decimal (:func:`plain_values`), packed in lanes for the totals
(:mod:`~exchange.validation.lanes`). Anything else (a sign, an exponent, more decimals than
allowed, a rate of 100 or more) is "not sure": the exact path decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import repeat
from json import JSONDecoder
from json.scanner import make_scanner
from operator import itemgetter, truediv
from typing import Any, cast

from exchange.validation.ilms_totals import HALF_UNITS
from exchange.validation.lanes import pack

__all__ = ["RunValues", "Values", "plain_values"]

_AFTER_DOT = itemgetter(2)
#: a run's values (see :meth:`RunValues.read`): the values and their scale, their lanes, the
#: half units, the texts joined by "|" (None when the lanes give them back)
Values = tuple[Sequence[float], int, int | None, float | list[float | None], str | None]

#: JSON's scanner itself (C): ``json.loads`` adds two Python calls and a whitespace match, a
#: fifth of the time for a run's values
_scan_json: Callable[[str, int], tuple[Any, int]] = make_scanner(cast("Any", JSONDecoder()))


def plain_values(text: str, decimals: int) -> tuple[Sequence[float], int, int | None, bool]:
    """The values of ``text`` — plain numbers (digits, a dot) with exactly ``decimals``
    decimals, joined by "|" — as integers in units of the last decimal, with their scale
    (10 to the power ``decimals``) and packed in lanes (:mod:`~exchange.validation.lanes`);
    when one does not fit a lane (16 digits or more), as floats with a scale of 1 and no lanes.
    The last item says whether ``lanes.written`` gives ``text`` back (no value has a leading
    zero), so that it need not be kept.
    Either way, each value divided by the scale is the same double as ``float`` of its text
    (a quotient of integers is correctly rounded, as ``float`` of a decimal text is).

    Why integers: ``float`` is the costliest step of the batch path (~0.18 µs a value), and
    ``int`` reads the digits without the dot in less than half that. The totals are then
    checked in lanes, exactly, and the other checks divide the few values they compare.
    ``json.loads`` reads a list of integers a fifth faster than ``int`` one by one, but JSON has
    no leading zeros (``0.5`` is ``05`` without its dot): those go the ``int`` way.
    """
    digits = text.replace(".", "") if decimals else text
    zeros = "|0" in digits or (digits[0] == "0" and digits[1:2] not in ("", "|"))
    try:
        if zeros:
            integers = list(map(int, digits.split("|")))
        else:
            integers = _scan_json(f"[{digits.replace('|', ',')}]", 0)[0]
    except (ValueError, OverflowError):  # more digits than ``int`` reads
        return list(map(float, text.split("|"))), 1, None, False
    scale = 10**decimals
    lanes = pack(integers)
    if lanes is None:
        return list(map(truediv, integers, repeat(scale))), 1, None, False
    return integers, scale, lanes, not zeros


def _joined(one: str) -> re.Pattern[str]:
    """``one`` value, then more after "|". Possessive (``*+``, ``++``): a value's digits can
    only be followed by a dot, a "|" or the end, so giving some back never helps a full match,
    and not keeping the points to go back to halves the time of the match."""
    return re.compile(rf"{one}(?:\|{one})*+")


class RunValues:
    """Reads the values of runs; remembers the patterns it compiled (per decimals, per limit)."""

    def __init__(self, *, rate: bool) -> None:
        self.rate = rate  # a rate table: values of 100 or more go the exact way
        #: values joined by "|": exactly d decimals; at most ``limit`` (None: any)
        self._exactly: dict[int, re.Pattern[str]] = {}
        self._at_most: dict[int | None, re.Pattern[str]] = {}

    def read(self, present: Sequence[str], limit: int | None) -> Values | None:
        """The values and their scale (see :func:`plain_values`), in lanes when they all have
        as many decimals (else None), the half unit of their last decimal (one if they all
        have as many decimals, else one per value) and the values joined by "|", if every one
        is a plain number with at most ``limit`` decimals (and, in a rate table, below 100)."""
        if not present:
            return [], 1, None, 0.0, None
        text = "|".join(present)
        first = present[0]
        dot = first.find(".")
        decimals = len(first) - dot - 1 if dot >= 0 else 0
        halves: float | list[float | None]
        if (limit is None or decimals <= limit) and self.exact(decimals).fullmatch(text):
            if decimals >= len(HALF_UNITS):
                return None
            halves = HALF_UNITS[decimals]
            numbers, scale, lanes, written = plain_values(text, decimals)
            kept = None if written else text  # (the lanes give the texts back)
        elif self.upto(limit).fullmatch(text):
            counts = map(len, map(_AFTER_DOT, map(str.partition, present, repeat("."))))
            try:
                halves = list(map(HALF_UNITS.__getitem__, counts))
            except IndexError:
                return None
            numbers, scale, lanes, kept = list(map(float, present)), 1, None, text
        else:
            return None
        if self.rate and max(numbers) / scale >= 100:
            return None
        return numbers, scale, lanes, halves, kept

    def exact(self, decimals: int) -> re.Pattern[str]:
        found = self._exactly.get(decimals)
        if found is None:
            one = rf"[0-9]++\.[0-9]{{{decimals}}}" if decimals else "[0-9]++"
            found = self._exactly[decimals] = _joined(one)
        return found

    def upto(self, limit: int | None) -> re.Pattern[str]:
        found = self._at_most.get(limit)
        if found is None:
            after = "[0-9]*+" if limit is None else f"[0-9]{{0,{limit}}}+"
            found = self._at_most[limit] = _joined(rf"[0-9]++(?:\.{after})?+")
        return found
