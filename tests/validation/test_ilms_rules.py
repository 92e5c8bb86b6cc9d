"""ILMS content rules (ILMS-STRUCTURES.md §5): exact (code, location) pairs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.report import Location, Report
from exchange.validation import CrossTableIndex, validate
from exchange.validation.ilms_rules import PARTITIONS, total_code

TODAY = dt.date(2025, 6, 1)
NB = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}


@pytest.fixture(scope="module")
def schema(store: StructureStore) -> Schema:
    return store.schema("DF_MST_TEMP_SEX_AGE_CBR_NB")


def obs(
    sex: str = "SEX_T",
    age: str = "AGE_10YRBANDS_TOTAL",
    cbr: str = "CBR_BIR_TOTAL",
    value: str | None = "100.0",
    period: str = "2020",
    measure: str = "MST_TEMP_NB",
    **attributes: str,
) -> Observation:
    key = ("PHL", "A", measure, sex, age, cbr)
    return Observation(key, period, value, {**NB, **attributes})


def check(schema: Schema, *observations: Observation, **options: Any) -> Report:
    options.setdefault("today", TODAY)
    options.setdefault("rules", ("ilms",))
    return validate(schema, list(observations), **options)


def codes(report: Report) -> list[tuple[str, str | None, str | None]]:
    return [(i.code, i.location.component, i.location.value) for i in report.issues]


def sex_group(t: str, m: str, f: str, **kw: Any) -> list[Observation]:
    return [obs("SEX_T", value=t, **kw), obs("SEX_M", value=m, **kw), obs("SEX_F", value=f, **kw)]


def test_consistent_submission_has_no_issues(schema: Schema) -> None:
    data = [
        *sex_group("100.0", "60.0", "40.0"),
        *sex_group("80.0", "50.0", "30.0", cbr="CBR_BIR_NATIVE"),
        *sex_group("20.0", "10.0", "10.0", cbr="CBR_BIR_FOREIGN"),
        *sex_group("90.0", "55.0", "35.0", period="2019"),
    ]
    report = check(schema, *data, rules=("structure", "ilms"))
    assert report.issues == []


def test_single_observation_rules(schema: Schema) -> None:
    negative = obs(value="-3.2")
    unit = obs("SEX_M", "AGE_10YRBANDS_Y15-24", UNIT_MULT="0")
    decimals = obs("SEX_F", "AGE_10YRBANDS_Y25-34", value="12.345")
    future = obs(period="2031")
    annual_form = obs(period="2019-A1")
    report = check(schema, negative, unit, decimals, future, annual_form)
    assert [(i.code, i.location) for i in report.issues] == [
        (
            "negative-value",
            Location(
                series_key=".".join(negative.key),
                period="2020",
                component="OBS_VALUE",
                value="-3.2",
            ),
        ),
        (
            "unit-mismatch",
            Location(
                series_key=".".join(unit.key), period="2020", component="UNIT_MULT", value="0"
            ),
        ),
        (
            "decimals-mismatch",
            Location(
                series_key=".".join(decimals.key),
                period="2020",
                component="OBS_VALUE",
                value="12.345",
            ),
        ),
        (
            "future-period",
            Location(
                series_key=".".join(future.key),
                period="2031",
                component="TIME_PERIOD",
                value="2031",
            ),
        ),
        (
            "period-not-annual",
            Location(
                series_key=".".join(annual_form.key),
                period="2019-A1",
                component="TIME_PERIOD",
                value="2019-A1",
            ),
        ),
    ]
    assert report.issues[1].expected == "3"
    assert report.issues[2].severity == "warning"


def test_declared_decimals_attribute_wins(schema: Schema) -> None:
    assert check(schema, obs(value="12.34", DECIMALS="2")).issues == []
    assert codes(check(schema, obs(value="12.34", DECIMALS="0"))) == [
        ("decimals-mismatch", "OBS_VALUE", "12.34")
    ]


def test_rates_at_most_100(store: StructureStore) -> None:
    rates = store.schema("DF_MST_TUNE_SEX_AGE_CBR_RT")
    rt = {"UNIT_MEASURE_TYPE": "RT", "UNIT_MEASURE": "PT", "UNIT_MULT": "0"}
    key = ("PHL", "A", "MST_TUNE_RT", "SEX_T", "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
    report = check(rates, Observation(key, "2020", "112.5", rt))
    assert codes(report) == [("rate-out-of-range", "OBS_VALUE", "112.5")]


def test_sex_total_mismatch(schema: Schema) -> None:
    report = check(schema, *sex_group("100.0", "60.0", "36.0"))
    total = obs()
    assert [(i.code, i.location) for i in report.issues] == [
        (
            "total-mismatch",
            Location(series_key=".".join(total.key), period="2020", component="SEX", value="SEX_T"),
        )
    ]
    assert report.issues[0].message == ("SEX_T = 100.0 but SEX_M + SEX_F = 96.0 (difference 4.0).")


def test_total_within_rounding(schema: Schema) -> None:
    # 3 values with one decimal: tolerance 3 x 0.05 = 0.15.
    assert check(schema, *sex_group("100.1", "60.0", "40.0")).issues == []
    assert [i.code for i in check(schema, *sex_group("100.2", "60.0", "40.0")).issues] == [
        "total-mismatch"
    ]


def test_optional_category_is_added_when_reported(schema: Schema) -> None:
    data = [*sex_group("100.0", "60.0", "38.0"), obs("SEX_O", value="2.0")]
    assert check(schema, *data).issues == []


def test_total_not_checked_when_a_category_is_missing(schema: Schema) -> None:
    assert check(schema, obs("SEX_T", value="100.0"), obs("SEX_M", value="10.0")).issues == []


def test_age_bands_and_place_of_birth(schema: Schema) -> None:
    bands = ["Y15-24", "Y25-54", "Y55-64", "YGE65"]
    data = [obs(age="AGE_AGGREGATE_TOTAL", value="100.0")]
    data += [obs(age=f"AGE_AGGREGATE_{b}", value="25.0") for b in bands]
    data.append(obs(age="AGE_AGGREGATE_Y25-64", value="50.0"))  # overlaps: not a summand
    assert check(schema, *data).issues == []
    data[1] = obs(age="AGE_AGGREGATE_Y15-24", value="35.0")
    assert codes(check(schema, *data)) == [("total-mismatch", "AGE", "AGE_AGGREGATE_TOTAL")]
    cbr = [
        obs(cbr=c, value=v)
        for c, v in (
            ("CBR_BIR_TOTAL", "10.0"),
            ("CBR_BIR_NATIVE", "2.0"),
            ("CBR_BIR_FOREIGN", "12.0"),
        )
    ]
    assert codes(check(schema, *cbr)) == [
        ("total-mismatch", "CBR", "CBR_BIR_TOTAL"),
        ("migrants-exceed-total", "CBR", "CBR_BIR_FOREIGN"),
    ]


def test_partitions_use_real_codes(store: StructureStore) -> None:
    """Every code named in PARTITIONS exists in its codelist (no invented codes)."""
    for version, (required, optional) in PARTITIONS.items():
        codelist = {c.id for c in store.codelist(f"CL_{version.split('_')[0]}")}
        named = {total_code(version), *(f"{version}_{p}" for p in (*required, *optional))}
        assert named <= codelist, (version, named - codelist)


def test_implausible_change_is_a_warning(schema: Schema) -> None:
    data = [
        obs(period=p, value=v) for p, v in (("2018", "10.0"), ("2019", "12.0"), ("2020", "45.0"))
    ]
    report = check(schema, *data)
    assert [(i.code, i.location) for i in report.issues] == [
        ("implausible-change", Location(series_key=".".join(data[0].key), period="2020"))
    ]
    assert report.valid  # a warning does not make the submission invalid


def test_cross_table_identities_and_rates(store: StructureStore) -> None:
    index = CrossTableIndex()
    tables = {
        "XWAP": ("NB", "200.0"),
        "TEAP": ("NB", "120.0"),
        "TEIP": ("NB", "80.0"),
        "TEMP": ("NB", "110.0"),
        "TUNE": ("NB", "7.0"),  # TEAP = 120.0 but TEMP + TUNE = 117.0
    }
    for variable, (kind, value) in tables.items():
        schema = store.schema(f"DF_MST_{variable}_SEX_AGE_CBR_{kind}")
        index.add(schema, [obs(measure=f"MST_{variable}_{kind}", value=value)])
    rates = {"TUNE": "9.0", "TEAP": "60.0", "TEMP": "55.0"}  # TUNE/TEAP = 5.8, not 9.0
    for variable, value in rates.items():
        schema = store.schema(f"DF_MST_{variable}_SEX_AGE_CBR_RT")
        validate(schema, [obs(measure=f"MST_{variable}_RT", value=value)], cross=index)
    issues = index.issues()
    assert [(i.code, i.location.series_key, i.location.value) for i in issues] == [
        (
            "identity-mismatch",
            "PHL.A.MST_TEAP_NB.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL",
            "MST_TEAP_NB",
        ),
        (
            "rate-mismatch",
            "PHL.A.MST_TUNE_RT.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL",
            "MST_TUNE_RT",
        ),
    ]
    assert issues[0].message == "TEAP = 120.0 but TEMP + TUNE = 117.0 (difference 3.0)."
    assert issues[1].expected == "5.8"


def test_rate_tolerance_follows_rounding() -> None:
    index = CrossTableIndex()
    dims = ("REF_AREA", "FREQ", "SEX")
    for measure, value in (("MST_TUNE_NB", "0.7"), ("MST_TEAP_NB", "12.0"), ("MST_TUNE_RT", "6.2")):
        index.add_one(dims, 2, Observation(("PHL", "A", measure, "SEX_T"), "2020", value, {}))
    # 0.65/12.05 = 5.39 % … 0.75/11.95 = 6.28 %: 6.2 is possible.
    assert index.issues() == []
