"""Series keys and key filters: how the store names a series and matches a query to it.

A series key is stored as its dimension values joined by ``.``, the SDMX-REST key syntax
(SDMX 2.1 Section 7, §3.3.3); SDMX ids cannot contain a dot, so the join is reversible. A key
filter has one entry per dimension, in the DSD's order: ``None`` matches any code (the REST
wildcard, an empty position in ``PHL..MST_TEMP_NB``), a set matches any of its codes (the REST
``+`` OR). An empty set matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product
from math import prod

from exchange.errors import InvalidRequest

__all__ = [
    "KeyFilter",
    "end_bound",
    "join_key",
    "key_predicate",
    "matches",
    "parse_key",
    "spelled_out",
    "split_key",
]

KeyFilter = Sequence[frozenset[str] | set[str] | None]
#: What a Delete message may put in a key position to mean "every code" (wildcard delete).
WILDCARDS = frozenset({"", "*"})


def join_key(key: Sequence[str]) -> str:
    return ".".join(key)


def split_key(text: str) -> tuple[str, ...]:
    return tuple(text.split("."))


def parse_key(text: str, size: int | None = None) -> list[frozenset[str] | None]:
    """``PHL+MYS.A..SEX_T`` → ``[{PHL, MYS}, {A}, None, {SEX_T}]``; ``all``/``*`` → wildcards."""
    if text in ("", "all", "*"):
        if size is None:
            raise InvalidRequest("say how many dimensions a wildcard key has")
        return [None] * size
    positions = text.split(".")
    if size is not None and len(positions) != size:
        raise InvalidRequest(f"the key {text!r} has {len(positions)} dimensions, not {size}")
    return [frozenset(p.split("+")) if p not in WILDCARDS else None for p in positions]


def matches(key: Sequence[str], key_filter: KeyFilter | None) -> bool:
    """Whether a stored series key is selected by ``key_filter`` (None: no filter)."""
    if key_filter is None:
        return True
    if len(key_filter) != len(key):
        raise InvalidRequest(
            f"the key filter has {len(key_filter)} dimensions, the data {len(key)}"
        )
    return all(codes is None or code in codes for code, codes in zip(key, key_filter, strict=True))


def key_predicate(key_filter: KeyFilter) -> Callable[[str], bool]:
    """:func:`matches` on stored key text, compiled once for a query.

    Only the filtered positions are checked (a country query checks one of six), which is what
    makes listing a dataflow's series for a key filter cheap next to reading them.
    """
    size = len(key_filter)
    checks = [(i, codes) for i, codes in enumerate(key_filter) if codes is not None]

    def predicate(text: str) -> bool:
        parts = text.split(".")
        if len(parts) != size:
            raise InvalidRequest(f"the key filter has {size} dimensions, the data {len(parts)}")
        return all(parts[i] in codes for i, codes in checks)

    return predicate


def spelled_out(key_filter: KeyFilter, limit: int) -> list[str] | None:
    """Every key text a filter with no wildcard selects, sorted; None beyond ``limit`` keys.

    A fully specified filter (a single series, or a few ``+``-ed codes per position) is then
    looked up by key in the ``(dataflow, series_key)`` index instead of listing and matching
    the series of a whole country.
    """
    pools = [sorted(codes) for codes in key_filter if codes is not None]
    if len(pools) != len(key_filter) or prod(len(pool) for pool in pools) > limit:
        return None
    return sorted(".".join(parts) for parts in product(*pools))


def wildcard_filter(key: Sequence[str]) -> list[frozenset[str] | None] | None:
    """The filter a Delete message's key means, or None if it names exactly one series."""
    if not any(code in WILDCARDS for code in key):
        return None
    return [None if code in WILDCARDS else frozenset({code}) for code in key]


def end_bound(end_period: str) -> str:
    """The largest stored period text that is still within ``endPeriod``.

    Periods compare as text, which is chronological for one frequency (``2019`` < ``2019-Q2`` <
    ``2020``). SDMX's endPeriod includes every period that starts within it (``endPeriod=2020``
    includes ``2020-Q4`` and ``2020-12-31``), so the bound is the period followed by ``~``, which
    sorts after every character SDMX periods use.
    """
    return end_period + "~"
