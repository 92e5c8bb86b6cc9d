"""Answering a structure query: conditional requests, rendering, caching headers.

The ``ETag`` hashes the store version (a digest of every structure file), the request URL, the
negotiated media type and the preferred language, so it changes exactly when the answer can:
a client's ``If-None-Match`` is answered 304 before the query even runs. ``Last-Modified`` is the
newest structure file's time (``If-Modified-Since`` honoured too, RFC 9110 §13.1.3). Rendered
bodies are kept in a small LRU cache keyed by the ETag: structures change only with a redeploy.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from threading import Lock

from fastapi import Request
from fastapi.responses import Response

from exchange.services.structure_query import Catalogue, StructureQuery, run_query
from server.negotiation import Rendering, preferred_languages
from server.render_json import render_json
from server.render_ml import render_ml21

VARY = "Accept, Accept-Language, Accept-Encoding"


class BodyCache:
    """Rendered bodies by ETag, at most ``max_bytes`` in all (least recently used go first)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[str, tuple[bytes, str | None]] = OrderedDict()
        self._size = 0
        self._lock = Lock()

    def get(self, key: str) -> tuple[bytes, str | None] | None:
        with self._lock:
            found = self._bodies.get(key)
            if found is not None:
                self._bodies.move_to_end(key)
            return found

    def put(self, key: str, value: tuple[bytes, str | None]) -> None:
        if len(value[0]) > self.max_bytes:
            return
        with self._lock:
            if key in self._bodies:
                return
            self._bodies[key] = value
            self._size += len(value[0])
            while self._size > self.max_bytes:
                _, (body, _) = self._bodies.popitem(last=False)
                self._size -= len(body)


def etag_of(*parts: str) -> str:
    """A strong ETag from what the answer depends on (version or watermark, URL, rendering)."""
    return '"' + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32] + '"'


def entity_tag(catalogue: Catalogue, request: Request, rendering: Rendering) -> str:
    return etag_of(
        catalogue.version,
        str(request.url),
        rendering.value,
        request.headers.get("accept-language", ""),
    )


def not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    """Whether the client's copy is current (RFC 9110 §13.1: If-None-Match wins over
    If-Modified-Since, which has whole seconds — hence the truncation)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since and modified is not None:
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def structure_answer(
    request: Request,
    catalogue: Catalogue,
    cache: BodyCache,
    query: StructureQuery,
    rendering: Rendering,
) -> Response:
    """Run the query and write the answer, or 304 when the client's copy is current."""
    etag = entity_tag(catalogue, request, rendering)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(catalogue.modified, usegmt=True),
        "Vary": VARY,
        "Cache-Control": "public, max-age=300",
    }
    if not_modified(request, etag, catalogue.modified):
        return Response(status_code=304, headers=headers)
    found = cache.get(etag)
    if found is None:
        found = _render(request, catalogue, query, rendering)
        cache.put(etag, found)
    body, language = found
    if language:
        headers["Content-Language"] = language
    return Response(body, 200, headers, media_type=rendering.value)


def _render(
    request: Request, catalogue: Catalogue, query: StructureQuery, rendering: Rendering
) -> tuple[bytes, str | None]:
    selections = run_query(catalogue, query)
    base_url = str(request.base_url)
    if rendering is Rendering.JSON20:
        languages = preferred_languages(request.headers.get("accept-language"))
        return render_json(catalogue, selections, base_url, languages)
    return render_ml21(catalogue, selections, base_url), None
