"""``ilms validate`` through the installed entry point: exit codes 0/1/2 and the renderings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ILMS = Path(sys.executable).parent / "ilms"
INVALID = ROOT / "tests" / "data" / "invalid"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(ILMS), "validate", *args], input=stdin, capture_output=True, timeout=120, check=False
    )


def valid_csv() -> bytes:
    body = (INVALID / "csv10-decimals-mismatch.csv").read_bytes()
    return body.replace(b"100.00", b"100.0")


def test_valid_from_stdin_exits_0() -> None:
    done = run("-", stdin=valid_csv())
    assert done.returncode == 0, done.stdout
    assert b"VALID" in done.stdout


def test_invalid_exits_1_with_text_json_html() -> None:
    path = str(INVALID / "csv10-unknown-code.csv")
    text = run(path)
    assert text.returncode == 1
    assert b"unknown-code" in text.stdout and b"row 4" in text.stdout
    report = json.loads(run(path, "--format", "json").stdout)
    assert report["valid"] is False
    assert report["issues"][0]["code"] == "unknown-code"
    html = run(path, "--format", "html")
    assert html.returncode == 1 and html.stdout.startswith(b"<!DOCTYPE html>")


def test_malformed_file_is_a_report_not_a_crash() -> None:
    done = run(str(INVALID / "csv10-bad-utf8.csv"))
    assert done.returncode == 1
    assert b"malformed-message" in done.stdout


def test_could_not_run_exits_2() -> None:
    assert run(str(INVALID / "missing.csv")).returncode == 2
    unknown = run("--dataflow", "DF_NOPE", str(INVALID / "csv10-unknown-code.csv"))
    assert unknown.returncode == 2
    assert b"DF_NOPE" in unknown.stderr
    assert run("--format", "pdf", "-").returncode == 2
