"""Reading the store: observations for a data query, availability, counts.

Rows come out in series-key order, then period order, one series after another, so a writer can
group consecutive observations into series and stream them out without buffering (the contract
of :mod:`exchange.model.records`). A query reads from one snapshot (SQLite's read transaction;
PostgreSQL's ``REPEATABLE READ``), so a write committed half-way through never shows as half
a message; rows are fetched in slices (``yield_per``; a server-side cursor on PostgreSQL), so
memory stays flat whatever the result size.

How a key filter is served: the series of the dataflow — only those of the wanted countries when
REF_AREA is filtered, through the ``(dataflow, ref_area)`` index — are matched in Python (series
are few next to observations), and their observations read by id, a few thousand series per
statement, in key order. With no key filter, one statement walks the whole dataflow. With
``updatedAfter``, only the series the ``updated_at`` index names as changed are read.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, groupby
from operator import itemgetter
from types import MappingProxyType
from typing import Any, TypeVar

import sqlalchemy as sa

from exchange.errors import InvalidRequest
from exchange.model.records import Action, Observation
from exchange.storage.availability import tally
from exchange.storage.keys import (
    KeyFilter,
    end_bound,
    key_predicate,
    spelled_out,
    split_key,
)
from exchange.storage.tables import availability, observations, series

T = TypeVar("T")

__all__ = ["Query", "read_availability", "read_observations"]

FETCH = 5000
_o = observations.c
_s = series.c
#: Keys of a filter without wildcards looked up one by one in the key index, at most.
SPELLED_OUT = 1000
#: Series keys per statement (bound parameters: SQLite allows 32,766).
KEYS_PER_STATEMENT = 5000
#: How many distinct attribute texts a query keeps decoded (then it starts again).
SHARED_ATTRIBUTE_SETS = 4096
_Row = tuple[str, str, str | None, str | None, bool]
_Select = sa.Select[str, str, str | None, str | None, bool]
_NONE: Mapping[str, str] = MappingProxyType({})
#: ``tuple.__new__`` skips NamedTuple's Python-level ``__new__``.
_new_observation: Callable[[type[Observation], tuple[Any, ...]], Observation] = tuple.__new__


@dataclass(frozen=True)
class Query:
    """A data query (SDMX-REST ``data`` resource parameters, SDMX 2.1 Section 7 §3.3.3)."""

    dataflow: str
    key_filter: KeyFilter | None = None
    start_period: str | None = None
    end_period: str | None = None
    updated_after: int | None = None  # µs since the epoch
    first_n: int | None = None
    last_n: int | None = None
    include_deleted: bool | None = None  # None: tombstones only with updated_after

    @property
    def tombstones(self) -> bool:
        if self.include_deleted is None:
            return self.updated_after is not None
        return self.include_deleted

    def observation_conditions(self) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if not self.tombstones:
            conditions.append(_o.deleted == sa.false())
        if self.start_period is not None:
            conditions.append(_o.period >= self.start_period)
        if self.end_period is not None:
            conditions.append(_o.period <= end_bound(self.end_period))
        if self.updated_after is not None:
            conditions.append(_o.updated_at > self.updated_after)
        return conditions


def snapshot(conn: sa.Connection) -> sa.Connection:
    """The connection with an isolation level under which every statement sees one snapshot."""
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def dimension_ids(conn: sa.Connection, dataflow: str) -> tuple[str, ...] | None:
    """The dimension ids of the dataflow's keys, as stored with its first series."""
    text = conn.execute(sa.select(_s.dimensions).where(_s.dataflow == dataflow).limit(1)).scalar()
    return tuple(json.loads(text)) if text else None


def selected_series(
    conn: sa.Connection,
    dataflow: str,
    key_filter: KeyFilter | None,
    *,
    live_only: bool,
    always: bool = False,
) -> list[tuple[int, str]] | None:
    """(id, key) of the series a key filter selects, in key order; None: every series (unless
    ``always``: then the list of them all)."""
    if not always and (key_filter is None or all(codes is None for codes in key_filter)):
        return None
    stmt = sa.select(_s.id, _s.series_key).where(_s.dataflow == dataflow)
    areas = _areas(dimension_ids(conn, dataflow) or (), key_filter)
    if areas is not None:
        stmt = stmt.where(_s.ref_area.in_(areas))
    if live_only:
        stmt = stmt.where(_s.live > 0)
    rows = conn.execute(stmt.order_by(_s.series_key)).all()
    if key_filter is None:
        return [(sid, key) for sid, key in rows]
    wanted = key_predicate(key_filter)
    return [(sid, key) for sid, key in rows if wanted(key)]


def _areas(dims: Sequence[str], key_filter: KeyFilter | None) -> list[str] | None:
    """The REF_AREA codes a key filter selects (for the ``ref_area`` index); None: any."""
    if key_filter is None or "REF_AREA" not in dims or len(dims) != len(key_filter):
        return None
    areas = key_filter[dims.index("REF_AREA")]
    return None if areas is None else sorted(areas)


def changed_series(conn: sa.Connection, updated_after: int) -> set[int]:
    """Ids of the series with rows stamped after ``updated_after``.

    A range of the ``updated_at`` index only (it holds the primary key, so the observations
    themselves are not read): what makes a harvest cost what changed, not what is stored.
    """
    # No DISTINCT: SQLite would then walk the primary key, the whole table, instead.
    stmt = sa.select(_o.series_id).where(_o.updated_at > updated_after)
    return set(conn.execute(stmt).scalars())


def read_observations(conn: sa.Connection, query: Query) -> Iterator[Observation]:
    """The query's observations, streamed in series order (``conn`` is in a transaction)."""
    changed = None if query.updated_after is None else changed_series(conn, query.updated_after)
    if changed is not None and not changed:
        return iter(())  # the usual harvest: nothing new since last time, from the index
    base = (
        sa.select(_s.series_key, _o.period, _o.value, _o.attributes, _o.deleted)
        .select_from(series.join(observations, _o.series_id == _s.id))
        .where(_s.dataflow == query.dataflow, *query.observation_conditions())
        .order_by(_s.series_key, _o.period)
    )
    keys = _chosen_keys(conn, query, changed)
    if keys is None:
        statements: Iterable[_Select] = [base]
    else:
        slices = (keys[i : i + KEYS_PER_STATEMENT] for i in range(0, len(keys), KEYS_PER_STATEMENT))
        statements = (base.where(_s.series_key.in_(part)) for part in slices)
    batches: Iterable[Iterable[_Row]] = (b for stmt in statements for b in _batches(conn, stmt))
    if query.first_n is not None or query.last_n is not None:
        rows = chain.from_iterable(batches)
        batches = [first_last(rows, query.first_n or 0, query.last_n or 0, itemgetter(0))]
    return _observations(batches)


def _chosen_keys(conn: sa.Connection, query: Query, changed: set[int] | None) -> list[str] | None:
    """The series keys to read, in order; None: the whole dataflow.

    Series are then read by key through the ``(dataflow, series_key)`` index, which hands them
    over in key order: reading them by id instead made SQLite sort a whole country's
    observations before the first row (20 ms of a 60 ms country query).
    """
    key_filter = query.key_filter
    if changed is None:
        if key_filter is None or all(codes is None for codes in key_filter):
            return None
        dims = dimension_ids(conn, query.dataflow)
        if dims and len(dims) != len(key_filter):
            raise InvalidRequest(
                f"the key filter has {len(key_filter)} dimensions, the data {len(dims)}"
            )
        keys = spelled_out(key_filter, SPELLED_OUT)
        if keys is not None:
            return keys
    chosen = selected_series(
        conn, query.dataflow, key_filter, live_only=False, always=changed is not None
    )
    assert chosen is not None
    return [key for sid, key in chosen if changed is None or sid in changed]


def _observations(batches: Iterable[Iterable[_Row]]) -> Iterator[Observation]:
    """Rows → observations: the key split once per series, attribute JSON once per text.

    Rows come a batch at a time (one generator step per row fewer) and observations are built
    with ``tuple.__new__`` (NamedTuple's own ``__new__`` is Python code); both halve this
    loop's cost at a million rows.
    """
    new, delete, none = _new_observation, Action.DELETE, _NONE
    decoded: dict[str, Mapping[str, str]] = {}
    last_text, key = "", tuple[str, ...]()
    for batch in batches:
        for text, period, value, attributes, deleted in batch:
            if text != last_text:
                last_text, key = text, split_key(text)
            found = none
            if attributes:
                found = decoded.get(attributes) or _decode(attributes, decoded)
            yield new(Observation, (key, period, value, found, delete if deleted else None, None))


def _decode(text: str, decoded: dict[str, Mapping[str, str]]) -> Mapping[str, str]:
    """Attributes JSON → a read-only mapping, kept for the next rows with the same text (a
    table's rows repeat a few sets; one shared object also lets writers cache by identity)."""
    if len(decoded) >= SHARED_ATTRIBUTE_SETS:
        decoded.clear()
    found = decoded[text] = MappingProxyType(json.loads(text))
    return found


def _batches(conn: sa.Connection, stmt: _Select) -> Iterator[list[_Row]]:
    """The statement's rows as the driver's plain tuples, a slice at a time.

    The statement is compiled by SQLAlchemy but run on the DBAPI cursor of ``conn`` (inside its
    transaction; a named, server-side cursor on PostgreSQL): building SQLAlchemy ``Row``
    objects cost as much as SQLite's own reading, at a million rows a scan.
    """
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional and compiled.positiontup is not None:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    dbapi: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        cursor = dbapi.cursor(name=f"ilms_{uuid.uuid4().hex}")
        cursor.itersize = FETCH
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(FETCH):
            yield rows
    finally:
        cursor.close()


def first_last(
    rows: Iterable[T], first_n: int, last_n: int, series_of: Callable[[T], Any]
) -> Iterator[T]:
    """``firstNObservations``/``lastNObservations`` per series (rows in series order, ``series_of``
    naming each row's series); both given: their union. One series is held at most ``last_n``."""
    for _, group in groupby(rows, key=series_of):
        tail: deque[T] = deque(maxlen=last_n)
        for index, row in enumerate(group):
            if index < first_n:
                yield row
            elif last_n:
                tail.append(row)
        yield from tail


def read_availability(conn: sa.Connection, query: Query) -> dict[str, dict[str, int]]:
    """Per dimension, the codes with data and how many series use each ("exact" mode).

    Served from the precomputed table when nothing is filtered, from the series table when only
    the key is, and from the observations only when periods or ``updatedAfter`` are.
    """
    dims = dimension_ids(conn, query.dataflow) or ()
    filtered = query.tombstones or any(
        bound is not None for bound in (query.start_period, query.end_period, query.updated_after)
    )
    if not filtered and query.key_filter is None:
        rows = conn.execute(
            sa.select(availability.c.dimension, availability.c.code, availability.c.series_count)
            .where(availability.c.dataflow == query.dataflow)
            .order_by(availability.c.dimension, availability.c.code)
        )
        found: dict[str, dict[str, int]] = {}
        for dimension, code, count in rows:
            found.setdefault(dimension, {})[code] = count
        return {d: found.get(d, {}) for d in dims}
    stmt = sa.select(_s.series_key, _s.dimensions).where(_s.dataflow == query.dataflow)
    if filtered:
        inner = sa.select(_o.series_id).where(*query.observation_conditions())
        stmt = stmt.where(_s.id.in_(inner))
    else:
        stmt = stmt.where(_s.live > 0)
    areas = _areas(dims, query.key_filter)
    if areas is not None:  # one country's series through the (dataflow, ref_area) index
        stmt = stmt.where(_s.ref_area.in_(areas))
    wanted = key_predicate(query.key_filter) if query.key_filter is not None else None
    texts = (dimensions for key, dimensions in conn.execute(stmt) if wanted is None or wanted(key))
    counts = tally(texts)
    return {d: dict(sorted(counts.get(d, {}).items())) for d in dims}
