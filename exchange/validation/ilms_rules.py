"""ILMS content rules beyond the DSD (ILMS-STRUCTURES.md §5).

Per observation (streaming): values are not negative, rates are at most 100, units are the
table's (§2, read from the dataflow's annotations as ``Schema.units``), the value has no more
decimals than DECIMALS declares, periods are years (YYYY) and not in the future.

Across observations of one table (kept in compact dicts, bounded by the number of cells):

- **Totals** equal the sum of their parts within rounding — half a unit of the last reported
  decimal of each value involved. Only classification versions whose categories are verified to
  partition the total are checked (:data:`PARTITIONS`); the others have overlapping aggregates
  in their codelist and no annotation or hierarchy that tells which codes partition the total:
  ``EDU_ISCED97`` (5 vs 5A/5B), ``ECO_AGGREGATE`` (MAN/MANEL/MEL overlap), ``AGE_YTHADULT``,
  ``AGE_YTHBANDS``, ``AGE_ALLAGES`` and ``AGE_CLDVERSION`` (overlapping bands) and the country
  lists ``CBR_BRT``/``CCT_CTZ``/``CDS``/``CRS``/``CPR`` (never complete). In ``AGE_AGGREGATE``
  the band Y25-64 (= Y25-54 + Y55-64) is left out of the sum. The codelists' parent hierarchy is
  flat (every code's parent is its version), so it cannot tell overlaps apart either.
  Optional categories (unknown, other, under-15 bands, armed forces…) are added when reported
  and otherwise assumed absent; a total is only checked when all required categories are there.
- **Migrants ≤ total** (``CBR_BIR_FOREIGN ≤ CBR_BIR_TOTAL``, ``CCT_CIT_NONCIT ≤ CCT_CIT_TOTAL``).
- **Implausible change**: a value more than ``factor`` (3) times, or less than 1/factor times,
  the previous year's value of the same series is a warning (values below ``min_value`` in the
  table's unit are ignored: small cells move a lot).

Across tables: :class:`CrossTableIndex` (labour-force identities and rates).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.report import Issue, Location, location_from_text
from exchange.validation.catalogue import Emitter, Place, make_issue
from exchange.validation.structural import period_frequency

_DIGITS = tuple(str(i) for i in range(10))
#: version prefix → (required categories, optional categories); the total is ``<prefix>_TOTAL``.
PARTITIONS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "SEX": (("M", "F"), ("O",)),
    "CBR_BIR": (("NATIVE", "FOREIGN"), ("X",)),
    "CCT_CIT": (("CITIZEN", "NONCIT"), ("X",)),
    "AGE_10YRBANDS": (("Y15-24", "Y25-34", "Y35-44", "Y45-54", "Y55-64", "YGE65"), ("YLT15",)),
    "AGE_5YRBANDS": (
        (*(f"Y{a:02d}-{a + 4:02d}" for a in range(15, 65, 5)), "YGE65"),
        ("Y00-04", "Y05-09", "Y10-14"),
    ),
    "AGE_AGGREGATE": (("Y15-24", "Y25-54", "Y55-64", "YGE65"), ("YLT15",)),
    "EDU_AGGREGATE": (("LTB", "BAS", "INT", "ADV"), ("X",)),
    "EDU_ISCED11": (tuple("12345678"), ("X", "0", "9")),
    "EDU_SKILL": (("UNDER", "MATCH", "OVER"), ()),
    "ECO_ISIC4": (tuple("ABCDEFGHIJKLMNOPQRS"), ("T", "U", "X")),
    "ECO_ISIC3": (tuple("ABCDEFGHIJKLMNO"), ("P", "Q", "X")),
    "ECO_SECTOR": (("AGR", "IND", "SER"), ("X",)),
    "OCU_ISCO08": (tuple("123456789"), ("0", "X")),
    "OCU_ISCO88": (tuple("123456789"), ("0", "X")),
    "OCU_SKILL": (("L3-4", "L2", "L1"), ("X",)),
    "STE_ICSE93": (("1", "2", "3", "5"), ("4", "6")),
    "STE_AGGREGATE": (("EES", "SLF"), ("X",)),
}
MIGRANT_PARTS: Mapping[str, str] = {
    "CBR_BIR_FOREIGN": "CBR_BIR_TOTAL",
    "CCT_CIT_NONCIT": "CCT_CIT_TOTAL",
}


def total_code(version: str) -> str:
    return "SEX_T" if version == "SEX" else f"{version}_TOTAL"


#: code → its version, for every code that takes part in a checked total.
_VERSION_OF: dict[str, str] = {}
for _version, (_req, _opt) in PARTITIONS.items():
    for _part in (*_req, *_opt):
        _VERSION_OF[f"{_version}_{_part}"] = _version
    _VERSION_OF[total_code(_version)] = _version


def to_decimal(text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def decimals_of(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def half_unit(number: Decimal) -> Decimal:
    """Half a unit of the last reported decimal: 0.05 for ``12.3``, 0.5 for ``12``."""
    return Decimal(5) * Decimal(10) ** -(decimals_of(number) + 1)


def is_rate(schema: Schema) -> bool:
    measure = schema.component("MEASURE") if "MEASURE" in schema.dimension_ids else None
    codes = measure.codes if measure else None
    return schema.units.get("UNIT_MEASURE_TYPE") == "RT" or bool(
        codes and all(c.endswith("_RT") for c in codes)
    )


class ObservationRules:
    """The §5 rules that need one observation only."""

    def __init__(self, schema: Schema, today: dt.date | None = None) -> None:
        self.units = {k: v for k, v in schema.units.items() if k != "DECIMALS"}
        declared = schema.units.get("DECIMALS")
        self.decimals = int(declared) if declared and declared.isdigit() else None
        self.rate = is_rate(schema)
        self.year = (today or dt.date.today()).year
        self.measure = schema.measure.id
        self.time_id = schema.time_dimension.id if schema.time_dimension else "TIME_PERIOD"

    def check(self, place: Place, emit: Emitter) -> None:
        self.units_check(place, emit)
        self.period_check(place, emit)
        self.value_check(place, emit)

    def decimals_limit(self, attributes: Mapping[str, str]) -> int | None:
        """The most decimals a value may have: its DECIMALS attribute, else the table's."""
        declared_text = attributes.get("DECIMALS")
        declared = int(declared_text) if declared_text and declared_text.isdigit() else None
        return declared if declared is not None else self.decimals

    def value_check(self, place: Place, emit: Emitter) -> None:
        obs = place.obs
        number = to_decimal(obs.value)
        if number is None:
            return
        value = obs.value
        if number < 0:
            emit(
                "negative-value", f"{self.measure} {value} is negative.", place, self.measure, value
            )
        elif self.rate and number > 100:
            emit(
                "rate-out-of-range",
                f"The rate {value} is above 100.",
                place,
                self.measure,
                value,
                expected="between 0 and 100",
            )
        limit = self.decimals_limit(obs.attributes)
        if limit is not None and decimals_of(number) > limit:
            declared = obs.attributes.get("DECIMALS")
            source = "DECIMALS is" if declared and declared.isdigit() else "this table uses"
            emit(
                "decimals-mismatch",
                f"{self.measure} {value} has {decimals_of(number)} decimals but {source} {limit}.",
                place,
                self.measure,
                value,
                expected=f"at most {limit} decimals",
            )

    def units_check(self, place: Place, emit: Emitter) -> None:
        attrs = place.obs.attributes
        for attr, expected in self.units.items():
            got = attrs.get(attr)
            if got and got != expected:
                emit(
                    "unit-mismatch",
                    f'{attr} is "{got}" but this table uses "{expected}".',
                    place,
                    attr,
                    got,
                    expected=expected,
                )

    def period_check(self, place: Place, emit: Emitter) -> None:
        period = place.obs.period
        if not period or not period[:4].isdigit():
            return  # missing or malformed: reported by the structural checks
        if len(period) > 4 and period_frequency(period) == "A":  # 2020-A1, 2020-01-01/P1Y
            emit(
                "period-not-annual",
                f'{self.time_id} "{period}" must be a year (YYYY).',
                place,
                self.time_id,
                period,
                expected=period[:4],
            )
        if int(period[:4]) > self.year:
            emit(
                "future-period",
                f"{self.time_id} {period} is in the future.",
                place,
                self.time_id,
                period,
            )

    def finish(self, emit: Emitter) -> None:
        return None


_Cell = tuple[str, str | None]  # value text, reader location


class GroupRules:
    """Totals and migrants ≤ total within one table: needs all categories of a group."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        #: (group id, period) → code → cell; a group id stands for (dimension index, key with it
        #: blanked), so the per-observation path hashes an int and a period, not a whole key
        self.groups: dict[tuple[int, str | None], dict[str, _Cell]] = defaultdict(dict)
        self.bases: list[tuple[int, tuple[str, ...]]] = []
        self._ids: dict[tuple[int, tuple[str, ...]], int] = {}
        self._slots: dict[tuple[str, ...], tuple[tuple[int, str], ...]] = {}

    def slots(self, key: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
        """The (group id, code) pairs an observation with this series key takes part in."""
        found = self._slots.get(key)
        if found is None:
            pairs = []
            for index, code in enumerate(key):
                if code in _VERSION_OF:
                    base = (index, (*key[:index], "*", *key[index + 1 :]))
                    group = self._ids.get(base)
                    if group is None:
                        group = self._ids[base] = len(self.bases)
                        self.bases.append(base)
                    pairs.append((group, code))
            found = self._slots[key] = tuple(pairs)
        return found

    def check(self, place: Place, emit: Emitter) -> None:
        obs = place.obs
        if to_decimal(obs.value) is None:
            return
        cell = (obs.value or "", obs.location)
        for group, code in self.slots(obs.key):
            self.groups[(group, obs.period)][code] = cell

    def finish(self, emit: Emitter) -> None:
        for (group, period), cells in self.groups.items():
            index, rest = self.bases[group]
            dim = self.schema.dimension_ids[index]
            for version in sorted({_VERSION_OF[c] for c in cells}):
                self._total(emit, dim, version, rest, period, cells)
            for part, total in MIGRANT_PARTS.items():
                if part in cells and total in cells:
                    self._migrants(emit, dim, (part, total), rest, period, cells)

    def _total(
        self,
        emit: Emitter,
        dim: str,
        version: str,
        rest: tuple[str, ...],
        period: str | None,
        cells: Mapping[str, _Cell],
    ) -> None:
        required, optional = PARTITIONS[version]
        total = total_code(version)
        names = [f"{version}_{p}" for p in required]
        if total not in cells or any(n not in cells for n in names):
            return
        names += [f"{version}_{p}" for p in optional if f"{version}_{p}" in cells]
        verdict = _float_verdict(cells[total][0], [cells[n][0] for n in names])
        if verdict is None:  # a close call or a number form floats may misjudge: exactly
            parts = [Decimal(cells[n][0]) for n in names]
            reported = Decimal(cells[total][0])
            tolerance = half_unit(reported) + sum((half_unit(p) for p in parts), Decimal(0))
            verdict = abs(reported - sum(parts, Decimal(0))) <= tolerance
        if verdict:
            return

        def issue() -> Issue:
            parts = sum((Decimal(cells[n][0]) for n in names), Decimal(0))
            difference = Decimal(cells[total][0]) - parts
            shown = " + ".join(names) if len(names) <= 5 else f"the {len(names)} categories"
            return make_issue(
                "total-mismatch",
                f"{total} = {cells[total][0]} but {shown} = {parts} (difference {difference}).",
                _group_location(rest, dim, total, period, cells[total]),
                expected=str(parts),
            )

        emit.lazy("total-mismatch", issue)

    def _migrants(
        self,
        emit: Emitter,
        dim: str,
        pair: tuple[str, str],
        rest: tuple[str, ...],
        period: str | None,
        cells: Mapping[str, _Cell],
    ) -> None:
        part, total = pair
        if Decimal(cells[part][0]) > Decimal(cells[total][0]):
            emit.lazy(
                "migrants-exceed-total",
                lambda: make_issue(
                    "migrants-exceed-total",
                    f"{part} = {cells[part][0]} is greater than {total} = {cells[total][0]}.",
                    _group_location(rest, dim, part, period, cells[part]),
                    expected=f"at most {cells[total][0]}",
                ),
            )


def _half_unit_of(text: str) -> float | None:
    """Half a unit of the last decimal of a plain number text; None for other forms."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body.replace(".", "", 1).isdecimal():
        return None
    dot = body.find(".")
    return 0.5 * 10.0 ** -(len(body) - dot - 1 if dot >= 0 else 0)


def _float_verdict(total: str, parts: list[str]) -> bool | None:
    """Whether the total is within rounding of its parts, when floats can tell for sure.

    True or False when the difference is farther from the tolerance than float rounding could
    move it; None for a close call or a number form (exponent…) left to exact :class:`Decimal`
    arithmetic. Saves the Decimals for the great majority of groups.
    """
    halves = [_half_unit_of(t) for t in (total, *parts)]
    if any(h is None for h in halves):
        return None
    numbers = [float(total), *(float(p) for p in parts)]
    difference = abs(numbers[0] - sum(numbers[1:]))
    margin = 1e-9 * sum(abs(n) for n in numbers) + 1e-12
    tolerance = sum(h for h in halves if h is not None)
    if difference + margin < tolerance:
        return True
    if difference - margin > tolerance:
        return False
    return None


def _group_location(
    rest: tuple[str, ...], dim: str, code: str, period: str | None, cell: _Cell
) -> Location:
    key = ".".join(code if v == "*" else v for v in rest)
    return Location(
        **location_from_text(cell[1]), series_key=key, period=period, component=dim, value=code
    )


class ChangeRule:
    """Year-on-year change beyond ``factor`` is a warning (one dict of years per series)."""

    def __init__(self, factor: float = 3.0, min_value: float = 1.0) -> None:
        self.factor = factor
        self.min_value = min_value
        self.series: dict[tuple[str, ...], dict[int, float]] = defaultdict(dict)

    def check(self, place: Place, emit: Emitter) -> None:
        obs = place.obs
        number = to_decimal(obs.value)
        if number is not None and obs.period and obs.period[:4].isdigit():
            self.series[obs.key][int(obs.period[:4])] = float(number)

    def finish(self, emit: Emitter) -> None:
        for key, years in self.series.items():
            for year in sorted(years):
                before, now = years.get(year - 1), years[year]
                if before is None or before <= 0 or now <= 0:
                    continue
                if max(before, now) < self.min_value:
                    continue
                ratio = now / before
                if ratio > self.factor or ratio < 1 / self.factor:
                    emit.at(
                        "implausible-change",
                        f"From {year - 1} to {year} the value goes from {before:g} to {now:g} "
                        f"(a factor of {ratio:.2g}).",
                        Location(series_key=".".join(key), period=str(year)),
                        suggestion="Please check both values; a change in the source or "
                        "definition should be explained in a note.",
                    )


#: Identities (left = sum of right) and rates (rate = numerator / denominator x 100).
IDENTITIES = (("XWAP_NB", ("TEAP_NB", "TEIP_NB")), ("TEAP_NB", ("TEMP_NB", "TUNE_NB")))
RATES = (
    ("TUNE_RT", "TUNE_NB", "TEAP_NB"),
    ("TEAP_RT", "TEAP_NB", "XWAP_NB"),
    ("TEMP_RT", "TEMP_NB", "XWAP_NB"),
)
_Slot = tuple[tuple[str, ...], tuple[str, ...], str | None]  # other dims, other values, period
_NEEDED = {"XWAP_NB", "TEAP_NB", "TEIP_NB", "TEMP_NB", "TUNE_NB", "TUNE_RT", "TEAP_RT", "TEMP_RT"}


class CrossTableIndex:
    """Cells of several tables of one submission, to check identities and rates across them.

    Fill it with :meth:`add` (or pass it to ``validate(..., cross=index)`` to fill it in the same
    pass), then call :meth:`issues`. Memory: one entry per cell of the labour-force tables,
    keyed by (dimension ids without MEASURE, the other key values, period) → {variable: value}.
    """

    def __init__(self) -> None:
        self.cells: dict[_Slot, dict[str, str]] = defaultdict(dict)
        self.measure_at: dict[_Slot, tuple[str, int]] = {}

    def add(self, schema: Schema, observations: Iterable[Observation]) -> None:
        dims = schema.dimension_ids
        if "MEASURE" not in dims:
            return
        at = dims.index("MEASURE")
        other = (*dims[:at], *dims[at + 1 :])
        for obs in observations:
            self.add_one(other, at, obs)

    def add_one(self, other_dims: tuple[str, ...], at: int, obs: Observation) -> None:
        module, _, variable = obs.key[at].partition("_") if at < len(obs.key) else ("", "", "")
        if variable in _NEEDED and to_decimal(obs.value) is not None:
            slot = (other_dims, (*obs.key[:at], *obs.key[at + 1 :]), obs.period)
            self.cells[slot][variable] = obs.value or ""
            self.measure_at[slot] = (module, at)

    def issues(self) -> list[Issue]:
        found: list[Issue] = []
        for slot, cells in self.cells.items():
            values = {k: Decimal(v) for k, v in cells.items()}
            for left, right in IDENTITIES:
                if left in values and all(r in values for r in right):
                    found.extend(self._identity(slot, left, right, values))
            for rate, num, den in RATES:
                if rate in values and num in values and den in values and values[den] > 0:
                    found.extend(self._rate(slot, (rate, num, den), values))
        return found

    def _where(self, slot: _Slot, variable: str) -> Location:
        _, rest, period = slot
        module, at = self.measure_at[slot]
        measure = f"{module}_{variable}"
        key = (*rest[:at], measure, *rest[at:])
        return Location(series_key=".".join(key), period=period, component="MEASURE", value=measure)

    def _identity(
        self, slot: _Slot, left: str, right: tuple[str, ...], values: Mapping[str, Decimal]
    ) -> list[Issue]:
        total = sum((values[r] for r in right), Decimal(0))
        tolerance = half_unit(values[left]) + sum((half_unit(values[r]) for r in right), Decimal(0))
        difference = values[left] - total
        if abs(difference) <= tolerance:
            return []
        names = " + ".join(r.removesuffix("_NB") for r in right)
        message = (
            f"{left.removesuffix('_NB')} = {values[left]} but {names} = {total} "
            f"(difference {difference})."
        )
        return [make_issue("identity-mismatch", message, self._where(slot, left), str(total))]

    def _rate(
        self, slot: _Slot, names: tuple[str, str, str], values: Mapping[str, Decimal]
    ) -> list[Issue]:
        rate, num, den = names
        n, d, r = values[num], values[den], values[rate]
        hn, hd, hr = half_unit(n), half_unit(d), half_unit(r)
        low = (n - hn) / (d + hd) * 100
        high = (n + hn) / (d - hd) * 100 if d - hd > 0 else Decimal("Infinity")
        if r + hr >= low and r - hr <= high:
            return []
        computed = (n / d * 100).quantize(Decimal(10) ** -max(decimals_of(r), 1))
        message = (
            f"{rate} = {r} but {num.removesuffix('_NB')} / {den.removesuffix('_NB')} "
            f"x 100 = {computed}."
        )
        return [make_issue("rate-mismatch", message, self._where(slot, rate), str(computed))]
