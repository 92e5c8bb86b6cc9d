"""Machinery shared by the SDMX-ML 2.1 and 3.0 data readers (generic, structure-specific).

Reading streams with :func:`lxml.etree.iterparse` over ``start`` and ``end`` events. The header
(``message:Header``) is read first: the message id, sender, prepared time and the one
``message:Structure`` that names the dataflow or DSD (a ``Ref`` or a ``URN``) and the
``dimensionAtObservation``. The reader then resolves the structure and reads on to the first
``DataSet`` (its ``action`` and dataset attributes), so :class:`MessageInfo` is complete before the
first observation is pulled. A DOCTYPE (the carrier of XXE and billion-laughs attacks) is refused
as soon as the root element starts; entities are never expanded nor DTDs loaded.

Elements are matched by local name, so an unqualified ``Header`` or a message in a wrong namespace
is still read, with a warning. Each reader clears every finished element and drops its preceding
siblings, so memory stays flat however large the message.

The header is read by :mod:`exchange.formats.ml21_header`; writing is in
:mod:`exchange.formats.ml21_write`.

The SDMX-ML 3.0 structure-specific module reuses all of it through a :class:`Dialect` (the 3.0
message, common and data namespaces; the structure named by URN text instead of a ``Ref``); every
parameter defaults to 2.1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from lxml import etree

from exchange.errors import MalformedData
from exchange.formats.sdmxml import COM, MES
from exchange.model.records import Action, MessageInfo, Observation

GEN = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
SS = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ALL_DIMENSIONS = "AllDimensions"
STRUCTURE_ID = "STR1"
MISSING_VALUES = frozenset({"NaN", ""})
_V30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/"
MES30 = _V30 + "message"
COM30 = _V30 + "common"
SS30 = _V30 + "data/structurespecific"


@dataclass(frozen=True)
class Dialect:
    """The namespaces of one SDMX-ML version's data messages."""

    version: str
    message: str
    common: str
    data: str  # the structure-specific data namespace (set attributes: action, structureRef)

    @property
    def label(self) -> str:
        return f"SDMX-ML {self.version}"


ML21 = Dialect("2.1", MES, COM, SS)
ML30 = Dialect("3.0", MES30, COM30, SS30)
#: iterparse with every protection on (the options the data path contract fixes).
_ITERPARSE_OPTIONS: dict[str, Any] = {
    "events": ("start", "end"),
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def localname(tag: Any) -> str:
    """``{ns}Obs`` → ``Obs``; comments and processing instructions → ``""``."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace_of(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def sniff_root(
    head: bytes, roots: tuple[str, ...], dialect: Dialect = ML21, *, strict: bool = False
) -> bool:
    """Whether the first bytes hold an XML root element with one of these local names.

    A root declared in the message namespace of another SDMX-ML version is not this dialect's
    (an SDMX-ML 3.0 ``StructureSpecificData`` is not a 2.1 one, nor the reverse); with ``strict``
    the root must be declared in this dialect's message namespace (as far as the first bytes show).
    """
    found = root_element(head)
    if found is None or found[0] not in roots:
        return False
    namespace = found[1]
    if strict:
        return namespace == dialect.message
    return namespace not in {d.message for d in (ML21, ML30) if d != dialect}


def root_element(head: bytes) -> tuple[str, str | None] | None:
    """The local name of the XML root element in the first bytes, and its namespace if its tag
    declares it there; None if no element shows."""
    text = head.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")
    match = re.search(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]", text)
    if match is None:
        return None
    prefix = f":{match.group(1)[:-1]}" if match.group(1) else ""
    tag = text[match.end() - 1 :].partition(">")[0]
    declared = re.search(rf"\sxmlns{re.escape(prefix)}\s*=\s*([\"'])(.*?)\1", tag)
    return match.group(2), declared.group(2) if declared is not None else None


def other_message(head: bytes) -> str | None:
    """The root's name when the first bytes are an SDMX-ML message we do not read as data (a
    ``Structure``, an ``Error``…: a data root would have been recognised first), else None."""
    found = root_element(head)
    if found is None or found[1] not in {ML21.message, ML30.message}:
        return None
    return found[0]


def iterparse(source: BinaryIO) -> Any:
    """A hardened iterparse over start and end events."""
    return etree.iterparse(source, **_ITERPARSE_OPTIONS)


def syntax_error(exc: etree.XMLSyntaxError, name: str, kind: str) -> MalformedData:
    """A MalformedData naming file, line and column for a parser error."""
    line, column = exc.position if exc.position else (exc.lineno or 0, 0)
    message = str(exc.msg or exc)
    if "Premature end" in message or "not properly terminated" in message or "EndTag" in message:
        message = f"truncated or not well-formed {kind} message: {message}"
    else:
        message = f"not well-formed XML ({kind} expected): {message}"
    return MalformedData(message, where=f"{name}:{line}:{column}")


def at(name: str, elem: Any) -> str:
    return f"{name}:{elem.sourceline or 0}:0"


class Kinds(dict[Any, str]):
    """Element tag → local name, computed once per tag: ``kinds[elem.tag]`` in a read loop."""

    def __missing__(self, tag: Any) -> str:
        kind = self[tag] = localname(tag)
        return kind


class KeyReader:
    """Reads series and observation keys, warning once (in the info) when one lacks dimensions.

    ``dims`` and ``time_id`` (``""`` without a time dimension) are the schema's, for the reader.
    """

    __slots__ = ("dims", "name", "time_id", "warned", "warnings")

    def __init__(self, info: MessageInfo, name: str) -> None:
        time = info.schema.time_dimension
        self.dims = info.schema.dimension_ids
        self.time_id = time.id if time is not None else ""
        self.name = name
        self.warnings = info.warnings
        self.warned = False

    def pop(self, values: dict[str, str], elem: Any) -> tuple[str, ...]:
        """The key, its dimension values popped out of ``values``."""
        key = tuple(values.pop(d, "") for d in self.dims)
        if not self.warned and "" in key:
            self._warn(key, elem)
        return key

    def get(self, values: Mapping[str, str], elem: Any) -> tuple[str, ...]:
        """The key, ``values`` left as they are."""
        key = tuple(values.get(d, "") for d in self.dims)
        if not self.warned and "" in key:
            self._warn(key, elem)
        return key

    def _warn(self, key: tuple[str, ...], elem: Any) -> None:
        self.warned = True
        absent = ", ".join(d for d, v in zip(self.dims, key, strict=True) if not v)
        self.warnings.append(
            f"{at(self.name, elem)}: {localname(elem.tag)} lacks dimension"
            f" {absent} (further such warnings are not repeated)"
        )


def dataset_action(
    elem: Any, info: MessageInfo, name: str, namespace: str | None = None
) -> Action | None:
    """A further ``DataSet``'s action (``namespace``-qualified first); None if the message's."""
    text = elem.get(f"{{{namespace}}}action") if namespace else None
    text = text or elem.get("action")
    try:
        parsed = Action.parse(text)
    except ValueError:
        raise MalformedData(f"unknown dataset action {text!r}", where=at(name, elem)) from None
    return None if parsed is info.action else parsed


new_observation: Callable[[type[Observation], tuple[Any, ...]], Observation] = tuple.__new__
_NAN = frozenset({"NaN"})


def observation(
    key: tuple[str, ...],
    period: str | None,
    value: str | None,
    attributes: Mapping[str, str],
    action: Action | None,
    elem: Any,
    missing: frozenset[str] = _NAN,
) -> Observation:
    """The observation read from ``elem`` (a value in ``missing`` is no value)."""
    return new_observation(
        Observation,
        (
            key,
            period,
            None if value in missing else value,
            attributes,
            action,
            f"line {elem.sourceline}",
        ),
    )


def release(elem: Any) -> None:
    """Clear a finished element and drop its already finished preceding siblings."""
    elem.clear(keep_tail=False)
    previous = elem.getprevious()
    if previous is not None:
        parent = elem.getparent()
        while elem.getprevious() is not None:
            del parent[0]


class Groups:
    """Group attribute values seen so far, keyed by their partial key; applied to series."""

    def __init__(self) -> None:
        self.groups: list[tuple[tuple[tuple[str, str], ...], dict[str, str]]] = []

    def add(self, key: dict[str, str], attributes: dict[str, str]) -> None:
        partial = tuple(key.items())
        for i, (known, values) in enumerate(self.groups):
            if known == partial:
                self.groups[i] = (known, {**values, **attributes})
                return
        self.groups.append((partial, attributes))

    def __bool__(self) -> bool:
        return bool(self.groups)

    def over(
        self,
        base: dict[str, str],
        dims: tuple[str, ...],
        key: tuple[str, ...],
        own: dict[str, str],
    ) -> dict[str, str]:
        """``base`` + the attributes of the groups ``key`` matches + ``own`` (``own`` if alone)."""
        if self.groups:
            base = {**base, **self.matching(dict(zip(dims, key, strict=True)))}
        return {**base, **own} if base else own

    def matching(self, key: dict[str, str]) -> dict[str, str]:
        """The attributes of every group whose partial key the series key matches."""
        found: dict[str, str] = {}
        for partial, values in self.groups:
            if all(key.get(d) == v for d, v in partial):
                found.update(values)
        return found


#: Distinct series attribute sets a message keeps shared (more: the cache starts again).
SHARED_SERIES_SETS = 1024
_Items = tuple[tuple[str, str], ...]


class SharedAttributes:
    """Equal attribute mappings as one object across a whole message.

    Series of a message repeat a few attribute sets (unit, source, notes), and their observations
    a few own values on top. Handing out one mapping per distinct set — not one per series —
    is what lets validation prove a mapping clean once, by identity, for the whole message
    (per series, every series re-ran the exact checks: validation 3.5x slower than reading),
    and saves copying. Consumers never mutate observation attributes.
    """

    def __init__(self) -> None:
        self._series: dict[_Items, tuple[dict[str, str], dict[_Items, dict[str, str]]]] = {}
        self._merged: dict[_Items, dict[str, str]] = {}
        self._base: dict[str, str] = {}

    def series(self, base: dict[str, str]) -> dict[str, str]:
        """The shared mapping equal to a series' ``base`` attributes; observations follow it."""
        items = tuple(base.items())
        found = self._series.get(items)
        if found is None:
            if len(self._series) >= SHARED_SERIES_SETS:
                self._series.clear()
            found = self._series[items] = (base, {})
        self._base, self._merged = found
        return self._base

    def observation(self, own: dict[str, str]) -> dict[str, str]:
        """The shared mapping of the current series' attributes with an observation's own."""
        if not own:
            return self._base
        items = tuple(own.items())
        found = self._merged.get(items)
        if found is None:
            found = self._merged[items] = {**self._base, **own}
        return found
