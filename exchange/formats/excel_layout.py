"""The layout of an ILMS Excel workbook, shared by the reader, the writer and the template.

A focal point of a national statistical office fills one workbook per table (dataflow)::

    Instructions   what the table is, how to fill it, what happens next
    Data           A1 "Dataflow"           B1 ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)   C1 table name
                   A2 "Reporting country"  B2 ARE - United Arab Emirates (dropdown)
                   A3 "Units"              B3 thousands of persons, 1 decimal
                   A4 "Fixed dimensions"   B4 FREQ: A - Annual   C4 MEASURE: MST_TEMP_NB - …
                   row 6: header — one column per dimension not fixed by the table, the series
                          text attributes (SOURCE, NOTE_SOURCE, NOTE_INDICATOR), one column per year
                   row 7…: one row per series, values across the years
    Codes          hidden; one column per dimension column, "CODE - Label" in ILO's display order,
                   which the dropdowns (data validations) of the Data sheet list

Dimensions with exactly one allowed code (``FREQ`` = ``A`` and the table's ``MEASURE``) are fixed
by the table: they sit in the header block, not in columns, and the reader restores them into the
key. Header cells read ``Sex (SEX)`` — the id in brackets is what the reader matches, so columns
may be reordered. Coded cells read ``CODE - Label``; the reader keeps what precedes the first
``" - "`` (codes never contain a space), so a bare code works as well.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from exchange.model.schema import Component, Schema

DATA_SHEET = "Data"
CODES_SHEET = "Codes"
INSTRUCTIONS_SHEET = "Instructions"
DATAFLOW_CELL = "B1"
LABEL_DATAFLOW = "Dataflow"
LABEL_COUNTRY = "Reporting country"
LABEL_UNITS = "Units"
LABEL_FIXED = "Fixed dimensions"
HEADER_ROW = 6
FIRST_DATA_ROW = HEADER_ROW + 1
#: Rows the template prepares (fill, dropdowns); dropdowns reach further for long submissions.
TEMPLATE_ROWS = 200
VALIDATION_ROWS = 2000
CODE_SEPARATOR = " - "
COUNTRY_DIMENSION = "REF_AREA"
#: Series-level free-text attributes the focal point may fill, one column each.
TEXT_ATTRIBUTES = ("SOURCE", "NOTE_SOURCE", "NOTE_INDICATOR")
#: Unit attributes constant per ILMS table (dataflow annotations), added to every observation.
UNIT_ATTRIBUTES = ("UNIT_MEASURE_TYPE", "UNIT_MEASURE", "UNIT_MULT")

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
INPUT_FILL = PatternFill("solid", start_color="FFF2F7FC", end_color="FFF2F7FC")
HEADER_FILL = PatternFill("solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
WRAP = Alignment(wrap_text=True, vertical="top")

_HEADER_ID = re.compile(r"\(([A-Za-z][A-Za-z0-9_]*)\)\s*$")
_BARE_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
#: A number written as text the way SDMX wants it: ``12.5``, ``-3``, ``1e3``, no separators.
NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_MULTIPLIERS = {
    "0": "",
    "1": "tens of ",
    "2": "hundreds of ",
    "3": "thousands of ",
    "6": "millions of ",
    "9": "billions of ",
}


@dataclass(frozen=True)
class Layout:
    """Which component goes where, for one schema and one range of years."""

    schema: Schema
    fixed: Mapping[str, str]  # dimension id → its only allowed code
    dimension_columns: tuple[Component, ...]
    text_attributes: tuple[Component, ...]
    years: tuple[int, ...]

    @classmethod
    def of(cls, schema: Schema, years: Sequence[int]) -> Layout:
        fixed = {
            d.id: next(iter(d.codes))
            for d in schema.dimensions
            if d.codes is not None and len(d.codes) == 1 and d.id != COUNTRY_DIMENSION
        }
        attributes = {a.id: a for a in schema.attributes}
        return cls(
            schema=schema,
            fixed=fixed,
            dimension_columns=tuple(d for d in schema.dimensions if d.id not in fixed),
            text_attributes=tuple(attributes[a] for a in TEXT_ATTRIBUTES if a in attributes),
            years=tuple(years),
        )

    @property
    def header(self) -> list[str | int]:
        """The header row: dimension and attribute titles, then the years."""
        titles = [column_title(c) for c in (*self.dimension_columns, *self.text_attributes)]
        return [*titles, *self.years]

    @property
    def first_year_column(self) -> int:
        """1-based column of the first year."""
        return len(self.dimension_columns) + len(self.text_attributes) + 1

    def unit_attributes(self) -> dict[str, str]:
        """The table's constant unit attributes, as every observation carries them."""
        units = self.schema.units
        present = {a.id for a in self.schema.attributes}
        return {k: units[k] for k in UNIT_ATTRIBUTES if k in units and k in present}


class SheetCells:
    """Where each component of the observations of one Data sheet is, as the reader found it.

    Shared by every observation of the sheet: per component its column letter (the dimensions
    and attributes the header row names) or its cell in the header block (``B2`` for the
    reporting country, ``B4``… for the fixed dimensions), and the header row, where the years
    are. The value, the measure, is in the observation's own cell.
    """

    __slots__ = ("block", "columns", "header_row", "measure", "sheet", "time")

    def __init__(
        self,
        *,
        header_row: int,
        columns: Mapping[str, str],
        block: Mapping[str, str],
        measure: str,
        time: str | None,
        sheet: str = DATA_SHEET,
    ) -> None:
        self.sheet = sheet
        self.header_row = header_row
        self.columns = columns
        self.block = block
        self.measure = measure
        self.time = time

    def at(self, column: str, row: int, from_block: frozenset[str]) -> CellLocation:
        """The location of the value in cell ``{column}{row}``; ``from_block``: the components
        of its key that the row left empty and the header block gave."""
        where = CellLocation(f"sheet {self.sheet}!{column}{row}")
        where.cells, where.column, where.row, where.from_block = self, column, row, from_block
        return where


class CellLocation(str):
    """The location of an observation read from a workbook: the text of its value's cell
    (``sheet Data!H7``), which also finds the cell of any component of that observation.

    A ``str`` everywhere (the record stream's ``Observation.location``); validation asks
    :meth:`cell_of` only when it lists an issue, so an issue about ``SEX`` points at the row's
    SEX cell, one about the period at the year's header cell, one about the value at the value's.
    (A ``str`` subclass cannot have ``__slots__``: the few attributes live in its ``__dict__``.)
    """

    cells: SheetCells
    column: str
    row: int
    from_block: frozenset[str]

    def cell_of(self, component: str) -> str:
        """The location text of ``component`` of this observation: its cell, or its row when
        the workbook has no cell for it (the table's units, which no cell holds)."""
        cells = self.cells
        if component == cells.measure:
            return str(self)
        if component == cells.time:
            return f"sheet {cells.sheet}!{self.column}{cells.header_row}"
        column = cells.columns.get(component)
        if column is not None and component not in self.from_block:
            return f"sheet {cells.sheet}!{column}{self.row}"
        cell = cells.block.get(component)
        if cell is not None:
            return f"sheet {cells.sheet}!{cell}"
        return f"sheet {cells.sheet}, row {self.row}"


# -- cells as the reader takes them -------------------------------------------------------


def cell_text(value: object) -> str:
    """A cell's text, stripped: a number as Excel shows it, a date in ISO 8601, "" if empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return number_text(value) or ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def header_text(cell: object) -> str:
    """A header cell's text as the period of the numbers under it: as typed, spaces and line
    breaks made single spaces; a date (``19/01/2019``, which Excel stores as a date) as
    ``2019-01-19``."""
    if isinstance(cell, dt.datetime) and cell.time() == dt.time():
        cell = cell.date()
    return " ".join(cell_text(cell).split())


def number_text(value: object) -> str | None:
    """The text of a numeric cell (``123.4``, ``1500``), or None when it is not a number."""
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and NUMBER.match(value.strip()):
        return value.strip()
    return None


def _float_text(value: float) -> str | None:
    """15 significant digits, as Excel displays: ``0.1 + 0.2`` → ``0.3``, ``1500.0`` → ``1500``."""
    if not math.isfinite(value):
        return None
    text = format(Decimal(f"{value:.15g}"), "f")
    return "0" if text == "-0" else text


def value_text(raw: object) -> str:
    """The text of a value cell: a number as Excel shows it, or the cell's text as typed
    (``n/a``, ``12,5``), which validation reports as not a number."""
    text = number_text(raw)
    if text is not None:
        return text
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):  # NaN or infinite: no number Excel shows
        return str(raw)
    return cell_text(raw)


def blank(raw: object) -> bool:
    """Nothing in the cell, or only spaces."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def column_title(component: Component, lang: str = "en") -> str:
    name = component.names.get(lang) or component.names.get("en")
    return f"{name} ({component.id})" if name else component.id


def parse_header(cell: object) -> str | int | None:
    """A header cell → component id (``Sex (SEX)`` or ``SEX``), a year, or None."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, int | float) and float(cell).is_integer():
        return int(cell)
    text = str(cell).strip()
    if text.isdigit() and len(text) == 4:
        return int(text)
    match = _HEADER_ID.search(text)
    if match:
        return match[1]
    return text if _BARE_ID.match(text) else None


def code_label(code: str, labels: Mapping[str, str] | None) -> str:
    label = labels.get(code) if labels else None
    return f"{code}{CODE_SEPARATOR}{label}" if label else code


def parse_code(text: str) -> str:
    """``SEX_F - Female`` → ``SEX_F``; a bare code is returned stripped."""
    return text.split(CODE_SEPARATOR, 1)[0].strip()


def ordered_codes(component: Component, names: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Allowed codes of a dimension in display order: the order of ``names``, then sorted."""
    labels = names.get(component.id, {})
    allowed = component.codes
    if allowed is None:
        return list(labels)
    return [c for c in labels if c in allowed] + sorted(allowed.difference(labels))


def describe_units(units: Mapping[str, str], names: Mapping[str, Mapping[str, str]]) -> str:
    """``thousands of persons, 1 decimal`` from the table's unit annotations."""
    measure = units.get("UNIT_MEASURE")
    if measure is None:
        return "as published (see the table title)"
    what = names.get("UNIT_MEASURE", {}).get(measure, measure).lower()
    if units.get("UNIT_MEASURE_TYPE") == "RT":
        what = f"{what} (rate)"
    text = _MULTIPLIERS.get(units.get("UNIT_MULT", "0"), "") + what
    decimals = units.get("DECIMALS")
    if decimals is not None:
        text += f", {decimals} decimal" + ("" if decimals == "1" else "s")
    return text


def instructions(layout: Layout, units_text: str) -> list[str]:
    """The lines of the Instructions sheet."""
    schema = layout.schema
    flow = str(schema.dataflow or schema.dsd)
    columns = ", ".join(column_title(c) for c in layout.dimension_columns)
    fixed = ", ".join(f"{k} = {v}" for k, v in layout.fixed.items()) or "none"
    first, last = (layout.years[0], layout.years[-1]) if layout.years else ("", "")
    return [
        schema.name,
        f"Dataflow: {flow}",
        "",
        "How to fill this workbook",
        "1. Go to the sheet 'Data'. Choose your country in cell B2 (Reporting country).",
        f"2. Enter one row per series, from row {FIRST_DATA_ROW} down. Pick the codes of the "
        f"columns {columns} from the dropdown lists (e.g. 'SEX_F - Female').",
        f"3. Type the values in the year columns ({first} to {last}), one column per year. "
        "Leave a cell empty when there is no value; do not type '..', '-' or 'n.a.'. "
        "To add a year, head its column with the plain year (e.g. 2025), not a date, a "
        "quarter or a note: values under any other header are reported as errors.",
        f"4. Units: {units_text}. Type numbers only, without thousands separators or notes.",
        "5. Optionally, describe the source and notes of each series in the columns "
        + ", ".join(column_title(a) for a in layout.text_attributes)
        + ".",
        f"Fixed by this table (do not change): {fixed}.",
        "",
        "What happens next",
        "Upload the workbook (or send it to your ILO contact). It is read and validated: every "
        "code must be one this table allows, every value a number. You receive a report naming "
        "each problem by sheet and cell; correct the workbook and send it again.",
    ]


def codes_column(component: Component, names: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The Codes sheet column of one dimension: its id, then ``CODE - Label`` entries."""
    labels = names.get(component.id, {})
    return [component.id, *(code_label(c, labels) for c in ordered_codes(component, names))]


def list_validation(column: int, length: int, sqref: str) -> DataValidation:
    """A dropdown over rows 2…length+1 of a column of the hidden Codes sheet."""
    letter = get_column_letter(column)
    validation = DataValidation(
        type="list",
        formula1=f"{CODES_SHEET}!${letter}$2:${letter}${length + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not an allowed code",
        error="Pick a code from the list.",
    )
    validation.add(sqref)
    return validation


def number_validation(sqref: str) -> DataValidation:
    validation = DataValidation(
        type="decimal",
        operator="between",
        formula1="-1E+300",
        formula2="1E+300",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not a number",
        error="Type a number, or leave the cell empty.",
    )
    validation.add(sqref)
    return validation


# -- building the sheets (write-only workbooks: rows in order, widths first) ---------------


def styled(sheet: Any, value: object, **style: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula
    for attribute, setting in style.items():
        setattr(cell, attribute, setting)
    return cell


def write_instructions(sheet: Any, layout: Layout, names: Mapping[str, Any]) -> None:
    sheet.column_dimensions["A"].width = 120
    units = describe_units(layout.schema.units, names)
    for index, line in enumerate(instructions(layout, units)):
        bold = index == 0 or line in ("How to fill this workbook", "What happens next")
        font = TITLE if index == 0 else (BOLD if bold else None)
        sheet.append([styled(sheet, line, font=font, alignment=WRAP) if font else line])


def write_codes(
    sheet: Any, layout: Layout, names: Mapping[str, Mapping[str, str]]
) -> dict[str, tuple[int, int]]:
    """Fill the Codes sheet; dimension id → (its 1-based column, number of codes)."""
    columns = [codes_column(d, names) for d in layout.dimension_columns if d.codes]
    placed = {column[0]: (index, len(column) - 1) for index, column in enumerate(columns, start=1)}
    for row in range(max((len(c) for c in columns), default=0)):
        sheet.append([c[row] if row < len(c) else None for c in columns])
    return placed


def prepare(sheet: Any, layout: Layout) -> None:
    """Column widths and frozen panes: set before the first row of a write-only sheet."""
    sheet.column_dimensions["A"].width = 28
    for index, _ in enumerate(layout.dimension_columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 32
    first_year = layout.first_year_column
    for index in range(len(layout.dimension_columns) + 1, first_year):
        sheet.column_dimensions[get_column_letter(index)].width = 30
    for index in range(first_year, first_year + len(layout.years)):
        sheet.column_dimensions[get_column_letter(index)].width = 10
    sheet.freeze_panes = f"{get_column_letter(first_year)}{FIRST_DATA_ROW}"


def write_header_block(
    sheet: Any,
    layout: Layout,
    names: Mapping[str, Mapping[str, str]],
    country: str | None,
    lang: str,
) -> None:
    schema = layout.schema
    bold = {"font": BOLD}
    country_text = code_label(country, names.get(COUNTRY_DIMENSION)) if country else None
    fixed = [
        f"{ident}: {code_label(code, names.get(ident))}" for ident, code in layout.fixed.items()
    ]
    sheet.append(
        [
            styled(sheet, LABEL_DATAFLOW, **bold),
            styled(sheet, str(schema.dataflow or schema.dsd), **bold),
            styled(sheet, schema.names.get(lang) or schema.name, font=TITLE),
        ]
    )
    sheet.append(
        [
            styled(sheet, LABEL_COUNTRY, **bold),
            styled(sheet, country_text, fill=INPUT_FILL),
        ]
    )
    sheet.append([styled(sheet, LABEL_UNITS, **bold), describe_units(schema.units, names)])
    sheet.append([styled(sheet, LABEL_FIXED, **bold), *fixed])
    sheet.append([])
    titles = [column_title(c, lang) for c in (*layout.dimension_columns, *layout.text_attributes)]
    sheet.append(
        [
            styled(sheet, v, font=BOLD, fill=HEADER_FILL, alignment=WRAP)
            for v in [*titles, *layout.years]
        ]
    )


def blank_row(sheet: Any, layout: Layout) -> list[WriteOnlyCell]:
    width = layout.first_year_column - 1 + len(layout.years)
    return [styled(sheet, None, fill=INPUT_FILL) for _ in range(width)]


def add_validations(
    sheet: Any, layout: Layout, code_columns: Mapping[str, tuple[int, int]], last_row: int
) -> None:
    end = max(last_row, FIRST_DATA_ROW + VALIDATION_ROWS - 1)
    for index, dimension in enumerate(layout.dimension_columns, start=1):
        if dimension.id not in code_columns:
            continue
        column, length = code_columns[dimension.id]
        letter = get_column_letter(index)
        sheet.data_validations.append(
            list_validation(column, length, f"{letter}{FIRST_DATA_ROW}:{letter}{end}")
        )
        if dimension.id == COUNTRY_DIMENSION:
            sheet.data_validations.append(list_validation(column, length, "B2"))
    if layout.years:
        first = get_column_letter(layout.first_year_column)
        last = get_column_letter(layout.first_year_column + len(layout.years) - 1)
        sheet.data_validations.append(number_validation(f"{first}{FIRST_DATA_ROW}:{last}{end}"))
