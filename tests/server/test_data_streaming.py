"""Data answers stream: memory stays flat however many observations a query selects.

200,000 observations are stored, then fetched as SDMX-CSV and SDMX-ML over a real socket while
``tracemalloc`` watches every thread of the process (the server's included). The peak of Python
allocations stays under 8 MB, a third of the 25 MB SDMX-CSV body: the answer is never held whole.
"""

from __future__ import annotations

import datetime as dt
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exchange.model.records import Action, Observation
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT
from tests.server.test_data_support import CSV10, FLOW, key_of, serve

SERIES, PERIODS = 200, 1000
TOTAL = SERIES * PERIODS
START = dt.date(2000, 1, 1)
VALUE = b"12345.6"


def many() -> Iterator[Observation]:
    areas = [f"X{i:02d}" for i in range(SERIES // 2)]
    days = [(START + dt.timedelta(days=d)).isoformat() for d in range(PERIODS)]
    for area in areas:
        for sex in ("SEX_F", "SEX_M"):
            key = key_of(area, sex)
            for day in days:
                yield Observation(
                    key, day, VALUE.decode(), {"OBS_STATUS": "E", "UNIT_MEASURE": "PS"}
                )


@pytest.fixture(scope="module")
def big_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("big") / "ilms.db"
    app = create_app(Settings(structures_root=ROOT, database_url=f"sqlite:///{path}"))
    app.state.data.apply(app.state.store.schema(FLOW), Action.APPEND, many())
    with serve(app) as url:
        yield url


@pytest.mark.parametrize(
    ("accept", "least"),
    [(CSV10, 25_000_000), ("application/vnd.sdmx.data+json;version=2.0.0", 3_500_000)],
)
def test_memory_stays_flat(big_url: str, accept: str, least: int) -> None:
    size = rows = 0
    carry = b""
    tracemalloc.start()
    try:
        with (
            httpx.Client(timeout=60) as client,
            client.stream(
                "GET",
                f"{big_url}/rest/data/{FLOW}",
                headers={"Accept": accept, "Accept-Encoding": "identity"},
            ) as response,
        ):
            assert response.status_code == 200
            for chunk in response.iter_raw():
                size += len(chunk)
                text = carry + chunk  # a value may straddle two chunks
                rows += text.count(VALUE)
                carry = text[-(len(VALUE) - 1) :]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == TOTAL
    assert size > least
    assert peak < 8_000_000, f"peak {peak:,} bytes for a {size:,}-byte body"
