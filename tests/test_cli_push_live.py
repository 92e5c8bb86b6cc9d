"""``ilms push`` for real: the service on a loopback socket, a PHL token, a file pushed, read back.

No mocks between the command and the store: the same bytes a focal point would send, the same
answers, then the data harvested back through ``/rest/data`` in SDMX-CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner, Result

from ilms.main import cli
from server.app import create_app
from server.settings import Settings
from tests.conftest import DATA, ROOT
from tests.server.conftest import serve

pytestmark = pytest.mark.slow
FILE = DATA / "push" / "phl-2023.csv"
INVALID = DATA / "invalid" / "csv10-unknown-code.csv"
FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
CSV10 = "application/vnd.sdmx.data+csv;version=1.0.0"
COLUMNS = ("REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR", "TIME_PERIOD", "OBS_VALUE")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The service's URL and a PHL token, on a database of its own."""
    database = f"sqlite:///{tmp_path_factory.mktemp('push-live') / 'ilms.db'}"
    created = invoke("tokens", "create", "--provider", "PHL", "--database", database)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    app = create_app(Settings(structures_root=ROOT, database_url=database))
    with serve(app) as url:
        yield url, token


def observations(body: str) -> set[tuple[str, ...]]:
    return {tuple(row[c] for c in COLUMNS) for row in csv.DictReader(io.StringIO(body))}


def harvest(url: str) -> set[tuple[str, ...]]:
    response = httpx.get(f"{url}/rest/data/{FLOW}/PHL", headers={"Accept": CSV10}, timeout=30)
    if response.status_code == 404:  # SDMX "no results"
        return set()
    response.raise_for_status()
    return observations(response.text)


def test_push_then_harvest_gives_the_same_observations(service: tuple[str, str]) -> None:
    url, token = service
    result = invoke("push", url, str(FILE), "--token", token)
    assert result.exit_code == 0, result.output
    assert "6 added, 0 replaced, 0 deleted, 0 unchanged" in result.stdout
    assert token not in result.output
    assert harvest(url) == observations(FILE.read_text(encoding="utf-8"))

    again = invoke("push", url, str(FILE), "--token", token)
    assert again.exit_code == 0, again.output
    assert "duplicate of submission" in again.stdout


def test_invalid_file_rejected_nothing_stored(service: tuple[str, str]) -> None:
    url, token = service
    before = harvest(url)
    result = invoke("push", url, str(INVALID), "--token", token, "--async")
    assert result.exit_code == 1, result.output
    assert "[error] unknown-code" in result.stdout and "rejected: nothing stored" in result.stdout
    assert harvest(url) == before


def test_without_a_valid_token_exit_2(service: tuple[str, str]) -> None:
    url, _ = service
    result = invoke("push", url, str(FILE), "--token", "not-a-real-token", "--dry-run")
    assert result.exit_code == 2
    assert "HTTP 401" in result.stderr and "not-a-real-token" not in result.output


def test_delete_removes_what_was_pushed(service: tuple[str, str]) -> None:
    url, token = service
    first = invoke("push", url, str(FILE), "--token", token)  # stored, or a duplicate
    assert first.exit_code == 0, first.output
    result = invoke("push", url, str(FILE), "--token", token, "--action", "delete")
    assert result.exit_code == 0, result.output
    assert "6 deleted" in result.stdout
    assert harvest(url) == set()
