"""Write the deliberately broken files of this folder and ``expected.json``.

Run ``.venv/bin/python tests/data/invalid/make_corpus.py`` after changing a case. Each case is a
small ILMS table (DF_MST_TEMP_SEX_AGE_CBR_NB) with one thing wrong, written in each text format
by the project's own writers; ``expected.json`` lists per file the exact (code, location fields)
of every error and warning validation must report. Locations name the CSV row where the format
has rows, the line of the observation's element in SDMX-ML (found by reading the file's text),
the sheet and cell of its value in the Excel workbook (found by reading the workbook); for
SDMX-JSON only the component and value are compared. Files that a writer cannot produce (a
broken message, a workbook without a column) are made by hand below.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from exchange.errors import Unprocessable  # noqa: E402
from exchange.formats import registry  # noqa: E402
from exchange.model.records import MessageInfo, Observation  # noqa: E402
from exchange.services.structures import load_store  # noqa: E402

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
UNITS = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}
FORMATS = {
    "csv10": "sdmx-csv-1.0",
    "csv20": "sdmx-csv-2.0",
    "json10": "sdmx-json-1.0",
    "json20": "sdmx-json-2.0",
}
SUFFIX = {"csv10": ".csv", "csv20": ".csv", "json10": ".json", "json20": ".json"}
#: SDMX-ML and Excel: a few cases each (every case in every format would only repeat the readers'
#: tests), and the line or cell that locates an observation there
MORE_FORMATS = {
    "ml21g": ("sdmx-ml-2.1-generic", ".xml"),
    "ml21ss": ("sdmx-ml-2.1-structurespecific", ".xml"),
    "ml30": ("sdmx-ml-3.0", ".xml"),
    "xlsx": ("excel", ".xlsx"),
}
MORE_CASES = {
    "ml21g": (
        "unknown-code",
        "period-frequency-mismatch",
        "duplicate-observation",
        "total-mismatch",
    ),
    "ml21ss": ("code-not-allowed", "non-numeric-value", "missing-value", "wrong-reporter"),
    "ml30": ("non-numeric-value", "bad-period", "duplicate-observation", "unit-mismatch"),
    "xlsx": ("unknown-code", "negative-value", "total-mismatch", "wrong-reporter"),
}
_OBS_TAG = re.compile(rb"<(?:generic:)?Obs[ >/]")


def base() -> list[Observation]:
    """A valid table: SEX_T = SEX_M + SEX_F for 2019 and 2020 (rows 2-7)."""
    rows = []
    for year, (t, m, f) in (
        ("2019", ("100.0", "60.0", "40.0")),
        ("2020", ("110.0", "65.0", "45.0")),
    ):
        for sex, value in (("SEX_T", t), ("SEX_M", m), ("SEX_F", f)):
            key = ("PHL", "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
            rows.append(Observation(key, year, value, dict(UNITS)))
    return rows


def change(index: int, **fields: Any) -> Callable[[list[Observation]], list[Observation]]:
    def apply(rows: list[Observation]) -> list[Observation]:
        obs = rows[index]
        key = list(obs.key)
        dims = ["REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR"]
        for name in list(fields):
            if name in dims:
                key[dims.index(name)] = fields.pop(name)
        attrs = {**obs.attributes, **fields.pop("attributes", {})}
        rows[index] = obs._replace(key=tuple(key), attributes=attrs, **fields)
        return rows

    return apply


def at(index: int, code: str, component: str | None = None, value: str | None = None) -> list[Any]:
    where: dict[str, Any] = {"row": index + 2}
    if component:
        where["component"] = component
    if value is not None:
        where["value"] = value
    return [code, where]


#: name → (mutation, expected issues)
CASES: dict[str, tuple[Callable[[list[Observation]], list[Observation]], list[list[Any]]]] = {
    "unknown-code": (change(2, SEX="SEX_FEM"), [at(2, "unknown-code", "SEX", "SEX_FEM")]),
    "code-not-allowed": (
        change(0, AGE="AGE_ALLAGES_TOTAL"),
        [at(0, "code-not-allowed", "AGE", "AGE_ALLAGES_TOTAL")],
    ),
    "bad-period": (
        change(1, period="19/01/2019"),
        [at(1, "bad-period", "TIME_PERIOD", "19/01/2019")],
    ),
    "period-frequency-mismatch": (
        change(1, period="2019-Q1"),
        [at(1, "period-frequency-mismatch", "TIME_PERIOD", "2019-Q1")],
    ),
    "non-numeric-value": (change(4, value="6,5"), [at(4, "non-numeric-value", "OBS_VALUE", "6,5")]),
    "missing-value": (change(4, value=None), [at(4, "missing-value", "OBS_VALUE")]),
    "negative-value": (
        lambda r: change(5, value="-45.0")(change(4, value="155.0")(r)),
        [at(5, "negative-value", "OBS_VALUE", "-45.0")],
    ),
    "future-period": (
        lambda r: [o._replace(period="2099") if i >= 3 else o for i, o in enumerate(r)],
        [at(i, "future-period", "TIME_PERIOD", "2099") for i in range(3, 6)],
    ),
    "total-mismatch": (
        change(3, value="120.0"),
        [["total-mismatch", {"row": 5, "component": "SEX", "value": "SEX_T"}]],
    ),
    "unit-mismatch": (
        lambda r: [o._replace(attributes={**o.attributes, "UNIT_MULT": "0"}) for o in r],
        [at(i, "unit-mismatch", "UNIT_MULT", "0") for i in range(6)],
    ),
    "wrong-reporter": (
        lambda r: [o._replace(key=("MYS", *o.key[1:])) for o in r],
        [at(i, "wrong-reporter", "REF_AREA", "MYS") for i in range(6)],
    ),
    "duplicate-observation": (
        lambda r: [*r[:3], r[2], *r[3:]],
        [["duplicate-observation", {"row": 5}]],
    ),
    "text-too-long": (
        change(0, attributes={"NOTE_SOURCE": "x" * 1100}),
        [at(0, "text-too-long", "NOTE_SOURCE")],
    ),
    "decimals-mismatch": (
        change(0, attributes={"DECIMALS": "1"}, value="100.00"),
        [["decimals-mismatch", {"row": 2, "component": "OBS_VALUE", "value": "100.00"}]],
    ),
}
WARNINGS = {"decimals-mismatch"}


def main() -> None:
    store = load_store()
    info = MessageInfo(schema=store.schema(FLOW))
    expected: dict[str, dict[str, Any]] = {}
    for case, (mutate, issues) in CASES.items():
        rows = mutate(base())
        for short, fmt in FORMATS.items():
            if case == "missing-value" and short.startswith("json"):
                continue  # SDMX-JSON writes no observation without a value or status
            name = f"{short}-{case}{SUFFIX[short]}"
            try:
                with (HERE / name).open("wb") as out:
                    registry.by_name(fmt).writer(info, iter(rows), out)
            except Unprocessable:  # e.g. SDMX-JSON cannot hold a duplicate observation
                (HERE / name).unlink()
                continue
            listed = (
                issues
                if short.startswith("csv")
                else [[c, {k: v for k, v in w.items() if k != "row"}] for c, w in issues]
            )
            expected[name] = {
                "reporter": "PHL" if case == "wrong-reporter" else None,
                "issues": listed,
            }
        for short, cases in MORE_CASES.items():
            if case in cases:
                expected.update(write_more(info, short, case, rows, issues))
    # -- message-level problems, written by hand -------------------------------------------------
    good = (HERE / "csv10-unknown-code.csv").read_bytes()
    lines = good.split(b"\r\n")
    hand = {
        "csv10-truncated-row.csv": (
            b"\r\n".join([*lines[:4], lines[4][:30]]),
            [["malformed-message", {"row": 5}], at(2, "unknown-code", "SEX", "SEX_FEM")],
        ),
        "csv10-not-csv.csv": (
            b"Hello, this is a letter, not data.\r\n",
            [["malformed-message", {"row": 1}]],
        ),
        "csv10-bad-utf8.csv": (
            b"\r\n".join([*lines[:3], lines[3] + b"\xff\xfe", *lines[4:]]),
            [["malformed-message", {"row": 4}]],
        ),
        "csv10-unknown-structure.csv": (
            good.replace(b"ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)", b"ILO:DF_MST_TEMP_NOPE(1.0)"),
            [["unknown-structure", {"component": "DATAFLOW"}]],
        ),
        "json10-truncated.json": (
            (HERE / "json10-unknown-code.json").read_bytes()[:300],
            [["malformed-message", {}]],
        ),
        "json20-not-json.json": (b'{"data": {"structures": [ nope', [["malformed-message", {}]]),
    }
    hand.update(broken_xml(info))
    hand.update(broken_workbooks(info))
    for name, (body, issues) in hand.items():
        (HERE / name).write_bytes(body)
        expected[name] = {"reporter": None, "issues": issues}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"{len(expected)} files")


def obs_lines(body: bytes) -> list[int]:
    """The line of each observation element of an SDMX-ML message, in order."""
    return [i for i, line in enumerate(body.split(b"\n"), 1) if _OBS_TAG.search(line)]


def value_cells(body: bytes) -> list[str]:
    """The cell of each observation value of an ILMS workbook (its Data sheet), in order."""
    sheet = openpyxl.load_workbook(io.BytesIO(body))["Data"]
    rows = list(sheet.iter_rows())
    header = next(r for r in rows if str(r[0].value or "").startswith("Reference area"))
    years = [c.column_letter for c in header if isinstance(c.value, int)]
    cells = []
    for row in rows[header[0].row :]:
        cells += [f"{c.column_letter}{c.row}" for c in row if c.column_letter in years and c.value]
    return cells


def relocate(issues: list[list[Any]], short: str, body: bytes) -> list[list[Any]]:
    """The CSV expectations (rows 2…) moved to the observation's line or cell in ``body``."""
    places = obs_lines(body) if short != "xlsx" else value_cells(body)
    moved = []
    for code, where in issues:
        fields = {k: v for k, v in where.items() if k != "row"}
        if "row" in where:
            place = places[where["row"] - 2]
            fields.update({"line": place} if short != "xlsx" else {"sheet": "Data", "cell": place})
        if short == "xlsx" and fields.get("component") == "OBS_VALUE":
            fields.pop("value", None)  # Excel keeps the number, not its text: -45.0 reads -45
        moved.append([code, fields])
    return moved


def write_more(
    info: MessageInfo, short: str, case: str, rows: list[Observation], issues: list[list[Any]]
) -> dict[str, dict[str, Any]]:
    fmt, suffix = MORE_FORMATS[short]
    out = io.BytesIO()
    registry.by_name(fmt).writer(info, iter(rows), out)
    name = f"{short}-{case}{suffix}"
    (HERE / name).write_bytes(out.getvalue())
    listed = relocate(issues, short, out.getvalue())
    return {name: {"reporter": "PHL" if case == "wrong-reporter" else None, "issues": listed}}


def written(info: MessageInfo, fmt: str) -> bytes:
    out = io.BytesIO()
    registry.by_name(fmt).writer(info, iter(base()), out)
    return out.getvalue()


def broken_xml(info: MessageInfo) -> dict[str, tuple[bytes, list[list[Any]]]]:
    """SDMX-ML no writer would produce: a series without SEX, no Prepared, a cut message."""
    specific = written(info, "sdmx-ml-2.1-structurespecific")
    second = obs_lines(specific)[1]  # SEX_M 2019, alone in its series
    generic = written(info, "sdmx-ml-2.1-generic")
    header = generic.split(b"\n").index(next(x for x in generic.split(b"\n") if b"Header" in x))
    cut = generic.index(b"<generic:Obs>", generic.index(b"<generic:Obs>") + 1) + 30
    line = generic[:cut].count(b"\n") + 1
    column = cut - generic[:cut].rfind(b"\n")
    return {
        "ml21ss-missing-dimension.xml": (
            specific.replace(b' SEX="SEX_M"', b"", 1),
            [
                ["unknown-component", {"line": second - 1}],  # the reader's warning, at Series
                ["missing-dimension", {"line": second, "component": "SEX"}],
            ],
        ),
        "ml21g-schema-invalid.xml": (
            re.sub(rb"<message:Prepared>[^<]*</message:Prepared>", b"", generic),
            [["schema-invalid", {"line": header + 1}]],
        ),
        "ml21g-truncated.xml": (
            generic[:cut],
            [["malformed-message", {"line": line, "column": column}]],
        ),
    }


def broken_workbooks(info: MessageInfo) -> dict[str, tuple[bytes, list[list[Any]]]]:
    """Workbooks a statistician may send: a word in a value cell, the SEX column deleted."""
    body = written(info, "excel")
    cell = value_cells(body)[4]  # SEX_M 2020
    book = openpyxl.load_workbook(io.BytesIO(body))
    book["Data"][cell] = "6,5"
    words = io.BytesIO()
    book.save(words)
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheet = book["Data"]
    header = next(r[0].row for r in sheet.iter_rows() if r[0].value == "Reference area (REF_AREA)")
    last = f"{sheet.cell(header, sheet.max_column).column_letter}{sheet.max_row}"
    sheet.move_range(f"C{header}:{last}", cols=-1)  # the table without its Sex (SEX) column
    without = io.BytesIO()
    book.save(without)
    return {
        "xlsx-non-numeric-value.xlsx": (
            words.getvalue(),
            [["malformed-message", {"sheet": "Data", "cell": cell}]],
        ),
        "xlsx-missing-column.xlsx": (
            without.getvalue(),
            [["malformed-message", {"sheet": "Data", "cell": f"A{header}"}]],  # its header row
        ),
    }


if __name__ == "__main__":
    main()
