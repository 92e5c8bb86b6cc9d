"""Builders of SDMX-ML 2.1 structure elements (DSD, dataflow, constraint, schemes, agreements).

Small functions that each return one element exactly as SDMXStructure.xsd (2.1) orders its
children; the generator composes them. Written with lxml rather than through sdmx1's writer
because the files must be deterministic and byte-stable (a test regenerates and compares them),
and sdmx1 2.28's writer cannot serialise concepts whose core representation references a codelist
by URN-less reference (as ILO's concept schemes do). sdmx1 remains the *reader* of these files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from exchange.formats.sdmxml import COM, STR, XML_LANG, qname

Element = etree._Element
"""The element type, for callers that must not import lxml themselves."""


def _s(local: str, parent: etree._Element | None = None, /, **attrib: str) -> etree._Element:
    tag = qname(STR, local)
    return etree.Element(tag, attrib) if parent is None else etree.SubElement(parent, tag, attrib)


def _c(
    local: str, parent: etree._Element, text: str | None = None, **attrib: str
) -> etree._Element:
    element = etree.SubElement(parent, qname(COM, local), attrib)
    element.text = text
    return element


def ref(parent: etree._Element, wrapper: str | None = None, **attrib: str) -> etree._Element:
    """An (unqualified, as the 2.1 schema wants) ``Ref`` element, optionally inside a wrapper."""
    holder = _s(wrapper, parent) if wrapper else parent
    return etree.SubElement(holder, "Ref", attrib)


def maintainable(
    local: str,
    ident: str,
    names: Mapping[str, str],
    *,
    agency: str = "ILO",
    version: str = "1.0",
    annotations: Sequence[tuple[str, str]] = (),
    description: Mapping[str, str] | None = None,
    **extra: str,
) -> etree._Element:
    """The common head of every maintainable: id, agency, version, annotations, names."""
    element = _s(local, id=ident, agencyID=agency, version=version, isFinal="true", **extra)
    add_annotations(element, annotations)
    add_names(element, names, description)
    return element


def add_annotations(element: etree._Element, annotations: Sequence[tuple[str, str]]) -> None:
    """``(type, title)`` pairs as ``common:Annotations`` (the ILO convention: title holds value)."""
    if not annotations:
        return
    holder = _c("Annotations", element)
    for kind, title in annotations:
        annotation = _c("Annotation", holder)
        _c("AnnotationTitle", annotation, title)
        _c("AnnotationType", annotation, kind)


def add_names(
    element: etree._Element, names: Mapping[str, str], description: Mapping[str, str] | None = None
) -> None:
    for lang, text in names.items():
        _c("Name", element, text, **{XML_LANG: lang})
    for lang, text in (description or {}).items():
        _c("Description", element, text, **{XML_LANG: lang})


@dataclass(frozen=True)
class ComponentSpec:
    """What a DSD needs to know about one component."""

    id: str
    concept_scheme: str
    codelist: str | None = None
    text_type: str | None = None
    max_length: int | None = None
    attached_to: tuple[str, ...] = ()  # dimension ids; empty = observation level
    concept_id: str | None = None


def _concept(parent: etree._Element, spec: ComponentSpec, agency: str) -> None:
    ref(
        parent,
        "ConceptIdentity",
        id=spec.concept_id or spec.id,
        maintainableParentID=spec.concept_scheme,
        maintainableParentVersion="1.0",
        agencyID=agency,
        package="conceptscheme",
        **{"class": "Concept"},
    )


def _representation(parent: etree._Element, spec: ComponentSpec, agency: str) -> None:
    if spec.codelist is None and spec.text_type is None:
        return
    rep = _s("LocalRepresentation", parent)
    if spec.codelist is not None:
        ref(
            rep,
            "Enumeration",
            id=spec.codelist,
            version="1.0",
            agencyID=agency,
            package="codelist",
            **{"class": "Codelist"},
        )
        return
    fmt = _s("TextFormat", rep, textType=str(spec.text_type))
    if spec.max_length is not None:
        fmt.set("maxLength", str(spec.max_length))


def data_structure(
    ident: str,
    names: Mapping[str, str],
    dimensions: Sequence[ComponentSpec],
    time_dimension: ComponentSpec,
    attributes: Sequence[ComponentSpec],
    measure: ComponentSpec,
    *,
    agency: str = "ILO",
    annotations: Sequence[tuple[str, str]] = (),
    description: Mapping[str, str] | None = None,
) -> etree._Element:
    """A DataStructure (SDMX 2.1 Section 2, §5.3): dimensions, time, attributes, primary measure."""
    dsd = maintainable(
        "DataStructure",
        ident,
        names,
        agency=agency,
        annotations=annotations,
        description=description,
    )
    components = _s("DataStructureComponents", dsd)
    dim_list = _s("DimensionList", components, id="DimensionDescriptor")
    for position, spec in enumerate(dimensions, 1):
        dim = _s("Dimension", dim_list, id=spec.id, position=str(position))
        _concept(dim, spec, agency)
        _representation(dim, spec, agency)
    time = _s("TimeDimension", dim_list, id=time_dimension.id, position=str(len(dimensions) + 1))
    _concept(time, time_dimension, agency)
    _representation(time, time_dimension, agency)
    attr_list = _s("AttributeList", components, id="AttributeDescriptor")
    for spec in attributes:
        attr = _s("Attribute", attr_list, id=spec.id, assignmentStatus="Conditional")
        _concept(attr, spec, agency)
        _representation(attr, spec, agency)
        relation = _s("AttributeRelationship", attr)
        if spec.attached_to:
            for dim_id in spec.attached_to:
                ref(relation, "Dimension", id=dim_id)
        else:
            ref(relation, "PrimaryMeasure", id=measure.id)
    measure_list = _s("MeasureList", components, id="MeasureDescriptor")
    primary = _s("PrimaryMeasure", measure_list, id=measure.id)
    _concept(primary, measure, agency)
    _representation(primary, measure, agency)
    return dsd


def dataflow(
    ident: str,
    names: Mapping[str, str],
    dsd_id: str,
    *,
    agency: str = "ILO",
    annotations: Sequence[tuple[str, str]] = (),
) -> etree._Element:
    flow = maintainable("Dataflow", ident, names, agency=agency, annotations=annotations)
    ref(
        flow,
        "Structure",
        id=dsd_id,
        version="1.0",
        agencyID=agency,
        package="datastructure",
        **{"class": "DataStructure"},
    )
    return flow


def allowed_constraint(
    ident: str,
    names: Mapping[str, str],
    dataflow_id: str,
    key_values: Mapping[str, Iterable[str]],
    *,
    agency: str = "ILO",
) -> etree._Element:
    """An allowed ContentConstraint with one included CubeRegion (SDMX 2.1 Section 2, §10)."""
    constraint = maintainable("ContentConstraint", ident, names, agency=agency, type="Allowed")
    attachment = _s("ConstraintAttachment", constraint)
    ref(
        attachment,
        "Dataflow",
        id=dataflow_id,
        version="1.0",
        agencyID=agency,
        package="datastructure",
        **{"class": "Dataflow"},
    )
    region = _s("CubeRegion", constraint, include="true")
    for dim_id, values in key_values.items():
        key_value = _c("KeyValue", region, id=dim_id)
        for value in values:
            _c("Value", key_value, value)
    return constraint


def item_scheme(
    local: str,
    item_local: str,
    ident: str,
    names: Mapping[str, str],
    items: Sequence[tuple[str, Mapping[str, str], Sequence[tuple[str, str]]]],
    *,
    agency: str = "ILO",
    annotations: Sequence[tuple[str, str]] = (),
    description: Mapping[str, str] | None = None,
    is_final: bool = True,
) -> etree._Element:
    """Codelist, ConceptScheme, CategoryScheme, DataProviderScheme, AgencyScheme: ``(id, names,
    annotations)`` items. Organisation schemes are never final (SDMX 2.1: fixed id and version)."""
    scheme = maintainable(
        local, ident, names, agency=agency, annotations=annotations, description=description
    )
    if not is_final:
        scheme.set("isFinal", "false")
    for item_id, item_names, item_annotations in items:
        item = _s(item_local, scheme, id=item_id)
        add_annotations(item, item_annotations)
        add_names(item, item_names)
    return scheme


def categorisation(
    ident: str,
    names: Mapping[str, str],
    dataflow_id: str,
    scheme_id: str,
    category_id: str,
    *,
    agency: str = "ILO",
) -> etree._Element:
    element = maintainable("Categorisation", ident, names, agency=agency)
    ref(
        element,
        "Source",
        id=dataflow_id,
        version="1.0",
        agencyID=agency,
        package="datastructure",
        **{"class": "Dataflow"},
    )
    ref(
        element,
        "Target",
        id=category_id,
        maintainableParentID=scheme_id,
        maintainableParentVersion="1.0",
        agencyID=agency,
        package="categoryscheme",
        **{"class": "Category"},
    )
    return element


def provision_agreement(
    ident: str,
    names: Mapping[str, str],
    dataflow_id: str,
    provider_id: str,
    *,
    agency: str = "ILO",
) -> etree._Element:
    element = maintainable("ProvisionAgreement", ident, names, agency=agency)
    ref(
        element,
        "StructureUsage",
        id=dataflow_id,
        version="1.0",
        agencyID=agency,
        package="datastructure",
        **{"class": "Dataflow"},
    )
    ref(
        element,
        "DataProvider",
        id=provider_id,
        maintainableParentID="DATA_PROVIDERS",
        maintainableParentVersion="1.0",
        agencyID=agency,
        package="base",
        **{"class": "DataProvider"},
    )
    return element
