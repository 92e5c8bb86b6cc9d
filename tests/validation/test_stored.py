"""Cross-table rules against the data already stored: a submission of one labour-force table is
checked with the other tables of the identity that are in the store (SQLite here)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange.formats import csv10
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.store import StructureStore
from exchange.report import Report
from exchange.services.stored_lookup import CROSS_STORED_MAX_BYTES, StoredLookup, stored_lookup
from exchange.services.validate import validate_file
from exchange.storage import DataStore

TODAY = dt.date(2025, 6, 1)
NB = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}
RT = {"UNIT_MEASURE_TYPE": "RT", "UNIT_MEASURE": "PT", "UNIT_MULT": "0"}


def obs(measure: str, value: str, area: str = "PHL", year: str = "2020") -> Observation:
    key = (area, "A", measure, "SEX_T", "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
    return Observation(key, year, value, NB if measure.endswith("_NB") else RT)


@pytest.fixture
def datastore(tmp_path: Path, store: StructureStore) -> Iterator[DataStore]:
    """A store holding employment and unemployment of PHL and MYS in 2020."""
    data = DataStore(f"sqlite:///{tmp_path / 'ilms.db'}")
    data.migrate()
    for variable, values in (("TEMP", ("110.0", "50.0")), ("TUNE", ("7.0", "5.0"))):
        schema = store.schema(f"DF_MST_{variable}_SEX_AGE_CBR_NB")
        rows = [
            obs(f"MST_{variable}_NB", v, area)
            for v, area in zip(values, ("PHL", "MYS"), strict=True)
        ]
        data.apply(schema, Action.APPEND, rows)
    yield data
    data.close()


def submit(store: StructureStore, variable: str, *rows: Observation, **options: object) -> Report:
    """Validate an SDMX-CSV file of one table, as ``ilms validate`` or a push would."""
    out = io.BytesIO()
    csv10.write(MessageInfo(schema=store.schema(f"DF_MST_{variable}")), rows, out)
    out.seek(0)
    return validate_file(out, f"{variable}.csv", store, today=TODAY, **options)  # type: ignore[arg-type]


def test_labour_force_checked_against_stored_employment_and_unemployment(
    store: StructureStore, datastore: DataStore
) -> None:
    labour_force = [obs("MST_TEAP_NB", "120.0"), obs("MST_TEAP_NB", "55.0", "MYS")]
    report = submit(store, "TEAP_SEX_AGE_CBR_NB", *labour_force, stored=StoredLookup(datastore))
    assert [(i.code, i.location.series_key, i.location.row) for i in report.issues] == [
        ("identity-mismatch", "PHL.A.MST_TEAP_NB.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL", None)
    ]
    assert report.issues[0].message == (
        "TEAP = 120.0 but TEMP + TUNE = 117.0 (difference 3.0). Already stored: TEMP, TUNE."
    )
    assert not report.valid
    # without the store, the file alone has nothing to compare with
    assert submit(store, "TEAP_SEX_AGE_CBR_NB", *labour_force).issues == []


def test_a_rate_against_stored_counts(store: StructureStore, datastore: DataStore) -> None:
    report = submit(store, "TUNE_SEX_AGE_CBR_RT", obs("MST_TUNE_RT", "9.0"))
    assert report.issues == []  # no TEAP stored: nothing to recompute the rate from
    schema = store.schema("DF_MST_TEAP_SEX_AGE_CBR_NB")
    datastore.apply(schema, Action.APPEND, [obs("MST_TEAP_NB", "117.0")])
    stored = StoredLookup(datastore)
    report = submit(store, "TUNE_SEX_AGE_CBR_RT", obs("MST_TUNE_RT", "9.0"), stored=stored)
    assert [(i.code, i.expected) for i in report.issues] == [("rate-mismatch", "6.0")]
    report = submit(store, "TUNE_SEX_AGE_CBR_RT", obs("MST_TUNE_RT", "6.0"), stored=stored)
    assert report.issues == []


def test_the_submission_replaces_what_is_stored(
    store: StructureStore, datastore: DataStore
) -> None:
    """A corrected unemployment file is checked with its own values, not the stored ones."""
    schema = store.schema("DF_MST_TEAP_SEX_AGE_CBR_NB")
    datastore.apply(schema, Action.APPEND, [obs("MST_TEAP_NB", "120.0")])
    stored = StoredLookup(datastore)
    assert submit(store, "TUNE_SEX_AGE_CBR_NB", obs("MST_TUNE_NB", "10.0"), stored=stored).valid
    report = submit(store, "TUNE_SEX_AGE_CBR_NB", obs("MST_TUNE_NB", "7.0"), stored=stored)
    assert [i.code for i in report.issues] == ["identity-mismatch"]


def test_other_years_and_countries_are_not_compared(
    store: StructureStore, datastore: DataStore
) -> None:
    rows = [obs("MST_TEAP_NB", "1.0", "PHL", "2019"), obs("MST_TEAP_NB", "1.0", "THA")]
    report = submit(store, "TEAP_SEX_AGE_CBR_NB", *rows, stored=StoredLookup(datastore))
    assert report.issues == []


def test_bulk_loads_are_checked_table_by_table(store: StructureStore, datastore: DataStore) -> None:
    """Past the size limit the stored tables are not consulted (memory stays flat)."""
    labour_force = [obs("MST_TEAP_NB", "120.0")]
    small = stored_lookup(datastore, 1024)
    assert small is not None
    assert submit(store, "TEAP_SEX_AGE_CBR_NB", *labour_force, stored=small).issues != []
    bulk = stored_lookup(datastore, CROSS_STORED_MAX_BYTES + 1)
    assert bulk is None
    assert submit(store, "TEAP_SEX_AGE_CBR_NB", *labour_force, stored=bulk).issues == []
