"""SDMX-REST 2.0 structure queries: ``/rest/v2/structure/{type}/{agencyID}/{resourceID}/{version}``.

The 2.0 syntax (SDMX-REST 2.0.0 OpenAPI, "Structure queries"): ``*`` is the wildcard everywhere,
``,`` separates alternatives, versions take ``~`` (latest), ``+`` (latest stable) and per-part
wildcards (``1.*``, ``1.0+``); ``references`` takes a comma list; the constraint type is called
``dataconstraint``. Answers are SDMX-JSON 2.0.0 (the 3.0 model) by default, SDMX-ML 2.1 on
request; SDMX-ML 3.0 is not written (406).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from exchange.errors import FeatureNotImplemented, InvalidRequest, NotFound
from exchange.model.refs import Kind
from exchange.services.structure_query import (
    ANY,
    ITEM_SCHEMES,
    LATEST,
    REFERENCE_MODES,
    Detail,
    StructureQuery,
    kinds_of_reference,
)
from server.deps import BodyCacheDep, CatalogueDep, RenderingV2
from server.responses import structure_answer

router = APIRouter(prefix="/rest/v2", tags=["structure (SDMX-REST 2.0)"])

#: 2.0 structure types the service answers.
TYPES: dict[str, tuple[Kind, ...]] = {
    **{kind.value: (kind,) for kind in Kind if kind is not Kind.CONTENT_CONSTRAINT},
    "dataconstraint": (Kind.CONTENT_CONSTRAINT,),
    "*": tuple(Kind),
}
#: 2.0 structure types the service does not hold (501).
UNSUPPORTED = frozenset(
    {
        "metadatastructure", "metadataflow", "structureset", "process", "metadataconstraint",
        "hierarchy", "hierarchyassociation", "dataconsumerscheme", "organisationunitscheme",
        "transformationscheme", "rulesetscheme", "userdefinedoperatorscheme", "customtypescheme",
        "namepersonalisationscheme", "vtlmappingscheme", "valuelist", "structuremap",
        "representationmap", "conceptschememap", "categoryschememap", "organisationschememap",
        "reportingtaxonomymap", "metadataprovisionagreement", "metadataproviderscheme",
        "reportingtaxonomy",
    }
)  # fmt: skip

ReferencesParam = Annotated[
    str,
    Query(description="none, parents, parentsandsiblings, ancestors, children, descendants, all, "
          "or types; comma-separated"),
]  # fmt: skip
DetailParam = Annotated[str, Query(description="full, allstubs, referencestubs, … , raw")]


def _alternatives(value: str) -> tuple[str, ...]:
    values = tuple(v for v in value.split(",") if v)
    return (ANY,) if not values or ANY in values else values


def _versions(value: str) -> tuple[str, ...]:
    versions = _alternatives(value)
    return tuple(LATEST if v in ("~", "+", "*+") else v for v in versions)


def parse_query(type_: str, tail: str, references: str, detail: str) -> StructureQuery:
    """The ``StructureQuery`` of a 2.0 path and its ``references``/``detail`` parameters."""
    if type_ in UNSUPPORTED:
        raise FeatureNotImplemented(f"the service holds no {type_} artefacts")
    if type_ not in TYPES:
        raise InvalidRequest(f"{type_} is not an SDMX 3.0 structure type")
    kinds = TYPES[type_]
    parts = tail.split("/") if tail else []
    while parts and not parts[-1]:
        parts.pop()
    max_parts = 4 if set(kinds) <= ITEM_SCHEMES else 3
    if len(parts) > max_parts or any(not p for p in parts):
        raise NotFound(f"no resource at /rest/v2/structure/{type_}/{tail}")
    agency, ident, version, item = [*parts, *("*", "*", "~", "*")[len(parts) :]]
    modes = _alternatives(references or "none")
    if modes == (ANY,):
        raise InvalidRequest("references=* is not a reference mode")
    for mode in modes:
        if mode not in REFERENCE_MODES:
            kinds_of_reference(mode)
    try:
        level = Detail(detail)
    except ValueError:
        raise InvalidRequest(f"detail={detail} is not one of {[d.value for d in Detail]}") from None
    return StructureQuery(
        kinds=kinds,
        agencies=_alternatives(agency),
        ids=_alternatives(ident),
        versions=_versions(version),
        items=None if item == ANY else _alternatives(item),
        references=modes,
        detail=Detail.FULL if level is Detail.RAW else level,
    )


@router.get("/structure", response_class=Response)
@router.get("/structure/{type_}", response_class=Response)
@router.get("/structure/{type_}/{tail:path}", response_class=Response)
def structure_v2(
    request: Request,
    catalogue: CatalogueDep,
    cache: BodyCacheDep,
    rendering: RenderingV2,
    type_: str = "*",
    tail: str = "",
    references: ReferencesParam = "none",
    detail: DetailParam = "full",
) -> Response:
    """Structures by type, agency, id and version (SDMX-REST 2.0)."""
    query = parse_query(type_, tail, references, detail)
    return structure_answer(request, catalogue, cache, query, rendering)
