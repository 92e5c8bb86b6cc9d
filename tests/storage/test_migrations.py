"""Migrations: a fresh database, an upgrade from version 1 with data in it, idempotence."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.errors import IlmsError, InvalidRequest
from exchange.model.records import Action
from exchange.model.schema import Schema
from exchange.storage import DataStore, parse_key
from exchange.storage.migrations import LATEST, MIGRATIONS
from exchange.storage.tables import metadata
from tests.storage.conftest import FLOW, Opener, obs

DATAFLOW = f"ILO:{FLOW}(1.0)"
NAMES = ("sid", "period", "value", "attrs", "stamp", "deleted")


def shape(store: DataStore) -> dict[str, tuple[set[str], set[str]]]:
    """Table → (column names, index names) as the database has them."""
    inspector = sa.inspect(store.engine)
    return {
        name: (
            {c["name"] for c in inspector.get_columns(name)},
            {i["name"] or "" for i in inspector.get_indexes(name)},
        )
        for name in inspector.get_table_names()
    }


def test_fresh_database_matches_the_tables_module(open_store: Opener) -> None:
    store = open_store()
    assert store.version() == 0
    assert store.migrate() == [m.version for m in MIGRATIONS]
    assert store.version() == LATEST
    assert store.migrate() == []  # idempotent
    got = shape(store)
    assert set(got) == set(metadata.tables)
    for name, table in metadata.tables.items():
        assert got[name][0] == {c.name for c in table.columns}, name
        assert {i.name for i in table.indexes} <= got[name][1], name


def test_upgrade_from_version_1_keeps_and_completes_the_data(
    open_store: Opener, schema: Schema
) -> None:
    store = open_store()
    assert store.migrate(target=1) == [1]
    dims = dict(zip(schema.dimension_ids, obs("PHL").key, strict=True))
    with store.engine.begin() as conn:
        for sid, area in ((1, "PHL"), (2, "MYS")):
            key = {**dims, "REF_AREA": area}
            conn.execute(
                sa.text(
                    "INSERT INTO series (id, dataflow, series_key, dimensions)"
                    " VALUES (:id, :flow, :key, :dims)"
                ),
                {
                    "id": sid,
                    "flow": DATAFLOW,
                    "key": ".".join(key.values()),
                    "dims": json.dumps(key),
                },
            )
        rows = [
            (1, "2019", "1", '{"UNIT_MULT":"3"}', 10, False),
            (1, "2020", "2", None, 20, False),
            (2, "2019", None, None, 30, True),
        ]
        conn.execute(
            sa.text(
                "INSERT INTO observations (series_id, period, value, attributes, updated_at,"
                " deleted) VALUES (:sid, :period, :value, :attrs, :stamp, :deleted)"
            ),
            [dict(zip(NAMES, row, strict=True)) for row in rows],
        )
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequence past them
            conn.exec_driver_sql("SELECT setval('series_id_seq', 2)")
    assert store.migrate() == list(range(2, LATEST + 1))
    assert store.version() == LATEST
    assert store.count(schema) == 2
    phl = store.query(schema, parse_key("PHL.....", 6))
    assert [(o.period, o.value, dict(o.attributes)) for o in phl] == [
        ("2019", "1", {"UNIT_MULT": "3"}),
        ("2020", "2", {}),
    ]
    assert store.availability(schema)["REF_AREA"] == {"PHL": 1}  # MYS has only a tombstone
    changed = [(o.key[0], o.period, o.action) for o in store.query(schema, updated_after=15)]
    assert changed == [("MYS", "2019", Action.DELETE), ("PHL", "2020", None)]
    watermark = store.watermark()
    assert watermark is not None and watermark.microsecond == 30  # the clock starts at the data
    # and the upgraded store takes writes
    assert store.apply(schema, Action.APPEND, [obs("MYS", "2019", "5")]).added == 1
    assert store.availability(schema)["REF_AREA"] == {"MYS": 1, "PHL": 1}


def test_every_version_step_is_idempotent(open_store: Opener) -> None:
    """A version half-applied by a crash is re-run whole: its steps must not fail twice."""
    store = open_store()
    store.migrate()
    with store.engine.begin() as conn:
        for migration in MIGRATIONS:
            for step in migration.steps:
                step(conn)
    assert store.version() == LATEST


def test_processes_starting_together_migrate_once(open_store: Opener) -> None:
    stores = [open_store() for _ in range(3)]
    applied: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def run(store: DataStore) -> None:
        start.wait()
        try:
            applied.append(store.migrate())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(v for versions in applied for v in versions) == [m.version for m in MIGRATIONS]
    with stores[0].engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM schema_version").scalar() == LATEST


def test_an_unusable_database_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="not a database URL"):
        DataStore("nosuchdb://somewhere")
    with pytest.raises(IlmsError, match="cannot open the database"):
        DataStore(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'ilms.db'}").migrate()
