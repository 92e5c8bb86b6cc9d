"""``exchange.client.push`` on its own: streaming, error bodies, retry timing, token hygiene."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from exchange.client import PushClient, RetryPolicy, Upload, error_text
from exchange.client.push import service_root
from exchange.errors import InvalidRequest, Unauthorized
from tests.conftest import DATA

PUSH = DATA / "push"
URL = "http://ilms.test"
FLOW = "ILO,DF_MST_TEMP_SEX_AGE_CBR_NB,1.0"
CSV10 = "application/vnd.sdmx.data+csv;version=1.0.0"
TOKEN = "ilms_phl_s3cr3t"


class Recording(httpx.BaseTransport):
    """Reads the request body block by block as a server would, and answers ``answer``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.blocks: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.blocks += [len(block) for block in request.stream]
        return self.answer(request)


def stored(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, content=(PUSH / "stored.json").read_bytes())


def test_file_is_streamed_in_blocks_with_its_length(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes((PUSH / "phl-2023.csv").read_bytes() * 2500)  # about 2.3 MB
    size = big.stat().st_size
    transport = Recording(stored)
    uploaded: list[int] = []
    with PushClient(URL, TOKEN, transport=transport) as client:
        submission = client.push(
            Upload(big, FLOW, CSV10), on_upload=lambda sent, total: uploaded.append(sent)
        )
    assert submission.status == "stored"
    assert sum(transport.blocks) == size
    assert len(transport.blocks) > 30 and max(transport.blocks) <= 64 * 1024
    assert uploaded == sorted(uploaded) and uploaded[-1] == size


def test_sdmx_error_bodies_in_both_renderings_give_their_text() -> None:
    xml = (PUSH / "error-403.xml").read_bytes()
    assert error_text(xml, "application/xml") == (
        "Forbidden: provider PHL may not write REF_AREA MYS to DF_MST_TEMP_SEX_AGE_CBR_NB"
    )
    assert error_text((PUSH / "error-401.json").read_bytes(), "application/json") == (
        "missing or invalid API token"
    )
    assert error_text(b"<html>Bad gateway</html>", "text/html") == "Bad gateway"
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>'
    assert "aaaaaaaa" not in error_text(bomb, "application/xml")  # entities never expanded


def test_retry_after_as_http_date_is_honoured_and_bounded() -> None:
    answers = iter([503, 201])

    def busy_then_stored(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 201:
            return stored(request)
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
        return httpx.Response(503, headers={"Retry-After": when})

    waited: list[float] = []
    transport = Recording(busy_then_stored)
    with PushClient(URL, TOKEN, transport=transport, sleep=waited.append) as client:
        assert client.push(Upload(PUSH / "phl-2023.csv", FLOW, CSV10)).status == "stored"
    assert len(waited) == 1 and 17 <= waited[0] <= 20
    policy = RetryPolicy()
    assert policy.delay(3) == 8.0 and policy.delay(10) == policy.cap
    assert policy.delay(0, 86400.0) == policy.max_retry_after


def test_service_root_accepts_rest_and_prefixes() -> None:
    assert service_root("http://h:8000/rest/") == "http://h:8000"
    assert service_root("https://h/ilms/rest") == "https://h/ilms"
    with pytest.raises(InvalidRequest):
        service_root("ftp://h/")


def test_token_never_in_repr_or_error(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        body = (PUSH / "error-401.json").read_bytes()
        return httpx.Response(401, content=body, headers={"Content-Type": "application/json"})

    client = PushClient(URL, TOKEN, transport=Recording(refuse))
    assert TOKEN not in repr(client)
    with client, pytest.raises(Unauthorized) as caught:
        client.push(Upload(PUSH / "phl-2023.csv", FLOW, CSV10))
    assert TOKEN not in str(caught.value) and "missing or invalid API token" in str(caught.value)


def test_redirects_are_not_followed_with_the_token() -> None:
    def moved(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": "http://elsewhere.test/rest/data/X"})

    transport = Recording(moved)
    with PushClient(URL, TOKEN, transport=transport) as client, pytest.raises(Exception) as caught:
        client.push(Upload(PUSH / "phl-2023.csv", FLOW, CSV10))
    assert "HTTP 307" in str(caught.value)
    assert json.dumps(str(caught.value)).count("elsewhere") == 0
