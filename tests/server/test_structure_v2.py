"""SDMX-REST 2.0 structure queries under ``/rest/v2``: wildcards, comma lists, 3.0 names."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from exchange.model.store import StructureStore
from tests.server.conftest import STR, artefact_ids, json_of, xml_of

JSON20 = "application/vnd.sdmx.structure+json; version=2.0.0"
XML21 = "application/vnd.sdmx.structure+xml;version=2.1"


def data_of(client: TestClient, url: str, **headers: str) -> dict[str, list[dict[str, object]]]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text[:400]
    assert response.headers["content-type"] == JSON20
    data: dict[str, list[dict[str, object]]] = json_of(response.content)["data"]
    return data


@pytest.mark.parametrize(
    "url",
    [
        "/rest/v2/structure/dataflow/ILO/*/~",
        "/rest/v2/structure/dataflow/ILO/*/*",
        "/rest/v2/structure/dataflow/*/*/+",
        "/rest/v2/structure/dataflow/ILO/*/1.*",
        "/rest/v2/structure/dataflow/ILO/*/1.0+",
        "/rest/v2/structure/dataflow/",
        "/rest/v2/structure/dataflow",
    ],
)
def test_all_dataflows_as_json_by_default(client: TestClient, url: str) -> None:
    data = data_of(client, url)
    assert list(data) == ["dataflows"]
    assert len(data["dataflows"]) == 57


def test_comma_lists_and_exact_versions(client: TestClient) -> None:
    data = data_of(client, "/rest/v2/structure/codelist/SDMX,ILO/CL_SEX,CL_AGE/1.0,2.0")
    assert [c["id"] for c in data["codelists"]] == ["CL_AGE", "CL_SEX"]
    assert client.get("/rest/v2/structure/codelist/ILO/CL_SEX/2.0.0").status_code == 404
    assert client.get("/rest/v2/structure/codelist/ILO/CL_SEX/2.*").status_code == 404


def test_every_type(client: TestClient, store: StructureStore) -> None:
    data = data_of(client, "/rest/v2/structure/*/*/*/*")
    assert sum(len(v) for v in data.values()) == len(store.refs)
    assert len(data["dataConstraints"]) == 57
    data = data_of(client, "/rest/v2/structure/dataconstraint/ILO/CR_DF_MST_TEMP_SEX_AGE_CBR_NB")
    assert [c["role"] for c in data["dataConstraints"]] == ["Allowed"]


def test_item_queries(client: TestClient) -> None:
    data = data_of(client, "/rest/v2/structure/codelist/ILO/CL_SEX/~/SEX_F,SEX_M")
    assert [c["id"] for c in data["codelists"][0]["codes"]] == ["SEX_M", "SEX_F"]
    data = data_of(client, "/rest/v2/structure/codelist/ILO/CL_SEX/~/*")
    assert len(data["codelists"][0]["codes"]) == 5


def test_references_lists_and_ancestors(client: TestClient) -> None:
    url = "/rest/v2/structure/datastructure/ILO/ILMS_SEX_AGE_CBR/1.0?references=children"
    data = data_of(client, url)
    assert (len(data["codelists"]), len(data["conceptSchemes"])) == (11, 3)
    url = "/rest/v2/structure/codelist/ILO/CL_CBR/1.0?references=ancestors"
    data = data_of(client, url)
    assert {"dataStructures", "dataflows", "conceptSchemes", "provisionAgreements"} <= set(data)
    url = "/rest/v2/structure/dataflow/ILO/*/~?references=datastructure,categoryscheme"
    data = data_of(client, url)
    assert (len(data["dataStructures"]), len(data["categorySchemes"])) == (19, 1)


def test_detail_names(client: TestClient) -> None:
    url = "/rest/v2/structure/dataflow/ILO/DF_MST_TEMP_SEX_AGE_CBR_NB/~?references=children"
    stubs = data_of(client, url + "&detail=allstubs")
    assert stubs["dataflows"][0]["isExternalReference"] is True
    assert data_of(client, url + "&detail=raw") == data_of(client, url)  # raw: no links to expand
    bad = client.get(url + "&detail=nodata", headers={"Accept": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == 140


def test_sdmx_ml_21_on_request(client: TestClient) -> None:
    response = client.get("/rest/v2/structure/codelist/ILO/CL_SEX", headers={"Accept": XML21})
    assert response.status_code == 200
    assert artefact_ids(xml_of(response.content)) == {"Codelist": ["CL_SEX"]}
    assert len(list(xml_of(response.content).iter(f"{STR}Code"))) == 5


def test_sdmx_ml_30_is_406(client: TestClient) -> None:
    accept = "application/vnd.sdmx.structure+xml;version=3.0.0"
    response = client.get("/rest/v2/structure/codelist", headers={"Accept": accept})
    assert response.status_code == 406
    assert "application/vnd.sdmx.structure+json" in response.text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/rest/v2/structure/hierarchy/ILO/H/1.0", 501),
        ("/rest/v2/structure/metadataflow", 501),
        ("/rest/v2/structure/contentconstraint", 400),
        ("/rest/v2/structure/bogus/ILO", 400),
        ("/rest/v2/structure/dataflow/ILO/X/1.0/ITEM", 404),
        ("/rest/v2/structure/dataflow/ILO/DF_NOPE", 404),
        ("/rest/v2/structure/dataflow?references=*", 400),
    ],
)
def test_errors(client: TestClient, url: str, status: int) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert json_of(response.content)["errors"][0]["code"] in (100, 140, 501)
