"""A push is checked against the tables already stored (labour-force identity across tables)."""

from __future__ import annotations

import io

import httpx
from fastapi import FastAPI

from exchange.formats import csv10
from exchange.model.records import Action, MessageInfo, Observation
from exchange.storage import DataStore
from tests.server.push_support import (
    CSV,
    Tokens,
    bearer,
)

NB = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}
TOTALS = ("SEX_T", "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")


def _obs(measure: str, value: str) -> Observation:
    return Observation(("PHL", "A", measure, *TOTALS), "2020", value, NB)


def _csv(app: FastAPI, table: str, rows: list[Observation]) -> bytes:
    out = io.BytesIO()
    csv10.write(MessageInfo(schema=app.state.store.schema(table)), rows, out)
    return out.getvalue()


def test_labour_force_that_contradicts_stored_tables_is_rejected(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
) -> None:
    data: DataStore = push_app.state.data
    store = push_app.state.store
    for table, measure, value in (("TEMP", "MST_TEMP_NB", "110.0"), ("TUNE", "MST_TUNE_NB", "7.0")):
        flow = f"DF_MST_{table}_SEX_AGE_CBR_NB"
        data.apply(store.schema(flow), Action.APPEND, [_obs(measure, value)])
    before = data.watermark()
    teap = "DF_MST_TEAP_SEX_AGE_CBR_NB"

    def push_teap(value: str) -> httpx.Response:
        return httpx.post(
            f"{live}/rest/data/{teap}",
            content=_csv(push_app, teap, [_obs("MST_TEAP_NB", value)]),
            headers=bearer(tokens.phl, **{"Content-Type": CSV}),
            timeout=60,
        )

    wrong = push_teap("120.0")
    assert wrong.status_code == 422, wrong.text
    (issue,) = wrong.json()["report"]["issues"]
    assert issue["code"] == "identity-mismatch"
    assert issue["message"].endswith("Already stored: TEMP, TUNE.")
    assert data.count(store.schema(teap)) == 0 and data.watermark() == before

    right = push_teap("117.0")
    assert right.status_code == 201, right.text
    assert data.count(store.schema(teap)) == 1
