"""Content negotiation for data responses (SDMX-REST 1.5 and 2.0, "HTTP content-negotiation").

The ``format`` query parameter (``genericdata``, ``structurespecificdata``, ``jsondata``, ``csv``
and the registry's other names), which ILOSTAT and .Stat clients send, wins over ``Accept``. The
``Accept`` header is read with q-values and the SDMX ``version`` parameter; SDMX-CSV takes
``labels=id|both`` and ``timeFormat=original|normalized`` as media type parameters too. Plain
``application/json``, ``application/xml`` and ``text/csv`` get the API version's own format.
Defaults: SDMX-ML 2.1 generic on 1.5 (what every 1.5 client expects) and SDMX-JSON 2.0.0 on 2.0
(as the 2.0 structure API). Anything else is 406 with the list of what is offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exchange.errors import NotAcceptable
from exchange.formats.registry import DataFormat, by_name
from server.negotiation import parse_accept

#: (type, version or None: any) → registry name.
_TYPES: dict[tuple[str, str | None], str] = {
    ("application/vnd.sdmx.genericdata+xml", None): "sdmx-ml-2.1-generic",
    ("application/vnd.sdmx.genericdata+xml", "2.1"): "sdmx-ml-2.1-generic",
    ("application/vnd.sdmx.structurespecificdata+xml", None): "sdmx-ml-2.1-structurespecific",
    ("application/vnd.sdmx.structurespecificdata+xml", "2.1"): "sdmx-ml-2.1-structurespecific",
    ("application/vnd.sdmx.data+xml", "3.0.0"): "sdmx-ml-3.0",
    ("application/vnd.sdmx.data+xml", "3.0"): "sdmx-ml-3.0",
    ("application/vnd.sdmx.data+xml", None): "sdmx-ml-3.0",
    ("application/vnd.sdmx.data+json", "1.0.0"): "sdmx-json-1.0",
    ("application/vnd.sdmx.data+json", "1.0"): "sdmx-json-1.0",
    ("application/vnd.sdmx.data+json", "2.0.0"): "sdmx-json-2.0",
    ("application/vnd.sdmx.data+json", "2.0"): "sdmx-json-2.0",
    ("application/vnd.sdmx.data+csv", "1.0.0"): "sdmx-csv-1.0",
    ("application/vnd.sdmx.data+csv", "1.0"): "sdmx-csv-1.0",
    ("application/vnd.sdmx.data+csv", "2.0.0"): "sdmx-csv-2.0",
    ("application/vnd.sdmx.data+csv", "2.0"): "sdmx-csv-2.0",
}
#: Types whose version depends on the API: (1.5, 2.0).
_BY_API: dict[str, tuple[str, str]] = {
    "application/vnd.sdmx.data+json": ("sdmx-json-1.0", "sdmx-json-2.0"),
    "application/vnd.sdmx.data+csv": ("sdmx-csv-1.0", "sdmx-csv-2.0"),
    "application/json": ("sdmx-json-1.0", "sdmx-json-2.0"),
    "text/csv": ("sdmx-csv-1.0", "sdmx-csv-2.0"),
    "application/csv": ("sdmx-csv-1.0", "sdmx-csv-2.0"),
    "application/xml": ("sdmx-ml-2.1-generic", "sdmx-ml-3.0"),
    "text/xml": ("sdmx-ml-2.1-generic", "sdmx-ml-3.0"),
}
_DEFAULT = ("sdmx-ml-2.1-generic", "sdmx-json-2.0")
_LABELS = frozenset({"id", "both", "name"})
_TIME_FORMATS = frozenset({"original", "normalized"})


@dataclass(frozen=True)
class DataRendering:
    """The chosen data format and the writer options its media type asked for."""

    format: DataFormat
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return self.format.media_type.replace(";", "; ")

    @property
    def is_json(self) -> bool:
        return "json" in self.format.name

    @property
    def is_csv(self) -> bool:
        return "csv" in self.format.name

    @property
    def is_xml(self) -> bool:
        return "sdmx-ml" in self.format.name


def _params(header: str, media_type: str) -> dict[str, str]:
    """The media type parameters of the Accept entry for ``media_type``."""
    for part in header.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        if kind.lower() == media_type:
            return {
                n.strip().lower(): v.strip().strip('"')
                for n, _, v in (p.partition("=") for p in params)
            }
    return {}


def _csv_options(
    params: dict[str, str], labels: str | None, time_format: str | None
) -> dict[str, Any]:
    labels = labels or params.get("labels") or "id"
    time_format = time_format or params.get("timeformat") or "original"
    if labels not in _LABELS:
        raise NotAcceptable(f"labels={labels} is not id, both or name")
    if time_format not in _TIME_FORMATS:
        raise NotAcceptable(f"timeFormat={time_format} is not original or normalized")
    return {"labels": labels, "time_format": time_format}


def negotiate_data(
    accept: str | None,
    fmt: str | None = None,
    *,
    v2: bool = False,
    labels: str | None = None,
    time_format: str | None = None,
) -> DataRendering:
    """The data format of a request (``labels``/``time_format``: query parameters, if any)."""
    api = 1 if v2 else 0
    chosen: str | None = None
    params: dict[str, str] = {}
    if fmt:
        chosen = by_name(_BY_API.get(f"text/{fmt.lower()}", ("", ""))[api] or fmt).name
    else:
        for media in parse_accept(accept):
            if media.q <= 0:
                continue
            if media.type in ("*/*", "application/*"):
                chosen = _DEFAULT[api]
            elif (media.type, media.version) in _TYPES:
                chosen = _TYPES[(media.type, media.version)]
            elif media.version is None and media.type in _BY_API:
                chosen = _BY_API[media.type][api]
            if chosen:
                params = _params(accept or "", media.type)
                break
        else:
            if parse_accept(accept):
                offered = sorted({t for t, _ in _TYPES} | set(_BY_API))
                raise NotAcceptable(
                    f"cannot answer data with {accept}; offered: {', '.join(offered)}"
                )
            chosen = _DEFAULT[api]
    data_format = by_name(chosen)
    if data_format.name == "excel":
        raise NotAcceptable("data queries are not answered in Excel")
    options = _csv_options(params, labels, time_format) if "csv" in chosen else {}
    return DataRendering(data_format, options)
