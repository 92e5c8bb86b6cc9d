"""Writing SDMX-CSV 1.0 and 2.0: one text line per observation, assembled from cached parts.

Why not ``csv.writer`` over a list of cells per observation: a full-dataflow harvest spent 3.5 µs
of its 5 µs per observation building an 18-cell list and having the csv module scan every cell.
Yet observations come grouped by series (the record stream's contract) and share a few attribute
mappings (the store and the readers hand out one mapping object per distinct set), so a line is

    head + key part + period cell + delimiter + value cell + attribute part + line end

where the head (``DATAFLOW``/``STRUCTURE…`` cells, and the CSV 2.0 action), the key part (labels
applied, quoted as needed) and the attribute part (dataset attributes merged, labels applied)
are built once per series, action or attribute mapping. Per observation there is only the period
and value cells: one regular-expression check for a character that needs quoting, then string
concatenation. Lines are encoded and written in batches, not through a ``TextIOWrapper``.

Quoting is exactly the csv module's ``QUOTE_MINIMAL``: which characters force quotes is asked of
the csv module itself (it depends on the delimiter, the line terminator and the Python version).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, BinaryIO

from exchange.errors import Unprocessable
from exchange.formats.csv_common import LABEL_SEPARATOR, SHARED_ATTRIBUTE_SETS
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.schema import Component, Schema

__all__ = [
    "LABEL_MODES",
    "TIME_FORMATS",
    "LineMaker",
    "Quoter",
    "component_label",
    "normalize_period",
    "structure_label",
]

LABEL_MODES = ("id", "both", "name")
TIME_FORMATS = ("original", "normalized")
#: Lines joined, encoded and written at a time: large enough that writes are few, small enough
#: that the batch (~150 bytes a line) stays far below a streamed response's chunk.
BATCH = 512
#: Characters that may need quoting (what the csv module decides for each is asked of it).
_CANDIDATES = '"\r\n'


def check_options(labels: str, time_format: str) -> None:
    if labels not in LABEL_MODES:
        raise Unprocessable(f"labels must be one of {', '.join(LABEL_MODES)}, not {labels!r}")
    if time_format not in TIME_FORMATS:
        raise Unprocessable(
            f"time_format must be one of {', '.join(TIME_FORMATS)}, not {time_format!r}"
        )


def component_label(component: Component, labels: str) -> str:
    """A header cell: ``ID``, ``ID: Name`` or ``Name`` (English name, else any, else the id)."""
    if labels == "id":
        return component.id
    label = component.names.get("en") or next(iter(component.names.values()), "")
    if not label:
        return component.id
    return f"{component.id}{LABEL_SEPARATOR}{label}" if labels == "both" else label


def structure_label(schema: Schema, labels: str) -> str:
    ref = str(schema.dataflow or schema.dsd)
    if labels == "both" and schema.names:
        return f"{ref}{LABEL_SEPARATOR}{schema.name}"
    return ref


_PERIOD = re.compile(r"^(\d{4})-([ASQTMWD])(\d{1,3})$")
_FIRST_MONTH = {"S": 6, "Q": 3, "T": 4, "M": 1}


def normalize_period(period: str) -> str:
    """SDMX reporting periods as ISO 8601 (``2023-Q2`` → ``2023-04``); others unchanged."""
    match = _PERIOD.match(period)
    if not match:
        return period
    year, kind, number = match[1], match[2], int(match[3])
    if kind == "A":
        return year
    if kind in _FIRST_MONTH:
        return f"{year}-{(number - 1) * _FIRST_MONTH[kind] + 1:02d}"
    if kind == "W":
        return dt.date.fromisocalendar(int(year), number, 1).isoformat()
    return (dt.date(int(year), 1, 1) + dt.timedelta(days=number - 1)).isoformat()


class Quoter:
    """``cell → text`` exactly as ``csv.writer`` (``QUOTE_MINIMAL``) writes it in this dialect."""

    def __init__(self, delimiter: str, line_terminator: str) -> None:
        special = "".join(
            sorted(
                c
                for c in {delimiter, *_CANDIDATES, *line_terminator}
                if _quoted(c, delimiter, line_terminator)
            )
        )
        #: Finds a character that forces quotes (None: the cell is written as it is).
        self.search = re.compile("[" + re.escape(special) + "]").search

    def __call__(self, cell: str) -> str:
        if self.search(cell) is None:
            return cell
        return '"' + cell.replace('"', '""') + '"'


def _quoted(char: str, delimiter: str, line_terminator: str) -> bool:
    """Whether the csv module quotes a cell holding ``char``."""
    probe = io.StringIO()
    csv.writer(probe, delimiter=delimiter, lineterminator=line_terminator).writerow(
        ["x" + char, "y"]
    )
    return probe.getvalue().startswith('"')


class LineMaker:
    """The lines of observations, in ``schema.components`` order after the fixed columns.

    ``head`` is the text of the fixed cells (``DATAFLOW``; CSV 2.0's structure and action
    cells), each already quoted, delimiter included; it may depend on the observation's action.
    """

    def __init__(
        self,
        info: MessageInfo,
        *,
        labels: str = "id",
        time_format: str = "original",
        names: Mapping[str, Mapping[str, str]] | None = None,
        delimiter: str = ",",
        line_terminator: str = "\r\n",
    ) -> None:
        check_options(labels, time_format)
        schema = info.schema
        self.schema = schema
        self.labels = labels
        self.delimiter = delimiter
        self.terminator = line_terminator
        self.quote = Quoter(delimiter, line_terminator)
        self.has_time = schema.time_dimension is not None
        self.normalize = time_format == "normalized"
        self.dataset_attributes = dict(info.dataset_attributes)
        self.attribute_ids = tuple(a.id for a in schema.attributes)
        names = names if labels != "id" and names else {}
        self._names = names
        self._key_names = [names.get(d.id) for d in schema.dimensions]
        time = schema.time_dimension
        self._time_names = names.get(time.id) if time is not None else None
        self._value_names = names.get(schema.measure.id)

    @classmethod
    def from_options(
        cls, info: MessageInfo, options: Mapping[str, Any], line_terminator: str
    ) -> LineMaker:
        """A line maker from a writer's options; ``line_terminator`` is the version's default."""
        return cls(
            info,
            labels=options.get("labels", "id"),
            time_format=options.get("time_format", "original"),
            names=options.get("names"),
            delimiter=options.get("delimiter", ","),
            line_terminator=options.get("line_terminator", line_terminator),
        )

    def header(self) -> list[str]:
        return [component_label(c, self.labels) for c in self.schema.components]

    def cell(self, code: str, mapping: Mapping[str, str] | None) -> str:
        """One cell's text: labelled (``labels=both|name``) if a name is known, then quoted."""
        if mapping:
            label = mapping.get(code)
            if label:
                code = f"{code}{LABEL_SEPARATOR}{label}" if self.labels == "both" else label
        return self.quote(code)

    def key_part(self, key: tuple[str, ...]) -> str:
        d, cell, names = self.delimiter, self.cell, self._key_names
        return "".join(
            cell(code, names[i] if i < len(names) else None) + d for i, code in enumerate(key)
        )

    def attribute_part(self, attributes: Mapping[str, str]) -> str:
        if self.dataset_attributes:
            attributes = {**self.dataset_attributes, **attributes}
        d, cell, names = self.delimiter, self.cell, self._names
        parts = [d + cell(attributes.get(a, ""), names.get(a)) for a in self.attribute_ids]
        return "".join(parts) + self.terminator

    def time_cell(self, period: str | None) -> str:
        period = period or ""
        if self.normalize and period:
            period = normalize_period(period)
        return self.cell(period, self._time_names) + self.delimiter if self.has_time else ""

    def write(
        self,
        observations: Iterable[Observation],
        out: BinaryIO,
        head: Callable[[Observation], str],
    ) -> int:
        """Write one line per observation to ``out``, in batches; returns how many.

        ``head(observation)`` gives the fixed cells' text; it is asked once per action (the
        first observation with it) and may raise to refuse that action.
        """
        lines = self.lines(observations, head)
        count = 0
        while batch := list(islice(lines, BATCH)):
            count += len(batch)
            out.write("".join(batch).encode())
        return count

    def lines(
        self, observations: Iterable[Observation], head: Callable[[Observation], str]
    ) -> Iterator[str]:
        heads: dict[Action | None, str] = {}
        parts: dict[int, tuple[Mapping[str, str], str]] = {}
        simple = self.has_time and not (self.normalize or self._time_names or self._value_names)
        search, d = self.quote.search, self.delimiter
        last_key: tuple[str, ...] | None = None
        prefix = ""
        for obs in observations:
            key, period, value, attributes, action, _ = obs
            if key is not last_key and key != last_key:
                last_key, prefix = key, self.key_part(key)
            found = parts.get(id(attributes))
            if found is None:
                if len(parts) >= SHARED_ATTRIBUTE_SETS:
                    parts.clear()
                # the mapping is kept with its text, so its id cannot be reused meanwhile
                found = parts[id(attributes)] = (attributes, self.attribute_part(attributes))
            start = heads.get(action)
            if start is None:
                start = heads[action] = head(obs)
            time, measure = period or "", value or ""
            if simple and search(time + measure) is None:
                yield start + prefix + time + d + measure + found[1]
            else:
                middle = self.time_cell(time) + self.cell(measure, self._value_names)
                yield start + prefix + middle + found[1]

    def header_line(self, fixed: Iterable[str]) -> str:
        """The header row, as ``csv.writer`` writes it."""
        text = io.StringIO()
        writer = csv.writer(text, delimiter=self.delimiter, lineterminator=self.terminator)
        writer.writerow([*fixed, *self.header()])
        return text.getvalue()

    def fixed_cells(self, cells: Iterable[str]) -> str:
        """Fixed cells' text, quoted, each followed by the delimiter."""
        return "".join(self.quote(c) + self.delimiter for c in cells)
