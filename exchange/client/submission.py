"""What an ILMS Exchange service answers to a push: submissions and SDMX error messages.

Parsed defensively: the answer comes from a server the client does not control (another version,
a proxy in between), so the submission keeps its JSON as received (``raw``, what ``--format
json`` prints) next to the typed fields, and error bodies are read for their text whatever their
rendering: an SDMX-JSON ``errors`` array, an SDMX-ML 2.1 ``Error`` message (``server/errors.py``
writes both) or a proxy's HTML page. XML is parsed only without a DTD, so an entity never expands.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FINAL_STATUSES",
    "Submission",
    "SubmissionCounts",
    "SubmissionProgress",
    "error_text",
    "json_object",
]

FINAL_STATUSES = frozenset({"stored", "valid", "rejected", "duplicate", "failed"})
_TAG = re.compile(r"<[^>]*>")
_COUNT_KEYS = ("added", "replaced", "deleted", "unchanged")


@dataclass(frozen=True)
class SubmissionCounts:
    """Observations the submission added, replaced, deleted or left as they were."""

    added: int = 0
    replaced: int = 0
    deleted: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class SubmissionProgress:
    """How far the service has read an asynchronous submission (``total_bytes`` if known)."""

    observations: int = 0
    bytes: int = 0
    total_bytes: int | None = None


@dataclass(frozen=True)
class Submission:
    """The service's account of one submission; ``raw`` is its JSON exactly as received."""

    id: str
    status: str
    http_status: int
    dataflow: str | None = None
    action: str | None = None
    dry_run: bool = False
    message: str = ""
    counts: SubmissionCounts | None = None
    progress: SubmissionProgress = field(default_factory=SubmissionProgress)
    duplicate_of: str | None = None
    report: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any], http_status: int) -> Submission:
        counts, progress = data.get("counts"), data.get("progress") or {}
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            http_status=http_status,
            dataflow=data.get("dataflow"),
            action=data.get("action"),
            dry_run=bool(data.get("dryRun", False)),
            message=str(data.get("message") or ""),
            counts=SubmissionCounts(**{k: int(counts.get(k, 0)) for k in _COUNT_KEYS})
            if isinstance(counts, dict)
            else None,
            progress=SubmissionProgress(
                observations=int(progress.get("observations") or 0),
                bytes=int(progress.get("bytes") or 0),
                total_bytes=progress.get("totalBytes"),
            ),
            duplicate_of=data.get("duplicateOf"),
            report=data.get("report") if isinstance(data.get("report"), dict) else None,
            raw=data,
        )


def error_text(body: bytes, content_type: str = "") -> str:
    """The human message of an SDMX error body: SDMX-JSON ``errors`` or an SDMX-ML ``Error``.

    Anything else (a proxy's HTML page) is shown as its text without tags, shortened.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if "json" in content_type or text.startswith("{"):
        try:
            return _json_error_text(json.loads(text))
        except (ValueError, TypeError, AttributeError):
            pass
    if text.startswith("<") and "<!DOCTYPE" not in text and "<!ENTITY" not in text:
        try:  # no DTD, so no entity expansion: the body is from a server we do not control
            root = ET.fromstring(text)
            found = [t.text.strip() for t in root.iter() if t.tag.endswith("}Text") and t.text]
            if found:
                return "; ".join(found)
        except ET.ParseError:
            pass
    return " ".join(_TAG.sub(" ", text).split())[:300]


def _json_error_text(message: dict[str, Any]) -> str:
    errors = message.get("errors")
    if isinstance(errors, list) and errors:
        details = [
            str(e.get("detail") or (e.get("details") or {}).get("en") or e.get("title"))
            for e in errors
            if isinstance(e, dict)
        ]
        return "; ".join(details)
    for key in ("message", "detail"):
        if isinstance(message.get(key), str):
            return str(message[key])
    raise ValueError("no error text")


def json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
