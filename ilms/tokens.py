"""``ilms tokens``: create, list and revoke the API tokens that data pushes need.

A token is shown once, when created, alone on the last line of stdout (so scripts can take it
with ``tail -n1``); the store keeps only its hash. ``--database`` / ``$ILMS_DATABASE_URL`` as
``ilms load``: the service's database, whose tables are created or upgraded first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from exchange.storage import DataStore, TokenInfo
from exchange.storage.store import from_stamp
from ilms.load import DEFAULT_DATABASE

_database = click.option(
    "--database",
    envvar="ILMS_DATABASE_URL",
    default=DEFAULT_DATABASE,
    show_default=True,
    help="SQLAlchemy URL of the store (env ILMS_DATABASE_URL).",
)


@contextmanager
def _store(url: str) -> Iterator[DataStore]:
    data = DataStore(url)
    try:
        data.migrate()
        yield data
    finally:
        data.close()


def _describe(info: TokenInfo) -> str:
    who = "admin" if info.admin else "provider"
    if info.provider:
        who += f" {info.provider}"
    created = from_stamp(info.created_at).strftime("%Y-%m-%d %H:%M")
    state = (
        "revoked " + from_stamp(info.revoked_at).strftime("%Y-%m-%d")
        if info.revoked_at
        else "active"
    )
    label = f"  {info.label}" if info.label else ""
    return f"{info.id}  {who:<14}  created {created}  {state}{label}"


@click.group()
def tokens() -> None:
    """API tokens for pushing data (one per data provider, or admin)."""


@tokens.command()
@click.option("--provider", default=None, help="Data provider (country) the token pushes for.")
@click.option("--admin", is_flag=True, help="An admin token: may push any country's data.")
@click.option("--label", default="", help="A note to recognise the token by (who holds it).")
@_database
def create(provider: str | None, admin: bool, label: str, database: str) -> None:
    """Create a token; it is printed once, alone on the last line."""
    if provider is None and not admin:
        raise click.UsageError("give --provider (e.g. --provider PHL) or --admin")
    with _store(database) as data:
        info, secret = data.tokens.create(provider, admin=admin, label=label)
    click.echo(f"created token {_describe(info)}")
    click.echo("keep it secret; it is not shown again:")
    click.echo(secret)


@tokens.command(name="list")
@_database
def list_tokens(database: str) -> None:
    """List the tokens (never their secrets)."""
    with _store(database) as data:
        found = data.tokens.list()
    for info in found:
        click.echo(_describe(info))
    if not found:
        click.echo("no tokens yet: ilms tokens create --provider XXX")


@tokens.command()
@click.argument("token_id")
@_database
def revoke(token_id: str, database: str) -> None:
    """Revoke the token TOKEN_ID (the id from `ilms tokens list`) for good."""
    with _store(database) as data:
        info = data.tokens.revoke(token_id)
    click.echo(f"revoked {_describe(info)}")
