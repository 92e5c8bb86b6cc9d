"""ILMS content rules beyond the DSD (ILMS-STRUCTURES.md §5).

Per observation (streaming): values are not negative, rates are at most 100, units are the
table's (§2, read from the dataflow's annotations as ``Schema.units``), the value has no more
decimals than DECIMALS declares, periods are years (YYYY) and not in the future.

Across observations: totals and migrants ≤ total (:mod:`~exchange.validation.ilms_totals`),
implausible year-on-year change (:class:`ChangeRule`, here); across tables: labour-force
identities and rates (:mod:`~exchange.validation.ilms_cross`).

- **Implausible change**: a value more than ``factor`` (3) times, or less than 1/factor times,
  the previous year's value of the same series is a warning (values below ``min_value`` in the
  table's unit are ignored: small cells move a lot). Streaming: per series only the last
  (year, value) is kept, so a series is compared year by year as its observations come, in
  ascending years (how SDMX messages order them); a year that comes after a later one is not
  compared (never a false warning).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from exchange.model.schema import Schema
from exchange.report import Location
from exchange.validation.catalogue import Emitter, Place
from exchange.validation.structural import period_frequency

_DIGITS = tuple(str(i) for i in range(10))
#: version prefix → (required categories, optional categories); the total is ``<prefix>_TOTAL``.
#: Only classification versions whose categories are verified to partition the total are here;
#: the others have overlapping aggregates in their codelist and no annotation or hierarchy that
#: tells which codes partition the total: ``EDU_ISCED97`` (5 vs 5A/5B), ``ECO_AGGREGATE``
#: (MAN/MANEL/MEL overlap), ``AGE_YTHADULT``, ``AGE_YTHBANDS``, ``AGE_ALLAGES`` and
#: ``AGE_CLDVERSION`` (overlapping bands) and the country lists ``CBR_BRT``/``CCT_CTZ``/``CDS``/
#: ``CRS``/``CPR`` (never complete). In ``AGE_AGGREGATE`` the band Y25-64 (= Y25-54 + Y55-64) is
#: left out of the sum. The codelists' parent hierarchy is flat (every code's parent is its
#: version), so it cannot tell overlaps apart either.
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


class ChangeRule:
    """Year-on-year change beyond ``factor`` is a warning (the last year and value per series)."""

    def __init__(self, factor: float = 3.0, min_value: float = 1.0) -> None:
        self.factor = factor
        self.low = 1 / factor
        self.min_value = min_value
        self.last: dict[tuple[str, ...], tuple[int, float]] = {}

    def check(self, place: Place, emit: Emitter) -> None:
        obs = place.obs
        number = to_decimal(obs.value)
        if number is not None and obs.period and obs.period[:4].isdigit():
            year, now = int(obs.period[:4]), float(number)
            before = self.last.get(obs.key)
            self.last[obs.key] = (year, now)
            if before is not None and before[0] == year - 1:
                self.compare(obs.key, year, before[1], now, emit)

    def compare(
        self, key: tuple[str, ...], year: int, before: float, now: float, emit: Emitter
    ) -> None:
        """Warn if ``now`` (``year``) is implausibly far from ``before`` (the year before)."""
        if before <= 0 or now <= 0 or (before < self.min_value and now < self.min_value):
            return
        ratio = now / before
        if ratio > self.factor or ratio < self.low:
            emit.at(
                "implausible-change",
                f"From {year - 1} to {year} the value goes from {before:g} to {now:g} "
                f"(a factor of {ratio:.2g}).",
                Location(series_key=".".join(key), period=str(year)),
                suggestion="Please check both values; a change in the source or "
                "definition should be explained in a note.",
            )

    def finish(self, emit: Emitter) -> None:
        return None
