"""The Excel format: template layout, reading a filled workbook, write → read, bad workbooks."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable

import pytest
from openpyxl import Workbook, load_workbook

from exchange.errors import MalformedData, Unprocessable
from exchange.formats import excel, registry
from exchange.formats.excel_layout import CellLocation
from exchange.model.records import MessageInfo, Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.services.template import write_template

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
UNITS = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}


def resolver(store: StructureStore) -> Callable[[str | None], Schema]:
    def resolve(reference: str | None) -> Schema:
        assert reference is not None
        return store.schema_for(reference)

    return resolve


@pytest.fixture(scope="module")
def template(store: StructureStore) -> bytes:
    out = io.BytesIO()
    write_template(store, FLOW, out, years=range(2015, 2021))
    return out.getvalue()


def read_all(data: bytes, store: StructureStore, name: str = "in.xlsx") -> list[Observation]:
    return list(excel.read(io.BytesIO(data), resolver(store), name=name))


def filled(template: bytes, rows: list[list[object]], country: str | None = None) -> bytes:
    """Fill the template as a person would, from row 7: A REF_AREA, B SEX … H 2015 …"""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook["Data"]
    if country:
        sheet["B2"] = country
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=7 + offset, column=column, value=value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- the template ----------------------------------------------------------------------------


def test_template_sheets_header_and_dropdowns(template: bytes, store: StructureStore) -> None:
    workbook = load_workbook(io.BytesIO(template))
    assert workbook.sheetnames == ["Instructions", "Data", "Codes"]
    assert workbook["Codes"].sheet_state == "hidden"
    data = workbook["Data"]
    assert data["B1"].value == "ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)"
    assert data["A2"].value == "Reporting country"
    assert data["B3"].value == "thousands of persons, 1 decimal"
    assert [data["B4"].value, data["C4"].value][0] == "FREQ: A - Annual"
    assert str(data["C4"].value).startswith("MEASURE: MST_TEMP_NB")
    header = [c.value for c in data[6]]
    assert header == [
        "Reference area (REF_AREA)",
        "Sex (SEX)",
        "Age (AGE)",
        "Place of birth (CBR)",
        "Source (SOURCE)",
        "Source Notes (NOTE_SOURCE)",
        "Indicator Notes (NOTE_INDICATOR)",
        2015,
        2016,
        2017,
        2018,
        2019,
        2020,
    ]
    assert data.freeze_panes == "H7"
    assert data["A1"].font.bold
    assert data["H7"].fill.fgColor.rgb == "FFF2F7FC"
    lists = {
        str(v.sqref): v.formula1 for v in data.data_validations.dataValidation if v.type == "list"
    }
    assert lists["B7:B2006"] == "Codes!$B$2:$B$5"
    assert lists["B2"] == lists["A7:A2006"]
    assert all(f.startswith("Codes!") for f in lists.values())
    instructions = " ".join(str(r[0]) for r in workbook["Instructions"].values if r[0])
    assert FLOW in instructions
    assert "thousands of persons, 1 decimal" in instructions
    # what a focal point adding a year must know: other headers are errors, not ignored
    assert "head its column with the plain year (e.g. 2025)" in instructions


def test_template_codes_are_the_allowed_ones_in_ilo_order(
    template: bytes, store: StructureStore
) -> None:
    codes = load_workbook(io.BytesIO(template))["Codes"]
    columns = {col[0]: [c for c in col[1:] if c] for col in zip(*codes.values, strict=True)}
    assert list(columns) == ["REF_AREA", "SEX", "AGE", "CBR"]
    assert columns["SEX"] == ["SEX_T - Total", "SEX_M - Male", "SEX_F - Female", "SEX_O - Other"]
    schema = store.schema(FLOW)
    for dimension in schema.dimensions:
        if dimension.id in columns:
            listed = {entry.split(" - ")[0] for entry in columns[dimension.id]}
            assert listed == dimension.codes
    assert "AGE_5YRBANDS_TOTAL - Total" in columns["AGE"]
    assert "FREQ" not in columns and "MEASURE" not in columns


# -- reading ---------------------------------------------------------------------------------


def test_read_filled_template(template: bytes, store: StructureStore) -> None:
    data = filled(
        template,
        [
            [
                "ARE - United Arab Emirates",
                "SEX_F - Female",
                "AGE_YTHADULT_YGE15 - 15+",
                "CBR_BIR_FOREIGN - Foreign-born",
                "LFS",
                None,
                "Provisional",
                123.4,
                None,
                1500,
            ],
            [
                None,
                "SEX_M",
                "AGE_YTHADULT_YGE15",
                "CBR_BIR_TOTAL",
                None,
                None,
                None,
                None,
                None,
                None,
                0.1 + 0.2,
                "17.25",
            ],
            [],  # an empty row is skipped
            ["ARE", "SEX_T", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL"],  # no values: no observation
        ],
        country="BHR - Bahrain",
    )
    observations = read_all(data, store)
    female = ("ARE", "A", "MST_TEMP_NB", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_FOREIGN")
    male = ("BHR", "A", "MST_TEMP_NB", "SEX_M", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL")
    assert store.schema(FLOW).dimension_ids == ("REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR")
    with_notes = {**UNITS, "SOURCE": "LFS", "NOTE_INDICATOR": "Provisional"}
    assert observations == [
        Observation(female, "2015", "123.4", with_notes, location="sheet Data!H7"),
        Observation(female, "2017", "1500", with_notes, location="sheet Data!J7"),
        Observation(male, "2018", "0.3", UNITS, location="sheet Data!K8"),
        Observation(male, "2019", "17.25", UNITS, location="sheet Data!L8"),
    ]


def test_read_reports_header_facts(template: bytes, store: StructureStore) -> None:
    stream = excel.read(io.BytesIO(filled(template, [])), resolver(store), name="in.xlsx")
    assert stream.info.schema.dataflow is not None
    assert stream.info.schema.dataflow.id == FLOW
    assert stream.info.dimension_at_observation == "TIME_PERIOD"
    assert list(stream) == []


def test_text_in_a_value_cell_is_read_as_text_and_the_rest_too(
    template: bytes, store: StructureStore
) -> None:
    data = filled(
        template,
        [
            ["ARE", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL", None, None, None, 12, ".."],
            ["ARE", "SEX_M", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL", None, None, None, "12,5 ", 7],
        ],
    )
    observations = read_all(data, store, name="nso.xlsx")
    assert [(o.location, o.period, o.value) for o in observations] == [
        ("sheet Data!H7", "2015", "12"),
        ("sheet Data!I7", "2016", ".."),  # validation says: not a number, at I7
        ("sheet Data!H8", "2015", "12,5"),
        ("sheet Data!I8", "2016", "7"),
    ]


def test_a_missing_code_is_read_as_empty_at_its_cell_and_the_rest_too(
    template: bytes, store: StructureStore
) -> None:
    data = filled(
        template,
        [
            ["ARE", None, "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL", None, None, None, 12],
            ["ARE", "SEX_M", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL", None, None, None, 13],
        ],
    )
    first, second = read_all(data, store, name="nso.xlsx")
    assert first.key == ("ARE", "A", "MST_TEMP_NB", "", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL")
    assert isinstance(first.location, CellLocation)
    assert first.location.cell_of("SEX") == "sheet Data!B7"  # validation: missing-dimension
    assert (second.key[3], second.value, second.location) == ("SEX_M", "13", "sheet Data!H8")


def with_header(template: bytes, cells: dict[str, object]) -> bytes:
    """The template with some cells of its Data sheet typed in (header row 6, rows, B2…)."""
    workbook = load_workbook(io.BytesIO(template))
    for cell, value in cells.items():
        workbook["Data"][cell] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_country_neither_the_row_nor_b2_gives_belongs_in_b2(
    template: bytes, store: StructureStore
) -> None:
    data = filled(
        template, [[None, "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL", *[None] * 3, 12]]
    )
    data = with_header(data, {"A6": None})  # no REF_AREA column: B2 (empty) would give it
    (obs,) = read_all(data, store)
    assert obs.key[0] == ""
    assert isinstance(obs.location, CellLocation)
    assert (obs.location, obs.location.cell_of("REF_AREA")) == ("sheet Data!H7", "sheet Data!B2")


def test_numbers_under_a_header_that_is_not_a_year_take_its_text_as_period(
    template: bytes, store: StructureStore
) -> None:
    key = ["ARE", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL", None, None, None]
    base = filled(template, [[*key, 1, 2, 3, 4, 5, 6, "7", None, 9]])
    data = with_header(
        base,
        {
            "I6": "2016-Q1",
            "J6": dt.datetime(2019, 1, 19),  # 19/01/2019 typed in Excel: a date
            "K6": " 2018\n(prov.) ",
            "L6": "Total",
            "M6": None,  # the header cell emptied
            "N6": "2021 (p)",  # read as the id "p" by the header parser: still not a year
        },
    )
    stream = excel.read(io.BytesIO(data), resolver(store), name="nso.xlsx")
    observations = list(stream)
    assert [(o.location, o.period, o.value) for o in observations] == [
        ("sheet Data!H7", "2015", "1"),
        ("sheet Data!I7", "2016-Q1", "2"),
        ("sheet Data!J7", "2019-01-19", "3"),
        ("sheet Data!K7", "2018 (prov.)", "4"),
        ("sheet Data!L7", "Total", "5"),
        ("sheet Data!M7", "", "6"),
        ("sheet Data!N7", "2021 (p)", "7"),
        ("sheet Data!P7", "", "9"),  # past the header row's last cell
    ]
    places = {o.location: o.location.cell_of("TIME_PERIOD") for o in observations}
    assert places["sheet Data!K7"] == "sheet Data!K6"  # validation: bad-period, at the header
    assert places["sheet Data!P7"] == "sheet Data!P6"
    assert stream.info.warnings == []


def test_text_under_a_header_that_is_not_a_year_is_ignored_with_a_warning(
    template: bytes, store: StructureStore
) -> None:
    key = ["ARE", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_TOTAL", None, None, None]
    base = filled(template, [[*key, 12, *[None] * 5, "see note"], key, [*key, 12]])
    data = with_header(base, {"N6": "Comments", "O6": "Notes", "P9": "checked", "Q8": "x"})
    stream = excel.read(io.BytesIO(data), resolver(store), name="nso.xlsx")
    assert [o.location for o in stream] == ["sheet Data!H7", "sheet Data!H9"]
    flow = "ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)"
    assert stream.info.warnings == [  # once per column; the empty Notes column: nothing
        f"nso.xlsx: sheet Data!N6: ignored column not in {flow}: Comments",
        f"nso.xlsx: sheet Data!Q8: ignored column not in {flow}: column Q (no header)",
        f"nso.xlsx: sheet Data!P9: ignored column not in {flow}: column P (no header)",
    ]


# -- writing ---------------------------------------------------------------------------------


def test_write_then_read_round_trip(store: StructureStore) -> None:
    schema = store.schema(FLOW)
    key_f = ("ARE", "A", "MST_TEMP_NB", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_FOREIGN")
    key_m = ("ARE", "A", "MST_TEMP_NB", "SEX_M", "AGE_YTHADULT_YGE15", "CBR_BIR_FOREIGN")
    notes = {**UNITS, "NOTE_SOURCE": "=not a formula"}
    sent = [
        Observation(key_f, "2019", "123.4", notes),
        Observation(key_f, "2021", "1500", notes),
        Observation(key_m, "2020", "-0.25", UNITS),
    ]
    out = io.BytesIO()
    count = excel.write(MessageInfo(schema=schema), iter(sent), out, years=range(2019, 2023))
    assert count == 3
    assert excel.sniff(out.getvalue()[:4096])
    assert registry.sniff(out.getvalue()[:4096]) is registry.by_name("excel")
    back = read_all(out.getvalue(), store)
    assert [(o.key, o.period, o.value, dict(o.attributes)) for o in back] == [
        (o.key, o.period, o.value, o.attributes) for o in sent
    ]
    assert [o.location for o in back] == ["sheet Data!H7", "sheet Data!J7", "sheet Data!I8"]


def test_write_with_labels_reads_back(store: StructureStore) -> None:
    schema = store.schema(FLOW)
    key = ("ARE", "A", "MST_TEMP_NB", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_FOREIGN")
    out = io.BytesIO()
    names = {"SEX": {"SEX_T": "Total", "SEX_F": "Female"}}
    excel.write(
        MessageInfo(schema=schema),
        [Observation(key, "2020", "7", UNITS)],
        out,
        names=names,
        years=range(2020, 2021),
    )
    sheet = load_workbook(io.BytesIO(out.getvalue()))["Data"]
    assert sheet["B7"].value == "SEX_F - Female"
    assert [o.key for o in read_all(out.getvalue(), store)] == [key]


def test_write_refuses_a_period_without_a_column(store: StructureStore) -> None:
    key = ("ARE", "A", "MST_TEMP_NB", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_FOREIGN")
    with pytest.raises(Unprocessable, match="1990"):
        excel.write(
            MessageInfo(schema=store.schema(FLOW)),
            [Observation(key, "1990", "1", {})],
            io.BytesIO(),
            years=range(2000, 2010),
        )


# -- bad workbooks ---------------------------------------------------------------------------


def test_not_a_zip(store: StructureStore) -> None:
    with pytest.raises(MalformedData) as caught:
        read_all(b"REF_AREA,SEX\nARE,SEX_F\n", store, name="x.xlsx")
    assert caught.value.where == "x.xlsx"
    assert "zip" in caught.value.message


def test_truncated_workbook(template: bytes, store: StructureStore) -> None:
    with pytest.raises(MalformedData) as caught:
        read_all(template[: len(template) // 2], store, name="cut.xlsx")
    assert caught.value.where == "cut.xlsx"


def test_workbook_without_data_sheet(store: StructureStore) -> None:
    workbook = Workbook()
    workbook.active.title = "Sheet1"
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(MalformedData) as caught:
        read_all(out.getvalue(), store, name="other.xlsx")
    assert "no sheet 'Data'" in caught.value.message
    assert caught.value.where == "other.xlsx"


def test_workbook_without_dataflow_cell(template: bytes, store: StructureStore) -> None:
    workbook = load_workbook(io.BytesIO(template))
    workbook["Data"]["B1"] = None
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(MalformedData) as caught:
        read_all(out.getvalue(), store, name="nso.xlsx")
    assert caught.value.where == "nso.xlsx: sheet Data!B1"


def test_a_column_named_twice_is_refused_at_its_second_header(
    template: bytes, store: StructureStore
) -> None:
    # The template's header row: A REF_AREA, B SEX, C AGE, D CBR, E SOURCE … H 2015 …; a
    # focal point who copies the SEX column into N leaves two SEX columns: which one counts
    # is anyone's guess, so the workbook is refused, naming both.
    data = with_header(template, {"N6": "SEX", "E6": "NOTE_SOURCE"})
    with pytest.raises(MalformedData) as caught:
        read_all(data, store, name="nso.xlsx")
    assert caught.value.where == "nso.xlsx: sheet Data!F6"
    assert "NOTE_SOURCE appears twice in the header row (E6 and F6)" in caught.value.message
    data = with_header(template, {"N6": "SEX"})
    with pytest.raises(MalformedData) as caught:
        read_all(data, store, name="nso.xlsx")
    assert caught.value.where == "nso.xlsx: sheet Data!N6"
    assert "column SEX appears twice in the header row (B6 and N6)" in caught.value.message


def test_zip_that_is_not_a_workbook(store: StructureStore) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("data.csv", "a,b\n")
    with pytest.raises(MalformedData, match="not an Excel workbook"):
        read_all(out.getvalue(), store, name="z.xlsx")


def test_zip_bomb_refused_before_inflating(template: bytes, store: StructureStore) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b" " * (1024 * 1024)
            for _ in range(20):
                member.write(chunk)
    assert len(out.getvalue()) < 100_000
    with pytest.raises(MalformedData) as caught:
        read_all(out.getvalue(), store, name="bomb.xlsx")
    assert caught.value.where == "bomb.xlsx"
    assert "zip bomb" in caught.value.message


def test_total_size_limit(
    template: bytes, store: StructureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "MAX_UNCOMPRESSED", 1000)
    with pytest.raises(MalformedData, match="would inflate"):
        read_all(template, store)


def test_sniff() -> None:
    assert excel.sniff(b"PK\x03\x04....xl/workbook.xml")
    assert excel.sniff(b"PK\x03\x04" + b"\0" * 20)
    assert not excel.sniff(b"PK\x03\x04....word/document.xml")
    assert not excel.sniff(b"DATAFLOW,REF_AREA")
