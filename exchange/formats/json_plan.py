"""The structure section of an SDMX-JSON data message turned into a reading plan.

Split out of :mod:`exchange.formats.json_common` so that the meaning of the outline the first pass
collected (the dimension and attribute value lists that observation indices refer to, the
structure reference for the resolver, the header facts, the errors of a message without data)
is kept apart from the streaming of the observations in :mod:`exchange.formats.json_read`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exchange.errors import MalformedData
from exchange.formats.json_events import Events, Outline
from exchange.model.records import MessageInfo
from exchange.model.schema import Schema

_LEVELS = ("dataSet", "series", "observation")


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
class Plan:
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
    structure: dict[str, Any], schema: Schema, outline: Outline, where: str
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


def build_plan(structure: dict[str, Any], schema: Schema, outline: Outline, name: str) -> Plan:
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
    return Plan(levels, attrs, base_key, base_period, missing, count, measure_index, name, defaults)


def structure_ref(outline: Outline) -> str | None:
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


def check_outline(outline: Outline, events: Events, name: str) -> None:
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


def header_facts(info: MessageInfo, header: Mapping[str, Any] | None) -> None:
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
