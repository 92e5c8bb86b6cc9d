"""SDMX-ML 2.1 GenericData and GenericTimeSeriesData messages.

Component values are ``<generic:Value id="…" value="…"/>`` elements: ``SeriesKey`` and
``Attributes`` of a ``Series``, then per ``Obs`` an ``ObsDimension``, an ``ObsValue`` and its
``Attributes``; in the flat layout (``dimensionAtObservation="AllDimensions"``) each ``Obs`` has an
``ObsKey`` with the whole key. ``Group`` elements (``GroupKey`` + ``Attributes``) apply their
attribute values to every matching series; dataset attributes are the DataSet's ``Attributes``.

The reader acts on the *end* of each container element, reading its few children at once. The
writer lays observations out as series (default) or flat; its output validates against the
official SDMX-ML 2.1 message schema.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from lxml import etree

from exchange.formats import ml21_common as common
from exchange.formats import ml21_header, ml21_write
from exchange.formats.ml21_common import GEN, XSI
from exchange.formats.registry import Resolver
from exchange.formats.sdmxml import COM, MES
from exchange.model.records import Action, DataStream, MessageInfo, Observation
from exchange.model.schema import Schema

KIND = "SDMX-ML 2.1 generic data"
ROOTS = ("GenericData", "GenericTimeSeriesData")
_CONTENT = frozenset({"Group", "Series", "Obs"})


def sniff(head: bytes) -> bool:
    return common.sniff_root(head, ROOTS)


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Read the header, resolve the structure, stream the observations."""
    reader = ml21_header.MessageReader(source, name=name, roots=ROOTS, kind=KIND)
    schema = resolve(reader.header.structure_ref)
    info = reader.info(schema)
    ml21_header.check_dimension_at_observation(info, name)
    if reader.dataset is not None:
        reader.pending = reader.read_ahead(_CONTENT)
        for event, elem in reader.pending:
            if event == "end" and common.localname(elem.tag) == "Attributes":
                parent = elem.getparent()
                if parent is reader.dataset:
                    info.dataset_attributes = _values(elem)
    return DataStream(info, _observations(reader, info))


def _values(container: Any) -> dict[str, str]:
    """``{id: value}`` of a ``SeriesKey``/``Attributes``/… element's ``Value`` children."""
    found: dict[str, str] = {}
    for child in container:
        ident = child.get("id")
        if ident is not None:
            found[ident] = child.get("value", "")
    return found


def _observations(  # noqa: C901, PLR0912, PLR0915 (the hot loop, kept flat for speed)
    reader: ml21_header.MessageReader, info: MessageInfo
) -> Iterator[Observation]:
    keys = common.KeyReader(info, reader.name)
    name, dims, time_id = reader.name, keys.dims, keys.time_id
    dim_at_obs = info.dimension_at_observation
    fast = bool(time_id) and dim_at_obs == time_id
    dataset_attrs: dict[str, str] = dict(info.dataset_attributes)
    action: Action | None = None
    groups = common.Groups()
    kinds = common.Kinds()
    # series state
    series_values: dict[str, str] = {}
    series_attrs: dict[str, str] = {}
    series_key: tuple[str, ...] = ()
    series_base: dict[str, str] | None = None
    shared = common.SharedAttributes()  # one mapping per distinct attribute set, message-wide
    # observation state
    obs_key: dict[str, str] | None = None
    obs_dim: str | None = None
    obs_value: str | None = None
    obs_attrs: dict[str, str] = {}
    group_key: dict[str, str] = {}

    try:
        for event, elem in reader.replay():
            kind = kinds[elem.tag]
            if event == "start":
                if kind == "Obs":
                    obs_key, obs_dim, obs_value, obs_attrs = None, None, None, {}
                elif kind == "Series":
                    series_values, series_attrs, series_base = {}, {}, None
                elif kind == "Group":
                    group_key = {}
                elif kind == "DataSet" and elem is not reader.dataset:
                    dataset_attrs, groups = {}, common.Groups()
                    action = common.dataset_action(elem, info, name)
                continue
            if kind == "ObsDimension":
                obs_dim = elem.get("value")
            elif kind == "ObsValue":
                obs_value = elem.get("value")
            elif kind == "Attributes":
                parent = kinds[elem.getparent().tag]
                if parent == "Obs":
                    obs_attrs = _values(elem)
                elif parent == "Series":
                    series_attrs = _values(elem)
                    series_base = None
                elif parent == "Group":
                    group_attrs = _values(elem)
                    groups.add({d: group_key[d] for d in dims if d in group_key}, group_attrs)
                elif parent == "DataSet":
                    dataset_attrs = _values(elem)
            elif kind == "Obs":
                if obs_key is not None:  # flat
                    key = keys.get(obs_key, elem)
                    period = obs_key.get(time_id) if time_id else None
                    attributes = groups.over(dataset_attrs, dims, key, obs_attrs)
                elif fast:
                    if series_base is None:
                        series_key = keys.get(series_values, elem)
                        series_base = shared.series(
                            groups.over(dataset_attrs, dims, series_key, series_attrs)
                        )
                    key = series_key
                    period = obs_dim
                    attributes = shared.observation(obs_attrs) if series_base else obs_attrs
                else:  # another dimension at observation level
                    values = {**series_values, dim_at_obs: obs_dim or ""}
                    key = keys.get(values, elem)
                    period = series_values.get(time_id) if time_id else None
                    attributes = groups.over(
                        dataset_attrs, dims, key, {**series_attrs, **obs_attrs}
                    )
                yield common.observation(key, period, obs_value, attributes, action, elem)
                common.release(elem)
            elif kind == "SeriesKey":
                series_values = _values(elem)
                series_base = None
            elif kind == "ObsKey":
                obs_key = _values(elem)
            elif kind == "GroupKey":
                group_key = _values(elem)
            elif kind in {"Series", "Group", "DataSet"}:
                common.release(elem)
    except etree.XMLSyntaxError as exc:
        raise reader.error(exc) from None


# -- writing -------------------------------------------------------------------------------------
_G_SERIES = f"{{{GEN}}}Series"
_G_SERIES_KEY = f"{{{GEN}}}SeriesKey"
_G_ATTRIBUTES = f"{{{GEN}}}Attributes"
_G_VALUE = f"{{{GEN}}}Value"
_G_OBS = f"{{{GEN}}}Obs"
_G_OBS_KEY = f"{{{GEN}}}ObsKey"
_G_OBS_DIMENSION = f"{{{GEN}}}ObsDimension"
_G_OBS_VALUE = f"{{{GEN}}}ObsValue"


def _write_values(xf: Any, container: str, values: Iterable[tuple[str, str]]) -> None:
    pairs = list(values)
    if not pairs:
        return
    with xf.element(container):
        for ident, value in pairs:
            with xf.element(_G_VALUE, id=ident, value=value):
                pass


def write(
    info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
) -> int:
    """Write a GenericData message; returns the number of observations written.

    Options: ``dimension_at_observation`` ("TIME_PERIOD" default, "AllDimensions" for the flat
    layout, or another dimension id).
    """
    schema = info.schema
    layout = ml21_write.plan(schema, options.get("dimension_at_observation"))
    first, rows = ml21_write.peek(observations)
    dataset_attrs = ml21_write.dataset_attributes(info, first, layout)
    nsmap = {"message": MES, "generic": GEN, "common": COM, "xsi": XSI}
    count = 0
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{MES}}}GenericData", nsmap=nsmap):
            xf.write("\n")
            ml21_write.write_header(xf, info, dimension_at_observation=layout.dim_at_obs)
            dataset = {"structureRef": common.STRUCTURE_ID, "action": info.action.value}
            with xf.element(f"{{{MES}}}DataSet", dataset):
                xf.write("\n")
                _write_values(xf, _G_ATTRIBUTES, dataset_attrs.items())
                if layout.flat:
                    count = _write_flat(xf, rows, schema, layout.dataset_ids)
                else:
                    count = _write_series(xf, rows, info, layout)
            xf.write("\n")
    return count


def _write_obs_tail(xf: Any, obs: Observation, skip: frozenset[str]) -> None:
    if obs.value is not None:
        with xf.element(_G_OBS_VALUE, value=obs.value):
            pass
    _write_values(xf, _G_ATTRIBUTES, ((k, v) for k, v in obs.attributes.items() if k not in skip))


def _write_flat(xf: Any, rows: Iterator[Observation], schema: Schema, skip: frozenset[str]) -> int:
    """``AllDimensions``: one ``Obs`` per observation, with its whole ``ObsKey``."""
    dims = schema.dimension_ids
    time_id = schema.time_dimension.id if schema.time_dimension is not None else None
    count = 0
    for obs in rows:
        with xf.element(_G_OBS):
            key = list(zip(dims, obs.key, strict=True))
            if time_id is not None and obs.period is not None:
                key.append((time_id, obs.period))
            _write_values(xf, _G_OBS_KEY, key)
            _write_obs_tail(xf, obs, skip)
        xf.write("\n")
        count += 1
    return count


def _write_series(
    xf: Any, rows: Iterator[Observation], info: MessageInfo, layout: ml21_write.Plan
) -> int:
    """One ``Series`` per run of observations with the same series key and series attributes."""
    schema = info.schema
    dims = schema.dimension_ids
    time_id = schema.time_dimension.id if schema.time_dimension is not None else None
    series_ids = [a.id for a in schema.attributes if a.id in layout.series_ids]
    skip = layout.series_ids | layout.dataset_ids
    obs_dim = layout.obs_dim
    obs_index = dims.index(obs_dim) if obs_dim is not None else -1
    series_positions = [i for i, d in enumerate(dims) if d != obs_dim]

    def marker(obs: Observation) -> tuple[Any, ...]:
        key: tuple[str | None, ...] = obs.key
        if obs_index >= 0:
            key = (*(obs.key[i] for i in series_positions), obs.period)
        if not series_ids:
            return key
        return (key, tuple(obs.attributes.get(a) for a in series_ids))

    count = 0
    for _, run in itertools.groupby(rows, marker):
        first = next(run)
        with xf.element(_G_SERIES):
            key = [(dims[i], first.key[i]) for i in series_positions]
            if obs_index >= 0 and time_id is not None and first.period is not None:
                key.append((time_id, first.period))
            _write_values(xf, _G_SERIES_KEY, key)
            _write_values(
                xf,
                _G_ATTRIBUTES,
                ((a, v) for a in series_ids if (v := first.attributes.get(a)) is not None),
            )
            xf.write("\n")
            for obs in itertools.chain((first,), run):
                with xf.element(_G_OBS):
                    if obs_index >= 0:
                        with xf.element(_G_OBS_DIMENSION, value=obs.key[obs_index]):
                            pass
                    else:
                        with xf.element(_G_OBS_DIMENSION, value=obs.period or ""):
                            pass
                    _write_obs_tail(xf, obs, skip)
                xf.write("\n")
                count += 1
        xf.write("\n")
    return count
