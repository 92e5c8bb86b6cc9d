"""Reading and writing machinery shared by SDMX-CSV 1.0 and 2.0.

Reading: the header line is read as bytes, stripped of a UTF-8 byte order mark, and its delimiter
(``,`` or ``;``, or a tab) is taken from the character that follows the first column name (the
SDMX-CSV 2.0 rule, which also holds for 1.0 files written with a locale's separator). The rest
of the file is decoded a block at a time and fed line by line to the :mod:`csv` module; an
invalid UTF-8 byte is reported with the row it is in, CRLF and LF both work, and memory stays
flat. Each column is looked up once in the header; a row is then turned into an
:class:`Observation` with :func:`operator.itemgetter` over precomputed column indexes, with no
per-row dict of cells.

Writing lives in :mod:`exchange.formats.csv_write`.

Labels (``labels=both``): header cells ``ID: Name`` and coded value cells ``CODE: Name`` are cut
at the first ``": "``. Codes and ids never contain a space, so this is safe for dimensions and
coded attributes; free-text attributes (``NOTE_SOURCE: Repository: …``) are left alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from operator import itemgetter
from types import MappingProxyType
from typing import Any, BinaryIO

from exchange.errors import MalformedData
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.schema import Component, Role, Schema

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t", "|")
LABEL_SEPARATOR = ": "
#: Longest header line we accept (a header of a few hundred columns is a few KB).
MAX_HEADER = 1 << 20

#: The CSV 2.0 ACTION cell → action ("" = the dataset's action).
ACTION_CELLS: Mapping[str, Action | None] = {
    "": None,
    "A": Action.APPEND,
    "M": Action.APPEND,
    "R": Action.REPLACE,
    "D": Action.DELETE,
    "I": Action.INFORMATION,
}

#: How many distinct attribute combinations the reader keeps shared mappings for.
SHARED_ATTRIBUTE_SETS = 4096
#: Bytes decoded at a time (see :func:`decoded_lines`).
BLOCK = 256 * 1024
#: ``tuple.__new__`` skips NamedTuple's Python-level ``__new__`` (a third of the per-row cost).
_new_observation: Callable[[type[Observation], tuple[Any, ...]], Observation] = tuple.__new__


def where(name: str, row: int) -> str:
    return f"{name}: row {row}"


def strip_label(text: str) -> str:
    """``CODE: Name`` → ``CODE``; text without a label is returned unchanged."""
    cut = text.find(LABEL_SEPARATOR)
    return text[:cut] if cut >= 0 else text


# -- reading -----------------------------------------------------------------------------------
def first_cell_delimiter(header: str, first_column: str) -> str | None:
    """The delimiter right after ``first_column`` (possibly quoted or labelled), if any."""
    text = header.lstrip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            return None
        cell, rest = text[1:end], text[end + 1 :]
    else:
        match = re.match(r"[^,;\t|]*", text)
        cell = match.group(0) if match else ""
        rest = text[len(cell) :]
    if strip_label(cell).strip() != first_column or not rest:
        return None
    return rest[0] if rest[0] in DELIMITERS else None


def sniff_header(head: bytes, first_column: str, second_column: str | None = None) -> bool:
    """Whether ``head`` starts with an SDMX-CSV header whose first column is ``first_column``."""
    if head.startswith(BOM):
        head = head[len(BOM) :]
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    delimiter = first_cell_delimiter(line, first_column)
    if delimiter is None:
        return False
    if second_column is None:
        return True
    cells = next(csv.reader([line], delimiter=delimiter))
    return len(cells) > 1 and strip_label(cells[1]).strip() == second_column


@dataclass
class CsvInput:
    """An opened SDMX-CSV file: its header cells (labels cut) and its remaining rows."""

    header: list[str]
    labelled: bool
    delimiter: str
    rows: Iterator[list[str]]
    reader: Any  # the csv reader, for line_num
    name: str


def open_csv(source: BinaryIO, *, name: str, first_column: str, kind: str) -> CsvInput:
    """Read the header of an SDMX-CSV file whose first column must be ``first_column``."""
    raw = source.readline(MAX_HEADER)
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedData(
            f"not UTF-8 text (byte {exc.start}): not an {kind} file", where=where(name, 1)
        ) from None
    delimiter = first_cell_delimiter(line, first_column)
    if delimiter is None:
        shown = line[:80].rstrip("\r\n")
        raise MalformedData(
            f"not an {kind} file: the header row must start with {first_column} followed by"
            f" ',' or ';' (found {shown!r})",
            where=where(name, 1),
        )
    lines = chain((line,), decoded_lines(source))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        cells = next(reader)
    except csv.Error as exc:
        raise MalformedData(f"unreadable header row: {exc}", where=where(name, 1)) from None
    labelled = any(LABEL_SEPARATOR in c for c in cells)
    header = [strip_label(c).strip() for c in cells] if labelled else [c.strip() for c in cells]
    seen: set[str] = set()
    for cell in header:
        if cell in seen:
            raise MalformedData(f"column {cell} appears twice in the header", where=where(name, 1))
        seen.add(cell)
    return CsvInput(header, labelled, delimiter, reader, reader, name)


def decoded_lines(source: BinaryIO) -> Iterator[str]:
    """The lines of ``source`` as text, ends kept (what :func:`csv.reader` needs).

    Decoded a block at a time, cut after its last ``\\n`` (never inside a UTF-8 sequence), and
    split by a ``StringIO``: 15 % faster than iterating a binary file and decoding each line,
    the half of reading SDMX-CSV that the csv module does. A block that is not valid UTF-8 is
    decoded again line by line, so the error still comes with the row it is in.
    """
    rest = b""
    while block := source.read(BLOCK):
        if rest:
            block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield from _block_lines(block[:cut])
    if rest:
        yield rest.decode()


def _block_lines(block: bytes) -> Iterator[str]:
    try:
        text = block.decode()
    except UnicodeDecodeError:
        return map(bytes.decode, io.BytesIO(block))
    return io.StringIO(text, newline="\n")


def tuple_getter(indexes: Sequence[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """A fast ``row → tuple(row[i] for i in indexes)`` (itemgetter, always a tuple)."""
    if len(indexes) == 0:
        return lambda row: ()
    if len(indexes) == 1:
        (only,) = indexes
        return lambda row: (row[only],)
    return itemgetter(*indexes)


@dataclass(frozen=True)
class Layout:
    """Where each component is in a row: column indexes computed once from the header."""

    width: int
    key: Callable[[Sequence[str]], tuple[str, ...]]
    time: int | None
    value: int | None
    attribute_ids: tuple[str, ...]
    attribute_values: Callable[[Sequence[str]], tuple[str, ...]]
    coded: tuple[int, ...]  # columns whose cells may carry "CODE: Name" labels
    structure: int  # the DATAFLOW / STRUCTURE_ID column
    action: int | None  # the CSV 2.0 ACTION column


def _coded(component: Component) -> bool:
    return (
        component.role is Role.DIMENSION
        or component.codes is not None
        or component.codelist is not None
    )


def plan_layout(
    schema: Schema,
    header: list[str],
    *,
    fixed: Sequence[str],
    optional_fixed: Sequence[str] = (),
    name: str,
    warnings: list[str],
) -> Layout:
    """Map the header onto the schema; missing required columns are an error, extras a warning."""
    position = {cell: i for i, cell in enumerate(header)}
    required = [*schema.dimensions]
    if schema.time_dimension is not None:
        required.append(schema.time_dimension)
    required.append(schema.measure)
    missing = [c.id for c in required if c.id not in position]
    missing += [f for f in fixed if f not in position]
    if missing:
        expected = ",".join([*fixed, *(c.id for c in schema.components)])
        plural = "s" if len(missing) > 1 else ""
        raise MalformedData(
            f"missing column{plural} {', '.join(missing)} for"
            f" {schema.dataflow or schema.dsd}; expected columns: {expected}",
            where=where(name, 1),
        )
    known = {*fixed, *optional_fixed, *(c.id for c in schema.components)}
    extra = [cell for cell in header if cell not in known]
    if extra:
        warnings.append(
            f"{name}: row 1: ignored column{'s' if len(extra) > 1 else ''} not in"
            f" {schema.dataflow or schema.dsd}: {', '.join(extra)}"
        )
    attributes = [a for a in schema.attributes if a.id in position]
    coded = [position[c.id] for c in schema.components if c.id in position and _coded(c)]
    return Layout(
        width=len(header),
        key=tuple_getter([position[d.id] for d in schema.dimensions]),
        time=position[schema.time_dimension.id] if schema.time_dimension else None,
        value=position[schema.measure.id],
        attribute_ids=tuple(a.id for a in attributes),
        attribute_values=tuple_getter([position[a.id] for a in attributes]),
        coded=tuple(coded),
        structure=position[fixed[-1]],
        action=position.get("ACTION"),
    )


def read_first_row(data: CsvInput) -> list[str] | None:
    """The first non-blank data row (to learn the structure it names), or None."""
    try:
        for row in data.rows:
            if row:
                return row
    except UnicodeDecodeError as exc:
        raise MalformedData(
            f"invalid UTF-8 (byte {exc.start} of the line): {exc.reason}",
            where=where(data.name, data.reader.line_num + 1),
        ) from None
    except csv.Error as exc:
        raise MalformedData(str(exc), where=where(data.name, data.reader.line_num)) from None
    return None


def observations(  # noqa: C901 - the per-row path is inlined on purpose (speed)
    data: CsvInput,
    first: list[str],
    layout: Layout,
    structure_cell: str,
    info: MessageInfo,
) -> Iterator[Observation]:
    """The observations of ``first`` and every following row, lazily.

    Per row, one ``itemgetter`` call takes the structure, period and value cells together, and
    the attribute cells are compared with the previous row's before the shared-mapping lookup
    (rows of a series mostly repeat them; a tuple compare is cheaper than hashing seven new
    strings): about a tenth of this loop's cost, which is half of reading SDMX-CSV.
    """
    name = data.name
    width, key, time, value = layout.width, layout.key, layout.time, layout.value
    attribute_ids, attribute_values = layout.attribute_ids, layout.attribute_values
    structure, action_column = layout.structure, layout.action
    heads = _head_getter(structure, time, value)
    coded = (*layout.coded, structure) if data.labelled else ()
    row_number = data.reader.line_num  # the first data row's number (header = row 1)
    action = None
    # Rows of a message repeat a few attribute combinations (units, source, notes): one shared,
    # read-only mapping per combination saves building a dict per observation.
    shared: dict[tuple[str, ...], Mapping[str, str]] = {}
    last_values: tuple[str, ...] | None = None
    attributes: Mapping[str, str] = {}
    new = _new_observation
    try:
        for row in chain((first,), data.rows):
            if len(row) != width:
                if not row:  # a blank line
                    row_number += 1
                    continue
                raise MalformedData(
                    f"{len(row)} cells where the header has {width}",
                    where=where(name, row_number),
                )
            if coded:
                strip_labels(row, coded)
            cell, period, measure = heads(row)
            if cell != structure_cell:
                raise MalformedData(
                    f"this row is for {cell!r}, the message for {structure_cell!r};"
                    " one structure per message is supported",
                    where=where(name, row_number),
                )
            if action_column is not None:
                action = row_action(row[action_column], where(name, row_number))
            values = attribute_values(row)
            if values != last_values:
                last_values = values
                found = shared.get(values)
                if found is None:
                    if len(shared) >= SHARED_ATTRIBUTE_SETS:
                        shared.clear()
                    found = shared[values] = MappingProxyType(
                        dict(compress(zip(attribute_ids, values, strict=True), values))
                    )
                attributes = found
            yield new(
                Observation,
                (
                    key(row),
                    period or None,
                    measure or None,
                    attributes,
                    action,
                    f"row {row_number}",
                ),
            )
            row_number += 1
    except UnicodeDecodeError as exc:
        raise MalformedData(
            f"invalid UTF-8 (byte {exc.start} of the line): {exc.reason}",
            where=where(name, row_number),
        ) from None
    except csv.Error as exc:
        raise MalformedData(str(exc), where=where(name, row_number)) from None


def _head_getter(
    structure: int, time: int | None, value: int | None
) -> Callable[[Sequence[str]], tuple[str, str, str]]:
    """``row → (structure cell, period cell, value cell)``, "" for a column the layout lacks."""
    if time is not None and value is not None:
        return itemgetter(structure, time, value)
    return lambda row: (
        row[structure],
        row[time] if time is not None else "",
        row[value] if value is not None else "",
    )


def strip_labels(row: list[str], columns: Iterable[int]) -> None:
    for i in columns:
        row[i] = strip_label(row[i])


def row_action(cell: str, at: str) -> Action | None:
    """The action of a CSV 2.0 row (None for an empty cell: the message's action)."""
    try:
        return ACTION_CELLS[cell.strip().upper()]
    except KeyError:
        raise MalformedData(f"unknown ACTION {cell!r}; expected A, R, D or I", where=at) from None
