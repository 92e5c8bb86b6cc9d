"""Fixtures of the push tests: an app with its own store and upload folder, tokens, valid files.

The data are valid ILMS observations of DF_MST_TEMP_SEX_AGE_CBR_NB from ``bench/ilms_data.py``
(consistent totals, plausible changes): PHL's or MYS's 544 series for 2023 and 2024 (1,088
observations), written as SDMX-CSV 1.0 or any other format. The store and the submission log are
emptied before each test; the tokens stay. Runs on SQLite, and on PostgreSQL too when
``ILMS_TEST_POSTGRES_URL`` is set (the ``database_url`` fixture of the data tests).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bench.ilms_data import AREAS, PLACES, SEXES, observations
from exchange.formats import registry
from exchange.model.records import MessageInfo, Observation
from exchange.model.schema import Schema
from exchange.services.convert import open_data, resolver_for
from exchange.storage import DataStore
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT
from tests.server.conftest import serve
from tests.server.test_data_support import database_url  # noqa: F401 - a fixture

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
DATAFLOW = f"ILO:{FLOW}(1.0)"
PUSH = f"/rest/data/{FLOW}"
PUSH_V2 = f"/rest/v2/data/dataflow/ILO/{FLOW}/1.0"
LIMIT = 1024 * 1024
CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
_AGES = 34
_TABLES = ("observations", "series", "changes", "availability", "submissions")


@cache
def cube(area: str) -> tuple[Observation, ...]:
    """The country's observations for 2023 and 2024, in series order."""
    per_year = len(AREAS) * len(SEXES) * _AGES * len(PLACES)
    return tuple(o for o in observations(2 * per_year) if o.key[0] == area)


def core(found: Any) -> set[tuple[Any, ...]]:
    """Observations as comparable tuples (key, period, value, attributes)."""
    return {(o.key, o.period, o.value, tuple(sorted(o.attributes.items()))) for o in found}


def message(schema: Schema, rows: Any, fmt: str = "sdmx-csv-1.0") -> bytes:
    out = io.BytesIO()
    registry.by_name(fmt).writer(MessageInfo(schema), iter(rows), out)
    return out.getvalue()


def read_answer(app: FastAPI, body: bytes) -> list[Observation]:
    """The observations of a data message, in any format (what a harvester would read)."""
    _, stream = open_data(io.BytesIO(body), "answer", resolver_for(app.state.store, FLOW))
    return list(stream.observations)


@dataclass
class Tokens:
    phl: str
    mys: str
    admin: str
    nowhere: str  # a provider without any provision agreement
    revoked: str


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def push_app(database_url: str, upload_dir: Path) -> FastAPI:  # noqa: F811 - the fixture
    settings = Settings(
        structures_root=ROOT,
        database_url=database_url,
        max_upload_bytes=LIMIT,
        upload_dir=upload_dir,
        submission_workers=2,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def tokens(push_app: FastAPI) -> Tokens:
    store: DataStore = push_app.state.data
    revoked = store.tokens.create("PHL", label="old")
    store.tokens.revoke(revoked[0].id)
    return Tokens(
        phl=store.tokens.create("PHL", label="PSA")[1],
        mys=store.tokens.create("MYS")[1],
        admin=store.tokens.create(None, admin=True)[1],
        nowhere=store.tokens.create("FRA")[1],
        revoked=revoked[1],
    )


@pytest.fixture(scope="module")
def live(push_app: FastAPI) -> Iterator[str]:
    with serve(push_app) as url:
        yield url


@pytest.fixture(autouse=True)
def empty_store(push_app: FastAPI) -> None:
    """Every test starts from an empty store and log (the tokens stay)."""
    store: DataStore = push_app.state.data
    with store.engine.begin() as conn:
        for table in _TABLES:
            conn.exec_driver_sql(f"DELETE FROM {table}")


@pytest.fixture(scope="module")
def schema(push_app: FastAPI) -> Schema:
    found: Schema = push_app.state.store.schema(FLOW)
    return found


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def push(
    url: str, token: str, body: bytes, *, method: str = "POST", path: str = PUSH, **params: str
) -> httpx.Response:
    return httpx.request(
        method,
        url + path,
        content=body,
        params=params,
        headers=bearer(token, **{"Content-Type": CSV}),
        timeout=60,
    )


def stored(app: FastAPI) -> set[tuple[Any, ...]]:
    """Everything live in the store, as comparable tuples."""
    data: DataStore = app.state.data
    return core(data.query(app.state.store.schema(FLOW)))


def wait_final(url: str, token: str, location: str, seconds: float = 30) -> dict[str, Any]:
    """Poll a submission until it is final; its JSON."""
    deadline = time.monotonic() + seconds
    while True:
        answer = httpx.get(url + location, headers=bearer(token), timeout=10).json()
        if answer["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return dict(answer)
        time.sleep(0.05)
