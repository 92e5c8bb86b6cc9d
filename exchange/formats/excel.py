"""Excel workbooks (.xlsx) as national statistical offices fill them: series per row, years across.

The layout (sheets Instructions, Data and a hidden Codes sheet) is described in
:mod:`exchange.formats.excel_layout`. Reading streams the Data sheet with openpyxl's read-only
mode; each non-empty year cell becomes one :class:`Observation` whose location is its cell
(``sheet Data!H7``). Its key restores the dimensions the table fixes (``FREQ``, ``MEASURE``) from
the header block, and a row without a ``REF_AREA`` takes the reporting country of cell B2. Its
attributes are the row's text attributes plus the table's constant units (``schema.units``).

Values are numbers. A cell holding text that is not a number (``..``, ``n.a.``, ``12 (p)``)
raises :class:`MalformedData` naming the cell rather than passing the text on for validation to
reject: a workbook is typed by a person, the fix is always "make that cell a number or empty",
and a reader that stops at the first such cell keeps the record stream numeric for every writer.
Floats are written back as text with 15 significant digits (what Excel itself displays), so
``123.4`` never becomes ``123.40000000000001``, and whole numbers read ``1500``.

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
import math
import re
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
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
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

    @property
    def width(self) -> int:
        used = [*self.dimensions.values(), *self.attributes.values(), *(c for c, _ in self.years)]
        return max(used) + 1


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
    return DataStream(info, _observations(workbook, sheet, plan, name))


def _guarded(build: Any, name: str) -> Any:
    try:
        return build()
    except IlmsError:
        raise
    except Exception as exc:  # a damaged sheet fails while it is parsed
        raise MalformedData(f"the sheet cannot be read: {exc}", where=name) from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number_text(value) or ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _read_header(sheet: Any, resolve: Resolver, name: str) -> _Plan:
    rows = sheet.iter_rows(min_row=1, max_row=MAX_HEADER_ROWS, values_only=True)
    first: Sequence[object] = next(rows, ())
    reference = _cell_text(first[1]) if len(first) > 1 else ""
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
        label = _cell_text(row[0]) if row else ""
        if label == lay.LABEL_COUNTRY and len(row) > 1 and _cell_text(row[1]):
            plan.defaults[lay.COUNTRY_DIMENSION] = lay.parse_code(_cell_text(row[1]))
        elif label == lay.LABEL_FIXED:
            for cell in row[1:]:
                ident, _, code = _cell_text(cell).partition(":")
                if ident.strip() in wanted and code.strip():
                    plan.defaults[ident.strip()] = lay.parse_code(code)
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
    for index, cell in enumerate(row):
        header = lay.parse_header(cell)
        if isinstance(header, int):
            plan.years.append((index, header))
        elif header in dimensions:
            plan.dimensions[header] = index
        elif header in attributes:
            plan.attributes[header] = index
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


def number_text(value: object) -> str | None:
    """The text of a numeric cell (``123.4``, ``1500``), or None when it is not a number."""
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return value.strip()
    return None


def _float_text(value: float) -> str | None:
    """15 significant digits, as Excel displays: ``0.1 + 0.2`` → ``0.3``, ``1500.0`` → ``1500``."""
    if not math.isfinite(value):
        return None
    text = format(Decimal(f"{value:.15g}"), "f")
    return "0" if text == "-0" else text


def _observations(workbook: Any, sheet: Any, plan: _Plan, name: str) -> Iterator[Observation]:
    try:
        rows = sheet.iter_rows(min_row=plan.header_row + 1, max_col=plan.width, values_only=True)
        for number, row in enumerate(rows, start=plan.header_row + 1):
            yield from _row_observations(plan, row, number, name)
    except IlmsError:
        raise
    except Exception as exc:
        raise MalformedData(f"the sheet cannot be read: {exc}", where=name) from exc
    finally:
        workbook.close()


def _row_observations(
    plan: _Plan, row: Sequence[object], number: int, name: str
) -> Iterator[Observation]:
    def cell(index: int) -> object:
        return row[index] if index < len(row) else None

    values: list[tuple[str, str, str]] = []  # (cell, year, value)
    for index, year in plan.years:
        raw = cell(index)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        ref = f"{get_column_letter(index + 1)}{number}"
        text = number_text(raw)
        if text is None:
            raise MalformedData(
                f"{year}: {raw!r} is not a number (type a number, or leave the cell empty)",
                where=_where(name, ref),
            )
        values.append((ref, str(year), text))
    if not values:
        return
    key = tuple(_key_value(plan, d.id, cell, number, name) for d in plan.schema.dimensions)
    attributes = dict(plan.units)
    for ident, index in plan.attributes.items():
        text = _cell_text(cell(index))
        if text:
            attributes[ident] = text
    for ref, period, value in values:
        yield Observation(key, period, value, attributes, location=f"sheet {lay.DATA_SHEET}!{ref}")


def _key_value(plan: _Plan, dimension: str, cell: Any, number: int, name: str) -> str:
    index = plan.dimensions.get(dimension)
    text = _cell_text(cell(index)) if index is not None else ""
    if text:
        return lay.parse_code(text)
    if dimension in plan.defaults:
        return plan.defaults[dimension]
    ref = f"{get_column_letter(index + 1)}{number}" if index is not None else f"A{number}"
    raise MalformedData(f"values but no {dimension} code in this row", where=_where(name, ref))


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
    if value is not None and _NUMBER.match(value.strip()):
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
