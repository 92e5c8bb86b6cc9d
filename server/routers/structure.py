"""SDMX-REST 1.5 structure queries: ``/rest/{resource}/{agencyID}/{resourceID}/{version}``.

Every path segment after the resource is optional (defaults ``all``/``all``/``latest``, SDMX-REST
1.5 §"Structural metadata queries"), ``+`` separates alternatives, a trailing slash is accepted,
and item schemes take a fifth segment, the ``itemID``. Each resource gets its own routes (rather
than one ``/rest/{resource}`` route) so that data and schema routers can share the ``/rest``
prefix. Resources the standard defines but the service does not hold answer 501.
"""

from __future__ import annotations

from collections.abc import Callable
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
from server.deps import BodyCacheDep, CatalogueDep, RenderingV1
from server.responses import structure_answer

router = APIRouter(prefix="/rest", tags=["structure (SDMX-REST 1.5)"])

#: Resources the service answers, and the kinds each covers.
RESOURCES: dict[str, tuple[Kind, ...]] = {
    **{kind.value: (kind,) for kind in Kind},
    "organisationscheme": (Kind.AGENCY_SCHEME, Kind.DATA_PROVIDER_SCHEME),
    "structure": tuple(Kind),
}
#: Resources of SDMX-REST 1.5 that the service does not hold (501).
UNSUPPORTED = (
    "metadatastructure", "metadataflow", "structureset", "process", "hierarchicalcodelist",
    "actualconstraint", "allowedconstraint", "attachmentconstraint", "dataconsumerscheme",
    "organisationunitscheme", "reportingtaxonomy", "transformationscheme", "rulesetscheme",
    "userdefinedoperatorscheme", "customtypescheme", "namepersonalisationscheme",
    "namealiasscheme",
)  # fmt: skip

ReferencesParam = Annotated[
    str, Query(description="none, parents, parentsandsiblings, children, descendants, all, a type")
]
DetailParam = Annotated[
    str,
    Query(
        description="full, allstubs, referencestubs, allcompletestubs, referencecompletestubs, "
        "referencepartial"
    ),
]


_DETAILS = [d.value for d in Detail if d is not Detail.RAW]


def _alternatives(value: str) -> tuple[str, ...]:
    """``all`` (or ``*``) → any; ``A+B`` → either (SDMX-REST 1.5 path syntax)."""
    return (ANY,) if value in ("all", "*") else tuple(value.split("+"))


def parse_query(resource: str, tail: str, references: str, detail: str) -> StructureQuery:
    """The ``StructureQuery`` of a 1.5 path and its ``references``/``detail`` parameters."""
    kinds = RESOURCES[resource]
    parts = tail.split("/") if tail else []
    while parts and not parts[-1]:
        parts.pop()  # trailing slash
    max_parts = 4 if set(kinds) <= ITEM_SCHEMES else 3
    if len(parts) > max_parts or any(not p for p in parts):
        raise NotFound(f"no resource at /rest/{resource}/{tail}")
    agency, ident, version, item = [*parts, *("all", "all", "latest", "all")[len(parts) :]]
    versions = (LATEST,) if version == "latest" else _alternatives(version)
    mode = references or "none"
    if mode not in REFERENCE_MODES or mode == "ancestors":  # ancestors: REST 2.0 only
        kinds_of_reference(mode)  # raises InvalidRequest for an unknown value
    try:
        level = Detail(detail)
    except ValueError:
        level = None
    if level is None or level is Detail.RAW:
        raise InvalidRequest(f"detail={detail} is not one of {', '.join(_DETAILS)}")
    return StructureQuery(
        kinds=kinds,
        agencies=_alternatives(agency),
        ids=_alternatives(ident),
        versions=versions,
        items=None if item in ("all", "*") else tuple(item.split("+")),
        references=(mode,),
        detail=level,
    )


def _endpoint(resource: str) -> Callable[..., Response]:
    def structure(
        request: Request,
        catalogue: CatalogueDep,
        cache: BodyCacheDep,
        rendering: RenderingV1,
        tail: str = "",
        references: ReferencesParam = "none",
        detail: DetailParam = "full",
    ) -> Response:
        query = parse_query(resource, tail, references, detail)
        return structure_answer(request, catalogue, cache, query, rendering)

    structure.__name__ = f"get_{resource}"
    return structure


def _not_implemented(resource: str) -> Callable[..., Response]:
    def unsupported(tail: str = "") -> Response:
        raise FeatureNotImplemented(f"the service holds no {resource} artefacts")

    unsupported.__name__ = f"get_{resource}"
    return unsupported


for _name in RESOURCES:
    for _path in (f"/{_name}", f"/{_name}/{{tail:path}}"):
        router.add_api_route(_path, _endpoint(_name), methods=["GET"], response_class=Response)
for _name in UNSUPPORTED:
    for _path in (f"/{_name}", f"/{_name}/{{tail:path}}"):
        router.add_api_route(_path, _not_implemented(_name), methods=["GET"])
