"""Connections: one engine factory for SQLite and PostgreSQL, and the write transaction.

Two guarantees every write needs, and how each database gives them:

- **Writers run one at a time.** Stamps (``observations.updated_at``) must grow in *commit*
  order, or a harvester that has seen stamp ``t2`` would never ask again for rows a slower
  transaction stamped ``t1 < t2`` and committed later. On SQLite a write transaction starts with
  ``BEGIN IMMEDIATE`` (it takes the database's write lock up front; the default deferred
  ``BEGIN`` would fail with ``SQLITE_BUSY`` when a reader upgrades, which ``busy_timeout`` cannot
  retry). On PostgreSQL it takes a transaction-scoped advisory lock. Readers are never blocked:
  SQLite runs in WAL mode and PostgreSQL uses MVCC.
- **Stamps never repeat or go back**, even if the system clock does: a transaction stamps all its
  rows with ``max(now, last stamp + 1 µs)``, the last stamp being read from ``changes`` under the
  lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from exchange.storage.tables import changes

__all__ = ["WRITE_LOCK", "create_engine", "now_us", "write_transaction"]

#: Key of PostgreSQL's advisory lock that serialises the store's writers (and migrations).
WRITE_LOCK = 0x11_4D_53  # "ILMS", more or less
#: How long a writer waits for another one on SQLite before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 60_000
#: SQLite page cache of a connection while it reads, in KiB (see :func:`create_engine`).
READ_CACHE_KIB = 4 * 1024
#: SQLite page cache of a connection while it writes, in KiB.
WRITE_CACHE_KIB = 64 * 1024


def now_us() -> int:
    """Microseconds since the epoch: the unit of every stamp in the store."""
    return time.time_ns() // 1000


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine for ``url``, with SQLite set up for a concurrent web service.

    SQLite: WAL (readers never wait for the writer), ``busy_timeout`` (a second writer waits
    instead of failing), ``synchronous=NORMAL`` (safe with WAL; only the last transactions can be
    lost on power failure, never corrupt the file), foreign keys on. pysqlite's own transaction
    handling is switched off so that we emit ``BEGIN`` or ``BEGIN IMMEDIATE`` ourselves.

    The page cache is set per transaction: 64 MiB while writing (a bulk load updates indexes all
    over the file), 4 MiB while reading. Every pooled connection keeps its cache filled, and the
    web service holds one connection per answer being streamed: at 64 MiB each, eight concurrent
    one-country clients took the server from 240 to 710 MB. Reads lose little with the smaller
    cache, since the file's pages stay in the operating system's cache, shared by every
    connection (a harvest streams a 190 MB file through any cache anyway).
    """
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _setup_sqlite(engine)
    return engine


def _setup_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _enter_wal(cursor)
        for pragma in (
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "temp_store=MEMORY",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("ilms_write", False)
        cache = WRITE_CACHE_KIB if immediate else READ_CACHE_KIB
        connection.exec_driver_sql(f"PRAGMA cache_size=-{cache}")  # shrinking frees pages
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enter_wal(cursor: Any) -> None:
    """Switch the database file to WAL, retrying while another connection holds it.

    The switch needs the file to itself, and SQLite answers ``SQLITE_BUSY`` at once here rather
    than calling the busy handler: several processes opening a new database together (app
    workers starting, a CLI beside the server) would otherwise fail at random. WAL is stored in
    the file, so once any connection has switched, the others find it set and skip the switch.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that holds the store's write lock until it ends.

    Commits when the block ends, rolls everything back if it raises.
    """
    with engine.connect().execution_options(ilms_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK)))
        yield conn


def next_stamp(conn: sa.Connection) -> int:
    """The stamp of this write transaction: now, or one microsecond after the last one."""
    last = conn.execute(sa.select(sa.func.max(changes.c.stamp))).scalar_one_or_none()
    return max(now_us(), (last or 0) + 1)
