"""SDMX-REST 1.5 data queries: ``/rest/data/{flowRef}/{key}/{providerRef}``.

``flowRef`` is ``DF_X``, ``ILO,DF_X`` or ``ILO,DF_X,1.0`` (``all`` agency, ``latest`` version);
``key`` and ``providerRef`` are optional (``all``), a trailing slash is accepted. Parameters:
``startPeriod``, ``endPeriod``, ``updatedAfter``, ``firstNObservations``, ``lastNObservations``,
``dimensionAtObservation``, ``detail``, ``includeHistory`` (only ``false``), plus ``format``,
``labels`` and ``timeFormat`` (SDMX-CSV). See :mod:`exchange.services.data_query` for their
meaning and :mod:`server.data_negotiation` for the formats.

Keys too long for a URL (thousands of codes OR-ed) go in a form instead:
``POST /rest/data/query/{flowRef}`` with an ``application/x-www-form-urlencoded`` body holding
``key`` and any of the parameters above. (``POST /rest/data/{flowRef}`` is left for data
*submissions*, whose body is a data message.)
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from exchange.errors import FeatureNotImplemented, InvalidRequest, NotFound
from exchange.model.store import StructureStore
from exchange.services.data_query import (
    DataQuery,
    parse_count,
    parse_detail,
    parse_dimension_at_observation,
    parse_flow_ref,
    parse_key,
    parse_period,
    parse_updated_after,
)
from server.data_negotiation import DataRendering, negotiate_data
from server.routers.data_common import data_answer

router = APIRouter(prefix="/rest", tags=["data (SDMX-REST 1.5)"])

PROVIDERS = frozenset({"all", "*", "ILO", "ILO,ILO", "ILO,ILO,1.0", "all,ILO"})


def check_provider(provider: str) -> None:
    """ILO is the one data provider (``DataProviders``); another one has no data."""
    if provider not in PROVIDERS and not provider.endswith(",ILO") and provider != "":
        raise NotFound(f"no data from provider {provider}")


def split_tail(tail: str, parts: int, what: str) -> list[str]:
    """The optional path segments after the resource, ``all`` when missing."""
    found = tail.split("/") if tail else []
    while found and not found[-1]:
        found.pop()  # trailing slash
    if len(found) > parts:
        raise NotFound(f"no resource at {what}/{tail} (too many path segments)")
    return [*found, *["all"] * (parts - len(found))]


def build_query(
    store: StructureStore, flow_ref: str, key: str, provider: str, params: Mapping[str, str]
) -> DataQuery:
    """The ``DataQuery`` of a 1.5 path and its parameters."""
    schema = parse_flow_ref(store, flow_ref)
    check_provider(provider)
    if params.get("includeHistory", "false").lower() not in ("false", ""):
        raise FeatureNotImplemented("includeHistory: the service keeps no history of values")
    start = parse_period(params.get("startPeriod"), "startPeriod")
    end = parse_period(params.get("endPeriod"), "endPeriod")
    if start and end and start[:4] > end[:4]:
        raise InvalidRequest(f"startPeriod={start} is after endPeriod={end}")
    return DataQuery(
        schema=schema,
        key=parse_key(key, schema),
        start_period=start,
        end_period=end,
        updated_after=parse_updated_after(params.get("updatedAfter")),
        first_n=parse_count(params.get("firstNObservations"), "firstNObservations"),
        last_n=parse_count(params.get("lastNObservations"), "lastNObservations"),
        dimension_at_observation=parse_dimension_at_observation(
            params.get("dimensionAtObservation"), schema
        ),
        detail=parse_detail(params.get("detail")),
    )


def rendering_of(request: Request, params: Mapping[str, str]) -> DataRendering:
    return negotiate_data(
        request.headers.get("accept"),
        params.get("format"),
        labels=params.get("labels"),
        time_format=params.get("timeFormat"),
    )


@router.get("/data/{flow_ref}", response_class=Response, summary="Data (SDMX-REST 1.5)")
@router.get("/data/{flow_ref}/{tail:path}", response_class=Response, include_in_schema=False)
async def get_data(request: Request, flow_ref: str, tail: str = "") -> Response:
    """Observations of one dataflow, streamed in the negotiated format.

    A coroutine (parsing is quick, pure Python; the store is reached from threads by
    :func:`~server.routers.data_common.data_answer`), and the store taken from the app's state
    rather than a sync dependency: each sync step is a thread-pool round trip per request.
    """
    key, provider = split_tail(tail, 2, f"/rest/data/{flow_ref}")
    params = request.query_params
    rendering = rendering_of(request, params)
    query = build_query(request.app.state.store, flow_ref, key, provider, params)
    return await data_answer(request, request.app.state.data, query, rendering)


@router.post("/data/query/{flow_ref}", response_class=Response, summary="Data, key in a form")
async def post_data_query(request: Request, flow_ref: str) -> Response:
    """The GET query with its key and parameters in a form body (for very long keys)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidRequest("send the query as application/x-www-form-urlencoded")
    form = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    params = {**request.query_params, **dict(form)}
    rendering = rendering_of(request, params)
    key, provider = params.get("key", "all"), params.get("providerRef", "all")
    query = build_query(request.app.state.store, flow_ref, key, provider, params)
    return await data_answer(request, request.app.state.data, query, rendering)
