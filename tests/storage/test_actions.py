"""SDMX actions on the store: exact counts and stored values after Append, Replace, Delete."""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType

import pytest

from exchange.errors import InvalidRequest
from exchange.model.records import Action, Observation
from exchange.model.schema import Schema
from exchange.storage import Counts, DataStore
from tests.storage.conftest import obs

A, R, D, I = Action.APPEND, Action.REPLACE, Action.DELETE, Action.INFORMATION  # noqa: E741


def stored(store: DataStore, schema: Schema, **options: object) -> dict[tuple[str, str], object]:
    """(area/sex, period) → (value, attributes, action) of what a query returns."""
    return {
        (f"{o.key[0]}/{o.key[3]}", o.period or ""): (o.value, dict(o.attributes), o.action)
        for o in store.query(schema, **options)  # type: ignore[arg-type]
    }


def test_append_adds_then_counts_unchanged_and_replaced(
    datastore: DataStore, schema: Schema
) -> None:
    first = [obs("PHL", "2019", "1.0"), obs("PHL", "2020", "2.0"), obs("MYS", "2020", "3.0")]
    assert datastore.apply(schema, A, first) == Counts(added=3)
    again = [obs("PHL", "2019", "1.0"), obs("PHL", "2020", "2.5")]
    assert datastore.apply(schema, A, again) == Counts(replaced=1, unchanged=1)
    assert stored(datastore, schema) == {
        ("MYS/SEX_T", "2020"): ("3.0", {}, None),
        ("PHL/SEX_T", "2019"): ("1.0", {}, None),
        ("PHL/SEX_T", "2020"): ("2.5", {}, None),
    }
    assert datastore.count(schema) == 3


def test_values_keep_their_exact_text(datastore: DataStore, schema: Schema) -> None:
    datastore.apply(schema, A, [obs(value="1.10"), obs(period="2020", value="007")])
    assert [o.value for o in datastore.query(schema)] == ["1.10", "007"]


def test_append_merges_attributes_and_keeps_a_value_it_does_not_give(
    datastore: DataStore, schema: Schema
) -> None:
    datastore.apply(schema, A, [obs(value="5", UNIT_MULT="3", OBS_STATUS="P")])
    counts = datastore.apply(schema, A, [obs(value=None, OBS_STATUS="E", SOURCE="LFS")])
    assert counts == Counts(replaced=1)
    assert stored(datastore, schema) == {
        ("PHL/SEX_T", "2019"): ("5", {"UNIT_MULT": "3", "OBS_STATUS": "E", "SOURCE": "LFS"}, None)
    }


def test_replace_sets_exactly_what_it_says_and_deletes_nothing_else(
    datastore: DataStore, schema: Schema
) -> None:
    datastore.apply(
        schema,
        A,
        [obs(period="2019", value="5", UNIT_MULT="3", OBS_STATUS="P"), obs("PHL", "2020")],
    )
    counts = datastore.apply(schema, R, [obs(period="2019", value="6", UNIT_MULT="3")])
    assert counts == Counts(replaced=1)
    assert stored(datastore, schema) == {
        ("PHL/SEX_T", "2019"): ("6", {"UNIT_MULT": "3"}, None),
        ("PHL/SEX_T", "2020"): ("1.0", {}, None),
    }
    assert datastore.apply(schema, R, [obs(period="2019", value=None)]) == Counts(replaced=1)
    assert stored(datastore, schema)["PHL/SEX_T", "2019"] == (None, {}, None)
    assert datastore.apply(schema, R, [obs(period="2021", value="9")]) == Counts(added=1)


def test_delete_leaves_a_tombstone_only_updated_after_shows(
    datastore: DataStore, schema: Schema
) -> None:
    datastore.apply(schema, A, [obs("PHL", "2019"), obs("PHL", "2020"), obs("MYS", "2019")])
    before = datastore.watermark()
    assert datastore.apply(schema, D, [obs("PHL", "2019", None)]) == Counts(deleted=1)
    assert datastore.apply(schema, D, [obs("PHL", "2019", None)]) == Counts(unchanged=1)
    assert datastore.apply(schema, D, [obs("THA", "2019", None)]) == Counts(unchanged=1)
    with datastore.engine.connect() as conn:  # no empty series left behind for THA
        assert conn.exec_driver_sql("SELECT count(*) FROM series").scalar() == 2
    assert set(stored(datastore, schema)) == {("PHL/SEX_T", "2020"), ("MYS/SEX_T", "2019")}
    assert stored(datastore, schema, updated_after=before) == {
        ("PHL/SEX_T", "2019"): (None, {}, Action.DELETE)
    }
    assert ("PHL/SEX_T", "2019") in stored(datastore, schema, include_deleted=True)
    assert stored(datastore, schema, updated_after=before, include_deleted=False) == {}
    assert datastore.count(schema) == 2
    # a tombstone comes back to life as an addition
    assert datastore.apply(schema, A, [obs("PHL", "2019", "4")]) == Counts(added=1)
    assert stored(datastore, schema)["PHL/SEX_T", "2019"] == ("4", {}, None)


def test_delete_without_period_removes_the_whole_series(
    datastore: DataStore, schema: Schema
) -> None:
    datastore.apply(schema, A, [obs("PHL", str(y)) for y in range(2015, 2020)] + [obs("MYS")])
    assert datastore.apply(schema, D, [obs("PHL", None, None)]) == Counts(deleted=5)
    assert set(stored(datastore, schema)) == {("MYS/SEX_T", "2019")}
    assert datastore.availability(schema)["REF_AREA"] == {"MYS": 1}


def test_delete_with_wildcards_matches_every_series(datastore: DataStore, schema: Schema) -> None:
    rows = [
        obs(a, str(y), sex=s)
        for a in ("PHL", "MYS")
        for s in ("SEX_M", "SEX_F")
        for y in (2019, 2020)
    ]
    datastore.apply(schema, A, rows)
    phl_2019 = Observation(("PHL", "", "", "", "", ""), "2019", None, {})
    assert datastore.apply(schema, D, [phl_2019]) == Counts(deleted=2)
    all_female = Observation(("*", "A", "*", "SEX_F", "*", "*"), None, None, {})
    assert datastore.apply(schema, D, [all_female]) == Counts(deleted=3)
    assert sorted(stored(datastore, schema)) == [
        ("MYS/SEX_M", "2019"), ("MYS/SEX_M", "2020"), ("PHL/SEX_M", "2020")
    ]  # fmt: skip
    assert datastore.availability(schema)["SEX"] == {"SEX_M": 2}


def test_per_observation_action_overrides_the_message(datastore: DataStore, schema: Schema) -> None:
    datastore.apply(schema, A, [obs("PHL", "2019"), obs("PHL", "2020")])
    counts = datastore.apply(
        schema,
        A,
        [
            obs("PHL", "2019", None, action=D),
            obs("PHL", "2020", "8", action=R, OBS_STATUS="E"),
            obs("PHL", "2021", "9"),
            obs("PHL", "2022", "9", action=I),
        ],
    )
    assert counts == Counts(added=1, replaced=1, deleted=1, unchanged=1)
    assert stored(datastore, schema) == {
        ("PHL/SEX_T", "2020"): ("8", {"OBS_STATUS": "E"}, None),
        ("PHL/SEX_T", "2021"): ("9", {}, None),
    }


def test_information_message_writes_nothing(datastore: DataStore, schema: Schema) -> None:
    assert datastore.apply(schema, I, [obs(), obs("MYS")]) == Counts(unchanged=2)
    assert datastore.count(schema) == 0


def test_repeated_observation_in_one_message_last_one_wins(
    datastore: DataStore, schema: Schema
) -> None:
    counts = datastore.apply(schema, A, [obs(value="1"), obs(value="2")])
    assert counts == Counts(added=1, replaced=1)
    assert [o.value for o in datastore.query(schema)] == ["2"]


def test_batches_span_series_and_series_span_batches(datastore: DataStore, schema: Schema) -> None:
    rows = [obs(a, str(y), f"{y}") for a in ("PHL", "MYS") for y in range(1, 7001)]
    assert datastore.apply(schema, A, rows) == Counts(added=14_000)
    assert datastore.apply(schema, A, rows) == Counts(unchanged=14_000)
    assert datastore.count(schema) == 14_000


def test_unchanged_rows_are_not_restamped(datastore: DataStore, schema: Schema) -> None:
    datastore.apply(schema, A, [obs("PHL"), obs("MYS")])
    mark = datastore.watermark()
    datastore.apply(schema, A, [obs("PHL"), obs("MYS", value="2")])
    assert set(stored(datastore, schema, updated_after=mark)) == {("MYS/SEX_T", "2019")}


def test_a_failed_apply_leaves_the_store_unchanged(datastore: DataStore, schema: Schema) -> None:
    datastore.apply(schema, A, [obs("PHL", "2019", "1")])
    before = (stored(datastore, schema), datastore.watermark(), datastore.availability(schema))

    def broken() -> Iterator[Observation]:
        yield obs("PHL", "2019", "99")
        yield obs("PHL", "2019", None, action=D)
        for year in range(7000):  # more than a batch: some rows were already written
            yield obs("MYS", str(year))
        raise ValueError("the reader met a broken file")

    with pytest.raises(ValueError, match="broken file"):
        datastore.apply(schema, A, broken())
    after = (stored(datastore, schema), datastore.watermark(), datastore.availability(schema))
    assert after == before
    assert datastore.count(schema) == 1


def test_data_needs_a_dataflow(datastore: DataStore, schema: Schema) -> None:
    bare = Schema(schema.dsd, None, {}, schema.dimensions, None, schema.measure, ())
    with pytest.raises(InvalidRequest):
        datastore.apply(bare, A, [obs()])
    with pytest.raises(InvalidRequest):
        datastore.apply(schema, A, [Observation(("PHL", "A"), "2019", "1", {})])


def test_attributes_as_readers_give_them(datastore: DataStore, schema: Schema) -> None:
    """Readers hand out read-only mappings; what comes back compares equal to a dict."""
    row = Observation(obs().key, "2019", "1", MappingProxyType({"UNIT_MULT": "3"}))
    assert datastore.apply(schema, A, [row]) == Counts(added=1)
    assert datastore.apply(schema, A, [row._replace(attributes={"UNIT_MULT": "3"})]) == Counts(
        unchanged=1
    )
    assert [o.attributes for o in datastore.query(schema)] == [{"UNIT_MULT": "3"}]
