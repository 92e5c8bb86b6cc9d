"""Streaming group checks: windows flushed as the key moves on, bounded memory, never a false
total-mismatch when the data is not ordered by series."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from exchange.formats import registry
from exchange.model.records import MessageInfo, Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.report import Report
from exchange.services.validate import check_file
from exchange.validation import ilms_totals, validate

TODAY = dt.date(2025, 6, 1)
NB = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}
SEXES = {"SEX_T": 10.0, "SEX_M": 6.0, "SEX_F": 4.0}


@pytest.fixture(scope="module")
def schema(store: StructureStore) -> Schema:
    return store.schema("DF_MST_TEMP_SEX_AGE_CBR_NB")


def obs(
    area: str, sex: str, year: int, value: float, age: str = "AGE_10YRBANDS_TOTAL"
) -> Observation:
    key = (area, "A", "MST_TEMP_NB", sex, age, "CBR_BIR_TOTAL")
    return Observation(key, str(year), f"{value:.1f}", NB)


def check(schema: Schema, data: list[Observation]) -> Report:
    return validate(schema, data, today=TODAY)


def codes(report: Report) -> dict[str, int]:
    return dict(report.counts.by_code)


def test_series_order_checks_every_total(schema: Schema) -> None:
    data = [
        obs(area, sex, year, value * (2 if (area, sex, year) == ("PHL", "SEX_T", 2020) else 1))
        for area in ("MYS", "PHL", "THA")
        for sex, value in SEXES.items()
        for year in (2019, 2020)
    ]
    report = check(schema, data)
    assert codes(report) == {"total-mismatch": 1}
    assert report.issues[0].location.series_key == (
        "PHL.A.MST_TEMP_NB.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL"
    )


def test_period_order_works_too(schema: Schema) -> None:
    data = [
        obs(area, sex, year, value)
        for year in (2019, 2020)
        for area in ("MYS", "PHL")
        for sex, value in SEXES.items()
    ]
    assert check(schema, data).issues == []
    data[1] = obs("MYS", "SEX_M", 2019, 7.0)
    assert codes(check(schema, data)) == {"total-mismatch": 1}


def test_unordered_data_gives_no_false_error(schema: Schema) -> None:
    """A group split over windows is not checked in part; a whole window is."""
    split = [
        obs("PHL", "SEX_T", 2020, 10.0),
        obs("MYS", "SEX_T", 2020, 10.0),  # PHL's window closes with SEX_T only
        obs("PHL", "SEX_M", 2020, 6.0),
        obs("PHL", "SEX_F", 2020, 4.0),
        obs("MYS", "SEX_M", 2020, 6.0),
        obs("MYS", "SEX_F", 2020, 4.5),  # wrong, but its total was in another window
    ]
    assert check(schema, split).issues == []


def test_duplicates_found_by_year_bits_and_hashes(schema: Schema) -> None:
    data = [obs("PHL", "SEX_T", 2020, 10.0), obs("MYS", "SEX_T", 2020, 10.0)]
    data.append(obs("PHL", "SEX_T", 2020, 10.0))  # same series again, later
    report = validate(schema, data, today=TODAY, rules=("structure",))
    assert codes(report) == {"duplicate-observation": 1}
    old = Observation(data[0].key, "1850", "1.0", NB)  # before the first year with a bit
    report = validate(schema, [old, data[1], old], today=TODAY, rules=("structure",))
    assert codes(report) == {"duplicate-observation": 1}


def test_too_many_open_groups_are_counted_not_guessed(
    schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ilms_totals, "MAX_OPEN_GROUPS", 2)
    ages = ["AGE_10YRBANDS_TOTAL", "AGE_10YRBANDS_Y15-24", "AGE_10YRBANDS_Y25-34"]
    data = [
        obs("PHL", sex, year, value, age)
        for sex, value in SEXES.items()
        for age in ages
        for year in (2019, 2020)
    ]
    report = validate(schema, data, today=TODAY, rules=("ilms",))
    assert "total-mismatch" not in codes(report)
    assert codes(report).get("groups-not-checked", 0) == 1
    assert report.valid


def test_implausible_change_streams_per_series(schema: Schema) -> None:
    data = [obs("PHL", "SEX_T", 2018, 10.0), obs("MYS", "SEX_T", 2018, 10.0)]
    data += [obs("PHL", "SEX_T", 2019, 40.0), obs("MYS", "SEX_T", 2019, 11.0)]
    report = validate(schema, data, today=TODAY, rules=("ilms",))
    assert [(i.code, i.location.period) for i in report.issues] == [("implausible-change", "2019")]


def test_a_file_checked_part_by_part_reports_once_whatever_asks_again(
    schema: Schema, store: StructureStore
) -> None:
    """What a push does: take the parts as they are checked, then ask for the report — the
    totals still open at the end are checked once, however often the report is asked for."""
    data = [
        obs("PHL", sex, year, value * (2 if (sex, year) == ("SEX_T", 2020) else 1))
        for sex, value in SEXES.items()
        for year in (2019, 2020)
    ]
    body = io.BytesIO()
    registry.by_name("sdmx-csv-1.0").writer(MessageInfo(schema), iter(data), body)
    checking = check_file(io.BytesIO(body.getvalue()), "phl.csv", store, today=TODAY)
    parts = list(checking.parts())
    assert sum(map(len, parts)) == len(data)
    assert checking.clean  # the total is only checked when the stream ends
    first, again = checking.report(), checking.report()
    assert codes(first) == codes(again) == {"total-mismatch": 1}
    assert not first.valid and not checking.clean  # now the error is known


def test_a_total_found_wrong_in_lanes_is_reported_as_written(schema: Schema) -> None:
    """Long series go the batch path, whose runs keep their values in lanes and not their
    texts: the issue still quotes the values as written and the row of the total."""
    years = range(2010, 2020)
    values = {"SEX_T": "1234.5", "SEX_M": "700.0", "SEX_F": "534.5"}
    data = [
        Observation(
            ("PHL", "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL"),
            str(year),
            "1240.5" if (sex, year) == ("SEX_T", 2015) else value,
            NB,
            location=f"row {row}",
        )
        for row, (sex, value, year) in enumerate(
            ((s, v, y) for s, v in sorted(values.items()) for y in years), start=2
        )
    ]
    report = check(schema, data)
    assert codes(report) == {"total-mismatch": 1}
    issue = report.issues[0]
    assert issue.message == "SEX_T = 1240.5 but SEX_M + SEX_F = 1234.5 (difference 6.0)."
    assert (issue.location.row, issue.location.period) == (27, "2015")


@pytest.mark.parametrize("gaps", [(0,), (0, 1), (3,), (0, 4)])
def test_empty_values_in_long_series_need_a_status(schema: Schema, gaps: tuple[int, ...]) -> None:
    """Empty values at the start of a series (cut off as a slice) or inside it: each one
    without OBS_STATUS is reported, once, at its row; with N they are fine. (A first series
    alike makes the periods and attributes known, so that the second goes the batch path.)"""
    noted = {**NB, "OBS_STATUS": "N"}

    def series(sex: str, status: bool, gaps: tuple[int, ...], first: int) -> list[Observation]:
        key = ("PHL", "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
        return [
            Observation(
                key,
                str(2010 + i),
                None if i in gaps else f"{100 + i}.0",
                noted if status and i in gaps else NB,
                location=f"row {first + i}",
            )
            for i in range(8)
        ]

    assert check(schema, series("SEX_F", True, gaps, 2) + series("SEX_M", True, gaps, 10)).valid
    report = check(schema, series("SEX_F", False, gaps, 2) + series("SEX_M", False, gaps, 10))
    assert [(i.code, i.location.row) for i in report.issues] == [
        ("missing-value", first + i) for first in (2, 10) for i in gaps
    ]
