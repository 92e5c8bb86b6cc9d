"""The focal points' web page: the table list, Excel templates, checking a file, push reports."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import httpx
import openpyxl
from fastapi import FastAPI

from exchange.model.schema import Schema
from exchange.services.convert import open_data, resolver_for
from tests.server.push_support import (
    FLOW,
    Tokens,
    bearer,
    cube,
    message,
    push,
    stored,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Page(HTMLParser):
    """Links, form controls and option values of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "select":
            self._select = str(found.get("id"))
            self.options[self._select] = []
        if tag == "option" and self._select is not None:
            self.options[self._select].append(str(found.get("value")))


def _bad_rows() -> list[object]:
    rows = [o for o in cube("PHL") if o.period == "2024"]
    key = rows[5].key  # REF_AREA, FREQ, MEASURE, SEX, AGE, CBR
    rows[5] = rows[5]._replace(key=(*key[:3], "SEX_FEM", *key[4:]))
    return rows


def test_the_page_lists_every_table_with_its_template(live: str, push_app: FastAPI) -> None:
    answer = httpx.get(live + "/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(answer.text)
    flows = sorted(f.id for f in push_app.state.store.dataflows())
    assert len(flows) == 57
    templates = sorted(link for link in page.links if link.startswith("/templates/"))
    assert templates == sorted(f"/templates/{f}.xlsx" for f in flows)
    assert sorted(page.options["submit-dataflow"]) == flows
    assert page.options["check-dataflow"][0] == ""  # "as named in the file" first
    assert sorted(page.options["check-dataflow"][1:]) == flows
    assert page.options["submit-dataflow"][0].startswith("DF_MST_")  # stock, flows, abroad
    assert {"check-form", "submit-form", "submit-token", "submit-file"} <= page.ids
    for module in ("International migrant stock", "International migrant flows"):
        assert module in answer.text


def test_a_template_downloads_and_reads_back_as_an_empty_table(
    live: str,
    push_app: FastAPI,
) -> None:
    answer = httpx.get(live + f"/templates/{FLOW}.xlsx", params={"country": "PHL"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX
    assert f'filename="{FLOW}.xlsx"' in answer.headers["content-disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    assert len(workbook.sheetnames) >= 1
    resolve = resolver_for(push_app.state.store, None)
    fmt, stream = open_data(io.BytesIO(answer.content), "template.xlsx", resolve)
    assert fmt.name == "excel"
    assert str(stream.info.schema.dataflow) == f"ILO:{FLOW}(1.0)"
    assert list(stream.observations) == []


def test_an_unknown_table_or_country_is_refused(live: str) -> None:
    assert httpx.get(live + "/templates/DF_NOPE.xlsx").status_code == 404
    assert httpx.get(live + f"/templates/{FLOW}.xlsx?country=ph").status_code == 400


def test_checking_a_valid_file_stores_nothing(
    live: str,
    push_app: FastAPI,
    schema: Schema,
) -> None:
    body = message(schema, cube("PHL"))
    answer = httpx.post(live + "/validate", content=body, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    report = answer.json()
    assert report["valid"] is True and report["issues"] == []
    assert stored(push_app) == set()


def test_checking_a_bad_file_names_the_problem_in_html(
    live: str,
    schema: Schema,
) -> None:
    body = message(schema, _bad_rows())
    answer = httpx.post(
        live + "/validate",
        params={"dataflow": FLOW},
        content=body,
        headers={"Accept": "text/html", "Content-Disposition": 'attachment; filename="phl.csv"'},
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "unknown-code" in answer.text
    assert "SEX_FEM" in answer.text and "row 7" in answer.text  # header + 5 rows before it
    text = httpx.post(live + "/validate?format=text", content=body).text
    assert "[error] unknown-code" in text and "Did you mean" in text


def test_checking_a_browser_form_upload(live: str, schema: Schema) -> None:
    files = {"file": ("phl.csv", message(schema, _bad_rows()), "text/csv")}
    answer = httpx.post(live + "/validate", files=files, params={"format": "json"})
    assert answer.status_code == 200
    report = answer.json()
    assert report["valid"] is False
    assert report["counts"]["by_code"] == {"unknown-code": 1}
    assert report["issues"][0]["location"]["file"] in (None, "phl.csv")


def test_checking_needs_a_file(live: str) -> None:
    answer = httpx.post(live + "/validate", content=b"", headers={"Accept": "application/json"})
    assert answer.json()["valid"] is False  # an empty file is reported, not a server error
    assert httpx.post(live + "/validate?format=pdf", content=b"x").status_code == 400


def test_a_submission_report_is_shown_to_its_provider_only(
    live: str,
    tokens: Tokens,
    schema: Schema,
) -> None:
    rejected = push(live, tokens.phl, message(schema, _bad_rows()))
    assert rejected.status_code == 422
    report_url = live + f"/submissions/{rejected.json()['id']}/report"
    page = httpx.get(report_url, headers=bearer(tokens.phl, Accept="text/html"))
    assert page.status_code == 200 and "unknown-code" in page.text and "SEX_FEM" in page.text
    as_json = httpx.get(report_url, params={"format": "json"}, headers=bearer(tokens.admin))
    assert as_json.json()["counts"]["by_code"] == {"unknown-code": 1}
    assert httpx.get(report_url, headers=bearer(tokens.mys)).status_code == 404
    assert httpx.get(report_url).status_code == 401
