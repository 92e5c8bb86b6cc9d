"""Submit (push) a data file: validate it whole while storing it, commit only if valid.

The flow of one submission (issue #6), for the REST service's ``POST|PUT|DELETE /rest/data``
and anyone else holding an uploaded file:

1. :meth:`Submitter.authorise` — before the body is read: the provider must have a provision
   agreement for the dataflow (admins may push anywhere).
2. :meth:`Submitter.receive` — the file (already on disk, its SHA-256 known) is logged
   ``queued``; if the same provider already *stored* the same file to the same dataflow with the
   same action, it is logged ``duplicate`` at once and nothing more happens.
3. :meth:`Submitter.run` — ``running``; the file is read **once**: validated with every check,
   including the reporter rule (a provider's file may hold only its own ``REF_AREA``; admins
   are not limited), and each part validation vouches for is written at once with
   :meth:`DataStore.apply`, in **one** transaction. That transaction first re-checks for a
   duplicate (two identical pushes at once) and ends by asking for the report: invalid →
   rolled back, ``rejected`` with the report; valid → the log's ``stored`` is written in it, so
   the data and the log commit together or not at all. A dry run validates only (``valid``).

Why one pass rather than validate, then read again and store (as this module did first): the
second read was a sixth of a 1M-observation push, and the two passes each held a core for their
whole length. What it costs: the store's write lock is held while validating too, and an
invalid file is written up to its first error, then rolled back; after that error nothing more
is written, and the rest is only validated. Nothing uncommitted is ever visible to readers
(SQLite's WAL, PostgreSQL's MVCC), so "nothing is stored unless valid" holds as before — it is
how the .Stat Suite's transfer service loads too (into the database, then validates, then
commits or not). Memory stays flat: validation and the writer each hold a bounded part.

Actions: ``merge`` (POST) uses the message's own action (Append by default, per-row actions of
SDMX-CSV 2.0 honoured); ``replace`` (PUT) and ``delete`` (DELETE) force Replace or Delete on every
observation, whatever the message says. See :mod:`exchange.storage.writer` for what each does.
A DELETE is checked against the structure and the reporter rule only: the ILMS rules judge values
(totals, plausible changes), and the values of what is being deleted do not matter.

Progress (bytes read, observations validated and written) goes to a
:class:`~exchange.services.progress.ProgressBoard`, never straight to the log.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from exchange.errors import Forbidden, IlmsError
from exchange.model.records import Action, Observation
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Schema
from exchange.model.store import StructureStore, ref_of
from exchange.report import Location, Report, Severity
from exchange.services.progress import CountingReader, ProgressBoard
from exchange.services.stored_lookup import stored_lookup
from exchange.services.validate import RULES, FileCheck, check_file, with_issues
from exchange.storage import Counts, DataStore, Status, Submission
from exchange.storage.engine import now_us
from exchange.validation.catalogue import make_issue

__all__ = ["Identity", "Mode", "Submitter", "Upload", "refused_for_rights"]

log = logging.getLogger(__name__)
#: Observations between two progress updates in memory while storing.
PROGRESS_EVERY = 10_000
_CHUNK = 1024 * 1024


class Mode(str, Enum):
    """What a push asks for: the HTTP method's meaning (POST, PUT, DELETE)."""

    MERGE = "merge"
    REPLACE = "replace"
    DELETE = "delete"

    def forced(self) -> Action | None:
        """The action imposed on every observation; None: the message's own."""
        return {Mode.REPLACE: Action.REPLACE, Mode.DELETE: Action.DELETE}.get(self)


@dataclass(frozen=True)
class Identity:
    """Who pushes: a token, its data provider (country) and whether it is an admin's."""

    token_id: str
    provider: str | None
    admin: bool = False


@dataclass(frozen=True)
class Upload:
    """A received file on disk. ``name`` is only for messages; ``path`` is ours."""

    path: Path
    name: str
    size: int
    sha256: str
    media_type: str | None = None

    @classmethod
    def from_file(cls, path: Path, name: str, media_type: str | None = None) -> Upload:
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return cls(path, name, size, digest.hexdigest(), media_type)


class _GcPause:
    """No cyclic garbage collection while submissions are worked on.

    Why: validating and storing allocate a few tuples per observation, and validation keeps
    many small long-lived containers (series, groups, years): the collector ran thousands of
    times per 1M observations, rescanning them, for 2 to 5 s CPU — a quarter of a push (a
    raised young-generation threshold still left 1 s). Neither makes reference cycles, so
    reference counting frees everything as before; only objects in cycles made elsewhere in the
    process meanwhile wait for the collection that runs when the last submission ends.
    Process-wide, so counted: the collector is back on when no submission is working (if it was
    on before the first one).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._was_enabled = True

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._was_enabled:
                    gc.enable()


_GC = _GcPause()


class _Duplicate(Exception):
    """Raised inside the write transaction when an identical push was stored meanwhile."""

    def __init__(self, first: Submission) -> None:
        super().__init__(first.id)
        self.first = first


class _Rejected(Exception):
    """Raised inside the write transaction when the file proved invalid: roll back."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.verdict())
        self.report = report


def _while_clean(checking: FileCheck, *, write: bool = True) -> Iterator[Observation]:
    """The file's observations as validation vouches for them, until the first error (none
    if not ``write``); the rest is still validated, for the report, but not handed on."""
    for part in checking.parts():
        if write and checking.clean:
            yield from part


def _drained(checking: FileCheck) -> FileCheck:
    for _ in checking.parts():
        pass
    return checking


def error_codes(report: Report) -> set[str]:
    return {i.code for i in report.issues if i.severity is Severity.ERROR}


def refused_for_rights(submission: Submission) -> bool:
    """Rejected only because the file holds other countries' data (HTTP 403, not 422)."""
    if submission.status is not Status.REJECTED or submission.report is None:
        return False
    report = Report.model_validate(submission.report)
    return error_codes(report) == {"wrong-reporter"}


def _message(sub: Submission, counts: Counts | None = None, report: Report | None = None) -> str:
    """The one human sentence the log and the JSON answer carry."""
    if sub.status is Status.STORED and counts is not None:
        return (
            f"Stored in {sub.dataflow}: {counts.added} added, {counts.replaced} replaced,"
            f" {counts.deleted} deleted, {counts.unchanged} unchanged."
        )
    if sub.status is Status.VALID:
        return "Valid (dry run): nothing was stored."
    if sub.status is Status.DUPLICATE:
        return f"Already stored by submission {sub.duplicate_of}: nothing was done again."
    if report is not None and error_codes(report) == {"wrong-reporter"}:
        return (
            f"Refused: the file holds data of other countries than {sub.provider};"
            " nothing was stored."
        )
    if report is not None:
        return f"{report.verdict()}; nothing was stored."
    return sub.message or sub.status.value


class Submitter:
    """Submissions to one data store, against one structure store (one per app)."""

    def __init__(
        self, structures: StructureStore, data: DataStore, *, flush_seconds: float = 1.0
    ) -> None:
        self.structures = structures
        self.data = data
        self.log = data.submissions
        self.board = ProgressBoard(data.submissions, flush_seconds)
        self._agreements = frozenset(self._provision_agreements())

    def close(self) -> None:
        self.board.close()

    # -- rights ---------------------------------------------------------------------------------
    def _provision_agreements(self) -> Iterator[tuple[str, ArtefactRef]]:
        for ref in self.structures.refs:
            if ref.kind is Kind.PROVISION_AGREEMENT:
                agreement = self.structures.get(ref)
                flow = ref_of(Kind.DATAFLOW, agreement.structure_usage)
                yield agreement.data_provider.id, flow

    def authorise(self, who: Identity, schema: Schema) -> None:
        """Raise :class:`Forbidden` unless ``who`` may push to the schema's dataflow."""
        if who.admin:
            return
        if who.provider is None or (who.provider, schema.dataflow) not in self._agreements:
            raise Forbidden(
                f"{who.provider or 'this token'} has no provision agreement for {schema.dataflow}"
            )

    # -- the steps ------------------------------------------------------------------------------
    def receive(
        self, who: Identity, schema: Schema, mode: Mode, upload: Upload, *, dry_run: bool = False
    ) -> Submission:
        """Log the upload as ``queued`` (or as a ``duplicate``, final, when it is one)."""
        self.authorise(who, schema)
        sub = Submission(
            id=str(uuid.uuid4()),
            provider=who.provider,
            token_id=who.token_id,
            dataflow=str(schema.dataflow),
            action=mode.value,
            dry_run=dry_run,
            file_name=upload.name,
            sha256=upload.sha256,
            size=upload.size,
            media_type=upload.media_type,
            status=Status.QUEUED,
            received_at=now_us(),
        )
        first = None if dry_run else self.log.stored_before(sub)
        if first is not None:
            self._duplicate(sub, first)
        self.log.add(sub)
        return sub

    def run(self, sub: Submission, upload: Upload, who: Identity) -> Submission:
        """Validate, then store (unless a dry run); never raises for bad data or a failure."""
        if sub.status.final:
            return sub
        self.log.update(sub.id, status=Status.RUNNING, started_at=now_us())
        self.board.set(sub.id, 0, 0)
        try:
            with _GC.paused():
                self._work(sub, upload, who)
        except Exception as exc:
            self._failed(sub, exc)
        finally:
            self.board.done(sub.id)
        return self.log.get(sub.id)

    def submit(
        self, who: Identity, schema: Schema, mode: Mode, upload: Upload, *, dry_run: bool = False
    ) -> Submission:
        """:meth:`receive` then :meth:`run`, in the caller's thread."""
        return self.run(self.receive(who, schema, mode, upload, dry_run=dry_run), upload, who)

    def progress(self, submission_id: str) -> tuple[int, int] | None:
        """(observations, bytes read) of a submission running in this process, as of now."""
        return self.board.get(submission_id)

    # -- the work -------------------------------------------------------------------------------
    def _work(self, sub: Submission, upload: Upload, who: Identity) -> None:
        rules = ("structure",) if sub.action == Mode.DELETE.value else RULES
        reporter = None if who.admin else who.provider

        def seen(position: int) -> None:
            self.board.read(sub.id, position)

        with upload.path.open("rb") as raw:
            source = io.BufferedReader(CountingReader(raw, seen), _CHUNK)
            checking = check_file(
                source,
                upload.name,
                self.structures,
                dataflow=sub.dataflow,
                reporter=reporter,
                rules=rules,
                stored=stored_lookup(self.data, upload.size),
            )
            if sub.dry_run or checking.stream is None:
                report = self._report(sub, _drained(checking))
                self._finish(sub, Status.VALID if report.valid else Status.REJECTED, report)
                return
            try:
                self._store(sub, checking)
            except _Rejected as exc:
                self._finish(sub, Status.REJECTED, exc.report)
            except _Duplicate as exc:
                self._duplicate(sub, exc.first)
                self.log.update(
                    sub.id, **self._final_fields(sub, report=self._report(sub, checking))
                )

    def _report(self, sub: Submission, checking: FileCheck) -> Report:
        """The file's report, with an issue if the message names another dataflow."""
        report = checking.report()
        if report.valid and report.dataflow != sub.dataflow:
            issue = make_issue(
                "unknown-structure",
                f"The message is for {report.dataflow}, but it was pushed to {sub.dataflow}.",
                Location(component="DATAFLOW", value=report.dataflow),
                suggestion=f"Push it to {report.dataflow}, or name {sub.dataflow} in the file.",
            )
            report = with_issues(report, [issue])
        return report

    def _store(self, sub: Submission, checking: FileCheck) -> None:
        """Validate and write in one pass, in one transaction committed only if all is valid.

        The observations go to the writer as validation vouches for them, part by part; after
        the first error, the rest is still validated (the report names every issue) but no
        longer written, and the transaction is rolled back (:class:`_Rejected`). Readers never
        see any of it before the commit, which comes with the log's ``stored``.
        """
        stream = checking.stream
        assert stream is not None
        schema = stream.info.schema
        same_flow = str(schema.dataflow or schema.dsd) == sub.dataflow

        def before(conn: sa.Connection) -> None:
            first = self.log.stored_before(sub, conn)
            if first is not None:
                raise _Duplicate(first)

        def after(conn: sa.Connection, counts: Counts) -> None:
            report = self._report(sub, checking)
            if not report.valid:
                raise _Rejected(report)
            sub.status = Status.STORED
            fields = self._final_fields(sub, counts, report)
            fields["stamp"] = self.log.last_stamp(conn, sub.dataflow)
            self.log.update(sub.id, conn=conn, **fields)

        forced = Mode(sub.action).forced()
        action = forced or stream.info.action
        valid = _while_clean(checking, write=same_flow)
        observations = self._counted(sub.id, valid, forced is not None)
        self.data.apply(schema, action, observations, before=before, after=after)

    def _counted(
        self, submission_id: str, observations: Iterator[Observation], forced: bool
    ) -> Iterator[Observation]:
        """The observations (their own actions dropped when the method forces one)."""
        count = 0
        for count, obs in enumerate(observations, 1):
            if count % PROGRESS_EVERY == 0:
                self.board.observed(submission_id, count)
            yield obs._replace(action=None) if forced and obs.action is not None else obs
        self.board.observed(submission_id, count)

    # -- recording ------------------------------------------------------------------------------
    def _final_fields(
        self, sub: Submission, counts: Counts | None = None, report: Report | None = None
    ) -> dict[str, Any]:
        sub.message = _message(sub, counts, report)
        fields: dict[str, Any] = {
            "status": sub.status,
            "finished_at": now_us(),
            "message": sub.message,
            "duplicate_of": sub.duplicate_of,
        }
        if report is not None:
            fields["report"] = report.model_dump(mode="json")
            fields["observations"] = report.observations
        if counts is not None:
            fields |= vars(counts)
        return fields

    def _finish(self, sub: Submission, status: Status, report: Report) -> None:
        sub.status = status
        self.log.update(sub.id, **self._final_fields(sub, report=report))

    def _duplicate(self, sub: Submission, first: Submission) -> None:
        sub.status, sub.duplicate_of = Status.DUPLICATE, first.id
        sub.message = _message(sub)
        sub.finished_at = now_us()

    def _failed(self, sub: Submission, exc: Exception) -> None:
        """Record an exception: the file's fault (a bomb, say) rejects it, ours fails it."""
        if isinstance(exc, IlmsError) and exc.status < 500:
            sub.status = Status.REJECTED
            sub.message = f"Refused: {exc}; nothing was stored."
        else:
            log.exception("submission %s failed", sub.id)
            sub.status = Status.FAILED
            sub.message = "Failed (internal error); nothing of it was stored."
        self.log.update(sub.id, status=sub.status, finished_at=now_us(), message=sub.message)
