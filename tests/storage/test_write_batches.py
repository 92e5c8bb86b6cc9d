"""The writer's shortcuts across batches: new observations of series created in the transaction
are inserted without a lookup, and whatever breaks that shortcut's premise (periods out of order,
repeats, deletes, series split over batches) still gives the counts and rows of the plain path.

``BATCH`` is made tiny so that every message here spans several batches.
"""

from __future__ import annotations

import pytest

from exchange.model.records import Action, Observation
from exchange.model.schema import Schema
from exchange.storage import Counts, DataStore
from exchange.storage import writer as writer_module
from tests.storage.conftest import obs

A, R, D = Action.APPEND, Action.REPLACE, Action.DELETE


@pytest.fixture(autouse=True)
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "BATCH", 3)


def rows(store: DataStore, schema: Schema) -> dict[tuple[str, str], tuple[object, ...]]:
    return {
        (o.key[0], o.period or ""): (o.value, dict(o.attributes), o.action)
        for o in store.query(schema, include_deleted=True)
    }


def test_a_first_load_in_series_order_over_many_batches(
    datastore: DataStore, schema: Schema
) -> None:
    message = [
        obs(area, str(year), f"{year}.0") for area in ("MYS", "PHL") for year in range(2010, 2020)
    ]
    assert datastore.apply(schema, A, message) == Counts(added=20)
    assert datastore.count(schema) == 20
    assert rows(datastore, schema)["PHL", "2015"] == ("2015.0", {}, None)


def test_periods_out_of_order_and_period_major_order(datastore: DataStore, schema: Schema) -> None:
    message = [obs(area, str(year)) for year in (2019, 2017, 2018, 2016) for area in ("PHL", "MYS")]
    assert datastore.apply(schema, A, message) == Counts(added=8)
    assert datastore.count(schema) == 8


@pytest.mark.parametrize("gap", [0, 1, 4])
def test_a_repeat_in_a_new_series_sees_the_first(
    datastore: DataStore, schema: Schema, gap: int
) -> None:
    """The same observation twice, in one batch or batches apart: added once, then compared."""
    fillers = [obs("PHL", str(2000 + i)) for i in range(gap)]
    message = [obs("MYS", "2019", "1.0"), *fillers, obs("MYS", "2019", "2.0", OBS_STATUS="E")]
    assert datastore.apply(schema, A, message) == Counts(added=1 + gap, replaced=1)
    assert rows(datastore, schema)["MYS", "2019"] == ("2.0", {"OBS_STATUS": "E"}, None)
    again = [obs("MYS", "2020"), obs("MYS", "2020")]
    assert datastore.apply(schema, R, again) == Counts(added=1, unchanged=1)


def test_deletes_inside_a_new_series(datastore: DataStore, schema: Schema) -> None:
    message: list[Observation] = [
        obs("PHL", "2018"),
        obs("PHL", "2019"),
        obs("PHL", "2019", action=D),  # tombstones what this message added
        obs("PHL", "2021", action=D),  # nothing there: unchanged
        obs("PHL", "2021"),  # then added
        obs("PHL", "2019"),  # back from the tombstone
        obs("MYS", "2019", action=D),  # a series never stored
    ]
    assert datastore.apply(schema, A, message) == Counts(added=4, deleted=1, unchanged=2)
    assert datastore.count(schema) == 3


def test_a_series_delete_between_new_observations(datastore: DataStore, schema: Schema) -> None:
    message = [
        obs("PHL", "2018"),
        obs("PHL", "2019"),
        obs("PHL", None, action=D),
        obs("PHL", "2019", "5.0"),
        obs("PHL", "2020", "6.0"),
    ]
    assert datastore.apply(schema, A, message) == Counts(added=4, deleted=2)
    assert rows(datastore, schema) == {
        ("PHL", "2018"): (None, {}, Action.DELETE),
        ("PHL", "2019"): ("5.0", {}, None),
        ("PHL", "2020"): ("6.0", {}, None),
    }


def test_writing_into_a_full_store(datastore: DataStore, schema: Schema) -> None:
    first = [obs(area, str(year)) for area in ("MYS", "PHL") for year in range(2015, 2020)]
    datastore.apply(schema, A, first)
    second = [
        obs("MYS", "2015"),  # unchanged
        obs("MYS", "2016", "9.0"),  # replaced
        obs("MYS", "2020"),  # added to a stored series
        obs("THA", "2019"),  # a new series
        obs("PHL", "2015", action=D),  # deleted
    ]
    assert datastore.apply(schema, R, second) == Counts(added=2, replaced=1, deleted=1, unchanged=1)
    assert datastore.count(schema) == 11
