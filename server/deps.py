"""Request dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from exchange.services.structure_query import Catalogue
from exchange.services.submit import Submitter
from exchange.storage import DataStore
from server.negotiation import Rendering, negotiate
from server.responses import BodyCache


def get_catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def get_data_store(request: Request) -> DataStore:
    data: DataStore = request.app.state.data
    return data


def get_submitter(request: Request) -> Submitter:
    submitter: Submitter = request.app.state.submitter
    return submitter


def get_body_cache(request: Request) -> BodyCache:
    cache: BodyCache = request.app.state.body_cache
    return cache


FormatParam = Annotated[
    str | None,
    Query(alias="format", description="structure, sdmx-json, jsonstructure… (wins over Accept)"),
]


def rendering_v1(request: Request, fmt: FormatParam = None) -> Rendering:
    """SDMX-REST 1.5: SDMX-ML 2.1 unless the client asks for SDMX-JSON."""
    return negotiate(request.headers.get("accept"), fmt, default=Rendering.ML21)


def rendering_v2(request: Request, fmt: FormatParam = None) -> Rendering:
    """SDMX-REST 2.x: SDMX-JSON 2.0.0 (the SDMX 3.0 model) by default; SDMX-ML 2.1 on request."""
    return negotiate(request.headers.get("accept"), fmt, default=Rendering.JSON20)


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
BodyCacheDep = Annotated[BodyCache, Depends(get_body_cache)]
RenderingV1 = Annotated[Rendering, Depends(rendering_v1)]
RenderingV2 = Annotated[Rendering, Depends(rendering_v2)]
DataStoreDep = Annotated[DataStore, Depends(get_data_store)]
SubmitterDep = Annotated[Submitter, Depends(get_submitter)]
