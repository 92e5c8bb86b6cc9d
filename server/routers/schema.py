"""SDMX-REST 1.5 ``schema`` resource: the DSD-specific XSD of structure-specific data.

``/rest/schema/{context}/{agencyID}/{resourceID}/{version}`` with context ``dataflow`` or
``datastructure`` (``provisionagreement``: 501) and ``dimensionAtObservation`` (``TIME_PERIOD``
by default, ``AllDimensions`` or a dimension id). The XSD is what a structure-specific data
message of that dataflow validates against; our structure-specific answers point to it in
``xsi:schemaLocation``. Also answered under ``/rest/v2/schema`` (2.0 spells versions ``~``).
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from exchange.errors import FeatureNotImplemented, InvalidRequest, NotFound
from exchange.model.refs import Kind
from exchange.model.store import StructureStore
from exchange.services.data_query import parse_dimension_at_observation, resolve_flow
from exchange.services.structures import dataflow_xsd
from server.routers.data import split_tail

router = APIRouter(prefix="/rest", tags=["schema"])
#: The media types SDMX-REST declares for the schema resource (1.5: 2.1; 2.0: 3.0.0).
XSD_TYPES = {
    "/rest/schema": ("application/vnd.sdmx.schema+xml;version=2.1", "2.1"),
    "/rest/v2/schema": ("application/vnd.sdmx.schema+xml;version=3.0.0", "3.0"),
}


def _dsd_text(store: StructureStore, agency: str, ident: str, version: str) -> str:
    refs = [
        r
        for r in store.refs
        if r.kind is Kind.DATA_STRUCTURE
        and r.id == ident
        and agency in ("all", "*", r.agency)
        and version in ("latest", "~", "all", "*", r.version)
    ]
    if not refs:
        raise NotFound(f"no data structure {agency},{ident},{version}")
    return str(max(refs, key=lambda r: r.version))


def schema_answer(request: Request, tail: str, prefix: str) -> Response:
    context, agency, ident, version = split_tail(tail, 4, prefix)
    store: StructureStore = request.app.state.store
    if ident in ("all", "*"):
        raise InvalidRequest("name the dataflow or data structure of the schema")
    if context == "dataflow":
        schema = resolve_flow(store, agency, ident, version)
        text = str(schema.dataflow)
    elif context == "datastructure":
        text = _dsd_text(store, agency, ident, version)
        schema = store.schema_for(text)
    elif context in ("provisionagreement", "metadatastructure", "metadataflow"):
        raise FeatureNotImplemented(f"schemas by {context}")
    else:
        raise InvalidRequest(f"context {context!r} is not dataflow or datastructure")
    dim = parse_dimension_at_observation(request.query_params.get("dimensionAtObservation"), schema)
    digest = hashlib.sha256(f"{request.app.state.catalogue.version}\n{request.url}".encode())
    headers = {"ETag": f'"{digest.hexdigest()[:32]}"', "Cache-Control": "public, max-age=300"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    media_type, ml_version = XSD_TYPES[prefix]
    location = request.app.state.settings.sdmx_schemas_url
    body = dataflow_xsd(store, text, dim, location, version=ml_version)
    return Response(body, 200, headers, media_type=media_type)


@router.get("/schema/{tail:path}", response_class=Response, summary="DSD-specific XSD (1.5)")
def get_schema(request: Request, tail: str = "") -> Response:
    """The XSD for structure-specific data of a dataflow or data structure."""
    return schema_answer(request, tail, "/rest/schema")


@router.get("/v2/schema/{tail:path}", response_class=Response, summary="DSD-specific XSD (2.0)")
def get_schema_v2(request: Request, tail: str = "") -> Response:
    """The 2.0 spelling of the same resource."""
    return schema_answer(request, tail, "/rest/v2/schema")
