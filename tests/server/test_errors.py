"""SDMX error messages: SDMX-ML 2.1 ``Error`` (XSD-valid) or SDMX-JSON ``errors`` (schema-valid)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.errors import Forbidden, IlmsError, TooLarge
from server.errors import error_json, error_xml, install_error_handlers
from tests.server.conftest import COM, MES, json_of, xml_of


def test_error_xml_is_schema_valid() -> None:
    root = xml_of(error_xml(100, ["No results found: nothing <here> & \x01there"]))
    assert root.tag == f"{MES}Error"
    message = root.find(f"{MES}ErrorMessage")
    assert message is not None and message.get("code") == "100"
    text = message.find(f"{COM}Text")
    assert text is not None and text.text == "No results found: nothing <here> & there"


def test_error_json_is_schema_valid() -> None:
    body = json_of(error_json(501, "not here"))
    assert body["errors"] == [
        {
            "code": 501,
            "title": "Not implemented",
            "titles": {"en": "Not implemented"},
            "detail": "not here",
            "details": {"en": "not here"},
        }
    ]


@pytest.fixture(scope="module")
def tiny() -> TestClient:
    """An app with routes that fail in every way the handlers map."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/number")
    def number(n: int) -> int:
        return n

    @app.get("/forbidden")
    def forbidden() -> None:
        raise Forbidden("no")

    @app.get("/large")
    def large() -> None:
        raise TooLarge("too big")

    @app.get("/bug")
    def bug() -> None:
        raise IlmsError("unforeseen")

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/number?n=x", 400, "140"),
        ("/number", 400, "140"),
        ("/forbidden", 403, "120"),
        ("/large", 413, "510"),
        ("/bug", 500, "500"),
        ("/crash", 500, "500"),
        ("/nowhere", 404, "100"),
    ],
)
def test_every_failure_is_an_sdmx_error(tiny: TestClient, url: str, status: int, code: str) -> None:
    response = tiny.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/xml"
    assert xml_of(response.content)[0].get("code") == code
    as_json = tiny.get(url, headers={"Accept": "application/json"})
    assert as_json.status_code == status
    assert json_of(as_json.content)["errors"][0]["code"] == int(code)


def test_wrong_method_is_405_with_an_sdmx_body(client: TestClient) -> None:
    response = client.post("/rest/dataflow")
    assert response.status_code == 405
    assert xml_of(response.content)[0].get("code") == "405"
    assert "GET" in response.headers["allow"]
