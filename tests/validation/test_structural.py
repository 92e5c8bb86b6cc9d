"""Structural checks: exact (code, location) pairs for DF_MST_TEMP_SEX_AGE_CBR_NB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from exchange.model.records import DataStream, MessageInfo, Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.report import Location, Report
from exchange.validation import validate
from exchange.validation.structural import period_frequency, unknown_components

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
TODAY = dt.date(2025, 6, 1)
UNITS = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}


@pytest.fixture(scope="module")
def schema(store: StructureStore) -> Schema:
    return store.schema(FLOW)


@pytest.fixture(scope="module")
def full_codes(store: StructureStore, schema: Schema) -> dict[str, frozenset[str]]:
    """Every code of each codelist used by the schema (to tell unknown from not allowed)."""
    codes = {}
    for component in schema.components:
        if component.codelist is not None:
            codelist = store.codelist(component.codelist.id)
            codes[component.id] = frozenset(code.id for code in codelist)
    return codes


def obs(
    sex: str = "SEX_T",
    age: str = "AGE_10YRBANDS_TOTAL",
    cbr: str = "CBR_BIR_TOTAL",
    period: str | None = "2020",
    value: str | None = "100.0",
    attributes: Mapping[str, str] | None = None,
    *,
    area: str = "PHL",
    freq: str = "A",
    location: str | None = None,
) -> Observation:
    attrs = dict(UNITS) if attributes is None else dict(attributes)
    key = (area, freq, "MST_TEMP_NB", sex, age, cbr)
    return Observation(key, period, value, attrs, location=location)


def key_of(o: Observation) -> str:
    return ".".join(o.key)


def check(schema: Schema, *observations: Observation, **options: Any) -> Report:
    options.setdefault("today", TODAY)
    options.setdefault("rules", ("structure",))
    return validate(schema, list(observations), **options)


def pairs(report: Report) -> list[tuple[str, Location]]:
    return [(i.code, i.location) for i in report.issues]


def test_valid_data_has_no_issues(schema: Schema) -> None:
    report = check(schema, obs(), obs(sex="SEX_M", value="60.0"), obs(sex="SEX_F", value="40.0"))
    assert report.issues == []
    assert report.valid
    assert report.observations == 3


def test_unknown_code_with_suggestion(schema: Schema) -> None:
    bad = obs(sex="SEX_FEM", location="row 7")
    report = check(schema, bad)
    assert pairs(report) == [
        (
            "unknown-code",
            Location(
                row=7, series_key=key_of(bad), period="2020", component="SEX", value="SEX_FEM"
            ),
        )
    ]
    assert report.issues[0].suggestion == "Did you mean SEX_F?"
    assert not report.valid


def test_code_not_allowed_vs_unknown(schema: Schema, full_codes: dict[str, frozenset[str]]) -> None:
    other_version = obs(age="AGE_YTHBANDS_Y15-19")
    typo = obs(age="AGE_10YRBANDS_Y15-25")
    report = check(schema, other_version, typo, full_codes=full_codes)
    assert [(i.code, i.location.value) for i in report.issues] == [
        ("code-not-allowed", "AGE_YTHBANDS_Y15-19"),
        ("unknown-code", "AGE_10YRBANDS_Y15-25"),
    ]
    # The constraint fixes FREQ = A: Q exists in CL_FREQ but is not accepted.
    quarterly = check(schema, obs(freq="Q", period="2020-Q1"), full_codes=full_codes)
    assert [(i.code, i.location.component) for i in quarterly.issues] == [
        ("code-not-allowed", "FREQ")
    ]


def test_missing_dimension_and_period(schema: Schema) -> None:
    no_age, no_period = obs(age=""), obs(period=None)
    report = check(schema, no_age, no_period)
    assert pairs(report) == [
        ("missing-dimension", Location(series_key=key_of(no_age), period="2020", component="AGE")),
        ("missing-dimension", Location(series_key=key_of(no_period), component="TIME_PERIOD")),
    ]


@pytest.mark.parametrize(
    ("period", "code"),
    [
        ("20/01/2020", "bad-period"),
        ("2020-13", "bad-period"),
        ("2020-Q1", "period-frequency-mismatch"),
        ("2020-01", "period-frequency-mismatch"),
    ],
)
def test_periods(schema: Schema, period: str, code: str) -> None:
    o = obs(period=period, location="line 12")
    assert pairs(check(schema, o)) == [
        (
            code,
            Location(
                line=12, series_key=key_of(o), period=period, component="TIME_PERIOD", value=period
            ),
        )
    ]


def test_period_formats() -> None:
    assert period_frequency("2020") == "A"
    assert period_frequency("2020-A1") == "A"
    assert period_frequency("2020-Q3") == "Q"
    assert period_frequency("2020-M07") == "M"
    assert period_frequency("2020-07") == "M"
    assert period_frequency("2020-07-31") == "D"
    assert period_frequency("2020-07-01T00:00:00/P3M") == ""
    assert period_frequency("July 2020") is None


def test_values(schema: Schema) -> None:
    empty, explained = obs(value=None), obs(sex="SEX_M", value=None, attributes={"OBS_STATUS": "N"})
    text, comma = obs(sex="SEX_F", value="n/a"), obs(sex="SEX_O", value="1,234.5")
    report = check(schema, empty, explained, text, comma)
    assert [(i.code, i.location.series_key, i.location.value) for i in report.issues] == [
        ("missing-value", key_of(empty), None),
        ("non-numeric-value", key_of(text), "n/a"),
        ("non-numeric-value", key_of(comma), "1,234.5"),
    ]
    assert report.issues[2].suggestion == "Remove the thousands separators: write 1234.5."


def test_attributes(schema: Schema) -> None:
    bad_status = obs(attributes={**UNITS, "OBS_STATUS": "Q"}, location="sheet Data!F7")
    long_note = obs(sex="SEX_M", attributes={**UNITS, "NOTE_SOURCE": "x" * 1100})
    report = check(schema, bad_status, long_note)
    assert [(i.code, i.location.component) for i in report.issues] == [
        ("unknown-code", "OBS_STATUS"),
        ("text-too-long", "NOTE_SOURCE"),
    ]
    assert report.issues[0].location.sheet == "Data"
    assert report.issues[0].location.cell == "F7"


def test_mandatory_attribute(schema: Schema) -> None:
    unit = schema.component("UNIT_MEASURE")
    strict = Schema(
        schema.dsd,
        schema.dataflow,
        schema.names,
        schema.dimensions,
        schema.time_dimension,
        schema.measure,
        tuple(
            type(a)(**{**a.__dict__, "required": True}) if a.id == unit.id else a
            for a in schema.attributes
        ),
    )
    o = obs(attributes={"UNIT_MEASURE_TYPE": "NB"})
    assert pairs(check(strict, o)) == [
        (
            "missing-attribute",
            Location(series_key=key_of(o), period="2020", component="UNIT_MEASURE"),
        )
    ]


def test_attribute_inconsistent_within_its_key(schema: Schema) -> None:
    first = obs(attributes={**UNITS, "SOURCE": "LFS - Labour Force Survey"})
    same = obs(
        sex="SEX_M", value="60.0", attributes={**UNITS, "SOURCE": "LFS - Labour Force Survey"}
    )
    other_year = obs(period="2019", attributes={**UNITS, "SOURCE": "Census"})
    differs = obs(sex="SEX_F", value="40.0", attributes={**UNITS, "SOURCE": "Census"})
    unit_differs = obs(sex="SEX_O", value="0.0", attributes={**UNITS, "UNIT_MULT": "0"})
    report = check(schema, first, same, other_year, differs, unit_differs)
    assert [(i.code, i.location.series_key, i.location.component) for i in report.issues] == [
        ("attribute-inconsistent", key_of(differs), "SOURCE"),
        ("attribute-inconsistent", key_of(unit_differs), "UNIT_MULT"),
    ]
    assert report.issues[0].expected == "LFS - Labour Force Survey"


def test_duplicates(schema: Schema) -> None:
    o = obs()
    report = check(schema, o, obs(sex="SEX_M"), o._replace(location="row 9"))
    assert pairs(report) == [
        ("duplicate-observation", Location(row=9, series_key=key_of(o), period="2020")),
    ]


def test_never_stops_at_first_error(schema: Schema) -> None:
    o = obs(sex="SEX_X", age="", value="abc", period="2020-Q1")
    codes = {i.code for i in check(schema, o).issues}
    assert codes == {
        "unknown-code",
        "missing-dimension",
        "non-numeric-value",
        "period-frequency-mismatch",
    }


def test_wrong_reporter(schema: Schema) -> None:
    o = obs(area="MYS")
    assert pairs(check(schema, o, reporter="PHL")) == [
        (
            "wrong-reporter",
            Location(series_key=key_of(o), period="2020", component="REF_AREA", value="MYS"),
        )
    ]
    assert check(schema, obs(), reporter="PHL").issues == []


def test_accepts_stream_and_info(schema: Schema) -> None:
    info = MessageInfo(schema=schema)
    stream = DataStream(info, iter([obs(sex="SEX_FEM")]))
    assert [i.code for i in validate(stream, rules=("structure",)).issues] == ["unknown-code"]
    assert validate(info, [obs()], rules=("structure",), today=TODAY).valid


def test_unknown_components(schema: Schema) -> None:
    issues = unknown_components(schema, ["STRUCTURE", "REF_AREA", "GENDER", "OBS_VALEU"])
    assert [(i.code, i.location.component, i.suggestion) for i in issues] == [
        ("unknown-component", "GENDER", None),
        ("unknown-component", "OBS_VALEU", "Did you mean OBS_VALUE?"),
    ]


def test_works_for_another_agency(ecb_store: StructureStore) -> None:
    exr = ecb_store.dsd_schema("ECB_EXR_NG")
    key = tuple("M" if d == "FREQ" else "X" for d in exr.dimension_ids)
    report = validate(exr, [Observation(key, "2020-01", "1.1", {})], rules=("structure",))
    assert report.observations == 1
    assert "bad-period" not in {i.code for i in report.issues}
