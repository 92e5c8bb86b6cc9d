"""Every error of the service as an SDMX error message, in one place.

``IlmsError`` subclasses carry their HTTP status and SDMX-REST error code (``exchange.errors``);
FastAPI's parameter validation errors become 400 / SDMX 140 (syntax error) and Starlette's own
errors (unknown route 404, wrong method 405) keep their status with an SDMX body. The body is an
SDMX-ML 2.1 ``Error`` message (SDMXMessage.xsd, ``ErrorType``) unless the request negotiated JSON,
then an SDMX-JSON ``errors`` array (SDMX-JSON 2.0.0, "Error message").
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from lxml import etree
from starlette.exceptions import HTTPException as StarletteHTTPException

from exchange.errors import Busy, IlmsError
from exchange.formats.sdmxml import COM, MES, XML_LANG, qname
from server.negotiation import Rendering, prefers_json

log = logging.getLogger(__name__)

#: SDMX-REST error codes (SDMX 2.1 Web Services Guidelines §5.8) and their titles.
TITLES = {
    100: "No results found",
    110: "Unauthorized",
    120: "Forbidden",
    130: "Response too large",
    140: "Syntax error",
    150: "Semantic error",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    422: "Unprocessable content",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
    510: "Response size exceeds service limit",
}
#: SDMX error code for a plain HTTP status (errors that are not ours).
_CODE_OF_STATUS = {400: 140, 401: 110, 403: 120, 404: 100, 413: 510}


def error_xml(code: int, messages: list[str]) -> bytes:
    """An SDMX-ML 2.1 ``mes:Error`` message with one ``ErrorMessage``."""
    root = etree.Element(qname(MES, "Error"), nsmap={"mes": MES, "com": COM})
    item = etree.SubElement(root, qname(MES, "ErrorMessage"), code=str(code))
    for message in messages:
        text = etree.SubElement(item, qname(COM, "Text"))
        text.set(XML_LANG, "en")
        text.text = "".join(c for c in message if c in "\t\n\r" or ord(c) >= 0x20)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def error_json(code: int, message: str) -> bytes:
    """An SDMX-JSON 2.0.0 message holding only ``errors`` (valid against the structure schema)."""
    title = TITLES.get(code, "Error")
    body = {
        "meta": {
            "id": f"ERROR_{code}",
            "test": False,
            "prepared": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "contentLanguages": ["en"],
            "sender": {"id": "ILO"},
        },
        "errors": [
            {
                "code": code,
                "title": title,
                "titles": {"en": title},
                "detail": message,
                "details": {"en": message},
            }
        ],
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def error_response(request: Request, status: int, code: int, message: str) -> Response:
    """The error body in the format the request negotiated (XML when nothing could be)."""
    headers = {"Vary": "Accept"}
    default = Rendering.JSON20 if request.url.path.startswith("/rest/v2/") else Rendering.ML21
    accept, fmt = request.headers.get("accept"), request.query_params.get("format")
    if prefers_json(accept, fmt, default=default):
        return Response(error_json(code, message), status, headers, "application/json")
    title = TITLES.get(code, "Error")
    body = error_xml(code, [f"{title}: {message}"])
    return Response(body, status, headers, "application/xml")


async def _ilms_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IlmsError)
    if exc.status >= 500 and exc.status not in (501, 503):
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    response = error_response(request, exc.status, exc.sdmx_code, str(exc))
    if isinstance(exc, Busy):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
    )
    return error_response(request, 400, 140, f"invalid request: {problems}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, exc.status_code)
    detail = exc.detail if exc.status_code != 404 else f"no resource at {request.url.path}"
    response = error_response(request, exc.status_code, code, str(detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, 500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to an SDMX error message (the one place ARCHITECTURE.md asks for)."""
    app.add_exception_handler(IlmsError, _ilms_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
