"""Structure query answers as SDMX-ML 2.1 structure messages, from the source elements.

The artefacts are the elements of ``dsd/`` and ``codelists/`` as written there (names, annotations
and codes byte-for-byte); a query only ever removes from a copy of them: items an ``itemID`` or a
``referencepartial`` leaves out (the scheme then says ``isPartial="true"``), and everything but
the identification and names of a stub (SDMX 2.1 SDMXStructureBase.xsd, ``MaintainableType``:
``isExternalReference`` and ``structureURL`` point at the full artefact).

This is element surgery with lxml, which the library keeps inside ``exchange.formats``; it lives
here while ``server`` owns it and would move next to ``structure_message`` as is.
"""

from __future__ import annotations

import copy

from lxml import etree

from exchange.formats.sdmxml import STR, qname
from exchange.formats.structure_ml21 import Artefact, header, structure_message
from exchange.model.refs import ArtefactRef, Kind
from exchange.services.structure_query import Catalogue, Selection, Shape

#: The item element of each item scheme.
ITEM_TAGS = {
    Kind.CODELIST: "Code",
    Kind.CONCEPT_SCHEME: "Concept",
    Kind.CATEGORY_SCHEME: "Category",
    Kind.DATA_PROVIDER_SCHEME: "DataProvider",
    Kind.AGENCY_SCHEME: "Agency",
}
#: Children a stub keeps; complete stubs also keep annotations and descriptions (REST 1.5).
_STUB = frozenset({"Name"})
_COMPLETE_STUB = frozenset({"Annotations", "Name", "Description"})
#: Children the 2.1 schema requires even of an external reference.
_REQUIRED = {
    Kind.CATEGORISATION: frozenset({"Source", "Target"}),
    Kind.PROVISION_AGREEMENT: frozenset({"StructureUsage", "DataProvider"}),
}


def structure_url(base_url: str, ref: ArtefactRef) -> str:
    """Where the full artefact is (the SDMX-REST 1.5 query for exactly this artefact)."""
    return f"{base_url.rstrip('/')}/rest/{ref.kind.value}/{ref.agency}/{ref.id}/{ref.version}"


def shaped(artefact: Artefact, selection: Selection, base_url: str) -> Artefact:
    """A copy of the artefact element in the shape the selection asks for."""
    element = copy.deepcopy(artefact.element)
    kind = artefact.ref.kind
    if selection.items is not None and kind in ITEM_TAGS:
        _keep_items(element, qname(STR, ITEM_TAGS[kind]), selection.items)
    if selection.partial:
        element.set("isPartial", "true")
    if selection.shape is not Shape.FULL:
        complete = selection.shape is Shape.COMPLETE_STUB
        keep = (_COMPLETE_STUB if complete else _STUB) | _REQUIRED.get(kind, frozenset())
        for child in list(element):
            if etree.QName(child).localname not in keep:
                element.remove(child)
        if not complete:
            for attribute in ("isFinal", "validFrom", "validTo"):
                element.attrib.pop(attribute, "")
        element.attrib.pop("isPartial", "")
        element.set("isExternalReference", "true")
        element.set("structureURL", structure_url(base_url, artefact.ref))
    return Artefact(artefact.ref, element)


def _keep_items(element: etree._Element, tag: str, keep: frozenset[str]) -> None:
    """Drop the items not in ``keep``; nested items (categories) are filtered level by level."""
    for child in list(element):
        if child.tag != tag:
            continue
        if child.get("id") in keep:
            _keep_items(child, tag, keep)
        else:
            element.remove(child)


def render_ml21(catalogue: Catalogue, selections: list[Selection], base_url: str) -> bytes:
    """The answer as one schema-valid SDMX-ML 2.1 structure message."""
    artefacts = [shaped(catalogue.artefacts[s.ref], s, base_url) for s in selections]
    return structure_message(artefacts, hdr=header(ident="ILMS_STRUCTURE_QUERY"))
