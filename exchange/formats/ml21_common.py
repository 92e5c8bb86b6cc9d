"""Machinery shared by the SDMX-ML 2.1 data readers and writers (generic, structure-specific).

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

Writing uses :class:`lxml.etree.xmlfile`; the header is the same for both message types except
for the structure-specific ``namespace`` attribute.

The SDMX-ML 3.0 structure-specific module reuses all of it through a :class:`Dialect` (the 3.0
message, common and data namespaces; the structure named by URN text instead of a ``Ref``); every
parameter defaults to 2.1.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from lxml import etree

from exchange.errors import MalformedData
from exchange.formats.sdmxml import COM, MES
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.schema import Attachment, Component, Schema

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
    text = head.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")
    for match in re.finditer(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]", text):
        if match.group(2) not in roots:  # the first element is the root
            return False
        prefix = f":{match.group(1)[:-1]}" if match.group(1) else ""
        tag = text[match.end() - 1 :].partition(">")[0]
        declared = re.search(rf"\sxmlns{re.escape(prefix)}\s*=\s*([\"'])(.*?)\1", tag)
        namespace = declared.group(2) if declared is not None else None
        if strict:
            return namespace == dialect.message
        return namespace not in {d.message for d in (ML21, ML30) if d != dialect}
    return False


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


@dataclass
class Header:
    """What a data message's header says (before resolution)."""

    root: str
    message_id: str | None = None
    sender: str | None = None
    prepared: str | None = None
    structure_id: str | None = None
    dimension_at_observation: str | None = None
    namespace: str | None = None
    structure_ref: str | None = None
    action: str | None = None
    structures: int = 0
    warnings: list[str] = field(default_factory=list)


def _ref_text(ref: Any) -> str | None:
    agency: str | None = ref.get("agencyID")
    ident: str | None = ref.get("id")
    if not ident:
        return None
    version = ref.get("version")
    text = f"{agency}:{ident}" if agency else ident
    return f"{text}({version})" if version else text


def _structure_ref(structure: Any) -> str | None:
    """The reference text inside a ``message:Structure``: its ``Ref`` or its ``URN``.

    SDMX-ML 3.0 puts the URN as the text of ``common:StructureUsage`` (or ``Structure``) itself.
    """
    for usage in structure:
        for child in usage:
            local = localname(child.tag)
            if local == "Ref":
                return _ref_text(child)
            if local == "URN" and child.text and child.text.strip():
                return str(child.text).strip()
        if isinstance(usage.tag, str) and usage.text and usage.text.strip():
            return str(usage.text).strip()
    return None


class MessageReader:
    """Reads a message up to its first data content; the reader then takes over the events."""

    def __init__(
        self,
        source: BinaryIO,
        *,
        name: str,
        roots: tuple[str, ...],
        kind: str,
        dialect: Dialect = ML21,
        refuse: tuple[Dialect, ...] = (),
    ) -> None:
        """``refuse``: other versions whose messages are an error (not read with a warning)."""
        self.name = name
        self.kind = kind
        self.dialect = dialect
        self.refuse = refuse
        self.events = iterparse(source)
        self.warnings: list[str] = []
        self.root: Any = None
        self.dataset: Any = None  # the first DataSet element (at its start event)
        self.pending: list[tuple[str, Any]] = []  # events read ahead, to be replayed
        self.header = self._read_header(roots)

    def error(self, exc: etree.XMLSyntaxError) -> MalformedData:
        return syntax_error(exc, self.name, self.kind)

    def _next(self) -> tuple[str, Any] | None:
        try:
            return next(self.events)  # type: ignore[no-any-return]
        except StopIteration:
            return None
        except etree.XMLSyntaxError as exc:
            raise self.error(exc) from None

    def _check_root(self, elem: Any, roots: tuple[str, ...]) -> str:
        docinfo = elem.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise MalformedData(
                "a DOCTYPE is not allowed in an SDMX message (entities are never expanded)",
                where=at(self.name, elem),
            )
        local = localname(elem.tag)
        for other in self.refuse:
            if namespace_of(elem.tag) == other.message:
                raise MalformedData(
                    f"an {other.label} message ({local} in {other.message}), not an {self.kind}"
                    f" message: read it as {other.label}",
                    where=at(self.name, elem),
                )
        if local not in roots:
            expected = " or ".join(f"message:{r}" for r in roots)
            raise MalformedData(
                f"not an {self.kind} message: expected a {expected} root element,"
                f" found {elem.tag!r}",
                where=at(self.name, elem),
            )
        dialect = self.dialect
        if namespace_of(elem.tag) != dialect.message:
            self.warnings.append(
                f"root element {local} is not in the {dialect.label} message namespace"
                f" {dialect.message} ({namespace_of(elem.tag) or 'no namespace'}); read anyway"
            )
        return local

    def _read_header(self, roots: tuple[str, ...]) -> Header:  # noqa: C901, PLR0912, PLR0915
        first = self._next()
        if first is None:
            raise MalformedData(f"empty input: not an {self.kind} message", where=self.name)
        self.root = first[1]
        header = Header(self._check_root(self.root, roots))
        in_header = False
        unqualified = False
        while True:
            item = self._next()
            if item is None:
                raise MalformedData(
                    f"truncated {self.kind} message: the document ended inside the header",
                    where=self.name,
                )
            event, elem = item
            tag = elem.tag
            if not isinstance(tag, str):
                continue
            local = localname(tag)
            parent = elem.getparent()
            if event == "start":
                if local == "Header" and parent is self.root:
                    in_header = True
                    if namespace_of(tag) != self.dialect.message:
                        unqualified = True
                elif local == "DataSet" and parent is self.root:
                    self.dataset = elem
                    break
                continue
            if elem is self.root:  # a message without any DataSet
                break
            if local == "Header" and parent is self.root:
                in_header = False
                continue
            if not in_header or parent is None:
                continue
            if localname(parent.tag) != "Header":
                continue
            if local == "ID":
                header.message_id = (elem.text or "").strip() or None
            elif local == "Prepared":
                header.prepared = (elem.text or "").strip() or None
            elif local == "Sender":
                header.sender = elem.get("id")
            elif local == "DataSetAction":
                header.action = (elem.text or "").strip() or None
            elif local == "Structure":
                header.structures += 1
                if header.structures == 1:
                    header.structure_id = elem.get("structureID")
                    header.dimension_at_observation = elem.get("dimensionAtObservation")
                    header.namespace = elem.get("namespace")
                    header.structure_ref = _structure_ref(elem)
        if unqualified:
            self.warnings.append(
                f"the message header is not in the {self.dialect.label} message namespace"
                f" {self.dialect.message}; read anyway"
            )
        if header.structures > 1:
            self.warnings.append(
                f"the header names {header.structures} structures; only the first"
                f" ({header.structure_ref}) is used"
            )
        return header

    def info(self, schema: Schema) -> MessageInfo:
        header = self.header
        time = schema.time_dimension
        dim_at_obs = header.dimension_at_observation
        if not dim_at_obs:
            dim_at_obs = time.id if time is not None else ALL_DIMENSIONS
        action_text = header.action
        if self.dataset is not None:
            action_text = (
                self.dataset.get("action")
                or self.dataset.get(f"{{{self.dialect.data}}}action")
                or action_text
            )
        try:
            action = Action.parse(action_text)
        except ValueError:
            raise MalformedData(
                f"unknown dataset action {action_text!r} (expected Append, Replace, Delete or"
                " Information)",
                where=at(self.name, self.dataset) if self.dataset is not None else self.name,
            ) from None
        return MessageInfo(
            schema=schema,
            action=action,
            message_id=header.message_id,
            sender=header.sender,
            prepared=header.prepared,
            dimension_at_observation=dim_at_obs,
            warnings=self.warnings,
        )

    def read_ahead(self, stop: frozenset[str]) -> list[tuple[str, Any]]:
        """Read events until the start of an element named in ``stop`` (kept for replay)."""
        taken: list[tuple[str, Any]] = []
        while True:
            item = self._next()
            if item is None:
                return taken
            taken.append(item)
            event, elem = item
            if event == "start" and localname(elem.tag) in stop:
                return taken
            if event == "end" and (elem is self.dataset or elem is self.root):
                return taken

    def replay(self) -> Iterator[tuple[str, Any]]:
        return itertools.chain(self.pending, self.events)


def check_dimension_at_observation(info: MessageInfo, name: str) -> None:
    dim = info.dimension_at_observation
    schema = info.schema
    known = {ALL_DIMENSIONS, *schema.dimension_ids}
    if schema.time_dimension is not None:
        known.add(schema.time_dimension.id)
    if dim not in known:
        raise MalformedData(
            f"dimensionAtObservation {dim!r} is not a dimension of"
            f" {schema.dataflow or schema.dsd} (nor AllDimensions)",
            where=name,
        )


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


# -- writing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """Which attributes go where in a written message."""

    flat: bool
    dim_at_obs: str
    series_dims: tuple[str, ...]  # key dimensions written on the Series (series layouts)
    obs_dim: str | None  # a non-time dimension at observation level, if any
    dataset_ids: frozenset[str]
    series_ids: frozenset[str]
    obs_ids: frozenset[str]


def plan(schema: Schema, dimension_at_observation: str | None) -> Plan:
    time = schema.time_dimension
    dim = dimension_at_observation or (time.id if time else ALL_DIMENSIONS)
    dims = schema.dimension_ids
    flat = dim == ALL_DIMENSIONS or (time is None and dim not in dims)
    if not flat and dim not in dims and (time is None or dim != time.id):
        raise ValueError(f"dimension_at_observation {dim!r} is not a dimension of the schema")
    dataset_ids = frozenset(a.id for a in schema.attributes_at(Attachment.DATASET))
    series_ids: set[str] = set()
    obs_ids: set[str] = set()
    for attr in schema.attributes:
        if attr.attachment is Attachment.DATASET:
            continue
        if flat or _observation_level(attr, schema, dim):
            obs_ids.add(attr.id)
        else:
            series_ids.add(attr.id)
    obs_dim = dim if dim in dims else None
    series_dims = tuple(d for d in dims if d != obs_dim)
    return Plan(
        flat,
        ALL_DIMENSIONS if flat else dim,
        series_dims,
        obs_dim,
        dataset_ids,
        frozenset(series_ids),
        frozenset(obs_ids),
    )


def _observation_level(attr: Component, schema: Schema, dim_at_obs: str) -> bool:
    if attr.attachment in (None, Attachment.OBSERVATION):
        return True
    if attr.attachment is Attachment.DIMENSIONS:
        time = schema.time_dimension
        at_obs = {dim_at_obs, time.id if time is not None else ""}
        return bool(at_obs & set(attr.related_dimensions))
    return False  # SERIES, GROUP: on the Series element


def peek(observations: Iterable[Observation]) -> tuple[Observation | None, Iterator[Observation]]:
    """The first observation (or None) and an iterator over all of them, the first included."""
    it = iter(observations)
    first = next(it, None)
    if first is None:
        return None, iter(())
    return first, itertools.chain((first,), it)


def dataset_attributes(info: MessageInfo, first: Observation | None, plan_: Plan) -> dict[str, str]:
    """Dataset attribute values: the info's, else those the first observation carries."""
    if info.dataset_attributes:
        return dict(info.dataset_attributes)
    if first is None or not plan_.dataset_ids:
        return {}
    return {k: v for k, v in first.attributes.items() if k in plan_.dataset_ids}


def new_message_id() -> str:
    return "IREF" + uuid.uuid4().hex[:16].upper()


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def write_header(
    xf: Any,
    info: MessageInfo,
    *,
    dimension_at_observation: str,
    namespace: str | None = None,
    dialect: Dialect = ML21,
) -> None:
    """Write the ``message:Header`` of a data message inside an open root element.

    The structure is named by a ``Ref`` (2.1) or by its URN as the element's text (3.0).
    """
    schema = info.schema
    mes = dialect.message
    with xf.element(f"{{{mes}}}Header"):
        _text(xf, mes, "ID", info.message_id or new_message_id())
        _text(xf, mes, "Test", "false")
        _text(xf, mes, "Prepared", info.prepared or now())
        with xf.element(f"{{{mes}}}Sender", id=info.sender or "ILO"):
            pass
        attrib = {"structureID": STRUCTURE_ID, "dimensionAtObservation": dimension_at_observation}
        if namespace is not None:
            attrib["namespace"] = namespace
        ref = schema.dataflow if schema.dataflow is not None else schema.dsd
        usage = "StructureUsage" if schema.dataflow is not None else "Structure"
        with xf.element(f"{{{mes}}}Structure", attrib), xf.element(f"{{{dialect.common}}}{usage}"):
            if dialect == ML21:
                xf.write(etree.Element("Ref", agencyID=ref.agency, id=ref.id, version=ref.version))
            else:
                xf.write(ref.urn)
    xf.write("\n")


def _text(xf: Any, namespace: str, local: str, text: str) -> None:
    with xf.element(f"{{{namespace}}}{local}"):
        xf.write(text)


def structure_namespace(schema: Schema, dimension_at_observation: str) -> str:
    """``urn:sdmx:…Dataflow=ILO:DF_X(1.0):ObsLevelDim:TIME_PERIOD`` (SDMX 2.1 Section 3B)."""
    ref = schema.dataflow if schema.dataflow is not None else schema.dsd
    return f"{ref.urn}:ObsLevelDim:{dimension_at_observation}"
