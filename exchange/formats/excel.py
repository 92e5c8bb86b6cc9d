"""Excel workbooks (.xlsx) as national statistical offices fill them: series per row, years across.

The layout (sheets Instructions, Data and a hidden Codes sheet) is described in
:mod:`exchange.formats.excel_layout`. Reading streams the Data sheet with openpyxl's read-only
mode; each non-empty year cell becomes one :class:`Observation` whose location is its cell
(``sheet Data!H7``). Its key restores the dimensions the table fixes (``FREQ``, ``MEASURE``) from
the header block, and a row without a ``REF_AREA`` takes the reporting country of cell B2. Its
attributes are the row's text attributes plus the table's constant units (``schema.units``).

The location is a :class:`~exchange.formats.excel_layout.CellLocation`: the text of the value's
cell that also knows, through the sheet's column map, the cell of every other component of the
observation. Validation asks it only for the issues it lists, so an unknown code in the SEX
column is reported at the row's SEX cell, a period at its year's header cell, a value at its own
cell; the map is built once per sheet, and nothing else is done per observation.

Numeric cells become text with 15 significant digits (what Excel itself displays), so
``123.4`` never becomes ``123.40000000000001``, and whole numbers read ``1500``. A value cell
holding text that is not a number (``n/a``, ``12,5``, ``12 (p)``) is passed on as that text, as
the CSV readers do: validation reports it as ``non-numeric-value`` at its cell, and the rest of
the workbook is still read and checked, so a focal point sees every such cell at once.

Nothing typed in the Data sheet is dropped without a word; what the layout has no place for
becomes an issue at the cell where it can be put right:

* a row with values but an empty code cell (no SEX in B9) keeps the empty code in its key, so
  validation reports ``missing-dimension`` at that cell (at B2 for a REF_AREA that neither the
  row nor the reporting country gives), and the rest of the workbook is read on;
* a number under a header that is not a year (``2019-Q1``, a date such as ``19/01/2019``,
  ``2019 (prov.)``, ``Total``, an empty header cell, a column past the end of the header row)
  is read as an observation whose period is that header's text. Validation then reports
  ``bad-period`` (or ``period-frequency-mismatch``; ``missing-dimension`` for an empty header)
  at the header cell, once per value, with the series of each: an *error*, since taking such
  values as a year, or leaving them out, would change the data without the focal point
  knowing. A header that only looks like a year is never guessed into one (``2019 (prov.)``
  may mean the provisional figure that OBS_STATUS, which the workbook does not carry, should
  say);
* text under such a header (a column of comments) is not data: the column is ignored with one
  warning at its header cell (``unknown-component``, the reader warnings' code, as for a CSV
  column not in the table), or at its first filled cell when the header is empty. A column
  with nothing in it is no concern and gets nothing.

An .xlsx is a zip: before openpyxl opens it, its central directory is checked against a total
uncompressed size and a compression ratio, so a small upload cannot inflate to gigabytes.
(:mod:`zipfile` never inflates a member beyond the size its directory entry declares.)

Writing buffers one series (consecutive observations with the same key) at a time, since a row
needs all its years. The year columns are fixed before the first row is written (option
``years``, default 2000 to the current year): a period outside them, or one that is not a year,
raises :class:`Unprocessable` rather than silently dropping the value. Observation-level
attributes (``OBS_STATUS``…) have no place in this layout and are not written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from operator import attrgetter
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from exchange.errors import IlmsError, MalformedData, Unprocessable
from exchange.formats import excel_layout as lay
from exchange.formats.registry import Resolver
from exchange.model.records import DataStream, MessageInfo, Observation
from exchange.model.schema import Schema

ZIP_MAGIC = b"PK\x03\x04"
MAX_UNCOMPRESSED = 200 * 1024**2
MAX_RATIO = 100
#: Members smaller than this are not held to the ratio (tiny XML parts compress very well).
RATIO_FLOOR = 1024**2
#: Rows scanned for the header block and the header row.
MAX_HEADER_ROWS = 30
_OTHER_OFFICE = (b"word/", b"ppt/", b"mimetypeapplication/vnd.oasis")


def sniff(head: bytes) -> bool:
    """A zip whose first entries name ``xl/`` parts (or any zip that is not another office file)."""
    if not head.startswith(ZIP_MAGIC):
        return False
    return b"xl/" in head or not any(marker in head for marker in _OTHER_OFFICE)


# -- reading ---------------------------------------------------------------------------------


def _where(name: str, cell: str) -> str:
    return f"{name}: sheet {lay.DATA_SHEET}!{cell}"


def _seekable(source: BinaryIO) -> BinaryIO:
    if source.seekable():
        return source
    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024**2)  # noqa: SIM115 - returned
    shutil.copyfileobj(source, spool)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def check_zip(source: BinaryIO, name: str) -> None:
    """Refuse what is not a readable xlsx, or would inflate too much, before openpyxl opens it."""
    start = source.tell()
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise MalformedData(
            f"not an Excel workbook (.xlsx): not a readable zip archive ({exc})", where=name
        ) from exc
    source.seek(start)
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise MalformedData(
            f"the workbook would inflate to {total} bytes (limit {MAX_UNCOMPRESSED})", where=name
        )
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise MalformedData(
                f"{info.filename} would inflate {info.compress_size} bytes to {info.file_size} "
                f"(more than {MAX_RATIO} times): refused as a possible zip bomb",
                where=name,
            )
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise MalformedData(
            "a zip archive, but not an Excel workbook (no xl/workbook.xml)", where=name
        )


@dataclass
class _Plan:
    """Where the Data sheet keeps what: found in its header block and header row."""

    schema: Schema
    header_row: int
    defaults: dict[str, str] = field(default_factory=dict)  # dimension id → code
    dimensions: dict[str, int] = field(default_factory=dict)  # dimension id → column index
    attributes: dict[str, int] = field(default_factory=dict)
    years: list[tuple[int, int]] = field(default_factory=list)  # (column index, year)
    units: dict[str, str] = field(default_factory=dict)
    block: dict[str, str] = field(default_factory=dict)  # dimension id → its header block cell
    cells: lay.SheetCells | None = None  # where each component is, once the columns are known
    #: (column index, header text) of the header row's other columns, empty header cells too
    others: list[tuple[int, str]] = field(default_factory=list)
    header_width: int = 0  # cells in the header row; any further cell has no header
    warned: set[int] = field(default_factory=set)  # columns whose text was said to be ignored


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Check the zip, open the workbook read-only, read the header block, stream the rows."""
    data = _seekable(source)
    check_zip(data, name)
    try:
        workbook = load_workbook(data, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, XML and zlib errors alike
        raise MalformedData(f"not a readable Excel workbook: {exc}", where=name) from exc
    try:
        if lay.DATA_SHEET not in workbook.sheetnames:
            raise MalformedData(
                f"no sheet {lay.DATA_SHEET!r} (sheets: {', '.join(workbook.sheetnames)})",
                where=name,
            )
        sheet = workbook[lay.DATA_SHEET]
        plan = _guarded(lambda: _read_header(sheet, resolve, name), name)
    except BaseException:
        workbook.close()
        raise
    time = plan.schema.time_dimension
    info = MessageInfo(
        schema=plan.schema, dimension_at_observation=time.id if time else "AllDimensions"
    )
    return DataStream(info, _observations(workbook, sheet, plan, name, info.warnings))


def _guarded(build: Any, name: str) -> Any:
    try:
        return build()
    except IlmsError:
        raise
    except Exception as exc:  # a damaged sheet fails while it is parsed
        raise MalformedData(f"the sheet cannot be read: {exc}", where=name) from exc


def _read_header(sheet: Any, resolve: Resolver, name: str) -> _Plan:
    rows = sheet.iter_rows(min_row=1, max_row=MAX_HEADER_ROWS, values_only=True)
    first: Sequence[object] = next(rows, ())
    reference = lay.cell_text(first[1]) if len(first) > 1 else ""
    if not reference:
        raise MalformedData(
            "no dataflow reference (e.g. ILO:DF_X(1.0)) in cell B1", where=_where(name, "B1")
        )
    schema = resolve(reference)
    layout = lay.Layout.of(schema, ())
    plan = _Plan(schema=schema, header_row=0, defaults=dict(layout.fixed))
    plan.units = layout.unit_attributes()
    wanted = {d.id for d in schema.dimensions}
    for number, row in enumerate(rows, start=2):
        label = lay.cell_text(row[0]) if row else ""
        if label == lay.LABEL_COUNTRY:  # B2 names the country, or is where it belongs
            plan.block[lay.COUNTRY_DIMENSION] = f"B{number}"
            if len(row) > 1 and lay.cell_text(row[1]):
                plan.defaults[lay.COUNTRY_DIMENSION] = lay.parse_code(lay.cell_text(row[1]))
        elif label == lay.LABEL_FIXED:
            for index, cell in enumerate(row[1:], start=2):
                ident, _, code = lay.cell_text(cell).partition(":")
                if ident.strip() in wanted and code.strip():
                    plan.defaults[ident.strip()] = lay.parse_code(code)
                    plan.block[ident.strip()] = f"{get_column_letter(index)}{number}"
        elif wanted.intersection(lay.parse_header(c) for c in row):
            plan.header_row = number
            _map_columns(plan, row, name)
            return plan
    raise MalformedData(
        f"no header row naming the dimensions ({', '.join(sorted(wanted))}) in the first "
        f"{MAX_HEADER_ROWS} rows",
        where=_where(name, f"A1:A{MAX_HEADER_ROWS}"),
    )


def _map_columns(plan: _Plan, row: Sequence[object], name: str) -> None:
    dimensions = {d.id for d in plan.schema.dimensions}
    attributes = {a.id for a in plan.schema.attributes}
    plan.header_width = len(row)
    for index, cell in enumerate(row):
        header = lay.parse_header(cell)
        if isinstance(header, int):
            plan.years.append((index, header))
        elif header in dimensions or header in attributes:
            columns = plan.dimensions if header in dimensions else plan.attributes
            if header in columns:  # which one the focal point filled in is anyone's guess
                first = f"{get_column_letter(columns[header] + 1)}{plan.header_row}"
                here = f"{get_column_letter(index + 1)}{plan.header_row}"
                raise MalformedData(
                    f"column {header} appears twice in the header row ({first} and {here});"
                    " keep one",
                    where=_where(name, here),
                )
            columns[header] = index
        else:
            plan.others.append((index, lay.header_text(cell)))
    missing = [d for d in dimensions if d not in plan.dimensions and d not in plan.defaults]
    if missing and missing != [lay.COUNTRY_DIMENSION]:
        raise MalformedData(
            f"no column for the dimension(s) {', '.join(missing)} in the header row",
            where=_where(name, f"A{plan.header_row}"),
        )
    if not plan.years:
        raise MalformedData(
            "no year columns (e.g. 2015) in the header row",
            where=_where(name, f"A{plan.header_row}"),
        )
    time = plan.schema.time_dimension
    plan.cells = lay.SheetCells(
        header_row=plan.header_row,
        columns={
            ident: get_column_letter(index + 1)
            for ident, index in (*plan.dimensions.items(), *plan.attributes.items())
        },
        block=plan.block,
        measure=plan.schema.measure.id,
        time=time.id if time else None,
    )


def _observations(
    workbook: Any, sheet: Any, plan: _Plan, name: str, warnings: list[str]
) -> Iterator[Observation]:
    try:  # every column: a value past the header row's last cell is not to be missed
        rows = sheet.iter_rows(min_row=plan.header_row + 1, values_only=True)
        for number, row in enumerate(rows, start=plan.header_row + 1):
            yield from _row_observations(plan, row, number, name, warnings)
    except IlmsError:
        raise
    except Exception as exc:
        raise MalformedData(f"the sheet cannot be read: {exc}", where=name) from exc
    finally:
        workbook.close()


def _row_observations(
    plan: _Plan, row: Sequence[object], number: int, name: str, warnings: list[str]
) -> Iterator[Observation]:
    def cell(index: int) -> object:
        return row[index] if index < len(row) else None

    values = _row_values(plan, row, number, name, warnings)
    if not values:
        return
    key: list[str] = []
    from_block: list[str] = []
    for dimension in plan.schema.dimensions:
        code, defaulted = _key_value(plan, dimension.id, cell)
        key.append(code)
        if defaulted:
            from_block.append(dimension.id)
    attributes = dict(plan.units)
    for ident, index in plan.attributes.items():
        text = lay.cell_text(cell(index))
        if text:
            attributes[ident] = text
    cells, series, block = plan.cells, tuple(key), frozenset(from_block)
    assert cells is not None  # set with the columns, before any row is read
    for index, period, value in values:
        where = cells.at(get_column_letter(index + 1), number, block)
        yield Observation(series, period, value, attributes, location=where)


def _row_values(
    plan: _Plan, row: Sequence[object], number: int, name: str, warnings: list[str]
) -> list[tuple[int, str, str]]:
    """(column index, period, value) of each filled value cell of a row, left to right."""
    values = [
        (index, str(year), lay.value_text(row[index]))
        for index, year in plan.years
        if index < len(row) and not lay.blank(row[index])
    ]
    beyond = len(row) - plan.header_width
    if plan.others or (beyond > 0 and row[plan.header_width :].count(None) < beyond):
        others = _other_values(plan, row, number, name, warnings)
        if others:
            values = sorted([*values, *others])
    return values


def _other_values(
    plan: _Plan, row: Sequence[object], number: int, name: str, warnings: list[str]
) -> list[tuple[int, str, str]]:
    """The numbers of a row under headers that are not a year, as (column index, the header's
    text as their period, value); text there is ignored, with one warning per column."""
    found: list[tuple[int, str, str]] = []
    past = ((index, "") for index in range(plan.header_width, len(row)))
    for index, header in itertools.chain(plan.others, past):
        raw = row[index] if index < len(row) else None
        if lay.blank(raw):
            continue
        text = lay.number_text(raw)
        if text is not None:
            found.append((index, header, text))
        elif index not in plan.warned:
            plan.warned.add(index)
            letter = get_column_letter(index + 1)
            cell = f"{letter}{plan.header_row}" if header else f"{letter}{number}"
            what = header or f"column {letter} (no header)"
            flow = plan.schema.dataflow or plan.schema.dsd
            warnings.append(f"{_where(name, cell)}: ignored column not in {flow}: {what}")
    return found


def _key_value(plan: _Plan, dimension: str, cell: Any) -> tuple[str, bool]:
    """The row's code of ``dimension``, and whether it came from the header block; ``""``
    when neither has one (validation reports ``missing-dimension`` at the empty cell)."""
    index = plan.dimensions.get(dimension)
    text = lay.cell_text(cell(index)) if index is not None else ""
    if text:
        return lay.parse_code(text), False
    if dimension in plan.defaults:
        return plan.defaults[dimension], True
    return "", False


# -- writing ---------------------------------------------------------------------------------


def write(
    info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
) -> int:
    """Write the workbook; returns the number of observations written.

    Options: ``years`` (the year columns; default 2000 to this year), ``names`` (component id →
    code → label, in display order: the dropdowns list ``CODE - Label`` and the cells use it),
    ``country`` (a REF_AREA code for cell B2), ``blank_rows`` (prepared empty rows after the
    data; the template uses 200), ``lang`` (of the column titles).
    """
    years = options.get("years") or range(2000, dt.date.today().year + 1)
    names: Mapping[str, Mapping[str, str]] = options.get("names") or {}
    lang: str = options.get("lang", "en")
    layout = lay.Layout.of(info.schema, years)
    workbook = Workbook(write_only=True)
    lay.write_instructions(workbook.create_sheet(lay.INSTRUCTIONS_SHEET), layout, names)
    sheet = workbook.create_sheet(lay.DATA_SHEET)
    codes = workbook.create_sheet(lay.CODES_SHEET)
    codes.sheet_state = "hidden"
    code_columns = lay.write_codes(codes, layout, names)
    lay.prepare(sheet, layout)
    lay.write_header_block(sheet, layout, names, options.get("country"), lang)
    try:
        count, last_row = _write_series(sheet, layout, names, observations)
    except BaseException:
        _discard(workbook)
        raise
    for _ in range(int(options.get("blank_rows", 0))):
        last_row += 1
        sheet.append(lay.blank_row(sheet, layout))
    lay.add_validations(sheet, layout, code_columns, last_row)
    workbook.save(out)
    return count


def _discard(workbook: Any) -> None:
    """Close the streams of a write-only workbook abandoned midway (else they leak, noisily)."""
    with contextlib.suppress(Exception):  # the original error is what matters
        workbook.save(io.BytesIO())


def _year(period: str | None, columns: Mapping[int, int], years: Sequence[int]) -> int:
    year = int(period) if period and period.isdigit() else None
    if year is None or year not in columns:
        raise Unprocessable(
            f"period {period!r} has no column in this workbook (years {years[0]}-{years[-1]}): "
            "pass the years to write, or another format"
        )
    return columns[year]


def _value_cell(sheet: Any, value: str | None) -> WriteOnlyCell:
    number: object = value
    if value is not None and lay.NUMBER.match(value.strip()):
        number = Decimal(value.strip())
    return lay.styled(sheet, number, fill=lay.INPUT_FILL)


def _write_series(
    sheet: Any,
    layout: lay.Layout,
    names: Mapping[str, Mapping[str, str]],
    observations: Iterable[Observation],
) -> tuple[int, int]:
    """One row per series; returns (observations written, last row number)."""
    schema = layout.schema
    positions = {d.id: i for i, d in enumerate(schema.dimensions)}
    columns = {year: i for i, year in enumerate(layout.years)}
    count, row_number = 0, lay.HEADER_ROW
    for key, series in groupby(observations, key=attrgetter("key")):
        for ident, code in layout.fixed.items():
            if key[positions[ident]] != code:
                raise Unprocessable(f"{ident}={key[positions[ident]]}: this table fixes {code}")
        values: list[str | None] = [None] * len(layout.years)
        attributes: Mapping[str, str] = {}
        for observation in series:
            values[_year(observation.period, columns, layout.years)] = observation.value
            attributes = attributes or observation.attributes
            count += 1
        cells = [
            lay.styled(
                sheet, lay.code_label(key[positions[d.id]], names.get(d.id)), fill=lay.INPUT_FILL
            )
            for d in layout.dimension_columns
        ]
        cells += [
            lay.styled(sheet, attributes.get(a.id), fill=lay.INPUT_FILL)
            for a in layout.text_attributes
        ]
        cells += [_value_cell(sheet, v) for v in values]
        sheet.append(cells)
        row_number += 1
    return count, row_number
