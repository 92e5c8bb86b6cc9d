"""SDMX-CSV 1.0 data messages (sdmx-csv v1, as ILOSTAT serves them).

Layout: a header row ``DATAFLOW``, the dimensions, the time dimension, ``OBS_VALUE`` and the
attributes in the DSD's order, then one row per observation whose first cell is the dataflow
``AGENCY:ID(VERSION)``. ILOSTAT writes CRLF line ends and quotes only cells that need it; the
writer does the same by default, so its output is laid out byte for byte as ILOSTAT's.

Reading looks columns up by name (other tools put ``OBS_VALUE`` last), accepts ``;`` and a BOM,
and streams: the first data row is read to learn the dataflow, then rows are turned into
observations as they are pulled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO

from exchange.formats import csv_common as common
from exchange.formats.csv_write import LineMaker, structure_label
from exchange.formats.registry import Resolver
from exchange.model.records import DataStream, MessageInfo, Observation

KIND = "SDMX-CSV 1.0"
FIRST_COLUMN = "DATAFLOW"


def sniff(head: bytes) -> bool:
    """A header row that starts with ``DATAFLOW``."""
    return common.sniff_header(head, FIRST_COLUMN)


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Read the header and first row, resolve the dataflow, stream the observations."""
    data = common.open_csv(source, name=name, first_column=FIRST_COLUMN, kind=KIND)
    first = common.read_first_row(data)
    structure_cell = common.strip_label(first[0]) if first is not None else None
    schema = resolve(structure_cell)
    time = schema.time_dimension
    info = MessageInfo(schema=schema, dimension_at_observation=time.id if time else "AllDimensions")
    layout = common.plan_layout(
        schema, data.header, fixed=(FIRST_COLUMN,), name=name, warnings=info.warnings
    )
    if first is None or structure_cell is None:
        return DataStream(info, iter(()))
    return DataStream(info, common.observations(data, first, layout, structure_cell, info))


def write(
    info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
) -> int:
    """Write SDMX-CSV 1.0; returns the number of observations written.

    Options: ``labels`` ("id", "both", "name"), ``names`` (component id → code → label, for the
    value cells of ``both``/``name``), ``time_format`` ("original", "normalized"), ``delimiter``
    (","), ``line_terminator`` ("\\r\\n", as ILOSTAT). SDMX-CSV 1.0 has no action column:
    every observation is written, whatever its action.
    """
    maker = LineMaker.from_options(info, options, "\r\n")
    out.write(maker.header_line([FIRST_COLUMN]).encode())
    head = maker.fixed_cells([structure_label(info.schema, maker.labels)])
    return maker.write(observations, out, lambda _obs: head)
