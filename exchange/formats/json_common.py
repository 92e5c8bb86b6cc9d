"""Reading and writing machinery shared by SDMX-JSON 1.0 and 2.0 data messages.

Reading streams with :mod:`ijson` (the C backend when installed), ``use_float=False`` so that
values keep their exact decimal text (``Decimal("1.10")`` → ``"1.10"``). Observation indices
refer to the value lists of the ``structure`` section, which producers put before *or after*
``dataSets``:

* structure first: one pass; the ``dataSets`` array is streamed as soon as it is reached;
* dataSets first: two passes. The first collects the header and the structure while skipping the
  data sets (a few events per value, nothing kept); the second seeks back and streams them. A
  source that cannot seek is spooled to a temporary file first.

Only one series (its observations, from a few to a few thousand) is ever built in memory, so a
message of any size is read in flat memory. Three envelopes are accepted: the SDMX-JSON 1.0 of the
official JSON schema (``meta`` + ``data.structure`` + ``data.dataSets``), the older layout that
ECB, ILOSTAT and sdmx1 use and sample 14 shows (``header`` + ``structure`` + ``dataSets`` at the
top), and SDMX-JSON 2.0 (``meta`` + ``data.structures`` + ``data.dataSets``).

Writing streams too and puts ``dataSets`` *before* the structure section (JSON object members are
unordered and neither official schema constrains their order). Each dimension's and attribute's
value list is built as observations pass (a dict value → index, so memory is bounded by the
number of distinct values, not of observations) and written at the end. We chose this over
pre-seeding the lists from ``component.codes`` because free-text attributes (``SOURCE``,
notes) and the time dimension have no code list, and because it keeps the value lists to what
the message uses. Attributes get their position in the index arrays when their first value is
seen, so an attribute that never has a value is not listed at all (sdmx1 drops such attributes
and would then misalign the positions of the others). Only the current series is held.

Layout (``layout="series"``, the default): every non-time dimension at series level, the time
dimension at observation level; attributes attached to the dataset and given in
``info.dataset_attributes`` at dataset level, those attached to series, groups or dimension sets
without the time dimension at series level, the others at observation level. ``layout="flat"``
keys the dataset's observations by all dimensions (``dimensionAtObservation=AllDimensions``).
A change of action between observations, or a series key that comes back after another series,
starts a new data set in the ``dataSets`` array (one action per data set, unique keys per set).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

try:  # the C backend is 10-20x faster; fall back to whatever ijson picks
    import ijson.backends.yajl2_c as ijson
except ImportError:  # pragma: no cover
    import ijson

import ijson as ijson_package

from exchange.errors import MalformedData, Unprocessable
from exchange.model.records import Action, DataStream, MessageInfo, Observation
from exchange.model.schema import Attachment, Component, Schema

Resolver = Callable[[str | None], Schema]
Event = tuple[str, str, Any]

SCHEMA_URLS = {
    "1.0": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/"
    "schemas/1.0/sdmx-json-data-schema.json",
    "2.0": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/"
    "schemas/2.0.0/sdmx-json-data-schema.json",
}
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_ID = re.compile(r"[A-Za-z0-9_@$-]+")
_BOM = b"\xef\xbb\xbf"
_SPOOL_IN_MEMORY = 8 << 20
_FLUSH_AT = 1 << 16
_LEVELS = ("dataSet", "series", "observation")


# -- sniffing ----------------------------------------------------------------------------------
def _json_head(head: bytes) -> bytes | None:
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    head = head.lstrip()
    return head if head.startswith(b"{") else None


def sniff_version(head: bytes) -> str | None:
    """``"1.0"``/``"2.0"`` if ``head`` looks like an SDMX-JSON data message, else None."""
    text = _json_head(head)
    if text is None:
        return None
    if b'"structures"' in text or re.search(rb"schemas/2\.\d", text):
        return "2.0"
    if re.search(rb'"(header|dataSets|structure|meta)"\s*:', text):
        return "1.0"
    return None


# -- reading: events ---------------------------------------------------------------------------
class _Events:
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
class _Outline:
    """What the first pass learns: header, structure, envelope, where the data sets are."""

    version: str
    header: dict[str, Any] | None = None
    structure: dict[str, Any] | None = None
    structure_path: str = "structure"
    datasets_path: str = "dataSets"
    datasets_seen: bool = False
    errors: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _scan(events: _Events, outline: _Outline, *, stop_at_datasets: bool) -> bool:
    """Walk the top of the message; True when stopped at the start of the ``dataSets`` array."""
    _, ev, _ = events.next()
    if ev != "start_map":
        raise MalformedData(
            "expected an SDMX-JSON data message (a JSON object), found a JSON "
            + ("array" if ev == "start_array" else "scalar"),
            where=f"{events.name}: $",
        )
    return _scan_members(events, outline, "", stop_at_datasets=stop_at_datasets)


def _scan_members(events: _Events, outline: _Outline, path: str, *, stop_at_datasets: bool) -> bool:
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


def _seek_datasets(events: _Events, path: str) -> None:
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


# -- reading: the structure section -----------------------------------------------------------
def _take_small(outline: _Outline, here: str, built: Any) -> None:
    if here == "errors":
        outline.errors = built if isinstance(built, list) else [built]
    else:
        outline.header = built if isinstance(built, dict) else None


def _take_structure(events: _Events, outline: _Outline, here: str, built: Any) -> None:
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


def text_of(value: Any) -> str | None:
    """A JSON value as the exact text of the message (numbers keep their decimal digits)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    if isinstance(value, dict):  # localised text
        found = value.get("en") or next(iter(value.values()), None)
        return text_of(found)
    return json.dumps(value, default=str)


def _value_text(entry: Any) -> str | None:
    """The code or text of one entry of a ``values`` list (``id``, else ``value``, else name)."""
    if entry is None:
        return None
    if not isinstance(entry, dict):
        return text_of(entry)
    for key in ("id", "value", "name"):
        if key in entry and entry[key] is not None:
            return text_of(entry[key])
    names = entry.get("names")
    return text_of(names) if names else None


@dataclass
class _Dim:
    position: int | None  # index in schema.dimension_ids; None = the time dimension
    values: list[str | None]
    id: str


@dataclass
class _Attr:
    id: str
    values: list[str | None]
    default: str | None
    known: bool  # in the schema


@dataclass
class _Plan:
    """The structure section turned into lookups."""

    levels: dict[str, list[_Dim]]
    attrs: dict[str, list[_Attr]]
    base_key: list[str]
    base_period: str | None
    missing: list[str]
    measures: int
    measure_index: int
    name: str
    defaults: dict[str, str]


def _plan_dimensions(
    dims: dict[str, Any], schema: Schema, where: str
) -> tuple[dict[str, list[_Dim]], set[str]]:
    position = {d: i for i, d in enumerate(schema.dimension_ids)}
    time_id = schema.time_dimension.id if schema.time_dimension else None
    levels: dict[str, list[_Dim]] = {level: [] for level in _LEVELS}
    seen: set[str] = set()
    for level in _LEVELS:
        entries = dims.get(level) or []
        if not isinstance(entries, list):
            raise MalformedData(f"expected an array of dimensions at {level}", where=where)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise MalformedData(
                    f"expected a dimension object with an id at dimensions.{level}[{i}]",
                    where=where,
                )
            ident = entry["id"]
            if ident != time_id and ident not in position:
                raise MalformedData(
                    f"dimension {ident} is not in {schema.dataflow or schema.dsd}"
                    f" (expected {', '.join(schema.dimension_ids)})",
                    where=f"{where}.dimensions.{level}[{i}]",
                )
            values = [_value_text(v) for v in entry.get("values") or []]
            levels[level].append(_Dim(None if ident == time_id else position[ident], values, ident))
            seen.add(ident)
    return levels, seen


def _plan_attributes(
    structure: dict[str, Any], schema: Schema, outline: _Outline, where: str
) -> dict[str, list[_Attr]]:
    known = {a.id for a in schema.attributes}
    attrs: dict[str, list[_Attr]] = {}
    attr_section = structure.get("attributes") or {}
    unknown: list[str] = []
    for level in (*_LEVELS, "dimensionGroup"):
        entries = attr_section.get(level) or [] if isinstance(attr_section, dict) else []
        attrs[level] = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise MalformedData(
                    f"expected attribute objects at attributes.{level}", where=where
                )
            ok = entry["id"] in known
            if not ok:
                unknown.append(entry["id"])
            default = entry.get("default")
            attrs[level].append(
                _Attr(
                    entry["id"],
                    [_value_text(v) for v in entry.get("values") or []],
                    text_of(default) if default is not None else None,
                    ok,
                )
            )
    if unknown:
        outline.warnings.append(
            f"{where}: ignored attribute{'s' if len(unknown) > 1 else ''} not in"
            f" {schema.dataflow or schema.dsd}: {', '.join(unknown)}"
        )
    return attrs


def _plan(structure: dict[str, Any], schema: Schema, outline: _Outline, name: str) -> _Plan:
    where = f"{name}: {outline.structure_path}"
    dims = structure.get("dimensions")
    if not isinstance(dims, dict):
        raise MalformedData(
            "expected the structure section to have a dimensions object", where=where
        )
    levels, seen = _plan_dimensions(dims, schema, where)
    time_id = schema.time_dimension.id if schema.time_dimension else None
    wanted = [*schema.dimension_ids, *([time_id] if time_id else [])]
    missing = [d for d in wanted if d not in seen]
    base_key = [""] * len(schema.dimension_ids)
    base_period = None
    for dim in levels["dataSet"]:
        first = dim.values[0] if dim.values else None
        if dim.position is None:
            base_period = first
        elif first is not None:
            base_key[dim.position] = first
    attrs = _plan_attributes(structure, schema, outline, where)
    measures = (
        structure.get("measures", {}).get("observation") if outline.version == "2.0" else None
    )
    measure_index, count = 0, 1
    if isinstance(measures, list) and measures:
        count = len(measures)
        ids = [m.get("id") if isinstance(m, dict) else None for m in measures]
        if schema.measure.id in ids:
            measure_index = ids.index(schema.measure.id)
        if count > 1:
            outline.warnings.append(f"{where}: {count} measures; only {ids[measure_index]} is read")
    defaults = {
        a.id: a.default
        for level, entries in attrs.items()
        if level != "dataSet"
        for a in entries
        if a.known and a.default is not None
    }
    return _Plan(
        levels, attrs, base_key, base_period, missing, count, measure_index, name, defaults
    )


# -- reading: observations --------------------------------------------------------------------
class _Decoder:
    """Turns data set, series and observation index arrays into observations."""

    def __init__(self, plan: _Plan, info: MessageInfo) -> None:
        self.plan = plan
        self.info = info
        self.warned: set[str] = set()

    def dataset_defaults(self) -> dict[str, str]:
        """The ``default`` values of the dataset-level attributes (applied when not given)."""
        return {
            a.id: a.default for a in self.plan.attrs["dataSet"] if a.known and a.default is not None
        }

    def fail(self, message: str, path: str) -> MalformedData:
        return MalformedData(message, where=f"{self.plan.name}: {path}")

    def warn_once(self, tag: str, message: str) -> None:
        if tag not in self.warned:
            self.warned.add(tag)
            self.info.warnings.append(message)

    def key(
        self, level: str, text: str, key: list[str], period: str | None, path: str
    ) -> str | None:
        dims = self.plan.levels[level]
        if self.plan.missing:
            raise self.fail(
                f"the structure section has no dimension {', '.join(self.plan.missing)}", path
            )
        parts = text.split(":") if text else []
        if len(parts) != len(dims):
            raise self.fail(
                f"key {text!r} has {len(parts)} indices; expected {len(dims)} (one per {level}"
                f" dimension: {', '.join(d.id for d in dims) or 'none'})",
                path,
            )
        for part, dim in zip(parts, dims, strict=True):
            try:
                value = dim.values[int(part)]
            except (ValueError, IndexError):
                raise self.fail(
                    f"index {part} of dimension {dim.id} is out of range (it has"
                    f" {len(dim.values)} values)",
                    path,
                ) from None
            if value is None:
                raise self.fail(f"value {part} of dimension {dim.id} has no id", path)
            if dim.position is None:
                period = value
            else:
                key[dim.position] = value
        return period

    def attributes(
        self, level: str, indices: Any, into: dict[str, str], path: str, start: int = 0
    ) -> None:
        if indices is None:
            return
        if not isinstance(indices, list):
            raise self.fail("expected an array of attribute value indices", path)
        attrs = self.plan.attrs[level]
        for pos in range(start, len(indices)):
            index = indices[pos]
            if index is None:
                continue
            i = pos - start
            if i >= len(attrs):
                self.warn_once(
                    f"extra:{level}",
                    f"{path}: ignored {len(indices) - start - len(attrs)} index(es) beyond the"
                    f" {len(attrs)} {level} attribute(s) of the structure",
                )
                break
            attr = attrs[i]
            if isinstance(index, int) and not isinstance(index, bool):
                try:
                    value = attr.values[index]
                except IndexError:
                    raise self.fail(
                        f"index {index} of attribute {attr.id} is out of range (it has"
                        f" {len(attr.values)} values)",
                        path,
                    ) from None
            else:  # SDMX-JSON 2.0 allows the value itself
                value = text_of(index)
            if value is not None and attr.known:
                into[attr.id] = value

    def observation(
        self,
        level: str,
        key_text: str,
        array: Any,
        key: list[str],
        period: str | None,
        attrs: dict[str, str],
        action: Action | None,
        path: str,
    ) -> Observation:
        if not isinstance(array, list):
            raise self.fail("expected an observation array [value, attribute indices…]", path)
        key = key.copy()
        period = self.key(level, key_text, key, period, path)
        plan = self.plan
        value = array[plan.measure_index] if len(array) > plan.measure_index else None
        if len(array) > plan.measures:
            attrs = dict(attrs)
            self.attributes("observation", array, attrs, path, plan.measures)
        if plan.defaults:
            attrs = {**plan.defaults, **attrs}
        return Observation(tuple(key), period, text_of(value), attrs, action, path)


def _stream(
    events: _Events,
    decoder: _Decoder,
    first_head: dict[str, Any] | None,
    first_next: str | None,
    path: str,
) -> Iterator[Observation]:
    """The observations of every data set, the first one's head members already read."""
    index = 0
    head, next_key = first_head, first_next
    while head is not None:
        here = f"{path}[{index}]"
        action = _action(head.get("action"), f"{decoder.plan.name}: {here}.action")
        obs_action = None if action == decoder.info.action else action
        ds_attrs = decoder.dataset_defaults()
        decoder.attributes("dataSet", head.get("attributes"), ds_attrs, f"{here}.attributes")
        key = decoder.plan.base_key.copy()
        period = decoder.plan.base_period
        while next_key is not None:
            if next_key == "series":
                yield from _series(events, decoder, key, period, ds_attrs, obs_action, here)
            elif next_key == "observations":
                yield from _flat(events, decoder, key, period, ds_attrs, obs_action, here)
            next_key = _members_until_data(events, head, decoder, here, late=True)
        index += 1
        head, next_key = _dataset_head(events, decoder, f"{path}[{index}]")


def _action(text: Any, where: str) -> Action:
    try:
        return Action.parse(text if isinstance(text, str) else None)
    except ValueError:
        raise MalformedData(
            f"unknown action {text!r}; expected Information, Append, Replace or Delete",
            where=where,
        ) from None


def _dataset_head(
    events: _Events, decoder: _Decoder | None, path: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Read the next data set's members up to its series/observations (None at the end)."""
    _, ev, _ = events.next()
    if ev == "end_array":
        return None, None
    if ev != "start_map":
        raise MalformedData("expected a data set object", where=f"{events.name}: {path}")
    head: dict[str, Any] = {}
    return head, _members_until_data(events, head, decoder, path, late=False)


def _members_until_data(
    events: _Events, head: dict[str, Any], decoder: _Decoder | None, path: str, *, late: bool
) -> str | None:
    while True:
        _, ev, key = events.next()
        if ev == "end_map":
            return None
        _, ev, value = events.next()
        if key in ("series", "observations"):
            if ev != "start_map":
                raise MalformedData(f"expected an object of {key}", where=f"{events.name}: {path}")
            return str(key)
        if key in ("attributes", "action", "dimensionGroupAttributes") and late and decoder:
            decoder.warn_once(
                f"late:{key}",
                f"{events.name}: {path}.{key}: comes after the observations and was not applied"
                " to them; put it before series/observations",
            )
            events.skip(ev)
            continue
        if key in ("attributes", "action", "structure", "dimensionGroupAttributes"):
            head[key] = events.build(ev, value)
        else:
            events.skip(ev)


def _series(
    events: _Events,
    decoder: _Decoder,
    base_key: list[str],
    base_period: str | None,
    ds_attrs: dict[str, str],
    action: Action | None,
    path: str,
) -> Iterator[Observation]:
    while True:
        _, ev, key_text = events.next()
        if ev == "end_map":
            return
        _, ev, value = events.next()
        here = f"{path}.series[{key_text!r}]"
        series = events.build(ev, value)
        if not isinstance(series, dict):
            raise decoder.fail("expected a series object", here)
        key = base_key.copy()
        period = decoder.key("series", key_text, key, base_period, here)
        attrs = dict(ds_attrs)
        decoder.attributes("series", series.get("attributes"), attrs, f"{here}.attributes")
        observations = series.get("observations") or {}
        if not isinstance(observations, dict):
            raise decoder.fail("expected an object of observations", f"{here}.observations")
        for obs_key, array in observations.items():
            yield decoder.observation(
                "observation",
                obs_key,
                array,
                key,
                period,
                attrs,
                action,
                f"{here}.observations[{obs_key!r}]",
            )


def _flat(
    events: _Events,
    decoder: _Decoder,
    key: list[str],
    period: str | None,
    ds_attrs: dict[str, str],
    action: Action | None,
    path: str,
) -> Iterator[Observation]:
    level = "observation"
    while True:
        _, ev, key_text = events.next()
        if ev == "end_map":
            return
        _, ev, value = events.next()
        array = events.build(ev, value)
        yield decoder.observation(
            level,
            key_text,
            array,
            key,
            period,
            ds_attrs,
            action,
            f"{path}.observations[{key_text!r}]",
        )


def _structure_ref(outline: _Outline) -> str | None:
    """The structure reference the message names (a URN or ``AGENCY:ID(VERSION)``), if any."""
    header = outline.header or {}
    named = header.get("structure")
    if isinstance(named, str):
        return named
    if isinstance(named, dict):
        for key in ("urn", "ref", "structureID", "id"):
            if isinstance(named.get(key), str):
                return str(named[key])
    links = (outline.structure or {}).get("links") or []
    by_rel: dict[str, str] = {}
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and isinstance(link.get("urn"), str):
            by_rel.setdefault(str(link.get("rel", "")), link["urn"])
    for rel in ("dataflow", "datastructure", "structure", "self"):
        if rel in by_rel:
            return by_rel[rel]
    return next(iter(by_rel.values()), None)


def _seekable(source: BinaryIO) -> BinaryIO:
    try:
        if source.seekable():
            source.tell()
            return source
    except (AttributeError, OSError, ValueError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    while chunk := source.read(1 << 20):
        spool.write(chunk)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def read(source: BinaryIO, resolve: Resolver, *, name: str, version: str) -> DataStream:
    """Read an SDMX-JSON data message (``version`` is the one the caller expects)."""
    source = _seekable(source)
    start = source.tell()
    outline = _Outline(version)
    events = _Events(source, name)
    stopped = _scan(events, outline, stop_at_datasets=True)
    if not stopped:
        _check_outline(outline, events, name)
    if outline.structure is None and stopped:  # data sets first: a second pass
        events.skip("start_array")
        _finish_first_pass(events, outline, name)
        _check_outline(outline, events, name)
        source.seek(start)
        events = _Events(source, name)
        _seek_datasets(events, outline.datasets_path)
    if outline.structure is None:
        raise MalformedData("expected a structure section", where=name)  # pragma: no cover
    schema = resolve(_structure_ref(outline))
    time = schema.time_dimension
    info = MessageInfo(schema=schema, warnings=outline.warnings)
    _header_facts(info, outline.header)
    plan = _plan(outline.structure, schema, outline, name)
    level_of_time = next(
        (lvl for lvl, dims in plan.levels.items() if any(d.position is None for d in dims)), None
    )
    obs_dims = plan.levels["observation"]
    if obs_dims and len(obs_dims) == len(schema.dimension_ids) + (1 if time else 0):
        info.dimension_at_observation = "AllDimensions"
    elif level_of_time == "observation" and time:
        info.dimension_at_observation = time.id
    elif obs_dims:
        info.dimension_at_observation = obs_dims[0].id
    decoder = _Decoder(plan, info)
    if not outline.datasets_seen:
        return DataStream(info, iter(()))
    path = outline.datasets_path
    head, next_key = _dataset_head(events, decoder, f"{path}[0]")
    if head is not None:
        info.action = _action(head.get("action"), f"{name}: {path}[0].action")
        ds_attrs = decoder.dataset_defaults()
        decoder.attributes("dataSet", head.get("attributes"), ds_attrs, f"{path}[0].attributes")
        info.dataset_attributes = ds_attrs
    return DataStream(info, _stream(events, decoder, head, next_key, path))


def _finish_first_pass(events: _Events, outline: _Outline, name: str) -> None:
    """After skipping the data sets of a first pass: read the rest of the message's outline."""
    # we are inside the object that holds dataSets: the top level or "data"
    inner = outline.datasets_path.startswith("data.")
    _scan_members(events, outline, "data" if inner else "", stop_at_datasets=False)
    if inner:
        _scan_members(events, outline, "", stop_at_datasets=False)
    if not events.at_end():
        raise MalformedData("unexpected content after the message", where=name)


def _check_outline(outline: _Outline, events: _Events, name: str) -> None:
    if outline.structure is not None:
        return
    if outline.errors:
        texts = [
            text_of(e.get("detail") or e.get("title") or e) if isinstance(e, dict) else text_of(e)
            for e in outline.errors
        ]
        raise MalformedData(
            "the message carries errors and no data: " + "; ".join(t or "?" for t in texts),
            where=f"{name}: errors",
        )
    if outline.header is None and not outline.datasets_seen:
        raise MalformedData(
            "not an SDMX-JSON data message: expected an object with header/meta, structure"
            " and dataSets (SDMX-JSON 1.0) or meta and data.structures/data.dataSets (2.0)",
            where=f"{name}: $",
        )
    raise MalformedData(
        "expected a structure section (structure, data.structure or data.structures) with"
        " the dimension and attribute values the observations refer to",
        where=f"{name}: $",
    )


def _header_facts(info: MessageInfo, header: Mapping[str, Any] | None) -> None:
    if not header:
        return
    if isinstance(header.get("id"), str):
        info.message_id = header["id"]
    if isinstance(header.get("prepared"), str):
        info.prepared = header["prepared"]
    sender = header.get("sender")
    if isinstance(sender, dict) and isinstance(sender.get("id"), str):
        info.sender = sender["id"]
    elif isinstance(sender, str):
        info.sender = sender


# -- writing -----------------------------------------------------------------------------------
def number_literal(text: str | None) -> str:
    """A value as JSON: the text itself when it is a JSON number, else a string; None → null."""
    if text is None:
        return "null"
    if _NUMBER.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


class _Index:
    """value → index, in order of first appearance."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        index = self.values.get(value)
        if index is None:
            index = self.values[value] = len(self.values)
        return index


class _Positions:
    """Attribute id → position in the index arrays, assigned on first value; and value lists."""

    def __init__(self) -> None:
        self.position: dict[str, int] = {}
        self.index: list[_Index] = []
        self.ids: list[str] = []

    def indexed(self, attrs: Iterable[tuple[str, str]]) -> list[int | None]:
        out: list[int | None] = []
        for ident, value in attrs:
            pos = self.position.get(ident)
            if pos is None:
                pos = self.position[ident] = len(self.ids)
                self.ids.append(ident)
                self.index.append(_Index())
            if pos >= len(out):
                out.extend([None] * (pos + 1 - len(out)))
            out[pos] = self.index[pos](value)
        return out


def _array(items: Sequence[int | None]) -> str:
    return "[" + ",".join("null" if i is None else str(i) for i in items) + "]"


def _clean_id(text: str | None, default: str) -> str:
    if not text:
        return default
    cleaned = re.sub(r"[^A-Za-z0-9_@$-]", "_", text)
    return cleaned or default


class Writer:
    """Streams one SDMX-JSON data message (see the module docstring for the layout)."""

    def __init__(
        self, info: MessageInfo, out: BinaryIO, *, version: str, options: Mapping[str, Any]
    ) -> None:
        self.info = info
        self.schema = info.schema
        self.out = out
        self.version = version
        layout = options.get("layout", "series")
        if layout not in ("series", "flat"):
            raise Unprocessable(f"layout must be 'series' or 'flat', not {layout!r}")
        envelope = options.get("envelope", "official")
        if envelope not in ("official", "legacy") or (envelope == "legacy" and version != "1.0"):
            raise Unprocessable(
                f"envelope must be 'official' (or 'legacy' for SDMX-JSON 1.0), not {envelope!r}"
            )
        self.legacy = envelope == "legacy"
        self.flat = layout == "flat" or self.schema.time_dimension is None
        self.names: Mapping[str, Mapping[str, str]] = options.get("names") or {}
        self.buffer: list[str] = []
        self.size = 0
        schema = self.schema
        self.dim_index = [_Index() for _ in schema.dimensions]
        self.time_index = _Index()
        self.ds_attrs = {k: v for k, v in info.dataset_attributes.items() if _known(schema, k)}
        self.ds_index = _Positions()
        self.series_level = frozenset(
            a.id
            for a in schema.attributes
            if not self.flat and a.id not in self.ds_attrs and _series_level(a, schema)
        )
        self.series_attrs = _Positions()
        self.obs_attrs = _Positions()
        self.known = frozenset(a.id for a in schema.attributes)
        self.datasets = 0
        self.count = 0

    # -- output --
    def emit(self, text: str) -> None:
        self.buffer.append(text)
        self.size += len(text)
        if self.size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.out.write("".join(self.buffer).encode("utf-8"))
            self.buffer.clear()
            self.size = 0

    # -- the message --
    def write(self, observations: Iterable[Observation]) -> int:
        self.emit(self._opening())
        current_action: Action | None = None
        series_key: tuple[str, ...] | None = None
        series: list[Observation] = []
        written_keys: set[str] = set()
        for obs in observations:
            action = obs.action or self.info.action
            if self.datasets == 0 or action is not current_action:
                self._flush_series(series, written_keys)
                series = []
                series_key = None
                if self.datasets:
                    self._close_dataset()
                self._open_dataset(action)
                current_action = action
                written_keys = set()
            if self.flat:
                self._write_flat(obs)
                continue
            if obs.key != series_key:
                self._flush_series(series, written_keys)
                series = []
                series_key = obs.key
                if self._key_text(obs.key) in written_keys:  # a key seen before: new data set
                    self._close_dataset()
                    self._open_dataset(action)
                    written_keys = set()
            series.append(obs)
        self._flush_series(series, written_keys)
        if self.datasets == 0:
            self._open_dataset(self.info.action)
        self._close_dataset()
        self.emit(self._closing())
        self.flush()
        return self.count

    def _opening(self) -> str:
        info = self.info
        prepared = info.prepared or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        header: dict[str, Any] = {
            "id": _clean_id(info.message_id, f"IREF{uuid.uuid4().hex[:12].upper()}"),
            "test": False,
            "prepared": prepared,
            "sender": {"id": _clean_id(info.sender, "ILO")},
        }
        if self.legacy:
            return '{"header":' + _dumps(header) + ',"dataSets":['
        meta = {"schema": SCHEMA_URLS[self.version], **header, "contentLanguages": ["en"]}
        return '{"meta":' + _dumps(meta) + ',"data":{"dataSets":['

    def _open_dataset(self, action: Action) -> None:
        parts = []
        if self.version == "2.0":
            parts.append('"structure":0')
        parts.append(f'"action":{_dumps(action.value)}')
        ref = self.schema.dataflow or self.schema.dsd
        parts.append('"links":' + _dumps([{"urn": ref.urn, "rel": _rel(self)}]))
        if self.ds_attrs:
            parts.append('"attributes":' + _array(self.ds_index.indexed(self.ds_attrs.items())))
        key = "observations" if self.flat else "series"
        self.emit(("," if self.datasets else "") + "{" + ",".join(parts) + f',"{key}":{{')
        self.datasets += 1
        self.first_in_dataset = True

    def _close_dataset(self) -> None:
        self.emit("}}")

    def _key_text(self, key: tuple[str, ...]) -> str:
        return ":".join(str(index(value)) for index, value in zip(self.dim_index, key, strict=True))

    def _split(self, obs: Observation) -> Iterator[tuple[str, str]]:
        """The observation's attributes not written at dataset level (checks the dataset's)."""
        ds = self.ds_attrs
        for ident, value in obs.attributes.items():
            if ident not in self.known:
                continue
            if ident in ds:
                if value != ds[ident]:
                    raise Unprocessable(
                        f"attribute {ident} is {value!r} here but {ds[ident]!r} for the data set",
                        where=obs.location,
                    )
                continue
            yield ident, value

    def _check_key(self, obs: Observation) -> None:
        if len(obs.key) != len(self.dim_index):
            raise Unprocessable(
                f"key {obs.key} has {len(obs.key)} values; {self.schema.dsd} has"
                f" {len(self.dim_index)} dimensions",
                where=obs.location,
            )

    def _write_flat(self, obs: Observation) -> None:
        self._check_key(obs)
        key = self._key_text(obs.key)
        if self.schema.time_dimension is not None:
            key += ":" + str(self.time_index(obs.period or ""))
        attrs = self.obs_attrs.indexed(self._split(obs))
        self._emit_obs(key, obs, attrs)

    def _emit_obs(self, key: str, obs: Observation, attrs: list[int | None]) -> None:
        sep = "" if self.first_in_dataset else ","
        self.first_in_dataset = False
        text = number_literal(obs.value)
        if attrs:
            text += "," + ",".join("null" if i is None else str(i) for i in attrs)
        self.emit(f'{sep}"{key}":[{text}]')
        self.count += 1

    def _flush_series(self, series: list[Observation], written: set[str]) -> str:
        if not series:
            return ""
        first = series[0]
        self._check_key(first)
        key = self._key_text(first.key)
        written.add(key)
        level = self.series_level
        series_values = {k: v for k, v in self._split(first) if k in level}
        sep = "" if self.first_in_dataset else ","
        self.first_in_dataset = False
        head = f'{sep}"{key}":{{'
        series_attrs = self.series_attrs.indexed(series_values.items())
        if series_attrs:
            head += f'"attributes":{_array(series_attrs)},'
        self.emit(head + '"observations":{')
        periods: set[str] = set()
        first_obs = True
        for obs in series:
            own = self._own_attributes(obs, first, series_values)
            period = obs.period or ""
            if period in periods:
                raise Unprocessable(
                    f"two observations for {':'.join(first.key)} at {period!r}",
                    where=obs.location,
                )
            periods.add(period)
            attrs = self.obs_attrs.indexed(own)
            text = number_literal(obs.value)
            if attrs:
                text += "," + ",".join("null" if i is None else str(i) for i in attrs)
            self.emit(("" if first_obs else ",") + f'"{self.time_index(period)}":[{text}]')
            first_obs = False
            self.count += 1
        self.emit("}}")
        return key

    def _own_attributes(
        self, obs: Observation, first: Observation, series_values: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """The observation-level attributes of ``obs``; checks its series-level ones."""
        own: list[tuple[str, str]] = []
        for ident, value in self._split(obs):
            if ident not in self.series_level:
                own.append((ident, value))
            elif series_values.get(ident) != value:
                raise Unprocessable(
                    f"attribute {ident} is attached to the series but varies within"
                    f" series {':'.join(first.key)} ({series_values.get(ident)!r}, {value!r})",
                    where=obs.location,
                )
        if obs is not first:
            missing = [k for k in series_values if k not in obs.attributes]
            if missing:
                raise Unprocessable(
                    f"attribute {missing[0]} is attached to the series but missing from"
                    f" an observation of series {':'.join(first.key)}",
                    where=obs.location,
                )
        return own

    # -- the structure section --
    def _closing(self) -> str:
        structure = self._structure()
        if self.legacy:
            return '],"structure":' + _dumps(structure) + "}"
        if self.version == "2.0":
            structure = {"dataSets": list(range(self.datasets)), **structure}
            return '],"structures":[' + _dumps(structure) + "]}}"
        return '],"structure":' + _dumps(structure) + "}}"

    def _structure(self) -> dict[str, Any]:
        schema = self.schema
        ref = schema.dataflow or schema.dsd
        links = [{"urn": ref.urn, "rel": _rel(self)}]
        if schema.dataflow is not None:
            links.append({"urn": schema.dsd.urn, "rel": "datastructure"})
        dims = []
        for i, (component, index) in enumerate(zip(schema.dimensions, self.dim_index, strict=True)):
            dims.append(self._dimension(component, i, index))
        time = []
        if schema.time_dimension is not None:
            time.append(self._dimension(schema.time_dimension, len(dims), self.time_index))
        if self.flat:
            dimensions = {"dataSet": [], "series": [], "observation": [*dims, *time]}
        else:
            dimensions = {"dataSet": [], "series": dims, "observation": time}
        if self.version == "2.0":  # 2.0 wants at least one value per dimension
            dimensions = {k: [d for d in v if d["values"]] for k, v in dimensions.items()}
        attributes = {
            "dataSet": self._attributes(self.ds_index, "dataSet"),
            "series": self._attributes(self.series_attrs, "series"),
            "observation": self._attributes(self.obs_attrs, "observation"),
        }
        out: dict[str, Any] = {"links": links, "name": schema.name}
        if schema.names:
            out["names"] = dict(schema.names)
        out["dimensions"] = dimensions
        if self.version == "2.0":
            measure = schema.measure
            out["measures"] = {"observation": [_named(measure, {"id": measure.id})]}
        out["attributes"] = attributes
        return out

    def _dimension(self, component: Component, position: int, index: _Index) -> dict[str, Any]:
        labels = self.names.get(component.id, {})
        values = [
            {"id": v, "name": labels.get(v) or v}
            if self.version == "1.0" or _ID.fullmatch(v)
            else {"value": v}
            for v in index.values
        ]
        return _named(component, {"id": component.id, "keyPosition": position, "values": values})

    def _attributes(self, positions: _Positions, level: str) -> list[dict[str, Any]]:
        out = []
        for ident, index in zip(positions.ids, positions.index, strict=True):
            component = self.schema.component(ident)
            labels = self.names.get(ident, {})
            coded = component.codes is not None or component.codelist is not None
            values: list[dict[str, Any]] = []
            for v in index.values:
                if coded and _ID.fullmatch(v):
                    values.append({"id": v, "name": labels.get(v) or v})
                else:
                    values.append({"name": v} if self.version == "1.0" else {"value": v})
            entry: dict[str, Any] = {
                "id": ident,
                "relationship": self._relationship(component, level),
            }
            entry = _named(component, entry)
            entry["values"] = values
            out.append(entry)
        return out

    def _relationship(self, component: Component, level: str) -> dict[str, Any]:
        if level == "dataSet":
            return {"none": {}} if self.version == "1.0" else {"dataflow": {}}
        if level == "series":
            related = [d for d in component.related_dimensions if d in self.schema.dimension_ids]
            return {"dimensions": related or list(self.schema.dimension_ids)}
        if self.version == "1.0":
            return {"primaryMeasure": self.schema.measure.id}
        return {"observation": {}}


def _rel(writer: Writer) -> str:
    return "dataflow" if writer.schema.dataflow is not None else "datastructure"


def _named(component: Component, entry: dict[str, Any]) -> dict[str, Any]:
    names = dict(component.names)
    out = {
        "id": entry.pop("id"),
        "name": names.get("en") or next(iter(names.values()), component.id),
    }
    if names:
        out["names"] = names
    out.update(entry)
    return out


def _known(schema: Schema, ident: str) -> bool:
    return any(a.id == ident for a in schema.attributes)


def _series_level(component: Component, schema: Schema) -> bool:
    if component.attachment in (Attachment.SERIES, Attachment.GROUP, Attachment.DATASET):
        return True
    if component.attachment is Attachment.DIMENSIONS:
        time = schema.time_dimension.id if schema.time_dimension else None
        return time not in component.related_dimensions
    return False


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write(
    info: MessageInfo,
    observations: Iterable[Observation],
    out: BinaryIO,
    *,
    version: str,
    options: Mapping[str, Any],
) -> int:
    return Writer(info, out, version=version, options=options).write(observations)


@dataclass(frozen=True)
class Version:
    """An SDMX-JSON version as the registry sees a format module: ``sniff``, ``read``, ``write``."""

    version: str

    def sniff(self, head: bytes) -> bool:
        """A JSON object with this version's SDMX-JSON members (and none of the other's)."""
        return sniff_version(head) == self.version

    def read(self, source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
        """Resolve the structure the message names and stream its observations."""
        return read(source, resolve, name=name, version=self.version)

    def write(
        self, info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
    ) -> int:
        """Write this version; returns the number of observations written (options: module doc)."""
        return write(info, observations, out, version=self.version, options=options)


__all__ = ["Version", "number_literal", "read", "sniff_version", "text_of", "write"]
