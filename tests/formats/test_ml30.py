"""SDMX-ML 3.0 structure-specific data: the TWG sample, XSD validity, pysdmx, round trips."""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path
from typing import Any

import pytest
import sdmx.reader.xml.v30  # noqa: F401 - see below
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pysdmx.io import get_datasets

from exchange.errors import MalformedData
from exchange.formats import ml21_structure_specific as ml21
from exchange.formats import ml30_structure_specific as ml30
from exchange.formats import registry
from exchange.formats.dsd_xsd import dsd_xsd
from exchange.formats.xsd import schema_errors
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Attachment, Schema
from exchange.services.structures import export_message, store_from_file
from tests.conftest import SAMPLES
from tests.formats import samples
from tests.formats.samples import FLOW, KEY, S01, S02, S03, core, ilms_obs, read_bytes, write_bytes

S20 = SAMPLES / "20_ml30_structspecific-data_ECB-EXR_twg.xml"
S21 = SAMPLES / "21_ml30_structure-DSD_ECB-EXR_twg.xml"
LAYOUTS = ("TIME_PERIOD", "AllDimensions", "REF_AREA")
EXR_URN = "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ECB:EXR(1.0)"
CAD_A = ("A", "CAD", "EUR", "SP00", "A")
LTL_E = ("A", "LTL", "EUR", "SP00", "E")
CAD_A_ATTRS = {
    "TIME_FORMAT": "P1Y",
    "COLLECTION": "A",
    "DECIMALS": "4",
    "SOURCE_AGENCY": "4F0",
    "TITLE": "Canadian dollar/Euro",
    "TITLE_COMPL": "ECB reference exchange rate, Canadian dollar/Euro, 2:15 pm (C.E.T.)",
    "UNIT": "CAD",
    "UNIT_MULT": "0",
    "OBS_STATUS": "A",
}
LTL_E_ATTRS = {
    **CAD_A_ATTRS,
    "COLLECTION": "E",
    "DECIMALS": "5",
    "TITLE": "Lithuanian litas/Euro",
    "TITLE_COMPL": "ECB reference exchange rate, Lithuanian litas/Euro, 2:15 pm (C.E.T.)",
    "UNIT": "LTL",
}


@pytest.fixture(scope="module")
def exr() -> Schema:
    """ECB EXR from the SDMX-ML 3.0 structure sample, as the data sample's dataflow ECB:EXR.

    sdmx1 reads the 3.0 DSD but takes the ``<str:Observation/>`` relationship of OBS_* for a
    dataset-level one, and the file has no codelists (so no code is allowed): both are put right.
    """
    # sdmx1 builds its 3.0 reader from its 2.1 reader's parsers when first imported, and fails if a
    # 2.1 structure-specific data message was read before (test_ml21 does): hence the import above
    dsd = store_from_file(S21).dsd_schema("ECB_EXR")

    def fix(component: Any) -> Any:
        attachment = component.attachment
        if component.id.startswith("OBS_") and attachment is Attachment.DATASET:
            attachment = Attachment.OBSERVATION
        return dataclasses.replace(component, codes=None, attachment=attachment)

    return dataclasses.replace(
        dsd,
        dataflow=ArtefactRef(Kind.DATAFLOW, "ECB", "EXR", "1.0"),
        dimensions=tuple(fix(d) for d in dsd.dimensions),
        attributes=tuple(fix(a) for a in dsd.attributes),
    )


# -- reading the sample -----------------------------------------------------------------------
def test_read_sample(exr: Schema) -> None:
    resolve, asked = samples.recording(exr)
    with S20.open("rb") as f:
        stream = ml30.read(f, resolve, name=S20.name)
        info = stream.info
        assert asked == [EXR_URN]  # resolved from the header, before any observation
        obs = list(stream)
    assert info.action is Action.INFORMATION  # the header's DataSetAction
    assert (info.message_id, info.sender) == ("IREF411123", "Unknown")
    assert info.prepared == "2021-03-08T22:05:13Z"
    assert info.dimension_at_observation == "TIME_PERIOD"
    assert info.dataset_attributes == {}
    assert info.warnings == []
    assert len(obs) == 116
    assert len({o.key for o in obs}) == 6
    assert core(obs[:1]) == [(CAD_A, "1999", "1.583993822393823", CAD_A_ATTRS)]
    assert core(obs[-1:]) == [(LTL_E, "2014", "3.4528", LTL_E_ATTRS)]
    assert (obs[0].location, obs[0].action) == ("line 20", None)
    assert [o.period for o in obs if o.key == LTL_E] == [str(y) for y in range(1999, 2015)]


def test_sniff() -> None:
    head = S20.read_bytes()[:4096]
    assert ml30.sniff(head)
    assert not ml30.sniff(S03.read_bytes()[:4096])  # same root name, 2.1 namespace
    assert not ml30.sniff(S01.read_bytes()[:4096])
    assert not ml30.sniff(b'{"data": {}}')
    assert ml30.sniff(head.replace(b"message:", b"m:").replace(b"xmlns:message", b"xmlns:m"))
    assert registry.by_name("application/vnd.sdmx.data+xml;version=3.0.0").sniff(head)


# -- Comp, Atts, Group, Merge, several data sets ----------------------------------------------
RICH = b"""<?xml version="1.0" encoding="UTF-8"?>
<mes:StructureSpecificData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
  xmlns:ss="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/data/structurespecific"
  xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common">
 <mes:Header><mes:ID>RICH</mes:ID><mes:Test>false</mes:Test>
  <mes:Prepared>2024-01-01T00:00:00Z</mes:Prepared><mes:Sender id="ILO"/>
  <mes:Structure structureID="S" dimensionAtObservation="TIME_PERIOD" namespace="urn:x">
   <com:StructureUsage>urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ECB:EXR(1.0)</com:StructureUsage>
  </mes:Structure></mes:Header>
 <mes:DataSet ss:structureRef="S" ss:action="Merge" PUBL_ECB="dataset text">
  <Atts><Comp id="COMPILATION"><Value><com:Text xml:lang="fr">Compilation</com:Text>
   <com:Text xml:lang="en">Compiled daily</com:Text></Value></Comp></Atts>
  <Atts CURRENCY="CAD" CURRENCY_DENOM="EUR" EXR_TYPE="SP00" EXR_SUFFIX="A" UNIT="CAD"/>
  <Group type="Group" CURRENCY="CAD" CURRENCY_DENOM="EUR" EXR_TYPE="SP00" EXR_SUFFIX="A"
   DECIMALS="4"><Comp id="TITLE"><Value>Canadian dollar/Euro</Value></Comp></Group>
  <Series FREQ="A" CURRENCY="CAD" CURRENCY_DENOM="EUR" EXR_TYPE="SP00" EXR_SUFFIX="A">
   <Comp id="TITLE_COMPL"><Value>ECB reference exchange rate</Value></Comp>
   <Obs TIME_PERIOD="1999" OBS_VALUE="1.5840" OBS_STATUS="A">
    <Comp id="OBS_COM"><Value>first</Value><Value>second</Value></Comp>
   </Obs>
   <Obs TIME_PERIOD="2000" OBS_VALUE="NaN"/>
  </Series>
 </mes:DataSet>
 <mes:DataSet ss:structureRef="S" ss:action="Delete">
  <Series FREQ="A" CURRENCY="CHF" CURRENCY_DENOM="EUR" EXR_TYPE="SP00" EXR_SUFFIX="E">
   <Obs TIME_PERIOD="1999"/>
  </Series>
 </mes:DataSet>
</mes:StructureSpecificData>"""


def test_comp_atts_groups_actions(exr: Schema) -> None:
    info, obs = read_bytes(ml30, RICH, lambda ref: exr)
    assert info.action is Action.APPEND  # Merge
    dataset = {"PUBL_ECB": "dataset text", "COMPILATION": "Compiled daily"}
    assert info.dataset_attributes == dataset
    series = {
        **dataset,
        "UNIT": "CAD",
        "DECIMALS": "4",
        "TITLE": "Canadian dollar/Euro",
        "TITLE_COMPL": "ECB reference exchange rate",
    }
    assert core(obs) == [
        (CAD_A, "1999", "1.5840", {**series, "OBS_STATUS": "A", "OBS_COM": "first;second"}),
        (CAD_A, "2000", None, series),
        (("A", "CHF", "EUR", "SP00", "E"), "1999", None, {}),
    ]
    assert [o.action for o in obs] == [None, None, Action.DELETE]
    assert any("OBS_COM has several values" in w for w in info.warnings)


def test_atts_for_one_period_ignored(exr: Schema) -> None:
    data = RICH.replace(b'UNIT="CAD"/>', b'UNIT="CAD"/><Atts TIME_PERIOD="1999" OBS_COM="x"/>')
    info, obs = read_bytes(ml30, data, lambda ref: exr)
    assert "TIME_PERIOD" not in info.dataset_attributes
    assert all(
        "TIME_PERIOD" not in o.attributes and o.attributes.get("OBS_COM") != "x" for o in obs
    )
    assert any("Atts with TIME_PERIOD ignored" in w for w in info.warnings)


def test_flat_and_other_dimension_layouts_read(exr: Schema) -> None:
    _, sample = read_bytes(ml30, S20.read_bytes(), lambda ref: exr)
    for dim in ("AllDimensions", "CURRENCY"):
        data = write_bytes(ml30, MessageInfo(exr), sample, dimension_at_observation=dim)
        info, back = read_bytes(ml30, data, lambda ref: exr)
        assert info.dimension_at_observation == dim
        assert sorted(core(back), key=str) == sorted(core(sample), key=str)


# -- writing: XSD validity ---------------------------------------------------------------------
@pytest.mark.parametrize("dim", LAYOUTS)
def test_written_messages_validate(dim: str, ilms: Schema, tmp_path: Path) -> None:
    obs = ilms_obs(4) + [o._replace(key=("THA", *KEY[1:])) for o in ilms_obs(2)]
    data = write_bytes(
        ml30, MessageInfo(ilms, action=Action.REPLACE), obs, dimension_at_observation=dim
    )
    doc = etree.fromstring(data)
    xsd = samples.ss_schema(ilms, dim, tmp_path, "3.0")
    assert xsd.validate(doc), xsd.error_log
    # the official message XSD alone cannot know the DSD-specific xsi:type, and says only that
    errors = schema_errors(etree.ElementTree(doc), "3.0")
    assert errors and all("}DataSet'" in e.message for e in errors), errors


def test_sample_validates_against_generated_xsd(exr: Schema, tmp_path: Path) -> None:
    """The TWG's own 3.0 sample is valid against the 3.0 XSD we generate for its dataflow."""
    xsd = samples.ss_schema(exr, "TIME_PERIOD", tmp_path, "3.0")
    assert xsd.validate(etree.fromstring(S20.read_bytes())), xsd.error_log


def test_dsd_xsd_30_shape(ilms: Schema) -> None:
    xsd = etree.fromstring(dsd_xsd(ilms, version="3.0"))
    v30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/"
    assert {i.get("namespace") for i in xsd if i.get("schemaLocation")} == {
        v30 + "data/structurespecific",
        v30 + "common",
    }
    assert b"REPORTING_YEAR_START_DAY" not in etree.tostring(xsd)
    assert b"TimeSeries" not in etree.tostring(xsd)


# -- pysdmx reads what we write ----------------------------------------------------------------
@pytest.mark.parametrize("dim", LAYOUTS)
def test_pysdmx_reads_ilms(dim: str, ilms: Schema) -> None:
    obs = ilms_obs(3) + [o._replace(key=("THA", *KEY[1:])) for o in ilms_obs(2)]
    data = write_bytes(
        ml30, MessageInfo(ilms, action=Action.DELETE), obs, dimension_at_observation=dim
    )
    (dataset,) = get_datasets(io.BytesIO(data), io.BytesIO(export_message()))
    assert dataset.short_urn == f"Dataflow=ILO:{FLOW}(1.0)"
    assert dataset.action.value == "Delete"
    dims = ilms.dimension_ids
    seen = []
    for row in dataset.data.to_dict("records"):
        value = row.pop("OBS_VALUE", None)
        key = tuple(row.pop(d) for d in dims)
        period = row.pop("TIME_PERIOD")
        attrs = {k: v for k, v in row.items() if isinstance(v, str) and v}
        number = (
            None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        )
        seen.append((key, period, number, attrs))
    expected = [
        (o.key, o.period, None if o.value is None else float(o.value), dict(o.attributes))
        for o in obs
    ]
    assert sorted(seen, key=str) == sorted(expected, key=str)


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("other", ["sdmx-ml-2.1-structurespecific", "sdmx-csv-1.0", "sdmx-csv-2.0"])
def test_round_trip_through_registry(other: str, ilms: Schema) -> None:
    """3.0 → 2.1 structure-specific / CSV → 3.0, looked up in the registry as convert does."""
    ours = registry.by_name("sdmx-ml-3.0")
    theirs = registry.by_name(other)
    obs = ilms_obs(4) + [o._replace(key=("THA", *KEY[1:])) for o in ilms_obs(3)]
    info = MessageInfo(ilms, action=Action.REPLACE)
    first = write_bytes(ours, info, obs)

    def resolve(ref: str | None) -> Schema:
        return ilms

    stream = ours.reader(io.BytesIO(first), resolve, name="a.xml")
    there = io.BytesIO()
    theirs.writer(stream.info, stream, there)
    stream = theirs.reader(io.BytesIO(there.getvalue()), resolve, name="b")
    back = io.BytesIO()
    ours.writer(stream.info, stream, back)
    info2, again = read_bytes(ml30, back.getvalue(), resolve)
    assert core(again) == core(obs)
    assert info2.action is (Action.APPEND if other == "sdmx-csv-1.0" else Action.REPLACE)


def test_ecb_sample_through_21(exr: Schema) -> None:
    info, sample = read_bytes(ml30, S20.read_bytes(), lambda ref: exr)
    as21 = write_bytes(ml21, info, sample)
    info21, back21 = read_bytes(ml21, as21, lambda ref: exr)
    assert core(back21) == core(sample) and info21.action is Action.INFORMATION
    info30, back = read_bytes(ml30, write_bytes(ml30, info21, back21), lambda ref: exr)
    assert core(back) == core(sample) and info30.action is Action.INFORMATION


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=samples.observation_lists(),
    dim=st.sampled_from(LAYOUTS),
    action=st.sampled_from(list(Action)),
)
def test_round_trip_hypothesis(
    rows: list[Observation], dim: str, action: Action, ilms: Schema
) -> None:
    info = MessageInfo(ilms, action=action)
    data = write_bytes(ml30, info, rows, dimension_at_observation=dim)
    back_info, back = read_bytes(ml30, data, lambda ref: ilms)
    assert back_info.action is action
    assert core(back) == core(rows)
    via21 = write_bytes(ml21, back_info, back, dimension_at_observation=dim)
    assert core(read_bytes(ml21, via21, lambda ref: ilms)[1]) == core(rows)


def test_empty_message(ilms: Schema) -> None:
    data = write_bytes(ml30, MessageInfo(ilms), [])
    info, obs = read_bytes(ml30, data, lambda ref: ilms)
    assert obs == [] and str(info.schema.dataflow) == f"ILO:{FLOW}(1.0)"


def test_resolver_gets_the_urn(ilms: Schema) -> None:
    resolve, asked = samples.recording(ilms)
    read_bytes(ml30, write_bytes(ml30, MessageInfo(ilms), ilms_obs(1)), resolve)
    assert asked == [f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ILO:{FLOW}(1.0)"]


# -- bad inputs --------------------------------------------------------------------------------
def test_truncated(exr: Schema) -> None:
    data = S20.read_bytes()
    with pytest.raises(MalformedData) as caught:
        read_bytes(ml30, data[: len(data) // 2], lambda ref: exr)
    assert caught.value.where is not None and caught.value.where.startswith("test.xml:")
    assert int(caught.value.where.split(":")[1]) > 1
    header_end = data.index(b"</message:Header>")
    with pytest.raises(MalformedData, match="truncated"):
        read_bytes(ml30, data[:header_end], lambda ref: exr)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<message:StructureSpecificData
  xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message">
<message:Header><message:ID>&xxe;</message:ID></message:Header></message:StructureSpecificData>"""


def test_xxe_refused(exr: Schema) -> None:
    for doc in (XXE, XXE.replace(b'SYSTEM "file:///etc/passwd"', b'"' + b"lol" * 1000 + b'"')):
        with pytest.raises(MalformedData, match="DOCTYPE") as caught:
            read_bytes(ml30, doc, lambda ref: exr)
        assert "root:" not in str(caught.value)  # nothing of /etc/passwd


def test_21_message_given_to_30_reader(exr: Schema) -> None:
    for sample in (S03, S01, S02):
        with pytest.raises(MalformedData, match=r"an SDMX-ML 2\.1 message") as caught:
            read_bytes(ml30, sample.read_bytes(), lambda ref: exr)
        assert caught.value.where == "test.xml:2:0"
    with pytest.raises(MalformedData, match="expected a message:StructureSpecificData"):
        read_bytes(ml30, S21.read_bytes(), lambda ref: exr)  # a 3.0 structure message


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "not well-formed XML"),
        (b'{"data": {}}', "not well-formed XML"),
        (RICH.replace(b'ss:action="Merge"', b'ss:action="Upsert"'), "unknown dataset action"),
        (RICH.replace(b'ss:action="Delete"', b'ss:action="Upsert"'), "unknown dataset action"),
    ],
)
def test_bad_input(data: bytes, match: str, exr: Schema) -> None:
    with pytest.raises(MalformedData, match=match):
        read_bytes(ml30, data, lambda ref: exr)


def test_wrong_namespace_is_read_with_a_warning(exr: Schema) -> None:
    data = RICH.replace(b"schemas/v3_0/message", b"schemas/v9/message")
    info, obs = read_bytes(ml30, data, lambda ref: exr)
    assert len(obs) == 3
    assert any("SDMX-ML 3.0 message namespace" in w for w in info.warnings)


# -- streaming ---------------------------------------------------------------------------------
N = 50_000


def test_streaming_memory(ilms: Schema, tmp_path: Path) -> None:
    samples.assert_streams(ml30, ilms, tmp_path / "big.xml", N)


def test_registry_sniffs_30_apart_from_21() -> None:
    """The 2.1 structure-specific sniff (first in the registry) leaves 3.0 messages to 3.0."""
    head = S20.read_bytes()[:4096]
    assert not ml21.sniff(head)
    assert ml21.sniff(S03.read_bytes()[:4096])
    found = registry.sniff(head)
    assert found is not None and found.name == "sdmx-ml-3.0"
