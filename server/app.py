"""The web application factory.

``create_app(settings)`` builds a fresh app with its own structure catalogue; nothing is built at
import time, so tests can run several apps with different settings side by side. The structures
are loaded (and their references checked) here, so broken files fail at start-up, not at the first
request. The SDMX-REST structure resources answer under ``/rest`` (1.5) and ``/rest/v2`` (2.0);
every error leaves as an SDMX error message (``server.errors``). Data pushes and the submission
log (``server.routers.submissions``) need a token; at start-up, submissions a killed process left
unfinished are marked failed (they stored nothing: a file is stored in one transaction).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from exchange.services.structure_query import load_catalogue
from exchange.services.submit import Submitter
from exchange.storage import DataStore
from server.errors import install_error_handlers
from server.responses import BodyCache
from server.routers import (
    availability,
    data,
    data_v2,
    pages,
    schema,
    structure,
    structure_v2,
    submissions,
)
from server.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    catalogue = load_catalogue(settings.structures_root)
    store = catalogue.store
    data_store = DataStore(settings.database_url)
    data_store.migrate()
    data_store.submissions.recover()  # what a killed process left unfinished stored nothing
    submitter = Submitter(store, data_store)
    workers = submissions.Workers(settings.submission_workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        workers.close()
        submitter.close()
        data_store.close()

    app = FastAPI(title="ILMS Exchange", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.catalogue = catalogue
    app.state.store = store
    app.state.data = data_store
    app.state.body_cache = BodyCache(settings.body_cache_bytes)
    app.state.submitter = submitter
    app.state.workers = workers
    app.add_middleware(
        GZipMiddleware,
        minimum_size=settings.gzip_minimum_size,
        compresslevel=settings.gzip_level,
    )
    install_error_handlers(app)
    app.include_router(structure.router)
    app.include_router(structure_v2.router)
    for router in (data.router, data_v2.router, availability.router, schema.router):
        app.include_router(router)
    app.include_router(submissions.router)
    app.include_router(pages.router)

    @app.get("/health")
    def health() -> dict[str, object]:
        return {"status": "ok", "dataflows": len(store.dataflows()), "artefacts": len(store.refs)}

    return app


def freeze_startup_objects() -> None:
    """Keep what start-up built out of the garbage collector's way, for the process's life.

    The structure catalogue is ~240k objects that live as long as the app; every full
    collection walked them all (140-330 ms: the p99 spikes of small data queries). A process
    that serves one app calls this once it is built (``ilms serve``); tests that build many
    apps do not, so theirs can still be collected.
    """
    gc.collect()
    gc.freeze()
