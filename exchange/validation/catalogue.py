"""The catalogue of issue codes, and the small helpers every check uses to report one.

The codes are a public contract (ARCHITECTURE.md, "Errors and reports"): tools and people filter
on them, so a code is never renamed or reused for another meaning. Each entry is
``code → (severity, title, description, example message)``; ``docs/validation.md`` is generated
from it by :func:`render_markdown` (a test keeps the file up to date).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.report import Issue, Location, ReportBuilder, Severity, location_from_text

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


class Entry(NamedTuple):
    severity: Severity
    title: str
    description: str
    example: str


CATALOGUE: dict[str, Entry] = {
    # -- message level (readers, services) ------------------------------------------------------
    "malformed-message": Entry(
        E,
        "The file cannot be read",
        (
            "The file is not well-formed XML, CSV, JSON or Excel, or is cut short; nothing after "
            "the problem can be read."
        ),
        "line 1204: the XML element Series is not closed.",
    ),
    "schema-invalid": Entry(
        E,
        "The message does not follow the SDMX schema",
        (
            "The file is readable but breaks the SDMX-ML schema (XSD): an element or attribute "
            "is misplaced, missing or not part of the table's structure. Checked up to 32 MB: "
            "SDMX-ML 2.1 generic data against the official XSD, structure-specific SDMX-ML 2.1 "
            "and 3.0 data also against the table's own XSD. A wrong code, period or value, or a "
            "missing dimension, is reported with its own code, not as this one."
        ),
        "line 3: element 'Header' is missing the required 'Prepared' element.",
    ),
    "unknown-structure": Entry(
        E,
        "Unknown dataflow or data structure",
        "The message refers to a dataflow or DSD this service does not know.",
        "The dataflow ILO:DF_MST_TEMP_SEX_AGE_NB(1.0) is not known; check the table id.",
    ),
    "unknown-component": Entry(
        E,
        "Unknown column or attribute",
        "A column, dimension or attribute name is not part of the table's structure.",
        'The column "GENDER" is not part of DF_MST_TEMP_SEX_AGE_CBR_NB.',
    ),
    # -- structure (any DSD) --------------------------------------------------------------------
    "missing-dimension": Entry(
        E,
        "A dimension value is missing",
        "Every observation needs a value for every dimension and for the time period.",
        "AGE has no value.",
    ),
    "unknown-code": Entry(
        E,
        "Code not in the codelist",
        "A dimension or attribute value is not a code of its codelist (often a typing error).",
        'SEX = "SEX_FEM" is not a code of this table. Did you mean SEX_F?',
    ),
    "code-not-allowed": Entry(
        E,
        "Code not allowed in this table",
        (
            "The code exists in the codelist but the table (dataflow constraint) does not accept "
            "it, e.g. another classification version."
        ),
        'AGE = "AGE_YTHBANDS_Y15-19" exists but is not accepted in DF_MST_TEMP_SEX_AGE_CBR_NB.',
    ),
    "bad-period": Entry(
        E,
        "Time period not understood",
        "The time period is not in an SDMX format (2020, 2020-Q1, 2020-01, 2020-01-31, …).",
        'TIME_PERIOD "20/01/2020" is not a time period.',
    ),
    "period-frequency-mismatch": Entry(
        E,
        "Time period does not match the frequency",
        "The period's format does not match FREQ (an annual series needs YYYY).",
        'TIME_PERIOD "2020-Q1" is quarterly but FREQ is A (annual).',
    ),
    "period-not-annual": Entry(
        E,
        "ILMS periods are years",
        "ILMS tables are annual: TIME_PERIOD must be a year written YYYY.",
        'TIME_PERIOD "2020-A1" must be written 2020.',
    ),
    "missing-value": Entry(
        E,
        "Observation value is empty",
        (
            "OBS_VALUE is empty and no OBS_STATUS explains why (e.g. N = not available, C = "
            "confidential)."
        ),
        "OBS_VALUE is empty and OBS_STATUS does not say why.",
    ),
    "non-numeric-value": Entry(
        E,
        "Observation value is not a number",
        "OBS_VALUE must be a number written with a dot for decimals and no thousands separators.",
        'OBS_VALUE "1,234.5" is not a number. Write 1234.5.',
    ),
    "missing-attribute": Entry(
        E,
        "Mandatory attribute missing",
        "An attribute the structure declares mandatory has no value.",
        "The mandatory attribute UNIT_MEASURE has no value.",
    ),
    "attribute-inconsistent": Entry(
        E,
        "Attribute differs within its series",
        (
            "An attribute attached to a series or part of the key must have one value for the "
            "whole of it."
        ),
        'SOURCE is "LFS - Labour Force Survey" here but "Census" earlier for PHL.MST_TEMP_NB.2020.',
    ),
    "duplicate-observation": Entry(
        E,
        "Observation reported twice",
        "The same series key and period appear more than once.",
        "PHL.A.MST_TEMP_NB.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL for 2020 is reported twice.",
    ),
    "text-too-long": Entry(
        E,
        "Text too long",
        "A text attribute is longer than the structure allows.",
        "NOTE_SOURCE has 1,530 characters; at most 1,024 are allowed.",
    ),
    # -- ILMS content rules (ILMS-STRUCTURES.md §5) -----------------------------------------------
    "negative-value": Entry(
        E,
        "Negative value",
        "Counts, rates and earnings cannot be negative.",
        "OBS_VALUE -3.2 is negative.",
    ),
    "rate-out-of-range": Entry(
        E,
        "Rate above 100",
        "A rate (percentage) must be between 0 and 100.",
        "The rate 112.5 is above 100.",
    ),
    "unit-mismatch": Entry(
        E,
        "Unit differs from the table's unit",
        (
            "UNIT_MEASURE_TYPE, UNIT_MEASURE and UNIT_MULT must be those of the table (counts in "
            "thousands of persons, rates in percent, earnings in local currency)."
        ),
        'UNIT_MULT is "0" but this table is in thousands (3).',
    ),
    "decimals-mismatch": Entry(
        W,
        "More decimals than declared",
        "The value has more decimals than DECIMALS (or the table's usual number of decimals) says.",
        "OBS_VALUE 12.345 has 3 decimals but DECIMALS is 1.",
    ),
    "future-period": Entry(
        E,
        "Period in the future",
        "Data cannot be reported for a year that has not started.",
        "TIME_PERIOD 2031 is in the future.",
    ),
    "total-mismatch": Entry(
        E,
        "Total is not the sum of its parts",
        (
            "A total (SEX_T, …_TOTAL) must equal the sum of its categories, within rounding (half"
            " a unit of the last decimal per value)."
        ),
        "SEX_T = 100.0 but SEX_M + SEX_F = 96.0 (difference 4.0).",
    ),
    "migrants-exceed-total": Entry(
        E,
        "Migrants exceed the total",
        "The foreign-born or non-citizen part cannot exceed the total for the same breakdown.",
        "CBR_BIR_FOREIGN = 120.0 is greater than CBR_BIR_TOTAL = 100.0.",
    ),
    "identity-mismatch": Entry(
        E,
        "Labour-force identity does not hold",
        (
            "Across tables, those of the submission and those already stored: working-age "
            "population = labour force + outside the labour force; labour force = employed + "
            "unemployed."
        ),
        "TEAP = 50.0 but TEMP + TUNE = 47.0 (difference 3.0).",
    ),
    "rate-mismatch": Entry(
        E,
        "Rate does not match the counts",
        (
            "A rate must be recomputable from the counts (TUNE_RT = TUNE / TEAP x 100, TEAP_RT = "
            "TEAP / XWAP x 100, TEMP_RT = TEMP / XWAP x 100)."
        ),
        "TUNE_RT = 9.0 but TUNE / TEAP x 100 = 6.0.",
    ),
    "implausible-change": Entry(
        W,
        "Implausible change from one year to the next",
        (
            "A value changes by more than the allowed factor (3x) from one year to the next: "
            "please check."
        ),
        "From 2019 to 2020 the value goes from 10.0 to 45.0 (a factor of 4.5).",
    ),
    "groups-not-checked": Entry(
        I,
        "Some totals were not checked",
        (
            "Totals are checked as the data streams by; in data not ordered by series key, some "
            "could not be checked with all their categories and were left out."
        ),
        "1,204 totals could not be checked: the data is not ordered by series key.",
    ),
    "wrong-reporter": Entry(
        E,
        "Data for another country",
        "A country may only submit observations for its own REF_AREA.",
        'REF_AREA is "MYS" but this submission is from PHL.',
    ),
}


def title_of(code: str) -> str:
    return CATALOGUE[code].title


def titles() -> dict[str, str]:
    return {code: entry.title for code, entry in CATALOGUE.items()}


def render_markdown() -> str:
    """The text of ``docs/validation.md``: every code with severity, meaning and an example."""
    lines = [
        "# Validation issue codes",
        "",
        "<!-- Generated by exchange.validation.catalogue.render_markdown(); do not edit. -->",
        "",
        "Every problem found in a submission has one of these codes. The codes are a public",
        "contract: they are never renamed. Only **error** makes a submission invalid; a",
        "**warning** asks you to check a value.",
        "",
        "Each problem also says where it is: the row of an SDMX-CSV file, the line of an SDMX-ML",
        "file, the series and period, and in an Excel workbook the sheet and cell of what the",
        "problem is about: a code at its cell (in its column, or in the header block: B2 for the",
        "reporting country, row 4 for the fixed dimensions), a period at its year's header cell,",
        "a value, a total or a repeated observation at the value's cell. A problem found alike",
        "in several periods at the same place (one wrong code in a row of an Excel workbook) is",
        "shown once in the text and HTML reports, with its periods; it counts once per period.",
        "",
        "| code | severity | meaning | example message |",
        "|---|---|---|---|",
    ]
    for code, entry in CATALOGUE.items():
        cells = (f"`{code}`", entry.severity.value, f"**{entry.title}.** {entry.description}")
        example = entry.example.replace("|", "\\|")
        lines.append(f"| {' | '.join(cells)} | {example} |")
    return "\n".join(lines) + "\n"


class Place:
    """An observation being checked, turned into a :class:`Location` only when reported.

    The location is the reader's text (``line 12``, ``row 7``, ``sheet Data!H7``). A reader
    whose observations have a place per component (the Excel workbook: a cell per column) gives
    a ``str`` with a method ``cell_of(component) -> str``; the issue then points at the cell of
    the component it names. Asked here only, when an issue is listed: nothing per observation.
    """

    __slots__ = ("obs", "schema")

    def __init__(self, schema: Schema, obs: Observation) -> None:
        self.schema = schema
        self.obs = obs

    @property
    def series_key(self) -> str:
        return ".".join(self.obs.key)

    def at(self, component: str | None = None, value: str | None = None) -> Location:
        where = self.obs.location
        if component is not None and where is not None and type(where) is not str:
            cell_of: Callable[[str], str] | None = getattr(where, "cell_of", None)
            if cell_of is not None:
                where = cell_of(component)
        return Location(
            **location_from_text(where),
            series_key=self.series_key,
            period=self.obs.period,
            component=component,
            value=value,
        )


class Emitter:
    """Reports issues into a :class:`ReportBuilder`, looking their severity up in the catalogue."""

    def __init__(self, builder: ReportBuilder) -> None:
        self.builder = builder
        #: issues reported so far (listed or only counted): tells a check that found nothing
        self.count = 0

    def __call__(
        self,
        code: str,
        message: str,
        place: Place,
        component: str | None = None,
        value: str | None = None,
        *,
        expected: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        """An issue at one observation; its Location is built only if it will be listed."""
        self.lazy(
            code,
            lambda: make_issue(code, message, place.at(component, value), expected, suggestion),
        )

    def at(
        self,
        code: str,
        message: str,
        location: Location,
        *,
        expected: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        """An issue at a location that is not one observation (a group, a whole series)."""
        self.lazy(code, lambda: make_issue(code, message, location, expected, suggestion))

    def lazy(self, code: str, build: Callable[[], Issue]) -> None:
        """An issue built only if it will be listed (messages of group checks cost Decimals)."""
        self.count += 1
        self.builder.add_lazy(code, CATALOGUE[code].severity, build)


class Probe(Emitter):
    """An emitter that only counts: tells whether a check would report, reporting nothing.

    The batch path asks a check about one observation before vouching for a whole series;
    if the check would report, the series goes through the exact path, which reports.
    """

    def __init__(self) -> None:
        super().__init__(ReportBuilder(max_issues=0))

    def __call__(
        self,
        code: str,
        message: str,
        place: Place,
        component: str | None = None,
        value: str | None = None,
        *,
        expected: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.count += 1


def make_issue(
    code: str,
    message: str,
    location: Location | None = None,
    expected: str | None = None,
    suggestion: str | None = None,
) -> Issue:
    return Issue(
        code=code,
        severity=CATALOGUE[code].severity,
        message=message,
        location=location or Location(),
        expected=expected,
        suggestion=suggestion,
    )
