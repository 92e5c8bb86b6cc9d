"""One pass over an observation stream, running every check, into one Report.

Validation never stops at the first error and never raises for bad data (ARCHITECTURE.md,
"Errors and reports"): each check sees every observation; issues beyond ``max_issues`` per code
are counted, not listed. The rule sets are ``"structure"`` (any DSD, SDMX 2.1 Section 2) and
``"ilms"`` (ILMS-STRUCTURES.md §5); the reporter rule (§4: a provider submits only its own
``REF_AREA``) runs whenever ``reporter`` is given.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypedDict, Unpack

from exchange.model.records import DataStream, MessageInfo, Observation
from exchange.model.schema import Schema
from exchange.report import Report, ReportBuilder
from exchange.validation.catalogue import Emitter, Place, titles
from exchange.validation.ilms_cross import CrossTableIndex
from exchange.validation.ilms_rules import ChangeRule, ObservationRules
from exchange.validation.ilms_totals import GroupRules
from exchange.validation.pipeline import Pipeline
from exchange.validation.stored import StoredData
from exchange.validation.structural import Check, structural_checks

__all__ = ["Validation", "collector_paused", "validate"]


class ReporterRule:
    """``REF_AREA`` must be the submitting country (``wrong-reporter``)."""

    def __init__(self, schema: Schema, reporter: str) -> None:
        dims = schema.dimension_ids
        self.index = dims.index("REF_AREA") if "REF_AREA" in dims else None
        self.reporter = reporter

    def check(self, place: Place, emit: Emitter) -> None:
        key = place.obs.key
        if self.index is None or self.index >= len(key):
            return
        area = key[self.index]
        if area and area != self.reporter:
            emit(
                "wrong-reporter",
                f'REF_AREA is "{area}" but this submission is from {self.reporter}.',
                place,
                "REF_AREA",
                area,
                expected=self.reporter,
            )

    def finish(self, emit: Emitter) -> None:
        return None


def build_checks(
    schema: Schema,
    *,
    full_codes: Mapping[str, frozenset[str]] | None,
    rules: Sequence[str],
    today: dt.date | None,
    reporter: str | None,
) -> list[Check]:
    """The checks to run for ``rules`` (unknown rule names are a programming error)."""
    unknown = set(rules) - {"structure", "ilms"}
    if unknown:
        raise ValueError(f"unknown rule sets: {sorted(unknown)}")
    checks: list[Check] = []
    if "structure" in rules:
        checks += structural_checks(schema, full_codes)
    if "ilms" in rules:
        checks += [ObservationRules(schema, today), GroupRules(schema), ChangeRule()]
    if reporter:
        checks.append(ReporterRule(schema, reporter))
    return checks


class ValidationOptions(TypedDict, total=False):
    """What :func:`validate` passes on to :class:`Validation` (documented there)."""

    full_codes: Mapping[str, frozenset[str]] | None
    max_issues: int
    rules: Sequence[str]
    today: dt.date | None
    reporter: str | None
    source: str | None
    cross: CrossTableIndex | None
    stored: StoredData | None


def validate(
    stream_info_schema: DataStream | MessageInfo | Schema,
    observations: Iterable[Observation] | None = None,
    **options: Unpack[ValidationOptions],
) -> Report:
    """Validate observations against their schema in one pass; return the Report.

    ``stream_info_schema`` is a :class:`DataStream` (its observations are used when
    ``observations`` is None), its :class:`MessageInfo`, or a bare :class:`Schema`; the options
    are :class:`Validation`'s.
    """
    if isinstance(stream_info_schema, DataStream) and observations is None:
        observations = stream_info_schema.observations
    validation = Validation(stream_info_schema, **options)
    with collector_paused():
        for _ in validation.checked(observations or ()):
            pass
        report = validation.report()
        del validation  # its state goes now, before the collector runs again: less to scan
    return report


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a validation pass.

    The pass builds many small long-lived containers (series, groups, years) and no cycles:
    the cyclic collector would rescan them again and again (half the time at 1M observations).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Validation:
    """One validation, for callers that use the observations as they are checked.

    :func:`validate` is the usual way in. This is for a caller that does something with each
    observation once it is checked — a submission stores it in the same pass, inside a
    transaction it commits only if :meth:`report` is valid — so the file is read once.
    :meth:`checked` hands on the observations part by part (a series, or short series together:
    at most a few thousand at once), :attr:`errors` says how many errors were found so far, and
    :meth:`report` (after the last part) runs the checks that need the whole stream (totals still
    open, cross-table rules) and builds the Report.

    ``full_codes`` (component id → every code of its codelist) lets the report tell a code that
    does not exist (``unknown-code``) from one the dataflow excludes (``code-not-allowed``).
    ``cross``, if given, is filled with the labour-force cells for cross-table checks (the
    caller reports them, once every table of a submission is in).
    ``stored``, if given (with the ILMS rules), completes those cells with the other tables
    already stored (``ilms_cross``); without ``cross``, this report then has the cross-table
    issues where the submission takes part.
    """

    def __init__(
        self,
        stream_info_schema: DataStream | MessageInfo | Schema,
        *,
        full_codes: Mapping[str, frozenset[str]] | None = None,
        max_issues: int = 100,
        rules: Sequence[str] = ("structure", "ilms"),
        today: dt.date | None = None,
        reporter: str | None = None,
        source: str | None = None,
        cross: CrossTableIndex | None = None,
        stored: StoredData | None = None,
    ) -> None:
        if isinstance(stream_info_schema, DataStream):
            info: MessageInfo | None = stream_info_schema.info
        else:
            info = stream_info_schema if isinstance(stream_info_schema, MessageInfo) else None
        schema = info.schema if info is not None else stream_info_schema
        assert isinstance(schema, Schema)
        unknown = set(rules) - {"structure", "ilms"}
        if unknown:
            raise ValueError(f"unknown rule sets: {sorted(unknown)}")
        self.schema, self.rules, self.stored, self.cross = schema, rules, stored, cross
        self.builder = ReportBuilder(
            source=source,
            dataflow=str(schema.dataflow or schema.dsd),
            max_issues=max_issues,
            titles=titles(),
        )
        self.index = cross
        if cross is None and stored is not None and "ilms" in rules:
            self.index = CrossTableIndex()
        self.pipeline = Pipeline(
            schema,
            Emitter(self.builder),
            full_codes=full_codes,
            rules=rules,
            today=today,
            reporter=ReporterRule(schema, reporter) if reporter else None,
            cross=self.index,
        )
        self.count = 0

    @property
    def stopped(self) -> Exception | None:
        """The exception of the ``until`` types that ended the stream early, if one did."""
        return self.pipeline.stopped

    @property
    def errors(self) -> int:
        """Errors found so far (totals and cross-table rules report late: see :meth:`report`)."""
        return self.builder.errors

    def checked(
        self, observations: Iterable[Observation], *, until: tuple[type[Exception], ...] = ()
    ) -> Iterator[list[Observation]]:
        """The observations, a part at a time, each part once it has been checked; an
        exception of the ``until`` types ends the stream early (see :attr:`stopped`)."""
        for part in self.pipeline.checked(observations, until=until):
            self.count += len(part)
            yield part

    def report(self) -> Report:
        """The Report, once every observation went through :meth:`checked`."""
        self.pipeline.finish()
        index = self.index
        if self.stored is not None and index is not None and "ilms" in self.rules:
            index.complete(self.stored, self.schema)
            if self.cross is None:
                for issue in index.issues():
                    self.builder.add(issue)
        self.builder.observations = self.count
        return self.builder.build()
