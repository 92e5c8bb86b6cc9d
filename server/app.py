"""The web application factory.

``create_app(settings)`` builds a fresh app with its own structure store; nothing is built at
import time, so tests can run several apps with different settings side by side. The SDMX-REST
resources arrive with the REST issue; for now the service loads the structures (failing at start-up,
not at the first request, if they are broken) and answers a health check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from exchange.services.structures import load_store
from server.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    store = load_store(settings.structures_root)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(title="ILMS Exchange", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store

    @app.get("/health")
    def health() -> dict[str, object]:
        return {"status": "ok", "dataflows": len(store.dataflows()), "artefacts": len(store.refs)}

    return app
