"""SDMX-ML 3.0 structure-specific data messages (SDMX 3.0 Standards, Sections 3A and 3B).

The layout is 2.1's structure-specific one in the ``v3_0`` namespaces, with these differences:

* the header's ``message:Structure`` names the dataflow (or DSD) by the URN text of
  ``common:StructureUsage`` (``common:Structure``), not by a ``Ref``;
* an attribute value is an XML attribute (simple values) or a ``Comp`` child element holding
  ``Value`` elements (multi-valued or multilingual text), ``<Comp id="X"><Value>…</Value></Comp>``:
  several values are joined with ``;`` (with a warning), of multilingual text the English one
  (else the first) is kept;
* ``Atts`` elements carry attribute values for a partial key — or, without any dimension, for
  the whole data set — like ``Group`` elements, which remain;
* ``action`` may also be ``Merge`` (read as Append, see :meth:`Action.parse`).

The header, the hardened streaming parser and the series layout of the writer are those of
:mod:`exchange.formats.ml21_common` and :mod:`exchange.formats.ml21_structure_specific`, given the
3.0 :data:`~exchange.formats.ml21_common.ML30` dialect. Reading processes each ``Obs`` at its end
event (its ``Comp`` children are known then) and drops it at once, so memory stays flat.

The writer puts every value in an XML attribute and declares the DSD-specific namespace of
:func:`exchange.formats.dsd_xsd.dsd_xsd` (``version="3.0"``), against whose XSD its output
validates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from lxml import etree

from exchange.errors import MalformedData
from exchange.formats import ml21_common as common
from exchange.formats.ml21_common import COM30, MES30, ML30, SS30, XSI
from exchange.formats.ml21_structure_specific import _write_series
from exchange.formats.registry import Resolver
from exchange.formats.sdmxml import XML_LANG
from exchange.model.records import Action, DataStream, MessageInfo, Observation
from exchange.model.schema import Schema

KIND = "SDMX-ML 3.0 structure-specific data"
ROOTS = ("StructureSpecificData",)
_CONTENT = frozenset({"Group", "Series", "Obs"})
#: Set attributes (``ss:action``…) that some tools write unqualified: never attribute values.
_SET_ATTRIBUTES = frozenset(
    "structureRef setID action reportingBeginDate reportingEndDate validFromDate validToDate"  # noqa: SIM905
    " publicationYear publicationPeriod".split()
)
_new_observation: Callable[[type[Observation], tuple[Any, ...]], Observation] = tuple.__new__


def sniff(head: bytes) -> bool:
    return common.sniff_root(head, ROOTS, ML30, strict=True)


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Read the header, resolve the structure, stream the observations."""
    reader = common.MessageReader(
        source, name=name, roots=ROOTS, kind=KIND, dialect=ML30, refuse=(common.ML21,)
    )
    schema = resolve(reader.header.structure_ref or reader.header.namespace)
    info = reader.info(schema)
    common.check_dimension_at_observation(info, name)
    if reader.dataset is not None:
        attributes = _own_values(reader.dataset, info.warnings, _SET_ATTRIBUTES)
        reader.pending = reader.read_ahead(_CONTENT)
        for event, elem in reader.pending:
            if event == "end" and common.localname(elem.tag) == "Atts":
                values = _own_values(elem, info.warnings)
                time = schema.time_dimension
                if elem.getparent() is reader.dataset and not (
                    _partial_key(values, schema) or (time is not None and time.id in values)
                ):
                    attributes.update(values)
        info.dataset_attributes = attributes
    return DataStream(info, _observations(reader, info))


def _own_values(
    elem: Any, warnings: list[str], skip: frozenset[str] = frozenset({"type"})
) -> dict[str, str]:
    """An element's component values: its unqualified XML attributes and its ``Comp`` children."""
    found = {k: v for k, v in elem.items() if k[0] != "{" and k not in skip}
    if len(elem):
        for child in elem:
            if common.localname(child.tag) == "Comp" and child.get("id"):
                value = _comp_value(child, warnings)
                if value:
                    found[child.get("id")] = value
    return found


def _comp_value(comp: Any, warnings: list[str]) -> str:
    values: list[str] = []
    for value in comp:
        if common.localname(value.tag) != "Value":
            continue
        texts = {t.get(XML_LANG, ""): t.text or "" for t in value if isinstance(t.tag, str)}
        if texts:
            values.append(texts.get("en", next(iter(texts.values()))).strip())
        else:
            values.append((value.text or "").strip())
    if len(values) > 1 and not any("several values" in w for w in warnings):
        warnings.append(
            f"line {comp.sourceline}: {comp.get('id')} has several values, joined with ';'"
            " (further such warnings are not repeated)"
        )
    return ";".join(values)


def _partial_key(values: dict[str, str], schema: Schema) -> dict[str, str]:
    """Pop the dimension values (a ``Group``'s or ``Atts``' partial key) out of ``values``."""
    return {d: values.pop(d) for d in schema.dimension_ids if d in values}


def _observations(  # noqa: C901, PLR0912, PLR0915 (the hot loop, kept flat for speed)
    reader: common.MessageReader, info: MessageInfo
) -> Iterator[Observation]:
    schema = info.schema
    name = reader.name
    warnings = info.warnings
    dims = schema.dimension_ids
    time_id = schema.time_dimension.id if schema.time_dimension is not None else ""
    measure = schema.measure.id
    missing = common.MISSING_VALUES
    by_series = bool(time_id) and info.dimension_at_observation == time_id
    dataset_attrs: dict[str, str] = dict(info.dataset_attributes)
    action: Action | None = None
    groups = common.Groups()
    kinds: dict[Any, str] = {}
    series: Any = None  # the open Series element
    series_values: dict[str, str] | None = None  # its own values, read at its first Obs' end
    series_key: tuple[str, ...] = ()
    series_base: dict[str, str] = {}  # dataset + group + series attributes (by_series)
    new = _new_observation
    obs_type = Observation
    unkeyed = False

    def key_of(values: dict[str, str], elem: Any) -> tuple[str, ...]:
        nonlocal unkeyed
        key = tuple(values.pop(d, "") for d in dims)
        if not unkeyed and "" in key:
            unkeyed = True
            absent = ", ".join(d for d, v in zip(dims, key, strict=True) if not v)
            warnings.append(
                f"{common.at(name, elem)}: {common.localname(elem.tag)} lacks dimension"
                f" {absent} (further such warnings are not repeated)"
            )
        return key

    try:
        for event, elem in reader.replay():
            tag = elem.tag
            kind = kinds.get(tag)
            if kind is None:
                kind = kinds[tag] = common.localname(tag)
            if event == "start":
                if kind == "Series":
                    series, series_values = elem, None
                elif kind == "DataSet" and elem is not reader.dataset:
                    dataset_attrs = _own_values(elem, warnings, _SET_ATTRIBUTES)
                    groups = common.Groups()
                    text = elem.get(f"{{{SS30}}}action") or elem.get("action")
                    try:
                        parsed = Action.parse(text)
                    except ValueError:
                        raise MalformedData(
                            f"unknown dataset action {text!r}", where=common.at(name, elem)
                        ) from None
                    action = None if parsed is info.action else parsed
                continue
            if kind == "Obs":
                values = _own_values(elem, warnings)
                if series is not None and series_values is None:
                    series_values = _own_values(series, warnings)
                    if by_series:
                        series_key = key_of(series_values, series)
                        series_base = {
                            **dataset_attrs,
                            **groups.matching(dict(zip(dims, series_key, strict=True))),
                            **series_values,
                        }
                if by_series and series is not None:
                    key = series_key
                    period = values.pop(time_id, None)
                    value = values.pop(measure, None)
                    attributes = {**series_base, **values} if values else series_base
                else:
                    if series_values:
                        values = {**series_values, **values}
                    key = key_of(values, elem)
                    period = values.pop(time_id, None) if time_id else None
                    value = values.pop(measure, None)
                    base = dataset_attrs
                    if groups:
                        base = {**base, **groups.matching(dict(zip(dims, key, strict=True)))}
                    attributes = {**base, **values}
                yield new(
                    obs_type,
                    (
                        key,
                        period,
                        None if value in missing else value,
                        attributes,
                        action,
                        f"line {elem.sourceline}",
                    ),
                )
                common.release(elem)
            elif kind == "Series":
                common.release(elem)
                series = series_values = None
            elif kind in {"Group", "Atts"}:
                values = _own_values(elem, warnings)
                partial = _partial_key(values, schema)
                if time_id in values:  # values for one period of a partial key: not supported
                    warnings.append(
                        f"{common.at(name, elem)}: {kind} with {time_id} ignored (attribute values"
                        " for a single period are not supported)"
                    )
                elif partial:
                    groups.add(partial, values)
                elif kind == "Atts":
                    dataset_attrs.update(values)
                common.release(elem)
            elif kind == "DataSet":
                common.release(elem)
    except etree.XMLSyntaxError as exc:
        raise reader.error(exc) from None


# -- writing -------------------------------------------------------------------------------------
def write(
    info: MessageInfo, observations: Iterable[Observation], out: BinaryIO, **options: Any
) -> int:
    """Write an SDMX-ML 3.0 StructureSpecificData message; returns the observations written.

    Options: ``dimension_at_observation`` ("TIME_PERIOD" default, "AllDimensions" for the flat
    layout, or another dimension id); ``schema_location`` (where the DSD-specific XSD is, for
    ``xsi:schemaLocation``).
    """
    schema = info.schema
    layout = common.plan(schema, options.get("dimension_at_observation"))
    namespace = common.structure_namespace(schema, layout.dim_at_obs)
    first, rows = common.peek(observations)
    root_attrib: dict[str, str] = {}
    location = options.get("schema_location")
    if location:
        root_attrib[f"{{{XSI}}}schemaLocation"] = f"{namespace} {location}"
    dataset = {
        f"{{{XSI}}}type": "ns1:DataSetType",
        f"{{{SS30}}}structureRef": common.STRUCTURE_ID,
        f"{{{SS30}}}action": info.action.value,
        **common.dataset_attributes(info, first, layout),
    }
    nsmap = {"message": MES30, "common": COM30, "ss": SS30, "xsi": XSI, "ns1": namespace}
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{MES30}}}StructureSpecificData", root_attrib, nsmap=nsmap):
            xf.write("\n")
            common.write_header(
                xf,
                info,
                dimension_at_observation=layout.dim_at_obs,
                namespace=namespace,
                dialect=ML30,
            )
            with xf.element(f"{{{MES30}}}DataSet", dataset):
                xf.write("\n")
                time_id = schema.time_dimension.id if schema.time_dimension is not None else None
                if layout.flat:
                    count = _write_flat(xf, rows, schema, layout.dataset_ids)
                else:
                    count = _write_series(xf, rows, info, layout, time_id, schema.measure.id)
            xf.write("\n")
    return count


def _write_flat(xf: Any, rows: Iterable[Observation], schema: Schema, skip: frozenset[str]) -> int:
    """``AllDimensions``: one ``Obs`` per observation, with its whole key."""
    time = schema.time_dimension
    columns = (*schema.dimension_ids, time.id if time is not None else "", schema.measure.id)
    count = 0
    for count, obs in enumerate(rows, 1):  # noqa: B007 (the count is the result)
        cells = zip(columns, (*obs.key, obs.period, obs.value), strict=True)
        attrib = {column: cell for column, cell in cells if column and cell is not None}
        attrib.update((k, v) for k, v in obs.attributes.items() if k not in skip)
        xf.write(etree.Element("Obs", attrib), "\n")
    return count
