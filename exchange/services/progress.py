"""Progress of running submissions: kept in memory as it happens, written to the log lazily.

Why not write it to the log directly: on SQLite the log cannot be written while a submission is
being stored (one writer at a time, and the storing transaction is ours), and a write per step
would slow the work down anyway. So the work only updates a dictionary, and a background thread
writes what changed to the log about once a second. If that thread has to wait for the database,
only it waits. The process doing the work answers from memory; other processes (several app
servers on one PostgreSQL) read the log.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from typing import BinaryIO

from exchange.storage import Submissions

__all__ = ["CountingReader", "ProgressBoard"]

log = logging.getLogger(__name__)


class CountingReader(io.RawIOBase):
    """Reads ``inner`` and reports the position reached (bytes read) after each read."""

    def __init__(self, inner: BinaryIO, seen: Callable[[int], None]) -> None:
        self._inner, self._seen = inner, seen

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the xlsx reader seeks: let it, instead of spooling a copy

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self._seen(self._inner.tell())
        return len(data)


class ProgressBoard:
    """(observations, bytes read) per running submission, flushed to ``log`` every ``seconds``."""

    def __init__(self, submissions: Submissions, seconds: float = 1.0) -> None:
        self._log = submissions
        self._live: dict[str, tuple[int, int]] = {}
        self._flushed: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(seconds,), name="submission-progress", daemon=True
        )
        self._thread.start()

    def set(self, submission_id: str, observations: int, position: int) -> None:
        with self._lock:
            self._live[submission_id] = (observations, position)

    def observed(self, submission_id: str, observations: int) -> None:
        """Observations checked (and stored) so far; the bytes read stay as they were."""
        with self._lock:
            self._live[submission_id] = (observations, self._live.get(submission_id, (0, 0))[1])

    def read(self, submission_id: str, position: int) -> None:
        """Bytes of the file read so far; the observations stay as they were."""
        with self._lock:
            self._live[submission_id] = (self._live.get(submission_id, (0, 0))[0], position)

    def get(self, submission_id: str) -> tuple[int, int] | None:
        with self._lock:
            return self._live.get(submission_id)

    def done(self, submission_id: str) -> None:
        """Forget a finished submission (the log has its final numbers)."""
        with self._lock:
            self._live.pop(submission_id, None)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                self.flush()
            except Exception:  # never let the progress writer die
                log.exception("could not record the progress of submissions")

    def flush(self) -> None:
        """Write what changed since the last flush (the log ignores finished submissions)."""
        with self._lock:
            changed = {k: v for k, v in self._live.items() if self._flushed.get(k) != v}
            self._flushed = dict(self._live)
        for submission_id, (observations, position) in changed.items():
            self._log.progress(submission_id, observations, position)
