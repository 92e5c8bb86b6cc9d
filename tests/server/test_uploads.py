"""The streaming multipart parser and file names: exact bytes whatever the chunking, no tricks."""

from __future__ import annotations

import io

import pytest

from exchange.errors import InvalidRequest, TooLarge
from server.uploads import MultipartFile, Sink, file_name

BOUNDARY = "----ilms7MA4YWxkTrZu0gW"
#: A file that contains what looks like boundaries, CRLFs and dashes near its end.
CONTENT = b"DATAFLOW,REF_AREA\r\n--" + BOUNDARY[:-1].encode() + b"\r\n\r\n--\r\n-" * 50 + b"\r\n"


def form(*parts: tuple[str, str | None, bytes], preamble: bytes = b"") -> bytes:
    out = [preamble]
    for name, filename, body in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: text/csv\r\n\r\n".encode()
            + body
            + b"\r\n"
        )
    out.append(f"--{BOUNDARY}--\r\nepilogue".encode())
    return b"".join(out)


def parse(body: bytes, size: int, limit: int = 10**6) -> tuple[bytes, str | None]:
    out = io.BytesIO()
    parser = MultipartFile(BOUNDARY, Sink(out, limit))
    for start in range(0, len(body), size):
        parser.feed(body[start : start + size])
    parser.close()
    return out.getvalue(), parser.filename


@pytest.mark.parametrize("size", [1, 2, 3, 7, 41, 64, 4096])
def test_the_file_comes_out_byte_for_byte_whatever_the_chunks(size: int) -> None:
    body = form(
        ("comment", None, b"first"),
        ("file", "phl.csv", CONTENT),
        ("other", None, b"x" * 100),
        preamble=b"ignored preamble\r\n",
    )
    assert parse(body, size) == (CONTENT, "phl.csv")


def test_an_empty_file_and_a_part_without_headers() -> None:
    body = f"--{BOUNDARY}\r\n\r\nno headers\r\n".encode() + form(("file", "e.csv", b""))
    assert parse(body, 5) == (b"", "e.csv")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (form(("comment", None, b"x")), "no field named file"),
        (form(("file", "a", b"1"), ("file", "b", b"2")), "one file per submission"),
        (form(("file", "a", CONTENT))[:-30], "ends before its closing boundary"),
        (b"--" + BOUNDARY.encode() + b"\r\n" + b"X" * 20_000, "too long"),
    ],
)
def test_broken_forms_are_refused(body: bytes, problem: str) -> None:
    with pytest.raises(InvalidRequest, match=problem):
        parse(body, 1000)


def test_the_limit_applies_to_the_file() -> None:
    with pytest.raises(TooLarge):
        parse(form(("file", "big.csv", b"x" * 5000)), 512, limit=4096)


def test_a_boundary_must_be_usable() -> None:
    with pytest.raises(InvalidRequest):
        MultipartFile("", Sink(io.BytesIO(), 10))


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("phl-2023.csv", "phl-2023.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\nso\\data.xml", "data.xml"),
        ("..", "upload"),
        (".hidden.csv", "hidden.csv"),
        ("a\x00b\nc.csv", "abc.csv"),
        ("", "upload"),
        (None, "upload"),
        ("déjà vu.csv", "déjà vu.csv"),
        ("x" * 300 + ".csv", ("x" * 300 + ".csv")[-200:]),
    ],
)
def test_file_names_are_only_labels(raw: str | None, label: str) -> None:
    assert file_name(raw) == label
