"""Availability (``availableconstraint`` 1.5, ``availability`` 2.0) on the known dataset."""

# ruff: noqa: F811 - the fixtures are imported from tests.server.test_data_support
from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from tests.server.conftest import json_of
from tests.server.test_data_support import (  # noqa: F401 - fixtures
    FLOW,
    data_app,
    data_client,
    database_url,
    generic_valid,
    sdmx_error,
)

V1 = f"/rest/availableconstraint/{FLOW}"
V2 = f"/rest/v2/availability/dataflow/ILO/{FLOW}/1.0"
CONSTANT = {
    "FREQ": ["A"],
    "MEASURE": ["MST_TEMP_NB"],
    "AGE": ["AGE_10YRBANDS_TOTAL"],
    "CBR": ["CBR_BIR_TOTAL"],
}


def cube_ml(body: bytes) -> dict[str, list[str]]:
    root = generic_valid(body)
    constraint = root.find(".//{*}ContentConstraint")
    assert constraint is not None and constraint.get("type") == "Actual"
    ref = constraint.find("{*}ConstraintAttachment/{*}Dataflow/Ref")
    assert ref is not None and ref.get("id") == FLOW
    return {
        kv.get("id", ""): [v.text or "" for v in kv]
        for kv in constraint.iterfind("{*}CubeRegion/{*}KeyValue")
    }


def cube_json(body: bytes) -> dict[str, list[str]]:
    message = json_of(body)
    (constraint,) = message["data"]["dataConstraints"]
    assert constraint["role"] == "Actual"
    (region,) = constraint["cubeRegions"]
    return {kv["id"]: [v["value"] for v in kv["values"]] for kv in region["keyValues"]}


def full(areas: list[str], sexes: list[str]) -> dict[str, list[str]]:
    out = {"REF_AREA": areas, **CONSTANT, "SEX": sexes}
    return {d: out[d] for d in ("REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR")}


ALL_SEXES = ["SEX_F", "SEX_M", "SEX_T"]


@pytest.mark.parametrize(
    ("path", "params", "cube"),
    [
        (V1, {}, full(["MYS", "PHL"], ALL_SEXES)),
        (f"{V1}/", {}, full(["MYS", "PHL"], ALL_SEXES)),
        (f"{V1}/MYS", {}, full(["MYS"], ["SEX_F", "SEX_T"])),
        (f"{V1}/...SEX_M", {}, full(["PHL"], ["SEX_M"])),
        (f"{V1}/MYS/all/all", {"mode": "available"}, full(["MYS", "PHL"], ["SEX_F", "SEX_T"])),
        (f"{V1}/MYS/ILO/SEX", {}, {"SEX": ["SEX_F", "SEX_T"]}),
        (f"{V1}/MYS", {"startPeriod": "2019", "endPeriod": "2019"}, full(["MYS"], ["SEX_T"])),
    ],
)
def test_available_constraint_v1(
    data_client: TestClient, path: str, params: dict[str, str], cube: dict[str, list[str]]
) -> None:
    response = data_client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.sdmx.structure+xml")
    assert cube_ml(response.content) == cube


@pytest.mark.parametrize(
    ("path", "params", "cube"),
    [
        (V2, {}, full(["MYS", "PHL"], ALL_SEXES)),
        (f"{V2}/PHL.*.*.SEX_T,SEX_M", {}, full(["PHL"], ["SEX_M", "SEX_T"])),
        (f"{V2}/*/SEX", {"c[REF_AREA]": "MYS"}, {"SEX": ["SEX_F", "SEX_T"]}),
        (f"{V2}/MYS", {"mode": "available"}, full(["MYS", "PHL"], ["SEX_F", "SEX_T"])),
        (f"{V2}/MYS", {"c[TIME_PERIOD]": "ge:2019+le:2019"}, full(["MYS"], ["SEX_T"])),
    ],
)
def test_availability_v2(
    data_client: TestClient, path: str, params: dict[str, str], cube: dict[str, list[str]]
) -> None:
    response = data_client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert cube_json(response.content) == cube


def test_formats_cross(data_client: TestClient) -> None:
    as_json = data_client.get(V1, headers={"Accept": "application/json"})
    assert cube_json(as_json.content) == full(["MYS", "PHL"], ALL_SEXES)
    as_xml = data_client.get(V2, headers={"Accept": "application/xml"})
    assert cube_ml(as_xml.content) == full(["MYS", "PHL"], ALL_SEXES)


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        (f"{V1}/KEN", {}, 404, 100),
        (V1, {"startPeriod": "2030"}, 404, 100),
        (f"{V1}/all/all/NOPE", {}, 400, 140),
        (V1, {"mode": "sometimes"}, 400, 140),
        (f"{V1}/PHL.A.B.C.D.E.F", {}, 400, 140),
        ("/rest/availableconstraint/DF_NOPE", {}, 404, 100),
        (f"{V2}/*", {"c[OBS_VALUE]": "gt:1"}, 400, 140),
        ("/rest/v2/availability/datastructure/ILO/X/1.0", {}, 400, 140),
    ],
)
def test_wrong_queries(
    data_client: TestClient, path: str, params: dict[str, Any], status: int, code: int
) -> None:
    sdmx_error(data_client.get(path, params=params), status, code)


def test_fast(data_client: TestClient) -> None:
    """Served from precomputed counts (the 1M-row timing is in bench/)."""
    start = time.perf_counter()
    for _ in range(20):
        assert data_client.get(V1).status_code == 200
    assert (time.perf_counter() - start) / 20 < 0.2


def test_constraint_names_its_dataflow(data_client: TestClient) -> None:
    root = etree.fromstring(data_client.get(V1).content)
    constraint = root.find(".//{*}ContentConstraint")
    assert constraint is not None
    assert constraint.get("urn", "").endswith(f"CC_AVAILABLE_{FLOW}(1.0)")
