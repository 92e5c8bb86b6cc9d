"""The tables of the observation store, as they stand after the last migration.

Queries are written against these :class:`~sqlalchemy.Table` objects; the DDL that creates them
lives in :mod:`exchange.storage.migrations` (a frozen copy per version, so an old database is
upgraded step by step). ``tests/storage/test_migrations.py`` checks that both agree.

Why this shape:

- ``series`` holds each series key once (dot-joined text, as in SDMX-REST keys, plus the
  dimension values as JSON so the store reads without the DSD). ``ref_area`` is copied out of the
  key into an indexed column because "one country, one table" is the query ILOSTAT and the web
  pages make most. ``live`` counts the series' non-deleted observations, so availability and
  counts never scan observations.
- ``observations`` is keyed by ``(series_id, period)``; on SQLite it is a ``WITHOUT ROWID`` table,
  i.e. clustered on that key, so reading a series is one sequential range. Values stay the exact
  text of the message. ``updated_at`` is microseconds since the epoch (an integer compares and
  indexes the same on SQLite and PostgreSQL); deleted observations stay as tombstones
  (``deleted``) so that ``updatedAfter`` harvests learn about deletions.
- ``changes`` logs every write transaction; its stamps are the store's clock.
- ``availability`` is precomputed per write: for each dataflow, dimension and code, how many
  series with data use it.
- ``api_tokens`` and ``submissions`` serve data pushes (``exchange.services.submit``): tokens are
  kept as hashes only; the log keeps every submission with its file's SHA-256 (what makes a
  second push of the same file a recognised duplicate) and its report as JSON.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: SQLite aliases only ``INTEGER PRIMARY KEY`` to its rowid (auto-increment); PostgreSQL: 64 bit.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.BigInteger, nullable=False),
)

series = sa.Table(
    "series",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dataflow", sa.String(200), nullable=False),
    sa.Column("series_key", sa.String(1000), nullable=False),
    sa.Column("dimensions", sa.Text, nullable=False),
    sa.Column("ref_area", sa.String(50)),
    sa.Column("live", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("dataflow", "series_key", name="uq_series_key"),
    sa.Index("ix_series_ref_area", "dataflow", "ref_area"),
)

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("series_id", sa.BigInteger, sa.ForeignKey("series.id"), primary_key=True),
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("attributes", sa.Text),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_observations_updated_at", "updated_at"),
    sqlite_with_rowid=False,
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("stamp", sa.BigInteger, nullable=False, unique=True),
    sa.Column("dataflow", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
    sa.Column("replaced", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
)

availability = sa.Table(
    "availability",
    metadata,
    sa.Column("dataflow", sa.String(200), primary_key=True),
    sa.Column("dimension", sa.String(100), primary_key=True),
    sa.Column("code", sa.String(100), primary_key=True),
    sa.Column("series_count", sa.Integer, nullable=False),
)

#: API tokens (``exchange.storage.tokens``): only the SHA-256 of each secret is kept.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("provider", sa.String(50)),
    sa.Column("admin", sa.Boolean, nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger),
)

#: The submission log (``exchange.storage.submissions``): every push, its file and its result.
submissions = sa.Table(
    "submissions",
    metadata,
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
