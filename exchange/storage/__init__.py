"""Storage of observations (SQLAlchemy Core over SQLite or PostgreSQL).

Uses :mod:`exchange.model` only: records in, records out; never a format, lxml, httpx or the web.
"""

from __future__ import annotations

from exchange.storage.keys import KeyFilter, parse_key
from exchange.storage.store import DataStore
from exchange.storage.submissions import Status, Submission, Submissions
from exchange.storage.tokens import TokenInfo, Tokens
from exchange.storage.writer import Counts

__all__ = [
    "Counts",
    "DataStore",
    "KeyFilter",
    "Status",
    "Submission",
    "Submissions",
    "TokenInfo",
    "Tokens",
    "parse_key",
]
