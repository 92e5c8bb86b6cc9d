"""Pushing data over a real socket: stored whole or not at all, harvested back, logged (#6)."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI

from exchange.model.schema import Schema
from exchange.storage import DataStore
from tests.server.push_support import (
    CSV,
    DATAFLOW,
    FLOW,
    PUSH,
    PUSH_V2,
    Tokens,
    bearer,
    core,
    cube,
    message,
    push,
    read_answer,
    stored,
    wait_final,
)

JSON20 = "application/vnd.sdmx.data+json;version=2.0.0"
SOURCE = "SOURCE"


def test_pushed_csv_comes_back_identical_in_another_format(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    rows = cube("PHL")
    answer = push(live, tokens.phl, message(schema, rows))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "stored" and body["provider"] == "PHL" and body["action"] == "merge"
    assert body["counts"] == {"added": len(rows), "replaced": 0, "deleted": 0, "unchanged": 0}
    assert body["report"]["valid"] is True and body["duplicateOf"] is None
    assert body["progress"] == {
        "observations": len(rows),
        "bytes": body["file"]["size"],
        "totalBytes": body["file"]["size"],
    }
    harvest = httpx.get(f"{live}/rest/data/{FLOW}/PHL", headers={"Accept": JSON20}, timeout=60)
    assert harvest.status_code == 200
    assert core(read_answer(push_app, harvest.content)) == core(rows)


def test_updated_after_shows_exactly_the_second_push(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    first = [o for o in cube("PHL") if o.period == "2023"]
    second = [o for o in cube("PHL") if o.period == "2024"]
    assert push(live, tokens.phl, message(schema, first)).status_code == 201
    data: DataStore = push_app.state.data
    watermark = data.watermark()
    assert watermark is not None
    assert push(live, tokens.phl, message(schema, second), method="PUT").status_code == 201
    since = watermark.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    changed = httpx.get(
        f"{live}/rest/data/{FLOW}", params={"updatedAfter": since}, headers={"Accept": CSV}
    )
    assert core(read_answer(push_app, changed.content)) == core(second)


def test_merge_keeps_what_replace_removes_and_delete_tombstones(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    rows = cube("PHL")
    assert push(live, tokens.phl, message(schema, rows)).status_code == 201
    bare = [
        o._replace(attributes={k: v for k, v in o.attributes.items() if k != SOURCE}) for o in rows
    ]
    merged = push(live, tokens.phl, message(schema, bare))  # POST: merge
    assert merged.json()["counts"]["unchanged"] == len(rows)
    assert stored(push_app) == core(rows)  # SOURCE kept
    replaced = push(live, tokens.phl, message(schema, bare), method="PUT", path=PUSH_V2)
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["action"] == "replace"
    assert replaced.json()["counts"]["replaced"] == len(rows)
    assert stored(push_app) == core(bare)  # SOURCE gone
    old = [o for o in bare if o.period == "2023"]
    deleted = push(live, tokens.phl, message(schema, old), method="DELETE")
    assert deleted.status_code == 201, deleted.text
    assert deleted.json()["counts"] == {
        "added": 0,
        "replaced": 0,
        "deleted": len(old),
        "unchanged": 0,
    }
    assert stored(push_app) == core(o for o in bare if o.period == "2024")


def test_one_bad_code_among_many_rejects_the_whole_file(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    before = [o for o in cube("PHL") if o.period == "2023"]
    assert push(live, tokens.phl, message(schema, before)).status_code == 201
    data: DataStore = push_app.state.data
    count, content, watermark = data.count(schema), stored(push_app), data.watermark()
    rows = list(cube("PHL"))
    bad = 777
    rows[bad] = rows[bad]._replace(attributes={**rows[bad].attributes, "OBS_STATUS": "ZZ"})
    answer = push(live, tokens.phl, message(schema, rows))
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["status"] == "rejected" and body["counts"] is None
    assert body["report"]["counts"]["by_code"] == {"unknown-code": 1}
    (issue,) = body["report"]["issues"]
    assert issue["location"] | {"file": None} == {
        "file": None,
        "line": None,
        "column": None,
        "row": bad + 2,  # the header is row 1
        "sheet": None,
        "cell": None,
        "series_key": ".".join(rows[bad].key),
        "period": rows[bad].period,
        "component": "OBS_STATUS",
        "value": "ZZ",
    }
    assert "nothing was stored" in body["message"]
    assert (data.count(schema), stored(push_app), data.watermark()) == (count, content, watermark)


def test_a_provider_pushing_another_countrys_rows_is_forbidden(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    mys = message(schema, cube("MYS"))
    answer = push(live, tokens.phl, mys)
    assert answer.status_code == 403, answer.text
    assert answer.json()["status"] == "rejected"
    assert set(answer.json()["report"]["counts"]["by_code"]) == {"wrong-reporter"}
    assert stored(push_app) == set()
    assert push(live, tokens.mys, mys).status_code == 201  # its own data
    assert push(live, tokens.admin, message(schema, cube("PHL"))).status_code == 201  # any
    assert len(stored(push_app)) == len(cube("MYS")) + len(cube("PHL"))


def test_no_provision_agreement_is_forbidden_before_reading(
    live: str,
    tokens: Tokens,
    schema: Schema,
) -> None:
    answer = push(live, tokens.nowhere, message(schema, cube("PHL")[:10]))
    assert answer.status_code == 403
    assert "provision agreement" in answer.text
    log = httpx.get(f"{live}/submissions", headers=bearer(tokens.admin)).json()
    assert log == []


def test_the_same_file_twice_has_no_second_effect(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    body = message(schema, cube("PHL"))
    first = push(live, tokens.phl, body).json()
    data: DataStore = push_app.state.data
    watermark = data.watermark()
    again = push(live, tokens.phl, body)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate" and again.json()["duplicateOf"] == first["id"]
    assert "nothing was done" in again.json()["message"]
    assert data.watermark() == watermark  # not even an empty write
    # once something else changed the table, the same file is a real push again
    removed = push(live, tokens.phl, message(schema, cube("PHL")[:5]), method="DELETE")
    assert removed.status_code == 201, removed.text
    restored = push(live, tokens.phl, body)
    assert restored.status_code == 201 and restored.json()["counts"]["added"] == 5


def test_a_dry_run_validates_and_writes_nothing(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    answer = push(live, tokens.phl, message(schema, cube("PHL")), dryRun="true")
    assert answer.status_code == 200
    assert answer.json()["status"] == "valid" and answer.json()["dryRun"] is True
    assert answer.json()["report"]["observations"] == len(cube("PHL"))
    data: DataStore = push_app.state.data
    assert data.count(schema) == 0 and data.watermark() is None


def test_async_answers_at_once_then_the_log_reaches_stored(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    answer = push(live, tokens.phl, message(schema, cube("PHL")), **{"async": "true"})
    assert answer.status_code == 202
    location = answer.headers["Location"]
    assert location == f"/submissions/{answer.json()['id']}"
    assert answer.json()["links"]["self"] == location
    final = wait_final(live, tokens.phl, location)
    assert final["status"] == "stored" and final["report"]["valid"] is True
    assert final["counts"]["added"] == len(cube("PHL")) and final["finishedAt"]
    preferred = httpx.post(
        live + PUSH,
        content=message(schema, cube("MYS")),
        headers=bearer(tokens.mys, Prefer="respond-async"),
    )
    assert preferred.status_code == 202
    assert wait_final(live, tokens.mys, preferred.headers["Location"])["status"] == "stored"
    assert len(stored(push_app)) == len(cube("PHL")) + len(cube("MYS"))


def test_the_log_shows_a_provider_its_own_and_an_admin_all(
    live: str,
    tokens: Tokens,
    schema: Schema,
) -> None:
    push(live, tokens.phl, message(schema, cube("PHL")))
    push(live, tokens.mys, message(schema, cube("MYS")), dryRun="true")
    mine = httpx.get(f"{live}/submissions", headers=bearer(tokens.phl)).json()
    assert [(s["provider"], s["status"], s["dataflow"]) for s in mine] == [
        ("PHL", "stored", DATAFLOW)
    ]
    everyone = httpx.get(f"{live}/submissions", headers=bearer(tokens.admin)).json()
    assert [s["provider"] for s in everyone] == ["MYS", "PHL"]  # newest first
    valid = httpx.get(
        f"{live}/submissions",
        params={"status": "valid", "dataflow": FLOW},
        headers=bearer(tokens.admin),
    ).json()
    assert [s["provider"] for s in valid] == ["MYS"]
    other = httpx.get(f"{live}/submissions/{valid[0]['id']}", headers=bearer(tokens.phl))
    assert other.status_code == 404  # PHL does not see MYS's submissions
    assert (
        httpx.get(
            f"{live}/submissions", params={"provider": "MYS"}, headers=bearer(tokens.phl)
        ).status_code
        == 403
    )


def test_too_many_submissions_at_once_is_503_with_retry_after(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    slots = push_app.state.workers.slots
    taken = [slots.acquire(blocking=False) for _ in range(2)]
    try:
        answer = push(live, tokens.phl, message(schema, cube("PHL")[:10]))
    finally:
        for _ in filter(None, taken):
            slots.release()
    assert answer.status_code == 503 and answer.headers["Retry-After"].isdigit()
    assert push(live, tokens.phl, message(schema, cube("PHL")[:10])).status_code == 201


def test_gzip_multipart_and_names_in_any_alphabet(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    rows = cube("PHL")
    packed = gzip.compress(message(schema, rows))
    headers = {
        "Content-Type": CSV,
        "Content-Encoding": "gzip",
        "Content-Disposition": (
            "attachment; filename=\"phl.csv.gz\"; filename*=UTF-8''d%C3%A9j%C3%A0.csv.gz"
        ),
    }
    answer = httpx.post(live + PUSH, content=packed, headers=bearer(tokens.phl, **headers))
    assert answer.status_code == 201, answer.text
    assert answer.json()["file"]["name"] == "déjà.csv.gz"
    assert answer.json()["file"]["size"] == len(packed)
    assert stored(push_app) == core(rows)
    form = httpx.post(
        live + PUSH_V2,
        files={"file": ("phl.csv", message(schema, rows[:20]), "text/csv")},
        data={"comment": "other fields are ignored"},
        params={"dryRun": "true"},
        headers=bearer(tokens.phl),
    )
    assert form.status_code in (200, 422), form.text
    assert form.json()["file"]["name"] == "phl.csv" and form.json()["report"]["observations"] == 20
    wrong = httpx.post(
        live + PUSH,
        content=b"%PDF-1.4",
        headers=bearer(tokens.phl, **{"Content-Type": "application/pdf"}),
    )
    assert wrong.status_code == 415


def test_two_pushes_at_once_both_land_whole(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    bodies = {tokens.phl: message(schema, cube("PHL")), tokens.mys: message(schema, cube("MYS"))}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda item: push(live, *item), bodies.items()))
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert stored(push_app) == core(cube("PHL")) | core(cube("MYS"))
    stamps = {
        a.json()["id"]: push_app.state.data.submissions.get(a.json()["id"]).stamp for a in answers
    }
    assert len(set(stamps.values())) == 2  # two transactions, one after the other


def test_a_file_naming_another_table_is_not_stored_under_this_one(
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    other = "DF_MST_TEAP_SEX_AGE_CBR_NB"  # same DSD, another measure: valid there
    body = message(schema, cube("PHL")).replace(b"MST_TEMP", b"MST_TEAP")
    answer = push(live, tokens.phl, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["dataflow"] == DATAFLOW and answer.json()["counts"] is None
    (issue,) = answer.json()["report"]["issues"]
    assert issue["code"] == "unknown-structure" and other in issue["message"]
    data: DataStore = push_app.state.data
    assert data.count(schema) == 0 and data.count(push_app.state.store.schema(other)) == 0
