"""The structure store: resolved schemas, dataflow references, and refusing a broken tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exchange.errors import Conflict, InvalidStructure, NotFound
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Attachment, Role
from exchange.model.store import StructureStore
from exchange.services.structures import load_store
from tests.conftest import ROOT

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
PROVIDERS = {
    *("BRN", "IDN", "KHM", "LAO", "MMR", "MYS", "PHL", "SGP", "THA", "VNM"),
    *("ARE", "BHR", "IRQ", "JOR", "KWT", "LBN", "OMN", "PSE", "QAT", "SAU", "SYR", "YEM"),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of dsd/ and codelists/."""
    for folder in ("dsd", "codelists"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


# -- schema ------------------------------------------------------------------------------------
def test_schema_dimensions_in_key_order(store: StructureStore) -> None:
    schema = store.schema(FLOW)
    assert schema.dataflow == ArtefactRef(Kind.DATAFLOW, "ILO", FLOW, "1.0")
    assert schema.dsd == ArtefactRef(Kind.DATA_STRUCTURE, "ILO", "ILMS_SEX_AGE_CBR", "1.0")
    assert schema.dimension_ids == ("REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR")
    assert schema.time_dimension is not None
    assert schema.time_dimension.id == "TIME_PERIOD"
    assert schema.time_dimension.role is Role.TIME
    assert schema.measure.id == "OBS_VALUE"
    assert schema.name == "Employment by sex, age and place of birth (thousands)"


def test_schema_allowed_codes_follow_the_constraint(store: StructureStore) -> None:
    schema = store.schema(FLOW)
    age = schema.component("AGE")
    assert age.codes is not None
    assert "AGE_YTHADULT_YGE15" in age.codes
    assert "AGE_AGGREGATE_TOTAL" in age.codes
    assert "AGE_YTHADULT" not in age.codes  # the group code itself is not reportable
    assert not [c for c in age.codes if c.startswith("AGE_ALLAGES")]
    assert age.allows("AGE_YTHADULT_Y15-64")
    assert not age.allows("AGE_ALLAGES_TOTAL")
    assert schema.component("REF_AREA").codes == frozenset(PROVIDERS)
    assert schema.component("FREQ").codes == frozenset({"A"})
    assert schema.component("MEASURE").codes == frozenset({"MST_TEMP_NB"})
    assert schema.component("CBR").codes == frozenset(
        {"CBR_BIR_TOTAL", "CBR_BIR_NATIVE", "CBR_BIR_FOREIGN", "CBR_BIR_X"}
    )


def test_schema_attributes_and_units(store: StructureStore) -> None:
    schema = store.schema(FLOW)
    unit = schema.component("UNIT_MEASURE")
    assert unit.attachment is Attachment.DIMENSIONS
    assert unit.related_dimensions == ("MEASURE",)
    assert unit.codelist == ArtefactRef(Kind.CODELIST, "ILO", "CL_UNIT_MEASURE", "1.0")
    assert schema.component("OBS_STATUS").attachment is Attachment.OBSERVATION
    assert not any(a.required for a in schema.attributes)
    assert [c.id for c in schema.components][:8] == [
        "REF_AREA",
        "FREQ",
        "MEASURE",
        "SEX",
        "AGE",
        "CBR",
        "TIME_PERIOD",
        "OBS_VALUE",
    ]
    assert len(schema.components) == 8 + 11
    assert dict(schema.units) == {
        "UNIT_MEASURE_TYPE": "NB",
        "UNIT_MEASURE": "PS",
        "UNIT_MULT": "3",
        "DECIMALS": "1",
    }


def test_schema_is_built_once(store: StructureStore) -> None:
    assert store.schema(FLOW) is store.schema(f"ILO:{FLOW}(1.0)")


def test_unknown_component_is_not_found(store: StructureStore) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        store.schema(FLOW).component("NOPE")


# -- dataflow references -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        FLOW,
        FLOW.removeprefix("DF_"),
        f"ILO:{FLOW}(1.0)",
        f"ILO,{FLOW},1.0",
        f"ILO,{FLOW}",
        f",{FLOW},",
    ],
)
def test_dataflow_ref_accepts_every_spelling(store: StructureStore, text: str) -> None:
    assert store.dataflow_ref(text) == ArtefactRef(Kind.DATAFLOW, "ILO", FLOW, "1.0")


@pytest.mark.parametrize("text", ["DF_NOPE", "NOPE", f"ILO:{FLOW}(2.0)", f"ESTAT,{FLOW},1.0"])
def test_dataflow_ref_unknown_is_not_found(store: StructureStore, text: str) -> None:
    with pytest.raises(NotFound, match="no dataflow"):
        store.dataflow_ref(text)


def test_find_and_dataflows(store: StructureStore) -> None:
    assert len(store.dataflows()) == 57
    (sex,) = store.find(Kind.CODELIST, "ILO", "CL_SEX", "latest")
    assert sex.id == "CL_SEX"
    assert len(store.find(Kind.DATA_STRUCTURE)) == 19
    assert [d.id for d in store.find(Kind.DATA_STRUCTURE, "ILO", "ILMS_MIRROR+ILMS_SEX_CBR")] == [
        "ILMS_MIRROR",
        "ILMS_SEX_CBR",
    ]
    assert store.find(Kind.DATAFLOW, "ESTAT") == []
    assert store.module_of[FLOW] == "STOCK"


def test_the_store_holds_exactly_the_files(store: StructureStore) -> None:
    """No empty stubs of referenced-but-absent artefacts."""
    files = [p for d in ("dsd", "codelists") for p in (ROOT / d).rglob("*.xml")]
    assert len(store.refs) == len(files)
    assert {r.filename for r in store.refs} == {p.name for p in files}
    with pytest.raises(NotFound):
        store.codelist("CL_NOT_THERE")


# -- a broken tree is refused ----------------------------------------------------------------------
def test_the_copy_loads(tree: Path) -> None:
    assert len(load_store(tree).dataflows()) == 57


def test_missing_codelist_is_named(tree: Path) -> None:
    (tree / "codelists/ILO+CL_CBR+1.0.xml").unlink()
    with pytest.raises(InvalidStructure, match=r"references missing ILO:CL_CBR\(1\.0\)") as info:
        load_store(tree)
    assert "ILMS_SEX_AGE_CBR" in str(info.value)


def test_missing_dataflow_is_named(tree: Path) -> None:
    (tree / "dsd/dataflows/ILO+DF_MST_FORP_SEX_CBR_NB+1.0.xml").unlink()
    with pytest.raises(
        InvalidStructure, match=r"references missing ILO:DF_MST_FORP_SEX_CBR_NB\(1\.0\)"
    ):
        load_store(tree)


def test_duplicate_artefact_names_both_files(tree: Path) -> None:
    original = tree / "codelists/ILO+CL_SEX+1.0.xml"
    copy = tree / "codelists/ilms-extensions/ILO+CL_SEX+1.0.xml"
    shutil.copy(original, copy)
    with pytest.raises(Conflict, match="defined twice") as info:
        load_store(tree)
    assert str(original) in str(info.value)
    assert str(copy) in str(info.value)
    assert info.value.status == 409


def test_renamed_file_is_refused(tree: Path) -> None:
    renamed = tree / "codelists/ILO+CL_GENDER+1.0.xml"
    (tree / "codelists/ILO+CL_SEX+1.0.xml").rename(renamed)
    with pytest.raises(InvalidStructure, match="named after") as info:
        load_store(tree)
    assert info.value.where == str(renamed)
    assert "ILO+CL_SEX+1.0.xml" in str(info.value)


def test_not_well_formed_file_is_refused(tree: Path) -> None:
    path = tree / "codelists/ILO+CL_SEX+1.0.xml"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(InvalidStructure, match="not well-formed") as info:
        load_store(tree)
    assert str(path) in str(info.value)


def test_empty_tree_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidStructure, match="no structure files"):
        load_store(tmp_path)
