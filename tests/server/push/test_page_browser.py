"""The web page in a real browser: a focal point checks a file, then submits it with a token.

Runs where Chromium is installed (``scripts/test.sh`` installs it from Debian's packages); the
page's script is the only client of the API that no other test drives.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from exchange.model.schema import Schema
from tests.server.browser import Browser, chromium, headless
from tests.server.push_support import (
    FLOW,
    Tokens,
    cube,
    message,
    stored,
)

EXECUTABLE = chromium()
pytestmark = pytest.mark.skipif(EXECUTABLE is None, reason="Chromium is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert EXECUTABLE is not None
    with headless(EXECUTABLE) as found:
        yield found


def _files(tmp_path: Path, flow: Schema) -> tuple[Path, Path]:
    rows = [o for o in cube("PHL") if o.period == "2024"]
    good = tmp_path / "phl-2024.csv"
    good.write_bytes(message(flow, rows))
    key = rows[5].key  # REF_AREA, FREQ, MEASURE, SEX, AGE, CBR
    rows[5] = rows[5]._replace(key=(*key[:3], "SEX_FEM", *key[4:]))
    bad = tmp_path / "phl-2024-typo.csv"
    bad.write_bytes(message(flow, rows))
    return good, bad


def _submit(browser: Browser, token: str, path: Path) -> str:
    browser.js(f"document.getElementById('submit-token').value = {token!r}")
    browser.js(f"document.getElementById('submit-dataflow').value = {FLOW!r}")
    browser.choose_file("#submit-file", str(path))
    browser.js("document.querySelector('#submit-form button').click()")
    final = "/^(stored|rejected|valid|duplicate|failed|Not accepted)/"
    text = browser.wait_for(
        f"(t => {final}.test(t) ? t : '')(document.getElementById('submit-result').innerText)"
    )
    return str(text)


def test_a_focal_point_checks_then_submits(
    browser: Browser,
    live: str,
    tokens: Tokens,
    push_app: FastAPI,
    schema: Schema,
    tmp_path: Path,
) -> None:
    good, bad = _files(tmp_path, schema)
    browser.open(live + "/")
    assert browser.js("document.querySelectorAll('a[href^=\"/templates/\"]').length") == 57

    browser.choose_file("#check-file", str(bad))
    browser.js("document.querySelector('#check-form button').click()")
    report = browser.wait_for(
        "(f => f ? f.srcdoc : '')(document.querySelector('#check-result iframe'))"
    )
    assert "NOT VALID: 1 error" in report
    assert "row 7" in report and "SEX_FEM" in report and "Did you mean SEX_F?" in report
    assert stored(push_app) == set()  # checking stores nothing

    rejected = _submit(browser, tokens.phl, bad)
    assert rejected.startswith("rejected: NOT VALID: 1 error"), rejected
    assert stored(push_app) == set()

    accepted = _submit(browser, tokens.phl, good)
    assert accepted.startswith("stored: Stored in ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0): 544 added")
    assert len(stored(push_app)) == 544


def test_a_wrong_token_is_said_plainly(
    browser: Browser,
    live: str,
    schema: Schema,
    tmp_path: Path,
) -> None:
    good, _ = _files(tmp_path, schema)
    browser.open(live + "/")
    answer = _submit(browser, "ilms_not-a-token", good)
    assert answer.startswith("Not accepted:") and "token" in answer, answer
