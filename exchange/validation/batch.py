"""The batch path: vouch for a whole run of one series at once, or leave it to the exact path.

Why: a Python loop that runs a dozen checks per observation costs several microseconds per
observation — more than reading it. Within a run of one series (the usual shape of SDMX data)
the key is fixed and most observations are clean, so "is every observation of this run clean?"
can be answered over the run's columns with machine loops: ``map`` over dicts of known-clean
periods, one regular expression over the joined values (plain numbers with at most the allowed
decimals) and one scan reading them as integers (:mod:`~exchange.validation.run_values`), a bit
mask for duplicate years, ratios for year-on-year change; the run is kept for the totals with its
values in lanes (:mod:`~exchange.validation.lanes`).

:meth:`Batch.run` only ever answers "clean" (and then records the run: duplicates, total
cells, the last year and value) or "not sure" (records nothing, and the run goes through the
exact path of :class:`~exchange.validation.pipeline.Pipeline`, which reports). It never reports:
so which path ran changes nothing in the report. What it relies on is what the exact path
remembered as clean: periods per FREQ, attribute mappings, consistency slots.
"""

from __future__ import annotations

from array import array
from collections.abc import Container, Mapping, Sequence
from functools import reduce
from itertools import compress, repeat
from operator import contains, is_, is_not, methodcaller, not_, or_, truediv
from typing import TYPE_CHECKING, cast

from exchange.model.records import Observation
from exchange.validation.catalogue import Place, Probe
from exchange.validation.ilms_columns import SEPARATOR, Run
from exchange.validation.run_values import RunValues

if TYPE_CHECKING:
    from exchange.validation.exact import PeriodEntry
    from exchange.validation.pipeline import Handles, Pipeline, Series

__all__ = ["MEMO_SIZE", "Batch"]

#: Attribute mappings remembered by identity (readers that build a mapping per observation
#: would otherwise keep every one alive).
MEMO_SIZE = 4096
_STATUS = methodcaller("get", "OBS_STATUS")
_FAIL = -2  # no common decimals limit: not a limit value (those are None or >= 0)
#: a run's periods known clean: (the period texts, their years, their duplicate bits or 0/-1,
#: the periods as first remembered)
_Known = tuple[list[str | None], list[int], int, tuple[str | None, ...]]
#: the observations with a value: values, periods, years, locations (see ``_with_values``)
_Present = tuple[Sequence[str], list[str | None], list[int], tuple[str | None, ...]]
#: a clean run's observations with a number: periods, years, values and their scale (see
#: ``run_values.plain_values``), the values in lanes (or None), half units, the values joined by "|"
#: (None when the lanes give them back), locations
_Clean = tuple[
    list[str | None],
    list[int],
    Sequence[float],
    int,
    int | None,
    float | list[float | None],
    str | None,
    tuple[str | None, ...],
]


#: Longest run whose periods, years or mappings a memo keeps: a memo holds at most
#: ``MEMO_SIZE`` entries of this many (a few MB); longer runs are worked out each time, which
#: their length pays for.
_MEMO_RUN = 256
#: a consistency verdict remembered (see ``Batch._consistent_in_time``)
_Timed = tuple[int, Mapping[str, str], tuple[Mapping[str, str], ...]]


def _distinct(mappings: Sequence[Mapping[str, str]]) -> list[Mapping[str, str]] | None:
    """The run's distinct mappings (equal ones count as one), None if more than 8.

    Runs mostly share one mapping, or begin with a few others (years "not available" with
    their OBS_STATUS): taken from the end, the copies of the last one are a suffix, cut off by
    a slice; ``count`` compares identities first, so each step is a machine loop."""
    distinct: list[Mapping[str, str]] = []
    rest = mappings
    while rest:
        if len(distinct) == 8:
            return None
        last = rest[-1]
        distinct.append(last)
        copies = rest.count(last)
        if copies == len(rest):
            break
        if rest[-copies:].count(last) == copies:
            rest = rest[:-copies]
        else:
            rest = list(compress(rest, map(is_not, rest, repeat(last))))
    return distinct


class _Any:
    """Stands for the codes of a dimension without a codelist: every value is allowed."""

    def __contains__(self, value: object) -> bool:
        return True


def _joined_locations(
    locations: tuple[str | None, ...],
) -> str | tuple[str | None, ...] | None:
    """The locations of a run in one string (see ``ilms_columns.Run``), or as they are."""
    if len(locations) == 1:
        return locations[0]
    try:
        joined = SEPARATOR.join(locations)  # type: ignore[arg-type]
    except TypeError:  # a cell without a location
        return locations
    return joined if joined.count(SEPARATOR) == len(locations) - 1 else locations


class Batch:
    """Vouches for runs of one series (see the module docs)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        rules, change = pipeline.rules, pipeline.change
        self.factor, self.low = (change.factor, change.low) if change else (0.0, 0.0)
        self.least = change.min_value if change is not None else 0.0
        self.probe = Probe()
        #: per dimension, its allowed codes (``DimensionCheck``): ``in`` over them in one
        #: ``map`` costs less than a Python call per dimension and series
        self.codes: tuple[Container[str], ...] = tuple(
            _Any() if d.codes is None else d.codes for d in pipeline.schema.dimensions
        )
        self.values = RunValues(rate=rules.rate if rules is not None else False)
        self._periods: dict[tuple[int, tuple[str | None, ...]], _Known] = {}
        self._last: tuple[dict[str, PeriodEntry], _Known] | None = None  # the last answer
        #: list of years → (it, whether every period is a year)
        self._years: dict[int, tuple[list[int], bool]] = {}
        #: (periods, how many leading ones cut) → (those periods, the rest, their years)
        self._cut: dict[tuple[int, int], tuple[list[str | None], list[str | None], list[int]]] = {}
        #: (series-level consistency slots, mapping) → (the mapping, its decimals limit), for
        #: mappings whose attribute, unit and consistency checks passed with those slots
        self._verdicts: dict[tuple[int, int], tuple[Mapping[str, str], int | None]] = {}
        #: (memo, periods) → (memo writes then, the first mapping found consistent, and all of
        #: them when there were several)
        self._timed: dict[tuple[int, tuple[str | None, ...]], _Timed] = {}

    def key_checks(self, series: Series, obs: Observation) -> bool:
        """Ask the key checks (codes of the key, the reporter) about a new series; remember
        and return whether they pass (if not, the exact path reports)."""
        p, key = self.p, obs[0]
        codes = self.codes
        if len(key) != len(codes) or not all(key) or not all(map(contains, codes, key)):
            return False  # a code missing or not allowed: the exact path says which
        if p.reporter is not None:
            before = self.probe.count
            p.reporter.check(Place(p.schema, obs), self.probe)
            if self.probe.count != before:
                return False
        series.dims_ok = series.reporter_ok = True
        return True

    def run(self, series: Series, chunk: list[Observation], handles: Handles) -> bool:
        """Record the run and return True if every observation is clean; else False."""
        clean = self._vouch(series, chunk)
        if clean is None:
            return False
        periods, years, numbers, scale, lanes, halves, texts, locations = clean
        p = self.p
        if handles and numbers:
            where = _joined_locations(locations)
            floats = None if lanes is not None else array("d", numbers)
            distinct = p.duplicates is not None  # (then no period came twice: see _new_periods)
            run = Run(
                periods, floats, halves, texts, where, lanes=lanes, scale=scale, distinct=distinct
            )
            for columns, code in handles:
                columns.runs.append((code, run))
            p.groups.opened += len(numbers) * len(handles)  # type: ignore[union-attr]
        if p.change is not None and years:
            if years[-1] != -1:  # (the usual: the last period is a year)
                series.last_year, series.last_value = years[-1], numbers[-1] / scale
            else:
                for year, number in zip(reversed(years), reversed(numbers), strict=True):
                    if year != -1:
                        series.last_year, series.last_value = year, number / scale
                        break
        if p.cross is not None and p.cross_at >= 0:
            for obs in chunk:
                p.cross.add_one(p.cross_dims, p.cross_at, obs)
        return True

    def _vouch(self, series: Series, chunk: list[Observation]) -> _Clean | None:
        """The run's observations with a number, as columns, if every observation is clean
        (its duplicate bits are then recorded); None if not sure."""
        p = self.p
        _, periods, values, mappings, _, locations = zip(*chunk, strict=True)
        known = self._known_periods(series.periods, periods)
        if known is None:
            return None  # a period not yet known clean for this FREQ
        same_periods, years, bits, periods = known
        limit = self._attributes(series, chunk, mappings, periods)
        if limit == _FAIL:
            return None
        with_values = self._with_values(values, mappings, same_periods, years, locations)
        if with_values is None:
            return None
        present, same_periods, years, locations = with_values
        found = self.values.read(present, limit)
        if found is None:
            return None
        numbers, scale, lanes, halves, texts = found
        unsteady = (
            p.change is not None and numbers and not self._steady(series, years, numbers, scale)
        )
        if unsteady or (p.duplicates is not None and not self._new_periods(series, bits, periods)):
            return None
        p.same_attrs, p.limit = mappings[-1], limit
        return same_periods, years, numbers, scale, lanes, halves, texts, locations

    def _known_periods(
        self, clean: dict[str, PeriodEntry], periods: tuple[str | None, ...]
    ) -> _Known | None:
        """If every period is known clean: one list of the same period texts (so that the
        columns of a group share them), the years, and the duplicate bits (0: periods without
        a bit; -1: some with, some without). Series of a table mostly share their periods:
        remembered per tuple of periods, and the last answer first — comparing the fresh
        period texts with the last run's costs less than hashing them (the tuple returned,
        whose hashes are then known, serves the other memos keyed by periods)."""
        last = self._last
        if last is not None and last[0] is clean and last[1][3] == periods:
            return last[1]
        memo_key = (id(clean), periods)
        found = self._periods.get(memo_key)
        if found is not None:
            self._last = (clean, found)
            return found
        found_entries = list(map(clean.get, periods))  # type: ignore[arg-type]
        if None in found_entries:
            return None
        entries = cast("list[PeriodEntry]", found_entries)
        bits = [bit for _, bit in entries]
        combined = 0
        if 0 not in bits:
            combined = reduce(or_, bits)
            if combined.bit_count() != len(bits):
                combined = -1  # a period twice in the run
        elif any(bits):
            combined = -1
        found = (list(periods), [y for y, _ in entries], combined, periods)
        if len(periods) <= _MEMO_RUN:
            if len(self._periods) >= MEMO_SIZE:
                self._periods.clear()
            self._periods[memo_key] = found
        self._last = (clean, found)
        return found

    def _attributes(
        self,
        series: Series,
        chunk: list[Observation],
        mappings: tuple[Mapping[str, str], ...],
        periods: tuple[str | None, ...],
    ) -> int | None:
        """The decimals limit every mapping of the run shares, if all are clean (else _FAIL)."""
        distinct = _distinct(mappings)
        if distinct is None:
            return _FAIL  # many attribute combinations in one series: the exact way
        limit: int | None = _FAIL
        verdicts = self._verdicts
        for mapping in distinct:
            known = verdicts.get((id(series.untimed), id(mapping)))
            if known is not None and known[0] is mapping:
                found = known[1]
            else:
                found = self._clean_mapping(series, mapping, chunk[mappings.index(mapping)])
                if found != _FAIL:  # a clean verdict stays true: what it compares never changes
                    if len(verdicts) >= MEMO_SIZE:
                        verdicts.clear()
                    verdicts[(id(series.untimed), id(mapping))] = (mapping, found)
            if found == _FAIL or limit not in (_FAIL, found):
                return _FAIL
            limit = found
        for memo in series.timed:  # consistency per (related key, period): known per mapping
            if not self._consistent_in_time(memo, periods, mappings, len(distinct) == 1):
                return _FAIL
        return limit

    def _consistent_in_time(
        self,
        memo: dict[str | None, Mapping[str, str]],
        periods: tuple[str | None, ...],
        mappings: tuple[Mapping[str, str], ...],
        one: bool,
    ) -> bool:
        """Whether the memo of a consistency slot with a period says every observation's
        mapping is consistent. Series of one country share the slot and their periods: the
        answer is remembered with the mappings it was for (the one mapping, or the run's
        mappings in order) until the exact path writes a memo again; comparing them (by
        identity first; equal mappings carry the same values, so the same verdict) costs less
        than looking every period up again."""
        first = mappings[0]
        memo_key = (id(memo), periods)
        known = self._timed.get(memo_key)
        if (
            known is not None
            and known[0] == self.p.memo_writes
            and (known[1] is first if one else known[2] == mappings)
        ):
            return True
        if not all(map(is_, map(memo.get, periods), mappings)):
            return False
        if len(mappings) <= _MEMO_RUN:  # (the key holds the periods too)
            if len(self._timed) >= MEMO_SIZE:
                self._timed.clear()
            self._timed[memo_key] = (self.p.memo_writes, first, () if one else mappings)
        return True

    def _clean_mapping(
        self, series: Series, mapping: Mapping[str, str], obs: Observation
    ) -> int | None:
        """The mapping's decimals limit if its attribute, unit and series-level consistency
        checks pass (asking the checks once per mapping, remembered as the exact path does)."""
        p, probe = self.p, self.probe
        if p.attrs is not None and p.attrs_ok.get(id(mapping)) is not mapping:
            before = probe.count
            p.attrs.check(Place(p.schema, obs), probe)
            if probe.count != before:
                return _FAIL
            if len(p.attrs_ok) >= MEMO_SIZE:
                p.attrs_ok.clear()
            p.attrs_ok[id(mapping)] = mapping
        limit = None
        if p.rules is not None:
            known = p.units_ok.get(id(mapping))
            if known is None or known[0] is not mapping:
                before = probe.count
                p.rules.units_check(Place(p.schema, obs), probe)
                if probe.count != before:
                    return _FAIL
                if len(p.units_ok) >= MEMO_SIZE:
                    p.units_ok.clear()
                known = p.units_ok[id(mapping)] = (mapping, p.rules.decimals_limit(mapping))
            limit = known[1]
        return limit if self._consistent(series, mapping) else _FAIL

    def _consistent(self, series: Series, mapping: Mapping[str, str]) -> bool:
        """The mapping's attributes attached to (part of) the series key have the values
        already seen for it (a different value, or one not seen yet: the exact path decides)."""
        if self.p.consistency is None:
            return True
        seen = self.p.consistency.seen
        for attr_id, slot in series.untimed:
            value = mapping.get(attr_id)
            if value and seen.get(slot) != value:
                return False
        return True

    def _with_values(
        self,
        values: tuple[str | None, ...],
        mappings: tuple[Mapping[str, str], ...],
        periods: list[str | None],
        years: list[int],
        locations: tuple[str | None, ...],
    ) -> _Present | None:
        """The values, periods, years and locations of the observations with a value; None
        if an empty value has no OBS_STATUS saying why (when the value check runs).

        Series often begin with years reported "not available": those are cut off as slices,
        and the shorter periods and years shared by the series cut the same way (an empty
        text, which readers do not give, is left to the value pattern, which refuses it)."""
        missing = values.count(None)
        if not missing:
            return cast("tuple[str, ...]", values), periods, years, locations
        explained = self.p.value is None
        if values[missing - 1] is None and values[:missing].count(None) == missing:
            if not (explained or all(map(_STATUS, mappings[:missing]))):
                return None
            present = cast("tuple[str, ...]", values[missing:])
            if len(periods) > _MEMO_RUN:
                return present, periods[missing:], years[missing:], locations[missing:]
            known = self._cut.get((id(periods), missing))
            if known is None or known[0] is not periods:
                if len(self._cut) >= MEMO_SIZE:
                    self._cut.clear()
                known = self._cut[(id(periods), missing)] = (
                    periods,
                    periods[missing:],
                    years[missing:],
                )
            return present, known[1], known[2], locations[missing:]
        if not (explained or all(map(_STATUS, compress(mappings, map(not_, values))))):
            return None
        return (
            cast("tuple[str, ...]", tuple(filter(None, values))),
            list(compress(periods, values)),
            list(compress(years, values)),
            tuple(compress(locations, values)),
        )

    def _steady(
        self, series: Series, years: list[int], values: Sequence[float], scale: int
    ) -> bool:
        """No implausible year-on-year change (the rule of ``ChangeRule``) in the run; the
        values are over ``scale`` (see :func:`plain_values`)."""
        last_year, last_value = series.last_year, series.last_value
        factor, low = self.factor, self.low
        smallest = min(values) / scale
        if self._all_years(years) and smallest > 0 and (last_year == -1 or last_value > 0):
            # the whole run within a factor: so is every year's value against the last one
            largest = max(values) / scale
            if last_year != -1:
                smallest, largest = min(smallest, last_value), max(largest, last_value)
            if largest <= factor * smallest * (1 - 1e-9):  # (a margin for float rounding)
                return True
            # ratios of the values as they are: a margin covers the roundings of the floats
            # the exact path divides (the quotients differ by a few units in the last place)
            ratios = list(map(truediv, values[1:], values[:-1]))
            if last_year != -1:
                ratios.append(values[0] / scale / last_value)
            if not ratios or (
                max(ratios) <= factor * (1 - 1e-12) and min(ratios) >= low * (1 + 1e-12)
            ):
                return True
        least = self.least
        for year, value in zip(years, values, strict=True):
            if year == -1:
                continue
            number = value / scale
            if last_year == year - 1 and number > 0 and last_value > 0:
                ratio = number / last_value
                if (ratio > factor or ratio < low) and (number >= least or last_value >= least):
                    return False
            last_year, last_value = year, number
        return True

    def _all_years(self, years: list[int]) -> bool:
        """Whether every period is a year (none is -1). Runs share their lists of years (see
        ``_known_periods``): the answer is remembered per list."""
        if len(years) > _MEMO_RUN:
            return -1 not in years
        known = self._years.get(id(years))
        if known is None or known[0] is not years:
            if len(self._years) >= MEMO_SIZE:
                self._years.clear()
            known = self._years[id(years)] = (years, -1 not in years)
        return known[1]

    def _new_periods(self, series: Series, bits: int, periods: tuple[str | None, ...]) -> bool:
        """No period twice in the run nor seen before for the series; recorded if so."""
        if bits > 0:
            if bits & series.mask:
                return False
            series.mask |= bits
            return True
        if bits < 0:
            return False  # a period twice, or years with bits mixed with other periods
        seen = self.p.duplicates.seen  # type: ignore[union-attr]
        digests = set(map(hash, zip(repeat(series.key), periods)))
        if len(digests) != len(periods) or not seen.isdisjoint(digests):
            return False
        seen |= digests
        return True
