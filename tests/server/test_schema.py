"""The ``schema`` resource: the DSD-specific XSD, usable to validate our structure-specific data."""

# ruff: noqa: F811 - the fixtures are imported from tests.server.test_data_support
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from exchange.formats.dsd_xsd import dsd_xsd
from tests.server.test_data_support import (  # noqa: F401 - fixtures
    FLOW,
    data_app,
    data_client,
    database_url,
    sdmx_error,
    specific_valid,
)

DSD = "ILMS_SEX_AGE_CBR"


@pytest.mark.parametrize(
    ("path", "dim"),
    [
        (f"/rest/schema/dataflow/ILO/{FLOW}/1.0", "TIME_PERIOD"),
        (f"/rest/schema/dataflow/ILO/{FLOW}/latest", "TIME_PERIOD"),
        (f"/rest/schema/dataflow/all/{FLOW}", "TIME_PERIOD"),
        (
            f"/rest/schema/dataflow/ILO/{FLOW}/1.0/?dimensionAtObservation=AllDimensions",
            "AllDimensions",
        ),
        (f"/rest/v2/schema/dataflow/ILO/{FLOW}/~?dimensionAtObservation=SEX", "SEX"),
    ],
)
def test_dataflow_schema(data_app: object, data_client: TestClient, path: str, dim: str) -> None:
    response = data_client.get(path)
    assert response.status_code == 200, response.text
    version = "3.0" if path.startswith("/rest/v2/") else "2.1"
    media = "3.0.0" if version == "3.0" else "2.1"
    assert response.headers["content-type"] == f"application/vnd.sdmx.schema+xml;version={media}"
    schema = data_app.state.store.schema(FLOW)  # type: ignore[attr-defined]
    assert response.content == dsd_xsd(schema, dim, version=version)
    etree.XMLSchema(etree.fromstring(response.content))  # compiles
    again = data_client.get(path, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_datastructure_schema(data_client: TestClient) -> None:
    response = data_client.get(f"/rest/schema/datastructure/ILO/{DSD}/1.0")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert "DataStructure=ILO:ILMS_SEX_AGE_CBR(1.0)" in root.get("targetNamespace", "")


def test_served_schema_validates_served_data(
    data_app: object, data_client: TestClient, tmp_path: Path
) -> None:
    data = data_client.get(f"/rest/data/{FLOW}", params={"format": "structurespecificdata"})
    schema = data_app.state.store.schema(FLOW)  # type: ignore[attr-defined]
    specific_valid(data.content, schema, "TIME_PERIOD", tmp_path)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/rest/schema/dataflow/ILO/DF_NOPE/1.0", 404, 100),
        ("/rest/schema/datastructure/ILO/NOPE/1.0", 404, 100),
        (f"/rest/schema/dataflow/ILO/{FLOW}/1.0?dimensionAtObservation=NOPE", 400, 140),
        ("/rest/schema/provisionagreement/ILO/PA/1.0", 501, 501),
        ("/rest/schema/nonsense/ILO/X/1.0", 400, 140),
        ("/rest/schema/dataflow/ILO/all/1.0", 400, 140),
    ],
)
def test_wrong_queries(data_client: TestClient, path: str, status: int, code: int) -> None:
    sdmx_error(data_client.get(path), status, code)
