"""Reading the header of an SDMX-ML 2.1 or 3.0 data message, up to its first data set.

Split out of :mod:`exchange.formats.ml21_common` (which keeps the element-level reading helpers)
because the header is its own concern: :class:`MessageReader` refuses a DOCTYPE as soon as the
root element starts, reads ``message:Header`` (message id, sender, prepared time, and the one
``message:Structure`` that names the dataflow or DSD by ``Ref`` or ``URN`` with the
``dimensionAtObservation``), then reads on to the first ``DataSet`` so that
:class:`MessageInfo` is complete before the first observation is pulled.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from lxml import etree

from exchange.errors import MalformedData
from exchange.formats.ml21_common import (
    ALL_DIMENSIONS,
    ML21,
    Dialect,
    at,
    iterparse,
    localname,
    namespace_of,
    syntax_error,
)
from exchange.model.records import Action, MessageInfo
from exchange.model.schema import Schema


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
