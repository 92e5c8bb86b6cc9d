"""The structure store: every SDMX artefact the service knows, read once with sdmx1.

``load`` in ``exchange.services.structures`` collects the files of ``dsd/`` and ``codelists/``
into one structure message and hands it here; sdmx1 reads it in one pass (about a second for
~1,500 artefacts) and resolves the references between artefacts within it. This module then
refuses what sdmx1 tolerates: a reference to an artefact that is not in the store (sdmx1 would
make a stub) fails loudly, naming the referring artefact and the missing one. Resolved schemas
are built on first use and cached.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any

import sdmx
from sdmx.model import common as sdmx_common
from sdmx.model import v21

from exchange.errors import InvalidStructure, NotFound
from exchange.model.catalog import SchemaCatalog
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.resolve import build_schema
from exchange.model.schema import Schema

#: Attribute of sdmx1's StructureMessage that holds each kind.
_MESSAGE_FIELD = {
    Kind.CODELIST: "codelist",
    Kind.CONCEPT_SCHEME: "concept_scheme",
    Kind.DATA_STRUCTURE: "structure",
    Kind.DATAFLOW: "dataflow",
    Kind.CONTENT_CONSTRAINT: "constraint",
    Kind.CATEGORY_SCHEME: "category_scheme",
    Kind.CATEGORISATION: "categorisation",
    Kind.PROVISION_AGREEMENT: "provisionagreement",
}


def _version(obj: Any) -> str:
    return str(obj.version) if obj.version is not None else "1.0"


def ref_of(kind: Kind, obj: Any) -> ArtefactRef:
    agency = obj.maintainer.id if obj.maintainer is not None else ""
    return ArtefactRef(kind, agency, obj.id, _version(obj))


class StructureStore:
    """All artefacts by reference, with lookups the REST service and the data path need."""

    def __init__(self, message: Any, *, strict: bool = True) -> None:
        self._message = message
        self._by_ref: dict[ArtefactRef, Any] = {}
        for kind, name in _MESSAGE_FIELD.items():
            for obj in getattr(message, name).values():
                # sdmx1 adds an empty stub for every artefact that is referenced but not defined;
                # a stub is not in the store (else a missing codelist would pass the check)
                if not getattr(obj, "is_external_reference", False):
                    self._by_ref[ref_of(kind, obj)] = obj
        for scheme in message.organisation_scheme.values():
            kind = (
                Kind.DATA_PROVIDER_SCHEME
                if isinstance(scheme, sdmx_common.DataProviderScheme)
                else Kind.AGENCY_SCHEME
            )
            self._by_ref[ref_of(kind, scheme)] = scheme
        self._schemas: dict[ArtefactRef, Schema] = {}
        if strict:
            self.check_references()

    @classmethod
    def from_message_bytes(cls, body: bytes, *, strict: bool = True) -> StructureStore:
        """Read one SDMX-ML (or SDMX-JSON) structure message with sdmx1.

        ``strict=False`` accepts references to artefacts the message does not hold, as other
        agencies' structure files often have (a DSD without its codelists).
        """
        try:
            message = sdmx.read_sdmx(io.BytesIO(body))
        except Exception as exc:  # sdmx1 raises many kinds; all mean the same to us
            raise InvalidStructure(f"sdmx1 cannot read the structures: {exc}") from exc
        return cls(message, strict=strict)

    # -- lookups -----------------------------------------------------------------------------
    @property
    def refs(self) -> list[ArtefactRef]:
        return sorted(self._by_ref)

    def get(self, ref: ArtefactRef) -> Any:
        try:
            return self._by_ref[ref]
        except KeyError:
            raise NotFound(f"no {ref.kind.value} {ref}") from None

    def find(
        self, kind: Kind, agency: str = "all", ident: str = "all", version: str = "all"
    ) -> list[Any]:
        """Artefacts matching an SDMX-REST style query (``all``/``*`` wildcards, ``latest``)."""

        def ok(value: str, wanted: str) -> bool:
            return wanted in ("all", "*", "latest") or value in wanted.split("+")

        found = [
            (r, o)
            for r, o in self._by_ref.items()
            if r.kind is kind
            and ok(r.agency, agency)
            and ok(r.id, ident)
            and ok(r.version, version)
        ]
        if version == "latest":
            newest: dict[tuple[str, str], tuple[ArtefactRef, Any]] = {}
            for r, o in found:
                key = (r.agency, r.id)
                if key not in newest or _version_key(r.version) > _version_key(
                    newest[key][0].version
                ):
                    newest[key] = (r, o)
            found = list(newest.values())
        return [o for _, o in sorted(found, key=lambda item: item[0])]

    def dataflows(self) -> list[v21.DataflowDefinition]:
        return self.find(Kind.DATAFLOW)

    def dataflow_ref(self, text: str) -> ArtefactRef:
        """Resolve ``DF_X``, ``ILO:DF_X(1.0)`` or ``ILO,DF_X,1.0``; ``X`` is tried as ``DF_X``."""
        ref = ArtefactRef.parse(Kind.DATAFLOW, text)
        if ref in self._by_ref:
            return ref
        prefixed = ArtefactRef(Kind.DATAFLOW, ref.agency, f"DF_{ref.id}", ref.version)
        if prefixed in self._by_ref:
            return prefixed
        raise NotFound(f"no dataflow {ref}")

    def schema(self, dataflow: ArtefactRef | str) -> Schema:
        """The resolved schema of a dataflow, built once."""
        ref = self.dataflow_ref(dataflow) if isinstance(dataflow, str) else dataflow
        if ref not in self._schemas:
            flow = self.get(ref)
            self._schemas[ref] = build_schema(flow.structure, flow, self.constraints_for(flow))
        return self._schemas[ref]

    def dsd_schema(self, ident: str, agency: str | None = None) -> Schema:
        """The resolved schema of a bare DSD (no dataflow, no constraints)."""
        for ref, obj in self._by_ref.items():
            if ref.kind is Kind.DATA_STRUCTURE and ref.id == ident and agency in (None, ref.agency):
                return build_schema(obj, None, [])
        raise NotFound(f"no data structure {ident}")

    def schema_for(self, text: str) -> Schema:
        """A schema by dataflow or DSD reference text (``ECB:ECB_EXR1(1.0)``, a URN, or an id)."""
        ident = text.rsplit("=", 1)[-1]
        try:
            return self.schema(ident)
        except NotFound:
            ref = ArtefactRef.parse(Kind.DATA_STRUCTURE, ident)
            return self.dsd_schema(ref.id, ref.agency if ":" in ident or "," in ident else None)

    def constraints_for(self, flow: Any) -> list[Any]:
        """Allowed content constraints attached to the dataflow or its DSD."""
        targets = {id(flow), id(flow.structure)}
        return [
            c
            for c in self._message.constraint.values()
            if c.role.role == v21.ConstraintRoleType.allowable
            and any(id(t) in targets for t in c.content)
        ]

    def full_codes(self, schema: Schema) -> dict[str, frozenset[str]]:
        """Component id → every code of its codelist (to tell unknown codes from excluded ones)."""
        out = {}
        for component in schema.components:
            if component.codelist is not None and component.codelist in self._by_ref:
                out[component.id] = frozenset(code.id for code in self.get(component.codelist))
        return out

    def catalog(self) -> SchemaCatalog:
        """Every dataflow's resolved schema and every codelist's codes, free of sdmx1 objects."""
        schemas = [self.schema(ref) for ref in self.refs if ref.kind is Kind.DATAFLOW]
        codelists = {
            ref: frozenset(code.id for code in obj)
            for ref, obj in self._by_ref.items()
            if ref.kind is Kind.CODELIST
        }
        return SchemaCatalog(schemas, codelists)

    def codelist(self, ident: str, agency: str = "ILO", version: str = "1.0") -> Any:
        return self.get(ArtefactRef(Kind.CODELIST, agency, ident, version))

    # -- integrity ---------------------------------------------------------------------------
    def check_references(self) -> None:
        """Fail on any reference to an artefact that is not in the store."""
        problems = [
            f"{owner} references missing {target}"
            for owner, target in self.references()
            if target not in self._by_ref
        ]
        if problems:
            raise InvalidStructure("dangling references: " + "; ".join(sorted(set(problems))[:20]))

    def references(self) -> Iterator[tuple[ArtefactRef, ArtefactRef]]:
        """Every (artefact, artefact it references) edge of the store, dangling or not.

        One definition of the reference graph, shared by the integrity check and by the REST
        ``references=`` parameter (parents and children are the two directions of these edges).
        """
        for ref, obj in self._by_ref.items():
            if ref.kind is Kind.DATA_STRUCTURE:
                yield from ((ref, target) for target in _dsd_targets(obj))
            elif ref.kind is Kind.CONCEPT_SCHEME:
                for concept in obj:
                    rep = concept.core_representation
                    if rep is not None and rep.enumerated is not None:
                        yield ref, ref_of(Kind.CODELIST, rep.enumerated)
            elif ref.kind is Kind.DATAFLOW:
                yield ref, ref_of(Kind.DATA_STRUCTURE, obj.structure)
            elif ref.kind is Kind.CONTENT_CONSTRAINT:
                yield from ((ref, _attachment_ref(t)) for t in obj.content)
            elif ref.kind is Kind.PROVISION_AGREEMENT:
                yield ref, ref_of(Kind.DATAFLOW, obj.structure_usage)
                yield ref, ref_of(Kind.DATA_PROVIDER_SCHEME, obj.data_provider.get_scheme())
            elif ref.kind is Kind.CATEGORISATION:
                yield ref, ref_of(Kind.DATAFLOW, obj.artefact)
                yield ref, ref_of(Kind.CATEGORY_SCHEME, obj.category.get_scheme())

    @cached_property
    def module_of(self) -> dict[str, str]:
        """Dataflow id → category id (module), from the categorisations."""
        return {c.artefact.id: c.category.id for c in self._message.categorisation.values()}


def _attachment_ref(target: Any) -> ArtefactRef:
    kind = Kind.DATAFLOW if isinstance(target, sdmx_common.BaseDataflow) else Kind.DATA_STRUCTURE
    return ref_of(kind, target)


def _dsd_targets(dsd: Any) -> Iterable[ArtefactRef]:
    components = [*dsd.dimensions.components, *dsd.attributes.components, *dsd.measures.components]
    for component in components:
        concept = component.concept_identity
        if concept is not None:
            scheme = concept.get_scheme() if hasattr(concept, "get_scheme") else None
            if scheme is None or (
                getattr(scheme, "is_external_reference", False) and not len(scheme)
            ):
                yield ArtefactRef(Kind.CONCEPT_SCHEME, "?", f"(scheme of concept {concept.id})")
            else:
                yield ref_of(Kind.CONCEPT_SCHEME, scheme)
        representation = component.local_representation
        if representation is not None and representation.enumerated is not None:
            yield ref_of(Kind.CODELIST, representation.enumerated)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
