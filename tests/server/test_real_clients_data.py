"""Real SDMX clients fetch data over a real socket (uvicorn on a loopback port).

- sdmx1: ``Client.data`` with a key given as a dict (so it reads the DSD first) and
  ``startPeriod``, in SDMX-ML 2.1 generic; ``to_pandas`` gives back what was loaded. An
  ``updatedAfter`` answer comes as two data sets (sdmx1 does not read their ``action``).
- pysdmx: ``RestService`` on SDMX-REST 1.5 (SDMX-CSV 1.0, SDMX-ML 2.1 generic and
  structure-specific) and 2.0 (SDMX-CSV 2.0, SDMX-ML 3.0), read with ``read_sdmx``; the 2.0
  availability query read as an ``AvailabilityConstraint``. (pysdmx 1.21 reads no SDMX-JSON
  *data* message at all, so that format is checked against the schema only.)
"""

# ruff: noqa: F811 - the fixtures are imported from tests.server.test_data_support
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sdmx
from fastapi import FastAPI
from pysdmx.api.qb import (
    ApiVersion,
    AvailabilityFormat,
    AvailabilityQuery,
    DataContext,
    DataFormat,
    DataQuery,
    RestService,
)
from pysdmx.io import read_sdmx

from tests.server.test_data_support import (  # noqa: F401 - fixtures
    FLOW,
    UPDATED,
    data_app,
    database_url,
    expected,
    loaded_at,
    serve,
)


@pytest.fixture(scope="module")
def url(data_app: FastAPI) -> Iterator[str]:
    with serve(data_app) as base:
        yield base


@pytest.fixture(scope="module")
def sdmx1_client(url: str) -> sdmx.Client:
    sdmx.add_source({"id": "ILO", "url": f"{url}/rest", "name": "ILMS (test)"}, override=True)
    return sdmx.Client("ILO")


def _wanted(area: str, since: str) -> dict[tuple[str, str], float]:
    return {
        (row[0].split(".")[1], row[1]): float(row[2])
        for row in expected(areas=(area,))
        if row[1] >= since
    }


def test_sdmx1_data_to_pandas(sdmx1_client: sdmx.Client) -> None:
    message = sdmx1_client.data(FLOW, key={"REF_AREA": "PHL"}, params={"startPeriod": "2020"})
    series = sdmx.to_pandas(message)
    got = {
        (index[series.index.names.index("SEX")], index[-1]): float(value)
        for index, value in series.items()
    }
    assert got == _wanted("PHL", "2020")
    assert got[("SEX_T", "2023")] == float(UPDATED)


def test_sdmx1_updated_after(sdmx1_client: sdmx.Client, loaded_at: dt.datetime) -> None:
    """sdmx1 2.28's SDMX-ML reader ignores ``DataSet/@action``: it sees two data sets."""
    message = sdmx1_client.data(FLOW, params={"updatedAfter": loaded_at.isoformat()})
    assert [len(ds.obs) for ds in message.data] == [1, 1]
    changed, deleted = (ds.obs[0] for ds in message.data)
    assert float(changed.value) == float(UPDATED)
    assert deleted.key.get_values()[:1] == ("MYS",) and deleted.value is None


V15 = [DataFormat.SDMX_CSV_1_0_0, DataFormat.SDMX_ML_2_1_GEN, DataFormat.SDMX_ML_2_1_STR]
V20 = [DataFormat.SDMX_CSV_2_0_0, DataFormat.SDMX_ML_3_0]


@pytest.mark.parametrize(
    ("version", "data_format"),
    [(ApiVersion.V1_5_0, f) for f in V15] + [(ApiVersion.V2_0_0, f) for f in V20],
)
def test_pysdmx_data(url: str, version: ApiVersion, data_format: DataFormat) -> None:
    v2 = version is ApiVersion.V2_0_0
    service = RestService(f"{url}/rest{'/v2' if v2 else ''}", version, data_format=data_format)
    query = DataQuery(
        context=DataContext.DATAFLOW,
        agency_id="ILO",
        resource_id=FLOW,
        version="1.0",
        key="MYS.*.*.*.*.*" if v2 else "MYS.....",
    )
    (dataset,) = read_sdmx(service.data(query).decode("utf-8")).data
    frame = dataset.data
    got = {
        (str(sex), str(period)): float(value)
        for sex, period, value in zip(
            frame["SEX"], frame["TIME_PERIOD"], frame["OBS_VALUE"], strict=True
        )
    }
    assert got == _wanted("MYS", "2019")


def test_pysdmx_availability(url: str) -> None:
    service = RestService(
        f"{url}/rest/v2", ApiVersion.V2_0_0, avail_format=AvailabilityFormat.SDMX_JSON_2_0_0
    )
    query = AvailabilityQuery(
        context=DataContext.DATAFLOW, agency_id="ILO", resource_id=FLOW, version="1.0",
        key="MYS.*.*.*.*.*",
    )  # fmt: skip
    # validate=False: schema validation needs the pysdmx[json] extra, not installed here
    (constraint,) = read_sdmx(
        service.availability(query).decode("utf-8"), validate=False
    ).structures
    cube = {kv.id: [v.value for v in kv.values] for kv in constraint.cube_region.key_values}
    assert cube["REF_AREA"] == ["MYS"]
    assert cube["SEX"] == ["SEX_F", "SEX_T"]
