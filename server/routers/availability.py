"""Data availability: which codes have data, as an ``Actual`` constraint.

- SDMX-REST 1.5 ``/rest/availableconstraint/{flowRef}/{key}/{providerRef}/{componentID}``: an
  SDMX-ML 2.1 structure message with one ``ContentConstraint type="Actual"``.
- SDMX-REST 2.0 ``/rest/v2/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/
  {componentID}``: SDMX-JSON 2.0.0 with one ``dataConstraint`` of role ``Actual``.

The cube region lists, per dimension, the codes of the series the query selects (``startPeriod``,
``endPeriod``, ``updatedAfter`` and, on 2.0, ``c[DIM]`` filters narrow it). ``mode=exact`` (the
default) is just that; ``mode=available`` lists for each dimension the codes still possible
given the selection on the *other* dimensions (what a data explorer's filter panel shows). The
store keeps the unfiltered counts precomputed, so an open query is one small indexed read. The
``TIME_PERIOD`` range and ``references`` are not included.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from lxml import etree

from exchange.errors import InvalidRequest, NotFound
from exchange.formats.sdmxml import COM, STR, XML_LANG, qname
from exchange.formats.structure_ml21 import Artefact, header, structure_message
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Schema
from exchange.services.data_query import (
    TIME,
    DataQuery,
    KeyPart,
    parse_conditions,
    parse_flow_ref,
    parse_key,
    parse_period,
    parse_updated_after,
    push_down,
    resolve_flow,
)
from exchange.services.structure_json import SCHEMA_URL as STRUCTURE_SCHEMA
from exchange.storage import DataStore
from server.deps import DataStoreDep
from server.routers.data import check_provider, split_tail

router = APIRouter(prefix="/rest", tags=["availability"])
MODES = ("exact", "available")
ML_TYPE = "application/vnd.sdmx.structure+xml; version=2.1"
JSON_TYPE = "application/vnd.sdmx.structure+json; version=2.0.0"


def available_codes(
    data: DataStore,
    schema: Schema,
    key: tuple[KeyPart, ...] | None,
    params: dict[str, Any],
    mode: str,
    component: str,
) -> dict[str, list[str]]:
    """Per dimension (key order), the codes with data; 404 when nothing matches."""
    if mode not in MODES:
        raise InvalidRequest(f"mode={mode!r} is not exact or available")
    dims = schema.dimension_ids
    if component not in ("all", "*") and component not in dims:
        raise InvalidRequest(f"componentID {component!r} is not a dimension ({', '.join(dims)})")
    wanted = dims if component in ("all", "*") else (component,)
    found: dict[str, list[str]] = {}
    exact = data.availability(schema, list(key) if key else None, **params)
    for dim in wanted:
        counts = exact.get(dim, {})
        if mode == "available" and key is not None and key[dims.index(dim)] is not None:
            others = [None if d == dim else part for d, part in zip(dims, key, strict=True)]
            counts = data.availability(schema, others, **params).get(dim, {})
        found[dim] = sorted(counts)
    if not any(found.values()) or not all(exact.get(d) for d in dims):
        raise NotFound(f"no data for {schema.dataflow} with these parameters")
    return found


def _constraint_ref(schema: Schema) -> ArtefactRef:
    flow = schema.dataflow or schema.dsd
    return ArtefactRef(Kind.CONTENT_CONSTRAINT, flow.agency, f"CC_AVAILABLE_{flow.id}", "1.0")


def constraint_ml(schema: Schema, codes: dict[str, list[str]]) -> bytes:
    """An SDMX-ML 2.1 structure message holding one Actual ``ContentConstraint``."""
    ref, flow = _constraint_ref(schema), schema.dataflow or schema.dsd
    element = etree.Element(
        qname(STR, "ContentConstraint"),
        id=ref.id,
        urn=ref.urn,
        agencyID=ref.agency,
        version=ref.version,
        isExternalReference="false",
        isFinal="false",
        type="Actual",
    )
    name = etree.SubElement(element, qname(COM, "Name"))
    name.set(XML_LANG, "en")
    name.text = f"Data available in {flow.id}"
    attachment = etree.SubElement(element, qname(STR, "ConstraintAttachment"))
    kind = "Dataflow" if schema.dataflow is not None else "DataStructure"
    holder = etree.SubElement(attachment, qname(STR, kind))
    ref_attributes = {"id": flow.id, "version": flow.version, "agencyID": flow.agency}
    ref_attributes |= {"package": "datastructure", "class": kind}
    etree.SubElement(holder, "Ref", ref_attributes)
    region = etree.SubElement(element, qname(STR, "CubeRegion"), include="true")
    for dim, values in codes.items():
        key_value = etree.SubElement(region, qname(COM, "KeyValue"), id=dim)
        for value in values:
            etree.SubElement(key_value, qname(COM, "Value")).text = value
    return structure_message([Artefact(ref, element)], hdr=header(ident="AVAILABILITY"))


def constraint_json(schema: Schema, codes: dict[str, list[str]]) -> bytes:
    """An SDMX-JSON 2.0.0 structure message holding one Actual ``dataConstraint``."""
    ref, flow = _constraint_ref(schema), schema.dataflow or schema.dsd
    target = "dataflows" if schema.dataflow is not None else "dataStructures"
    constraint = {
        "id": ref.id,
        "urn": ref.urn,
        "agencyID": ref.agency,
        "version": ref.version,
        "isExternalReference": False,
        "name": f"Data available in {flow.id}",
        "names": {"en": f"Data available in {flow.id}"},
        "role": "Actual",
        "constraintAttachment": {target: [flow.urn]},
        "cubeRegions": [
            {
                "include": True,
                "keyValues": [
                    {"id": dim, "values": [{"value": v} for v in values]}
                    for dim, values in codes.items()
                ],
            }
        ],
    }
    message = {
        "meta": {
            "schema": STRUCTURE_SCHEMA,
            "id": "AVAILABILITY",
            "test": False,
            "prepared": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "contentLanguages": ["en"],
            "sender": {"id": "ILO"},
        },
        "data": {"dataConstraints": [constraint]},
    }
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


def _wants_json(request: Request, default: bool) -> bool:
    accept = (request.headers.get("accept") or "").lower()
    fmt = (request.query_params.get("format") or "").lower()
    if fmt:
        return "json" in fmt
    if "json" in accept and "xml" not in accept.split(",")[0]:
        return True
    return default and "xml" not in accept


def _period_params(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "start_period": parse_period(params.get("startPeriod"), "startPeriod"),
        "end_period": parse_period(params.get("endPeriod"), "endPeriod"),
        "updated_after": parse_updated_after(params.get("updatedAfter")),
    }


def _answer(request: Request, schema: Schema, codes: dict[str, list[str]], v2: bool) -> Response:
    headers = {"Vary": "Accept", "Cache-Control": "no-cache"}
    if _wants_json(request, default=v2):
        return Response(constraint_json(schema, codes), 200, headers, media_type=JSON_TYPE)
    return Response(constraint_ml(schema, codes), 200, headers, media_type=ML_TYPE)


@router.get("/availableconstraint/{flow_ref}", response_class=Response)
@router.get("/availableconstraint/{flow_ref}/{tail:path}", include_in_schema=False)
def available_constraint(
    request: Request, data: DataStoreDep, flow_ref: str, tail: str = ""
) -> Response:
    """SDMX-REST 1.5 availability (SDMX-ML 2.1 ``ContentConstraint``; SDMX-JSON 2.0 on request)."""
    key_text, provider, component = split_tail(tail, 3, f"/rest/availableconstraint/{flow_ref}")
    schema = parse_flow_ref(request.app.state.store, flow_ref)
    check_provider(provider)
    key = parse_key(key_text, schema)
    mode = request.query_params.get("mode", "exact")
    codes = available_codes(data, schema, key, _period_params(request), mode, component)
    return _answer(request, schema, codes, v2=False)


@router.get("/v2/availability/{tail:path}", response_class=Response)
def availability_v2(request: Request, data: DataStoreDep, tail: str = "") -> Response:
    """SDMX-REST 2.0 availability (SDMX-JSON 2.0.0 ``dataConstraint``; SDMX-ML 2.1 on request)."""
    context, agency, ident, version, key_text, component = split_tail(
        tail, 6, "/rest/v2/availability"
    )
    if context not in ("dataflow", "*", "all"):
        raise InvalidRequest(f"context {context!r}: availability is answered by dataflow")
    schema = resolve_flow(request.app.state.store, agency, ident, version)
    query = DataQuery(
        schema,
        key=parse_key(key_text, schema, v2=True),
        filters=parse_conditions(request.query_params.multi_items(), schema),
    )
    query = push_down(query)
    periods = _period_params(request)
    for flt in query.filters:
        terms = flt.alternatives[0] if len(flt.alternatives) == 1 else ()
        bounds = {"ge": "start_period", "le": "end_period"}
        if flt.component != TIME or not terms or any(op not in bounds for op, _ in terms):
            raise InvalidRequest(
                "availability filters: c[DIMENSION]=code,… and c[TIME_PERIOD]=ge:…+le:… only"
            )
        for op, value in terms:
            periods[bounds[op]] = parse_period(value, f"c[{TIME}]")
    mode = request.query_params.get("mode", "exact")
    codes = available_codes(data, schema, query.key, periods, mode, component)
    return _answer(request, schema, codes, v2=True)
