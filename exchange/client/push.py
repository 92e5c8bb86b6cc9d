"""Pushing a data file to an ILMS Exchange service: the HTTP side of ``ilms push``.

The contract (``docs/push-client.md``): ``merge`` is ``POST {root}/rest/data/{flowRef}``,
``replace`` is ``PUT`` and ``delete`` is ``DELETE`` on the same path (the SDMX-REST draft for data
maintenance); the file is the raw body with its media type, streamed from disk in 64 KiB blocks so
a 2 GB file never sits in memory. The service answers with a *submission* (JSON): 201 stored,
200 valid dry run or duplicate, 422 rejected, or 202 accepted, after which this client polls
``{root}/submissions/{id}`` until the submission reaches a final status.

What is retried, and why only that: 503 (the service says "later", honouring ``Retry-After``)
and connection failures *before the request was sent* (refused, DNS, connect timeout), with
exponential back-off and a bounded count. A failure after the body went out is not retried: the
service may have acted on it (it would recognise the same file as a duplicate, but the user
should see what happened rather than a silent second attempt).

The bearer token lives only in the ``Authorization`` header: it is never part of an exception
message, a log line or a ``repr``, and it is checked to be header-safe before use (an h11 error
about an illegal header would quote it). No click here: the command is ``ilms.push``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from exchange.client.submission import Submission, error_text, json_object
from exchange.errors import (
    Forbidden,
    IlmsError,
    InvalidRequest,
    NotFound,
    RemoteError,
    TooLarge,
    Unauthorized,
    Unprocessable,
)

__all__ = ["PushAction", "PushClient", "RetryPolicy", "Upload", "service_root", "shown_url"]

CHUNK = 64 * 1024
MAX_RESPONSE = 64 * 1024 * 1024
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: nothing that can split a header
_ERRORS: dict[int, type[IlmsError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: TooLarge,
    415: InvalidRequest,
    422: Unprocessable,
}
UploadCallback = Callable[[int, int], None]
ProgressCallback = Callable[[Submission], None]


class PushAction(str, Enum):
    """What the pushed observations do to the store, and the HTTP method that says it."""

    MERGE = "merge"
    REPLACE = "replace"
    DELETE = "delete"

    @property
    def method(self) -> str:
        return {"merge": "POST", "replace": "PUT", "delete": "DELETE"}[self.value]


@dataclass(frozen=True)
class Upload:
    """One file to push; the caller (the CLI) has sniffed its media type and its dataflow."""

    path: Path
    dataflow: str
    content_type: str
    content_encoding: str | None = None
    action: PushAction = PushAction.MERGE
    dry_run: bool = False
    asynchronous: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off: ``base`` seconds, doubling up to ``cap``, ``retries`` times.

    A ``Retry-After`` the service sends wins over the back-off (it knows when it will be back),
    but is bounded by ``max_retry_after`` so a misconfigured proxy cannot park the client for a day.
    """

    retries: int = 5
    base: float = 1.0
    cap: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return float(min(self.base * 2**attempt, self.cap))


def service_root(url: str) -> str:
    """The service root of ``url``: scheme and host, any path prefix, without a trailing /rest."""
    try:
        parts = urlsplit(url.strip())
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [IPv6 address
        valid = False
    if not valid:
        raise InvalidRequest(f"not an http(s) URL of an ILMS service: {shown_url(url)!r}")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/rest")
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


def shown_url(url: str) -> str:
    """``url`` without user:password@, safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _disposition(name: str) -> str:
    """RFC 6266: an ASCII ``filename`` plus ``filename*`` when the name is not ASCII."""
    plain = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in name)
    header = f'attachment; filename="{plain}"'
    if plain != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def _chunks(path: Path, total: int, on_upload: UploadCallback | None) -> Iterator[bytes]:
    """The file in 64 KiB blocks: what keeps memory flat however large the upload."""
    sent = 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            sent += len(block)
            if on_upload is not None:
                on_upload(sent, total)
            yield block


class PushClient:
    """An ILMS Exchange service seen from a data provider: push a file, follow its submission.

    ``transport`` is the test seam (respx or ``httpx.MockTransport``); ``sleep`` is injectable so
    back-off and polling are tested without waiting.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        self.root = service_root(url)
        self.on_retry = on_retry
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.poll_interval = poll_interval
        headers = {"Accept": "application/json", "User-Agent": "ilms-push"}
        if token is not None:
            token = token.strip()
            if not _TOKEN.fullmatch(token):
                raise InvalidRequest("the token holds characters a bearer token cannot hold")
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            headers=headers,
            transport=transport,
            timeout=timeout or httpx.Timeout(60.0, read=900.0),
            follow_redirects=False,  # a redirect must not carry the token to another host
        )

    def __repr__(self) -> str:
        return f"PushClient({shown_url(self.root)!r})"

    def __enter__(self) -> PushClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def push(
        self,
        upload: Upload,
        *,
        on_upload: UploadCallback | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Submission:
        """Send ``upload``; an accepted (202) submission is followed until it is final."""
        size = upload.path.stat().st_size
        headers = {
            "Content-Type": upload.content_type,
            "Content-Length": str(size),
            "Content-Disposition": _disposition(upload.path.name),
        }
        if upload.content_encoding:
            headers["Content-Encoding"] = upload.content_encoding
        params = {}
        if upload.dry_run:
            params["dryRun"] = "true"
        if upload.asynchronous:
            params["async"] = "true"
            headers["Prefer"] = "respond-async"
        url = f"{self.root}/rest/data/{quote(upload.dataflow, safe=',:()@$')}"

        def send() -> httpx.Response:
            body = _chunks(upload.path, size, on_upload)
            request = self._http.build_request(
                upload.action.method, url, params=params, headers=headers, content=body
            )
            return self._http.send(request, stream=True)

        submission = self._submission(self._with_retries(send, url, retry_sent=False))
        if on_progress is not None:
            on_progress(submission)
        return self.wait(submission, on_progress=on_progress)

    def get(self, submission_id: str) -> Submission:
        """The submission's current state (``GET /submissions/{id}``)."""
        url = f"{self.root}/submissions/{quote(submission_id, safe='')}"

        def send() -> httpx.Response:
            return self._http.send(self._http.build_request("GET", url), stream=True)

        return self._submission(self._with_retries(send, url, retry_sent=True))

    def wait(
        self, submission: Submission, *, on_progress: ProgressCallback | None = None
    ) -> Submission:
        """Poll until final, the interval growing from ``poll_interval`` to ten times it."""
        interval = self.poll_interval
        while not submission.final:
            self.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval * 10)
            submission = self.get(submission.id)
            if on_progress is not None:
                on_progress(submission)
        return submission

    def _with_retries(
        self, send: Callable[[], httpx.Response], url: str, *, retry_sent: bool
    ) -> httpx.Response:
        """``send`` until it is not a 503 or a connection failure, within the retry budget.

        ``retry_sent``: whether a failure after the request went out may be retried too (true
        for GET, which changes nothing).
        """
        where = shown_url(url)
        for attempt in range(self.retry.retries + 1):
            last = attempt == self.retry.retries
            try:
                response = send()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise RemoteError(f"cannot connect to {where}: {exc}") from None
                self._pause(f"cannot connect ({exc})", self.retry.delay(attempt))
                continue
            except httpx.TransportError as exc:
                if last or not retry_sent:
                    raise RemoteError(f"the connection to {where} failed: {exc}") from None
                self._pause(f"connection failed ({exc})", self.retry.delay(attempt))
                continue
            if response.status_code != 503 or last:
                return response
            response.close()
            self._pause(
                "service unavailable (HTTP 503)", self.retry.delay(attempt, _retry_after(response))
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, reason: str, seconds: float) -> None:
        if self.on_retry is not None:
            self.on_retry(reason, seconds)
        self.sleep(seconds)

    def _submission(self, response: httpx.Response) -> Submission:
        """The submission the service answered, or the exception its error answer maps to.

        A submission may come with any status: 422 rejected, 403 refused for another country's
        rows, 500 failed; it carries the report, which an exception would lose.
        """
        try:
            body = _read(response)
        except httpx.HTTPError as exc:
            raise RemoteError(f"the service's answer broke off: {exc}") from None
        finally:
            response.close()
        status = response.status_code
        data = json_object(body)
        if data is not None and "id" in data and isinstance(data.get("status"), str):
            try:
                return Submission.from_json(data, status)
            except (KeyError, TypeError, ValueError) as exc:
                raise RemoteError(f"the service's answer is not a submission: {exc}") from None
        text = error_text(body, response.headers.get("Content-Type", "")) or response.reason_phrase
        where = shown_url(str(response.request.url.copy_with(query=None)))
        if status < 400:
            raise RemoteError(f"{where} answered HTTP {status} without a submission: {text}")
        error = _ERRORS.get(status, RemoteError)
        raise error(f"{where} answered HTTP {status}: {text}")


def _read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE:
            raise TooLarge(f"the service sent more than {MAX_RESPONSE} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
