"""A push is validated and written in one pass, in a transaction committed only if valid (#6).

What the one pass must not change: an error found late — after thousands of observations went
to the writer — still leaves the store exactly as it was, and readers meanwhile see the store
before or after a push, never part of it.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from bench.ilms_data import AREAS, PLACES, SEXES, observations
from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.storage import DataStore
from tests.server.push_support import (
    Tokens,
    core,
    cube,
    message,
    push,
    stored,
)

PER_YEAR = len(AREAS) * len(SEXES) * 34 * len(PLACES)
#: eleven countries' two years: validation hands parts of 4,096 on, the writer writes batches of
#: 5,000, so the rows reach the database well before the end
ROWS = 11 * 2 * PER_YEAR // len(AREAS)


def _rows() -> list[Observation]:
    """The first eleven countries' 2023 and 2024: 11,968 valid observations."""
    return list(observations(2 * PER_YEAR))[:ROWS]


def _written(monkeypatch: pytest.MonkeyPatch, data: DataStore) -> list[int]:
    """Count the observations the writer takes from a push (in a list, for the test)."""
    taken: list[int] = []
    apply: Callable[..., Any] = data.apply

    def counting(flow: Schema, action: Any, rows: Iterable[Observation], **kw: Any) -> Any:
        def counted() -> Iterator[Observation]:
            for n, obs in enumerate(rows, 1):
                taken[:] = [n]
                yield obs

        return apply(flow, action, counted(), **kw)

    monkeypatch.setattr(data, "apply", counting)
    return taken


def _gzipped(flow: Schema, rows: list[Observation]) -> bytes:
    """The rows as gzip SDMX-CSV (under the test app's upload limit of 1 MiB)."""
    return gzip.compress(message(flow, rows))


class _Reader(threading.Thread):
    """Counts the stored observations again and again while a push runs."""

    def __init__(self, data: DataStore, flow: Schema) -> None:
        super().__init__(daemon=True)
        self.data, self.schema = data, flow
        self.seen: set[int] = set()
        self.reads = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.seen.add(self.data.count(self.schema))
            self.reads += 1

    def __enter__(self) -> _Reader:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.join(timeout=30)


def test_a_bad_code_in_the_last_row_rolls_back_what_was_written(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data: DataStore = push_app.state.data
    assert push(live, tokens.phl, message(schema, cube("PHL"))).status_code == 201
    before, count, watermark = stored(push_app), data.count(schema), data.watermark()
    rows = _rows()
    rows[-1] = rows[-1]._replace(attributes={**rows[-1].attributes, "OBS_STATUS": "ZZ"})
    taken = _written(monkeypatch, data)
    with _Reader(data, schema) as reader:
        answer = push(live, tokens.admin, _gzipped(schema, rows), method="PUT")
    assert answer.status_code == 422, answer.text
    assert answer.json()["report"]["counts"]["by_code"] == {"unknown-code": 1}
    assert taken and taken[0] >= 8_000  # rows went to the writer before the error was seen
    assert taken[0] < ROWS  # … but not the bad one
    assert (stored(push_app), data.count(schema), data.watermark()) == (before, count, watermark)
    assert reader.reads > 0 and reader.seen == {count}


def test_a_total_found_wrong_at_the_end_rolls_back_the_whole_file(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data: DataStore = push_app.state.data
    rows = _rows()
    last = len(rows) - 1  # the last country's last series: its total is checked at the end
    rows[last] = rows[last]._replace(value=str(float(rows[last].value or 0) + 1000))
    taken = _written(monkeypatch, data)
    answer = push(live, tokens.admin, _gzipped(schema, rows))
    assert answer.status_code == 422, answer.text
    by_code = answer.json()["report"]["counts"]["by_code"]
    assert "total-mismatch" in by_code, by_code
    assert set(by_code) <= {"total-mismatch", "implausible-change"}  # (a warning: the jump)
    assert taken[0] == ROWS  # every row was written, then rolled back
    assert data.count(schema) == 0 and stored(push_app) == set()


def test_readers_see_a_valid_push_whole_or_not_at_all(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    data: DataStore = push_app.state.data
    assert push(live, tokens.phl, message(schema, cube("PHL"))).status_code == 201
    count = data.count(schema)
    rows = [o for o in _rows() if o.key[0] != "PHL"]
    with _Reader(data, schema) as reader:
        answer = push(live, tokens.admin, _gzipped(schema, rows))
    assert answer.status_code == 201, answer.text
    assert data.count(schema) == count + len(rows)
    assert stored(push_app) == core(cube("PHL")) | core(rows)
    assert reader.reads > 0 and reader.seen <= {count, count + len(rows)}
