"""``ilms tokens``: the new token alone on the last line, listed without secrets, revocable."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exchange.storage import DataStore
from ilms.main import cli


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ilms.db'}"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["tokens", *args], env=env, catch_exceptions=False)


def test_create_prints_the_token_alone_on_the_last_line(database: str) -> None:
    done = run("create", "--provider", "PHL", "--label", "PSA", "--database", database)
    assert done.exit_code == 0, done.output
    secret = done.stdout.splitlines()[-1]
    assert secret.startswith("ilms_") and " " not in secret
    data = DataStore(database)
    try:
        info = data.tokens.authenticate(secret)
        assert info is not None and (info.provider, info.admin, info.label) == ("PHL", False, "PSA")
    finally:
        data.close()


def test_list_shows_tokens_but_never_their_secrets(database: str) -> None:
    phl = run("create", "--provider", "PHL", "--database", database).stdout.splitlines()[-1]
    admin = run("create", "--admin", env={"ILMS_DATABASE_URL": database})
    assert admin.exit_code == 0
    listed = run("list", "--database", database)
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and "provider PHL" in lines[0] and "admin" in lines[1]
    assert all("active" in line for line in lines)
    assert phl not in listed.stdout and admin.stdout.splitlines()[-1] not in listed.stdout


def test_revoke_by_id_stops_the_token(database: str) -> None:
    secret = run("create", "--provider", "MYS", "--database", database).stdout.splitlines()[-1]
    token_id = run("list", "--database", database).stdout.split()[0]
    done = run("revoke", token_id, "--database", database)
    assert done.exit_code == 0 and "revoked" in done.stdout
    assert "revoked" in run("list", "--database", database).stdout
    data = DataStore(database)
    try:
        assert data.tokens.authenticate(secret) is None
    finally:
        data.close()


def test_a_token_needs_a_provider_or_admin(database: str) -> None:
    done = CliRunner().invoke(cli, ["tokens", "create", "--database", database])
    assert done.exit_code == 2 and "--provider" in done.output
