"""Queries: key filters (OR sets, wildcards), periods, first/last N, updatedAfter, availability."""

from __future__ import annotations

import datetime as dt

import pytest

from exchange.errors import InvalidRequest
from exchange.model.records import Action
from exchange.model.schema import Schema
from exchange.storage import DataStore, parse_key
from exchange.storage.keys import end_bound
from tests.storage.conftest import obs

A = Action.APPEND
AREAS, SEXES, YEARS = ("PHL", "MYS", "THA"), ("SEX_T", "SEX_M", "SEX_F"), range(2015, 2021)


@pytest.fixture
def filled(datastore: DataStore, schema: Schema) -> DataStore:
    """3 countries, 3 sexes, 2015-2020, written in an order that is not the key order."""
    rows = [
        obs(a, str(y), f"{y}.{i}", sex=s) for y in YEARS for i, a in enumerate(AREAS) for s in SEXES
    ]
    datastore.apply(schema, A, rows)
    return datastore


def keys_of(store: DataStore, schema: Schema, key: str, **options: object) -> list[str]:
    return [
        f"{o.key[0]}.{o.key[3]}:{o.period}"
        for o in store.query(schema, parse_key(key, 6), **options)  # type: ignore[arg-type]
    ]


def test_rows_come_in_series_order_then_period_order(filled: DataStore, schema: Schema) -> None:
    got = [(o.key, o.period) for o in filled.query(schema)]
    assert got == sorted(got)
    assert len(got) == 54
    assert got[0] == (
        ("MYS", "A", "MST_TEMP_NB", "SEX_F", "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL"),
        "2015",
    )


def test_key_filters(filled: DataStore, schema: Schema) -> None:
    assert len(keys_of(filled, schema, "PHL.....")) == 18
    assert keys_of(filled, schema, "PHL+THA...SEX_F..", start_period="2020") == [
        "PHL.SEX_F:2020",
        "THA.SEX_F:2020",
    ]
    assert len(keys_of(filled, schema, "...SEX_M+SEX_F..")) == 36  # a filter without REF_AREA
    assert len(keys_of(filled, schema, "all")) == 54
    assert keys_of(filled, schema, "KEN.....") == []
    assert list(filled.query(schema, [None, None, None, set(), None, None])) == []
    with pytest.raises(InvalidRequest):
        keys_of(filled, schema, "PHL.A")


def test_periods(filled: DataStore, schema: Schema) -> None:
    years = [
        o.period
        for o in filled.query(
            schema, parse_key("PHL...SEX_T..", 6), start_period="2016", end_period="2018"
        )
    ]
    assert years == ["2016", "2017", "2018"]
    assert end_bound("2020") > "2020-Q4" and end_bound("2020") > "2020-12-31"
    assert end_bound("2020-Q2") < "2020-Q3"


def test_first_and_last_n_per_series(filled: DataStore, schema: Schema) -> None:
    key = "PHL+MYS...SEX_T.."
    assert keys_of(filled, schema, key, last_n=2) == [
        "MYS.SEX_T:2019", "MYS.SEX_T:2020", "PHL.SEX_T:2019", "PHL.SEX_T:2020"
    ]  # fmt: skip
    assert keys_of(filled, schema, key, first_n=1) == ["MYS.SEX_T:2015", "PHL.SEX_T:2015"]
    assert keys_of(filled, schema, key, first_n=1, last_n=1) == [
        "MYS.SEX_T:2015", "MYS.SEX_T:2020", "PHL.SEX_T:2015", "PHL.SEX_T:2020"
    ]  # fmt: skip
    assert len(keys_of(filled, schema, key, last_n=100)) == 12
    assert keys_of(filled, schema, key, last_n=1, end_period="2017") == [
        "MYS.SEX_T:2017", "PHL.SEX_T:2017"
    ]  # fmt: skip


def test_updated_after_returns_changes_and_only_them(filled: DataStore, schema: Schema) -> None:
    mark = filled.watermark()
    assert mark is not None
    assert list(filled.query(schema, updated_after=mark)) == []
    filled.apply(schema, A, [obs("PHL", "2020", "9", sex="SEX_M"), obs("KEN", "2021", "1")])
    filled.apply(schema, Action.DELETE, [obs("THA", "2015", None, sex="SEX_F")])
    changed = [
        (o.key[0], o.period, o.value, o.action) for o in filled.query(schema, updated_after=mark)
    ]
    assert changed == [
        ("KEN", "2021", "1", None),
        ("PHL", "2020", "9", None),
        ("THA", "2015", None, Action.DELETE),
    ]
    # just before the first load's stamp: all 55 rows (one a tombstone); naive datetimes are UTC
    assert len(list(filled.query(schema, updated_after=mark - dt.timedelta(microseconds=1)))) == 55
    naive = mark.replace(tzinfo=None)
    assert len(list(filled.query(schema, updated_after=naive))) == 3
    later = filled.watermark()
    assert later is not None and later > mark
    assert list(filled.query(schema, updated_after=later)) == []


def test_stamps_grow_even_if_the_clock_does_not(
    datastore: DataStore, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("exchange.storage.engine.now_us", lambda: 1_000_000)
    marks = []
    for year in range(2015, 2018):
        datastore.apply(schema, A, [obs(period=str(year))])
        marks.append(datastore.watermark())
    assert marks == [dt.datetime(1970, 1, 1, 0, 0, 1, i, tzinfo=dt.UTC) for i in range(3)]
    assert [o.period for o in datastore.query(schema, updated_after=marks[0])] == ["2016", "2017"]


def test_availability(filled: DataStore, schema: Schema) -> None:
    full = filled.availability(schema)
    assert list(full) == list(schema.dimension_ids)
    assert full["REF_AREA"] == {"MYS": 3, "PHL": 3, "THA": 3}
    assert full["SEX"] == {"SEX_F": 3, "SEX_M": 3, "SEX_T": 3}
    assert filled.availability(schema, parse_key("PHL...SEX_F..", 6))["SEX"] == {"SEX_F": 1}
    filled.apply(schema, A, [obs("KEN", "2030", "1", sex="SEX_O")])
    assert filled.availability(schema, start_period="2021")["REF_AREA"] == {"KEN": 1}
    mark = filled.watermark()
    filled.apply(schema, Action.DELETE, [obs("KEN", None, None, sex="SEX_O")])
    assert "KEN" not in filled.availability(schema)["REF_AREA"]
    assert filled.availability(schema, updated_after=mark)["SEX"] == {"SEX_O": 1}
    assert filled.availability("ILO:DF_NOTHING(1.0)") == {}
    assert filled.count(schema) == 54
    assert filled.count("ILO:DF_NOTHING(1.0)") == 0


def test_an_abandoned_query_releases_its_connection(filled: DataStore, schema: Schema) -> None:
    for _ in range(30):  # more than the connection pool holds
        rows = filled.query(schema)
        next(rows)
        rows.close()
    assert filled.apply(schema, A, [obs("PHL", "2015", "0")]).replaced == 1
