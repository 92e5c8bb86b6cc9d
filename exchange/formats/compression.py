"""Transparent gzip/zip decompression of inputs, with limits that stop decompression bombs.

NSOs e-mail and upload zipped files; harvesters send gzip. Inputs are recognised by their magic
bytes, not their names. Decompressed size is capped (``max_bytes``) while streaming, so a small
file that inflates to terabytes stops at the cap with a clear error instead of filling the disk or
memory; a zip is also checked against its central directory before anything is inflated. A zip
must hold exactly one data file (``__MACOSX`` and dot files are ignored); an .xlsx is a zip too and
is passed through untouched, for the Excel reader.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tempfile
import zipfile
import zlib
from typing import IO, BinaryIO, cast

from exchange.errors import MalformedData, TooLarge

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
DEFAULT_MAX_BYTES = 8 * 1024**3
MAX_RATIO = 1000


class LimitedReader(io.RawIOBase):
    """Reads through ``inner`` and raises :class:`TooLarge` past ``limit`` bytes."""

    def __init__(self, inner: IO[bytes], limit: int, name: str) -> None:
        self._inner = inner
        self._left = limit
        self._limit = limit
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(min(len(buffer), self._left + 1))
        except (EOFError, OSError, zlib.error) as exc:
            raise MalformedData(
                f"compressed input is truncated or corrupt: {exc}", where=self._name
            ) from exc
        if len(data) > self._left:
            raise TooLarge(f"decompressed input exceeds {self._limit} bytes", where=self._name)
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _seekable(source: BinaryIO) -> BinaryIO:
    if source.seekable():
        return source
    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115 - returned
    shutil.copyfileobj(source, spool)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _is_xlsx(archive: zipfile.ZipFile) -> bool:
    return "[Content_Types].xml" in archive.namelist()


def _zip_member(source: BinaryIO, name: str, max_bytes: int) -> tuple[BinaryIO, str]:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise MalformedData(f"not a readable zip archive: {exc}", where=name) from exc
    if _is_xlsx(archive):
        source.seek(0)
        return source, name
    members = [
        i
        for i in archive.infolist()
        if not i.is_dir()
        and not i.filename.startswith(("__MACOSX/", "."))
        and "/." not in i.filename
    ]
    if len(members) != 1:
        listed = ", ".join(i.filename for i in members) or "nothing"
        raise MalformedData(
            f"a zip must hold exactly one data file, this one holds {listed}", where=name
        )
    member = members[0]
    if member.file_size > max_bytes or member.file_size > MAX_RATIO * max(member.compress_size, 1):
        raise TooLarge(
            f"{member.filename} would inflate to {member.file_size} bytes "
            f"from {member.compress_size}",
            where=name,
        )
    inner_name = f"{name}!{member.filename}"
    stream = archive.open(member)
    return _buffered(LimitedReader(stream, max_bytes, inner_name)), inner_name


def _buffered(raw: object) -> io.BufferedReader:
    return io.BufferedReader(cast(io.RawIOBase, raw))


def open_decompressed(
    source: BinaryIO, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[BinaryIO, str]:
    """The decompressed stream of ``source`` and the name to cite in errors (``a.zip!b.csv``)."""
    buffered = source if isinstance(source, io.BufferedReader) else _buffered(source)
    buffered = cast(io.BufferedReader, buffered)
    head = buffered.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        gz = gzip.GzipFile(fileobj=buffered, mode="rb")
        return _buffered(LimitedReader(cast(IO[bytes], gz), max_bytes, name)), name
    if head == ZIP_MAGIC:
        return _zip_member(_seekable(cast(BinaryIO, buffered)), name, max_bytes)
    return cast(BinaryIO, buffered), name
