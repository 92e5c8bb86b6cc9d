"""Reading SDMX-JSON 1.0 and 2.0 data messages: observations streamed from the data sets.

Observation indices refer to the value lists of the ``structure`` section, which producers put
before *or after* ``dataSets``:

* structure first: one pass; the ``dataSets`` array is streamed as soon as it is reached;
* dataSets first: two passes. The first collects the header and the structure while skipping the
  data sets (a few events per value, nothing kept); the second seeks back and streams them. A
  source that cannot seek is spooled to a temporary file first.

Only one series (its observations, from a few to a few thousand) is ever built in memory, so a
message of any size is read in flat memory. This module holds the decoding of index arrays and
the streams of series and flat observations; the event stream and the first pass are in
:mod:`exchange.formats.json_events`, the structure section in :mod:`exchange.formats.json_plan`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from exchange.errors import MalformedData
from exchange.formats.json_events import Events, Outline, finish_first_pass, scan, seek_datasets
from exchange.formats.json_plan import (
    Plan,
    build_plan,
    check_outline,
    header_facts,
    structure_ref,
    text_of,
)
from exchange.model.records import Action, DataStream, MessageInfo, Observation
from exchange.model.schema import Schema

Resolver = Callable[[str | None], Schema]
_SPOOL_IN_MEMORY = 8 << 20


# -- reading: observations --------------------------------------------------------------------
class _Decoder:
    """Turns data set, series and observation index arrays into observations."""

    def __init__(self, plan: Plan, info: MessageInfo) -> None:
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
    events: Events,
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
    events: Events, decoder: _Decoder | None, path: str
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
    events: Events, head: dict[str, Any], decoder: _Decoder | None, path: str, *, late: bool
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
    events: Events,
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
    events: Events,
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
    outline = Outline(version)
    events = Events(source, name)
    stopped = scan(events, outline, stop_at_datasets=True)
    if not stopped:
        check_outline(outline, events, name)
    if outline.structure is None and stopped:  # data sets first: a second pass
        events.skip("start_array")
        finish_first_pass(events, outline, name)
        check_outline(outline, events, name)
        source.seek(start)
        events = Events(source, name)
        seek_datasets(events, outline.datasets_path)
    if outline.structure is None:
        raise MalformedData("expected a structure section", where=name)  # pragma: no cover
    schema = resolve(structure_ref(outline))
    time = schema.time_dimension
    info = MessageInfo(schema=schema, warnings=outline.warnings)
    header_facts(info, outline.header)
    plan = build_plan(outline.structure, schema, outline, name)
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
