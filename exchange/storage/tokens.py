"""API tokens: who may push data, kept so that a stolen database does not give the tokens away.

A token is ``ilms_`` followed by 43 URL-safe characters (256 bits from :mod:`secrets`): the prefix
makes a leaked token easy to find with ``grep`` and secret scanners. Only its SHA-256 is stored; a
high-entropy secret needs no salt or slow hash (nothing to guess), and hashing makes lookup by
hash the comparison itself, so a wrong token takes the same time whatever it shares with a right
one. Each token also gets a short random ``id`` that is *not* secret: it names the token in the
submission log, in ``ilms tokens list`` and when revoking.

A token belongs to one data provider (the reporting country, e.g. ``PHL``), which may push only
its own data to the dataflows its provision agreements allow; an *admin* token may push any
country's data. Revoking is permanent (the row stays, for the log's sake).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from exchange.errors import InvalidRequest, NotFound
from exchange.storage.engine import now_us
from exchange.storage.tables import api_tokens

__all__ = ["PREFIX", "TokenInfo", "Tokens", "hash_secret"]

PREFIX = "ilms_"
#: An SDMX id (SDMX 2.1 Section 2, ``IDType``), as data provider ids are.
_PROVIDER_ID = re.compile(r"[A-Za-z0-9_@$\-]{1,50}")
_t = api_tokens.c


def hash_secret(secret: str) -> str:
    """The stored form of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """What the store knows of a token (never its secret)."""

    id: str
    provider: str | None
    admin: bool
    label: str
    created_at: int
    revoked_at: int | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _info(m: sa.RowMapping) -> TokenInfo:
    return TokenInfo(
        id=m["id"],
        provider=m["provider"],
        admin=bool(m["admin"]),
        label=m["label"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )


_COLUMNS = (_t.id, _t.provider, _t.admin, _t.label, _t.created_at, _t.revoked_at)


class Tokens:
    """The tokens of one store (``DataStore.tokens``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create(
        self, provider: str | None, *, admin: bool = False, label: str = ""
    ) -> tuple[TokenInfo, str]:
        """A new token: its description and its secret (shown once, never stored)."""
        if provider is not None:
            provider = provider.strip().upper()
        if not provider and not admin:
            raise InvalidRequest("a token is for a data provider (e.g. PHL) or an admin token")
        if provider and not _PROVIDER_ID.fullmatch(provider):
            raise InvalidRequest(f"{provider!r} is not a data provider id (like PHL)")
        if len(label) > 200:
            raise InvalidRequest("a token's label has at most 200 characters")
        secret = PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(secrets.token_hex(6), provider or None, admin, label, now_us())
        with self.engine.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    id=info.id,
                    secret_sha256=hash_secret(secret),
                    provider=info.provider,
                    admin=info.admin,
                    label=info.label,
                    created_at=info.created_at,
                )
            )
        return info, secret

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        stmt = sa.select(*_COLUMNS).order_by(_t.created_at, _t.id)
        with self.engine.connect() as conn:
            return [_info(row._mapping) for row in conn.execute(stmt)]

    def get(self, token_id: str) -> TokenInfo:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(_t.id == token_id)).first()
        if row is None:
            raise NotFound(f"no token {token_id}")
        return _info(row._mapping)

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token for good (revoking twice keeps the first date)."""
        with self.engine.begin() as conn:
            conn.execute(
                api_tokens.update()
                .where(_t.id == token_id, _t.revoked_at.is_(None))
                .values(revoked_at=now_us())
            )
        return self.get(token_id)

    def authenticate(self, secret: str) -> TokenInfo | None:
        """The live token whose secret this is; None for unknown or revoked tokens."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        digest = hash_secret(secret)
        stmt = sa.select(*_COLUMNS, _t.secret_sha256).where(_t.secret_sha256 == digest)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None or not hmac.compare_digest(row._mapping["secret_sha256"], digest):
            return None
        info = _info(row._mapping)
        return None if info.revoked else info
