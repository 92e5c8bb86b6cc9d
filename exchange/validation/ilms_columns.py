"""The cells of one open total group, kept as columns, and the column-wise check of its totals.

Why columns: a group (e.g. ``SEX_T``, ``SEX_M``, ``SEX_F``… of one age and place of birth) gets
its cells series by series, and in data ordered by series key each series brings every period
at once. Kept as one :class:`Run` per series (periods, values, half units, texts), shared by the
groups the series is in, a whole series is added in one step, and when every series of the
group brought the same periods, each total is checked for all periods at once with
``map``/``zip``/``sum`` over the columns — machine loops instead of a Python loop per (group,
period), which was a third of the validation time.

The column-wise check only ever says "every total of this group clearly holds": when any period
is wrong or too close to call with floats, or the columns are not the regular series x periods
block, the caller checks the group period by period (:meth:`Columns.by_period`), exactly as
before, so the issues and their order do not depend on which path ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import add, attrgetter, lt, sub
from typing import cast

from exchange.validation.lanes import below, hold, unpack, written

__all__ = ["SEPARATOR", "Cell", "Columns", "OpenRun", "Periods", "Plan", "Run", "Single"]

#: a cell: (its value, half a unit of its last decimal or None if not a plain number, the
#: value as written, where the observation is in the file)
Cell = tuple[float, float | None, str, str | None]
#: a group's cells by period: period → code → cell
Periods = dict[str | None, dict[str, Cell]]
#: a cell that came alone (data not ordered by series): its period and the cell
Single = tuple[str | None, Cell]
#: per tuple of codes: (total, parts) to add up, (migrants, total) pairs, all categories there
Plan = tuple[
    tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...], tuple[tuple[str, str], ...], bool
]


class Run:
    """Cells of one series that came together, shared by every group the series is in.

    Compact on purpose: groups stay open while the stream moves through a whole country, and
    holding every observation (its key, its strings) would spread the reader's fresh objects
    over memory. A run holds the periods (one list shared by the series with the same
    periods), the values (in lanes of one integer, or as an ``array`` of doubles), one half
    unit (or one per cell), and the texts a report may need, joined into one string.
    """

    __slots__ = (
        "distinct",
        "floats",
        "halves",
        "lanes",
        "locations",
        "negative",
        "periods",
        "scale",
        "texts",
    )

    def __init__(
        self,
        periods: list[str | None],
        numbers: Sequence[float] | None,
        halves: float | list[float | None] | None,
        texts: str | list[str] | None,
        locations: str | Sequence[str | None] | None,
        *,
        negative: bool = False,
        lanes: int | None = None,
        scale: int = 1,
        distinct: bool = False,
    ) -> None:
        self.periods = periods
        self.distinct = distinct  # whether the periods are known to be distinct
        #: the values as floats; None until asked for when the lanes hold them
        self.floats = numbers
        #: the values in units of their last decimal, one per lane (``lanes.pack``), when they
        #: all have as many decimals; ``scale`` is 10 to the power of those decimals
        self.lanes, self.scale = lanes, scale
        self.negative = negative  # whether a value is below zero (bounds float errors)
        #: one half unit for every cell (None: not a plain number), or one per cell
        self.halves = halves
        #: the values as written, joined by "|" when more than one (plain numbers have none);
        #: None when the lanes give them back (``lanes.written``): less to hold while open
        self.texts = texts
        #: where each cell is: the one location, or joined by SEPARATOR, or one per cell
        self.locations = locations

    def cells(self) -> Iterator[tuple[str | None, Cell]]:
        """(period, cell) for each cell, in order."""
        n = len(self.periods)
        texts: Sequence[str]
        if self.texts is None:
            texts = written(cast(int, self.lanes), n, self.scale)
        else:
            texts = self.texts if isinstance(self.texts, list) else self.texts.split("|")
        where = self.locations
        wheres: Sequence[str | None]
        if isinstance(where, str):
            wheres = where.split(SEPARATOR) if n > 1 else [where]
        elif where is None:
            wheres = [None] * n
        else:
            wheres = where
        halves = self.halves if isinstance(self.halves, list) else [self.halves] * n
        for period, *cell in zip(self.periods, self.numbers, halves, texts, wheres, strict=True):
            yield period, tuple(cell)  # type: ignore[misc]  # (a Cell: zip loses the types)

    @property
    def numbers(self) -> Sequence[float]:
        """The values as floats (from the lanes, the first time, when only they hold them:
        the checks in lanes mostly spare it)."""
        if self.floats is None:
            self.floats = unpack(cast(int, self.lanes), len(self.periods), self.scale)
        return self.floats


_PERIODS, _HALVES, _NEGATIVE = attrgetter("periods"), attrgetter("halves"), attrgetter("negative")
_LANES = attrgetter("lanes")
#: up to this many parts, a total's differences are taken by subtracting each part in turn
#: (measured: a third faster for 3 parts; for 14, adding the parts of each period first wins)
FEW_PARTS = 4

#: joins the locations of a run (no reader writes it in a location)
SEPARATOR = "\x1f"


class OpenRun(Run):
    """A run the exact path fills cell by cell (one per series and stretch of plain values),
    so that a group has one run per series as in the batch path, and is checked column-wise."""

    __slots__ = ("_halves", "_locations", "_numbers", "_texts")

    def __init__(self) -> None:
        self._numbers: list[float] = []
        self._halves: list[float | None] = []
        self._texts: list[str] = []
        self._locations: list[str | None] = []
        super().__init__([], self._numbers, self._halves, self._texts, self._locations)

    def append(self, period: str | None, cell: Cell) -> None:
        number, half, text, where = cell
        self.periods.append(period)
        self._numbers.append(number)
        self._halves.append(half)
        self._texts.append(text)
        self._locations.append(where)
        self.negative = self.negative or number < 0


class Columns:
    """The cells of one group: runs of one code each (or single cells), in arrival order."""

    __slots__ = ("runs",)

    def __init__(self) -> None:
        self.runs: list[tuple[str, Run | Single]] = []

    def cells(self) -> int:
        """How many (group, period) cells this group holds."""
        periods: set[str | None] = set()
        for _, run in self.runs:
            if isinstance(run, Run):
                periods.update(run.periods)
            else:
                periods.add(run[0])
        return len(periods)

    def by_period(self) -> Periods:
        """period → code → cell, in arrival order (a later cell of the same code replaces one)."""
        found: Periods = {}
        for code, run in self.runs:
            for period, cell in run.cells() if isinstance(run, Run) else (run,):
                cells = found.get(period)
                if cells is None:
                    cells = found[period] = {}
                cells[code] = cell
        return found

    def blocks(self) -> tuple[tuple[str, ...], int] | None:
        """``(codes, periods per code)`` when the cells are one run per code, each over the
        same distinct periods in the same order; else None. (Not for an empty group.)"""
        heads, runs = cast(
            tuple[tuple[str, ...], tuple[Run | Single, ...]], zip(*self.runs, strict=True)
        )
        if len(set(heads)) != len(heads) or not all(map(isinstance, runs, repeat(Run))):
            return None
        head = cast(Run, runs[0])
        first = head.periods
        # (series of a table share one list of periods: mostly an identity check)
        periods = list(map(_PERIODS, runs))
        if periods.count(first) != len(periods):
            return None
        if not head.distinct and len(set(first)) != len(first):
            return None
        return heads, len(first)

    def clearly_clean(self, plan_of: Callable[[tuple[str, ...]], Plan]) -> bool:
        """Whether every total and migrant pair of the group holds in every period, by a
        margin floats cannot misjudge (False: check period by period)."""
        if not self.runs:
            return True
        if not isinstance(self.runs[0][1], Run):
            return False  # single cells: data not ordered by series, checked period by period
        shape = self.blocks()
        if shape is None:
            return False
        heads, size = shape
        if len(heads) < 2:
            return True  # one code: nothing to add up (as a period with one cell)
        runs = cast(dict[str, Run], dict(self.runs))  # (blocks: runs only)
        half = runs[heads[0]].halves
        members = runs.values()
        same = isinstance(half, float) and list(map(_HALVES, members)).count(half) == len(runs)
        same = same and not any(map(_NEGATIVE, members))
        totals, pairs, _ = plan_of(heads)
        if same and None not in map(_LANES, members):
            return _clean_in_lanes(runs, totals, pairs, size)
        return _clean_in_floats(runs, totals, pairs, size, half if same else None)


def _clean_in_floats(
    runs: dict[str, Run],
    totals: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...],
    pairs: tuple[tuple[str, str], ...],
    size: int,
    half: float | list[float | None] | None,
) -> bool:
    """:meth:`Columns.clearly_clean` over the values as floats; ``half`` is the one half unit
    of every value when they all have as many decimals and none is negative, else None."""
    for total, names, _ in totals:
        parts = [runs[c].numbers for c in names]
        if isinstance(half, float):
            held = _totals_hold_uniform(runs[total].numbers, parts, half * (len(names) + 1))
        else:
            held = _totals_hold(runs[total], [runs[c] for c in names], size)
        if not held:
            return False
    # a part equal to or above its total: the exact comparison decides
    return all(all(map(lt, runs[part].numbers, runs[total].numbers)) for part, total in pairs)


def _clean_in_lanes(
    runs: dict[str, Run],
    totals: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...],
    pairs: tuple[tuple[str, str], ...],
    size: int,
) -> bool:
    """:meth:`Columns.clearly_clean` when every run's values are in lanes with the same
    decimals: exact integer checks of every period at once (see :mod:`lanes`). Each value
    brings half a unit of tolerance; the differences are whole units, so the tolerance is
    half the number of values involved, rounded down."""
    for total, names, _ in totals:
        parts = [cast(int, runs[c].lanes) for c in names]
        if not hold(cast(int, runs[total].lanes), parts, (len(names) + 1) // 2, size):
            return False
    return all(
        below(cast(int, runs[part].lanes), cast(int, runs[total].lanes), size)
        for part, total in pairs
    )


def _totals_hold(total: Run, parts: list[Run], size: int) -> bool:
    """Per period, |total - sum(parts)| + margin < the summed half units (see
    ``ilms_totals._float_verdict``), with one margin bounding every period's."""
    halves = [r.halves if isinstance(r.halves, list) else [r.halves] * size for r in parts]
    own = total.halves if isinstance(total.halves, list) else [total.halves] * size
    try:
        sums = map(sum, zip(*(p.numbers for p in parts), strict=True))
        tolerances = map(add, own, map(sum, zip(*halves, strict=True)))
        worst = max(map(sub, map(abs, map(sub, total.numbers, sums)), tolerances))
    except TypeError:  # a half unit is None: a number form left to Decimals
        return False
    bound = max(map(abs, total.numbers)) + sum(max(map(abs, p.numbers)) for p in parts)
    return bool(worst + 1e-9 * bound + 1e-12 < 0)


def _totals_hold_uniform(
    total: Sequence[float], parts: list[Sequence[float]], tolerance: float
) -> bool:
    """:func:`_totals_hold` when every value has the same number of decimals and none is
    negative (the usual): the tolerance is the same in every period, and the parts of a period
    add up to at most its total plus the difference, which bounds the float error (of adding
    the parts, or of subtracting them one by one: a few roundings of numbers below that)."""
    if len(parts) > FEW_PARTS:
        worst = max(map(abs, map(sub, total, map(sum, zip(*parts, strict=True)))))
    else:  # subtracted one part at a time: no tuple and no ``sum`` call per period
        left: Iterable[float] = total
        for part in parts:
            left = map(sub, left, part)
        differences = list(left)
        highest, lowest = max(differences), min(differences)
        worst = highest if highest > -lowest else -lowest
    size = 2 * max(total) + worst
    return bool(worst + 1e-9 * size + 1e-12 < tolerance)
