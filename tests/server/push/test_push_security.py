"""Pushes that must be refused or must not hurt: tokens, sizes, hostile XML and names, hang-ups."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from exchange.model.schema import Schema
from tests.server.push_support import (
    LIMIT,
    PUSH,
    Tokens,
    bearer,
    cube,
    message,
    push,
    stored,
)
from tests.server.test_data_support import sdmx_error


def _nothing_left(push_app: FastAPI, upload_dir: Path) -> None:
    """No data, no submission, no temporary file."""
    assert stored(push_app) == set()
    assert push_app.state.data.submissions.list() == []
    assert list(upload_dir.iterdir()) == []


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer ilms_nope"])
def test_no_valid_token_is_401_with_a_bearer_challenge(
    live: str,
    header: str | None,
    schema: Schema,
) -> None:
    headers = {} if header is None else {"Authorization": header}
    answer = httpx.post(live + PUSH, content=message(schema, cube("PHL")[:3]), headers=headers)
    assert sdmx_error(answer, 401, 110)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert httpx.get(f"{live}/submissions", headers=headers).status_code == 401


def test_a_revoked_token_is_401_and_reading_needs_none(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    answer = push(live, tokens.revoked, message(schema, cube("PHL")))
    assert "revoked" in sdmx_error(answer, 401, 110)
    assert stored(push_app) == set()
    assert httpx.get(f"{live}/rest/data/DF_MST_TEMP_SEX_AGE_CBR_NB").status_code in (200, 404)


def test_the_token_never_appears_in_the_logs(
    live: str,
    tokens: Tokens,
    schema: Schema,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = tokens.phl[:-4] + "xxxx"
    with caplog.at_level(logging.DEBUG):
        push(live, tokens.phl, message(schema, cube("PHL")))
        push(live, wrong, b"x")
        push(live, tokens.phl, b"not data at all")
        httpx.get(f"{live}/submissions", headers=bearer(tokens.phl))
    assert caplog.records  # something was logged at all …
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (tokens.phl, wrong, tokens.phl[5:20]):
        assert secret not in text  # … but never a token


def test_an_oversized_declared_body_is_413_before_it_is_sent(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    upload_dir: Path,
) -> None:
    """Only the headers go out: the server must answer without waiting for the body."""
    parts = urlsplit(live)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {PUSH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens.phl}\r\n"
            f"Content-Type: text/csv\r\nContent-Length: {100 * LIMIT}\r\n\r\n".encode()
        )
        head = sock.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head
    _nothing_left(push_app, upload_dir)


def test_an_oversized_streamed_body_is_cut_off_at_the_limit(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    upload_dir: Path,
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for _ in range(100):
            yield b"x" * 65536

    answer = httpx.post(live + PUSH, content=chunks(), headers=bearer(tokens.phl), timeout=30)
    assert "exceeds the limit" in sdmx_error(answer, 413, 510)
    _nothing_left(push_app, upload_dir)


def test_a_client_hanging_up_mid_upload_leaves_nothing(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    upload_dir: Path,
    schema: Schema,
) -> None:
    body = message(schema, cube("PHL"))
    parts = urlsplit(live)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {PUSH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens.phl}\r\n"
            f"Content-Type: text/csv\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while list(upload_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    _nothing_left(push_app, upload_dir)


class _Listener:
    """A loopback port that counts connections: an XXE that fetched anything would show."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            conn.close()


def test_xxe_in_an_uploaded_sdmx_ml_is_neither_fetched_nor_expanded(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    listener = _Listener()
    xml = message(schema, cube("PHL")[:4], "sdmx-ml-2.1-generic").decode()
    declaration, _, rest = xml.partition("?>")
    doctype = (
        '<!DOCTYPE m [<!ENTITY secret SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "http://127.0.0.1:{listener.port}/x">]>'
    )
    hostile = declaration + "?>" + doctype + rest.replace("PHL", "&secret;&remote;", 1)
    answer = push(live, tokens.admin, hostile.encode())
    listener.sock.close()
    assert answer.status_code == 422, answer.text
    assert answer.json()["report"]["counts"]["by_code"] == {"malformed-message": 1}
    assert "root:" not in answer.text
    assert listener.hits == 0
    assert stored(push_app) == set()


@pytest.mark.parametrize(
    "name", ["../../../../tmp/evil.csv", "..\\..\\windows\\evil.csv", "/etc/passwd", "..", ""]
)
def test_path_traversal_in_a_file_name_is_only_a_label(
    live: str,
    tokens: Tokens,
    upload_dir: Path,
    schema: Schema,
    name: str,
) -> None:
    body = message(schema, cube("PHL")[:3])
    answer = httpx.post(
        live + PUSH,
        files={"file": (name, body, "text/csv")},
        headers=bearer(tokens.phl),
        params={"dryRun": "true"},
    )
    assert answer.status_code == 200, answer.text
    label = answer.json()["file"]["name"]
    assert "/" not in label and "\\" not in label and not label.startswith(".")
    assert label == (name.replace("\\", "/").rsplit("/", 1)[-1].lstrip(".") or "upload")
    assert not Path("/tmp/evil.csv").exists()
    assert list(upload_dir.iterdir()) == []
