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
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from lxml import etree

from exchange.formats import ml21_common as common
from exchange.formats import ml21_header, ml21_write
from exchange.formats.ml21_common import SS, XSI
from exchange.formats.ml_obs import KEPT as ML_OBS_KEPT
from exchange.formats.ml_obs import ObsWriter
from exchange.formats.registry import Resolver
from exchange.model.records import Action, DataStream, MessageInfo, Observation
from exchange.model.schema import Schema

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


def sniff(head: bytes) -> bool:
    return common.sniff_root(head, ROOTS)


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Read the header, resolve the structure, stream the observations."""
    reader = ml21_header.MessageReader(source, name=name, roots=ROOTS, kind=KIND)
    schema = resolve(reader.header.structure_ref or reader.header.namespace)
    info = reader.info(schema)
    ml21_header.check_dimension_at_observation(info, name)
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
    reader: ml21_header.MessageReader, info: MessageInfo
) -> Iterator[Observation]:
    keys = common.KeyReader(info, reader.name)
    name, dims, time_id = reader.name, keys.dims, keys.time_id
    measure = info.schema.measure.id
    fast = info.dimension_at_observation == time_id and bool(time_id)
    dataset_attrs: dict[str, str] = dict(info.dataset_attributes)
    action: Action | None = None
    groups = common.Groups()
    kinds = common.Kinds()
    series_key: tuple[str, ...] = ()
    series_base: dict[str, str] = dataset_attrs  # dataset + group + series attributes
    series_raw: dict[str, str] | None = None  # slow path: the Series' own attributes
    shared = common.SharedAttributes()  # one mapping per distinct attribute set, message-wide
    new, obs_type = common.new_observation, Observation

    try:
        for event, elem in reader.replay():
            kind = kinds[elem.tag]
            if event == "start":
                if kind == "Obs":
                    if fast and series_raw is None:
                        values = dict(elem.items())
                        key = series_key
                        period = values.pop(time_id, None)
                        value = values.pop(measure, None)
                        attributes = shared.observation(values) if series_base else values
                    else:
                        values = dict(series_raw) if series_raw else {}
                        values.update(elem.items())
                        key = keys.pop(values, elem)
                        period = values.pop(time_id, None) if time_id else None
                        value = values.pop(measure, None)
                        attributes = groups.over(dataset_attrs, dims, key, values)
                    yield new(  # inline: the hot path (common.observation, less a call)
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
                elif kind == "Series":
                    values = {k: v for k, v in elem.items() if k[0] != "{"}
                    if fast:
                        series_key = keys.pop(values, elem)
                        values.pop(time_id, None)
                        series_base = shared.series(
                            groups.over(dataset_attrs, dims, series_key, values)
                        )
                        series_raw = None
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
                    action = common.dataset_action(elem, info, name, SS)
            elif kind in {"Obs", "Series", "Group", "DataSet"}:
                common.release(elem)
                if kind == "Series":
                    series_raw = None
                    series_base = dataset_attrs
    except etree.XMLSyntaxError as exc:
        raise reader.error(exc) from None


# -- writing -------------------------------------------------------------------------------------
def write(
    info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
) -> int:
    """Write a StructureSpecificData message; returns the number of observations written.

    Options: ``dimension_at_observation`` ("TIME_PERIOD" default, "AllDimensions" for the flat
    layout, or another dimension id); ``schema_location`` (where the DSD-specific XSD is, for
    ``xsi:schemaLocation``).
    """
    dataset = {
        f"{{{SS}}}structureRef": common.STRUCTURE_ID,
        f"{{{SS}}}dataScope": "Dataflow" if info.schema.dataflow is not None else "DataStructure",
        f"{{{XSI}}}type": "ns1:DataSetType",
        f"{{{SS}}}action": info.action.value,
    }
    return write_message(info, observations, out, options, dataset)


def write_message(
    info: MessageInfo,
    observations: Iterable[Observation],
    out: BinaryIO,
    options: Mapping[str, Any],
    set_attributes: dict[str, str],
    dialect: common.Dialect = common.ML21,
    prefix: str = "data",
) -> int:
    """A structure-specific message of this dialect (the data namespace bound to ``prefix``).

    ``set_attributes``: the ``DataSet``'s own (``structureRef``, ``action``…), before the dataset
    attribute values.
    """
    schema = info.schema
    layout = ml21_write.plan(schema, options.get("dimension_at_observation"))
    namespace = ml21_write.structure_namespace(schema, layout.dim_at_obs)
    first, rows = ml21_write.peek(observations)
    dataset = {**set_attributes, **ml21_write.dataset_attributes(info, first, layout)}
    time_id = schema.time_dimension.id if schema.time_dimension is not None else None
    root_attrib: dict[str, str] = {}
    location = options.get("schema_location")
    if location:
        root_attrib[f"{{{XSI}}}schemaLocation"] = f"{namespace} {location}"
    mes = dialect.message
    nsmap = {"message": mes, "common": dialect.common, prefix: dialect.data, "xsi": XSI}
    nsmap["ns1"] = namespace
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{mes}}}StructureSpecificData", root_attrib, nsmap=nsmap):
            xf.write("\n")
            ml21_write.write_header(
                xf,
                info,
                dimension_at_observation=layout.dim_at_obs,
                namespace=namespace,
                dialect=dialect,
            )
            with xf.element(f"{{{mes}}}DataSet", dataset):
                xf.write("\n")
                if layout.flat:
                    count = write_flat(xf, rows, schema, layout.dataset_ids)
                else:
                    count = write_series(xf, out, rows, info, layout, time_id, schema.measure.id)
            xf.write("\n")
    return count


def _write_obs(
    xf: Any, attrib: dict[str, str], obs: Observation, measure: str, skip: frozenset[str]
) -> None:
    """An ``Obs`` with these attributes, then its value and its attribute values not in ``skip``."""
    if obs.value is not None:
        attrib[measure] = obs.value
    for k, v in obs.attributes.items():
        if k not in skip:
            attrib[k] = v
    xf.write(etree.Element("Obs", attrib), "\n")


def write_flat(xf: Any, rows: Iterable[Observation], schema: Schema, skip: frozenset[str]) -> int:
    """``AllDimensions``: one ``Obs`` per observation, with its whole key."""
    dims = schema.dimension_ids
    time_id = schema.time_dimension.id if schema.time_dimension is not None else None
    measure = schema.measure.id
    count = 0
    for obs in rows:
        attrib = dict(zip(dims, obs.key, strict=True))
        if time_id is not None and obs.period is not None:
            attrib[time_id] = obs.period
        _write_obs(xf, attrib, obs, measure, skip)
        count += 1
    return count


def write_series(
    xf: Any,
    out: BinaryIO,
    rows: Iterator[Observation],
    info: MessageInfo,
    layout: ml21_write.Plan,
    time_id: str | None,
    measure: str,
) -> int:
    """Series elements; their ``Obs`` are written as text (:mod:`exchange.formats.ml_obs`)."""
    dims = info.schema.dimension_ids
    series_ids = [a.id for a in info.schema.attributes if a.id in layout.series_ids]
    obs_dim = layout.obs_dim
    obs_index = dims.index(obs_dim) if obs_dim is not None else -1
    series_positions = [i for i, d in enumerate(dims) if d != obs_dim]
    lead = obs_dim if obs_index >= 0 else time_id
    obs_writer = ObsWriter(xf, out, lead, measure, layout.series_ids | layout.dataset_ids)
    count = 0
    for _, run in itertools.groupby(rows, _marker(obs_index, series_positions, series_ids)):
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
            observations = itertools.chain((first,), run)  # noqa: B031 - used up here
            if obs_index >= 0:
                count += obs_writer.write((o.key[obs_index], o) for o in observations)
            else:
                count += obs_writer.write((o.period or "", o) for o in observations)
        xf.write("\n")
    return count


def _marker(
    obs_index: int, series_positions: list[int], series_ids: list[str]
) -> Callable[[Observation], Any]:
    """What observations of one ``Series`` share: the series key and series attribute values.

    The attribute values are looked up once per attribute mapping (observations of a series
    share one), not per observation.
    """
    values: dict[int, tuple[Mapping[str, str], tuple[str | None, ...]]] = {}

    def series_values(attributes: Mapping[str, str]) -> tuple[str | None, ...]:
        found = values.get(id(attributes))
        if found is None:
            if len(values) >= ML_OBS_KEPT:
                values.clear()
            # the mapping is kept with its values, so its id cannot be reused meanwhile
            found = values[id(attributes)] = (
                attributes,
                tuple(attributes.get(a) for a in series_ids),
            )
        return found[1]

    def marker(obs: Observation) -> Any:
        key: tuple[str | None, ...] = obs.key
        if obs_index >= 0:
            key = (*(obs.key[i] for i in series_positions), obs.period)
        if not series_ids:
            return key
        return (key, series_values(obs.attributes))

    return marker
