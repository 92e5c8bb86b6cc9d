"""Content negotiation for structure responses (SDMX-REST 1.5 §"HTTP content-negotiation").

The ``Accept`` header is read with its q-values (RFC 9110 §12.5.1); the SDMX ``version`` media
type parameter picks the format version (``application/vnd.sdmx.structure+xml;version=2.1``).
The ``format`` query parameter, which ILOSTAT and .Stat clients send instead of a header, wins
over the header. When nothing offered is acceptable the answer is 406 with the list of what is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from exchange.errors import NotAcceptable

ML21_TYPE = "application/vnd.sdmx.structure+xml; version=2.1"
JSON20_TYPE = "application/vnd.sdmx.structure+json; version=2.0.0"


class Rendering(str, Enum):
    """The structure formats the service writes, by their response media type."""

    ML21 = ML21_TYPE
    JSON20 = JSON20_TYPE

    @property
    def is_json(self) -> bool:
        return self is Rendering.JSON20


#: (type/subtype, version or None for "any version") → rendering. ``None`` marks a type we know
#: but cannot write (SDMX-ML 3.0, SDMX-JSON 1.0), so it never falls back to something else.
_OFFERS: dict[tuple[str, str | None], Rendering | None] = {
    ("application/vnd.sdmx.structure+xml", None): Rendering.ML21,
    ("application/vnd.sdmx.structure+xml", "2.1"): Rendering.ML21,
    ("application/vnd.sdmx.structure+xml", "3.0.0"): None,
    ("application/vnd.sdmx.structure+xml", "3.0"): None,
    ("application/vnd.sdmx.structure+json", None): Rendering.JSON20,
    ("application/vnd.sdmx.structure+json", "2.0.0"): Rendering.JSON20,
    ("application/vnd.sdmx.structure+json", "2.0"): Rendering.JSON20,
    ("application/vnd.sdmx.structure+json", "2"): Rendering.JSON20,
    ("application/vnd.sdmx.structure+json", "1.0.0"): None,
    ("application/xml", None): Rendering.ML21,
    ("text/xml", None): Rendering.ML21,
    ("application/json", None): Rendering.JSON20,
}

#: ``format=`` values (ILOSTAT, .Stat Suite, FMR spellings).
FORMATS: dict[str, Rendering] = {
    "structure": Rendering.ML21,
    "sdmx-ml": Rendering.ML21,
    "sdmxml": Rendering.ML21,
    "sdmx-2.1": Rendering.ML21,
    "sdmx21": Rendering.ML21,
    "xml": Rendering.ML21,
    "sdmx-json": Rendering.JSON20,
    "sdmxjson": Rendering.JSON20,
    "jsonstructure": Rendering.JSON20,
    "structure-json": Rendering.JSON20,
    "sdmx-json-2.0.0": Rendering.JSON20,
    "json": Rendering.JSON20,
}

SUPPORTED = [
    ML21_TYPE,
    "application/xml",
    JSON20_TYPE,
    "application/json",
]


@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header."""

    type: str
    version: str | None
    q: float
    order: int

    @property
    def specificity(self) -> int:
        if self.type == "*/*":
            return 0
        if self.type.endswith("/*"):
            return 1
        return 3 if self.version is not None else 2


def parse_accept(header: str | None) -> list[MediaRange]:
    """Media ranges of an ``Accept`` header, best first (q, then specificity, then order)."""
    ranges: list[MediaRange] = []
    for order, part in enumerate((header or "").split(",")):
        kind, *params = (p.strip() for p in part.split(";"))
        if not kind:
            continue
        q, version = 1.0, None
        for param in params:
            name, _, value = param.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
            elif name == "version":
                version = value
        ranges.append(MediaRange(kind.lower(), version, q, order))
    return sorted(ranges, key=lambda r: (-r.q, -r.specificity, r.order))


def _match(media: MediaRange, default: Rendering) -> Rendering | None:
    if media.type in ("*/*", "application/*"):
        return default
    if media.type == "text/*":
        return Rendering.ML21
    version = media.version if "vnd.sdmx" in media.type else None  # plain types: no versions
    return _OFFERS.get((media.type, version))


def negotiate(
    accept: str | None, fmt: str | None = None, *, default: Rendering = Rendering.ML21
) -> Rendering:
    """The rendering for a request; ``NotAcceptable`` lists the supported types."""
    if fmt:
        try:
            return FORMATS[fmt.lower()]
        except KeyError:
            raise NotAcceptable(
                f"format={fmt} is not supported; use one of: {', '.join(sorted(FORMATS))}"
            ) from None
    ranges = parse_accept(accept)
    if not ranges:
        return default
    for media in ranges:
        if media.q <= 0:
            continue
        found = _match(media, default)
        if found is not None:
            return found
    raise NotAcceptable(
        f"cannot answer with {accept}; supported media types: {', '.join(SUPPORTED)}"
    )


def prefers_json(
    accept: str | None, fmt: str | None = None, *, default: Rendering = Rendering.ML21
) -> bool:
    """For error bodies: JSON when the request negotiates JSON, XML otherwise (406 included)."""
    try:
        return negotiate(accept, fmt, default=default).is_json
    except NotAcceptable:
        best = next((r for r in parse_accept(accept) if r.q > 0), None)
        return best is not None and "json" in best.type


def preferred_languages(header: str | None) -> list[str]:
    """Language tags of ``Accept-Language`` by preference (``*`` and q=0 dropped)."""
    ranges = parse_accept(header)
    return [r.type for r in ranges if r.q > 0 and r.type != "*"]
