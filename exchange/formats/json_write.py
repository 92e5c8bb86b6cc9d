"""Writing SDMX-JSON 1.0 and 2.0 data messages, streamed.

Split out of :mod:`exchange.formats.json_common` because writing shares nothing with reading but
the format. Writing streams too and puts ``dataSets`` *before* the structure section (JSON object
members are unordered and neither official schema constrains their order). Each dimension's and
attribute's value list is built as observations pass (a dict value → index, so memory is bounded
by the number of distinct values, not of observations) and written at the end. We chose this over
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
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from exchange.errors import Unprocessable
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.schema import Attachment, Component, Schema

SCHEMA_URLS = {
    "1.0": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/"
    "schemas/1.0/sdmx-json-data-schema.json",
    "2.0": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/"
    "schemas/2.0.0/sdmx-json-data-schema.json",
}
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_ID = re.compile(r"[A-Za-z0-9_@$-]+")
_FLUSH_AT = 1 << 16


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
