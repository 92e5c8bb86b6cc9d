"""Data pushes and the submission log (issue #6; ``docs/push.md`` is the user's guide).

``POST|PUT|DELETE /rest/data/{flowRef}`` and ``/rest/v2/data/dataflow/{agency}/{id}/{version}``
take a data file (raw body or multipart field ``file``) with a provider's or an admin's token:
POST merges with the message's own action, PUT replaces, DELETE deletes (SDMX-REST's data
maintenance draft; :mod:`exchange.services.submit` does the work). ``?dryRun=true`` validates
only. ``?async=true`` or ``Prefer: respond-async`` answers 202 at once with ``Location:
/submissions/{id}``; otherwise the answer waits for the result:

    201 stored · 200 valid dry run, or duplicate · 422 not valid (the report says why) ·
    403 the file holds other countries' data, or no provision agreement · 401 no valid token ·
    413 too large · 415 not a data media type · 503 too many submissions at once (Retry-After)

Nothing is stored unless the whole file is valid, and then all of it in one transaction.

``GET /submissions`` (newest first; ``provider``, ``dataflow``, ``status``, ``limit``) and ``GET
/submissions/{id}`` answer JSON; a provider sees its own submissions, an admin all of them.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from exchange.errors import Forbidden, InvalidRequest, NotFound
from exchange.model.schema import Schema
from exchange.services.data_query import parse_flow_ref, resolve_flow
from exchange.services.submit import Identity, Mode, Submitter, Upload, refused_for_rights
from exchange.storage import Status, Submission
from exchange.storage.store import from_stamp
from server.auth import TokenDep, identity
from server.deps import DataStoreDep, SubmitterDep
from server.uploads import receive_upload

__all__ = ["Workers", "router", "submission_json"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["data submissions"])
RETRY_AFTER_SECONDS = 10
MAX_LIMIT = 1000
_MODES = {"POST": Mode.MERGE, "PUT": Mode.REPLACE, "DELETE": Mode.DELETE}
_STATUS_CODES = {
    Status.STORED: 201,
    Status.VALID: 200,
    Status.DUPLICATE: 200,
    Status.REJECTED: 422,
    Status.FAILED: 500,
}
_WAITING = {
    Status.QUEUED: "Received; waiting to be validated.",
    Status.RUNNING: "Being validated (and stored if valid).",
}


class Workers:
    """At most ``size`` submissions received or worked on at once; async ones run here."""

    def __init__(self, size: int) -> None:
        self.slots = threading.BoundedSemaphore(size)
        self.pool = ThreadPoolExecutor(size, thread_name_prefix="submission")

    def acquire(self) -> None:
        if not self.slots.acquire(blocking=False):
            raise HTTPException(
                503,
                "too many submissions are being processed; retry later",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _iso(stamp: int | None) -> str | None:
    if stamp is None:
        return None
    return from_stamp(stamp).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def submission_json(sub: Submission, live: tuple[int, int] | None = None) -> dict[str, Any]:
    """The JSON of a submission: the contract ``ilms push`` reads (see ``docs/push.md``)."""
    observations, position = live or (sub.observations, sub.bytes_read)
    if sub.status.final:
        position = sub.size
    counts = None
    if sub.added is not None:
        counts = {k: getattr(sub, k) for k in ("added", "replaced", "deleted", "unchanged")}
    return {
        "id": sub.id,
        "status": sub.status.value,
        "dataflow": sub.dataflow,
        "provider": sub.provider,
        "action": sub.action,
        "dryRun": sub.dry_run,
        "file": {"name": sub.file_name, "sha256": sub.sha256, "size": sub.size},
        "receivedAt": _iso(sub.received_at),
        "finishedAt": _iso(sub.finished_at),
        "counts": counts,
        "progress": {"observations": observations, "bytes": position, "totalBytes": sub.size},
        "duplicateOf": sub.duplicate_of,
        "report": sub.report,
        "message": sub.message or _WAITING.get(sub.status, sub.status.value),
        "links": {"self": f"/submissions/{sub.id}"},
    }


def _status_code(sub: Submission) -> int:
    if refused_for_rights(sub):
        return 403
    return _STATUS_CODES.get(sub.status, 202)


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").strip().lower()
    if value not in ("true", "false", "1", "0", ""):
        raise InvalidRequest(f"{name} is true or false, not {value!r}")
    return value in ("true", "1")


def _asynchronous(request: Request) -> bool:
    prefer = request.headers.get("prefer", "").lower()
    return _flag(request, "async") or "respond-async" in prefer


def _run_job(
    submitter: Submitter, workers: Workers, job: tuple[Submission, Upload, Identity]
) -> None:
    sub, upload, who = job
    try:
        submitter.run(sub, upload, who)
    finally:
        upload.path.unlink(missing_ok=True)
        workers.slots.release()


async def _push(request: Request, schema: Schema, who: Identity) -> JSONResponse:
    """Receive, then work now (sync) or hand over to the pool (async)."""
    settings = request.app.state.settings
    submitter: Submitter = request.app.state.submitter
    workers: Workers = request.app.state.workers
    mode = _MODES[request.method]
    dry_run, asynchronous = _flag(request, "dryRun"), _asynchronous(request)
    submitter.authorise(who, schema)  # 403 before reading a byte of the body
    workers.acquire()
    upload: Upload | None = None
    handed_over = False
    try:
        upload = await receive_upload(
            request, limit=settings.max_upload_bytes, directory=settings.upload_dir
        )
        sub = await run_in_threadpool(submitter.receive, who, schema, mode, upload, dry_run=dry_run)
        if asynchronous:
            accepted = submission_json(sub)  # before the job starts changing ``sub``
            workers.pool.submit(_run_job, submitter, workers, (sub, upload, who))
            handed_over = True  # the job owns the file and the slot now
            headers = {"Location": f"/submissions/{sub.id}"}
            return JSONResponse(accepted, 202, headers=headers)
        sub = await run_in_threadpool(submitter.run, sub, upload, who)
        return JSONResponse(submission_json(sub), _status_code(sub))
    finally:
        if not handed_over:
            if upload is not None:
                upload.path.unlink(missing_ok=True)
            workers.slots.release()


_PUSH_METHODS = ["POST", "PUT", "DELETE"]


@router.api_route("/rest/data/{flow_ref}", methods=_PUSH_METHODS, summary="Push data (1.5)")
async def push_v1(request: Request, token: TokenDep, flow_ref: str) -> JSONResponse:
    """Push a data file to a dataflow: POST merge, PUT replace, DELETE delete."""
    schema = parse_flow_ref(request.app.state.store, flow_ref)
    return await _push(request, schema, identity(token))


@router.api_route(
    "/rest/v2/data/dataflow/{agency}/{ident}/{version}",
    methods=_PUSH_METHODS,
    summary="Push data (2.0)",
)
async def push_v2(
    request: Request, token: TokenDep, agency: str, ident: str, version: str
) -> JSONResponse:
    """Push a data file to a dataflow: POST merge, PUT replace, DELETE delete."""
    schema = resolve_flow(request.app.state.store, agency, ident, version)
    return await _push(request, schema, identity(token))


@router.get("/submissions", summary="The submission log")
def list_submissions(
    request: Request,
    token: TokenDep,
    data: DataStoreDep,
    submitter: SubmitterDep,
    provider: str | None = None,
    dataflow: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> JSONResponse:
    """Submissions, newest first: a provider's own, or anyone's for an admin."""
    if not token.admin:
        if provider not in (None, token.provider):
            raise Forbidden(f"a {token.provider} token sees only {token.provider}'s submissions")
        provider = token.provider
    if status is not None and status not in {s.value for s in Status}:
        raise InvalidRequest(f"status is one of {', '.join(s.value for s in Status)}")
    flow = (
        None
        if dataflow is None
        else str(parse_flow_ref(request.app.state.store, dataflow).dataflow)
    )
    found = data.submissions.list(
        provider=provider, dataflow=flow, status=status, limit=max(1, min(limit, MAX_LIMIT))
    )
    return JSONResponse([submission_json(s, submitter.progress(s.id)) for s in found])


@router.get("/submissions/{submission_id}", summary="One submission")
def get_submission(
    token: TokenDep, data: DataStoreDep, submitter: SubmitterDep, submission_id: str
) -> JSONResponse:
    """Status, progress and, once finished, the report of one submission."""
    sub = data.submissions.get(submission_id)
    if not token.admin and sub.provider != token.provider:
        raise NotFound(f"no submission {submission_id}")  # others' submissions do not exist
    return JSONResponse(submission_json(sub, submitter.progress(sub.id)))
