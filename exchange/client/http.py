"""Fetching from remote SDMX-REST services (ILOSTAT and others) with httpx.

The only module that talks to the network. Bodies are read in chunks up to a size limit, so a
misbehaving server cannot make us hold an unbounded response.
"""

from __future__ import annotations

import httpx

from exchange.errors import RemoteError, TooLarge

STRUCTURE_ML_21 = "application/vnd.sdmx.structure+xml;version=2.1"


def fetch(
    url: str,
    *,
    accept: str = STRUCTURE_ML_21,
    max_bytes: int = 256 * 1024 * 1024,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    """GET ``url`` and return its body; errors say what the remote answered."""
    chunks: list[bytes] = []
    size = 0
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, transport=transport) as client,
            client.stream(
                "GET", url, headers={"Accept": accept, "Accept-Encoding": "gzip"}
            ) as response,
        ):
            if response.status_code >= 400:
                raise RemoteError(f"{url} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"{url} sent more than {max_bytes} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise RemoteError(f"could not fetch {url}: {exc}") from exc
    return b"".join(chunks)
