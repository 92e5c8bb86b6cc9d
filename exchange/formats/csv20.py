"""SDMX-CSV 2.0 data messages (aligned with SDMX 3.0).

Layout: ``STRUCTURE`` (``dataflow``, ``datastructure`` or ``dataprovision``), ``STRUCTURE_ID``
(``AGENCY:ID(VERSION)``), an optional ``ACTION`` column (``A``/``R``/``D``/``I`` per row), then the
components in the DSD's order. The reader hands the resolver the structure as a URN (so that a
``datastructure`` reference is not taken for a dataflow), gives every observation the action of
its row (None for an empty cell) and takes the first row's as the message's action. Columns
``SERIES_KEY`` and ``OBS_KEY`` (the ``keys`` option of SDMX-REST) are accepted and ignored.

Without an ``ACTION`` column the message's action is Append (SDMX 2.1 semantics, what our writer
omits the column for); pysdmx reads such files as Information.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any, BinaryIO

from exchange.errors import MalformedData, Unprocessable
from exchange.formats import csv_common as common
from exchange.formats.csv_write import LineMaker, structure_label
from exchange.formats.registry import Resolver
from exchange.model.records import Action, DataStream, MessageInfo, Observation
from exchange.model.refs import Kind

KIND = "SDMX-CSV 2.0"
FIXED = ("STRUCTURE", "STRUCTURE_ID")
OPTIONAL = ("ACTION", "SERIES_KEY", "OBS_KEY")
STRUCTURE_KINDS = {
    "dataflow": Kind.DATAFLOW,
    "datastructure": Kind.DATA_STRUCTURE,
    "dataprovision": Kind.PROVISION_AGREEMENT,
}


def sniff(head: bytes) -> bool:
    """A header row that starts with ``STRUCTURE`` then ``STRUCTURE_ID``."""
    return common.sniff_header(head, FIXED[0], FIXED[1])


def structure_urn(kind_cell: str, ref: str, *, where: str) -> str:
    kind = STRUCTURE_KINDS.get(common.strip_label(kind_cell).strip().lower())
    if kind is None:
        raise MalformedData(
            f"STRUCTURE must be dataflow, datastructure or dataprovision, not {kind_cell!r}",
            where=where,
        )
    return kind.urn_prefix + ref


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Read the header and first row, resolve the structure, stream the observations."""
    data = common.open_csv(source, name=name, first_column=FIXED[0], kind=KIND)
    if len(data.header) < 2 or data.header[1] != FIXED[1]:
        raise MalformedData(
            f"not an {KIND} file: the second column must be {FIXED[1]}",
            where=common.where(name, 1),
        )
    first = common.read_first_row(data)
    if first is None:
        schema = resolve(None)
        info = MessageInfo(schema=schema)
        common.plan_layout(
            schema, data.header, fixed=FIXED, optional_fixed=OPTIONAL, name=name,
            warnings=info.warnings,
        )  # fmt: skip
        return DataStream(info, iter(()))
    row = common.where(name, data.reader.line_num)
    if len(first) < 2:
        raise MalformedData(
            f"{len(first)} cells where the header has {len(data.header)}", where=row
        )
    structure_cell = common.strip_label(first[1])
    schema = resolve(structure_urn(first[0], structure_cell, where=row))
    time = schema.time_dimension
    info = MessageInfo(schema=schema, dimension_at_observation=time.id if time else "AllDimensions")
    layout = common.plan_layout(
        schema, data.header, fixed=FIXED, optional_fixed=OPTIONAL, name=name,
        warnings=info.warnings,
    )  # fmt: skip
    if layout.action is not None and layout.action < len(first):
        cell = first[layout.action].strip().upper()
        if cell not in common.ACTION_CELLS:
            raise MalformedData(f"unknown ACTION {cell!r}; expected A, R, D or I", where=row)
        info.action = common.ACTION_CELLS[cell] or Action.APPEND
    return DataStream(info, common.observations(data, first, layout, structure_cell, info))


#: How many observations the writer looks at to decide whether to write the ACTION column.
LOOKAHEAD = 1000


def _peek(observations: Iterable[Observation]) -> tuple[list[Observation], Iterator[Observation]]:
    it = iter(observations)
    return list(islice(it, LOOKAHEAD)), it


def write(
    info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
) -> int:
    """Write SDMX-CSV 2.0; returns the number of observations written.

    Options as for SDMX-CSV 1.0 (``labels``, ``names``, ``time_format``, ``delimiter``) plus
    ``line_terminator`` ("\\n") and ``action_column`` (default: written when the message's action
    is not Append or one of the first 1,000 observations has an action other than it; a later
    one with an action of its own then needs ``action_column=True``, else ``Unprocessable``).
    """
    maker = LineMaker.from_options(info, options, "\n")
    schema = info.schema
    kind = "dataflow" if schema.dataflow is not None else "datastructure"
    fixed = [kind, structure_label(schema, maker.labels)]
    head, rest = _peek(observations)
    with_action: bool | None = options.get("action_column")
    if with_action is None:
        with_action = info.action is not Action.APPEND or any(
            o.action is not None and o.action is not info.action for o in head
        )
    out.write(maker.header_line([*FIXED, *(["ACTION"] if with_action else [])]).encode())
    plain = maker.fixed_cells(fixed)

    def lettered(obs: Observation) -> str:
        return maker.fixed_cells([*fixed, (obs.action or info.action).letter])

    def unlettered(obs: Observation) -> str:
        if obs.action is not None and obs.action is not info.action:
            raise Unprocessable(
                f"observation {obs.key} {obs.period} has action {obs.action.value} but the"
                " ACTION column was not written; pass action_column=True"
            )
        return plain

    return maker.write(chain(head, rest), out, lettered if with_action else unlettered)
