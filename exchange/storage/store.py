"""``DataStore``: the observation store of ILMS Exchange, on SQLite or PostgreSQL.

One class, the same SQL for both databases (SQLAlchemy 2 Core, no ORM):

- ``sqlite:///ilms.db`` — embedded, one file, the default: one app process (or a CLI) writes,
  any number read (WAL).
- ``postgresql+psycopg://user@host/db`` — several stateless app processes behind a load
  balancer share one database; writers serialise on an advisory lock (see
  :mod:`exchange.storage.engine`).

Every write (:meth:`DataStore.apply`) is one transaction: a message is stored whole or not at
all. Every row it changes carries the transaction's stamp, which is how ``updatedAfter`` finds
changes, deletions included (as tombstones). Harvesters should take :meth:`DataStore.watermark`
as their next ``updatedAfter`` rather than their own clock: it is the newest *committed* stamp,
so nothing committed later can carry an older one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable

import sqlalchemy as sa

from exchange.errors import IlmsError, InvalidRequest
from exchange.model.records import Action, Observation
from exchange.model.refs import ArtefactRef
from exchange.model.schema import Schema
from exchange.storage import migrations
from exchange.storage.engine import create_engine, next_stamp, write_transaction
from exchange.storage.keys import KeyFilter
from exchange.storage.reader import Query, read_availability, read_observations, snapshot
from exchange.storage.submissions import Submissions
from exchange.storage.tables import changes, series
from exchange.storage.tokens import Tokens
from exchange.storage.writer import Counts, Writer

__all__ = ["DataStore"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_stamp(moment: dt.datetime | int) -> int:
    """A datetime (naive means UTC) as the store's stamp: microseconds since the epoch."""
    if isinstance(moment, int):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def from_stamp(stamp: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=stamp)


def _dataflow(dataflow: str | ArtefactRef | Schema) -> str:
    """The stored name of a dataflow: ``ILO:DF_X(1.0)``, as ``str(ArtefactRef)`` gives it."""
    if isinstance(dataflow, Schema):
        dataflow = dataflow.dataflow or dataflow.dsd
    return str(dataflow)


class DataStore:
    """Observations of every dataflow, with SDMX actions, ``updatedAfter`` and availability."""

    def __init__(self, url: str, **engine_options: object) -> None:
        self.url = url
        try:
            self.engine = create_engine(url, **engine_options)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise InvalidRequest(f"not a database URL we can use: {exc}", where=url) from None
        #: API tokens of data pushes, and the log of pushes (:mod:`exchange.services.submit`).
        self.tokens = Tokens(self.engine)
        self.submissions = Submissions(self.engine)

    def __repr__(self) -> str:
        return f"DataStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def migrate(self, target: int | None = None) -> list[int]:
        """Create or upgrade the tables (safe to call from every process at start-up).

        The first thing a process does with the database, so a database that cannot be reached
        or opened becomes one clear :class:`~exchange.errors.IlmsError` here.
        """
        try:
            return migrations.migrate(self.engine, target)
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise IlmsError(f"cannot open the database: {reason}", where=repr(self)) from exc

    def version(self) -> int:
        with self.engine.connect() as conn:
            return migrations.current_version(conn)

    # -- writing --------------------------------------------------------------------------------
    def apply(
        self,
        schema: Schema,
        action: Action,
        observations: Iterable[Observation],
        *,
        before: Callable[[sa.Connection], None] | None = None,
        after: Callable[[sa.Connection, Counts], None] | None = None,
    ) -> Counts:
        """Store one message's observations under ``action``, all or nothing.

        See :mod:`exchange.storage.writer` for what each action does and what is counted. If the
        iterator raises (a reader meeting a broken file, say), nothing of the message is kept.
        ``before`` and ``after`` run in the same transaction, under the write lock: a check that
        may raise to write nothing (a duplicate push), and a record that commits with the data
        or not at all (the submission log's ``stored``).
        """
        with write_transaction(self.engine) as conn:
            if before is not None:
                before(conn)
            counts = Writer(conn, schema, action, next_stamp(conn)).run(observations)
            if after is not None:
                after(conn, counts)
            return counts

    # -- reading --------------------------------------------------------------------------------
    def query(
        self,
        dataflow: str | ArtefactRef | Schema,
        key_filter: KeyFilter | None = None,
        *,
        start_period: str | None = None,
        end_period: str | None = None,
        updated_after: dt.datetime | int | None = None,
        first_n: int | None = None,
        last_n: int | None = None,
        include_deleted: bool | None = None,
    ) -> Generator[Observation, None, None]:
        """The observations a data query selects, streamed in series order.

        Tombstones (``action`` Delete, no value) come with ``updated_after`` unless
        ``include_deleted`` says otherwise. The connection is held until the iterator is
        exhausted or closed.
        """
        query = Query(
            _dataflow(dataflow),
            key_filter,
            start_period,
            end_period,
            None if updated_after is None else to_stamp(updated_after),
            first_n,
            last_n,
            include_deleted,
        )
        with self.engine.connect() as conn, snapshot(conn).begin():
            yield from read_observations(conn, query)

    def availability(
        self,
        dataflow: str | ArtefactRef | Schema,
        key_filter: KeyFilter | None = None,
        *,
        start_period: str | None = None,
        end_period: str | None = None,
        updated_after: dt.datetime | int | None = None,
    ) -> dict[str, dict[str, int]]:
        """Per dimension (key order), each code with data → number of series using it."""
        query = Query(
            _dataflow(dataflow),
            key_filter,
            start_period,
            end_period,
            None if updated_after is None else to_stamp(updated_after),
        )
        with self.engine.connect() as conn, snapshot(conn).begin():
            return read_availability(conn, query)

    def count(self, dataflow: str | ArtefactRef | Schema) -> int:
        """Live (not deleted) observations of the dataflow."""
        stmt = sa.select(sa.func.coalesce(sa.func.sum(series.c.live), 0)).where(
            series.c.dataflow == _dataflow(dataflow)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def watermark(self) -> dt.datetime | None:
        """The newest committed stamp: the safe ``updatedAfter`` of a harvester's next visit."""
        with self.engine.connect() as conn:
            stamp = conn.execute(sa.select(sa.func.max(changes.c.stamp))).scalar()
        return None if stamp is None else from_stamp(stamp)
