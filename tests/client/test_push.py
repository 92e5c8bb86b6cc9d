"""``ilms push`` against recorded answers of the service (respx): what a focal point sees.

The bodies under ``tests/data/push/`` follow the submission contract of ``docs/push-client.md``;
the error bodies are the service's own SDMX error messages (``server.errors``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from click.testing import CliRunner, Result

import ilms.push
from ilms.main import cli
from tests.conftest import DATA

URL = "http://ilms.test"
FLOW = "ILO,DF_MST_TEMP_SEX_AGE_CBR_NB,1.0"
DATA_PATH = f"/rest/data/{FLOW}"
PUSH = DATA / "push"
FILE = PUSH / "phl-2023.csv"
TOKEN = "ilms_phl_s3cr3t-T0KEN.value"
CSV10 = "application/vnd.sdmx.data+csv;version=1.0.0"


def recorded(name: str, status: int = 200, **headers: str) -> httpx.Response:
    body = (PUSH / name).read_bytes()
    kind = "application/json" if name.endswith(".json") else "application/xml"
    return httpx.Response(status, content=body, headers={"Content-Type": kind, **headers})


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait of the command (back-off, polling), recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(ilms.push, "SLEEP", waited.append)
    return waited


def push(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["push", *args], env=env)


def test_stored_prints_report_and_counts_exit_0(api: respx.MockRouter) -> None:
    route = api.post(DATA_PATH).mock(return_value=recorded("stored.json", 201))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 0, result.output
    assert "VALID: 0 errors" in result.stdout
    assert "6 added, 0 replaced, 0 deleted, 0 unchanged" in result.stdout
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == CSV10
    assert request.headers["Content-Disposition"] == 'attachment; filename="phl-2023.csv"'
    assert request.headers["Content-Length"] == str(FILE.stat().st_size)
    assert request.read() == FILE.read_bytes()
    assert "dryRun" not in request.url.params and "async" not in request.url.params


def test_dataflow_option_and_rest_url_and_env_token(api: respx.MockRouter) -> None:
    route = api.post("/rest/data/DF_OTHER").mock(return_value=recorded("stored.json", 201))
    result = push(f"{URL}/rest/", str(FILE), "--dataflow", "DF_OTHER", env={"ILMS_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_rejected_prints_issues_exit_1(api: respx.MockRouter) -> None:
    api.post(DATA_PATH).mock(return_value=recorded("rejected.json", 422))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 1, result.output
    assert "NOT VALID: 1 error" in result.stdout
    assert "[error] unknown-code" in result.stdout
    assert "row 4" in result.stdout and "Did you mean SEX_F?" in result.stdout
    assert "rejected: nothing stored" in result.stdout


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (401, "error-401.xml", "missing or invalid API token"),
        (401, "error-401.json", "missing or invalid API token"),
        (403, "error-403.xml", "may not write REF_AREA MYS"),
        (413, "error-413.xml", "exceeds the limit of 104857600 bytes"),
        (415, "error-415.json", "unsupported media type"),
    ],
)
def test_refusals_exit_2_with_the_services_message(
    api: respx.MockRouter, status: int, body: str, says: str
) -> None:
    api.post(DATA_PATH).mock(return_value=recorded(body, status))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 2, result.output
    assert says in result.stderr and f"HTTP {status}" in result.stderr
    assert TOKEN not in result.output


def test_503_is_retried_honouring_retry_after(api: respx.MockRouter, sleeps: list[float]) -> None:
    route = api.post(DATA_PATH).mock(
        side_effect=[
            recorded("error-503.xml", 503, **{"Retry-After": "7"}),
            recorded("error-503.xml", 503),
            recorded("stored.json", 201),
        ]
    )
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 0, result.output
    assert route.call_count == 3
    assert sleeps == [7.0, 2.0]  # Retry-After, then the back-off of the second attempt
    assert "service unavailable (HTTP 503); trying again in 7 s" in result.stderr
    assert all(call.request.read() == FILE.read_bytes() for call in route.calls)


def test_503_gives_up_after_bounded_retries(api: respx.MockRouter, sleeps: list[float]) -> None:
    route = api.post(DATA_PATH).mock(return_value=recorded("error-503.xml", 503))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 2
    assert "HTTP 503" in result.stderr and "busy" in result.stderr
    assert route.call_count == 6
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_connection_refused_is_retried(api: respx.MockRouter, sleeps: list[float]) -> None:
    route = api.post(DATA_PATH).mock(
        side_effect=[httpx.ConnectError("connection refused"), recorded("stored.json", 201)]
    )
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 0, result.output
    assert route.call_count == 2 and sleeps == [1.0]


def test_failure_after_sending_is_not_retried(api: respx.MockRouter, sleeps: list[float]) -> None:
    route = api.post(DATA_PATH).mock(side_effect=httpx.ReadError("connection reset"))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 2
    assert "connection reset" in result.stderr
    assert route.call_count == 1 and sleeps == []


def test_async_polls_until_stored_showing_progress(
    api: respx.MockRouter, sleeps: list[float]
) -> None:
    location = "/submissions/01JDX7K3Q9PHL0000000000007"
    posted = api.post(DATA_PATH).mock(
        return_value=recorded("accepted.json", 202, Location=location)
    )
    polled = api.get(location).mock(
        side_effect=[recorded("running.json"), recorded("async-stored.json")]
    )
    result = push(URL, str(FILE), "--token", TOKEN, "--async")
    assert result.exit_code == 0, result.output
    request = posted.calls.last.request
    assert request.url.params["async"] == "true"
    assert request.headers["Prefer"] == "respond-async"
    assert polled.call_count == 2
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in polled.calls)
    assert "queued" in result.stderr and "running, 4 observations read" in result.stderr
    assert "6 added" in result.stdout
    assert len(sleeps) == 2


def test_large_files_go_async_by_default(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ilms.push, "ASYNC_ABOVE", 100)
    route = api.post(DATA_PATH).mock(return_value=recorded("stored.json", 201))
    assert push(URL, str(FILE), "--token", TOKEN).exit_code == 0
    assert route.calls.last.request.url.params["async"] == "true"
    assert push(URL, str(FILE), "--token", TOKEN, "--wait").exit_code == 0
    assert "async" not in route.calls.last.request.url.params


def test_duplicate_exit_0_says_nothing_changed(api: respx.MockRouter) -> None:
    api.post(DATA_PATH).mock(return_value=recorded("duplicate.json"))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 0, result.output
    assert "duplicate of submission 01JDX7K3Q9PHL0000000000001: nothing changed" in result.stdout


def test_dry_run_sends_the_flag_and_stores_nothing(api: respx.MockRouter) -> None:
    route = api.post(DATA_PATH).mock(return_value=recorded("dry-run-valid.json"))
    result = push(URL, str(FILE), "--token", TOKEN, "--dry-run")
    assert result.exit_code == 0, result.output
    assert route.calls.last.request.url.params["dryRun"] == "true"
    assert "dry run: valid, nothing stored" in result.stdout


@pytest.mark.parametrize(
    ("action", "method", "body", "line"),
    [
        ("replace", "PUT", "replaced.json", "0 added, 2 replaced, 0 deleted, 4 unchanged"),
        ("delete", "DELETE", "deleted.json", "0 added, 0 replaced, 6 deleted, 0 unchanged"),
    ],
)
def test_replace_and_delete_use_put_and_delete(
    api: respx.MockRouter, action: str, method: str, body: str, line: str
) -> None:
    route = api.route(method=method, path=DATA_PATH).mock(return_value=recorded(body, 201))
    result = push(URL, str(FILE), "--token", TOKEN, "--action", action)
    assert result.exit_code == 0, result.output
    assert route.called and route.calls.last.request.read() == FILE.read_bytes()
    assert line in result.stdout


def test_gzip_file_sent_as_is_with_content_encoding(api: respx.MockRouter, tmp_path: Path) -> None:
    packed = tmp_path / "phl-2023.csv.gz"
    packed.write_bytes(gzip.compress(FILE.read_bytes()))
    route = api.post(DATA_PATH).mock(return_value=recorded("stored.json", 201))
    result = push(URL, str(packed), "--token", TOKEN)  # dataflow read inside the gzip
    assert result.exit_code == 0, result.output
    request = route.calls.last.request
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == CSV10
    assert request.read() == packed.read_bytes()


def test_file_naming_no_dataflow_exit_2_nothing_sent(api: respx.MockRouter, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,TIME_PERIOD,OBS_VALUE\n")
    result = push(URL, str(empty), "--token", TOKEN)
    assert result.exit_code == 2
    assert "names no dataflow" in result.stderr and "--dataflow" in result.stderr
    assert not api.calls


def test_json_format_prints_the_services_answer(api: respx.MockRouter) -> None:
    api.post(DATA_PATH).mock(return_value=recorded("rejected.json", 422))
    result = push(URL, str(FILE), "--token", TOKEN, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == json.loads((PUSH / "rejected.json").read_bytes())


def test_refused_for_other_countries_rows_shows_report_exit_2(api: respx.MockRouter) -> None:
    api.post(DATA_PATH).mock(return_value=recorded("refused-403.json", 403))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 2, result.output
    assert "[error] wrong-reporter" in result.stdout
    assert "refused (HTTP 403)" in result.stderr and "other countries than PHL" in result.stderr


def test_failed_submission_exit_2(api: respx.MockRouter) -> None:
    api.post(DATA_PATH).mock(return_value=recorded("failed.json", 500))
    result = push(URL, str(FILE), "--token", TOKEN)
    assert result.exit_code == 2
    assert "internal error while storing" in result.stderr


def test_unusable_token_is_refused_without_echo(api: respx.MockRouter) -> None:
    result = push(URL, str(FILE), "--token", "abc\r\nX-Evil: 1")
    assert result.exit_code == 2
    assert "X-Evil" not in result.output and not api.calls


def test_interrupted_wait_says_where_the_submission_is(
    api: respx.MockRouter, sleeps: list[float]
) -> None:
    location = "/submissions/01JDX7K3Q9PHL0000000000007"
    api.post(DATA_PATH).mock(return_value=recorded("accepted.json", 202, Location=location))

    def interrupt(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    api.get(location).mock(side_effect=interrupt)
    result = push(URL, str(FILE), "--token", TOKEN, "--async")
    assert result.exit_code != 0
    assert f"still running: {URL}{location}" in result.stderr
