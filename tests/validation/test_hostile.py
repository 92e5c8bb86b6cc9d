"""Hostile inputs: bounded time and memory, a clear issue (or a clear refusal), never a crash."""

from __future__ import annotations

import gzip
import io
import time
import tracemalloc

import pytest

from exchange.errors import TooLarge
from exchange.formats.compression import open_decompressed
from exchange.model.store import StructureStore
from exchange.report import Report
from exchange.services.validate import validate_file

HEAD = b"DATAFLOW,REF_AREA,FREQ,MEASURE,SEX,AGE,CBR,TIME_PERIOD,OBS_VALUE\r\n"
ROW = (
    b"ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0),PHL,A,MST_TEMP_NB,SEX_T,AGE_10YRBANDS_TOTAL,"
    b"CBR_BIR_TOTAL,2020,1.0\r\n"
)


def bounded(body: bytes, store: StructureStore, name: str, seconds: float = 10) -> Report:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        report = validate_file(io.BytesIO(body), name, store)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - start < seconds
    assert peak < 200 * 1024**2
    return report


def test_a_million_columns(store: StructureStore) -> None:
    body = b"DATAFLOW" + b",X" * 1_000_000 + b"\r\n" + ROW
    report = bounded(body, store, "wide.csv")
    assert report.codes() == ["malformed-message"]


def test_invalid_utf8(store: StructureStore) -> None:
    report = bounded(HEAD + ROW.replace(b"PHL", b"P\xffL"), store, "bad.csv")
    assert [(i.code, i.location.row) for i in report.issues] == [("malformed-message", 2)]


def test_size_limit_refuses_the_input(store: StructureStore) -> None:
    """Decision: an input beyond the size limit is refused (TooLarge: HTTP 413, exit 2), not
    reported as half-validated — the part beyond the limit was never looked at."""
    packed = gzip.compress(HEAD + ROW * 200_000)
    stream, name = open_decompressed(io.BytesIO(packed), "big.csv.gz", max_bytes=1_000_000)
    with pytest.raises(TooLarge):
        validate_file(stream, name, store)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<message:StructureSpecificData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">&xxe;</message:StructureSpecificData>
"""
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
    )
    + b']><message:GenericData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">&j;</message:GenericData>'
)
DEEP = (
    b'<message:GenericData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">'
    + b"<a>" * 100_000
    + b"</a>" * 100_000
    + b"</message:GenericData>"
)


@pytest.mark.parametrize("body", [XXE, LAUGHS, DEEP], ids=["xxe", "billion-laughs", "deep"])
def test_hostile_xml(body: bytes, store: StructureStore) -> None:
    pytest.importorskip("exchange.formats.ml21_generic")
    report = bounded(body, store, "hostile.xml")
    assert not report.valid
    assert "root:" not in report.to_json()  # /etc/passwd never read
