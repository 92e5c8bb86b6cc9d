"""The per-observation hot path: every check, fused into one loop, with memos of what passed.

Most observations of a submission share their series key with many others, their period with
whole tables, and (in readers that share them, as the SDMX-CSV reader does) their attribute
mapping with thousands of rows. So each check's answer depends on something that repeats, and a
clean answer is remembered instead of recomputed:

- key checks (codes of every dimension, the reporter) — per series key, in a dict of series;
  observations of one series come together, so the series is looked up only when the key
  changes;
- period checks (format, FREQ, not in the future, a year) — per (FREQ, period);
- attribute checks (codes, lengths, mandatory, units) — for the same mapping as the previous
  observation (readers share one mapping per attribute combination), else per mapping, by
  identity (the memo holds the mapping, so an identity is never reused while it is remembered);
- attribute consistency — per (related key, period) slot, by identity of the mapping;
- duplicates — per series, one bit per year (other periods: a hash in a set);
- the value — parsed once with ``float``; only a negative value, a rate at or above 100, more
  decimals than allowed, or anything ``float`` would read differently from :class:`Decimal`
  goes to the exact check.

A check whose memo does not say "clean" runs as it is (the classes in ``structural`` and
``ilms_rules``), in the original order, so issues, their order and their locations are exactly
those of running every check on every observation; a :class:`Place` is built only then. Only
clean answers are memoised: a wrong code is reported for every observation that has it. Group
checks (totals) and year-on-year changes report as the stream moves on (``ilms_totals``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.validation.catalogue import Emitter, Place
from exchange.validation.ilms_cross import CrossTableIndex
from exchange.validation.ilms_rules import ChangeRule, ObservationRules, to_decimal
from exchange.validation.ilms_totals import HALF_UNITS, GroupRules, Periods, half_of
from exchange.validation.structural import (
    AttributeCheck,
    Check,
    ConsistencyCheck,
    DimensionCheck,
    DuplicateCheck,
    PeriodCheck,
    ValueCheck,
)

_NOT_A_YEAR = -1
#: Attribute mappings remembered by identity (readers that build a mapping per observation
#: would otherwise keep every one alive).
MEMO_SIZE = 4096
#: Years with a bit of their own in a series' duplicate mask (other periods: hashes in a set).
FIRST_YEAR, YEAR_BITS = 1900, 256


#: a consistency group's slot: (key indexes, their values, whether the period is part of it)
_Slot = tuple[tuple[int, ...], tuple[str | None, ...], bool]
#: a clean period → (its year or -1, its bit in a duplicate mask or 0)
_Period = tuple[int, int]


class _Series:
    """What is known about one series key: which key checks passed, and handles into state."""

    __slots__ = (
        "consistent",
        "dims_ok",
        "last_value",
        "last_year",
        "mask",
        "periods",
        "reporter_ok",
        "slots",
        "timed",
    )

    def __init__(self, periods: dict[str, _Period], slots: tuple[tuple[int, int, str], ...]):
        self.dims_ok = False
        self.reporter_ok = False
        self.periods = periods  # periods clean with this series' FREQ → (year, mask bit)
        self.slots = slots  # the groups (totals) its observations take part in
        self.mask = 0  # a bit per year already seen (duplicates)
        self.last_year = _NOT_A_YEAR  # the year and value last seen (year-on-year change)
        self.last_value = 0.0
        #: per consistency group: the memo of attribute mappings known consistent
        self.consistent: tuple[tuple[bool, dict[str | None, Mapping[str, str]]], ...] = ()
        self.timed: tuple[dict[str | None, Mapping[str, str]], ...] = ()  # those with a period


def _plain_number(value: str) -> bool:
    """Digits, at most one dot, a sign: what ``float`` and ``Decimal`` read alike (no exponent,
    spaces, ``_``, ``nan`` or ``inf``, whose decimals or validity need the exact checks)."""
    body = value[1:] if value[0] in "+-" else value
    return body.replace(".", "", 1).isdecimal()


def _period_entry(period: str) -> _Period:
    year = int(period) if len(period) == 4 and period.isdigit() else None
    bit = 1 << (year - FIRST_YEAR) if year is not None and 0 <= year - FIRST_YEAR < YEAR_BITS else 0
    return (int(period[:4]) if period[:4].isdigit() else _NOT_A_YEAR), bit


class Pipeline:
    """Runs the checks of one validation over an observation stream (see the module docs)."""

    def __init__(
        self,
        schema: Schema,
        emit: Emitter,
        *,
        full_codes: Mapping[str, frozenset[str]] | None,
        rules: Sequence[str],
        today: dt.date | None,
        reporter: Check | None,
        cross: CrossTableIndex | None,
    ) -> None:
        self.schema = schema
        self.emit = emit
        structure, ilms = "structure" in rules, "ilms" in rules
        self.dims = DimensionCheck(schema, full_codes) if structure else None
        self.period = PeriodCheck(schema) if structure else None
        self.value = ValueCheck(schema) if structure else None
        self.attrs = AttributeCheck(schema, full_codes) if structure else None
        self.consistency = ConsistencyCheck(schema) if structure else None
        self.duplicates = DuplicateCheck() if structure else None
        self.rules = ObservationRules(schema, today) if ilms else None
        self.groups = GroupRules(schema) if ilms else None
        self.change = ChangeRule() if ilms else None
        self.reporter = reporter
        self.cross = cross
        dims = schema.dimension_ids
        self.freq_at = dims.index("FREQ") if "FREQ" in dims else None
        self.cross_at = dims.index("MEASURE") if "MEASURE" in dims else -1
        self.cross_dims = tuple(d for d in dims if d != "MEASURE")
        self.series: dict[tuple[str, ...], _Series] = {}
        self.periods_by_freq: dict[str | None, dict[str, _Period]] = {}
        self.attrs_ok: dict[int, Mapping[str, str]] = {}  # id → mapping, clean for attributes
        self.units_ok: dict[int, tuple[Mapping[str, str], int | None]] = {}  # … → decimals
        self.consistency_memo: dict[_Slot, dict[str | None, Mapping[str, str]]] = {}

    @property
    def checks(self) -> list[Check]:
        found = (
            self.dims,
            self.period,
            self.value,
            self.attrs,
            self.consistency,
            self.duplicates,
            self.rules,
            self.groups,
            self.change,
            self.reporter,
        )
        return [c for c in found if c is not None]

    def _new_series(self, key: tuple[str, ...]) -> _Series:
        freq = key[self.freq_at] if self.freq_at is not None and self.freq_at < len(key) else None
        periods = self.periods_by_freq.setdefault(freq, {})
        series = _Series(periods, self.groups.slots(key) if self.groups else ())
        if self.consistency is not None:
            handles = {}
            for _, indexes, with_time in self.consistency.targets:
                related = tuple(key[i] if i < len(key) else None for i in indexes)
                slot = (indexes, related, with_time)
                handles[slot] = (with_time, self.consistency_memo.setdefault(slot, {}))
            series.consistent = tuple(handles.values())
            series.timed = tuple(memo for timed, memo in series.consistent if timed)
        self.series[key] = series
        return series

    def _clean(self, check: Check, place: Place) -> bool:
        """Run ``check`` for real; whether it reported nothing."""
        before = self.emit.count
        check.check(place, self.emit)
        return self.emit.count == before

    def _change(self, series: _Series, obs: Observation, year: int, number: float) -> None:
        """Year-on-year change of one series (``year`` -1: not a year)."""
        if year == _NOT_A_YEAR or self.change is None:
            return
        if series.last_year == year - 1:
            self.change.compare(obs.key, year, series.last_value, number, self.emit)
        series.last_year, series.last_value = year, number

    def _odd_value(
        self, series: _Series, obs: Observation, handles: tuple[tuple[Periods, str], ...]
    ) -> None:
        """Groups and change for a value that is not a plain number (``1e3``, empty…)."""
        number = to_decimal(obs.value)
        if number is None:
            return
        if self.groups is not None:
            self.groups.add(obs, handles)
        period = obs.period
        if self.change is not None and period and period[:4].isdigit():
            self._change(series, obs, int(period[:4]), float(number))

    def run(self, observations: Iterable[Observation]) -> int:  # noqa: C901, PLR0912, PLR0915 - inlined on purpose (speed)
        """Check every observation; returns how many there were. Call :meth:`finish` after."""
        schema, emit = self.schema, self.emit
        series_of, new_series, clean = self.series.get, self._new_series, self._clean
        dims, period_check, value_check = self.dims, self.period, self.value
        attrs_check, consistency, duplicates = self.attrs, self.consistency, self.duplicates
        rules, groups, change, reporter = self.rules, self.groups, self.change, self.reporter
        attrs_ok, units_ok, cross = self.attrs_ok, self.units_ok, self.cross
        seen = duplicates.seen if duplicates is not None else set()
        rate = rules.rate if rules is not None else False
        factor, low = (change.factor, change.low) if change is not None else (0.0, 0.0)
        least = change.min_value if change is not None else 0.0
        count = opened = 0
        half = HALF_UNITS
        last_key: tuple[str, ...] | None = None
        series: _Series | None = None
        periods: dict[str, _Period] = {}
        handles: tuple[tuple[Periods, str], ...] = ()
        timed: tuple[dict[str | None, Mapping[str, str]], ...] = ()
        mask = last_year = 0
        last_value = 0.0
        #: the previous observation's mapping if every attribute check passed for it, and the
        #: decimals it allows; whether its series' consistency slots without a period passed
        same_attrs: Mapping[str, str] | None = None
        limit: int | None = None
        untimed_ok = False
        for obs in observations:
            count += 1
            key, period, value, attrs = obs[0], obs[1], obs[2], obs[3]
            if key != last_key or series is None:
                if series is not None:
                    series.mask, series.last_year, series.last_value = mask, last_year, last_value
                series = series_of(key) or new_series(key)
                if groups is not None:
                    groups.opened += opened
                    opened = 0
                    groups.moved(key, emit)
                    handles = groups.handles(series.slots)
                last_key, periods, timed = key, series.periods, series.timed
                mask, last_year, last_value = series.mask, series.last_year, series.last_value
                untimed_ok = False
            place: Place | None = None
            number: float | None = None
            if value and (value.replace(".", "", 1).isdecimal() or _plain_number(value)):
                number = float(value)
            entry = periods.get(period) if period is not None else None
            fresh = attrs is not same_attrs
            # -- structure (any DSD) ----------------------------------------------------------
            if dims is not None and not series.dims_ok:
                place = Place(schema, obs)
                series.dims_ok = clean(dims, place)
            period_ok = True
            if period_check is not None and entry is None:
                place = place or Place(schema, obs)
                period_ok = clean(period_check, place)
            if value_check is not None and number is None:
                value_check.check(place := place or Place(schema, obs), emit)
            attrs_clean = not fresh
            if fresh:
                attrs_clean = True
                if attrs_check is not None and attrs_ok.get(id(attrs)) is not attrs:
                    place = place or Place(schema, obs)
                    if clean(attrs_check, place):
                        if len(attrs_ok) >= MEMO_SIZE:
                            attrs_ok.clear()
                        attrs_ok[id(attrs)] = attrs
                    else:
                        attrs_clean = False
            if consistency is not None:
                slots_ok = True
                if fresh or not untimed_ok:
                    for with_time, memo in series.consistent:
                        if memo.get(period if with_time else None) is not attrs:
                            slots_ok = False
                            break
                else:
                    for memo in timed:
                        if memo.get(period) is not attrs:
                            slots_ok = False
                            break
                untimed_ok = True
                if not slots_ok:
                    place = place or Place(schema, obs)
                    if clean(consistency, place):
                        for timed_slot, memo in series.consistent:
                            memo[period if timed_slot else None] = attrs
                    else:
                        untimed_ok = False
            if duplicates is not None:
                if entry is not None:
                    bit = entry[1]
                else:
                    bit = _period_entry(period)[1] if period is not None else 0
                if bit:
                    if mask & bit:
                        duplicates.report(place := place or Place(schema, obs), emit)
                    else:
                        mask |= bit
                else:
                    digest = hash((key, period))
                    if digest in seen:
                        duplicates.report(place := place or Place(schema, obs), emit)
                    else:
                        seen.add(digest)
            # -- ILMS rules ---------------------------------------------------------------------
            year: int | None = None
            if rules is not None:
                if fresh:
                    known = units_ok.get(id(attrs))
                    if known is None or known[0] is not attrs:
                        place = place or Place(schema, obs)
                        if clean_check(rules.units_check, place, emit):
                            if len(units_ok) >= MEMO_SIZE:
                                units_ok.clear()
                            known = units_ok[id(attrs)] = (attrs, rules.decimals_limit(attrs))
                        else:
                            known = None
                            attrs_clean = False
                    limit = known[1] if known is not None else rules.decimals_limit(attrs)
                if entry is not None:
                    year = entry[0]
                else:
                    place = place or Place(schema, obs)
                    if clean_check(rules.period_check, place, emit) and period is not None:
                        year = int(period[:4]) if period[:4].isdigit() else _NOT_A_YEAR
                    else:
                        period_ok = False
                if number is None or number < 0 or (rate and number >= 100):
                    rules.value_check(place := place or Place(schema, obs), emit)
                elif limit is not None:
                    dot = value.find(".")  # type: ignore[union-attr]
                    if dot >= 0 and len(value) - dot - 1 > limit:  # type: ignore[arg-type]
                        rules.value_check(place := place or Place(schema, obs), emit)
            same_attrs = attrs if attrs_clean else None
            if entry is None and period is not None and period_ok:
                periods[period] = _period_entry(period)
            if number is not None:
                if handles:
                    text = value or ""
                    dot = text.find(".")
                    decimals = len(text) - dot - 1 if dot >= 0 else 0
                    cell = (number, half[decimals] if decimals < 40 else half_of(decimals), obs)
                    for cells_by_period, code in handles:
                        period_cells = cells_by_period.get(period)
                        if period_cells is None:
                            period_cells = cells_by_period[period] = {}
                            opened += 1
                        period_cells[code] = cell
                if change is not None and year is not None and year != _NOT_A_YEAR:
                    if last_year == year - 1 and number > 0 and last_value > 0:
                        ratio = number / last_value
                        if (ratio > factor or ratio < low) and (
                            number >= least or last_value >= least
                        ):
                            change.compare(key, year, last_value, number, emit)
                    last_year, last_value = year, number
            elif groups is not None or change is not None:
                series.mask, series.last_year, series.last_value = mask, last_year, last_value
                self._odd_value(series, obs, handles)
                last_year, last_value = series.last_year, series.last_value
            if reporter is not None and not series.reporter_ok:
                series.reporter_ok = clean(reporter, place or Place(schema, obs))
            if cross is not None and self.cross_at >= 0:
                cross.add_one(self.cross_dims, self.cross_at, obs)
        if series is not None:
            series.mask, series.last_year, series.last_value = mask, last_year, last_value
        if groups is not None:
            groups.opened += opened
        return count

    def finish(self) -> None:
        for check in self.checks:
            check.finish(self.emit)


def clean_check(check: object, place: Place, emit: Emitter) -> bool:
    """Run a bound check method ``check(place, emit)``; whether it reported nothing."""
    before = emit.count
    check(place, emit)  # type: ignore[operator]
    return emit.count == before
