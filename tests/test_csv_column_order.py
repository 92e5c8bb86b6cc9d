"""SDMX-CSV 1.0 columns of an ILMS dataflow come in ILOSTAT's order.

ILOSTAT serves ``DATAFLOW`` then the dimensions, ``TIME_PERIOD``, ``OBS_VALUE`` and the 11
attributes. An ILMS table differs only by its classification dimensions (ILOSTAT's
UNE_DEAP_SEX_AGE_RT is by SEX and AGE; ours add CBR or CCT, or have no AGE): every column the two
share must appear in the same order, so a file can be compared or merged column for column.
"""

from __future__ import annotations

import csv
import re

import pytest

from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from tests.conftest import ILO

ILOSTAT_CSV = ILO / "ILO_DF_UNE_DEAP_SEX_AGE_RT_1.0.data_FRA-DEU_2020-2022.sdmx.csv"
CLASSIFICATIONS = {"SEX", "AGE", "CBR", "CCT", "CDS", "CRS", "CPR", "ECO", "OCU", "EDU", "STE"}


def _ilostat() -> tuple[list[str], list[list[str]]]:
    with ILOSTAT_CSV.open(newline="", encoding="utf-8") as handle:
        header, *rows = csv.reader(handle)
    return header, [r for r in rows if r]


def _header(schema: Schema) -> list[str]:
    return ["DATAFLOW", *(c.id for c in schema.components)]


def _table_flows(store: StructureStore) -> list[str]:
    return [f.id for f in store.dataflows() if f.id != "DF_ILMS_MIRROR"]


def test_ilostat_header_as_served() -> None:
    header, rows = _ilostat()
    assert header == [
        "DATAFLOW",
        *("REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "TIME_PERIOD", "OBS_VALUE"),
        *("OBS_STATUS", "UNIT_MEASURE_TYPE", "UNIT_MEASURE", "UNIT_MULT", "SOURCE"),
        *("NOTE_SOURCE", "NOTE_INDICATOR", "NOTE_CLASSIF", "DECIMALS", "UPPER_BOUND"),
        "LOWER_BOUND",
    ]
    assert {r[0] for r in rows} == {"ILO:DF_UNE_DEAP_SEX_AGE_RT(1.0)"}


def test_same_order_as_ilostat_for_the_sex_age_cbr_table(store: StructureStore) -> None:
    ilostat, _ = _ilostat()
    ours = _header(store.schema("DF_MST_TUNE_SEX_AGE_CBR_NB"))
    assert set(ours) - set(ilostat) == {"CBR"}
    assert set(ilostat) - set(ours) == set()
    assert [c for c in ours if c != "CBR"] == ilostat
    assert ours.index("CBR") == ours.index("AGE") + 1  # classifications before TIME_PERIOD


@pytest.mark.parametrize("flow", ["DF_MST_FORP_SEX_CBR_NB", "DF_MFL_NEMP_SEX_ECO_NB"])
def test_same_order_without_age(store: StructureStore, flow: str) -> None:
    ilostat, _ = _ilostat()
    ours = _header(store.schema(flow))
    assert "AGE" not in ours
    shared_ilostat = [c for c in ilostat if c in ours]
    shared_ours = [c for c in ours if c in ilostat]
    assert shared_ours == shared_ilostat
    assert len(shared_ours) == len(ilostat) - 1


def test_every_table_shares_ilostat_column_order(store: StructureStore) -> None:
    ilostat, _ = _ilostat()
    flows = _table_flows(store)
    assert len(flows) == 56
    wrong = {}
    for flow in flows:
        ours = _header(store.schema(flow))
        shared_ilostat = [c for c in ilostat if c in ours]
        shared_ours = [c for c in ours if c in ilostat]
        extra = set(ours) - set(ilostat)
        dropped = set(ilostat) - set(ours)
        if shared_ours != shared_ilostat or not extra <= CLASSIFICATIONS or dropped - {"AGE"}:
            wrong[flow] = ours
    assert wrong == {}


def test_first_column_names_the_dataflow(store: StructureStore) -> None:
    pattern = re.compile(r"^ILO:DF_[A-Z_]+\(1\.0\)$")
    for flow in _table_flows(store):
        schema = store.schema(flow)
        assert _header(schema)[0] == "DATAFLOW"
        assert pattern.match(str(schema.dataflow)), schema.dataflow
    assert str(store.schema("MST_TUNE_SEX_AGE_CBR_NB").dataflow) == (
        "ILO:DF_MST_TUNE_SEX_AGE_CBR_NB(1.0)"
    )
