"""The one exception tree of ILMS Exchange.

Every class carries the HTTP status it maps to, so the web layer translates any of them into an
SDMX error message in one place, and the CLI into an exit code, without a table of its own::

    IlmsError                     500  something we did not foresee
    ├── InvalidRequest            400  the caller's request is malformed (SDMX error 140)
    │   └── InvalidStructure      400  a structure message or artefact is unusable
    ├── Unauthorized              401
    ├── Forbidden                 403
    ├── NotFound                  404  (SDMX error 100: no results)
    ├── NotAcceptable             406
    ├── Conflict                  409  e.g. a duplicate artefact
    ├── TooLarge                  413
    ├── Unprocessable             422  well-formed but invalid content
    ├── FeatureNotImplemented     501
    └── RemoteError               502  a remote SDMX service failed (retrying may help)

Validation of *data* never raises: it returns a ``Report``. These exceptions are for requests and
structures that cannot be used at all.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "FeatureNotImplemented",
    "Forbidden",
    "IlmsError",
    "InvalidRequest",
    "InvalidStructure",
    "MalformedData",
    "NotAcceptable",
    "NotFound",
    "RemoteError",
    "TooLarge",
    "Unauthorized",
    "Unprocessable",
]


class IlmsError(Exception):
    """Base class; ``status`` is the HTTP status, ``sdmx_code`` the SDMX-REST error code."""

    status: int = 500
    sdmx_code: int = 500

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InvalidRequest(IlmsError):
    status = 400
    sdmx_code = 140


class InvalidStructure(InvalidRequest):
    """A structure message or artefact that cannot be used (not XML, wrong message, bad ref)."""


class Unauthorized(IlmsError):
    status = 401
    sdmx_code = 110


class Forbidden(IlmsError):
    status = 403
    sdmx_code = 120


class NotFound(IlmsError):
    status = 404
    sdmx_code = 100


class NotAcceptable(IlmsError):
    status = 406
    sdmx_code = 406


class Conflict(IlmsError):
    status = 409
    sdmx_code = 409


class TooLarge(IlmsError):
    status = 413
    sdmx_code = 510


class Unprocessable(IlmsError):
    status = 422
    sdmx_code = 422


class FeatureNotImplemented(IlmsError):
    status = 501
    sdmx_code = 501


class RemoteError(IlmsError):
    status = 502
    sdmx_code = 500


class Busy(IlmsError):
    """The store could not take a write in time (SQLite: another write held it past the busy
    timeout). Temporary: the service answers 503 with ``Retry-After``, which ``ilms push``
    and other clients retry on."""

    status = 503
    sdmx_code = 503
    retry_after = 30


class MalformedData(InvalidRequest):
    """A data message that cannot be read at all (not well-formed, truncated, not SDMX).

    ``where`` names the file and the line/column, CSV row or sheet cell.
    """
