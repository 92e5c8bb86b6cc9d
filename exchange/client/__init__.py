"""Talking to remote SDMX services over httpx: fetching (``http``) and pushing (``push``).

The only package that imports httpx (an import-linter contract), so the rest of the library
stays testable without a network and the web service never grows an HTTP client of its own.
"""

from exchange.client.push import PushAction, PushClient, RetryPolicy, Upload
from exchange.client.submission import (
    FINAL_STATUSES,
    Submission,
    SubmissionCounts,
    SubmissionProgress,
    error_text,
)

__all__ = [
    "FINAL_STATUSES",
    "PushAction",
    "PushClient",
    "RetryPolicy",
    "Submission",
    "SubmissionCounts",
    "SubmissionProgress",
    "Upload",
    "error_text",
]
