"""Resolved schemas without sdmx1: a JSON-serialisable catalogue for the data path.

Importing sdmx1 costs ~140 MB of RSS (it brings pandas) and reading ~1,500 artefacts another 70 MB
and a second. The data path (convert, validate, load, serve data) needs neither: it needs the
resolved :class:`Schema` of a dataflow and, for validation, the full code sets of its codelists.
A :class:`SchemaCatalog` holds exactly that, is built once from a :class:`StructureStore` and
cached as JSON (``exchange.services.structures.load_catalog``), so ``ilms convert`` of a million
observations stays well under 150 MB.

``SchemaSource`` is what the data path asks for; both the store and the catalogue provide it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

from exchange.errors import NotFound
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Attachment, Component, Role, Schema

FORMAT_VERSION = 1


class SchemaSource(Protocol):
    """Where the data path gets schemas and full code sets from."""

    def schema_for(self, text: str) -> Schema: ...

    def full_codes(self, schema: Schema) -> Mapping[str, frozenset[str]]: ...


def _ref(data: list[str] | None) -> ArtefactRef | None:
    return ArtefactRef(Kind(data[0]), data[1], data[2], data[3]) if data else None


def _ref_data(ref: ArtefactRef | None) -> list[str] | None:
    return [ref.kind.value, ref.agency, ref.id, ref.version] if ref else None


def component_to_dict(c: Component) -> dict[str, Any]:
    return {
        "id": c.id,
        "role": c.role.value,
        "concept": c.concept,
        "codelist": _ref_data(c.codelist),
        "codes": sorted(c.codes) if c.codes is not None else None,
        "text_type": c.text_type,
        "max_length": c.max_length,
        "required": c.required,
        "attachment": c.attachment.value if c.attachment else None,
        "related_dimensions": list(c.related_dimensions),
        "names": dict(c.names),
    }


def component_from_dict(d: Mapping[str, Any]) -> Component:
    return Component(
        id=d["id"],
        role=Role(d["role"]),
        concept=d["concept"],
        codelist=_ref(d["codelist"]),
        codes=frozenset(d["codes"]) if d["codes"] is not None else None,
        text_type=d["text_type"],
        max_length=d["max_length"],
        required=d["required"],
        attachment=Attachment(d["attachment"]) if d["attachment"] else None,
        related_dimensions=tuple(d["related_dimensions"]),
        names=MappingProxyType(d["names"]),
    )


def schema_to_dict(s: Schema) -> dict[str, Any]:
    return {
        "dsd": _ref_data(s.dsd),
        "dataflow": _ref_data(s.dataflow),
        "names": dict(s.names),
        "dimensions": [component_to_dict(c) for c in s.dimensions],
        "time_dimension": component_to_dict(s.time_dimension) if s.time_dimension else None,
        "measure": component_to_dict(s.measure),
        "attributes": [component_to_dict(c) for c in s.attributes],
        "annotations": dict(s.annotations),
    }


def schema_from_dict(d: Mapping[str, Any]) -> Schema:
    dsd = _ref(d["dsd"])
    assert dsd is not None
    time = d["time_dimension"]
    return Schema(
        dsd=dsd,
        dataflow=_ref(d["dataflow"]),
        names=MappingProxyType(d["names"]),
        dimensions=tuple(component_from_dict(c) for c in d["dimensions"]),
        time_dimension=component_from_dict(time) if time else None,
        measure=component_from_dict(d["measure"]),
        attributes=tuple(component_from_dict(c) for c in d["attributes"]),
        annotations=MappingProxyType(d["annotations"]),
    )


class SchemaCatalog:
    """The resolved schemas of every dataflow, and every codelist's codes, by reference."""

    def __init__(
        self, schemas: list[Schema], codelists: Mapping[ArtefactRef, frozenset[str]]
    ) -> None:
        self._schemas = {s.dataflow: s for s in schemas if s.dataflow is not None}
        self._codelists = dict(codelists)

    def schema(self, ref: ArtefactRef) -> Schema:
        try:
            return self._schemas[ref]
        except KeyError:
            raise NotFound(f"no dataflow {ref}") from None

    def schema_for(self, text: str) -> Schema:
        """By ``DF_X``, ``X``, ``ILO:DF_X(1.0)``, ``ILO,DF_X,1.0`` or a dataflow URN."""
        ident = text.rsplit("=", 1)[-1]
        ref = ArtefactRef.parse(Kind.DATAFLOW, ident)
        for candidate in (ref, ArtefactRef(Kind.DATAFLOW, ref.agency, f"DF_{ref.id}", ref.version)):
            if candidate in self._schemas:
                return self._schemas[candidate]
        raise NotFound(f"no dataflow {ref}")

    def full_codes(self, schema: Schema) -> Mapping[str, frozenset[str]]:
        return {
            c.id: self._codelists[c.codelist]
            for c in schema.components
            if c.codelist is not None and c.codelist in self._codelists
        }

    @property
    def dataflows(self) -> list[ArtefactRef]:
        return sorted(self._schemas)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "schemas": [schema_to_dict(s) for _, s in sorted(self._schemas.items())],
                "codelists": [
                    [_ref_data(r), sorted(c)] for r, c in sorted(self._codelists.items())
                ],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, body: bytes) -> SchemaCatalog:
        data = json.loads(body)
        if data.get("format") != FORMAT_VERSION:
            raise ValueError("schema catalogue of another format version")
        codelists = {}
        for ref_data, codes in data["codelists"]:
            ref = _ref(ref_data)
            assert ref is not None
            codelists[ref] = frozenset(codes)
        return cls([schema_from_dict(s) for s in data["schemas"]], codelists)
