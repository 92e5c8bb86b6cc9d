"""SDMX-ML 2.1 generic and structure-specific data: samples, XSD validity, sdmx1, round trips."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sdmx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from exchange.errors import MalformedData
from exchange.formats import ml21_generic as generic
from exchange.formats import ml21_structure_specific as specific
from exchange.formats.dsd_xsd import dsd_xsd
from exchange.formats.xsd import schema_errors
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.services.structures import export_message
from tests.conftest import SAMPLES
from tests.formats import samples
from tests.formats.samples import (
    FLOW,
    KEY,
    S01,
    S02,
    S03,
    S04,
    core,
    ilms_obs,
    read_bytes,
    write_bytes,
)

MODULES = (generic, specific)
LAYOUTS = ("TIME_PERIOD", "AllDimensions")
CHF = ("M", "CHF", "EUR", "SP00", "E")
USD = ("M", "USD", "EUR", "SP00", "E")
CHF_ATTRS = {
    "DECIMALS": "4",
    "UNIT_MEASURE": "CHF",
    "UNIT_MULT": "0",
    "COLL_METHOD": "Average of observations through period",
    "TITLE": "ECB reference exchange rate, Swiss franc/Euro",
    "OBS_STATUS": "A",
    "CONF_STATUS_OBS": "F",
}
USD_ATTRS = {
    **CHF_ATTRS,
    "UNIT_MEASURE": "USD",
    "TITLE": "ECB reference exchange rate, U.S. dollar/Euro",
}


@pytest.fixture(scope="module")
def ecb(ecb_store: StructureStore) -> Any:
    return ecb_store.schema_for


# -- reading the samples ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("module", "path", "dim"),
    [
        (generic, S01, "TIME_PERIOD"),
        (generic, S02, "AllDimensions"),
        (specific, S03, "TIME_PERIOD"),
    ],
)
def test_read_samples(module: Any, path: Path, dim: str, ecb: Any) -> None:
    with path.open("rb") as f:
        stream = module.read(f, ecb, name=path.name)
        obs = list(stream)
    info = stream.info
    assert str(info.schema.dsd) == "ECB:ECB_EXR_NG(1.0)"
    assert info.dimension_at_observation == dim
    assert info.action is Action.APPEND
    assert (info.message_id, info.sender) == ("Generic", "ECB")
    assert info.prepared == "2010-01-04T16:21:49+01:00"
    assert info.warnings == []
    assert len(obs) == 12
    assert core(obs[:1]) == [(CHF, "2010-08", "1.3413", CHF_ATTRS)]
    assert core(obs[-1:]) == [(USD, "2010-10", "1.3898", USD_ATTRS)]
    assert obs[0].location is not None and obs[0].location.startswith("line ")


def test_samples_agree(ecb: Any) -> None:
    read = [core(read_bytes(m, p.read_bytes(), ecb)[1]) for m, p in MODULES_AND_SAMPLES]
    assert read[0] == read[1] == read[2]


MODULES_AND_SAMPLES = ((generic, S01), (generic, S02), (specific, S03))


def test_sniff() -> None:
    assert generic.sniff(S01.read_bytes()[:500]) and generic.sniff(S02.read_bytes()[:500])
    assert not generic.sniff(S03.read_bytes()[:500])
    assert specific.sniff(S03.read_bytes()[:500]) and not specific.sniff(S01.read_bytes()[:500])
    assert not specific.sniff(b'{"data": {}}')


# -- groups, dataset attributes, actions ------------------------------------------------------
GROUPED_SS = b"""<?xml version="1.0"?>
<message:StructureSpecificData
  xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
  xmlns:data="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
  xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
 <message:Header><message:ID>X</message:ID><message:Test>false</message:Test>
  <message:Prepared>2024-01-01T00:00:00</message:Prepared><message:Sender id="ECB"/>
  <message:Structure structureID="S" dimensionAtObservation="TIME_PERIOD" namespace="urn:x">
   <common:Structure><URN>urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=ECB:ECB_EXR_NG(1.0)</URN></common:Structure>
  </message:Structure></message:Header>
 <message:DataSet data:structureRef="S" data:action="Replace" TITLE="dataset title">
  <Group type="SiblingGroup" CURRENCY="CHF" CURRENCY_DENOM="EUR" EXR_TYPE="SP00" DECIMALS="4"/>
  <Series FREQ="M" CURRENCY="CHF" CURRENCY_DENOM="EUR" EXR_TYPE="SP00" EXR_VAR="E" UNIT_MULT="0">
   <Obs TIME_PERIOD="2010-08" OBS_VALUE="1.3413" OBS_STATUS="A"/>
   <Obs TIME_PERIOD="2010-09" OBS_VALUE="NaN"/>
  </Series>
  <Series FREQ="M" CURRENCY="USD" CURRENCY_DENOM="EUR" EXR_TYPE="SP00" EXR_VAR="E">
   <Obs TIME_PERIOD="2010-08"/>
  </Series>
 </message:DataSet>
</message:StructureSpecificData>"""

GROUPED_GENERIC = b"""<?xml version="1.0"?>
<message:GenericData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
  xmlns:generic="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
  xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
 <message:Header><message:ID>X</message:ID><message:Test>false</message:Test>
  <message:Prepared>2024-01-01T00:00:00</message:Prepared><message:Sender id="ECB"/>
  <message:Structure structureID="S" dimensionAtObservation="TIME_PERIOD">
   <common:Structure><Ref agencyID="ECB" id="ECB_EXR_NG" version="1.0"/></common:Structure>
  </message:Structure></message:Header>
 <message:DataSet structureRef="S" action="Replace">
  <generic:Attributes><generic:Value id="TITLE" value="dataset title"/></generic:Attributes>
  <generic:Group type="SiblingGroup">
   <generic:GroupKey><generic:Value id="CURRENCY" value="CHF"/>
    <generic:Value id="CURRENCY_DENOM" value="EUR"/><generic:Value id="EXR_TYPE" value="SP00"/>
   </generic:GroupKey>
   <generic:Attributes><generic:Value id="DECIMALS" value="4"/></generic:Attributes>
  </generic:Group>
  <generic:Series>
   <generic:SeriesKey><generic:Value id="FREQ" value="M"/><generic:Value id="CURRENCY" value="CHF"/>
    <generic:Value id="CURRENCY_DENOM" value="EUR"/><generic:Value id="EXR_TYPE" value="SP00"/>
    <generic:Value id="EXR_VAR" value="E"/></generic:SeriesKey>
   <generic:Attributes><generic:Value id="UNIT_MULT" value="0"/></generic:Attributes>
   <generic:Obs><generic:ObsDimension value="2010-08"/><generic:ObsValue value="1.3413"/>
    <generic:Attributes><generic:Value id="OBS_STATUS" value="A"/></generic:Attributes>
   </generic:Obs>
   <generic:Obs><generic:ObsDimension value="2010-09"/><generic:ObsValue value="NaN"/></generic:Obs>
  </generic:Series>
  <generic:Series>
   <generic:SeriesKey><generic:Value id="FREQ" value="M"/><generic:Value id="CURRENCY" value="USD"/>
    <generic:Value id="CURRENCY_DENOM" value="EUR"/><generic:Value id="EXR_TYPE" value="SP00"/>
    <generic:Value id="EXR_VAR" value="E"/></generic:SeriesKey>
   <generic:Obs><generic:ObsDimension value="2010-08"/></generic:Obs>
  </generic:Series>
 </message:DataSet>
</message:GenericData>"""


@pytest.mark.parametrize(("module", "data"), [(specific, GROUPED_SS), (generic, GROUPED_GENERIC)])
def test_groups_dataset_attributes_action(module: Any, data: bytes, ecb: Any) -> None:
    info, obs = read_bytes(module, data, ecb)
    assert info.action is Action.REPLACE
    assert info.dataset_attributes == {"TITLE": "dataset title"}
    title = {"TITLE": "dataset title"}
    assert core(obs) == [
        (CHF, "2010-08", "1.3413", {**title, "DECIMALS": "4", "UNIT_MULT": "0", "OBS_STATUS": "A"}),
        (CHF, "2010-09", None, {**title, "DECIMALS": "4", "UNIT_MULT": "0"}),
        (USD, "2010-08", None, title),
    ]


def test_lenient_unqualified_header(ecb: Any) -> None:
    data = (
        S03.read_bytes()
        .replace(b"<message:Header>", b'<Header xmlns="">')
        .replace(b"</message:Header>", b"</Header>")
    )
    data = data.replace(b"<message:ID>", b"<ID>").replace(b"</message:ID>", b"</ID>")
    info, obs = read_bytes(specific, data, ecb)
    assert len(obs) == 12 and info.message_id == "Generic"
    assert any("namespace" in w for w in info.warnings)


# -- writing: XSD validity ---------------------------------------------------------------------
@pytest.mark.parametrize("dim", [*LAYOUTS, "REF_AREA"])
def test_written_messages_validate(dim: str, ilms: Schema, tmp_path: Path) -> None:
    obs = ilms_obs(4) + [o._replace(key=("THA", *KEY[1:])) for o in ilms_obs(2)]
    info = MessageInfo(ilms, action=Action.REPLACE)
    data = write_bytes(generic, info, obs, dimension_at_observation=dim)
    assert schema_errors(etree.ElementTree(etree.fromstring(data))) == []
    data = write_bytes(specific, info, obs, dimension_at_observation=dim)
    xsd = samples.ss_schema(ilms, dim, tmp_path)
    assert xsd.validate(etree.fromstring(data)), xsd.error_log
    assert b'xsi:type="ns1:DataSetType"' in data


def test_dsd_xsd_shape(ilms: Schema, ecb: Any) -> None:
    xsd = etree.fromstring(dsd_xsd(ilms))
    assert xsd.get("targetNamespace") == (
        "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)"
        ":ObsLevelDim:TIME_PERIOD"
    )
    names = {e.get("name") for e in xsd}
    assert {"DataSetType", "SeriesType", "ObsType", "ILO.CL_SEX.1.0"} <= names
    flat = etree.fromstring(dsd_xsd(ecb("ECB:ECB_EXR_NG(1.0)"), "AllDimensions"))
    assert flat.get("targetNamespace", "").endswith(
        "DataStructure=ECB:ECB_EXR_NG(1.0):ObsLevelDim:AllDimensions"
    )
    assert "SeriesType" not in {e.get("name") for e in flat}


def test_sample_validates_against_generated_xsd(ecb: Any, tmp_path: Path) -> None:
    """The TWG's own structure-specific sample is valid against the XSD we generate."""
    xsd = samples.ss_schema(ecb("ECB:ECB_EXR_NG(1.0)"), "TIME_PERIOD", tmp_path)
    doc = etree.fromstring(S03.read_bytes())
    namespace = doc.nsmap["exr"]
    assert namespace.endswith(":ObsLevelDim:TIME_PERIOD")
    assert xsd.validate(doc), xsd.error_log


# -- sdmx1 reads what we write -----------------------------------------------------------------
@pytest.fixture(scope="module")
def sdmx1_ilms_dsd() -> Any:
    return sdmx.read_sdmx(io.BytesIO(export_message())).structure["ILMS_SEX_AGE_CBR"]  # type: ignore[attr-defined]


def _sdmx1_obs(path: Path, dsd: Any) -> list[tuple[Any, ...]]:
    message: Any = sdmx.read_sdmx(path, structure=dsd)
    found = []
    for dataset in message.data:
        for o in dataset.obs:
            values = [str(getattr(kv.value, "id", kv.value)) for kv in o.key.values.values()]
            attrs = {k: str(v.value) for k, v in o.attached_attribute.items()}
            if o.series_key is not None:
                attrs.update({k: str(v.value) for k, v in o.series_key.attrib.items()})
            value = None if o.value is None else str(o.value)
            found.append((tuple(values[:-1]), values[-1], value, attrs))
    return found


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dim", LAYOUTS)
def test_sdmx1_reads_ilms(
    module: Any, dim: str, ilms: Schema, sdmx1_ilms_dsd: Any, tmp_path: Path
) -> None:
    obs = ilms_obs(3)
    path = tmp_path / "data.xml"
    path.write_bytes(write_bytes(module, MessageInfo(ilms), obs, dimension_at_observation=dim))
    seen = _sdmx1_obs(path, sdmx1_ilms_dsd)
    assert sorted(seen, key=str) == sorted(
        [
            (o.key, o.period, None if o.value is None else str(float(o.value)), dict(o.attributes))
            for o in obs
        ],
        key=str,
    )


@pytest.mark.parametrize("module", MODULES)
def test_sdmx1_reads_ecb(module: Any, ecb: Any, tmp_path: Path) -> None:
    dsd = sdmx.read_sdmx(S04).structure["ECB_EXR_NG"]  # type: ignore[attr-defined]
    info, obs = read_bytes(specific, S03.read_bytes(), ecb)
    path = tmp_path / "data.xml"
    path.write_bytes(write_bytes(module, info, obs))
    assert _sdmx1_obs(path, dsd) == core(obs)


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("source", [generic, specific])
@pytest.mark.parametrize("target", [generic, specific])
@pytest.mark.parametrize("dim", [*LAYOUTS, "CURRENCY"])
def test_round_trip_ecb(source: Any, target: Any, dim: str, ecb: Any) -> None:
    info, obs = read_bytes(specific, S03.read_bytes(), ecb)
    data = write_bytes(source, info, obs, dimension_at_observation=dim)
    info2, back = read_bytes(source, data, ecb)
    assert core(back) == core(obs)
    assert info2.dimension_at_observation == dim
    again = write_bytes(target, info2, back, dimension_at_observation="TIME_PERIOD")
    assert core(read_bytes(target, again, ecb)[1]) == core(obs)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=samples.observation_lists(), dim=st.sampled_from(LAYOUTS))
def test_round_trip_hypothesis(rows: list[Observation], dim: str, ilms: Schema) -> None:
    info = MessageInfo(ilms, action=Action.DELETE)
    for module in MODULES:
        data = write_bytes(module, info, rows, dimension_at_observation=dim)
        back_info, back = read_bytes(module, data, lambda ref: ilms)
        assert back_info.action is Action.DELETE
        assert core(back) == core(rows)


def test_empty_message(ilms: Schema) -> None:
    for module in MODULES:
        data = write_bytes(module, MessageInfo(ilms), [])
        info, obs = read_bytes(module, data, lambda ref: ilms)
        assert obs == [] and str(info.schema.dataflow) == f"ILO:{FLOW}(1.0)"


def test_resolver_gets_the_reference(ilms: Schema) -> None:
    resolve, asked = samples.recording(ilms)
    for module in MODULES:
        read_bytes(module, write_bytes(module, MessageInfo(ilms), ilms_obs(1)), resolve)
    assert asked == [f"ILO:{FLOW}(1.0)"] * 2


# -- bad inputs --------------------------------------------------------------------------------
@pytest.mark.parametrize(("module", "path"), [(generic, S01), (specific, S03)])
def test_truncated(module: Any, path: Path, ecb: Any) -> None:
    data = path.read_bytes()
    with pytest.raises(MalformedData) as caught:
        read_bytes(module, data[: len(data) // 2], ecb)
    assert caught.value.where is not None and caught.value.where.startswith("test.xml:")
    line = int(caught.value.where.split(":")[1])
    assert line > 1


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<message:GenericData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">
<message:Header><message:ID>&xxe;</message:ID></message:Header></message:GenericData>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<message:StructureSpecificData
  xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">
<message:Header><message:ID>&lol9;</message:ID></message:Header></message:StructureSpecificData>"""


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("data", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_entities_refused(module: Any, data: bytes, ecb: Any) -> None:
    for doc in (data, data.replace(b"GenericData", b"StructureSpecificData")):
        with pytest.raises(MalformedData) as caught:
            read_bytes(module, doc, ecb)
        assert "DOCTYPE" in caught.value.message or "root element" in caught.value.message
        assert "root:" not in str(caught.value)  # nothing of /etc/passwd


@pytest.mark.parametrize("module", MODULES)
def test_json_given_to_xml_reader(module: Any, ecb: Any) -> None:
    data = (SAMPLES / "14_json10_data-ts_ECB-EXR_twg.json").read_bytes()
    with pytest.raises(MalformedData, match="not well-formed XML") as caught:
        read_bytes(module, data, ecb)
    assert caught.value.where is not None and caught.value.where.startswith("test.xml:1:")


def test_wrong_root(ecb: Any) -> None:
    with pytest.raises(MalformedData, match="expected a message:StructureSpecificData"):
        read_bytes(specific, S01.read_bytes(), ecb)
    with pytest.raises(MalformedData, match="expected a message:GenericData"):
        read_bytes(generic, S04.read_bytes(), ecb)


def test_empty_input(ecb: Any) -> None:
    with pytest.raises(MalformedData):
        read_bytes(generic, b"", ecb)


# -- streaming ---------------------------------------------------------------------------------
N = 50_000  # Python-side growth shows at this size already; bench/formats.py measures RSS at 1M


@pytest.mark.parametrize("module", MODULES)
def test_streaming_memory(module: Any, ilms: Schema, tmp_path: Path) -> None:
    samples.assert_streams(module, ilms, tmp_path / "big.xml", N)
