"""The web page of national focal points: templates, checking a file, submitting it.

Focal points are statisticians, not programmers: they fill the Excel template of a table and
want to know, before sending, whether the file will pass — with every problem named by sheet and
cell. The page (``GET /``) serves the three steps of that work, on the same services as the API:

- **templates**: ``GET /templates/{dataflow}.xlsx`` — the empty workbook of one table
  (:func:`exchange.services.template.write_template`), with dropdowns of the codes;
- **check**: ``POST /validate`` — any data file, no token needed (it stores nothing); the report
  comes back as HTML for the page, JSON or text by ``Accept`` (or ``?format=``) for scripts;
- **submit**: the page calls the push API itself (``POST /rest/data/{flow}?async=true`` with the
  focal point's token) and follows ``/submissions/{id}``; ``GET /submissions/{id}/report`` gives
  the finished report as HTML.

The page is one static file (``server/static/index.html``) plus the list of tables, rendered here
with every text escaped; its script only calls the documented API, so nothing the page can do is
out of reach of a script.
"""

from __future__ import annotations

import html
import io
from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from exchange.errors import InvalidRequest, NotFound
from exchange.model.refs import Kind
from exchange.model.store import StructureStore
from exchange.report import Report
from exchange.services.submit import Upload
from exchange.services.template import write_template
from exchange.services.validate import validate_file
from server.auth import TokenDep
from server.deps import DataStoreDep
from server.routers.submissions import Workers
from server.uploads import receive_upload

__all__ = ["router"]

router = APIRouter(tags=["web page"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_REPORT_FORMATS = {"html": "text/html", "json": "application/json", "text": "text/plain"}


@cache
def _page_template() -> str:
    return resources.files("server").joinpath("static/index.html").read_text(encoding="utf-8")


#: The modules in the order of the ILMS questionnaires; the mirror dataflow (no module) last.
_MODULES = ("STOCK", "FLOW", "NATIONALS_ABROAD")


def _flows(store: StructureStore) -> list[tuple[str, str, str]]:
    """(module, dataflow id, English name) of every table, by module then id."""
    module_of = store.module_of
    found = [
        (module_of.get(f.id, ""), f.id, str(f.name.localizations.get("en") or f.id))
        for f in store.dataflows()
    ]
    rank = {m: n for n, m in enumerate(_MODULES)}
    return sorted(found, key=lambda f: (rank.get(f[0], len(rank)), f[1]))


def _tables_html(store: StructureStore) -> str:
    """The tables by module: name, id, template link."""
    names = {c.id: str(c.name) for scheme in store.find(Kind.CATEGORY_SCHEME) for c in scheme}
    esc = html.escape
    modules: dict[str, list[tuple[str, str]]] = {}
    for module, ident, name in _flows(store):
        modules.setdefault(module, []).append((ident, name))
    sections = []
    for module, flows in modules.items():
        rows = "".join(
            f"<tr><td>{esc(name)}</td><td><code>{esc(ident)}</code></td>"
            f'<td><a href="/templates/{esc(ident, quote=True)}.xlsx">template (.xlsx)</a></td></tr>'
            for ident, name in flows
        )
        title = esc(names.get(module, "Mirror statistics (origin vs destination)"))
        count = f"{len(flows)} table{'s' if len(flows) > 1 else ''}"
        sections.append(
            f"<details><summary>{title} ({count})</summary>"
            f"<table><thead><tr><th>Table</th><th>Id</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details>"
        )
    return "".join(sections)


def _options_html(store: StructureStore) -> str:
    esc = html.escape
    return "".join(
        f'<option value="{esc(ident, quote=True)}">{esc(ident)}: {esc(name)}</option>'
        for _, ident, name in _flows(store)
    )


@router.get("/", response_class=HTMLResponse, summary="The focal points' web page")
def home(request: Request) -> HTMLResponse:
    store: StructureStore = request.app.state.store
    page = _page_template().replace("{{tables}}", _tables_html(store))
    return HTMLResponse(page.replace("{{dataflow_options}}", _options_html(store)))


@router.get("/templates/{dataflow}.xlsx", summary="The Excel template of one table")
def template(
    request: Request,
    dataflow: str,
    country: Annotated[str | None, Query(max_length=3, pattern="^[A-Z]{3}$")] = None,
    lang: Annotated[str, Query(pattern="^[a-z]{2}$")] = "en",
) -> Response:
    """The empty workbook a focal point fills (``country`` pre-fills REF_AREA)."""
    store: StructureStore = request.app.state.store
    ident = store.dataflow_ref(dataflow).id  # NotFound (404) for a table we do not have
    out = io.BytesIO()
    write_template(store, ident, out, lang=lang, country=country)
    disposition = f'attachment; filename="{ident}.xlsx"'
    return Response(out.getvalue(), media_type=XLSX, headers={"Content-Disposition": disposition})


def _report_format(request: Request, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in _REPORT_FORMATS:
            raise InvalidRequest(f"format is one of {', '.join(_REPORT_FORMATS)}, not {fmt!r}")
        return fmt
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        return "html"
    if "text/plain" in accept and "json" not in accept:
        return "text"
    return "json"


def _render(report: Report, fmt: str) -> Response:
    if fmt == "html":
        return HTMLResponse(report.to_html())
    if fmt == "text":
        return PlainTextResponse(report.to_text())
    return Response(report.to_json(indent=None), media_type="application/json")


@router.post("/validate", summary="Check a data file (nothing is stored)")
async def check(
    request: Request,
    dataflow: str | None = None,
    fmt: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    """Validate the file in the body (raw or multipart field ``file``) and answer the report.

    200 whatever the verdict (the check ran; ``valid`` says the rest), like ``ilms validate``.
    """
    settings = request.app.state.settings
    workers: Workers = request.app.state.workers
    fmt = _report_format(request, fmt)
    workers.acquire()  # shares the bound on concurrent uploads with pushes (503 beyond it)
    upload: Upload | None = None
    try:
        upload = await receive_upload(
            request, limit=settings.max_upload_bytes, directory=settings.upload_dir
        )
        report = await run_in_threadpool(_validate, request, upload, dataflow)
    finally:
        if upload is not None:
            upload.path.unlink(missing_ok=True)
        workers.slots.release()
    return _render(report, fmt)


def _validate(request: Request, upload: Upload, dataflow: str | None) -> Report:
    with upload.path.open("rb") as source:
        return validate_file(source, upload.name, request.app.state.store, dataflow=dataflow)


@router.get("/submissions/{submission_id}/report", summary="A submission's report")
def submission_report(
    request: Request,
    token: TokenDep,
    data: DataStoreDep,
    submission_id: str,
    fmt: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    """The finished report of one submission, as HTML (default for browsers), JSON or text."""
    sub = data.submissions.get(submission_id)
    if (not token.admin and sub.provider != token.provider) or sub.report is None:
        raise NotFound(f"no report for submission {submission_id}")
    return _render(Report.model_validate(sub.report), _report_format(request, fmt))
