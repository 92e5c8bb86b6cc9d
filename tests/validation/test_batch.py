"""The batch path changes nothing a user sees: the same issues, in the same order, at the same
places, as checking every observation one by one (the exact path alone)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from types import MappingProxyType

import pytest

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.report import Report
from exchange.validation import pipeline, validate

TODAY = dt.date(2025, 6, 1)
UNITS = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3", "DECIMALS": "1"}
SHARED = MappingProxyType({**UNITS, "SOURCE": "LFS"})
MISSING = MappingProxyType({**SHARED, "OBS_STATUS": "N"})
YEARS = range(2000, 2012)
PARTS = {"SEX_M": 0.6, "SEX_F": 0.4}


@pytest.fixture(scope="module")
def schema(store: StructureStore) -> Schema:
    return store.schema("DF_MST_TEMP_SEX_AGE_CBR_NB")


def table(areas: tuple[str, ...] = ("MYS", "PHL")) -> list[Observation]:
    """Valid series of 12 years each, sorted by key: totals add up, values grow slowly."""
    rows: list[Observation] = []
    for area in areas:
        for sex in ("SEX_F", "SEX_M", "SEX_T"):
            for cbr in ("CBR_BIR_FOREIGN", "CBR_BIR_NATIVE", "CBR_BIR_TOTAL"):
                key = (area, "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", cbr)
                for year in YEARS:
                    total = 1000 + 10 * (year - 2000)
                    share = PARTS.get(sex, 1.0) * {"CBR_BIR_FOREIGN": 0.25}.get(cbr, 1.0)
                    if cbr == "CBR_BIR_NATIVE":
                        share *= 0.75
                    row = len(rows) + 2
                    value = f"{total * share:.1f}"
                    rows.append(Observation(key, str(year), value, SHARED, None, f"row {row}"))
    return rows


def both(schema: Schema, rows: list[Observation], monkeypatch: pytest.MonkeyPatch) -> Report:
    """The report of the whole pipeline, asserted equal to the exact path's alone."""
    batched = validate(schema, rows, today=TODAY, reporter="MYS")
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "MIN_BATCH", 10**9)
        exact = validate(schema, rows, today=TODAY, reporter="MYS")
    assert batched.model_dump() == exact.model_dump()
    return batched


#: each breakage is in the third series or later (the first ones teach the memos)
def put(index: int, **fields: object) -> Callable[[list[Observation]], None]:
    def apply(rows: list[Observation]) -> None:
        rows[index] = rows[index]._replace(**fields)  # type: ignore[arg-type]

    return apply


def rekey(index: int, position: int, code: str) -> Callable[[list[Observation]], None]:
    def apply(rows: list[Observation]) -> None:
        key = list(rows[index].key)
        key[position] = code
        rows[index] = rows[index]._replace(key=tuple(key))

    return apply


BREAKAGES: dict[str, Callable[[list[Observation]], None]] = {
    "bad period": put(29, period="2005-Q1"),
    "future period": put(35, period="2099"),
    "non-numeric value": put(27, value="1,5"),
    "exponent value": put(28, value="1.0e3"),
    "negative value": put(31, value="-3.0"),
    "too many decimals": put(32, value="12.345"),
    "missing value": put(33, value=None),
    "missing value, explained": put(33, value=None, attributes=MISSING),
    "unit mismatch": put(26, attributes=MappingProxyType({**SHARED, "UNIT_MULT": "0"})),
    "source differs": put(64, attributes=MappingProxyType({**SHARED, "SOURCE": "Census"})),
    "duplicate year": put(30, period="2005"),
    "implausible change": put(34, value="9000.0"),
    "total off": put(124, value="1.0"),
    "unknown code in one series": rekey(44, 3, "SEX_FEM"),
    "wrong reporter": rekey(24, 0, "THA"),
}


def test_valid_table_passes_both_ways(schema: Schema, monkeypatch: pytest.MonkeyPatch) -> None:
    assert both(schema, table(("MYS",)), monkeypatch).issues == []


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_one_breakage_reported_alike(
    name: str, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = table()
    BREAKAGES[name](rows)
    report = both(schema, rows, monkeypatch)
    assert report.issues, name


def test_many_breakages_reported_alike(schema: Schema, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = table(("MYS", "PHL", "THA", "VNM"))
    chooser = random.Random(4)
    for _ in range(40):
        name = chooser.choice(sorted(BREAKAGES))
        breakage = BREAKAGES[name]
        offset = chooser.randrange(0, len(rows) - 120)
        shifted = rows[offset:]
        breakage(shifted)
        rows[offset:] = shifted
    report = both(schema, rows, monkeypatch)
    assert len(report.counts.by_code) >= 5


def test_long_series_in_parts(schema: Schema, monkeypatch: pytest.MonkeyPatch) -> None:
    """A series longer than a run is taken in parts; a duplicate across parts is found."""
    monkeypatch.setattr(pipeline, "CHUNK", 5)
    rows = [r for r in table(("MYS",)) if r.key[3] == "SEX_T" and r.key[5] == "CBR_BIR_TOTAL"]
    rows.append(rows[1])
    report = both(schema, rows, monkeypatch)
    assert [i.code for i in report.issues] == ["duplicate-observation"]
