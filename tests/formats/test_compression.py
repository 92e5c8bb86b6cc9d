"""Compressed inputs: recognised by content, inflated as a stream, bombs stopped at the limit."""

from __future__ import annotations

import gzip
import io
import os
import zipfile

import pytest

from exchange.errors import MalformedData, TooLarge
from exchange.formats.compression import open_decompressed

CSV = b"DATAFLOW,REF_AREA\r\nILO:DF_X(1.0),PHL\r\n"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def test_plain_input_passes_through_unchanged() -> None:
    stream, name = open_decompressed(io.BytesIO(CSV), "data.csv")
    assert (stream.read(), name) == (CSV, "data.csv")


def test_gzip_is_recognised_by_content_not_name() -> None:
    stream, name = open_decompressed(io.BytesIO(gzip.compress(CSV)), "upload.bin")
    assert (stream.read(), name) == (CSV, "upload.bin")


def test_zip_with_one_data_file_names_the_member() -> None:
    body = _zip({"phl/data.csv": CSV, "__MACOSX/._data.csv": b"junk"})
    stream, name = open_decompressed(io.BytesIO(body), "phl.zip")
    assert (stream.read(), name) == (CSV, "phl.zip!phl/data.csv")


def test_zip_with_two_data_files_is_refused_listing_them() -> None:
    with pytest.raises(MalformedData, match=r"a\.csv, b\.csv"):
        open_decompressed(io.BytesIO(_zip({"a.csv": CSV, "b.csv": CSV})), "two.zip")


def test_xlsx_is_handed_on_whole_for_the_excel_reader() -> None:
    body = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    stream, name = open_decompressed(io.BytesIO(body), "table.xlsx")
    assert (stream.read(), name) == (body, "table.xlsx")


def test_zip_bomb_is_refused_from_its_directory_before_inflating() -> None:
    bomb = _zip({"bomb.csv": b"0" * 50_000_000})  # ~50 KB compressed, ratio ~1000
    with pytest.raises(TooLarge, match="would inflate to 50000000 bytes"):
        open_decompressed(io.BytesIO(bomb), "bomb.zip", max_bytes=10_000_000)


def test_gzip_bomb_stops_at_the_limit_while_streaming() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)
    stream, _ = open_decompressed(io.BytesIO(bomb), "bomb.gz", max_bytes=1_000_000)
    with pytest.raises(TooLarge, match="exceeds 1000000 bytes"):
        while stream.read(65536):
            pass


def test_truncated_gzip_is_a_clear_error() -> None:
    cut = gzip.compress(CSV + bytes(range(256)) * 50 + os.urandom(4000))[:2000]
    stream, _ = open_decompressed(io.BytesIO(cut), "cut.csv.gz")
    with pytest.raises(MalformedData, match="truncated or corrupt"):
        stream.read()


def test_broken_zip_is_a_clear_error() -> None:
    with pytest.raises(MalformedData, match="not a readable zip"):
        open_decompressed(io.BytesIO(b"PK\x03\x04" + b"\0" * 100), "broken.zip")
