"""The server killed (SIGKILL) in the middle of a submission: afterwards none or all of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from bench.ilms_data import AREAS, PLACES, SEXES, observations
from exchange.storage import DataStore, Status
from exchange.storage.submissions import INTERRUPTED
from tests.conftest import ROOT
from tests.server.conftest import _free_port
from tests.server.push_support import FLOW, PUSH, bearer, message

YEARS = 8
_SERVER = (
    "import sys, uvicorn; from server.app import create_app;"
    " uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)


@contextmanager
def server(url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The service in a process of its own (so that it can be killed), once it answers."""
    port = _free_port()
    env = os.environ | {"ILMS_DATABASE_URL": url, "ILMS_STRUCTURES_ROOT": str(ROOT)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def _kill_while_storing(
    process: subprocess.Popen[bytes], base: str, location: str, admin: str
) -> dict[str, Any]:
    """SIGKILL once the write has started (or it finished: then all of it must be there)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer: dict[str, Any] = httpx.get(base + location, headers=bearer(admin)).json()
        if answer["progress"]["observations"] > 0 or answer["status"] not in ("queued", "running"):
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return answer


@pytest.mark.slow
def test_a_server_killed_mid_submission_keeps_none_or_all(database_url: str) -> None:
    data = DataStore(database_url)
    data.migrate()
    _, admin = data.tokens.create(None, admin=True)
    from exchange.services.structures import load_store  # noqa: PLC0415 - only here

    schema = load_store(ROOT).schema(FLOW)
    per_year = len(AREAS) * len(SEXES) * 34 * len(PLACES)
    body = message(schema, observations(YEARS * per_year))
    with server(database_url) as (process, base):
        accepted = httpx.post(
            base + PUSH, content=body, headers=bearer(admin), params={"async": "true"}, timeout=60
        )
        assert accepted.status_code == 202, accepted.text
        seen = _kill_while_storing(process, base, accepted.headers["Location"], admin)
        if seen["status"] == "running":  # live progress: part of the file read and written
            assert seen["progress"]["observations"] > 0
            assert 0 < seen["progress"]["bytes"] <= seen["progress"]["totalBytes"] == len(body)
    with server(database_url) as (_, base):
        assert httpx.get(f"{base}/health").status_code == 200  # the service answers
        after = data.submissions.get(accepted.json()["id"])
        count = data.count(schema)
        if after.status is Status.FAILED:
            assert after.message == INTERRUPTED and count == 0  # none of it
        else:
            assert after.status is Status.STORED and count == YEARS * per_year  # all of it
        shown = httpx.get(base + accepted.headers["Location"], headers=bearer(admin)).json()
        assert shown["status"] == after.status.value
    data.close()
