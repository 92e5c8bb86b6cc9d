"""HTTP caching and compression: ETag, Last-Modified, 304, gzip."""

from __future__ import annotations

import gzip
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

URL = "/rest/dataflow/ILO/all/latest"


def test_etag_and_last_modified(client: TestClient, app: FastAPI) -> None:
    first = client.get(URL)
    again = client.get(URL)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag == again.headers["etag"]
    modified = parsedate_to_datetime(first.headers["last-modified"])
    assert modified == app.state.catalogue.modified
    assert "Accept" in first.headers["vary"]
    # the tag depends on the URL, the negotiated type and the language
    assert client.get(URL + "/").headers["etag"] != etag
    assert client.get(URL, headers={"Accept": "application/json"}).headers["etag"] != etag
    assert client.get(URL, headers={"Accept-Language": "fr"}).headers["etag"] != etag


def test_if_none_match_is_304(client: TestClient) -> None:
    etag = client.get(URL).headers["etag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = client.get(URL, headers={"If-None-Match": header})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == etag
    assert client.get(URL, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_if_modified_since(client: TestClient, app: FastAPI) -> None:
    modified = app.state.catalogue.modified
    since = format_datetime(modified, usegmt=True)
    assert client.get(URL, headers={"If-Modified-Since": since}).status_code == 304
    older = format_datetime(modified.replace(year=modified.year - 1), usegmt=True)
    assert client.get(URL, headers={"If-Modified-Since": older}).status_code == 200
    assert client.get(URL, headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_gzip(client: TestClient) -> None:
    response = client.get(URL, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.content.startswith(b"<?xml")  # httpx decompressed it
    raw = client.get(URL, headers={"Accept-Encoding": "gzip"}).read()
    assert raw.startswith(b"<?xml")
    plain = client.get(URL, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(gzip.compress(plain.content)) < len(plain.content) / 4


def test_cached_body_is_reused(client: TestClient, app: FastAPI) -> None:
    url = "/rest/codelist/ILO/CL_AGE"
    first = client.get(url)
    cached = app.state.body_cache.get(first.headers["etag"])
    assert cached is not None and cached[0] == first.content
