"""Streaming a data message: a writer thread, a bounded channel, an async iterator of chunks.

The format writers take a binary file (``BinaryIO``). A :class:`QueueSink` is that file: it
gathers what a writer writes into 256 KiB chunks and hands each to a :class:`Channel`, which the
response iterates on the event loop. The writer runs in a thread of its own (reading the store
there too, so a database connection never changes threads); when ``DEPTH`` chunks wait it waits,
so memory holds about a megabyte per response whatever the size of the answer. If the client
goes away the iterator is closed, the sink's next write raises :class:`ClientGone` and the
thread ends, releasing its connection.

Why a channel to the event loop rather than a ``queue.Queue`` iterated by Starlette: a sync
iterator is stepped with ``iterate_in_threadpool``, a thread-pool round trip per chunk. While
the writer thread holds the GIL, every such hand-over waits for the interpreter's 5 ms switch
interval, which made a 6.6 MB answer take three times as long over HTTP as writing it. Here the
writer wakes the loop with ``call_soon_threadsafe`` and the loop takes the chunk itself. Chunks
are 256 KiB (was 64 KiB) for the same reason: fewer hand-overs per megabyte.

Before any byte is sent the producer says whether there is anything to send
(``ready(False)`` → 404) or fails (an :class:`~exchange.errors.IlmsError` → its status), so the
status line can still be chosen; an error later can only cut the response short (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

from exchange.errors import NotFound

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
DEPTH = 4
#: How long a writer waits for a stalled client before it gives up (seconds).
STALL = 120.0
Producer = Callable[[BinaryIO, Callable[[bool], None]], None]


class ClientGone(Exception):
    """The response was abandoned: the writer stops."""


class Channel:
    """Items from one writer thread to the event loop, at most ``DEPTH`` waiting."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[object] = deque()
        self._space = threading.Semaphore(DEPTH)
        self._arrived = asyncio.Event()
        self.gone = threading.Event()

    def put(self, item: object) -> None:
        """Called by the writer thread: waits while the channel is full."""
        waited = 0.0
        while not self._space.acquire(timeout=1.0):
            waited += 1.0
            if self.gone.is_set() or waited > STALL:
                raise ClientGone
        if self.gone.is_set():
            raise ClientGone
        self._items.append(item)
        try:
            self._loop.call_soon_threadsafe(self._arrived.set)
        except RuntimeError:  # the loop is closed: the server is stopping
            raise ClientGone from None

    async def get(self) -> object:
        """Called on the event loop: the next item, once the writer has put it."""
        while not self._items:
            self._arrived.clear()
            if self._items:  # put between the check and the clear; its wake-up may be spent
                break
            await self._arrived.wait()
        item = self._items.popleft()
        self._space.release()
        return item

    def close(self) -> None:
        """The reader is done: a writer still running stops at its next write."""
        self.gone.set()
        self._space.release()


class QueueSink(io.RawIOBase):
    """A write-only binary file whose chunks go to a :class:`Channel`."""

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self._channel = channel
        self._pieces: list[bytes] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        piece = bytes(data)
        self._pieces.append(piece)
        self._size += len(piece)
        if self._size >= CHUNK:
            self.send()
        return len(piece)

    def send(self) -> None:
        if self._pieces:
            chunk = b"".join(self._pieces)
            self._pieces.clear()
            self._size = 0
            self._channel.put(chunk)

    def put(self, item: object) -> None:
        self._channel.put(item)


class _Ready:
    def __init__(self, has_data: bool) -> None:
        self.has_data = has_data


_DONE = object()


async def start(produce: Producer, empty_message: str) -> AsyncIterator[bytes]:
    """Run ``produce`` in a thread; return its chunks once it said there is something to send.

    Raises what the producer raised before ``ready`` (or ``NotFound`` on ``ready(False)``).
    """
    channel = Channel(asyncio.get_running_loop())
    sink = QueueSink(channel)

    def run() -> None:
        try:
            produce(sink, lambda has_data: sink.put(_Ready(has_data)))  # type: ignore[arg-type]
            sink.send()
            sink.put(_DONE)
        except ClientGone:
            log.info("data response abandoned by the client")
        except BaseException as exc:  # handed to the event loop
            with contextlib.suppress(ClientGone):
                sink.put(exc)

    threading.Thread(target=run, name="data-writer", daemon=True).start()
    try:
        head = await channel.get()
        if isinstance(head, BaseException):
            raise head
        assert isinstance(head, _Ready)
        if not head.has_data:
            await channel.get()  # _DONE: the writer has finished
            raise NotFound(empty_message)
    except BaseException:
        channel.close()
        raise
    return _drain(channel)


async def _drain(channel: Channel) -> AsyncIterator[bytes]:
    try:
        while True:
            item = await channel.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                log.error("data response cut short: %s", item, exc_info=item)
                return
            assert isinstance(item, bytes)
            yield item
    finally:
        channel.close()


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
