"""The submission log: every data push, its file, its progress and its result.

Why a table and not just log lines: a provider asks later what became of a push (``GET
/submissions/{id}``, the asynchronous mode depends on it), the same file pushed twice must be
recognised by its SHA-256 and have no second effect, and the report must survive the process.

Writes here are single statements in short transactions, never under the store's write lock,
except the final ``stored`` update, which :mod:`exchange.services.submit` makes *inside* the
transaction that stores the data: the log says ``stored`` exactly when the data was stored. So a
submission a killed process left ``queued`` or ``running`` stored nothing, and
:meth:`Submissions.recover` can say so.

Each row names the process (``worker``: host and pid) working on it; at start-up a process marks
failed the unfinished rows of dead processes of its own host. Rows of another host are left to
that host (several app servers share one PostgreSQL).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import sqlalchemy as sa

from exchange.errors import Busy, NotFound
from exchange.storage.engine import now_us
from exchange.storage.tables import changes, submissions

__all__ = ["INTERRUPTED", "Status", "Submission", "Submissions", "this_worker"]

_s = submissions.c
INTERRUPTED = "Interrupted (the service stopped while working on it); nothing of it was stored."


class Status(str, Enum):
    """Where a submission is; the last four are final."""

    QUEUED = "queued"
    RUNNING = "running"
    STORED = "stored"
    VALID = "valid"  # a dry run that passed: nothing stored, by request
    REJECTED = "rejected"  # not valid or not allowed: nothing stored
    DUPLICATE = "duplicate"  # the same file was stored before: nothing done
    FAILED = "failed"  # could not finish: nothing stored

    @property
    def final(self) -> bool:
        return self not in (Status.QUEUED, Status.RUNNING)


def this_worker() -> str:
    """This process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(worker: str) -> bool:
    """Whether ``worker`` is a process of this host that no longer runs (or is us, reborn)."""
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # a pid reused by this process: the old one is dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Submission:
    """One row of the log (stamps in microseconds since the epoch, as everywhere in the store)."""

    id: str
    provider: str | None
    token_id: str
    dataflow: str
    action: str
    dry_run: bool
    file_name: str
    sha256: str
    size: int
    media_type: str | None
    status: Status
    received_at: int
    worker: str = field(default_factory=this_worker)
    observations: int = 0
    bytes_read: int = 0
    started_at: int | None = None
    finished_at: int | None = None
    stamp: int | None = None  # the store's stamp of the write (``changes.stamp``), if stored
    added: int | None = None
    replaced: int | None = None
    deleted: int | None = None
    unchanged: int | None = None
    report: dict[str, Any] | None = None
    message: str | None = None
    duplicate_of: str | None = None

    def row(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["status"] = self.status.value
        values["report"] = None if self.report is None else json.dumps(self.report)
        return values

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Submission:
        values = dict(row)
        values["status"] = Status(values["status"])
        values["dry_run"] = bool(values["dry_run"])
        values["report"] = None if values["report"] is None else json.loads(values["report"])
        return cls(**values)


def _values(changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    if isinstance(out.get("status"), Status):
        out["status"] = out["status"].value
    if out.get("report") is not None:
        out["report"] = json.dumps(out["report"])
    return out


class Submissions:
    """The log of one store (``DataStore.submissions``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(self, submission: Submission) -> Submission:
        """Log a new submission; :class:`~exchange.errors.Busy` if the store cannot take the
        write in time (on SQLite, a long push holds the one write lock while it validates and
        stores: the newcomer is asked to come back rather than failing)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(submissions.insert().values(**submission.row()))
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc.orig):
                raise
            raise Busy("the store is busy with another submission; try again in a minute") from exc
        return submission

    def get(self, submission_id: str) -> Submission:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(submissions).where(_s.id == submission_id)).first()
        if row is None:
            raise NotFound(f"no submission {submission_id}")
        return Submission.from_row(row._mapping)

    def list(
        self,
        *,
        provider: str | None = None,
        dataflow: str | None = None,
        status: Status | str | None = None,
        limit: int = 100,
    ) -> list[Submission]:
        """The newest submissions first, filtered by provider, dataflow and status."""
        stmt = sa.select(submissions).order_by(_s.received_at.desc(), _s.id).limit(limit)
        for column, wanted in ((_s.provider, provider), (_s.dataflow, dataflow)):
            if wanted is not None:
                stmt = stmt.where(column == wanted)
        if status is not None:
            stmt = stmt.where(_s.status == Status(status).value)
        with self.engine.connect() as conn:
            return [Submission.from_row(row._mapping) for row in conn.execute(stmt)]

    def update(
        self, submission_id: str, *, conn: sa.Connection | None = None, **changes: Any
    ) -> None:
        """Change some columns; in ``conn``'s transaction if given (the data write's)."""
        stmt = submissions.update().where(_s.id == submission_id).values(**_values(changes))
        if conn is not None:
            conn.execute(stmt)
            return
        with self.engine.begin() as own:
            own.execute(stmt)

    def progress(self, submission_id: str, observations: int, bytes_read: int) -> None:
        """Record the progress of an unfinished submission (a finished one keeps its numbers)."""
        unfinished = (Status.QUEUED.value, Status.RUNNING.value)
        with self.engine.begin() as conn:
            conn.execute(
                submissions.update()
                .where(_s.id == submission_id, _s.status.in_(unfinished))
                .values(observations=observations, bytes_read=bytes_read)
            )

    def stored_before(
        self, like: Submission, conn: sa.Connection | None = None
    ) -> Submission | None:
        """The submission that stored this same file the same way, if nothing changed since.

        "Nothing changed since": its write is the dataflow's last one (``changes``), so pushing
        the file again would change nothing. After any other write (a delete, another file, an
        ``ilms load``) the same file is no duplicate: it would restore what it says.
        """
        last = (
            sa.select(sa.func.max(changes.c.stamp))
            .where(changes.c.dataflow == like.dataflow)
            .scalar_subquery()
        )
        stmt = sa.select(submissions).where(
            _s.provider.is_not_distinct_from(like.provider),
            _s.dataflow == like.dataflow,
            _s.sha256 == like.sha256,
            _s.action == like.action,
            _s.status == Status.STORED.value,
            _s.stamp == last,
            _s.id != like.id,
        )
        if conn is not None:
            row = conn.execute(stmt).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(stmt).first()
        return None if row is None else Submission.from_row(row._mapping)

    def last_stamp(self, conn: sa.Connection, dataflow: str) -> int | None:
        """The stamp of the dataflow's last write, as ``conn`` sees it."""
        stmt = sa.select(sa.func.max(changes.c.stamp)).where(changes.c.dataflow == dataflow)
        stamp: int | None = conn.execute(stmt).scalar()
        return stamp

    def recover(self) -> tuple[str, ...]:
        """Mark failed what dead processes of this host left unfinished; their ids."""
        unfinished = (Status.QUEUED.value, Status.RUNNING.value)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_s.id, _s.worker).where(_s.status.in_(unfinished))).all()
        ids = tuple(sid for sid, worker in rows if _gone(worker))
        if ids:
            with self.engine.begin() as conn:
                conn.execute(
                    submissions.update()
                    .where(_s.id.in_(ids), _s.status.in_(unfinished))
                    .values(status=Status.FAILED.value, finished_at=now_us(), message=INTERRUPTED)
                )
        return ids
