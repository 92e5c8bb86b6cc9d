"""API tokens: shown once, stored hashed, revocable, found only by their exact secret."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from exchange.errors import InvalidRequest, NotFound
from exchange.storage import DataStore
from exchange.storage.tokens import PREFIX, hash_secret


def test_a_new_token_authenticates_as_its_provider(datastore: DataStore) -> None:
    info, secret = datastore.tokens.create("phl", label="PSA focal point")
    assert secret.startswith(PREFIX) and len(secret) > 40
    assert (info.provider, info.admin, info.label, info.revoked) == (
        "PHL",
        False,
        "PSA focal point",
        False,
    )
    assert datastore.tokens.authenticate(secret) == info
    admin, admin_secret = datastore.tokens.create(None, admin=True)
    assert datastore.tokens.authenticate(admin_secret) == admin and admin.provider is None


def test_only_the_hash_is_stored(datastore: DataStore) -> None:
    info, secret = datastore.tokens.create("PHL")
    with datastore.engine.connect() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM api_tokens"))]
    text = repr(rows)
    assert secret not in text and secret[len(PREFIX) :] not in text
    assert hash_secret(secret) in text and info.id in text


def test_near_misses_do_not_authenticate(datastore: DataStore) -> None:
    _, secret = datastore.tokens.create("PHL")
    for wrong in (secret[:-1], secret + "x", secret.upper(), secret[len(PREFIX) :], "", PREFIX):
        assert datastore.tokens.authenticate(wrong) is None


def test_a_revoked_token_fails_and_stays_listed(datastore: DataStore) -> None:
    info, secret = datastore.tokens.create("PHL", label="old laptop")
    other, other_secret = datastore.tokens.create("MYS")
    revoked = datastore.tokens.revoke(info.id)
    assert revoked.revoked and revoked.revoked_at is not None
    assert datastore.tokens.authenticate(secret) is None
    assert datastore.tokens.authenticate(other_secret) == other
    assert datastore.tokens.revoke(info.id).revoked_at == revoked.revoked_at  # kept
    assert [(t.id, t.revoked) for t in datastore.tokens.list()] == [
        (info.id, True),
        (other.id, False),
    ]
    with pytest.raises(NotFound):
        datastore.tokens.revoke("nosuchtoken")


def test_a_token_is_for_a_provider_or_an_admin(datastore: DataStore) -> None:
    with pytest.raises(InvalidRequest):
        datastore.tokens.create(None)
    with pytest.raises(InvalidRequest):
        datastore.tokens.create("  ")
    for wrong in ("PH L", "P" * 51, "PHL;DROP TABLE"):
        with pytest.raises(InvalidRequest, match="not a data provider id"):
            datastore.tokens.create(wrong)
    with pytest.raises(InvalidRequest, match="200"):
        datastore.tokens.create("PHL", label="x" * 201)
