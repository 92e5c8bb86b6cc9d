"""What SDMX-JSON 1.0 and 2.0 data messages share: sniffing and the registry's view of a version.

Three envelopes are accepted: the SDMX-JSON 1.0 of the official JSON schema (``meta`` +
``data.structure`` + ``data.dataSets``), the older layout that ECB, ILOSTAT and sdmx1 use and
sample 14 shows (``header`` + ``structure`` + ``dataSets`` at the top), and SDMX-JSON 2.0
(``meta`` + ``data.structures`` + ``data.dataSets``). Both reading and writing stream, so a
message of any size is handled in flat memory. The machinery is split by concern:

* :mod:`exchange.formats.json_events`: the ijson event stream and the first pass over the outline;
* :mod:`exchange.formats.json_plan`: the structure section turned into a reading plan;
* :mod:`exchange.formats.json_read`: the observations of the data sets and :func:`read` (the
  one-pass/two-pass choice is explained there);
* :mod:`exchange.formats.json_write`: :class:`Writer` and :func:`write` (the layout choices are
  explained there).

:class:`Version` binds sniffing, reading and writing for one version; :mod:`json10` and
:mod:`json20` expose it. Reading and writing never import this module, so it may import them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from exchange.formats.json_plan import text_of
from exchange.formats.json_read import Resolver, read
from exchange.formats.json_write import SCHEMA_URLS, number_literal, write
from exchange.model.records import DataStream, MessageInfo, Observation

_BOM = b"\xef\xbb\xbf"


# -- sniffing ----------------------------------------------------------------------------------
def _json_head(head: bytes) -> bytes | None:
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    head = head.lstrip()
    return head if head.startswith(b"{") else None


def sniff_version(head: bytes) -> str | None:
    """``"1.0"``/``"2.0"`` if ``head`` looks like an SDMX-JSON data message, else None."""
    text = _json_head(head)
    if text is None:
        return None
    if b'"structures"' in text or re.search(rb"schemas/2\.\d", text):
        return "2.0"
    if re.search(rb'"(header|dataSets|structure|meta)"\s*:', text):
        return "1.0"
    return None


# -- the registry's view ---------------------------------------------------------------------
@dataclass(frozen=True)
class Version:
    """An SDMX-JSON version as the registry sees a format module: ``sniff``, ``read``, ``write``."""

    version: str

    def sniff(self, head: bytes) -> bool:
        """A JSON object with this version's SDMX-JSON members (and none of the other's)."""
        return sniff_version(head) == self.version

    def read(self, source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
        """Resolve the structure the message names and stream its observations."""
        return read(source, resolve, name=name, version=self.version)

    def write(
        self, info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
    ) -> int:
        """Write this version; returns the number of observations written (options: module doc)."""
        return write(info, observations, out, version=self.version, options=options)


__all__ = [
    "SCHEMA_URLS",
    "Resolver",
    "Version",
    "number_literal",
    "read",
    "sniff_version",
    "text_of",
    "write",
]
