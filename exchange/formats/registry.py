"""The one table of data formats: media type → reader, writer, sniffing.

Adding a format is one module plus one row here; callers (convert, validate, the REST service's
content negotiation) look formats up by name, media type, file extension or content, never with
``if/elif`` chains of their own. Modules are imported on first use, so a CLI call that reads CSV
does not pay for the Excel machinery.

Reader contract: ``read(source: BinaryIO, resolve: Resolver, *, name: str) -> DataStream`` where
``resolve`` maps the structure reference the message names (``ILO:DF_X(1.0)``, a URN, or ``None``
when it names none) to a resolved :class:`~exchange.model.schema.Schema`. Readers stream.
Writer contract: ``write(info: MessageInfo, observations: Iterable[Observation], out: BinaryIO,
**options) -> int`` (observations written).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from exchange.errors import NotAcceptable
from exchange.model.records import DataStream, MessageInfo, Observation
from exchange.model.schema import Schema

Resolver = Callable[[str | None], Schema]


class Reader(Protocol):
    def __call__(self, source: BinaryIO, resolve: Resolver, *, name: str = ...) -> DataStream: ...


class Writer(Protocol):
    def __call__(
        self, info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
    ) -> int: ...


@dataclass(frozen=True)
class DataFormat:
    name: str
    media_type: str
    extensions: tuple[str, ...]
    module: str
    aliases: tuple[str, ...] = ()

    def _function(self, kind: str) -> Any:
        return getattr(importlib.import_module(self.module), kind)

    @property
    def reader(self) -> Reader:
        return self._function("read")  # type: ignore[no-any-return]

    @property
    def writer(self) -> Writer:
        return self._function("write")  # type: ignore[no-any-return]

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a (decompressed) file look like this format."""
        return bool(self._function("sniff")(head))


_P = "exchange.formats."
FORMATS: tuple[DataFormat, ...] = (
    DataFormat(
        "sdmx-ml-2.1-generic",
        "application/vnd.sdmx.genericdata+xml;version=2.1",
        (".xml",),
        _P + "ml21_generic",
        ("genericdata", "generic"),
    ),
    DataFormat(
        "sdmx-ml-2.1-structurespecific",
        "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
        (".xml",),
        _P + "ml21_structure_specific",
        ("structurespecificdata", "structurespecific"),
    ),
    DataFormat(
        "sdmx-ml-3.0",
        "application/vnd.sdmx.data+xml;version=3.0.0",
        (".xml",),
        _P + "ml30_structure_specific",
        ("sdmx-ml-3",),
    ),
    DataFormat(
        "sdmx-csv-1.0",
        "application/vnd.sdmx.data+csv;version=1.0.0",
        (".csv",),
        _P + "csv10",
        ("csv", "sdmx-csv"),
    ),
    DataFormat(
        "sdmx-csv-2.0",
        "application/vnd.sdmx.data+csv;version=2.0.0",
        (".csv",),
        _P + "csv20",
        ("csv2",),
    ),
    DataFormat(
        "sdmx-json-1.0",
        "application/vnd.sdmx.data+json;version=1.0.0",
        (".json",),
        _P + "json10",
        ("jsondata", "json"),
    ),
    DataFormat(
        "sdmx-json-2.0",
        "application/vnd.sdmx.data+json;version=2.0.0",
        (".json",),
        _P + "json20",
        ("json2",),
    ),
    DataFormat(
        "excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
        _P + "excel",
        ("xlsx",),
    ),
)


def by_name(name: str) -> DataFormat:
    """A format by its name, an alias (``csv``, ``genericdata``…) or its media type."""
    wanted = name.strip().lower()
    for fmt in FORMATS:
        if wanted in (fmt.name, fmt.media_type.lower(), *fmt.aliases):
            return fmt
    known = ", ".join(f.name for f in FORMATS)
    raise NotAcceptable(f"unknown data format {name!r}; known: {known}")


def sniff(head: bytes) -> DataFormat | None:
    """The format whose content test accepts these first bytes (order: most specific first)."""
    for fmt in FORMATS:
        try:
            if fmt.sniff(head):
                return fmt
        except ImportError:  # a format module not built yet
            continue
    return None
