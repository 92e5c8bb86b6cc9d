"""Write the deliberately broken files of this folder and ``expected.json``.

Run ``.venv/bin/python tests/data/invalid/make_corpus.py`` after changing a case. Each case is a
small ILMS table (DF_MST_TEMP_SEX_AGE_CBR_NB) with one thing wrong, written in each text format
by the project's own writers; ``expected.json`` lists per file the exact (code, location fields)
of every error and warning validation must report. Locations name the CSV row where the format
has rows, the line of the observation's element in SDMX-ML (found by reading the file's text),
the sheet and cell of the component the issue names in the Excel workbook (found by reading the
workbook: the code's cell in its column, the year's header cell for the period, the value's cell
for the value, a total or a duplicate); for SDMX-JSON only the component and value are
compared. Files that a writer cannot produce (a broken message, a workbook without a column, a
mistyped year) are made by hand below.
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
from openpyxl.utils import get_column_letter

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
    "xlsx": (
        "unknown-code",
        "code-not-allowed",
        "negative-value",
        "total-mismatch",
        "wrong-reporter",
        "text-too-long",
    ),
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
    return [cell for cell, _ in sheet_places(body)[0]]


#: issues about a group of observations: at the value's cell of the one named (a total, a part)
GROUP_CODES = {"total-mismatch", "migrants-exceed-total"}


def sheet_places(body: bytes) -> tuple[list[tuple[str, int]], int, dict[str, str]]:
    """Of an ILMS workbook's Data sheet: each observation value's (cell, row) in order, the
    header row, and the column letter of each component the header row names."""
    sheet = openpyxl.load_workbook(io.BytesIO(body))["Data"]
    rows = list(sheet.iter_rows())
    header = next(r for r in rows if str(r[0].value or "").startswith("Reference area"))
    years = [c.column_letter for c in header if isinstance(c.value, int)]
    columns = {
        match[1]: c.column_letter
        for c in header
        if (match := re.search(r"\((\w+)\)$", str(c.value or "")))
    }
    cells = []
    for row in rows[header[0].row :]:
        cells += [
            (f"{c.column_letter}{c.row}", c.row)
            for c in row
            if c.column_letter in years and c.value
        ]
    return cells, header[0].row, columns


def column_of(cell: str) -> str:
    return cell.rstrip("0123456789")


def workbook_cell(code: str, component: str | None, place: tuple[str, int], body: bytes) -> str:
    """The cell an issue about ``component`` of the observation at ``place`` points at."""
    cell, row = place
    _, header, columns = sheet_places(body)
    if component is None or component == "OBS_VALUE" or code in GROUP_CODES:
        return cell
    if component == "TIME_PERIOD":
        return f"{column_of(cell)}{header}"
    return f"{columns[component]}{row}"


def relocate(issues: list[list[Any]], short: str, body: bytes) -> list[list[Any]]:
    """The CSV expectations (rows 2…) moved to the observation's line or cell in ``body``."""
    places = sheet_places(body)[0] if short == "xlsx" else obs_lines(body)
    moved = []
    for code, where in issues:
        fields = {k: v for k, v in where.items() if k != "row"}
        if "row" in where:
            place = places[where["row"] - 2]
            if isinstance(place, tuple):
                cell = workbook_cell(code, where.get("component"), place, body)
                fields.update({"sheet": "Data", "cell": cell})
            else:
                fields["line"] = place
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
    """SDMX-ML no writer would produce: a series without SEX, no Prepared, a cut message, an
    attribute the structure-specific XSD does not allow (one of no ILMS structure, or at the
    observation level where the structure puts it on the series).

    The structure-specific cases of ``MORE_CASES`` break the DSD-specific XSD too (a code not in
    its enumeration, a value not a number, a missing dimension): each gives only the issue of
    the check that reports it, not a ``schema-invalid`` as well.
    """
    specific = written(info, "sdmx-ml-2.1-structurespecific")
    second = obs_lines(specific)[1]  # SEX_M 2019, alone in its series
    specific30 = written(info, "sdmx-ml-3.0")
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
        "ml21ss-schema-invalid.xml": (
            specific.replace(b"<Obs ", b'<Obs OBS_CONF="F" ', 1),
            [["schema-invalid", {"line": obs_lines(specific)[0]}]],
        ),
        "ml30-schema-invalid.xml": (
            specific30.replace(b"<Obs ", b'<Obs UNIT_MULT="3" ', 1),
            [["schema-invalid", {"line": obs_lines(specific30)[0]}]],
        ),
    }


def edited(body: bytes, cells: dict[str, object]) -> bytes:
    """The workbook with some cells of its Data sheet typed over, as a person would."""
    book = openpyxl.load_workbook(io.BytesIO(body))
    for cell, value in cells.items():
        book["Data"][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def broken_workbooks(info: MessageInfo) -> dict[str, tuple[bytes, list[list[Any]]]]:
    """Workbooks a statistician may send: words in value cells, a mistyped or future year, a
    status column with a wrong code, a row typed twice, codes left out, years written as no
    year is (with a notes column and a value under no header), the SEX column deleted."""
    body = written(info, "excel")
    places, header, columns = sheet_places(body)
    cells = [cell for cell, _ in places]
    year_2019, year_2020 = (f"{column_of(c)}{header}" for c in (cells[0], cells[3]))
    last = openpyxl.load_workbook(io.BytesIO(body))["Data"].max_column
    status = get_column_letter(last + 1)  # a column added after the years
    twice = {
        f"{get_column_letter(c)}{places[-1][1] + 1}": value
        for c, value in enumerate(row_values(body, places[0][1]), start=1)
    }
    past = get_column_letter(last + 2)  # a column after that, with no header
    sheet = openpyxl.load_workbook(io.BytesIO(body))["Data"]
    last_cell = f"{sheet.cell(header, sheet.max_column).column_letter}{sheet.max_row}"
    sheet.move_range(f"C{header}:{last_cell}", cols=-1)  # the table without its Sex (SEX) column
    without = io.BytesIO()
    sheet.parent.save(without)
    data = {"sheet": "Data"}
    value, period = {**data, "component": "OBS_VALUE"}, {**data, "component": "TIME_PERIOD"}
    return {
        "xlsx-non-numeric-value.xlsx": (  # SEX_M and SEX_F 2020: both reported, the rest read
            edited(body, {cells[4]: "6,5", cells[5]: "n/a"}),
            [
                ["non-numeric-value", {**value, "cell": cells[4], "value": "6,5"}],
                ["non-numeric-value", {**value, "cell": cells[5], "value": "n/a"}],
            ],
        ),
        "xlsx-bad-period.xlsx": (  # 2019 typed 20199: at the year's header cell
            edited(body, {year_2019: 20199}),
            [["bad-period", {**period, "cell": year_2019, "value": "20199"}]] * 3,
        ),
        "xlsx-future-period.xlsx": (
            edited(body, {year_2020: 2099}),
            [["future-period", {**period, "cell": year_2020, "value": "2099"}]] * 3,
        ),
        "xlsx-unknown-code-attribute.xlsx": (  # OBS_STATUS of SEX_M 2019 (row 8)
            edited(body, {f"{status}{header}": "OBS_STATUS", f"{status}{places[1][1]}": "Q"}),
            [
                [
                    "unknown-code",
                    {
                        **data,
                        "cell": f"{status}{places[1][1]}",
                        "component": "OBS_STATUS",
                        "value": "Q",
                    },
                ]
            ],
        ),
        "xlsx-duplicate-observation.xlsx": (  # the SEX_T 2019 row typed again below the table
            edited(body, twice),
            [
                [
                    "duplicate-observation",
                    {**data, "cell": f"{column_of(cells[0])}{places[-1][1] + 1}"},
                ]
            ],
        ),
        "xlsx-missing-code.xlsx": (  # SEX of SEX_F 2019, AGE of SEX_M 2020: both, at the cell
            edited(
                body,
                {f"{columns['SEX']}{places[2][1]}": None, f"{columns['AGE']}{places[4][1]}": None},
            ),
            [
                [
                    "missing-dimension",
                    {**data, "cell": f"{columns['SEX']}{places[2][1]}", "component": "SEX"},
                ],
                [
                    "missing-dimension",
                    {**data, "cell": f"{columns['AGE']}{places[4][1]}", "component": "AGE"},
                ],
            ],
        ),
        "xlsx-unrecognised-year-header.xlsx": (  # no value left out: each at its header cell
            edited(
                body,
                {
                    year_2019: "2019-Q1",
                    year_2020: "2020 (prov.)",
                    f"{status}{header}": "Comments",  # a notes column: ignored, with a warning
                    f"{status}{places[1][1]}": "checked by the NSO",
                    f"{past}{places[3][1]}": 110,  # a value under no header at all
                },
            ),
            [
                [
                    "unknown-component",
                    {**data, "cell": f"{status}{header}", "component": "Comments"},
                ],
                *[
                    [
                        "period-frequency-mismatch",
                        {**period, "cell": year_2019, "value": "2019-Q1"},
                    ]
                ]
                * 3,
                ["bad-period", {**period, "cell": year_2020, "value": "2020 (prov.)"}],
                ["missing-dimension", {**period, "cell": f"{past}{header}"}],
                *[["bad-period", {**period, "cell": year_2020, "value": "2020 (prov.)"}]] * 2,
            ],
        ),
        "xlsx-missing-column.xlsx": (
            without.getvalue(),
            [["malformed-message", {**data, "cell": f"A{header}"}]],  # its header row
        ),
    }


def row_values(body: bytes, row: int) -> list[object]:
    """The values of one row of the Data sheet."""
    sheet = openpyxl.load_workbook(io.BytesIO(body))["Data"]
    return [c.value for c in sheet[row]]


if __name__ == "__main__":
    main()
