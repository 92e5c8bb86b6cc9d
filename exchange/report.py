"""Validation reports: what is wrong with a submission and where, for people who are not coders.

A :class:`Report` is the one result of validating data (ARCHITECTURE.md, "Errors and reports"):
validation never raises for bad data, it returns a report. Each :class:`Issue` carries a stable
``code`` from the catalogue in ``exchange.validation.catalogue`` (the codes are a public contract,
documented in ``docs/validation.md``), a severity, a plain-English message and a :class:`Location`
a focal point can find in their own file: line/column, CSV row, spreadsheet cell, series key,
period, component and value.

Reports stay small whatever the file: :class:`ReportBuilder` keeps at most ``max_issues`` issues
per code and only counts the rest (a wrong code repeated in a million rows is one problem, shown a
hundred times, counted a million times). Renderings: JSON (round-trips to the model), terminal
text, a self-contained HTML page and an SDMX-ML 2.1 ``Error`` message.

This module imports nothing from the project (layering rule): the severity of a code is passed in
by the caller.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

__all__ = ["Issue", "Location", "Report", "ReportBuilder", "Severity", "location_from_text"]

_FROZEN = ConfigDict(frozen=True)


class Severity(str, Enum):
    """How bad an issue is: only errors make a submission invalid."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Location(BaseModel):
    """Where an issue is, in the terms of the file the focal point sent and of the data."""

    model_config = _FROZEN

    file: str | None = None
    line: int | None = None
    column: int | None = None
    row: int | None = None
    sheet: str | None = None
    cell: str | None = None
    series_key: str | None = None
    period: str | None = None
    component: str | None = None
    value: str | None = None

    def describe(self, periods: Sequence[str] = ()) -> str:
        """A short English phrase: ``row 7, series PHL.A.…, period 2020, SEX = "SEX_FEM"``;
        with ``periods`` (an issue found alike in several), ``periods 2015, 2016, 2017``."""
        parts: list[str] = []
        if self.file:
            parts.append(f"file {self.file}")
        if self.sheet:
            parts.append(f"sheet {self.sheet}" + (f" cell {self.cell}" if self.cell else ""))
        elif self.cell:
            parts.append(f"cell {self.cell}")
        if self.line is not None:
            parts.append(f"line {self.line}" + (f" column {self.column}" if self.column else ""))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.series_key:
            parts.append(f"series {self.series_key}")
        if len(periods) > 1:
            listed = ", ".join(periods[:_PERIODS_LISTED])
            more = len(periods) - _PERIODS_LISTED
            parts.append(f"periods {listed}" + (f" and {more} more" if more > 0 else ""))
        elif self.period:
            parts.append(f"period {self.period}")
        if self.component:
            shown = f' = "{self.value}"' if self.value is not None else ""
            parts.append(f"{self.component}{shown}")
        return ", ".join(parts) or "the whole message"


def location_from_text(text: str | None) -> dict[str, Any]:
    """Fields of a :class:`Location` from a reader's location text.

    Readers say ``"line 12"``, ``"line 12, column 5"``, ``"row 7"`` or ``"sheet Data!F7"``;
    anything else is kept as ``file`` so it is never lost.
    """
    if not text:
        return {}
    fields: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        word, _, rest = part.partition(" ")
        rest = rest.strip()
        if word in ("line", "column", "row") and rest.isdigit():
            fields[word] = int(rest)
        elif word == "sheet" and rest:
            sheet, _, cell = rest.rpartition("!") if "!" in rest else (rest, "", "")
            fields["sheet"] = sheet
            if cell:
                fields["cell"] = cell
        else:
            fields["file"] = part
    return fields


class Issue(BaseModel):
    """One problem: a stable code, a severity, a message, where it is, and how to fix it."""

    model_config = _FROZEN

    code: str
    severity: Severity
    message: str
    location: Location = Field(default_factory=Location)
    expected: str | None = None
    suggestion: str | None = None


class Counts(BaseModel):
    """How many issues were found, listed or not."""

    model_config = _FROZEN

    by_severity: dict[Severity, int] = Field(default_factory=dict)
    by_code: dict[str, int] = Field(default_factory=dict)


class Report(BaseModel):
    """The result of validating one submission (frozen; ``valid`` is derived)."""

    model_config = _FROZEN

    source: str | None = None
    dataflow: str | None = None
    observations: int = 0
    issues: list[Issue] = Field(default_factory=list)
    counts: Counts = Field(default_factory=Counts)
    truncated: dict[str, int] = Field(default_factory=dict)
    titles: dict[str, str] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def valid(self) -> bool:
        """True when no issue of severity ``error`` was found (warnings do not count)."""
        return self.counts.by_severity.get(Severity.ERROR, 0) == 0

    def count(self, severity: Severity) -> int:
        return self.counts.by_severity.get(severity, 0)

    def codes(self) -> list[str]:
        """Issue codes found, most severe first, then by frequency."""
        rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        severity = {i.code: i.severity for i in self.issues}
        return sorted(
            self.counts.by_code,
            key=lambda c: (rank[severity.get(c, Severity.ERROR)], -self.counts.by_code[c], c),
        )

    def by_code(self, code: str) -> list[Issue]:
        return [i for i in self.issues if i.code == code]

    # -- renderings ---------------------------------------------------------------------------
    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def verdict(self) -> str:
        errors, warnings = self.count(Severity.ERROR), self.count(Severity.WARNING)
        state = "VALID" if self.valid else "NOT VALID"
        return (
            f"{state}: {_n(errors, 'error')}, {_n(warnings, 'warning')} "
            f"in {_n(self.observations, 'observation')} read"
        )

    def _title(self) -> str:
        what = self.source or "submission"
        return f"Validation report for {what}" + (f" ({self.dataflow})" if self.dataflow else "")

    def to_text(self, max_examples: int = 5) -> str:
        """A terminal report: verdict and counts, then per code its count and first examples."""
        lines = [self._title(), self.verdict()]
        for code in self.codes():
            examples = self.by_code(code)
            total = self.counts.by_code[code]
            severity = examples[0].severity.value if examples else "error"
            title = self.titles.get(code, code)
            lines += ["", f"[{severity}] {code}: {title} ({_n(total, 'time')})"]
            shown, standing = _examples(examples, max_examples)
            for number, (issue, where) in enumerate(shown, 1):
                lines.append(f"  {number}. {where}: {issue.message}")
                if issue.suggestion:
                    lines.append(f"     Suggestion: {issue.suggestion}")
            more = total - standing
            if more > 0:
                lines.append(f"  … and {more:,} more.")
        if not self.counts.by_code:
            lines += ["", "No problems found."]
        return "\n".join(lines) + "\n"

    def to_html(self, max_examples: int = 100) -> str:
        """A self-contained HTML page (no scripts, no external files), every text escaped."""
        esc = html.escape
        body = [f"<h1>{esc(self._title())}</h1>", f"<p class=verdict>{esc(self.verdict())}</p>"]
        columns = ("Where", "Message", "Expected", "Suggestion")
        for code in self.codes():
            examples, standing = _examples(self.by_code(code), max_examples)
            total = self.counts.by_code[code]
            title = f"{code}: {self.titles.get(code, code)} ({_n(total, 'time')})"
            body.append(f"<h2 id={esc(code, quote=True)}>{esc(title)}</h2>")
            rows = "".join(
                "<tr>"
                + "".join(
                    f"<td>{esc(cell or '')}</td>"
                    for cell in (where, i.message, i.expected, i.suggestion)
                )
                + "</tr>"
                for i, where in examples
            )
            head = "".join(f"<th>{c}</th>" for c in columns)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            if total > standing:
                body.append(f"<p>… and {total - standing:,} more.</p>")
        style = (
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.3em;text-align:left}"
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(self._title())}</title><style>{style}</style></head>"
            f"<body>{''.join(body)}</body></html>\n"
        )

    def to_sdmx_error(self, max_examples: int = 5) -> bytes:
        """An SDMX-ML 2.1 ``Error`` message: one ``ErrorMessage`` per issue code.

        The first ``Text`` summarises the code and its count, the next ones are examples. A
        report without issues still yields a schema-valid message (code ``valid``).
        """
        messages: list[str] = []
        for code in self.codes():
            total = self.counts.by_code[code]
            texts = [f"{code}: {self.titles.get(code, code)} ({_n(total, 'time')})"]
            shown, _ = _examples(self.by_code(code), max_examples)
            texts += [f"{where}: {i.message}" for i, where in shown]
            messages.append(_error_message(code, texts))
        if not messages:
            messages.append(_error_message("valid", [self.verdict()]))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<mes:Error xmlns:mes="{_MES}" xmlns:com="{_COM}">{"".join(messages)}</mes:Error>\n'
        ).encode()


#: periods named one by one where one issue is shown for several
_PERIODS_LISTED = 8


def _examples(issues: list[Issue], limit: int) -> tuple[list[tuple[Issue, str]], int]:
    """Up to ``limit`` examples to show, each (issue, where it is), and how many of ``issues``
    they stand for.

    Why: one wrong code in a row of an Excel workbook is one issue per year of the row, all at
    the same cell: a focal point should see it once, with its years. Issues that follow one
    another and differ in their period only are shown as one (the JSON report keeps each).
    """
    groups: list[tuple[Issue, list[str]]] = []
    standing = 0
    for issue in issues:
        if groups and _alike(groups[-1][0], issue):
            groups[-1][1].append(issue.location.period or "")
        elif len(groups) == limit:
            break
        else:
            groups.append((issue, [issue.location.period or ""]))
        standing += 1
    return [(i, i.location.describe(periods)) for i, periods in groups], standing


def _alike(first: Issue, other: Issue) -> bool:
    """The same issue at the same place, in another period."""
    if first.location.period is None or other.location.period is None:
        return False
    unperiodic = {"period": None}
    return first.model_copy(
        update={"location": first.location.model_copy(update=unperiodic)}
    ) == other.model_copy(update={"location": other.location.model_copy(update=unperiodic)})


_MES = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
_COM = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"


def _xml(text: str) -> str:
    """Escape text for XML content or attributes, dropping characters XML 1.0 forbids."""
    clean = "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
    return html.escape(clean, quote=True)


def _error_message(code: str, texts: list[str]) -> str:
    inner = "".join(f'<com:Text xml:lang="en">{_xml(t)}</com:Text>' for t in texts)
    return f'<mes:ErrorMessage code="{_xml(code)}">{inner}</mes:ErrorMessage>'


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class ReportBuilder:
    """Accumulates issues with a per-code cap, counting those beyond it, then builds a Report."""

    def __init__(
        self,
        *,
        source: str | None = None,
        dataflow: str | None = None,
        max_issues: int = 100,
        titles: dict[str, str] | None = None,
    ) -> None:
        self.source = source
        self.dataflow = dataflow
        self.max_issues = max_issues
        self.titles = dict(titles or {})
        self.observations = 0
        self._issues: list[Issue] = []
        self._by_code: dict[str, int] = {}
        self._by_severity: dict[Severity, int] = {}

    @property
    def errors(self) -> int:
        """How many issues of severity error were added so far (listed or only counted)."""
        return self._by_severity.get(Severity.ERROR, 0)

    def wants(self, code: str) -> bool:
        """Whether another issue of ``code`` would still be listed (not only counted)."""
        return self._by_code.get(code, 0) < self.max_issues

    def add(self, issue: Issue) -> None:
        self.add_lazy(issue.code, issue.severity, lambda: issue)

    def add_lazy(self, code: str, severity: Severity, build: Callable[[], Issue]) -> None:
        """Count an issue; build it only if it will be listed (saves work past the cap)."""
        if self.wants(code):
            self._issues.append(build())
        self._by_code[code] = self._by_code.get(code, 0) + 1
        self._by_severity[severity] = self._by_severity.get(severity, 0) + 1

    def build(self) -> Report:
        truncated = {
            code: n - self.max_issues for code, n in self._by_code.items() if n > self.max_issues
        }
        return Report(
            source=self.source,
            dataflow=self.dataflow,
            observations=self.observations,
            issues=list(self._issues),
            counts=Counts(by_severity=dict(self._by_severity), by_code=dict(self._by_code)),
            truncated=truncated,
            titles={c: t for c, t in self.titles.items() if c in self._by_code},
        )
