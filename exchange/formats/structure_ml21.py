"""SDMX-ML 2.1 structure messages as files of single maintainable artefacts, and back.

``dsd/`` and ``codelists/`` keep one maintainable artefact per file (``AGENCY+ID+VERSION.xml``),
each a complete, schema-valid ``message:Structure``. This module splits a structure message into
such artefacts (the ILO importer), wraps artefact elements back into one message (the generator,
``ilms structures export``), and keeps their elements byte-for-byte as the source wrote them: codes,
names and annotations of ILO codelists are copied, never re-serialised through an object model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from exchange.errors import InvalidStructure
from exchange.formats.sdmxml import COM, MES, NSMAP, STR, XML_LANG, parse_document, qname
from exchange.model.refs import ArtefactRef, Kind

#: Container element of each kind, in the order the 2.1 schema's ``StructuresType`` sequence wants
#: them (SDMXStructure.xsd). Organisation schemes share one container.
CONTAINERS: dict[Kind, tuple[str, str]] = {
    Kind.AGENCY_SCHEME: ("OrganisationSchemes", "AgencyScheme"),
    Kind.DATA_PROVIDER_SCHEME: ("OrganisationSchemes", "DataProviderScheme"),
    Kind.DATAFLOW: ("Dataflows", "Dataflow"),
    Kind.CATEGORY_SCHEME: ("CategorySchemes", "CategoryScheme"),
    Kind.CATEGORISATION: ("Categorisations", "Categorisation"),
    Kind.CODELIST: ("Codelists", "Codelist"),
    Kind.CONCEPT_SCHEME: ("Concepts", "ConceptScheme"),
    Kind.DATA_STRUCTURE: ("DataStructures", "DataStructure"),
    Kind.CONTENT_CONSTRAINT: ("Constraints", "ContentConstraint"),
    Kind.PROVISION_AGREEMENT: ("ProvisionAgreements", "ProvisionAgreement"),
}
CONTAINER_ORDER = [
    "OrganisationSchemes",
    "Dataflows",
    "Metadataflows",
    "CategorySchemes",
    "Categorisations",
    "Codelists",
    "HierarchicalCodelists",
    "Concepts",
    "MetadataStructures",
    "DataStructures",
    "StructureSets",
    "ReportingTaxonomies",
    "Processes",
    "Constraints",
    "ProvisionAgreements",
]
_KIND_OF_TAG = {qname(STR, tag): kind for kind, (_, tag) in CONTAINERS.items()}


@dataclass(frozen=True)
class Artefact:
    """One maintainable artefact element with its identity."""

    ref: ArtefactRef
    element: etree._Element


def iter_artefacts(tree: etree._ElementTree, *, name: str) -> Iterator[Artefact]:
    """Yield the maintainable artefacts of a ``message:Structure``; refuse any other message."""
    root = tree.getroot()
    if root.tag != qname(MES, "Structure"):
        raise InvalidStructure(
            f"expected an SDMX-ML 2.1 Structure message, found <{etree.QName(root).localname}> "
            f"in namespace {etree.QName(root).namespace or '(none)'}",
            where=name,
        )
    structures = root.find(qname(MES, "Structures"))
    if structures is None:
        return
    for container in structures:
        for element in container:
            kind = _KIND_OF_TAG.get(element.tag)
            if kind is None:
                continue
            yield Artefact(
                ArtefactRef(
                    kind,
                    element.get("agencyID", ""),
                    element.get("id", ""),
                    element.get("version", "1.0"),
                ),
                element,
            )


def header(
    sender: str = "ILO", *, prepared: datetime | None = None, ident: str = "ILMS"
) -> etree._Element:
    """A minimal valid 2.1 header (ID, Test, Prepared, Sender)."""
    hdr = etree.Element(qname(MES, "Header"))
    etree.SubElement(hdr, qname(MES, "ID")).text = ident
    etree.SubElement(hdr, qname(MES, "Test")).text = "false"
    when = prepared or datetime.now(UTC)
    etree.SubElement(hdr, qname(MES, "Prepared")).text = when.strftime("%Y-%m-%dT%H:%M:%S")
    etree.SubElement(hdr, qname(MES, "Sender"), id=sender)
    return hdr


def structure_message(artefacts: Iterable[Artefact], *, hdr: etree._Element | None = None) -> bytes:
    """Wrap artefact elements (copied) in one ``message:Structure``, containers in schema order."""
    root = etree.Element(qname(MES, "Structure"), nsmap=NSMAP)
    root.append(hdr if hdr is not None else header())
    structures = etree.SubElement(root, qname(MES, "Structures"))
    by_container: dict[str, list[etree._Element]] = {}
    for artefact in artefacts:
        container = CONTAINERS[artefact.ref.kind][0]
        by_container.setdefault(container, []).append(artefact.element)
    for container in CONTAINER_ORDER:
        if container in by_container:
            holder = etree.SubElement(structures, qname(STR, container))
            for element in by_container[container]:
                holder.append(_detached_copy(element))
    etree.cleanup_namespaces(root, top_nsmap=NSMAP)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


def _detached_copy(element: etree._Element) -> etree._Element:
    """Copy an element out of its document so that re-indentation starts fresh."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        if node.text is not None and not node.text.strip() and len(node):
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return copy


def text_of(element: etree._Element, local: str, lang: str = "en") -> str | None:
    """The ``common:Name``/``Description`` text in ``lang`` (else the first one)."""
    found = element.findall(qname(COM, local))
    for item in found:
        if item.get("{http://www.w3.org/XML/1998/namespace}lang") == lang:
            return str(item.text or "")
    return str(found[0].text or "") if found else None


@dataclass(frozen=True)
class Item:
    """An item of an item scheme: id, names by language, parent id."""

    id: str
    names: dict[str, str]
    parent: str | None


def read_item_schemes(paths: Iterable[str]) -> dict[str, list[Item]]:
    """Codelists and concept schemes of the given files by id, items in file order.

    A light lxml read for build-time tools (the generator) that need code lists, not objects.
    """
    schemes: dict[str, list[Item]] = {}
    for path in paths:
        with open(path, "rb") as handle:  # noqa: PTH123 - lxml takes the handle
            tree = parse_document(handle, name=path)
        for artefact in iter_artefacts(tree, name=path):
            if artefact.ref.kind not in (Kind.CODELIST, Kind.CONCEPT_SCHEME):
                continue
            items = []
            for element in artefact.element:
                if etree.QName(element).localname not in ("Code", "Concept"):
                    continue
                names = {
                    n.get(XML_LANG, "en"): n.text or "" for n in element.findall(qname(COM, "Name"))
                }
                parent = element.find(f"{qname(STR, 'Parent')}/Ref")
                items.append(
                    Item(
                        element.get("id", ""),
                        names,
                        parent.get("id") if parent is not None else None,
                    )
                )
            schemes[artefact.ref.id] = items
    return schemes


def artefact_of(kind: Kind, element: etree._Element) -> Artefact:
    """Wrap a freshly built maintainable element with its identity."""
    ref = ArtefactRef(
        kind, element.get("agencyID", ""), element.get("id", ""), element.get("version", "1.0")
    )
    return Artefact(ref, element)


def referenced_codelists(element: etree._Element) -> set[str]:
    """Ids of the codelists an artefact element references (enumerations, core representations)."""
    return {ref.get("id", "") for ref in element.iter("Ref") if ref.get("package") == "codelist"}
