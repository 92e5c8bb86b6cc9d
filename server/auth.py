"""Bearer tokens for the resources that write or reveal submissions (issue #6).

``Authorization: Bearer ilms_…`` (RFC 6750). A missing, malformed, unknown or revoked token is
401 with ``WWW-Authenticate: Bearer`` and an SDMX error message (code 110); a token outside its
rights is 403 (code 120), raised where the rights are known. Reading published data needs no
token, so only the push and ``/submissions`` routes depend on this.

The token is never logged: it is read here and nowhere else, and the messages below never
repeat it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from exchange.services.submit import Identity
from exchange.storage import TokenInfo
from server.deps import DataStoreDep

__all__ = ["TokenDep", "identity", "require_token"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ilms"'}


def _unauthorized(message: str, error: str | None = None) -> HTTPException:
    challenge = _CHALLENGE["WWW-Authenticate"] + (f', error="{error}"' if error else "")
    return HTTPException(401, message, headers={"WWW-Authenticate": challenge})


def require_token(request: Request, data: DataStoreDep) -> TokenInfo:
    """The live token of the request, or 401 (a plain ``def``: FastAPI runs it in a thread)."""
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("this resource needs a token: send Authorization: Bearer <token>")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorized("send the token as Authorization: Bearer <token>", "invalid_request")
    info = data.tokens.authenticate(secret.strip())
    if info is None:
        raise _unauthorized("the token is not valid (unknown or revoked)", "invalid_token")
    return info


def identity(token: TokenInfo) -> Identity:
    return Identity(token.id, token.provider, token.admin)


TokenDep = Annotated[TokenInfo, Depends(require_token)]
