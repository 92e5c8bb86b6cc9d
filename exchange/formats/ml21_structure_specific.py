"""SDMX-ML 2.1 StructureSpecificData and StructureSpecificTimeSeriesData messages.

Every component value is an XML attribute: ``<Series REF_AREA="PHL" … UNIT_MULT="3">`` holds the
series key and series attributes, ``<Obs TIME_PERIOD="2023" OBS_VALUE="123.4" OBS_STATUS="B"/>``
the observation; in the flat layout (``dimensionAtObservation="AllDimensions"``) each ``Obs``
carries the whole key. ``Group`` elements carry a partial key and attribute values for the series
that match it; dataset attributes sit on ``DataSet`` itself.

Reading is the hot path: per observation one ``dict`` of the element's attributes, two pops
(time and value) and, when series or dataset attributes apply, one merge.
The writer lays observations out as series (default) or flat and declares the DSD-specific
namespace of :func:`exchange.formats.dsd_xsd.dsd_xsd`, against whose XSD its output validates.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from lxml import etree

from exchange.errors import MalformedData
from exchange.formats import ml21_common as common
from exchange.formats.ml21_common import SS, XSI
from exchange.formats.registry import Resolver
from exchange.formats.sdmxml import COM, MES
from exchange.model.records import Action, DataStream, MessageInfo, Observation

KIND = "SDMX-ML 2.1 structure-specific data"
ROOTS = ("StructureSpecificData", "StructureSpecificTimeSeriesData")
#: Set attributes that some tools write unqualified on DataSet; never dataset attributes.
_SET_ATTRIBUTES = frozenset(
    {
        "structureRef",
        "setID",
        "action",
        "reportingBeginDate",
        "reportingEndDate",
        "validFromDate",
        "validToDate",
        "publicationYear",
        "publicationPeriod",
        "dataScope",
        "REPORTING_YEAR_START_DAY",
    }
)
_new_observation: Callable[[type[Observation], tuple[Any, ...]], Observation] = tuple.__new__


def sniff(head: bytes) -> bool:
    return common.sniff_root(head, ROOTS)


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Read the header, resolve the structure, stream the observations."""
    reader = common.MessageReader(source, name=name, roots=ROOTS, kind=KIND)
    schema = resolve(reader.header.structure_ref or reader.header.namespace)
    info = reader.info(schema)
    common.check_dimension_at_observation(info, name)
    if reader.dataset is not None:
        info.dataset_attributes = _dataset_attributes(reader.dataset, info.warnings)
    return DataStream(info, _observations(reader, info))


def _dataset_attributes(dataset: Any, warnings: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in dataset.items():
        if key[0] == "{":
            continue
        if key in _SET_ATTRIBUTES:
            if key != "REPORTING_YEAR_START_DAY":
                warnings.append(f"DataSet attribute {key} should be qualified (data:{key})")
            continue
        found[key] = value
    return found


def _observations(  # noqa: C901, PLR0912, PLR0915 (the hot loop, kept flat for speed)
    reader: common.MessageReader, info: MessageInfo
) -> Iterator[Observation]:
    schema = info.schema
    name = reader.name
    dims = schema.dimension_ids
    time_id = schema.time_dimension.id if schema.time_dimension is not None else ""
    measure = schema.measure.id
    fast = info.dimension_at_observation == time_id and bool(time_id)
    dataset_attrs: dict[str, str] = dict(info.dataset_attributes)
    action: Action | None = None
    groups = common.Groups()
    kinds: dict[Any, str] = {}
    series_key: tuple[str, ...] = ()
    series_base: dict[str, str] = dataset_attrs  # dataset + group + series attributes
    series_raw: dict[str, str] | None = None  # slow path: the Series' own attributes
    missing_warned = False
    merged: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    new = _new_observation
    obs_type = Observation

    def key_of(values: dict[str, str], elem: Any) -> tuple[str, ...]:
        nonlocal missing_warned
        key = tuple(values.pop(d, "") for d in dims)
        if not missing_warned and "" in key:
            missing_warned = True
            absent = [d for d, v in zip(dims, key, strict=True) if not v]
            info.warnings.append(
                f"{common.at(name, elem)}: {localname_of(elem)} lacks dimension"
                f" {', '.join(absent)} (further such warnings are not repeated)"
            )
        return key

    try:
        for event, elem in reader.replay():
            tag = elem.tag
            kind = kinds.get(tag)
            if kind is None:
                kind = kinds[tag] = common.localname(tag)
            if event == "start":
                if kind == "Obs":
                    if fast and series_raw is None:
                        values = dict(elem.items())
                        period = values.pop(time_id, None)
                        value = values.pop(measure, None)
                        if series_base:
                            if values:
                                # observations of a series repeat a few attribute combinations:
                                # one shared merged mapping each (less copying here, and
                                # validation recognises a mapping it has already checked)
                                own = tuple(values.items())
                                attributes = merged.get(own)
                                if attributes is None:
                                    attributes = merged[own] = {**series_base, **values}
                            else:
                                attributes = series_base
                        else:
                            attributes = values
                    else:
                        values = dict(series_raw) if series_raw else {}
                        values.update(elem.items())
                        key = key_of(values, elem)
                        period = values.pop(time_id, None) if time_id else None
                        value = values.pop(measure, None)
                        base = dataset_attrs
                        if groups:
                            base = {**base, **groups.matching(dict(zip(dims, key, strict=True)))}
                        attributes = {**base, **values} if base else values
                        yield new(
                            obs_type,
                            (
                                key,
                                period,
                                None if value == "NaN" else value,
                                attributes,
                                action,
                                f"line {elem.sourceline}",
                            ),
                        )
                        continue
                    yield new(
                        obs_type,
                        (
                            series_key,
                            period,
                            None if value == "NaN" else value,
                            attributes,
                            action,
                            f"line {elem.sourceline}",
                        ),
                    )
                elif kind == "Series":
                    values = {k: v for k, v in elem.items() if k[0] != "{"}
                    if fast:
                        series_key = key_of(values, elem)
                        values.pop(time_id, None)
                        base = dict(dataset_attrs)
                        if groups:
                            base.update(groups.matching(dict(zip(dims, series_key, strict=True))))
                        base.update(values)
                        series_base = base
                        series_raw = None
                        merged = {}
                    else:
                        series_raw = values
                elif kind == "Group":
                    values = {k: v for k, v in elem.items() if k[0] != "{" and k != "type"}
                    partial = {d: values.pop(d) for d in dims if d in values}
                    groups.add(partial, values)
                elif kind == "DataSet" and elem is not reader.dataset:
                    dataset_attrs = _dataset_attributes(elem, info.warnings)
                    series_base = dataset_attrs
                    groups = common.Groups()
                    text = elem.get(f"{{{SS}}}action") or elem.get("action")
                    try:
                        parsed = Action.parse(text)
                    except ValueError:
                        raise MalformedData(
                            f"unknown dataset action {text!r}", where=common.at(name, elem)
                        ) from None
                    action = None if parsed is info.action else parsed
            elif kind in {"Obs", "Series", "Group"}:
                common.release(elem)
                if kind == "Series":
                    series_raw = None
                    series_base = dataset_attrs
            elif kind == "DataSet":
                common.release(elem)
    except etree.XMLSyntaxError as exc:
        raise reader.error(exc) from None


def localname_of(elem: Any) -> str:
    return common.localname(elem.tag)


# -- writing -------------------------------------------------------------------------------------
def write(
    info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
) -> int:
    """Write a StructureSpecificData message; returns the number of observations written.

    Options: ``dimension_at_observation`` ("TIME_PERIOD" default, "AllDimensions" for the flat
    layout, or another dimension id); ``schema_location`` (where the DSD-specific XSD is, for
    ``xsi:schemaLocation``).
    """
    schema = info.schema
    layout = common.plan(schema, options.get("dimension_at_observation"))
    namespace = common.structure_namespace(schema, layout.dim_at_obs)
    first, rows = common.peek(observations)
    dataset_attrs = common.dataset_attributes(info, first, layout)
    time_id = schema.time_dimension.id if schema.time_dimension is not None else None
    measure = schema.measure.id
    dims = schema.dimension_ids
    root_attrib: dict[str, str] = {}
    location = options.get("schema_location")
    if location:
        root_attrib[f"{{{XSI}}}schemaLocation"] = f"{namespace} {location}"
    nsmap = {"message": MES, "common": COM, "data": SS, "xsi": XSI, "ns1": namespace}
    count = 0
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{MES}}}StructureSpecificData", root_attrib, nsmap=nsmap):
            xf.write("\n")
            common.write_header(
                xf, info, dimension_at_observation=layout.dim_at_obs, namespace=namespace
            )
            dataset = {
                f"{{{SS}}}structureRef": common.STRUCTURE_ID,
                f"{{{SS}}}dataScope": "Dataflow"
                if schema.dataflow is not None
                else "DataStructure",
                f"{{{XSI}}}type": "ns1:DataSetType",
                f"{{{SS}}}action": info.action.value,
            }
            dataset.update(dataset_attrs)
            with xf.element(f"{{{MES}}}DataSet", dataset):
                xf.write("\n")
                skip = layout.dataset_ids
                if layout.flat:
                    for obs in rows:
                        attrib = dict(zip(dims, obs.key, strict=True))
                        if time_id is not None and obs.period is not None:
                            attrib[time_id] = obs.period
                        if obs.value is not None:
                            attrib[measure] = obs.value
                        for k, v in obs.attributes.items():
                            if k not in skip:
                                attrib[k] = v
                        xf.write(etree.Element("Obs", attrib), "\n")
                        count += 1
                else:
                    count = _write_series(xf, rows, info, layout, time_id, measure)
            xf.write("\n")
    return count


def _write_series(  # noqa: C901
    xf: Any,
    rows: Iterator[Observation],
    info: MessageInfo,
    layout: common.Plan,
    time_id: str | None,
    measure: str,
) -> int:
    dims = info.schema.dimension_ids
    series_ids = [a.id for a in info.schema.attributes if a.id in layout.series_ids]
    skip = layout.series_ids | layout.dataset_ids
    obs_dim = layout.obs_dim
    obs_index = dims.index(obs_dim) if obs_dim is not None else -1
    series_positions = [i for i, d in enumerate(dims) if d != obs_dim]

    def marker(obs: Observation) -> tuple[Any, ...]:
        attributes = obs.attributes
        key: tuple[str | None, ...] = obs.key
        if obs_index >= 0:
            key = (*(obs.key[i] for i in series_positions), obs.period)
        if not series_ids:
            return key
        return (key, tuple(attributes.get(a) for a in series_ids))

    count = 0
    for _, run in itertools.groupby(rows, marker):
        first = next(run)
        attrib = {dims[i]: first.key[i] for i in series_positions}
        if obs_index >= 0 and time_id is not None and first.period is not None:
            attrib[time_id] = first.period
        for a in series_ids:
            v = first.attributes.get(a)
            if v is not None:
                attrib[a] = v
        with xf.element("Series", attrib):
            xf.write("\n")
            for obs in itertools.chain((first,), run):
                if obs_index >= 0:
                    o = {dims[obs_index]: obs.key[obs_index]}
                else:
                    o = {time_id: obs.period or ""} if time_id is not None else {}
                if obs.value is not None:
                    o[measure] = obs.value
                for k, v in obs.attributes.items():
                    if k not in skip:
                        o[k] = v
                xf.write(etree.Element("Obs", o), "\n")
                count += 1
        xf.write("\n")
    return count
