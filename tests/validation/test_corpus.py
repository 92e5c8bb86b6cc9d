"""The corpus of broken files (tests/data/invalid): exactly the expected issues, no others.

Files are written by ``tests/data/invalid/make_corpus.py``; ``expected.json`` lists per file each
(code, location fields) of every error and warning. Also: generated valid data passes in every
format, and an ILO data file for a dataflow that is not an ILMS one is ``unknown-structure``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from exchange.formats import registry
from exchange.model.records import MessageInfo, Observation
from exchange.model.store import StructureStore
from exchange.report import Report, Severity
from exchange.services.validate import validate_file

INVALID = Path(__file__).resolve().parents[1] / "data" / "invalid"
EXPECTED: dict[str, dict[str, Any]] = json.loads((INVALID / "expected.json").read_text())
ILO_SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "shared/ilo/ILO_DF_UNE_DEAP_SEX_AGE_RT_1.0.data_FRA-DEU_2020-2022.sdmx.csv"
)
TODAY = dt.date(2025, 6, 1)
FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"


def check(path: Path, store: StructureStore, reporter: str | None = None) -> Report:
    with path.open("rb") as source:
        return validate_file(source, path.name, store, reporter=reporter, today=TODAY)


def found(report: Report) -> list[tuple[str, dict[str, Any]]]:
    """Errors and warnings as (code, location fields that are set)."""
    return [
        (i.code, i.location.model_dump(exclude_none=True))
        for i in report.issues
        if i.severity in (Severity.ERROR, Severity.WARNING)
    ]


def test_corpus_is_big_enough() -> None:
    assert len(EXPECTED) >= 40
    assert {n.split("-", 1)[0] for n in EXPECTED} >= {
        *("csv10", "csv20", "json10", "json20"),
        *("ml21g", "ml21ss", "ml30", "xlsx"),
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file(name: str, store: StructureStore) -> None:
    case = EXPECTED[name]
    report = check(INVALID / name, store, case["reporter"])
    got = found(report)
    want = case["issues"]
    assert len(got) == len(want), got
    for (code, where), (want_code, want_where) in zip(got, want, strict=True):
        assert code == want_code, got
        assert {k: where.get(k) for k in want_where} == want_where, got
    assert not report.valid or all(c == "decimals-mismatch" for c, _ in want)


def valid_rows() -> list[Observation]:
    units = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}
    rows = []
    for year, area in ((y, a) for y in range(2015, 2021) for a in ("PHL", "MYS")):
        base = 100 + year - 2015
        for sex, value in (("SEX_T", base * 2), ("SEX_M", base + 10), ("SEX_F", base - 10)):
            key = (area, "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
            rows.append(Observation(key, str(year), f"{value}.0", units))
    return rows


@pytest.mark.parametrize(
    "fmt",
    [
        "sdmx-csv-1.0",
        "sdmx-csv-2.0",
        "sdmx-json-1.0",
        "sdmx-json-2.0",
        "excel",
        "sdmx-ml-2.1-generic",
        "sdmx-ml-2.1-structurespecific",
    ],
)
def test_valid_generated_file_has_no_issues(fmt: str, store: StructureStore) -> None:
    try:
        writer = registry.by_name(fmt).writer
    except ImportError:  # pragma: no cover - a format module not built yet
        pytest.skip(f"{fmt} has no writer yet")
    out = io.BytesIO()
    writer(MessageInfo(schema=store.schema(FLOW)), valid_rows(), out)
    out.seek(0)
    report = validate_file(out, f"valid.{fmt}", store, today=TODAY)
    assert report.issues == [], report.to_text()
    assert report.valid
    assert report.observations == len(valid_rows())


def test_ilo_sample_is_an_unknown_structure(store: StructureStore) -> None:
    report = check(ILO_SAMPLE, store)
    assert found(report) == [
        ("unknown-structure", {"component": "DATAFLOW", "value": "ILO:DF_UNE_DEAP_SEX_AGE_RT(1.0)"})
    ]
    assert not report.valid
