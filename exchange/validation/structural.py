"""Structural checks of observations against a resolved schema — for any DSD, not only ILMS.

What the DSD and the dataflow's constraints say (SDMX 2.1 Section 2, §3.3 data structure
definition; §10 constraints): every dimension has a value, coded components use codes of their
codelist that the dataflow allows, the time period is well-formed and fits FREQ, the measure is a
number where the DSD says Double, mandatory attributes are present, text fits its maximum length,
attributes attached to a series or partial key have one value per key, and no observation is
reported twice.

Each check consumes the observation stream one observation at a time (:meth:`check`) and may
report what it can only know at the end (:meth:`finish`); memory stays bounded by the number of
series (duplicate detection: see :class:`DuplicateCheck`).
"""

from __future__ import annotations

import difflib
import os.path
import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from exchange.model.schema import Component, Schema
from exchange.report import Issue, Location
from exchange.validation.catalogue import Emitter, Place, make_issue

NUMERIC_TYPES = frozenset(
    {"Double", "Float", "Decimal", "Integer", "Long", "Short", "BigInteger", "Count"}
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

#: Period formats by frequency (SDMX 2.1 Section 6, time period types; ISO 8601 forms too).
_PERIODS: dict[str, re.Pattern[str]] = {
    "A": re.compile(r"\d{4}(?:-A1)?|\d{4}-01-01/P1Y"),
    "S": re.compile(r"\d{4}-S[12]"),
    "Q": re.compile(r"\d{4}-Q[1-4]"),
    "M": re.compile(r"\d{4}-(?:0[1-9]|1[0-2])|\d{4}-M(?:0[1-9]|1[0-2])"),
    "W": re.compile(r"\d{4}-W(?:0[1-9]|[1-4]\d|5[0-3])"),
    "D": re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"),
}
_ANY_PERIOD = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:T[\d:.]+(?:Z|[+-]\d\d:\d\d)?)?"
    r"(?:/P[\dYMWDTHS.]+)?"
)
_FREQ_NAMES = {
    "A": "annual",
    "S": "half-yearly",
    "Q": "quarterly",
    "M": "monthly",
    "W": "weekly",
    "D": "daily",
}


class Check(Protocol):
    """One rule over the observation stream."""

    def check(self, place: Place, emit: Emitter) -> None: ...

    def finish(self, emit: Emitter) -> None: ...


def period_frequency(period: str) -> str | None:
    """The frequency whose format ``period`` has (``A``, ``Q`` …), ``""`` for other ISO forms."""
    for freq, pattern in _PERIODS.items():
        if pattern.fullmatch(period):
            return freq
    return "" if _ANY_PERIOD.fullmatch(period) else None


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text.strip()) is not None


def number_suggestion(text: str) -> str | None:
    """How to write a near-number: ``1,234.5`` → ``1234.5``; ``12,5`` → ``12.5``."""
    stripped = text.strip().replace(" ", "").replace("\u00a0", "")
    if is_number(stripped):
        return f"Remove the spaces: write {stripped}."
    if is_number(stripped.replace(",", "")) and re.fullmatch(
        r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", stripped
    ):
        return f"Remove the thousands separators: write {stripped.replace(',', '')}."
    if is_number(stripped.replace(",", ".")) and stripped.count(",") == 1:
        return f"Use a dot for decimals: write {stripped.replace(',', '.')}."
    return None


def code_problem(
    component: Component, value: str, full_codes: Mapping[str, frozenset[str]] | None
) -> tuple[str, str, str | None] | None:
    """``(issue code, message, suggestion)`` for a value the component does not allow."""
    if component.allows(value):
        return None
    allowed = component.codes or frozenset()
    known = (full_codes or {}).get(component.id)
    if known is not None and value in known:
        return (
            "code-not-allowed",
            f'{component.id} = "{value}" exists in the codelist but is not accepted in this table.',
            _allowed_hint(allowed),
        )
    close = closest(value, allowed)
    suggestion = f"Did you mean {close[0]}?" if close else _allowed_hint(allowed)
    return "unknown-code", f'{component.id} = "{value}" is not a code of this table.', suggestion


def closest(value: str, allowed: Iterable[str]) -> list[str]:
    """The allowed code most like ``value``: close by difflib, ties broken by a longer common
    prefix (``SEX_FEM`` → ``SEX_F``, not ``SEX_M``); an exact match ignoring case wins."""
    candidates = sorted(allowed)
    same_case = [c for c in candidates if c.upper() == value.upper()]
    if same_case:
        return same_case
    close = difflib.get_close_matches(value, candidates, n=5, cutoff=0.6)
    prefix = os.path.commonprefix
    return sorted(close, key=lambda c: -len(prefix([c, value])))[:1]


def _allowed_hint(allowed: frozenset[str]) -> str | None:
    if not allowed:
        return None
    shown = sorted(allowed)
    more = f" (and {len(shown) - 8} more)" if len(shown) > 8 else ""
    return "Allowed codes: " + ", ".join(shown[:8]) + more + "."


class DimensionCheck:
    """Every dimension has a value, from its codelist and allowed by the dataflow."""

    def __init__(self, schema: Schema, full_codes: Mapping[str, frozenset[str]] | None) -> None:
        self.dimensions = schema.dimensions
        self.full_codes = full_codes

    def check(self, place: Place, emit: Emitter) -> None:
        key = place.obs.key
        for index, dim in enumerate(self.dimensions):
            value = key[index] if index < len(key) else ""
            if not value:
                emit("missing-dimension", f"{dim.id} has no value.", place, dim.id)
                continue
            problem = code_problem(dim, value, self.full_codes)
            if problem:
                code, message, suggestion = problem
                emit(code, message, place, dim.id, value, suggestion=suggestion)

    def finish(self, emit: Emitter) -> None:
        return None


class PeriodCheck:
    """The time period is present, well-formed, and matches the series' FREQ."""

    def __init__(self, schema: Schema) -> None:
        dims = schema.dimension_ids
        self.freq_index = dims.index("FREQ") if "FREQ" in dims else None
        self.time_id = schema.time_dimension.id if schema.time_dimension else None

    def check(self, place: Place, emit: Emitter) -> None:
        if self.time_id is None:
            return
        period = place.obs.period
        if not period:
            emit(
                "missing-dimension",
                f"{self.time_id} has no value: the period of this value is missing.",
                place,
                self.time_id,
                suggestion="Give the period (in a workbook: the year at the head of the column).",
            )
            return
        found = period_frequency(period)
        if found is None:
            message = f'{self.time_id} "{period}" is not a time period.'
            hint = "Write years as YYYY (2020), quarters as 2020-Q1, months as 2020-01."
            emit("bad-period", message, place, self.time_id, period, suggestion=hint)
            return
        key = place.obs.key
        freq = (
            key[self.freq_index]
            if self.freq_index is not None and self.freq_index < len(key)
            else None
        )
        if freq in _PERIODS and found != freq:
            what = _FREQ_NAMES.get(found, "not " + _FREQ_NAMES[freq])
            emit(
                "period-frequency-mismatch",
                f'{self.time_id} "{period}" is {what} but FREQ is {freq} ({_FREQ_NAMES[freq]}).',
                place,
                self.time_id,
                period,
                expected=f"a {_FREQ_NAMES[freq]} period",
            )

    def finish(self, emit: Emitter) -> None:
        return None


class ValueCheck:
    """OBS_VALUE is a number for numeric measures, or empty with an OBS_STATUS saying why.

    Any OBS_STATUS counts as the explanation of an empty value; in ILO's ``CL_OBS_STATUS`` the
    usual ones are ``N`` (not available), ``C`` (confidential), ``X`` (not applicable), ``S``.
    """

    def __init__(self, schema: Schema) -> None:
        self.measure = schema.measure.id
        self.numeric = schema.measure.text_type in NUMERIC_TYPES

    def check(self, place: Place, emit: Emitter) -> None:
        value = place.obs.value
        if value is None or value == "":
            if not place.obs.attributes.get("OBS_STATUS"):
                emit(
                    "missing-value",
                    f"{self.measure} is empty and OBS_STATUS does not say why.",
                    place,
                    self.measure,
                    suggestion="Give the value, or an OBS_STATUS such as N (not available) "
                    "or C (confidential).",
                )
        elif self.numeric and not is_number(value):
            emit(
                "non-numeric-value",
                f'{self.measure} "{value}" is not a number.',
                place,
                self.measure,
                value,
                suggestion=number_suggestion(value),
            )

    def finish(self, emit: Emitter) -> None:
        return None


class AttributeCheck:
    """Attribute values: allowed codes, text length, mandatory presence."""

    def __init__(self, schema: Schema, full_codes: Mapping[str, frozenset[str]] | None) -> None:
        self.attributes = schema.attributes
        self.full_codes = full_codes

    def check(self, place: Place, emit: Emitter) -> None:
        attrs = place.obs.attributes
        for attr in self.attributes:
            value = attrs.get(attr.id)
            if not value:
                if attr.required:
                    message = f"The mandatory attribute {attr.id} has no value."
                    emit("missing-attribute", message, place, attr.id)
                continue
            problem = code_problem(attr, value, self.full_codes)
            if problem:
                code, message, suggestion = problem
                emit(code, message, place, attr.id, value, suggestion=suggestion)
            if attr.max_length is not None and len(value) > attr.max_length:
                emit(
                    "text-too-long",
                    f"{attr.id} has {len(value):,} characters; at most {attr.max_length:,} are "
                    "allowed.",
                    place,
                    attr.id,
                    value[:60] + "…",
                    expected=f"at most {attr.max_length} characters",
                )

    def finish(self, emit: Emitter) -> None:
        return None


class ConsistencyCheck:
    """An attribute attached to a series or partial key has one value per (partial) key.

    Memory: one entry per (attribute, related key) — bounded by the number of series.
    """

    def __init__(self, schema: Schema) -> None:
        dims = schema.dimension_ids
        time_id = schema.time_dimension.id if schema.time_dimension else "TIME_PERIOD"
        self.targets: list[tuple[str, tuple[int, ...], bool]] = []
        for attr in schema.attributes:
            related = attr.related_dimensions
            if not related and attr.attachment is not None and attr.attachment.value == "series":
                related = dims
            if not related:
                continue
            indexes = tuple(dims.index(d) for d in related if d in dims)
            self.targets.append((attr.id, indexes, time_id in related))
        self.seen: dict[tuple[str, tuple[str | None, ...]], str] = {}

    def check(self, place: Place, emit: Emitter) -> None:
        obs = place.obs
        for attr_id, indexes, with_time in self.targets:
            value = obs.attributes.get(attr_id)
            if not value:
                continue
            related = tuple(obs.key[i] if i < len(obs.key) else None for i in indexes)
            slot = (attr_id, (*related, obs.period) if with_time else related)
            first = self.seen.setdefault(slot, value)
            if first != value:
                where = ".".join(v or "" for v in slot[1])
                emit(
                    "attribute-inconsistent",
                    f'{attr_id} is "{_short(value)}" here but "{_short(first)}" earlier for '
                    f"{where}.",
                    place,
                    attr_id,
                    value,
                    expected=first,
                )

    def finish(self, emit: Emitter) -> None:
        return None


class DuplicateCheck:
    """The same series key and period reported twice.

    Trade-off: keeping every (key, period) would cost hundreds of bytes per observation. Here a
    ``set[int]`` of ``hash((key, period))`` (about 60-70 bytes per observation); two different
    observations share a 64-bit hash with probability about n²/2⁶⁵ — one in 300,000 for ten
    million observations — so a reported duplicate is a true duplicate in practice. The
    validation pipeline keeps less: per series, a bit per year (``YYYY`` periods from 1900 on),
    this set only for other periods.
    """

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def check(self, place: Place, emit: Emitter) -> None:
        obs = place.obs
        digest = hash((obs.key, obs.period))
        if digest in self.seen:
            self.report(place, emit)
        else:
            self.seen.add(digest)

    @staticmethod
    def report(place: Place, emit: Emitter) -> None:
        emit(
            "duplicate-observation",
            f"{place.series_key} for {place.obs.period} is reported more than once.",
            place,
        )

    def finish(self, emit: Emitter) -> None:
        return None


def structural_checks(
    schema: Schema, full_codes: Mapping[str, frozenset[str]] | None = None
) -> list[Check]:
    """All structural checks for one schema, in the order their issues read best."""
    return [
        DimensionCheck(schema, full_codes),
        PeriodCheck(schema),
        ValueCheck(schema),
        AttributeCheck(schema, full_codes),
        ConsistencyCheck(schema),
        DuplicateCheck(),
    ]


def unknown_components(
    schema: Schema, names: Iterable[str], *, location: Location | None = None
) -> list[Issue]:
    """Issues for column/attribute names a reader found that the schema does not have.

    Readers call this with the header row (SDMX-CSV) or the attribute names they met; the
    standard SDMX-CSV columns (``STRUCTURE``, ``DATAFLOW``, ``ACTION`` …) are not components.
    """
    known = {c.id for c in schema.components}
    ignored = {"STRUCTURE", "STRUCTURE_ID", "DATAFLOW", "ACTION", "STRUCTURE_NAME"}
    issues = []
    for name in names:
        bare = name.split(":", 1)[0].strip()
        if bare and bare not in known and bare.upper() not in ignored:
            close = difflib.get_close_matches(bare, sorted(known), n=1)
            issues.append(
                make_issue(
                    "unknown-component",
                    f'"{bare}" is not a column or attribute of this table.',
                    (location or Location()).model_copy(update={"component": bare}),
                    suggestion=f"Did you mean {close[0]}?" if close else None,
                )
            )
    return issues


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
