"""The exact path: every check on every observation, in order, as the checks define them.

Taken for the runs the batch path (:mod:`~exchange.validation.batch`) cannot vouch for, and for
short runs (data not ordered by series: a series at a time would cost more than it saves), so
:func:`exact` follows the stream across series, as it comes. Issues, their order and their
locations are exactly those of running every check on every observation; what passed is
remembered (see :mod:`~exchange.validation.pipeline`), and a :class:`Place` is built only when a
check has to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchange.model.records import Observation
from exchange.validation.batch import MEMO_SIZE
from exchange.validation.catalogue import Emitter, Place
from exchange.validation.ilms_columns import OpenRun, Single
from exchange.validation.ilms_rules import to_decimal
from exchange.validation.ilms_totals import HALF_UNITS, half_of
from exchange.validation.structural import Check

if TYPE_CHECKING:
    from exchange.validation.pipeline import Handles, Pipeline, Series

__all__ = ["NOT_A_YEAR", "exact", "period_entry", "plain_number"]

NOT_A_YEAR = -1
#: Years with a bit of their own in a series' duplicate mask (other periods: hashes in a set).
FIRST_YEAR, YEAR_BITS = 1900, 256
#: a clean period → (its year or -1, its bit in a duplicate mask or 0)
PeriodEntry = tuple[int, int]


def plain_number(value: str) -> bool:
    """Digits, at most one dot, a sign: what ``float`` and ``Decimal`` read alike (no exponent,
    spaces, ``_``, ``nan`` or ``inf``, whose decimals or validity need the exact checks)."""
    body = value[1:] if value[0] in "+-" else value
    return body.replace(".", "", 1).isdecimal()


def period_entry(period: str) -> PeriodEntry:
    year = int(period) if len(period) == 4 and period.isdigit() else None
    bit = 1 << (year - FIRST_YEAR) if year is not None and 0 <= year - FIRST_YEAR < YEAR_BITS else 0
    return (int(period[:4]) if period[:4].isdigit() else NOT_A_YEAR), bit


def odd_value(p: Pipeline, series: Series, obs: Observation, handles: Handles) -> None:
    """Groups and change for a value that is not a plain number (``1e3``, empty…)."""
    number = to_decimal(obs.value)
    if number is None:
        return
    if p.groups is not None:
        p.groups.add(obs, handles)
    period = obs.period
    if p.change is not None and period and period[:4].isdigit():
        year = int(period[:4])
        if series.last_year == year - 1:
            p.change.compare(obs.key, year, series.last_value, float(number), p.emit)
        series.last_year, series.last_value = year, float(number)


def exact(  # noqa: C901, PLR0912, PLR0915 - one loop, inlined on purpose (speed)
    p: Pipeline, observations: list[Observation]
) -> None:
    """Every check on every observation, in order (see the module docs)."""
    schema, emit = p.schema, p.emit

    def clean(check: Check, place: Place) -> bool:
        before = emit.count
        check.check(place, emit)
        return emit.count == before

    dims, period_check, value_check = p.dims, p.period, p.value
    attrs_check, consistency, duplicates = p.attrs, p.consistency, p.duplicates
    rules, groups, change, reporter = p.rules, p.groups, p.change, p.reporter
    attrs_ok, units_ok, cross = p.attrs_ok, p.units_ok, p.cross
    seen = duplicates.seen if duplicates is not None else set()
    rate = rules.rate if rules is not None else False
    factor, low = (change.factor, change.low) if change is not None else (0.0, 0.0)
    least = change.min_value if change is not None else 0.0
    half = HALF_UNITS
    series, handles = p.current, p.handles
    key = series.key if series is not None else None
    periods, timed = (series.periods, series.timed) if series else ({}, ())
    mask, last_year, last_value = (
        (series.mask, series.last_year, series.last_value) if series else (0, NOT_A_YEAR, 0.0)
    )
    same_attrs, limit = p.same_attrs, p.limit
    untimed_ok = False  # whether this series' consistency slots without a period passed
    first: Single | None = None  # this visit's first cell for the groups, then all its cells
    run: OpenRun | None = None
    for obs in observations:
        if obs[0] is not key and obs[0] != key:  # the next series
            if series is not None:
                series.mask, series.last_year, series.last_value = mask, last_year, last_value
            series, handles = p.enter(obs[0])
            key, periods, timed = series.key, series.periods, series.timed
            mask, last_year, last_value = series.mask, series.last_year, series.last_value
            untimed_ok, first, run = False, None, None
        assert series is not None
        period, value, attrs = obs[1], obs[2], obs[3]
        place: Place | None = None
        number: float | None = None
        if value and (value.replace(".", "", 1).isdecimal() or plain_number(value)):
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
                    p.memo_writes += 1
                    for timed_slot, memo in series.consistent:
                        memo[period if timed_slot else None] = attrs
                else:
                    untimed_ok = False
        if duplicates is not None:
            if entry is not None:
                bit = entry[1]
            else:
                bit = period_entry(period)[1] if period is not None else 0
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
                    year = int(period[:4]) if period[:4].isdigit() else NOT_A_YEAR
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
            periods[period] = period_entry(period)
        if number is not None:
            if handles:
                text = value or ""
                dot = text.find(".")
                decimals = len(text) - dot - 1 if dot >= 0 else 0
                one = half[decimals] if decimals < 40 else half_of(decimals)
                cell = (number, one, text, obs[5])
                if run is not None:
                    run.append(period, cell)
                elif first is None:  # a cell alone is light (unordered data: the usual)
                    first = (period, cell)
                    for columns, code in handles:
                        columns.runs.append((code, first))
                else:  # a second cell: the visit's cells become one run, checked column-wise
                    run = OpenRun()
                    run.append(*first)
                    run.append(period, cell)
                    for columns, code in handles:
                        columns.runs[-1] = (code, run)
                groups.opened += len(handles)  # type: ignore[union-attr]
            if change is not None and year is not None and year != NOT_A_YEAR:
                if last_year == year - 1 and number > 0 and last_value > 0:
                    ratio = number / last_value
                    if (ratio > factor or ratio < low) and (number >= least or last_value >= least):
                        change.compare(key, year, last_value, number, emit)
                last_year, last_value = year, number
        elif groups is not None or change is not None:
            series.mask, series.last_year, series.last_value = mask, last_year, last_value
            odd_value(p, series, obs, handles)
            last_year, last_value = series.last_year, series.last_value
            first, run = None, None  # cells after it start anew: groups keep the stream's order
        if reporter is not None and not series.reporter_ok:
            series.reporter_ok = clean(reporter, place or Place(schema, obs))
        if cross is not None and p.cross_at >= 0:
            cross.add_one(p.cross_dims, p.cross_at, obs)
    if series is not None:
        series.mask, series.last_year, series.last_value = mask, last_year, last_value
    p.same_attrs, p.limit = same_attrs, limit


def clean_check(check: object, place: Place, emit: Emitter) -> bool:
    """Run a bound check method ``check(place, emit)``; whether it reported nothing."""
    before = emit.count
    check(place, emit)  # type: ignore[operator]
    return emit.count == before
