"""Fixtures of the storage tests: every test runs on SQLite, and on PostgreSQL when
``ILMS_TEST_POSTGRES_URL`` is set (``export ILMS_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)``).

On PostgreSQL each test gets a schema of its own (``search_path``), so tests stay independent
and can run in parallel workers against one database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.storage import DataStore

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
POSTGRES = os.environ.get("ILMS_TEST_POSTGRES_URL")
Opener = Callable[[], DataStore]


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES,
                reason="PostgreSQL: set ILMS_TEST_POSTGRES_URL (see scripts/postgres.sh)",
            ),
        ),
    ]
)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """A factory of DataStores on one fresh, empty database (not migrated)."""
    opened: list[DataStore] = []
    if request.param == "sqlite":
        url, options = f"sqlite:///{tmp_path / 'ilms.db'}", {}
    else:
        assert POSTGRES
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(POSTGRES)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url, options = POSTGRES, {"connect_args": {"options": f"-c search_path={schema}"}}

    def opener() -> DataStore:
        store = DataStore(url, **options)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()
    if request.param == "postgresql":
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def datastore(open_store: Opener) -> DataStore:
    """A migrated, empty store."""
    store = open_store()
    store.migrate()
    return store


@pytest.fixture(scope="session")
def schema(store: StructureStore) -> Schema:
    return store.schema(FLOW)


def obs(
    area: str = "PHL",
    period: str | None = "2019",
    value: str | None = "1.0",
    *,
    sex: str = "SEX_T",
    age: str = "AGE_10YRBANDS_TOTAL",
    action: object = None,
    **attributes: str,
) -> Observation:
    """One observation of DF_MST_TEMP_SEX_AGE_CBR_NB, by what differs between tests."""
    key = (area, "A", "MST_TEMP_NB", sex, age, "CBR_BIR_TOTAL")
    return Observation(key, period, value, attributes, action)  # type: ignore[arg-type]
