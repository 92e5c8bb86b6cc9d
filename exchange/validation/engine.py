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
from collections.abc import Iterable, Mapping, Sequence

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

__all__ = ["validate"]


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


def validate(
    stream_info_schema: DataStream | MessageInfo | Schema,
    observations: Iterable[Observation] | None = None,
    *,
    full_codes: Mapping[str, frozenset[str]] | None = None,
    max_issues: int = 100,
    rules: Sequence[str] = ("structure", "ilms"),
    today: dt.date | None = None,
    reporter: str | None = None,
    source: str | None = None,
    cross: CrossTableIndex | None = None,
    stored: StoredData | None = None,
) -> Report:
    """Validate observations against their schema in one pass; return the Report.

    ``stream_info_schema`` is a :class:`DataStream` (its observations are used when
    ``observations`` is None), its :class:`MessageInfo`, or a bare :class:`Schema`.
    ``full_codes`` (component id → every code of its codelist) lets the report tell a code that
    does not exist (``unknown-code``) from one the dataflow excludes (``code-not-allowed``).
    ``cross``, if given, is filled with the labour-force cells for cross-table checks (the
    caller reports them, once every table of a submission is in).
    ``stored``, if given (with the ILMS rules), completes those cells with the other tables
    already stored (``ilms_cross``); without ``cross``, this report then has the cross-table
    issues where the submission takes part.
    """
    if isinstance(stream_info_schema, DataStream):
        info: MessageInfo | None = stream_info_schema.info
        if observations is None:
            observations = stream_info_schema.observations
    else:
        info = stream_info_schema if isinstance(stream_info_schema, MessageInfo) else None
    schema = info.schema if info is not None else stream_info_schema
    assert isinstance(schema, Schema)
    builder = ReportBuilder(
        source=source,
        dataflow=str(schema.dataflow or schema.dsd),
        max_issues=max_issues,
        titles=titles(),
    )
    emit = Emitter(builder)
    unknown = set(rules) - {"structure", "ilms"}
    if unknown:
        raise ValueError(f"unknown rule sets: {sorted(unknown)}")
    index = cross
    if index is None and stored is not None and "ilms" in rules:
        index = CrossTableIndex()
    pipeline = Pipeline(
        schema,
        emit,
        full_codes=full_codes,
        rules=rules,
        today=today,
        reporter=ReporterRule(schema, reporter) if reporter else None,
        cross=index,
    )
    # The pass builds many small long-lived containers (series, groups, years) and no cycles:
    # the cyclic collector would rescan them again and again (half the time at 1M observations)
    collecting = gc.isenabled()
    gc.disable()
    try:
        count = pipeline.run(observations or ())
        pipeline.finish()
    finally:
        if collecting:
            gc.enable()
    if stored is not None and index is not None and "ilms" in rules:
        index.complete(stored, schema)
        if cross is None:
            for issue in index.issues():
                builder.add(issue)
    builder.observations = count
    return builder.build()
