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

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from lxml import etree

from exchange.formats import ml21_common as common
from exchange.formats import ml21_header
from exchange.formats.ml21_common import ML30, SS30, XSI
from exchange.formats.ml21_structure_specific import write_message
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


def sniff(head: bytes) -> bool:
    return common.sniff_root(head, ROOTS, ML30, strict=True)


def read(source: BinaryIO, resolve: Resolver, *, name: str = "<input>") -> DataStream:
    """Read the header, resolve the structure, stream the observations."""
    reader = ml21_header.MessageReader(
        source, name=name, roots=ROOTS, kind=KIND, dialect=ML30, refuse=(common.ML21,)
    )
    schema = resolve(reader.header.structure_ref or reader.header.namespace)
    info = reader.info(schema)
    ml21_header.check_dimension_at_observation(info, name)
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
    reader: ml21_header.MessageReader, info: MessageInfo
) -> Iterator[Observation]:
    keys = common.KeyReader(info, reader.name)
    name, dims, time_id = reader.name, keys.dims, keys.time_id
    schema, warnings = info.schema, info.warnings
    measure = schema.measure.id
    missing = common.MISSING_VALUES
    by_series = bool(time_id) and info.dimension_at_observation == time_id
    dataset_attrs: dict[str, str] = dict(info.dataset_attributes)
    action: Action | None = None
    groups = common.Groups()
    kinds = common.Kinds()
    series: Any = None  # the open Series element
    series_values: dict[str, str] | None = None  # its own values, read at its first Obs' end
    series_key: tuple[str, ...] = ()
    series_base: dict[str, str] = {}  # dataset + group + series attributes (by_series)
    shared = common.SharedAttributes()  # one mapping per distinct attribute set, message-wide
    observation = common.observation

    try:
        for event, elem in reader.replay():
            kind = kinds[elem.tag]
            if event == "start":
                if kind == "Series":
                    series, series_values = elem, None
                elif kind == "DataSet" and elem is not reader.dataset:
                    dataset_attrs = _own_values(elem, warnings, _SET_ATTRIBUTES)
                    groups = common.Groups()
                    action = common.dataset_action(elem, info, name, SS30)
                continue
            if kind == "Obs":
                values = _own_values(elem, warnings)
                if series is not None and series_values is None:
                    series_values = _own_values(series, warnings)
                    if by_series:
                        series_key = keys.pop(series_values, series)
                        series_base = shared.series(
                            groups.over(dataset_attrs, dims, series_key, series_values)
                        )
                if by_series and series is not None:
                    key = series_key
                    period = values.pop(time_id, None)
                    value = values.pop(measure, None)
                    attributes = shared.observation(values) if series_base else values
                else:
                    if series_values:
                        values = {**series_values, **values}
                    key = keys.pop(values, elem)
                    period = values.pop(time_id, None) if time_id else None
                    value = values.pop(measure, None)
                    attributes = groups.over(dataset_attrs, dims, key, values)
                yield observation(key, period, value, attributes, action, elem, missing)
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

    Options: those of :func:`exchange.formats.ml21_structure_specific.write`.
    """
    dataset = {
        f"{{{XSI}}}type": "ns1:DataSetType",
        f"{{{SS30}}}structureRef": common.STRUCTURE_ID,
        f"{{{SS30}}}action": info.action.value,
    }
    return write_message(info, observations, out, options, dataset, ML30, "ss")
