"""Streaming a data message: a writer thread, a bounded queue, an iterator of chunks.

The format writers take a binary file (``BinaryIO``). A :class:`QueueSink` is that file: it
gathers what a writer writes into 64 KiB chunks and hands each to a bounded queue, which the
response iterates. The writer runs in a thread of its own (reading the store there too, so a
database connection never changes threads); when the queue is full it waits, so memory holds a
few chunks whatever the size of the answer. If the client goes away the iterator is closed, the
sink's next write raises :class:`ClientGone` and the thread ends, releasing its connection.

Before any byte is sent the producer says whether there is anything to send
(``ready(False)`` → 404) or fails (an :class:`~exchange.errors.IlmsError` → its status), so the
status line can still be chosen; an error later can only cut the response short (logged).
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from exchange.errors import NotFound

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
DEPTH = 8
#: How long a writer waits for a stalled client before it gives up (seconds).
STALL = 120.0
Producer = Callable[[BinaryIO, Callable[[bool], None]], None]


class ClientGone(Exception):
    """The response was abandoned: the writer stops."""


class QueueSink(io.RawIOBase):
    """A write-only binary file whose chunks go to a bounded queue."""

    def __init__(self, chunks: queue.Queue[object], gone: threading.Event) -> None:
        super().__init__()
        self._chunks = chunks
        self._gone = gone
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._buffer += view
        if len(self._buffer) >= CHUNK:
            self.send()
        return view.nbytes

    def send(self) -> None:
        if self._buffer:
            self.put(bytes(self._buffer))
            self._buffer.clear()

    def put(self, item: object) -> None:
        waited = 0.0
        while True:
            if self._gone.is_set():
                raise ClientGone
            try:
                self._chunks.put(item, timeout=1.0)
                return
            except queue.Full:
                waited += 1.0
                if waited > STALL:
                    self._gone.set()


class _Ready:
    def __init__(self, has_data: bool) -> None:
        self.has_data = has_data


_DONE = object()


def start(produce: Producer, empty_message: str) -> Iterator[bytes]:
    """Run ``produce`` in a thread; return its chunks once it said there is something to send.

    Raises what the producer raised before ``ready`` (or ``NotFound`` on ``ready(False)``).
    """
    chunks: queue.Queue[object] = queue.Queue(maxsize=DEPTH)
    gone = threading.Event()
    sink = QueueSink(chunks, gone)

    def run() -> None:
        try:
            produce(sink, lambda has_data: sink.put(_Ready(has_data)))  # type: ignore[arg-type]
            sink.send()
            sink.put(_DONE)
        except ClientGone:
            log.info("data response abandoned by the client")
        except BaseException as exc:  # handed to the request thread
            with contextlib.suppress(ClientGone):
                sink.put(exc)

    threading.Thread(target=run, name="data-writer", daemon=True).start()
    head = chunks.get()
    if isinstance(head, BaseException):
        raise head
    assert isinstance(head, _Ready)
    if not head.has_data:
        chunks.get()  # _DONE
        raise NotFound(empty_message)
    return _drain(chunks, gone)


def _drain(chunks: queue.Queue[object], gone: threading.Event) -> Iterator[bytes]:
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                log.error("data response cut short: %s", item, exc_info=item)
                return
            assert isinstance(item, bytes)
            yield item
    finally:
        gone.set()


class TailCut(io.RawIOBase):
    """Passes bytes on but keeps the root's closing tag back (the first of two spliced messages)."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self._out = out
        self._held = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        chunk = self._held + data
        self._out.write(chunk[:-256])
        self._held = chunk[-256:]
        return len(data)

    def finish(self) -> None:
        """Write what was held, without the final ``</prefix:Root>``."""
        end = self._held.rstrip()
        cut = end.rfind(b"</")
        self._out.write(end[:cut] if cut >= 0 else end)


class HeadCut(io.RawIOBase):
    """Drops everything before the first ``DataSet`` (the second of two spliced messages)."""

    _START = re.compile(rb"<[A-Za-z0-9_.\-]+:DataSet[\s>]")

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self._out = out
        self._head: bytearray | None = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        if self._head is None:
            self._out.write(data)
            return len(data)
        self._head += data
        match = self._START.search(self._head)
        if match is not None:
            self._out.write(bytes(self._head[match.start() :]))
            self._head = None
        return len(data)
