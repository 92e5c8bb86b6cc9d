"""Content negotiation: Accept with q-values and versions, ``format=``, 406 with the offer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from exchange.errors import NotAcceptable
from server.negotiation import Rendering, negotiate, parse_accept, preferred_languages
from tests.server.conftest import json_of, xml_of

ML, JS = Rendering.ML21, Rendering.JSON20


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, ML),
        ("", ML),
        ("*/*", ML),
        ("application/*", ML),
        ("application/xml", ML),
        ("text/xml", ML),
        ("application/vnd.sdmx.structure+xml;version=2.1", ML),
        ('application/vnd.sdmx.structure+xml; version="2.1"', ML),
        ("application/vnd.sdmx.structure+xml", ML),
        ("application/json", JS),
        ("application/vnd.sdmx.structure+json;version=2.0.0", JS),
        ("application/vnd.sdmx.structure+json;version=2.0", JS),
        ("application/vnd.sdmx.structure+json", JS),
        ("application/xml;q=0.5, application/json", JS),
        ("application/json;q=0.4, application/xml;q=0.8", ML),
        ("application/json;q=0, */*", ML),
        ("text/html, application/vnd.sdmx.structure+json;version=2.0.0;q=0.9", JS),
        ("application/vnd.sdmx.structure+xml;version=3.0.0, application/json;q=0.1", JS),
        ("*/*;q=0.1, application/vnd.sdmx.structure+json;version=2.0.0", JS),
    ],
)
def test_negotiate(accept: str | None, expected: Rendering) -> None:
    assert negotiate(accept) is expected


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "application/vnd.sdmx.structure+xml;version=3.0.0",
        "application/vnd.sdmx.structure+json;version=1.0.0",
        "application/vnd.sdmx.genericdata+xml;version=2.1",
        "application/json;q=0",
    ],
)
def test_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable, match=r"supported media types: application/vnd\.sdmx"):
        negotiate(accept)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("structure", ML), ("sdmx-json", JS), ("jsonstructure", JS), ("SDMX-ML", ML), ("json", JS)],
)
def test_format_parameter_wins_over_accept(fmt: str, expected: Rendering) -> None:
    assert negotiate("text/html", fmt) is expected


def test_unknown_format_is_406() -> None:
    with pytest.raises(NotAcceptable, match="format=csv"):
        negotiate(None, "csv")


def test_parse_accept_orders_by_q_then_specificity() -> None:
    ranges = parse_accept("*/*;q=0.8, application/*;q=0.8, application/json;q=0.8, text/xml")
    assert [r.type for r in ranges] == ["text/xml", "application/json", "application/*", "*/*"]
    assert parse_accept("a/b;q=oops")[0].q == 0.0


def test_preferred_languages() -> None:
    assert preferred_languages("fr-CH, fr;q=0.9, *;q=0.5, es;q=0") == ["fr-ch", "fr"]
    assert preferred_languages(None) == []


# -- over HTTP ----------------------------------------------------------------------------------
def test_406_lists_the_supported_types(client: TestClient) -> None:
    response = client.get("/rest/codelist/ILO/CL_SEX", headers={"Accept": "text/html"})
    assert response.status_code == 406
    root = xml_of(response.content)
    assert root[0].get("code") == "406"
    text = root[0][0].text or ""
    for media in (
        "application/vnd.sdmx.structure+xml; version=2.1",
        "application/vnd.sdmx.structure+json; version=2.0.0",
        "application/xml",
        "application/json",
    ):
        assert media in text


def test_406_in_json_when_json_was_asked_for(client: TestClient) -> None:
    accept = "application/vnd.sdmx.structure+json;version=1.0.0"
    response = client.get("/rest/codelist/ILO/CL_SEX", headers={"Accept": accept})
    assert response.status_code == 406
    assert json_of(response.content)["errors"][0]["code"] == 406


def test_format_query_parameter(client: TestClient) -> None:
    response = client.get("/rest/codelist/ILO/CL_SEX?format=sdmx-json")
    assert response.headers["content-type"] == "application/vnd.sdmx.structure+json; version=2.0.0"
    response = client.get(
        "/rest/codelist/ILO/CL_SEX?format=structure", headers={"Accept": "application/json"}
    )
    assert response.headers["content-type"] == "application/vnd.sdmx.structure+xml; version=2.1"
    assert client.get("/rest/codelist/ILO/CL_SEX?format=csv").status_code == 406


def test_application_xml_is_sdmx_ml(client: TestClient) -> None:
    response = client.get("/rest/codelist/ILO/CL_SEX", headers={"Accept": "application/xml"})
    assert response.status_code == 200
    xml_of(response.content)
