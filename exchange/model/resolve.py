"""Build a resolved :class:`Schema` from sdmx1's DSD, dataflow and constraints.

The only place that walks sdmx1's information model for the data path. Rules applied here:

- A component without a local representation takes its concept's core representation
  (SDMX 2.1 Section 2, §3.3.2 "Representation").
- Allowed codes are the codelist's codes intersected with every included cube region of the
  allowed content constraints attached to the dataflow or DSD (SDMX 2.1 Section 2, §10.3).
- An attribute's attachment comes from its relationship (§3.4.2): primary measure → observation;
  a dimension list that names the time dimension → observation; all other dimensions → series;
  some of them → a partial key; a group → group; none → dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from sdmx.model import v21

from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Attachment, Component, Role, Schema


def _ref(kind: Kind, obj: Any) -> ArtefactRef:
    agency = obj.maintainer.id if obj.maintainer is not None else ""
    return ArtefactRef(kind, agency, obj.id, str(obj.version or "1.0"))


def _names(obj: Any) -> Mapping[str, str]:
    return (
        MappingProxyType(dict(obj.name.localizations))
        if obj is not None and obj.name
        else MappingProxyType({})
    )


def _representation(component: Any) -> Any:
    rep = component.local_representation
    if rep is None and component.concept_identity is not None:
        rep = component.concept_identity.core_representation
    return rep


def _concept_text(component: Any) -> str:
    concept = component.concept_identity
    if concept is None:
        return str(component.id)
    scheme = concept.get_scheme() if hasattr(concept, "get_scheme") else None
    return (
        f"{_ref(Kind.CONCEPT_SCHEME, scheme)}.{concept.id}"
        if scheme is not None
        else str(concept.id)
    )


def _facets(rep: Any) -> tuple[str | None, int | None]:
    text_type = None
    max_length = None
    for facet in getattr(rep, "non_enumerated", None) or []:
        if facet.value_type is not None:
            text_type = facet.value_type.name[0].upper() + facet.value_type.name[1:]
        if facet.type is not None and facet.type.max_length is not None:
            max_length = int(facet.type.max_length)
    return text_type, max_length


def allowed_values(constraints: Iterable[Any]) -> dict[str, frozenset[str]]:
    """Component id → the codes every included cube region allows."""
    allowed: dict[str, frozenset[str]] = {}
    for constraint in constraints:
        for region in constraint.data_content_region:
            if not region.included:
                continue
            for component, selection in region.member.items():
                values = frozenset(str(v.value) for v in selection.values)
                if not selection.included:
                    continue
                allowed[component.id] = (
                    allowed[component.id] & values if component.id in allowed else values
                )
    return allowed


def _component(
    component: Any, role: Role, allowed: Mapping[str, frozenset[str]], **extra: Any
) -> Component:
    rep = _representation(component)
    codelist = getattr(rep, "enumerated", None) if rep is not None else None
    codes: frozenset[str] | None = None
    codelist_ref = None
    if codelist is not None:
        codelist_ref = _ref(Kind.CODELIST, codelist)
        codes = frozenset(code.id for code in codelist)
        if component.id in allowed:
            codes = codes & allowed[component.id]
    text_type, max_length = _facets(rep)
    return Component(
        id=component.id,
        role=role,
        concept=_concept_text(component),
        codelist=codelist_ref,
        codes=codes,
        text_type=text_type,
        max_length=max_length,
        names=_names(component.concept_identity),
        **extra,
    )


def _attachment(
    attribute: Any, dimension_ids: tuple[str, ...], time_id: str | None
) -> tuple[Attachment, tuple[str, ...]]:
    relation = attribute.related_to
    if isinstance(relation, v21.PrimaryMeasureRelationship):
        return Attachment.OBSERVATION, ()
    if isinstance(relation, v21.GroupRelationship):
        return Attachment.GROUP, ()
    if isinstance(relation, v21.DimensionRelationship):
        related = tuple(d.id for d in relation.dimensions)
        if time_id is not None and time_id in related:
            return Attachment.OBSERVATION, related
        if set(related) >= set(dimension_ids):
            return Attachment.SERIES, related
        return Attachment.DIMENSIONS, related
    return Attachment.DATASET, ()


def build_schema(dsd: Any, flow: Any | None, constraints: Iterable[Any]) -> Schema:
    """The resolved schema of ``flow`` (or of the bare ``dsd`` when ``flow`` is None)."""
    allowed = allowed_values(constraints)
    dimensions: list[Component] = []
    time: Component | None = None
    for dim in dsd.dimensions.components:
        if isinstance(dim, v21.TimeDimension):
            time = _component(dim, Role.TIME, allowed, required=True)
        else:
            dimensions.append(_component(dim, Role.DIMENSION, allowed, required=True))
    dimension_ids = tuple(d.id for d in dimensions)
    attributes = []
    for attr in dsd.attributes.components:
        attachment, related = _attachment(attr, dimension_ids, time.id if time else None)
        attributes.append(
            _component(
                attr,
                Role.ATTRIBUTE,
                allowed,
                required=attr.usage_status == v21.UsageStatus.mandatory,
                attachment=attachment,
                related_dimensions=related,
            )
        )
    measure = _component(dsd.measures.components[0], Role.MEASURE, allowed)
    annotations = {
        str(a.type): str(a.title) for a in (flow.annotations if flow is not None else []) if a.type
    }
    return Schema(
        dsd=_ref(Kind.DATA_STRUCTURE, dsd),
        dataflow=_ref(Kind.DATAFLOW, flow) if flow is not None else None,
        names=_names(flow if flow is not None else dsd),
        dimensions=tuple(dimensions),
        time_dimension=time,
        measure=measure,
        attributes=tuple(attributes),
        annotations=MappingProxyType(annotations),
    )
