"""Data content negotiation: every format is chosen as asked and validates against its schema."""

# ruff: noqa: F811 - the fixtures are imported from tests.server.test_data_support
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree

from exchange.formats import csv10
from tests.server.test_data_support import (  # noqa: F401 - fixtures
    CSV10,
    FLOW,
    data_app,
    data_client,
    database_url,
    expected,
    generic_valid,
    json_valid,
    loaded_at,
    sdmx_error,
    specific_valid,
    triples,
)

URL = f"/rest/data/{FLOW}"
V2 = f"/rest/v2/data/dataflow/ILO/{FLOW}/1.0"


@pytest.mark.parametrize(
    ("accept", "fmt", "media_type"),
    [
        (None, None, "application/vnd.sdmx.genericdata+xml; version=2.1"),
        ("*/*", None, "application/vnd.sdmx.genericdata+xml; version=2.1"),
        ("application/xml", None, "application/vnd.sdmx.genericdata+xml; version=2.1"),
        (
            "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
            None,
            "application/vnd.sdmx.structurespecificdata+xml; version=2.1",
        ),
        ("application/json", None, "application/vnd.sdmx.data+json; version=1.0.0"),
        ("text/csv", None, "application/vnd.sdmx.data+csv; version=1.0.0"),
        ("image/png, text/csv;q=0.5", None, "application/vnd.sdmx.data+csv; version=1.0.0"),
        (
            "application/vnd.sdmx.data+xml;version=3.0.0",
            None,
            "application/vnd.sdmx.data+xml; version=3.0.0",
        ),
        (CSV10, "genericdata", "application/vnd.sdmx.genericdata+xml; version=2.1"),
        (
            None,
            "structurespecificdata",
            "application/vnd.sdmx.structurespecificdata+xml; version=2.1",
        ),
        (None, "jsondata", "application/vnd.sdmx.data+json; version=1.0.0"),
        (None, "csv", "application/vnd.sdmx.data+csv; version=1.0.0"),
    ],
)
def test_negotiation_v1(
    data_client: TestClient, accept: str | None, fmt: str | None, media_type: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    params = {"format": fmt} if fmt else {}
    response = data_client.get(f"{URL}/PHL", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert "Accept" in response.headers["vary"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/vnd.sdmx.data+json; version=2.0.0"),
        ("application/json", "application/vnd.sdmx.data+json; version=2.0.0"),
        ("application/xml", "application/vnd.sdmx.data+xml; version=3.0.0"),
        ("text/csv", "application/vnd.sdmx.data+csv; version=2.0.0"),
        ("application/vnd.sdmx.data+csv", "application/vnd.sdmx.data+csv; version=2.0.0"),
        (
            "application/vnd.sdmx.genericdata+xml;version=2.1",
            "application/vnd.sdmx.genericdata+xml; version=2.1",
        ),
    ],
)
def test_negotiation_v2(data_client: TestClient, accept: str | None, media_type: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = data_client.get(V2, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [("image/png", None), ("application/vnd.sdmx.data+json;version=9.9", None), (None, "xlsx")],
)
def test_not_acceptable(data_client: TestClient, accept: str | None, fmt: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    response = data_client.get(URL, params={"format": fmt} if fmt else {}, headers=headers)
    sdmx_error(response, 406, 406)


def test_csv_labels_and_time_format(data_client: TestClient) -> None:
    accept = "application/vnd.sdmx.data+csv;version=1.0.0;labels=both;timeFormat=normalized"
    response = data_client.get(f"{URL}/PHL...SEX_T", headers={"Accept": accept})
    header = response.text.splitlines()[0]
    assert "REF_AREA: " in header and "TIME_PERIOD: " in header
    again = data_client.get(f"{URL}/PHL...SEX_T", params={"format": "csv", "labels": "both"})
    assert again.text.splitlines()[0] == header
    bad = data_client.get(URL, headers={"Accept": f"{CSV10};labels=odd"})
    sdmx_error(bad, 406, 406)


def test_csv10_reads_back(data_app: FastAPI, data_client: TestClient) -> None:
    """Our own SDMX-CSV reader gets back what was stored."""
    import io  # noqa: PLC0415

    body = data_client.get(URL, headers={"Accept": CSV10}).content
    stream = csv10.read(io.BytesIO(body), lambda _ref: data_app.state.store.schema(FLOW))
    rows = [(f"{o.key[0]}.{o.key[3]}", o.period, o.value) for o in stream]
    assert rows == expected()


def test_generic_validates(data_client: TestClient) -> None:
    root = generic_valid(data_client.get(URL, headers={"Accept": "application/xml"}).content)
    assert len(root.findall(".//{*}Series")) == 5
    assert len(root.findall(".//{*}Obs")) == 24


@pytest.mark.parametrize("dim", ["TIME_PERIOD", "AllDimensions", "REF_AREA"])
def test_structure_specific_validates(
    data_app: FastAPI, data_client: TestClient, dim: str, tmp_path: Path
) -> None:
    response = data_client.get(
        URL, params={"format": "structurespecificdata", "dimensionAtObservation": dim}
    )
    schema = data_app.state.store.schema(FLOW)
    root = specific_valid(response.content, schema, dim, tmp_path)
    assert len(root.findall(".//Obs")) == 24
    location = root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation")
    assert location is not None and f"/rest/schema/dataflow/ILO/{FLOW}/1.0" in location
    assert f"dimensionAtObservation={dim}" in location


def test_ml30_validates(data_app: FastAPI, data_client: TestClient, tmp_path: Path) -> None:
    response = data_client.get(V2, headers={"Accept": "application/xml"})
    schema = data_app.state.store.schema(FLOW)
    root = specific_valid(response.content, schema, "TIME_PERIOD", tmp_path, version="3.0")
    assert len(root.findall(".//Obs")) == 24


@pytest.mark.parametrize(("path", "version"), [(URL, "1.0"), (V2, "2.0")])
def test_json_validates(data_client: TestClient, path: str, version: str) -> None:
    response = data_client.get(path, headers={"Accept": "application/json"})
    message = json_valid(response.content, version)
    datasets = message.get("data", message)["dataSets"]
    assert sum(len(s["observations"]) for s in datasets[0]["series"].values()) == 24


def test_json_updated_after_has_a_delete_dataset(
    data_client: TestClient, loaded_at: dt.datetime
) -> None:
    for path, version in ((URL, "1.0"), (V2, "2.0")):
        response = data_client.get(
            path,
            params={"updatedAfter": loaded_at.isoformat()},
            headers={"Accept": "application/json"},
        )
        message: dict[str, Any] = json_valid(response.content, version)
        datasets = message.get("data", message)["dataSets"]
        assert sorted(d["action"] for d in datasets) == ["Append", "Delete"]


def test_ml30_updated_after_has_a_delete_dataset(
    data_app: FastAPI, data_client: TestClient, loaded_at: dt.datetime, tmp_path: Path
) -> None:
    response = data_client.get(
        V2, params={"updatedAfter": loaded_at.isoformat()}, headers={"Accept": "application/xml"}
    )
    schema = data_app.state.store.schema(FLOW)
    root = specific_valid(response.content, schema, "TIME_PERIOD", tmp_path, version="3.0")
    actions = [d.get(f"{{{etree.QName(d).namespace}}}action") or "" for d in root.iter()]
    data_sets = [d for d in root if etree.QName(d).localname == "DataSet"]
    assert len(data_sets) == 2
    assert [next(v for k, v in d.attrib.items() if k.endswith("action")) for d in data_sets] == [
        "Append",
        "Delete",
    ]
    assert actions


def test_json_flat(data_client: TestClient) -> None:
    response = data_client.get(
        V2,
        params={"dimensionAtObservation": "AllDimensions"},
        headers={"Accept": "application/json"},
    )
    message = json_valid(response.content, "2.0")
    (dataset,) = message["data"]["dataSets"]
    assert "series" not in dataset and len(dataset["observations"]) == 24
