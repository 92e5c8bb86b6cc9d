"""DF_ILMS_MIRROR over SDMX-REST: computed from the stored tables, queried like any dataflow.

The data is the hand-made store of :mod:`tests.services.test_mirror` (PHL, IDN → SAU, ARE; SAU
and MYS reporting inflows by citizenship), loaded into a fresh app; the answers must be exactly
the rows of that module's ``FULL`` view that the key and periods select.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.model.records import Action
from exchange.storage import DataStore
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT
from tests.server.test_data_support import CSV10, CSV20, csv_rows, generic_valid
from tests.services.test_mirror import (
    DESTINATION_FLOW,
    DESTINATION_ROWS,
    FULL,
    OEMP_NCIT,
    OPOP_FPOP,
    OPOP_NCIT,
    ORIGIN_FLOW,
    ORIGIN_ROWS,
    Row,
)

GENERIC = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic}"
DIMENSIONS = ("REF_AREA", "COUNTERPART_AREA", "FREQ", "MIRROR_PAIR", "SEX", "MIRROR_MEASURE")


@pytest.fixture(scope="module")
def mirror_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("mirror") / "ilms.db"
    app: FastAPI = create_app(Settings(structures_root=ROOT, database_url=f"sqlite:///{database}"))
    data: DataStore = app.state.data
    data.apply(app.state.store.schema(ORIGIN_FLOW), Action.APPEND, ORIGIN_ROWS)
    data.apply(app.state.store.schema(DESTINATION_FLOW), Action.APPEND, DESTINATION_ROWS)
    with TestClient(app) as client:
        yield client


def answer(client: TestClient, path: str, accept: str = CSV10, **params: str) -> list[Row]:
    response = client.get(path, params=params, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    out: list[Row] = []
    for row in csv_rows(response.content):
        key = ".".join(row[d] for d in DIMENSIONS)
        status = row.get("OBS_STATUS") or None
        out.append((key, row["TIME_PERIOD"], row["OBS_VALUE"], row["UNIT_MULT"], status))
    return out


def test_origin_pulls_its_mirror(mirror_client: TestClient) -> None:
    got = answer(mirror_client, "/rest/data/DF_ILMS_MIRROR/PHL.....")
    assert got == [r for r in FULL if r[0].startswith("PHL.")]


def test_destination_pulls_its_mirror(mirror_client: TestClient) -> None:
    got = answer(mirror_client, "/rest/data/ILO,DF_ILMS_MIRROR,1.0/.SAU")
    assert got == [r for r in FULL if r[0].split(".")[1] == "SAU"]


def test_pair_sex_and_periods(mirror_client: TestClient) -> None:
    got = answer(
        mirror_client, "/rest/data/DF_ILMS_MIRROR/PHL.SAU.A.OPOP_NCIT.SEX_T", startPeriod="2020"
    )
    assert got == [
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.ASYMMETRY", "2020", "0", "0", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.DESTINATION", "2020", "40.0", "3", "E"),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.ORIGIN", "2020", "40.0", "3", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.RATIO", "2020", "1", "0", None),
    ]


def test_v2_query_and_whole_view(mirror_client: TestClient) -> None:
    path = "/rest/v2/data/dataflow/ILO/DF_ILMS_MIRROR/1.0/*.*.*.*.*.RATIO"
    got = answer(mirror_client, path, accept=CSV20)
    assert got == [r for r in FULL if r[0].endswith(".RATIO")]
    assert answer(mirror_client, "/rest/data/DF_ILMS_MIRROR") == FULL


def test_sdmx_ml_answer_is_schema_valid(mirror_client: TestClient, tmp_path: Path) -> None:
    response = mirror_client.get(
        "/rest/data/DF_ILMS_MIRROR/PHL.SAU",
        headers={"Accept": "application/vnd.sdmx.genericdata+xml;version=2.1"},
    )
    assert response.status_code == 200, response.text
    root = generic_valid(response.content)
    series = root.findall(f".//{GENERIC}Series")
    keys = {r[0] for r in FULL if r[0].startswith("PHL.SAU.")}
    assert len(series) == len(keys) == 11
    sources = {
        value.get("value")
        for value in root.iter(f"{GENERIC}Value")
        if value.get("id") == "SOURCE_DATAFLOWS"
    }
    assert sources == {OPOP_NCIT, OPOP_FPOP, OEMP_NCIT}


def test_no_mirror_for_an_unknown_pair_partner(mirror_client: TestClient) -> None:
    response = mirror_client.get("/rest/data/DF_ILMS_MIRROR/KEN", headers={"Accept": CSV10})
    assert response.status_code == 404, response.text


def test_first_and_last_observations_per_mirror_series(mirror_client: TestClient) -> None:
    everything = answer(mirror_client, "/rest/data/DF_ILMS_MIRROR/PHL.SAU")
    last = answer(mirror_client, "/rest/data/DF_ILMS_MIRROR/PHL.SAU", lastNObservations="1")
    newest: dict[str, Row] = {}
    for row in everything:  # periods ascend within a series
        newest[row[0]] = row
    assert last == list(newest.values())
    first = answer(mirror_client, "/rest/data/DF_ILMS_MIRROR/PHL.SAU", firstNObservations="1")
    assert [r[0] for r in first] == list(newest)  # one per series, same series


def test_updated_after_is_refused_for_the_computed_view(mirror_client: TestClient) -> None:
    response = mirror_client.get(
        "/rest/data/DF_ILMS_MIRROR/PHL", params={"updatedAfter": "2020-01-01T00:00:00Z"}
    )
    assert response.status_code == 501, response.text
    assert b"computed from the stored tables" in response.content
