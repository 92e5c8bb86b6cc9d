"""Where the issues of a filled Excel workbook point: the cell of the component each one names.

A focal point fixes a workbook cell by cell, so an unknown code in the SEX column must name the
SEX cell of its row, a mistyped year its header cell, a value its own cell, and a country taken
from the header block cell B2. The template has years 2015-2020 in columns H-M (header row 6):
A REF_AREA, B SEX, C AGE, D CBR, E SOURCE, F NOTE_SOURCE, G NOTE_INDICATOR, H 2015 … M 2020.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest

from exchange.formats.excel_layout import CellLocation
from exchange.model.store import StructureStore
from exchange.report import Report
from exchange.services.template import write_template
from exchange.services.validate import validate_file
from tests.formats.test_excel import FLOW, read_all
from tests.formats.test_excel import with_header as workbook

TODAY = dt.date(2025, 6, 1)
AGE, CBR = "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL"


@pytest.fixture(scope="module")
def template(store: StructureStore) -> bytes:
    out = io.BytesIO()
    write_template(store, FLOW, out, years=range(2015, 2021))
    return out.getvalue()


def row(number: int, *values: object) -> dict[str, object]:
    """Cells A{number}, B{number}… of one row (None: left empty)."""
    return {f"{chr(65 + i)}{number}": v for i, v in enumerate(values) if v is not None}


def validate(data: bytes, store: StructureStore, reporter: str | None = None) -> Report:
    return validate_file(io.BytesIO(data), "nso.xlsx", store, reporter=reporter, today=TODAY)


def places(report: Report, code: str) -> list[tuple[str | None, str | None, str | None]]:
    """(cell, component, value) of each listed issue of ``code``."""
    return [(i.location.cell, i.location.component, i.location.value) for i in report.by_code(code)]


def test_a_wrong_code_points_at_its_cell_not_at_the_value(
    template: bytes, store: StructureStore
) -> None:
    data = workbook(
        template,
        {
            **row(7, "PHL", "SEX_FEM", AGE, CBR, None, None, None, 12, None, 14),
            **row(8, "PHL", "SEX_F", "AGE_ALLAGES_TOTAL", CBR, None, None, None, 5),
        },
    )
    report = validate(data, store)
    assert places(report, "unknown-code") == [("B7", "SEX", "SEX_FEM")] * 2
    assert places(report, "code-not-allowed") == [("C8", "AGE", "AGE_ALLAGES_TOTAL")]
    assert {i.location.sheet for i in report.issues} == {"Data"}


def test_value_issues_point_at_the_value_cell(template: bytes, store: StructureStore) -> None:
    data = workbook(
        template, row(7, "PHL", "SEX_F", AGE, CBR, None, None, None, 12, "n/a", -3, 1.25, "12,5")
    )
    report = validate(data, store)
    assert places(report, "non-numeric-value") == [
        ("I7", "OBS_VALUE", "n/a"),
        ("L7", "OBS_VALUE", "12,5"),
    ]
    assert places(report, "negative-value") == [("J7", "OBS_VALUE", "-3")]
    assert places(report, "decimals-mismatch") == [("K7", "OBS_VALUE", "1.25")]


def test_a_total_that_does_not_add_up_points_at_the_total_value(
    template: bytes, store: StructureStore
) -> None:
    data = workbook(
        template,
        {
            **row(7, "PHL", "SEX_T", AGE, CBR, None, None, None, 100, 110),
            **row(8, "PHL", "SEX_M", AGE, CBR, None, None, None, 60, 65),
            **row(9, "PHL", "SEX_F", AGE, CBR, None, None, None, 40, 40),
        },
    )
    assert places(validate(data, store), "total-mismatch") == [("I7", "SEX", "SEX_T")]


def test_period_issues_point_at_the_year_header(template: bytes, store: StructureStore) -> None:
    data = workbook(
        template,
        {
            "I6": 20166,  # 2016 mistyped
            "M6": 2099,
            **row(7, "PHL", "SEX_F", AGE, CBR, None, None, None, 12, 13, None, None, None, 17),
        },
    )
    report = validate(data, store)
    assert places(report, "bad-period") == [("I6", "TIME_PERIOD", "20166")]
    assert places(report, "future-period") == [("M6", "TIME_PERIOD", "2099")]


def test_the_reporting_country_points_at_b2_or_at_the_row(
    template: bytes, store: StructureStore
) -> None:
    data = workbook(
        template,
        {
            "B2": "MYS - Malaysia",
            **row(7, None, "SEX_F", AGE, CBR, None, None, None, 12),  # REF_AREA from B2
            **row(8, "SAU", "SEX_M", AGE, CBR, None, None, None, 13),
        },
    )
    report = validate(data, store, reporter="PHL")
    assert places(report, "wrong-reporter") == [
        ("B2", "REF_AREA", "MYS"),
        ("A8", "REF_AREA", "SAU"),
    ]


def test_a_fixed_dimension_points_at_the_header_block(
    template: bytes, store: StructureStore
) -> None:
    data = workbook(
        template,
        {"C4": "MEASURE: MST_TEMP_NBX", **row(7, "PHL", "SEX_F", AGE, CBR, None, None, None, 12)},
    )
    assert places(validate(data, store), "unknown-code") == [("C4", "MEASURE", "MST_TEMP_NBX")]


def test_attribute_issues_point_at_their_column(template: bytes, store: StructureStore) -> None:
    data = workbook(
        template,
        {
            "N6": "Observation status (OBS_STATUS)",  # a column added after the years
            "O6": "UNIT_MULT",
            **row(7, "PHL", "SEX_F", AGE, CBR, None, "x" * 1100, None, 12),
            "N7": "Q",
            "O7": "0",
        },
    )
    report = validate(data, store)
    assert places(report, "text-too-long") == [("F7", "NOTE_SOURCE", "x" * 60 + "…")]
    assert places(report, "unknown-code") == [("N7", "OBS_STATUS", "Q")]
    assert places(report, "unit-mismatch") == [("O7", "UNIT_MULT", "0")]


def test_each_component_of_an_observation_has_its_place(
    template: bytes, store: StructureStore
) -> None:
    data = workbook(
        template, {"B2": "PHL", **row(9, None, "SEX_F", AGE, CBR, "LFS", None, None, None, 12)}
    )
    (obs,) = read_all(data, store)
    assert obs.location == "sheet Data!I9"
    assert isinstance(obs.location, CellLocation)
    cell_of = obs.location.cell_of
    assert {c: cell_of(c) for c in ("OBS_VALUE", "TIME_PERIOD", "SEX", "SOURCE")} == {
        "OBS_VALUE": "sheet Data!I9",
        "TIME_PERIOD": "sheet Data!I6",
        "SEX": "sheet Data!B9",
        "SOURCE": "sheet Data!E9",
    }
    assert cell_of("REF_AREA") == "sheet Data!B2"  # the row left it to the reporting country
    assert cell_of("FREQ") == "sheet Data!B4"  # fixed by the table, in the header block
    assert cell_of("UNIT_MEASURE") == "sheet Data, row 9"  # the table's unit: no cell holds it


def test_a_missing_code_is_reported_at_its_cell_and_the_rest_is_checked(
    template: bytes, store: StructureStore
) -> None:
    data = workbook(
        template,
        {
            **row(7, "PHL", None, AGE, CBR, None, None, None, 12, 13),
            **row(8, "PHL", "SEX_M", None, CBR, None, None, None, 5),
            **row(9, "PHL", "SEX_FEM", AGE, CBR, None, None, None, 7),
        },
    )
    report = validate(data, store)
    assert places(report, "missing-dimension") == [("B7", "SEX", None)] * 2 + [("C8", "AGE", None)]
    assert places(report, "unknown-code") == [("B9", "SEX", "SEX_FEM")]  # read on after row 7
    assert "malformed-message" not in report.counts.by_code


def test_values_under_a_header_that_is_not_a_year_are_errors_at_the_header(
    template: bytes, store: StructureStore
) -> None:
    data = workbook(
        template,
        {
            "I6": "2016-Q1",
            "J6": dt.datetime(2017, 1, 19),  # typed 19/01/2017
            "K6": "2018 (prov.)",
            "L6": None,
            **row(7, "PHL", "SEX_F", AGE, CBR, None, None, None, 1, 2, 3, 4, 5),
            **row(8, "PHL", "SEX_M", AGE, CBR, None, None, None, None, None, None, 6),
        },
    )
    report = validate(data, store)
    assert not report.valid
    assert places(report, "period-frequency-mismatch") == [
        ("I6", "TIME_PERIOD", "2016-Q1"),
        ("J6", "TIME_PERIOD", "2017-01-19"),
    ]
    assert places(report, "bad-period") == [
        ("K6", "TIME_PERIOD", "2018 (prov.)"),
        ("K6", "TIME_PERIOD", "2018 (prov.)"),
    ]
    assert places(report, "missing-dimension") == [("L6", "TIME_PERIOD", None)]
    (missing,) = [i for i in report.issues if i.code == "missing-dimension"]
    assert "period of this value is missing" in missing.message
    assert "year at the head of the column" in (missing.suggestion or "")
    assert report.observations == 6  # each value read, none left out


def test_a_notes_column_is_a_warning_at_its_header(template: bytes, store: StructureStore) -> None:
    data = workbook(
        template,
        {
            "N6": "Comments",
            "O6": "Remarks",  # nothing under it: nothing to say
            **row(7, "PHL", "SEX_F", AGE, CBR, None, None, None, 12),
            "N7": "provisional",
            "N8": "revised",
        },
    )
    report = validate(data, store)
    assert report.valid
    assert [(i.severity, i.location.cell, i.location.component) for i in report.issues] == [
        ("warning", "N6", "Comments")
    ]
