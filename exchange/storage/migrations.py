"""Versioned schema migrations: an ordered list of steps, each applied once and recorded.

Why not ``metadata.create_all``: a database created by an older release must be *upgraded* in
place, keeping its data, by several app processes that may start at the same moment. So:

- every version is a list of steps written against a frozen description of the tables at that
  version (never against :mod:`exchange.storage.tables`, which moves on);
- each step is idempotent (``checkfirst``, or inspecting before ``ALTER TABLE``), so a version
  half-applied by a crashed process (SQLite DDL outside a transaction, say) is simply re-run;
- each version runs in one transaction under the store's write lock, re-reads the current version
  first (another process may just have applied it) and records itself in ``schema_version``.

To change the schema: append a :class:`Migration` to :data:`MIGRATIONS`, update
:mod:`exchange.storage.tables` to match, and add a test from the previous version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from exchange.storage.availability import recompute_availability
from exchange.storage.engine import now_us, write_transaction
from exchange.storage.tables import BigId, schema_version

__all__ = ["MIGRATIONS", "Migration", "current_version", "migrate"]

Step = Callable[[sa.Connection], None]


@dataclass(frozen=True)
class Migration:
    """One schema version: what it is for, and the steps that reach it from the one before."""

    version: int
    description: str
    steps: Sequence[Step]


# -- version 1: series and observations ---------------------------------------------------------
_v1 = sa.MetaData()
sa.Table(
    "series",
    _v1,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dataflow", sa.String(200), nullable=False),
    sa.Column("series_key", sa.String(1000), nullable=False),
    sa.Column("dimensions", sa.Text, nullable=False),
    sa.UniqueConstraint("dataflow", "series_key", name="uq_series_key"),
)
sa.Table(
    "observations",
    _v1,
    sa.Column("series_id", sa.BigInteger, sa.ForeignKey("series.id"), primary_key=True),
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("attributes", sa.Text),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sqlite_with_rowid=False,
)


def _create_v1(conn: sa.Connection) -> None:
    _v1.create_all(conn, checkfirst=True)


# -- version 2: country column, live counts, harvest index --------------------------------------
def _add_column(conn: sa.Connection, table: str, column: str, ddl: str) -> None:
    if column not in {c["name"] for c in sa.inspect(conn).get_columns(table)}:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")


def _series_columns(conn: sa.Connection) -> None:
    _add_column(conn, "series", "ref_area", "VARCHAR(50)")
    _add_column(conn, "series", "live", "INTEGER NOT NULL DEFAULT 0")


def _backfill_series(conn: sa.Connection) -> None:
    """REF_AREA out of each series' dimensions; live = its non-deleted observations."""
    rows = conn.exec_driver_sql("SELECT id, dimensions FROM series").all()
    updates = [{"sid": sid, "area": json.loads(dims).get("REF_AREA")} for sid, dims in rows if dims]
    if updates:
        conn.execute(sa.text("UPDATE series SET ref_area = :area WHERE id = :sid"), updates)
    conn.exec_driver_sql(
        "UPDATE series SET live = (SELECT count(*) FROM observations o"
        " WHERE o.series_id = series.id AND NOT o.deleted)"
    )


def _v2_indexes(conn: sa.Connection) -> None:
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_series_ref_area ON series (dataflow, ref_area)"
    )
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_observations_updated_at ON observations (updated_at)"
    )


# -- version 3: changes log (the clock) and precomputed availability ----------------------------
_v3 = sa.MetaData()
sa.Table(
    "changes",
    _v3,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("stamp", sa.BigInteger, nullable=False, unique=True),
    sa.Column("dataflow", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
    sa.Column("replaced", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
)
sa.Table(
    "availability",
    _v3,
    sa.Column("dataflow", sa.String(200), primary_key=True),
    sa.Column("dimension", sa.String(100), primary_key=True),
    sa.Column("code", sa.String(100), primary_key=True),
    sa.Column("series_count", sa.Integer, nullable=False),
)


def _create_v3(conn: sa.Connection) -> None:
    _v3.create_all(conn, checkfirst=True)


def _backfill_v3(conn: sa.Connection) -> None:
    """Availability of every stored dataflow; the newest stamp becomes the clock's start."""
    for (dataflow,) in conn.exec_driver_sql("SELECT DISTINCT dataflow FROM series").all():
        recompute_availability(conn, dataflow)
    last = conn.exec_driver_sql("SELECT max(updated_at) FROM observations").scalar()
    if last is not None and conn.exec_driver_sql("SELECT count(*) FROM changes").scalar() == 0:
        conn.execute(
            sa.text(
                "INSERT INTO changes (stamp, dataflow, action, added, replaced, deleted,"
                " unchanged) VALUES (:stamp, '*', 'Migrate', 0, 0, 0, 0)"
            ),
            {"stamp": last},
        )


# -- version 4: API tokens and the submission log (data pushes) --------------------------------
_v4 = sa.MetaData()
sa.Table(
    "api_tokens",
    _v4,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("provider", sa.String(50)),
    sa.Column("admin", sa.Boolean, nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger),
)
sa.Table(
    "submissions",
    _v4,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("provider", sa.String(50)),
    sa.Column("token_id", sa.String(32), nullable=False),
    sa.Column("dataflow", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("media_type", sa.String(200)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("worker", sa.String(200), nullable=False),
    sa.Column("observations", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("bytes_read", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.BigInteger),
    sa.Column("finished_at", sa.BigInteger),
    sa.Column("stamp", sa.BigInteger),
    sa.Column("added", sa.Integer),
    sa.Column("replaced", sa.Integer),
    sa.Column("deleted", sa.Integer),
    sa.Column("unchanged", sa.Integer),
    sa.Column("report", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("duplicate_of", sa.String(36)),
    sa.Index("ix_submissions_file", "provider", "dataflow", "sha256"),
    sa.Index("ix_submissions_received", "received_at"),
)


def _create_v4(conn: sa.Connection) -> None:
    _v4.create_all(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "series and observations", [_create_v1]),
    Migration(
        2,
        "REF_AREA column, live counts, updated_at index",
        [_series_columns, _backfill_series, _v2_indexes],
    ),
    Migration(3, "changes log and precomputed availability", [_create_v3, _backfill_v3]),
    Migration(4, "API tokens and the submission log", [_create_v4]),
)
LATEST = MIGRATIONS[-1].version


def current_version(conn: sa.Connection) -> int:
    """The schema version of the database (0: empty, never migrated)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0


def migrate(engine: sa.Engine, target: int | None = None) -> list[int]:
    """Bring the database up to ``target`` (default: the latest); the versions applied."""
    target = LATEST if target is None else target
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version > target:
            break
        with write_transaction(engine) as conn:
            schema_version.create(conn, checkfirst=True)
            if current_version(conn) >= migration.version:
                continue
            for step in migration.steps:
                step(conn)
            conn.execute(
                schema_version.insert().values(
                    version=migration.version,
                    description=migration.description,
                    applied_at=now_us(),
                )
            )
            applied.append(migration.version)
    return applied
