"""The per-observation hot path: every check, fused into one loop, with memos of what passed.

Most observations of a submission share their series key with many others, their period with
whole tables, and (in readers that share them, as the SDMX-CSV reader does) their attribute
mapping with thousands of rows. So each check's answer depends on something that repeats, and a
clean answer is remembered instead of recomputed:

- key checks (codes of every dimension, the reporter) — per series key, in a dict of series;
- period checks (format, FREQ, not in the future, a year) — per (FREQ, period) and per period;
- attribute checks (codes, lengths, mandatory, units) — per attribute mapping, by identity (the
  memo holds the mapping, so an identity is never reused while it is remembered);
- attribute consistency — per (related key, period) slot, by identity of the mapping;
- the value — parsed once with ``float``; only a negative value, a rate at or above 100, more
  decimals than allowed, or anything ``float`` would read differently from :class:`Decimal`
  goes to the exact check.

A check whose memo does not say "clean" runs as it is (the classes in ``structural`` and
``ilms_rules``), in the original order, so issues, their order and their locations are exactly
those of running every check on every observation; a :class:`Place` is built only then. Only
clean answers are memoised: a wrong code is reported for every observation that has it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.validation.catalogue import Emitter, Place
from exchange.validation.ilms_rules import (
    ChangeRule,
    CrossTableIndex,
    GroupRules,
    ObservationRules,
)
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


#: a consistency group's slot: (key indexes, their values, whether the period is part of it)
_Slot = tuple[tuple[int, ...], tuple[str | None, ...], bool]


class _Series:
    """What is known about one series key: which key checks passed, and handles into state."""

    __slots__ = ("consistent", "dims_ok", "groups", "periods_ok", "reporter_ok", "years")

    def __init__(self, periods_ok: set[str], groups: tuple[tuple[int, str], ...]) -> None:
        self.dims_ok = False
        self.reporter_ok = False
        self.periods_ok = periods_ok  # periods that pass PeriodCheck with this series' FREQ
        self.groups = groups
        self.years: dict[int, float] | None = None
        #: per consistency group: the memo of attribute mappings known consistent
        self.consistent: tuple[tuple[bool, dict[str | None, Mapping[str, str]]], ...] = ()


def _plain_number(value: str) -> bool:
    """Digits, at most one dot, a sign: what ``float`` and ``Decimal`` read alike (no exponent,
    spaces, ``_``, ``nan`` or ``inf``, whose decimals or validity need the exact checks)."""
    body = value[1:] if value[0] in "+-" else value
    return body.replace(".", "", 1).isdecimal()


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
        self.periods_by_freq: dict[str | None, set[str]] = {}
        self.years: dict[str, int] = {}  # periods that pass the ILMS period rules → their year
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
        periods = self.periods_by_freq.setdefault(freq, set())
        series = _Series(periods, self.groups.slots(key) if self.groups else ())
        if self.consistency is not None:
            handles = {}
            for _, indexes, with_time in self.consistency.targets:
                related = tuple(key[i] if i < len(key) else None for i in indexes)
                slot = (indexes, related, with_time)
                handles[slot] = (with_time, self.consistency_memo.setdefault(slot, {}))
            series.consistent = tuple(handles.values())
        self.series[key] = series
        return series

    def _clean(self, check: Check, place: Place) -> bool:
        """Run ``check`` for real; whether it reported nothing."""
        before = self.emit.count
        check.check(place, self.emit)
        return self.emit.count == before

    def run(self, observations: Iterable[Observation]) -> int:  # noqa: C901, PLR0912, PLR0915 - inlined on purpose (speed)
        """Check every observation; returns how many there were. Call :meth:`finish` after."""
        schema, emit = self.schema, self.emit
        series_of, new_series, clean = self.series.get, self._new_series, self._clean
        dims, period_check, value_check = self.dims, self.period, self.value
        attrs_check, consistency, duplicates = self.attrs, self.consistency, self.duplicates
        rules, groups, change, reporter = self.rules, self.groups, self.change, self.reporter
        attrs_ok, units_ok, years_ok = self.attrs_ok, self.units_ok, self.years
        seen = duplicates.seen if duplicates is not None else set()
        group_cells = groups.groups if groups is not None else {}
        rate = rules.rate if rules is not None else False
        count = 0
        for obs in observations:
            count += 1
            key, period, value, attrs = obs[0], obs[1], obs[2], obs[3]
            series = series_of(key) or new_series(key)
            place: Place | None = None
            number: float | None = None
            if value and _plain_number(value):
                number = float(value)
            # -- structure (any DSD) ----------------------------------------------------------
            if dims is not None and not series.dims_ok:
                place = Place(schema, obs)
                series.dims_ok = clean(dims, place)
            if period_check is not None and (period is None or period not in series.periods_ok):
                place = place or Place(schema, obs)
                if clean(period_check, place) and period is not None:
                    series.periods_ok.add(period)
            if value_check is not None and number is None:
                value_check.check(place := place or Place(schema, obs), emit)
            if attrs_check is not None and attrs_ok.get(id(attrs)) is not attrs:
                place = place or Place(schema, obs)
                if clean(attrs_check, place):
                    if len(attrs_ok) >= MEMO_SIZE:
                        attrs_ok.clear()
                    attrs_ok[id(attrs)] = attrs
            if consistency is not None:
                for with_time, memo in series.consistent:
                    if memo.get(period if with_time else None) is not attrs:
                        place = place or Place(schema, obs)
                        if clean(consistency, place):
                            for timed, slot in series.consistent:
                                slot[period if timed else None] = attrs
                        break
            if duplicates is not None:
                digest = hash((key, period))
                if digest in seen:
                    duplicates.check(place := place or Place(schema, obs), emit)
                else:
                    seen.add(digest)
            # -- ILMS rules ---------------------------------------------------------------------
            if rules is not None:
                known = units_ok.get(id(attrs))
                if known is None or known[0] is not attrs:
                    place = place or Place(schema, obs)
                    if clean_check(rules.units_check, place, emit):
                        if len(units_ok) >= MEMO_SIZE:
                            units_ok.clear()
                        known = units_ok[id(attrs)] = (attrs, rules.decimals_limit(attrs))
                year = years_ok.get(period) if period is not None else None
                if year is None:
                    place = place or Place(schema, obs)
                    if clean_check(rules.period_check, place, emit) and period is not None:
                        year = years_ok[period] = (
                            int(period[:4]) if period[:4].isdigit() else _NOT_A_YEAR
                        )
                if number is None or number < 0 or (rate and number >= 100):
                    rules.value_check(place := place or Place(schema, obs), emit)
                else:
                    limit = (
                        known[1]
                        if known is not None and known[0] is attrs
                        else rules.decimals_limit(attrs)
                    )
                    if limit is not None:
                        dot = value.find(".")  # type: ignore[union-attr]
                        if dot >= 0 and len(value) - dot - 1 > limit:  # type: ignore[arg-type]
                            rules.value_check(place := place or Place(schema, obs), emit)
            else:
                year = None
            if groups is not None:
                if number is not None:
                    cell = (value or "", obs.location)
                    for group, code in series.groups:
                        group_cells[(group, period)][code] = cell
                else:
                    groups.check(place := place or Place(schema, obs), emit)
            if change is not None:
                if number is not None and year is not None:
                    if year != _NOT_A_YEAR:
                        if series.years is None:
                            series.years = change.series[key]
                        series.years[year] = number
                else:
                    change.check(place := place or Place(schema, obs), emit)
            if reporter is not None and not series.reporter_ok:
                series.reporter_ok = clean(reporter, place or Place(schema, obs))
            if self.cross is not None and self.cross_at >= 0:
                self.cross.add_one(self.cross_dims, self.cross_at, obs)
        return count

    def finish(self) -> None:
        for check in self.checks:
            check.finish(self.emit)


def clean_check(check: object, place: Place, emit: Emitter) -> bool:
    """Run a bound check method ``check(place, emit)``; whether it reported nothing."""
    before = emit.count
    check(place, emit)  # type: ignore[operator]
    return emit.count == before
