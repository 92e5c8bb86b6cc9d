"""Writing a data message into the store: SDMX actions, per observation, in one transaction.

What each action does (SDMX 2.1 Section 3A §2.3 ``ActionType``; SDMX 3.0 renamed Append to Merge,
which is what ILOSTAT and this store do):

- **Append / Merge**: upsert. A new observation is added (a tombstone comes back to life); an
  existing one takes the new value, or keeps its value when the message gives none; attributes
  are *merged* — those in the message win, those it leaves out are kept.
- **Replace**: upsert of exactly what the message says: the observation's value *and* attributes
  become those of the message (attributes it leaves out are removed, an absent value is stored
  as missing). Observations of the series that the message does not mention are kept: SDMX's
  Replace replaces what it names and deletes nothing else.
- **Delete**: an observation with a period becomes a tombstone (value and attributes cleared,
  ``deleted`` set, re-stamped). An observation without a period deletes every observation of its
  series; a key with wildcards (an empty or ``*`` position) deletes in every series it matches,
  all periods or only the one given. Deleting what is not there changes nothing. Departure from
  SDMX 3.0: a Delete naming attribute values deletes the whole observation, not just those
  attribute values (ILMS never deletes single attributes; send a Replace instead).
- **Information**: not meant to update a system; nothing is written.

A per-observation action (SDMX-CSV 2.0's ``ACTION`` column) overrides the message's.

Counts are per observation of the message: *added* (new, or back from a tombstone), *replaced*
(value or attributes changed), *deleted* (tombstoned; a series-wide delete counts each
observation it removed), *unchanged* (nothing to do — and nothing re-stamped, so harvesters do
not download it again).

Speed: observations are processed in batches of :data:`BATCH`; per batch one query finds the
series ids (new series are inserted with ``RETURNING``), one finds the stored observations (skipped
for series created in this batch, the common case of a first load), then one ``executemany``
inserts and one updates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from exchange.errors import InvalidRequest
from exchange.model.records import Action, Observation
from exchange.model.schema import Schema
from exchange.storage.availability import recompute_availability
from exchange.storage.keys import join_key, matches, wildcard_filter
from exchange.storage.tables import changes, observations, series

__all__ = ["BATCH", "Counts", "Writer"]

BATCH = 5000
#: Rows added by one write after which PostgreSQL's statistics are refreshed at once.
ANALYZE_AFTER = 100_000
#: Ids per ``IN (…)`` list: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 5000

_o = observations.c
_INSERT = (
    "INSERT INTO observations (value, attributes, updated_at, deleted, series_id, period)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE observations SET value = ?, attributes = ?, updated_at = ?, deleted = ?"
    " WHERE series_id = ? AND period = ?"
)


def _driver_sql(conn: sa.Connection, sql: str) -> str:
    """``sql`` in the driver's parameter style (``?`` for sqlite3, ``%s`` for psycopg).

    The bulk statements go to the driver's ``executemany`` with plain tuples: SQLAlchemy's
    per-row parameter processing cost as much as SQLite's insert itself.
    """
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


@dataclass
class Counts:
    """What one write did, per observation of the message (see the module docstring)."""

    added: int = 0
    replaced: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.added + self.replaced + self.deleted + self.unchanged

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.added + other.added,
            self.replaced + other.replaced,
            self.deleted + other.deleted,
            self.unchanged + other.unchanged,
        )


@dataclass
class _Row:
    """An observation's stored state while a batch is being classified."""

    stored: bool
    value: str | None
    attributes: str | None
    deleted: bool


_TEXTS: dict[tuple[tuple[str, str], ...], str] = {}


def _attributes_text(attributes: Mapping[str, str]) -> str | None:
    """Canonical JSON (sorted keys), so that equal attributes compare equal as text.

    Memoised: the observations of a table share a handful of attribute sets, and encoding JSON
    was the largest cost of a load.
    """
    if not attributes:
        return None
    items = tuple(attributes.items())
    text = _TEXTS.get(items)
    if text is None:
        if len(_TEXTS) > 10_000:
            _TEXTS.clear()
        text = json.dumps(dict(attributes), sort_keys=True, separators=(",", ":"))
        _TEXTS[items] = text
    return text


def chunks(items: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Writer:
    """Applies one message to the store inside the caller's write transaction."""

    def __init__(self, conn: sa.Connection, schema: Schema, action: Action, stamp: int) -> None:
        if schema.dataflow is None:
            raise InvalidRequest("data is stored per dataflow; this message names only a DSD")
        self.conn = conn
        self.dataflow = str(schema.dataflow)
        self.dimensions = schema.dimension_ids
        self.area = self.dimensions.index("REF_AREA") if "REF_AREA" in self.dimensions else None
        self.action = action
        self.stamp = stamp
        self.ids: dict[str, int] = {}
        self.touched: set[int] = set()
        self.counts = Counts()

    def run(self, message: Iterable[Observation]) -> Counts:
        """Write every observation, then the live counts, availability and the changes log."""
        batch: list[tuple[Observation, Action]] = []
        for obs in message:
            action = obs.action or self.action
            if action is Action.INFORMATION:
                self.counts.unchanged += 1
            elif action is Action.DELETE and (obs.period is None or wildcard_filter(obs.key)):
                self._flush(batch)
                batch = []
                self._delete_series(obs)
            elif obs.period is None:
                raise InvalidRequest(f"{join_key(obs.key)}: an observation without a period")
            else:
                batch.append((obs, action))
                if len(batch) >= BATCH:
                    self._flush(batch)
                    batch = []
        self._flush(batch)
        self._finish()
        return self.counts

    # -- series ---------------------------------------------------------------------------------
    def _series_ids(self, batch: list[tuple[Observation, Action]]) -> set[int]:
        """Fill ``self.ids`` for the batch's keys; the ids of series created now."""
        wanted: dict[str, tuple[str, ...]] = {}
        writes: set[str] = set()  # keys with something to write: only those create a series
        for obs, action in batch:
            text = join_key(obs.key)
            if action is not Action.DELETE:
                writes.add(text)
            if text not in self.ids and text not in wanted:
                if len(obs.key) != len(self.dimensions):
                    raise InvalidRequest(f"key {text} does not fit {self.dataflow}")
                wanted[text] = obs.key
        if not wanted:
            return set()
        found = self.conn.execute(
            sa.select(series.c.series_key, series.c.id).where(
                series.c.dataflow == self.dataflow, series.c.series_key.in_(list(wanted))
            )
        ).all()
        self.ids.update((key, sid) for key, sid in found)
        new = [
            self._series_row(key, wanted[key])
            for key in wanted
            if key not in self.ids and key in writes
        ]
        if not new:
            return set()
        created = self.conn.execute(
            series.insert().returning(series.c.series_key, series.c.id), new
        ).all()
        self.ids.update((key, sid) for key, sid in created)
        return {sid for _, sid in created}

    def _series_row(self, text: str, key: tuple[str, ...]) -> dict[str, object]:
        return {
            "dataflow": self.dataflow,
            "series_key": text,
            "dimensions": json.dumps(dict(zip(self.dimensions, key, strict=True))),
            "ref_area": key[self.area] if self.area is not None else None,
            "live": 0,
        }

    # -- observations ---------------------------------------------------------------------------
    def _flush(self, batch: list[tuple[Observation, Action]]) -> None:
        if not batch:
            return
        fresh = self._series_ids(batch)
        state = self._stored(batch, fresh)
        dirty: set[tuple[int, str]] = set()
        for obs, action in batch:
            sid = self.ids.get(join_key(obs.key))
            if sid is None:  # a Delete in a series never stored
                self.counts.unchanged += 1
                continue
            where = (sid, obs.period or "")
            if self._classify(state, where, obs, action):
                dirty.add(where)
        self._write(state, dirty)

    def _stored(
        self, batch: list[tuple[Observation, Action]], fresh: set[int]
    ) -> dict[tuple[int, str], _Row]:
        """The stored state of the batch's observations (none for series created just now)."""
        ids = ((self.ids.get(join_key(o.key)), o.period or "") for o, _ in batch)
        pairs = {(sid, period) for sid, period in ids if sid is not None and sid not in fresh}
        state: dict[tuple[int, str], _Row] = {}
        if not pairs:
            return state
        # Not ``(series_id, period) IN (pairs)``: SQLite answers row values with a full scan.
        # Series ids and periods separately use the primary key; extra pairs are dropped below.
        rows = self.conn.execute(
            sa.select(_o.series_id, _o.period, _o.value, _o.attributes, _o.deleted).where(
                _o.series_id.in_(sorted({sid for sid, _ in pairs})),
                _o.period.in_(sorted({period for _, period in pairs})),
            )
        )
        for sid, period, value, attributes, deleted in rows:
            if (sid, period) in pairs:
                state[sid, period] = _Row(True, value, attributes, bool(deleted))
        return state

    def _classify(
        self,
        state: dict[tuple[int, str], _Row],
        where: tuple[int, str],
        obs: Observation,
        action: Action,
    ) -> bool:
        """Count what ``obs`` does to the stored row; whether the row must be written."""
        row = state.get(where)
        live = row is not None and not row.deleted
        if action is Action.DELETE:
            if row is None or row.deleted:
                self.counts.unchanged += 1
                return False
            row.value, row.attributes, row.deleted = None, None, True
            self.counts.deleted += 1
            return True
        if action is Action.APPEND and live and row is not None:
            merged = {**json.loads(row.attributes or "{}"), **obs.attributes}
            value = obs.value if obs.value is not None else row.value
            attributes = _attributes_text(merged)
        else:
            value, attributes = obs.value, _attributes_text(obs.attributes)
        if row is None:
            state[where] = _Row(False, value, attributes, False)
            self.counts.added += 1
            return True
        if live and row.value == value and row.attributes == attributes:
            self.counts.unchanged += 1
            return False
        if live:
            self.counts.replaced += 1
        else:
            self.counts.added += 1
        row.value, row.attributes, row.deleted = value, attributes, False
        return True

    def _write(self, state: dict[tuple[int, str], _Row], dirty: set[tuple[int, str]]) -> None:
        inserts: list[tuple[str | None, str | None, int, bool, int, str]] = []
        updates: list[tuple[str | None, str | None, int, bool, int, str]] = []
        for sid, period in sorted(dirty):  # clustered-key order
            row = state[sid, period]
            values = (row.value, row.attributes, self.stamp, row.deleted, sid, period)
            (updates if row.stored else inserts).append(values)
            self.touched.add(sid)
        if inserts and self.conn.dialect.name == "postgresql":
            self._copy(inserts)
        elif inserts:
            self.conn.exec_driver_sql(_driver_sql(self.conn, _INSERT), inserts)
        if updates:
            self.conn.exec_driver_sql(_driver_sql(self.conn, _UPDATE), updates)

    def _copy(self, rows: list[tuple[str | None, str | None, int, bool, int, str]]) -> None:
        """New rows through PostgreSQL's ``COPY``: about three times ``executemany``'s speed."""
        driver: Any = self.conn.connection.driver_connection
        columns = "value, attributes, updated_at, deleted, series_id, period"
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY observations ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _delete_series(self, obs: Observation) -> None:
        """Tombstone a whole series, or a period or all periods of every series a key matches."""
        key_filter = wildcard_filter(obs.key)
        if key_filter is None:
            sid = self.conn.execute(
                sa.select(series.c.id).where(
                    series.c.dataflow == self.dataflow, series.c.series_key == join_key(obs.key)
                )
            ).scalar()
            ids = [] if sid is None else [sid]
        else:
            rows = self.conn.execute(
                sa.select(series.c.id, series.c.series_key).where(
                    series.c.dataflow == self.dataflow, series.c.live > 0
                )
            )
            ids = [sid for sid, key in rows if matches(key.split("."), key_filter)]
        removed = 0
        for chunk in chunks(ids):
            stmt = (
                observations.update()
                .where(_o.series_id.in_(chunk), _o.deleted == sa.false())
                .values(value=None, attributes=None, deleted=True, updated_at=self.stamp)
            )
            if obs.period is not None:
                stmt = stmt.where(_o.period == obs.period)
            removed += self.conn.execute(stmt).rowcount
        self.touched.update(ids)
        if removed:
            self.counts.deleted += removed
        else:
            self.counts.unchanged += 1

    # -- after the last batch -------------------------------------------------------------------
    def _finish(self) -> None:
        live = (
            sa.select(sa.func.count())
            .where(_o.series_id == series.c.id, _o.deleted == sa.false())
            .scalar_subquery()
        )
        for chunk in chunks(sorted(self.touched)):
            self.conn.execute(series.update().where(series.c.id.in_(chunk)).values(live=live))
        if self.touched:
            recompute_availability(self.conn, self.dataflow)
        if self.conn.dialect.name == "postgresql" and self.counts.added >= ANALYZE_AFTER:
            # Fresh statistics now, not at autovacuum's next round: without them the planner
            # takes the ``updated_at`` range of a harvest for a third of the table and scans it.
            self.conn.exec_driver_sql("ANALYZE observations, series")
        self.conn.execute(
            changes.insert().values(
                stamp=self.stamp,
                dataflow=self.dataflow,
                action=self.action.value,
                added=self.counts.added,
                replaced=self.counts.replaced,
                deleted=self.counts.deleted,
                unchanged=self.counts.unchanged,
            )
        )
