"""SDMX-REST 1.5 data queries: every key form and parameter against a known dataset.

Answers are read as SDMX-CSV and compared with :func:`expected` exactly (order included).
"""

# ruff: noqa: F811 - the fixtures are imported from tests.server.test_data_support
from __future__ import annotations

import datetime as dt
import gzip
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT
from tests.server.test_data_support import (  # noqa: F401 - fixtures
    CSV10,
    CSV20,
    FLOW,
    UPDATED,
    data_app,
    data_client,
    database_url,
    expected,
    generic_valid,
    loaded_at,
    sdmx_error,
    triples,
)

URL = f"/rest/data/{FLOW}"


def fetch(client: TestClient, path: str, accept: str = CSV10, **params: Any) -> Any:
    return client.get(path, params=params, headers={"Accept": accept})


def got(client: TestClient, path: str, **params: Any) -> list[tuple[str, str, str]]:
    response = fetch(client, path, **params)
    assert response.status_code == 200, response.text
    return triples(response.content)


# -- flowRef and key forms --------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        URL,
        f"/rest/data/ILO,{FLOW}",
        f"/rest/data/ILO,{FLOW},1.0",
        f"/rest/data/all,{FLOW},latest",
        f"/rest/data/{FLOW.removeprefix('DF_')}",
        f"{URL}/all",
        f"{URL}/",
        f"{URL}/all/ILO",
        f"{URL}/all/all/",
        f"{URL}/.....",
        f"{URL}/PHL+MYS.A",
    ],
)
def test_whole_dataflow(data_client: TestClient, path: str) -> None:
    assert got(data_client, path) == expected()


@pytest.mark.parametrize(
    ("key", "areas", "sexes"),
    [
        ("PHL", ("PHL",), ("SEX_T", "SEX_M", "SEX_F")),  # fewer parts: trailing wildcards
        ("PHL.A..SEX_T", ("PHL",), ("SEX_T",)),
        ("PHL.A.MST_TEMP_NB.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL", ("PHL",), ("SEX_T",)),
        ("...SEX_F", ("PHL", "MYS"), ("SEX_F",)),
        ("PHL+MYS...SEX_M+SEX_F..", ("PHL", "MYS"), ("SEX_M", "SEX_F")),
        ("MYS+KEN", ("MYS",), ("SEX_T", "SEX_M", "SEX_F")),
    ],
)
def test_key_forms(
    data_client: TestClient, key: str, areas: tuple[str, ...], sexes: tuple[str, ...]
) -> None:
    assert got(data_client, f"{URL}/{key}") == expected(areas=areas, sexes=sexes)


def test_key_with_more_parts_than_dimensions_is_400(data_client: TestClient) -> None:
    text = sdmx_error(fetch(data_client, f"{URL}/PHL.A.B.C.D.E.F"), 400, 140)
    assert "7 parts" in text and "REF_AREA.FREQ.MEASURE.SEX.AGE.CBR" in text


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"{URL}/KEN", 404, 100),
        (f"{URL}/PHL...SEX_O", 404, 100),
        ("/rest/data/DF_NOPE", 404, 100),
        (f"/rest/data/ECB,{FLOW}", 404, 100),
        (f"/rest/data/ILO,{FLOW},9.9", 404, 100),
        (f"{URL}/all/OTHER_PROVIDER", 404, 100),
        ("/rest/data/a,b,c,d", 400, 140),
        ("/rest/data/all", 501, 501),
        (f"{URL}/all/all/extra", 404, 100),
    ],
)
def test_wrong_queries(data_client: TestClient, path: str, status: int, code: int) -> None:
    sdmx_error(fetch(data_client, path, accept="application/xml"), status, code)


# -- parameters -------------------------------------------------------------------------------
def _years(rows: list[tuple[str, str, str]], *years: str) -> list[tuple[str, str, str]]:
    return [r for r in rows if r[1] in years]


@pytest.mark.parametrize(
    ("params", "years"),
    [
        ({"startPeriod": "2022"}, ("2022", "2023")),
        ({"endPeriod": "2020"}, ("2019", "2020")),
        ({"startPeriod": "2020", "endPeriod": "2021"}, ("2020", "2021")),
        ({"startPeriod": "2022-06"}, ("2022", "2023")),  # 2022 runs on past June
        ({"startPeriod": "2022-Q3", "endPeriod": "2022-Q3"}, ("2022",)),
        ({"endPeriod": "2020-01-01"}, ("2019", "2020")),
        ({"startPeriod": "2023-12-31"}, ("2023",)),
        ({"startPeriod": "2020-S2", "endPeriod": "2021-M01"}, ("2020", "2021")),
    ],
)
def test_periods(data_client: TestClient, params: dict[str, str], years: tuple[str, ...]) -> None:
    assert got(data_client, URL, **params) == _years(expected(), *years)


@pytest.mark.parametrize(
    "params",
    [
        {"startPeriod": "2020-13"},
        {"startPeriod": "20"},
        {"endPeriod": "2020-Q5"},
        {"startPeriod": "2022", "endPeriod": "2020"},
        {"firstNObservations": "0"},
        {"lastNObservations": "x"},
        {"updatedAfter": "yesterday"},
        {"dimensionAtObservation": "NOPE"},
        {"detail": "everything"},
    ],
)
def test_bad_parameters_are_400(data_client: TestClient, params: dict[str, str]) -> None:
    name = next(iter(params))
    assert name in sdmx_error(fetch(data_client, URL, **params), 400, 140)


def test_period_outside_the_data_is_404(data_client: TestClient) -> None:
    sdmx_error(fetch(data_client, URL, startPeriod="2030"), 404, 100)


def test_first_and_last_n(data_client: TestClient) -> None:
    rows = expected()
    by_series: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        by_series.setdefault(row[0], []).append(row)
    first = [r for s in by_series.values() for r in s[:2]]
    last = [r for s in by_series.values() for r in s[-1:]]
    both = [r for s in by_series.values() for r in s[:1] + s[-1:]]
    assert got(data_client, URL, firstNObservations=2) == first
    assert got(data_client, URL, lastNObservations=1) == last
    assert got(data_client, URL, firstNObservations=1, lastNObservations=1) == both
    # with a sub-annual bound the periods are finished in Python, then first/last N
    assert got(data_client, URL, startPeriod="2022-07", lastNObservations=1) == last


def test_updated_after_csv20_has_changes_and_deletions(
    data_client: TestClient, loaded_at: dt.datetime
) -> None:
    response = fetch(data_client, URL, accept=CSV20, updatedAfter=loaded_at.isoformat())
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0].startswith("STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA")
    assert [(r[2], r[3], r[6], r[9], r[10]) for r in (x.split(",") for x in lines[1:])] == [
        ("D", "MYS", "SEX_F", "2019", ""),
        ("A", "PHL", "SEX_T", "2023", UPDATED),
    ]


def test_updated_after_forms(data_client: TestClient, loaded_at: dt.datetime) -> None:
    text = loaded_at.isoformat()
    local = loaded_at.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    for value in (text, text.replace("+00:00", "Z"), local, local.replace("+", " ")):
        response = fetch(data_client, URL, accept=CSV20, updatedAfter=value)
        assert response.text.count("\n") == 3, value
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    sdmx_error(fetch(data_client, URL, updatedAfter=later), 404, 100)


def test_updated_after_csv10_leaves_deletions_out(
    data_client: TestClient, loaded_at: dt.datetime
) -> None:
    response = fetch(data_client, URL, updatedAfter=loaded_at.isoformat())
    assert triples(response.content) == [("PHL.SEX_T", "2023", UPDATED)]
    assert "deletions left out" in response.headers["warning"]


def test_updated_after_sdmx_ml_has_a_delete_dataset(
    data_client: TestClient, loaded_at: dt.datetime
) -> None:
    response = fetch(data_client, URL, accept="application/xml", updatedAfter=str(loaded_at))
    root = generic_valid(response.content)
    datasets = root.findall("{*}DataSet")
    assert [d.get("action") for d in datasets] == ["Append", "Delete"]
    assert [len(d.findall(".//{*}Obs")) for d in datasets] == [1, 1]
    deleted = datasets[1].find(".//{*}Obs/{*}ObsDimension")
    assert deleted is not None and deleted.get("value") == "2019"


@pytest.mark.parametrize(
    ("detail", "rows"),
    [
        ("full", 24),
        ("dataonly", 24),
        ("serieskeysonly", 5),
        ("nodata", 5),
    ],
)
def test_detail(data_client: TestClient, detail: str, rows: int) -> None:
    from tests.server.test_data_support import csv_rows  # noqa: PLC0415

    found = csv_rows(fetch(data_client, URL, detail=detail).content)
    assert len(found) == rows
    values = {r["OBS_VALUE"] != "" for r in found}
    units = {r["UNIT_MEASURE"] for r in found}
    statuses = {r["OBS_STATUS"] for r in found}
    assert values == ({True} if rows == 24 else {False})
    assert units == ({"PS"} if detail in ("full", "nodata") else {""})
    assert statuses == ({"", "E"} if detail == "full" else {""})


def test_dimension_at_observation(data_client: TestClient) -> None:
    flat = generic_valid(
        fetch(data_client, URL, "application/xml", dimensionAtObservation="AllDimensions").content
    )
    assert len(flat.findall(".//{*}DataSet/{*}Obs")) == 24
    assert flat.find(".//{*}Structure").get("dimensionAtObservation") == "AllDimensions"
    by_sex = generic_valid(
        fetch(data_client, URL, "application/xml", dimensionAtObservation="SEX").content
    )
    assert len(by_sex.findall(".//{*}Series")) == 10  # 2 areas x 5 years
    assert len(by_sex.findall(".//{*}Obs")) == 24


def test_include_history_is_not_implemented(data_client: TestClient) -> None:
    sdmx_error(fetch(data_client, URL, includeHistory="true"), 501, 501)


# -- POST with a form -------------------------------------------------------------------------
def test_post_form_query(data_client: TestClient) -> None:
    response = data_client.post(
        f"/rest/data/query/{FLOW}",
        data={"key": "PHL...SEX_T+SEX_F", "startPeriod": "2023"},
        headers={"Accept": CSV10},
    )
    assert response.status_code == 200
    assert triples(response.content) == [
        ("PHL.SEX_F", "2023", "12.2023"),
        ("PHL.SEX_T", "2023", UPDATED),
    ]
    wrong = data_client.post(f"/rest/data/query/{FLOW}", content=b"key=PHL")
    sdmx_error(wrong, 400, 140)


# -- HTTP: caching, compression, limits --------------------------------------------------------
def test_etag_and_not_modified(data_client: TestClient) -> None:
    first = fetch(data_client, f"{URL}/PHL")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = data_client.get(f"{URL}/PHL", headers={"Accept": CSV10, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    since = data_client.get(f"{URL}/PHL", headers={"Accept": CSV10, "If-Modified-Since": modified})
    assert since.status_code == 304
    other = data_client.get(f"{URL}/PHL", headers={"Accept": CSV20, "If-None-Match": etag})
    assert other.status_code == 200  # another media type, another entity


def test_gzip(data_client: TestClient) -> None:
    response = data_client.get(
        URL, headers={"Accept": CSV10, "Accept-Encoding": "gzip"}, extensions={}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert triples(response.content) == expected()  # httpx decoded it
    raw = data_client.stream("GET", URL, headers={"Accept": CSV10, "Accept-Encoding": "gzip"})
    with raw as streamed:
        body = b"".join(streamed.iter_raw())
    assert triples(gzip.decompress(body)) == expected()


def test_too_many_observations_is_413(database_url: str, data_app: Any) -> None:
    app = create_app(Settings(structures_root=ROOT, database_url=database_url, max_observations=10))
    with TestClient(app) as client:
        sdmx_error(fetch(client, URL), 413, 510)
        assert len(got(client, f"{URL}/PHL...SEX_T", startPeriod="2020")) == 4
