"""Validate a data file: open it (any format, compressed or not), check it, return a Report.

The composition ``ilms validate`` and the REST service share (ARCHITECTURE.md, "Errors and
reports"): :func:`~exchange.services.convert.open_data` decompresses, sniffs and starts reading;
:func:`~exchange.validation.validate` checks the observations as they stream by. Whatever is
wrong with the *data* becomes an issue in the Report, never an exception:

- a reader's :class:`~exchange.errors.MalformedData`, raised on the header or in the middle of
  the file, becomes one ``malformed-message`` issue at the reader's location (row, line/column,
  sheet cell); the observations read before it are still validated and counted;
- a message naming a dataflow or DSD the store does not know (or naming none, when no dataflow
  is given) becomes ``unknown-structure``;
- the reader's warnings (columns or attributes not in the table, which are ignored) become
  ``unknown-component`` issues of severity *warning*: the data is still read without them;
- an SDMX-ML message that breaks the official XSD gets one ``schema-invalid`` issue per XSD
  error, at its line and column (:func:`xsd_issues`: which messages and up to what size).

What raises is a *usage* problem, not the data's: a dataflow the caller names that does not exist
(:class:`~exchange.errors.NotFound`), an unknown ``fmt``, and :class:`~exchange.errors.TooLarge`
— an input beyond the service's size limit is refused as a whole (HTTP 413, ``ilms`` exit 2)
rather than reported as half-validated, since the part beyond the limit was never looked at.
"""

from __future__ import annotations

import datetime as dt
import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO, TypedDict, Unpack

from exchange.errors import InvalidRequest, MalformedData, NotFound
from exchange.formats.registry import Resolver
from exchange.model.catalog import SchemaSource
from exchange.model.records import DataStream, Observation
from exchange.model.refs import ArtefactRef
from exchange.model.schema import Schema
from exchange.report import Issue, Location, Report, Severity, location_from_text
from exchange.services.convert import open_data, resolver_for
from exchange.services.xsd_check import xsd_issues
from exchange.validation import StoredData, Validation
from exchange.validation.catalogue import make_issue, titles
from exchange.validation.engine import collector_paused

__all__ = ["FileCheck", "check_file", "full_codes_for", "validate_file"]

RULES: tuple[str, ...] = ("structure", "ilms")
#: source → (dataflow or DSD → component id → all codes of its codelist)
_FULL_CODES: weakref.WeakKeyDictionary[
    SchemaSource, dict[ArtefactRef, Mapping[str, frozenset[str]]]
] = weakref.WeakKeyDictionary()
_LINE_COLUMN = re.compile(r"(\d+):(\d+)")
_IGNORED = re.compile(r"ignored (?:column|attribute)s? not in \S+: (.+)$")


def full_codes_for(store: SchemaSource, schema: Schema) -> Mapping[str, frozenset[str]]:
    """Component id → every code of its codelist, built once per schema and cached per source.

    Lets the report tell a code that does not exist (``unknown-code``, often a typo) from one
    the dataflow's constraint excludes (``code-not-allowed``). Another agency's DSD without its
    codelists simply has no entry for those components.
    """
    cache = _FULL_CODES.setdefault(store, {})
    key = schema.dataflow or schema.dsd
    if key not in cache:
        cache[key] = store.full_codes(schema)
    return cache[key]


class FileOptions(TypedDict, total=False):
    """What :func:`validate_file` passes on to :func:`check_file` (documented there)."""

    dataflow: str | None
    fmt: str | None
    max_issues: int
    reporter: str | None
    rules: Sequence[str]
    today: dt.date | None
    stored: StoredData | None


def validate_file(
    source: BinaryIO, name: str, store: SchemaSource, **options: Unpack[FileOptions]
) -> Report:
    """Validate one data file against the structure it names (or ``dataflow``).

    The options are :func:`check_file`'s. Raises only for usage problems (see the module
    docstring); bad data gives a Report.
    """
    checking = check_file(source, name, store, **options)
    with collector_paused():
        for _ in checking.parts():
            pass
        report = checking.report()
        del checking  # its state goes now, before the collector runs again: less to scan
    return report


class FileCheck:
    """A data file being validated, for a caller that uses each part of it once checked.

    Made by :func:`check_file`. :meth:`parts` gives the observations a part at a time (empty
    when the message could not be opened), :attr:`clean` says whether no error was found so far,
    and :meth:`report` (after the last part) gives what :func:`validate_file` would have.
    """

    def __init__(
        self,
        name: str,
        stream: DataStream | None,
        validation: Validation | None,
        *,
        opening: Report | None = None,
        invalid: Sequence[Issue] = (),
    ) -> None:
        self.name, self.stream, self.validation = name, stream, validation
        self._report, self._invalid = opening, list(invalid)

    @property
    def clean(self) -> bool:
        """No error so far (the XSD, the reader and every check that reported yet)."""
        return (
            self.validation is not None
            and not self._invalid
            and self.validation.stopped is None
            and self.validation.errors == 0
        )

    def parts(self) -> Iterator[list[Observation]]:
        if self.stream is None or self.validation is None:
            return iter(())
        return self.validation.checked(self.stream.observations, until=(MalformedData,))

    def report(self) -> Report:
        """The Report, once every part was taken (asked again, the same Report: the checks
        that close at the end of the stream must run once)."""
        if self._report is None:
            self._report = self._build()
        return self._report

    def _build(self) -> Report:
        assert self.stream is not None and self.validation is not None
        report = self.validation.report()
        first = [warning_issue(w, self.name) for w in self.stream.info.warnings]
        failure = self.validation.stopped
        if isinstance(failure, MalformedData):
            first.insert(0, malformed_issue(failure, self.name))
        if first:
            report = with_issues(report, first)
        if not self._invalid or "malformed-message" in report.counts.by_code:
            return report
        return with_issues(report, self._invalid)


def check_file(
    source: BinaryIO,
    name: str,
    store: SchemaSource,
    *,
    dataflow: str | None = None,
    fmt: str | None = None,
    max_issues: int = 100,
    reporter: str | None = None,
    rules: Sequence[str] = RULES,
    today: dt.date | None = None,
    stored: StoredData | None = None,
) -> FileCheck:
    """Open ``source`` for validation as it is read: :meth:`FileCheck.parts`, then
    :meth:`FileCheck.report`.

    ``dataflow`` is the structure to validate against when the file does not name one (or to
    insist on); ``fmt`` a format name when sniffing should not decide; ``reporter`` the data
    provider whose ``REF_AREA`` alone the file may hold; ``rules`` the rule sets
    (``structure``, ``ilms``); ``today`` the date "future periods" are judged against;
    ``stored`` (e.g. :class:`~exchange.services.stored_lookup.StoredLookup` over the service's
    store) lets the cross-table rules compare the file with the tables already stored.
    """
    if dataflow is not None:
        store.schema_for(dataflow)  # NotFound: the caller named a dataflow we do not know
    unknown: list[str] = []
    resolve = _recording(resolver_for(store, dataflow), unknown)
    invalid = xsd_issues(source, name, fmt, max_issues, store=store)
    try:
        _, stream = open_data(source, name, resolve, fmt=fmt)
    except MalformedData as exc:
        return FileCheck(
            name, None, None, opening=_message_report(name, [malformed_issue(exc, name)])
        )
    except (NotFound, InvalidRequest) as exc:
        if unknown:
            opening = _message_report(name, [_unknown_structure(unknown[0], exc)])
            return FileCheck(name, None, None, opening=opening)
        raise
    schema = stream.info.schema
    validation = Validation(
        stream.info,
        full_codes=full_codes_for(store, schema),
        max_issues=max_issues,
        rules=rules,
        today=today,
        reporter=reporter,
        source=name,
        stored=stored,
    )
    return FileCheck(name, stream, validation, invalid=invalid)


def _recording(resolve: Resolver, unknown: list[str]) -> Resolver:
    """``resolve``, remembering the references it could not resolve."""

    def recording(reference: str | None) -> Schema:
        try:
            return resolve(reference)
        except (NotFound, InvalidRequest):
            unknown.append(reference or "")
            raise

    return recording


# -- issues about the message as a whole --------------------------------------------------------
def where_location(where: str | None, name: str) -> tuple[Location, str | None]:
    """A reader's ``where`` (``file: row 3``, ``file:12:5``, ``file: sheet Data!F7``) as a
    Location, plus the part that fits no field (a JSON path, ``near byte 812``), if any."""
    if not where:
        return Location(), None
    rest, other_file = where, None
    if where.startswith(name):
        rest = where[len(name) :]
    elif ": " in where:
        other_file, _, rest = where.partition(": ")  # a zip member: a.zip!b.csv
    elif _LINE_COLUMN.search(where):
        other_file, _, rest = where.rpartition(":")
        other_file, _, line = other_file.rpartition(":")
        rest = f"{line}:{rest}"
    else:
        return Location(file=where), None
    rest = rest.lstrip(":").strip()
    match = _LINE_COLUMN.fullmatch(rest)
    fields: dict[str, Any] = (
        {"line": int(match[1]), "column": int(match[2])} if match else location_from_text(rest)
    )
    extra = fields.pop("file", None)
    if other_file and other_file != name:
        fields["file"] = other_file
    return Location(**fields), extra


def malformed_issue(exc: MalformedData, name: str) -> Issue:
    location, extra = where_location(exc.where, name)
    message = exc.message[:1].upper() + exc.message[1:]
    if extra:
        message += f" (at {extra})"
    return make_issue(
        "malformed-message",
        message + ". Nothing after this point could be read.",
        location,
    )


def _unknown_structure(reference: str, exc: Exception) -> Issue:
    if not reference:
        message = "The message does not say which dataflow it is for; give the dataflow."
    else:
        message = f"The dataflow {reference} is not known; check the table id."
    return make_issue(
        "unknown-structure",
        message,
        Location(component="DATAFLOW", value=reference or None),
        suggestion="Check the dataflow named in the file, or say which dataflow the data is for.",
    )


def warning_issue(text: str, name: str) -> Issue:
    """A reader warning (content that was ignored) as a warning-severity issue, at the place
    the reader names (``file: row 1: ignored column X``, ``file:8:0: series lacks …``)."""
    match = _IGNORED.search(text)
    if match:
        where, _, rest = text.rpartition(": ignored")
        message = "ignored" + rest
    elif text.startswith(name) and ": " in text[len(name) :]:
        where, _, message = text.partition(": ")
    else:
        where, message = "", text
    location, _ = where_location(where or None, name)
    if match:
        location = location.model_copy(update={"component": match[1]})
    message = message[:1].upper() + message[1:]
    return Issue(
        code="unknown-component",
        severity=Severity.WARNING,
        message=message.rstrip(".") + ".",
        location=location,
    )


def with_issues(report: Report, first: Sequence[Issue]) -> Report:
    """``report`` with message-level issues put before the others, counts updated."""
    by_code = dict(report.counts.by_code)
    by_severity = dict(report.counts.by_severity)
    for issue in first:
        by_code[issue.code] = by_code.get(issue.code, 0) + 1
        by_severity[issue.severity] = by_severity.get(issue.severity, 0) + 1
    all_titles = titles()
    return report.model_copy(
        update={
            "issues": [*first, *report.issues],
            "counts": report.counts.model_copy(
                update={"by_code": by_code, "by_severity": by_severity}
            ),
            "titles": {c: all_titles.get(c, c) for c in by_code},
        }
    )


def _message_report(name: str, issues: Sequence[Issue]) -> Report:
    return with_issues(Report(source=name), issues)
