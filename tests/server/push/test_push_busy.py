"""A push that cannot be logged because another write holds SQLite's lock: 503, try again (#6).

On SQLite one write runs at a time, and a push holds the write lock for its whole run (it
validates and stores in one pass). A push arriving meanwhile waits up to the busy timeout to be
logged; past it, the answer must be a 503 with ``Retry-After`` (which ``ilms push`` retries on),
not an internal error, and nothing of it may be logged or stored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from exchange.storage import DataStore, engine
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT
from tests.server.conftest import serve
from tests.server.push_support import CSV, FLOW, PUSH, bearer, cube, message


def test_a_push_while_the_store_is_locked_is_503_then_goes_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 300)  # (60 s in service)
    database = tmp_path / "ilms.db"
    app = create_app(
        Settings(structures_root=ROOT, database_url=f"sqlite:///{database}", upload_dir=tmp_path)
    )
    data: DataStore = app.state.data
    token = data.tokens.create("PHL")[1]
    schema = app.state.store.schema(FLOW)
    body = message(schema, cube("PHL"))
    headers = bearer(token, **{"Content-Type": CSV})
    with serve(app) as url:
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer, holding the lock
        try:
            busy = httpx.post(url + PUSH, content=body, headers=headers, timeout=30)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["Retry-After"]) > 0
        assert "busy" in busy.text
        assert data.submissions.list() == [] and data.count(schema) == 0
        again = httpx.post(url + PUSH, content=body, headers=headers, timeout=30)
        assert again.status_code == 201, again.text
        assert data.count(schema) == len(cube("PHL"))
    data.close()
