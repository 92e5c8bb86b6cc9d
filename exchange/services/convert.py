"""Open any data file (compressed or not, any format) and convert it to any other format.

The pieces ``ilms convert``, ``ilms validate`` and the REST service share: decompress, sniff the
format from content (falling back to the file extension), resolve the structure the message names
against a structure store, and stream observations from a reader into a writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, BinaryIO

from exchange.errors import InvalidRequest, MalformedData, NotFound
from exchange.formats import registry
from exchange.formats.compression import open_decompressed
from exchange.formats.ml21_common import other_message
from exchange.formats.registry import DataFormat, Resolver
from exchange.model.catalog import SchemaSource
from exchange.model.records import DataStream, Observation
from exchange.model.schema import Schema

SNIFF_BYTES = 4096


def resolver_for(store: SchemaSource, dataflow: str | None = None) -> Resolver:
    """Map the structure a message names to a schema; ``dataflow`` when it names none."""

    def resolve(reference: str | None) -> Schema:
        if reference:
            try:
                return store.schema_for(reference)
            except NotFound:
                if dataflow is None:
                    raise
                return store.schema_for(dataflow)
        if dataflow is None:
            raise InvalidRequest("the message names no structure: say which dataflow (--dataflow)")
        return store.schema_for(dataflow)

    return resolve


#: what SDMX-ML messages that are not data hold (see ``detect_format``)
_HOLDS = {
    "Structure": "structures (data structure definitions, codelists, dataflows)",
    "Error": "an error a server answered",
}


def detect_format(head: bytes, name: str, explicit: str | None = None) -> DataFormat:
    """The explicit format, else the one the content looks like, else the extension's."""
    if explicit:
        return registry.by_name(explicit)
    found = registry.sniff(head)
    if found is not None:
        return found
    other = other_message(head)
    if other is not None:
        holds = _HOLDS.get(other, "no observations")
        raise MalformedData(
            f"this is an SDMX-ML {other} message: it holds {holds}, not data. Send a data message"
            " (GenericData, StructureSpecificData, SDMX-CSV, SDMX-JSON or the Excel template);"
            " structures go with --structure",
            where=name,
        )
    suffix = PurePath(name).suffix.lower()
    for fmt in registry.FORMATS:
        if suffix in fmt.extensions:
            return fmt
    raise MalformedData(
        "not a data format we know (SDMX-ML, SDMX-CSV, SDMX-JSON or xlsx)", where=name
    )


def open_data(
    source: BinaryIO, name: str, resolve: Resolver, *, fmt: str | None = None
) -> tuple[DataFormat, DataStream]:
    """Decompress, recognise and start reading a data message."""
    stream, where = open_decompressed(source, name)
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES] if hasattr(stream, "peek") else b""
    data_format = detect_format(head, where, fmt)
    return data_format, data_format.reader(stream, resolve, name=where)


def output_format(name: str | None, to: str | None) -> DataFormat:
    """``--to`` if given, else the output file's extension (first format registered for it)."""
    if to:
        return registry.by_name(to)
    suffix = PurePath(name or "").suffix.lower()
    for fmt in registry.FORMATS:
        if suffix in fmt.extensions:
            return fmt
    raise InvalidRequest(f"say which format to write (--to); {name or 'stdout'} does not tell")


@dataclass
class ConvertResult:
    observations: int
    input_format: str
    output_format: str
    warnings: list[str] = field(default_factory=list)


def _counting(
    observations: Iterator[Observation], progress: Callable[[int], None] | None, every: int = 10_000
) -> Iterator[Observation]:
    count = 0
    for count, observation in enumerate(observations, 1):
        if progress is not None and count % every == 0:
            progress(count)
        yield observation
    if progress is not None:
        progress(count)


def convert(
    source: BinaryIO,
    name: str,
    out: BinaryIO,
    to: DataFormat,
    resolve: Resolver,
    *,
    from_format: str | None = None,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> ConvertResult:
    """Stream ``source`` (any format) into ``out`` as ``to``."""
    data_format, stream = open_data(source, name, resolve, fmt=from_format)
    written = to.writer(stream.info, _counting(stream.observations, progress), out, **options)
    return ConvertResult(written, data_format.name, to.name, list(stream.info.warnings))
