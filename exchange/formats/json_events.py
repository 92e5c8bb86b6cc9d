"""The ijson event stream of an SDMX-JSON data message and the first pass over its outline.

Split out of :mod:`exchange.formats.json_common` so that the low-level walking of the document
(the event stream with its JSON path, the scan of the top-level members, the seek back to the
``dataSets`` array on a second pass) lives apart from what the members mean. Reading streams with
:mod:`ijson` (the C backend when installed), ``use_float=False`` so that values keep their exact
decimal text (``Decimal("1.10")`` → ``"1.10"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

try:  # the C backend is 10-20x faster; fall back to whatever ijson picks
    import ijson.backends.yajl2_c as ijson
except ImportError:  # pragma: no cover
    import ijson

import ijson as ijson_package

from exchange.errors import MalformedData

Event = tuple[str, str, Any]


# -- reading: events ---------------------------------------------------------------------------
class Events:
    """The ijson event stream of one pass, with the JSON path of what is being read."""

    def __init__(self, source: BinaryIO, name: str) -> None:
        self.source = source
        self.name = name
        self._events: Iterator[Event] = ijson.parse(source, use_float=False)

    def next(self) -> Event:
        try:
            return next(self._events)
        except StopIteration:
            raise MalformedData(
                "the JSON text ends too early (truncated?)", where=self.offset()
            ) from None
        except ijson_package.JSONError as exc:
            raise MalformedData(f"not valid JSON: {_short(exc)}", where=self.offset()) from None

    def at_end(self) -> bool:
        try:
            next(self._events)
        except StopIteration:
            return True
        except ijson_package.JSONError as exc:
            raise MalformedData(f"not valid JSON: {_short(exc)}", where=self.offset()) from None
        return False

    def offset(self) -> str:
        try:
            return f"{self.name}: near byte {self.source.tell()}"
        except (OSError, ValueError):
            return self.name

    def build(self, event: str, value: Any) -> Any:
        """The Python value whose first event is ``event`` (maps, arrays and scalars)."""
        if event == "start_map":
            obj: dict[str, Any] = {}
            while True:
                _, ev, key = self.next()
                if ev == "end_map":
                    return obj
                _, ev, val = self.next()
                obj[key] = self.build(ev, val)
        if event == "start_array":
            arr: list[Any] = []
            while True:
                _, ev, val = self.next()
                if ev == "end_array":
                    return arr
                arr.append(self.build(ev, val))
        return value

    def skip(self, event: str) -> None:
        """Skip the value whose first event is ``event``."""
        if event not in ("start_map", "start_array"):
            return
        depth = 1
        while depth:
            _, ev, _ = self.next()
            if ev in ("start_map", "start_array"):
                depth += 1
            elif ev in ("end_map", "end_array"):
                depth -= 1


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


# -- reading: the document outline ------------------------------------------------------------
@dataclass
class Outline:
    """What the first pass learns: header, structure, envelope, where the data sets are."""

    version: str
    header: dict[str, Any] | None = None
    structure: dict[str, Any] | None = None
    structure_path: str = "structure"
    datasets_path: str = "dataSets"
    datasets_seen: bool = False
    errors: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def scan(events: Events, outline: Outline, *, stop_at_datasets: bool) -> bool:
    """Walk the top of the message; True when stopped at the start of the ``dataSets`` array."""
    _, ev, _ = events.next()
    if ev != "start_map":
        raise MalformedData(
            "expected an SDMX-JSON data message (a JSON object), found a JSON "
            + ("array" if ev == "start_array" else "scalar"),
            where=f"{events.name}: $",
        )
    return _scan_members(events, outline, "", stop_at_datasets=stop_at_datasets)


def _scan_members(events: Events, outline: Outline, path: str, *, stop_at_datasets: bool) -> bool:
    while True:
        _, ev, key = events.next()
        if ev == "end_map":
            return False
        _, ev, value = events.next()
        here = f"{path}.{key}" if path else key
        if here in ("header", "meta", "errors"):
            _take_small(outline, here, events.build(ev, value))
        elif here in ("structure", "data.structure", "data.structures"):
            _take_structure(events, outline, here, events.build(ev, value))
        elif here in ("dataSets", "data.dataSets"):
            outline.datasets_path = here
            if ev != "start_array":
                raise MalformedData(
                    "expected an array of data sets", where=f"{events.name}: {here}"
                )
            outline.datasets_seen = True
            if stop_at_datasets:
                return True
            events.skip(ev)
        elif here == "data" and ev == "start_map":
            if _scan_members(events, outline, "data", stop_at_datasets=stop_at_datasets):
                return True
        else:
            events.skip(ev)


def seek_datasets(events: Events, path: str) -> None:
    """Advance a fresh pass to just inside the ``dataSets`` array."""
    parts = path.split(".")
    _, ev, _ = events.next()
    for depth, part in enumerate(parts):
        while True:
            _, ev, key = events.next()
            if ev == "end_map":
                raise MalformedData(f"{path} is gone on the second pass", where=events.name)
            _, ev, _value = events.next()
            if key == part:
                break
            events.skip(ev)
        if depth < len(parts) - 1 and ev != "start_map":
            raise MalformedData(f"{part} is not an object", where=events.name)


# -- reading: what the outline keeps -----------------------------------------------------------
def _take_small(outline: Outline, here: str, built: Any) -> None:
    if here == "errors":
        outline.errors = built if isinstance(built, list) else [built]
    else:
        outline.header = built if isinstance(built, dict) else None


def _take_structure(events: Events, outline: Outline, here: str, built: Any) -> None:
    if here == "data.structures":
        outline.version = "2.0"
        if isinstance(built, list) and len(built) > 1:
            outline.warnings.append(
                f"{events.name}: {here}: {len(built)} structures; only the first is used"
            )
        built = built[0] if isinstance(built, list) and built else None
    if not isinstance(built, dict):
        raise MalformedData(
            "expected the structure section (an object with dimensions)",
            where=f"{events.name}: {here}",
        )
    outline.structure, outline.structure_path = built, here


def finish_first_pass(events: Events, outline: Outline, name: str) -> None:
    """After skipping the data sets of a first pass: read the rest of the message's outline."""
    # we are inside the object that holds dataSets: the top level or "data"
    inner = outline.datasets_path.startswith("data.")
    _scan_members(events, outline, "data" if inner else "", stop_at_datasets=False)
    if inner:
        _scan_members(events, outline, "", stop_at_datasets=False)
    if not events.at_end():
        raise MalformedData("unexpected content after the message", where=name)
