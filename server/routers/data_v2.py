"""SDMX-REST 2.0 data queries: ``/rest/v2/data/{context}/{agencyID}/{resourceID}/{version}/{key}``.

Every segment after ``data`` is optional (``*``, ``*``, ``*``, ``~``, ``*``); the context is
``dataflow`` (or ``*``; ``datastructure`` and ``provisionagreement`` contexts answer 501), ``*``
is the wildcard and ``,`` separates alternatives in the key. Parameters: ``c[COMPONENT]``
filters, ``updatedAfter``, ``firstNObservations``, ``lastNObservations``,
``dimensionAtObservation``, ``attributes``, ``measures``, ``includeHistory`` (only ``false``),
plus ``format``/``labels``/``timeFormat``. Answers are SDMX-JSON 2.0.0 by default, SDMX-ML 3.0
and SDMX-CSV 2.0 on request (see :mod:`server.data_negotiation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from exchange.errors import FeatureNotImplemented, InvalidRequest
from exchange.model.store import StructureStore
from exchange.services.data_query import (
    DataQuery,
    parse_attributes,
    parse_conditions,
    parse_count,
    parse_dimension_at_observation,
    parse_key,
    parse_measures,
    parse_updated_after,
    resolve_flow,
)
from server.data_negotiation import negotiate_data
from server.routers.data import split_tail
from server.routers.data_common import data_answer

router = APIRouter(prefix="/rest/v2", tags=["data (SDMX-REST 2.0)"])
CONTEXTS = ("dataflow", "*")


def build_query_v2(
    store: StructureStore,
    path: list[str],
    params: Mapping[str, str],
    items: Iterable[tuple[str, str]],
) -> DataQuery:
    """The ``DataQuery`` of a 2.0 path (context, agency, id, version, key) and its parameters."""
    context, agency, ident, version, key = path
    if context not in CONTEXTS and context != "all":
        if context in ("datastructure", "provisionagreement"):
            raise FeatureNotImplemented(f"data by {context}: query by dataflow")
        raise InvalidRequest(f"context {context!r} is not dataflow, datastructure or *")
    if params.get("includeHistory", "false").lower() not in ("false", ""):
        raise FeatureNotImplemented("includeHistory: the service keeps no history of values")
    schema = resolve_flow(store, agency, ident, version)
    return DataQuery(
        schema=schema,
        key=parse_key(key, schema, v2=True),
        updated_after=parse_updated_after(params.get("updatedAfter")),
        first_n=parse_count(params.get("firstNObservations"), "firstNObservations"),
        last_n=parse_count(params.get("lastNObservations"), "lastNObservations"),
        dimension_at_observation=parse_dimension_at_observation(
            params.get("dimensionAtObservation"), schema
        ),
        attributes=parse_attributes(params.get("attributes"), schema),
        measures=parse_measures(params.get("measures")),
        filters=parse_conditions(items, schema),
    )


@router.get("/data", response_class=Response, include_in_schema=False)
@router.get("/data/{tail:path}", response_class=Response, summary="Data (SDMX-REST 2.0)")
async def get_data_v2(request: Request, tail: str = "") -> Response:
    """Observations of one dataflow, streamed in the negotiated format (a coroutine, as the
    1.5 :func:`~server.routers.data.get_data`, for the same reason)."""
    path = split_tail(tail, 5, "/rest/v2/data")
    path = [p if p != "all" or i == 0 else "*" for i, p in enumerate(path)]
    if path[3] == "*":
        path[3] = "~"
    params = request.query_params
    rendering = negotiate_data(
        request.headers.get("accept"),
        params.get("format"),
        v2=True,
        labels=params.get("labels"),
        time_format=params.get("timeFormat"),
    )
    query = build_query_v2(request.app.state.store, path, params, params.multi_items())
    return await data_answer(request, request.app.state.data, query, rendering)
