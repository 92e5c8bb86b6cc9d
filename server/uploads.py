"""Receiving a pushed file: the request body streamed to a temporary file, never whole in memory.

Two ways to send it: the raw body with the format's media type (or
``application/octet-stream``; the format is sniffed from the content anyway), or a
``multipart/form-data`` form whose field ``file`` holds it (what browsers and ``curl -F`` send).
A gzip body (``Content-Encoding: gzip``, or simply gzip bytes) is kept as it came: the readers
recognise and decompress it.

Limits: a declared ``Content-Length`` over the limit is refused (413) before anything is read; a
body without one is cut off at the limit. The file's name (multipart ``filename``, or
``Content-Disposition: attachment; filename=…``) is only ever a label: its last path segment,
printable characters only. The temporary file gets a name of our own and is removed on any
failure, a client that goes away mid-upload included; afterwards its owner removes it.

The multipart parser is a small state machine of our own (python-multipart is not a dependency):
it looks for the boundary across chunk edges, keeping back only as many bytes as a boundary has.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import BinaryIO

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from exchange.errors import InvalidRequest, TooLarge
from exchange.formats import registry
from exchange.services.submit import Upload

__all__ = ["MultipartFile", "Sink", "file_name", "receive_upload"]

DEFAULT_NAME = "upload"
_HEADER_LIMIT = 16 * 1024
_GENERIC = frozenset(
    {
        "application/octet-stream",
        "application/xml",
        "text/xml",
        "text/csv",
        "text/plain",
        "application/json",
        "application/gzip",
        "application/x-gzip",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "multipart/form-data",
    }
)


def _accepted(media_type: str) -> bool:
    formats = {f.media_type.split(";")[0].strip().lower() for f in registry.FORMATS}
    return (
        media_type in _GENERIC
        or media_type in formats
        or media_type.startswith("application/vnd.sdmx.")
    )


def file_name(raw: str | None) -> str:
    """A harmless label from a client's file name: its last segment, printable, not empty."""
    base = re.split(r"[\\/]", raw or "")[-1]
    base = "".join(c for c in base if c.isprintable()).strip().lstrip(".")
    return base[-200:] or DEFAULT_NAME


def _disposition(headers: bytes) -> tuple[str | None, str | None]:
    """(field name, file name) of a ``Content-Disposition`` in raw header lines.

    ``filename*`` (RFC 6266/8187: ``UTF-8''d%C3%A9j%C3%A0.csv``) wins over ``filename``.
    """
    message = BytesHeaderParser().parsebytes(headers + b"\r\n\r\n")
    name = message.get_param("name", header="content-disposition")
    params = message.get_params(header="content-disposition") or []
    names = [v for k, v in params if k.lower() == "filename"]
    extended = [v for v in names if isinstance(v, tuple)]
    chosen = extended or names
    filename = collapse_rfc2231_value(chosen[0]) if chosen else None
    return (name if isinstance(name, str) else None), filename


class Sink:
    """Writes the file, counting and hashing, refusing to pass ``limit`` bytes."""

    def __init__(self, out: BinaryIO, limit: int) -> None:
        self.out, self.limit, self.size = out, limit, 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(f"the upload exceeds the limit of {self.limit} bytes")
        self.digest.update(data)
        self.out.write(data)


class MultipartFile:
    """Feeds a ``multipart/form-data`` body chunk by chunk; the field ``file`` goes to a sink."""

    def __init__(self, boundary: str, sink: Sink) -> None:
        if not boundary or len(boundary) > 200:
            raise InvalidRequest("multipart/form-data without a usable boundary")
        self.delimiter = b"\r\n--" + boundary.encode("latin-1")
        self.buffer = b"\r\n"  # so that the first boundary looks like all the others
        self.state = "preamble"
        self.sink = sink
        self.writing = False
        self.found = False
        self.filename: str | None = None

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while self._step():
            pass

    def close(self) -> None:
        if self.state != "end":
            raise InvalidRequest("the multipart body ends before its closing boundary")
        if not self.found:
            raise InvalidRequest("the multipart form has no field named file")

    def _step(self) -> bool:
        """Advance through what is buffered; whether another step may advance further."""
        if self.state in ("preamble", "body"):
            return self._to_delimiter()
        if self.state == "after":
            return self._after_delimiter()
        if self.state == "headers":
            return self._headers()
        self.buffer = b""  # the epilogue is ignored
        return False

    def _to_delimiter(self) -> bool:
        index = self.buffer.find(self.delimiter)
        if index < 0:
            keep = len(self.delimiter) - 1
            if len(self.buffer) > keep:
                if self.writing:
                    self.sink.write(self.buffer[:-keep])
                self.buffer = self.buffer[-keep:]
            return False
        if self.writing:
            self.sink.write(self.buffer[:index])
            self.writing = False
        self.buffer = self.buffer[index + len(self.delimiter) :]
        self.state = "after"
        return True

    def _after_delimiter(self) -> bool:
        if self.buffer.startswith(b"--"):
            self.state = "end"
            return True
        end = self.buffer.find(b"\r\n")
        if end < 0:
            if len(self.buffer) > _HEADER_LIMIT:
                raise InvalidRequest("a multipart boundary line is not terminated")
            return False
        self.buffer = self.buffer[end + 2 :]
        self.state = "headers"
        return True

    def _headers(self) -> bool:
        if self.buffer.startswith(b"\r\n"):
            end, headers = 0, b""
        else:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _HEADER_LIMIT:
                    raise InvalidRequest("the headers of a multipart part are too long")
                return False
            headers = self.buffer[:end]
            end += 2
        self.buffer = self.buffer[end + 2 :]
        name, filename = _disposition(headers)
        if name == "file":
            if self.found:
                raise InvalidRequest("send one file per submission (one field named file)")
            self.found = self.writing = True
            self.filename = filename
        self.state = "body"
        return True


async def _chunks(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body as it arrives, cut off past ``limit`` bytes (multipart framing included)."""
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + _HEADER_LIMIT:
                raise TooLarge(f"the upload exceeds the limit of {limit} bytes")
            yield chunk
    except ClientDisconnect:
        raise InvalidRequest("the client went away before the upload was complete") from None


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + _HEADER_LIMIT:
        raise TooLarge(f"the upload ({length} bytes) exceeds the limit of {limit} bytes")


async def _write(request: Request, media_type: str, sink: Sink, limit: int) -> str | None:
    """Stream the body into ``sink``; the client's file name, if it gave one."""
    if media_type == "multipart/form-data":
        boundary = _disposition_param(request.headers.get("content-type", ""), "boundary")
        form = MultipartFile(boundary or "", sink)
        async for chunk in _chunks(request, limit):
            form.feed(chunk)
        form.close()
        return form.filename
    async for chunk in _chunks(request, limit):
        sink.write(chunk)
    disposition = request.headers.get("content-disposition")
    if disposition is None:
        return None
    return _disposition(f"Content-Disposition: {disposition}".encode("latin-1", "replace"))[1]


def _disposition_param(content_type: str, param: str) -> str | None:
    message = BytesHeaderParser().parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    )
    value = message.get_param(param)
    return value if isinstance(value, str) else None


async def receive_upload(request: Request, *, limit: int, directory: Path | None) -> Upload:
    """The request's file, on disk in ``directory`` (the system's temporary folder if None)."""
    _check_length(request, limit)
    media_type = request.headers.get("content-type", "application/octet-stream")
    kind = media_type.split(";")[0].strip().lower()
    if not _accepted(kind):
        raise HTTPException(415, f"unsupported media type {kind}: send a data file")
    handle, name = tempfile.mkstemp(prefix="ilms-push-", suffix=".upload", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            sink = Sink(out, limit)
            client_name = await _write(request, kind, sink, limit)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stored_type = None if kind == "multipart/form-data" else media_type[:200]
    return Upload(path, file_name(client_name), sink.size, sink.digest.hexdigest(), stored_type)
