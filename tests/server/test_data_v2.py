"""SDMX-REST 2.0 data queries: paths, ``c[…]`` filters, ``attributes``/``measures`` and more."""

# ruff: noqa: F811 - the fixtures are imported from tests.server.test_data_support
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.test_data_support import (  # noqa: F401 - fixtures
    CSV20,
    FLOW,
    UPDATED,
    csv_rows,
    data_app,
    data_client,
    database_url,
    expected,
    loaded_at,
    sdmx_error,
    triples,
)

BASE = "/rest/v2/data"
V2 = f"{BASE}/dataflow/ILO/{FLOW}/1.0"


def fetch(client: TestClient, path: str, params: Any = None) -> Any:
    return client.get(path, params=params, headers={"Accept": CSV20})


def got(client: TestClient, path: str, params: Any = None) -> list[tuple[str, str, str]]:
    response = fetch(client, path, params)
    assert response.status_code == 200, response.text
    return triples(response.content)


@pytest.mark.parametrize(
    "path",
    [
        V2,
        f"{V2}/",
        f"{V2}/*",
        f"{BASE}/dataflow/*/{FLOW}/~/*",
        f"{BASE}/*/ILO/{FLOW}",
        f"{BASE}/dataflow/ILO/{FLOW}/*/*.*.*.*.*.*",
        f"{BASE}/dataflow/ILO/{FLOW}/~/PHL,MYS",
    ],
)
def test_whole_dataflow(data_client: TestClient, path: str) -> None:
    assert got(data_client, path) == expected()


@pytest.mark.parametrize(
    ("key", "areas", "sexes"),
    [
        ("PHL", ("PHL",), ("SEX_T", "SEX_M", "SEX_F")),
        ("PHL.A.*.SEX_T", ("PHL",), ("SEX_T",)),
        ("*.*.*.SEX_M,SEX_F.*.*", ("PHL", "MYS"), ("SEX_M", "SEX_F")),
    ],
)
def test_keys(
    data_client: TestClient, key: str, areas: tuple[str, ...], sexes: tuple[str, ...]
) -> None:
    assert got(data_client, f"{V2}/{key}") == expected(areas=areas, sexes=sexes)


def _years(*years: str, **selection: Any) -> list[tuple[str, str, str]]:
    return [r for r in expected(**selection) if r[1] in years]


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("c[SEX]=SEX_M,SEX_F", expected(sexes=("SEX_M", "SEX_F"))),
        ("c[SEX]=eq:SEX_M", expected(sexes=("SEX_M",))),
        ("c[REF_AREA]=ne:PHL", expected(areas=("MYS",))),
        ("c[TIME_PERIOD]=ge:2022%2Ble:2023", _years("2022", "2023")),
        ("c[TIME_PERIOD]=ge:2022+le:2022", _years("2022")),  # a raw + arrives as a space
        ("c[TIME_PERIOD]=gt:2021", _years("2022", "2023")),
        ("c[TIME_PERIOD]=lt:2020", _years("2019")),
        ("c[TIME_PERIOD]=2021", _years("2021")),
        ("c[TIME_PERIOD]=2019,2023", _years("2019", "2023")),
        ("c[OBS_STATUS]=E", _years("2023")),
        (
            "c[OBS_VALUE]=gt:21&c[REF_AREA]=MYS",
            [("MYS.SEX_F", y, f"22.{y}") for y in ("2020", "2021", "2022", "2023")],
        ),
        ("c[OBS_VALUE]=ge:99", [("PHL.SEX_T", "2023", UPDATED)]),
        ("c[SEX]=ew:_T&c[TIME_PERIOD]=eq:2023", _years("2023", sexes=("SEX_T",))),
        ("c[SEX]=sw:SEX_&c[REF_AREA]=co:Y", expected(areas=("MYS",))),
    ],
)
def test_component_filters(
    data_client: TestClient, query: str, rows: list[tuple[str, str, str]]
) -> None:
    assert got(data_client, f"{V2}?{query}") == rows


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("c[NOPE]=1", "NOPE"),
        ("c[SEX]=xx:SEX_M", "xx"),
        ("attributes=NOPE", "NOPE"),
        ("measures=some", "measures"),
        ("firstNObservations=-1", "firstNObservations"),
        ("dimensionAtObservation=X", "dimensionAtObservation"),
    ],
)
def test_bad_parameters_are_400(data_client: TestClient, query: str, names: str) -> None:
    assert names in sdmx_error(fetch(data_client, f"{V2}?{query}"), 400, 140)


def test_wrong_paths(data_client: TestClient) -> None:
    sdmx_error(fetch(data_client, f"{BASE}/datastructure/ILO/X/1.0"), 501, 501)
    sdmx_error(fetch(data_client, f"{BASE}/nonsense/ILO/{FLOW}"), 400, 140)
    sdmx_error(fetch(data_client, f"{V2}/PHL.A.B.C.D.E.F"), 400, 140)
    sdmx_error(fetch(data_client, f"{V2}/KEN"), 404, 100)
    sdmx_error(fetch(data_client, f"{BASE}/dataflow/ILO/DF_NOPE"), 404, 100)
    sdmx_error(fetch(data_client, f"{V2}/*/extra"), 404, 100)


def test_errors_are_json_by_default(data_client: TestClient) -> None:
    response = data_client.get(f"{V2}/KEN")
    assert response.headers["content-type"] == "application/json"
    sdmx_error(response, 404, 100)


def test_attributes_and_measures(data_client: TestClient) -> None:
    def column_values(query: str, column: str) -> set[str]:
        return {r[column] for r in csv_rows(fetch(data_client, f"{V2}?{query}").content)}

    assert column_values("attributes=none", "UNIT_MEASURE") == {""}
    assert column_values("attributes=none", "OBS_STATUS") == {""}
    assert column_values("attributes=dsd", "OBS_STATUS") == {"", "E"}
    assert column_values("attributes=all", "UNIT_MEASURE") == {"PS"}
    assert column_values("attributes=OBS_STATUS", "OBS_STATUS") == {"", "E"}
    assert column_values("attributes=OBS_STATUS", "UNIT_MEASURE") == {""}
    assert column_values("measures=none", "OBS_VALUE") == {""}
    assert len(column_values("measures=all", "OBS_VALUE")) == 24


def test_first_and_last_n(data_client: TestClient) -> None:
    assert got(data_client, V2, {"lastNObservations": 1}) == _years("2023")
    first = got(data_client, V2, {"firstNObservations": 1})
    assert [r[1] for r in first] == ["2020", "2019", "2019", "2019", "2019"]
    # a c[] filter is applied first, then first/last N
    assert got(data_client, f"{V2}?c[TIME_PERIOD]=le:2021&lastNObservations=1") == _years("2021")


def test_updated_after(data_client: TestClient, loaded_at: dt.datetime) -> None:
    rows = csv_rows(fetch(data_client, V2, {"updatedAfter": loaded_at.isoformat()}).content)
    columns = ("ACTION", "REF_AREA", "SEX", "TIME_PERIOD", "OBS_VALUE")
    assert [tuple(r[c] for c in columns) for r in rows] == [
        ("D", "MYS", "SEX_F", "2019", ""),
        ("A", "PHL", "SEX_T", "2023", UPDATED),
    ]  # fmt: skip


def test_include_history(data_client: TestClient) -> None:
    sdmx_error(fetch(data_client, V2, {"includeHistory": "true"}), 501, 501)
