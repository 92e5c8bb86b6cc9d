"""SDMX-REST 1.5 structure queries: every path and parameter form, with exact answers.

Expected sets come from the files themselves (``Ref`` elements read with lxml here), not from the
service's reference graph, so the graph is checked against an independent reading.
"""

from __future__ import annotations

from functools import cache

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from exchange.model.refs import ArtefactRef, Kind
from exchange.model.store import StructureStore
from tests.conftest import ROOT
from tests.server.conftest import COM, STR, artefact_ids, json_of, xml_of

ML21 = "application/vnd.sdmx.structure+xml; version=2.1"
DSD = "ILMS_SEX_AGE_CBR"
FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
#: ``Ref`` class → (kind, whether the Ref names an item of the maintainable parent).
_REF_KIND = {
    "Codelist": (Kind.CODELIST, False),
    "Concept": (Kind.CONCEPT_SCHEME, True),
    "DataStructure": (Kind.DATA_STRUCTURE, False),
    "Dataflow": (Kind.DATAFLOW, False),
    "Category": (Kind.CATEGORY_SCHEME, True),
    "DataProvider": (Kind.DATA_PROVIDER_SCHEME, True),
}


@cache
def _files() -> dict[str, str]:
    return {p.name: str(p) for d in ("dsd", "codelists") for p in (ROOT / d).rglob("*.xml")}


@cache
def children_in_file(ref: ArtefactRef) -> frozenset[ArtefactRef]:
    """The artefacts one structure file refers to, read from its ``Ref`` elements."""
    tree = etree.parse(_files()[ref.filename])
    out = set()
    for element in tree.iter("Ref"):
        if element.get("class") not in _REF_KIND:
            continue  # a local reference (a dimension of the same DSD)
        kind, is_item = _REF_KIND[element.get("class", "")]
        if is_item:
            ident, version = (
                element.get("maintainableParentID"),
                element.get("maintainableParentVersion", "1.0"),
            )
        else:
            ident, version = element.get("id"), element.get("version", "1.0")
        out.add(ArtefactRef(kind, element.get("agencyID", ""), str(ident), str(version)))
    return frozenset(out - {ref})


def descendants(refs: set[ArtefactRef]) -> set[ArtefactRef]:
    seen: set[ArtefactRef] = set()
    todo = list(refs)
    while todo:
        for child in children_in_file(todo.pop()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def parents(store: StructureStore, ref: ArtefactRef) -> set[ArtefactRef]:
    return {r for r in store.refs if ref in children_in_file(r)}


def ref(kind: Kind, ident: str) -> ArtefactRef:
    return ArtefactRef(kind, "ILO", ident)


def refs_of(root: etree._Element) -> set[tuple[str, str]]:
    return {(tag, ident) for tag, ids in artefact_ids(root).items() for ident in ids}


_TAG = {
    Kind.CODELIST: "Codelist",
    Kind.CONCEPT_SCHEME: "ConceptScheme",
    Kind.DATA_STRUCTURE: "DataStructure",
    Kind.DATAFLOW: "Dataflow",
    Kind.CONTENT_CONSTRAINT: "ContentConstraint",
    Kind.CATEGORY_SCHEME: "CategoryScheme",
    Kind.CATEGORISATION: "Categorisation",
    Kind.DATA_PROVIDER_SCHEME: "DataProviderScheme",
    Kind.AGENCY_SCHEME: "AgencyScheme",
    Kind.PROVISION_AGREEMENT: "ProvisionAgreement",
}


def tagged(refs: set[ArtefactRef]) -> set[tuple[str, str]]:
    return {(_TAG[r.kind], r.id) for r in refs}


def get_xml(client: TestClient, url: str) -> etree._Element:
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == ML21
    return xml_of(response.content)


# -- paths --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/rest/dataflow/ILO/all/latest",
        "/rest/dataflow",
        "/rest/dataflow/",
        "/rest/dataflow/ILO",
        "/rest/dataflow/ILO/",
        "/rest/dataflow/all/all/all",
        "/rest/dataflow/ILO/all/1.0/",
        "/rest/dataflow/*/*/*",
    ],
)
def test_all_dataflows(client: TestClient, store: StructureStore, url: str) -> None:
    root = get_xml(client, url)
    ids = artefact_ids(root)
    assert list(ids) == ["Dataflow"]
    assert ids["Dataflow"] == sorted(f.id for f in store.dataflows())
    assert len(ids["Dataflow"]) == 57


def test_one_dataflow_is_the_file_element(client: TestClient) -> None:
    root = get_xml(client, f"/rest/dataflow/ILO/{FLOW}/1.0")
    (flow,) = root.iter(f"{STR}Dataflow")
    source = etree.parse(_files()[ref(Kind.DATAFLOW, FLOW).filename]).find(f".//{STR}Dataflow")
    assert etree.tostring(flow, method="c14n") == etree.tostring(source, method="c14n")


def test_plus_lists(client: TestClient) -> None:
    root = get_xml(client, "/rest/codelist/ILO/CL_SEX+CL_AGE/1.0+2.0")
    assert artefact_ids(root) == {"Codelist": ["CL_AGE", "CL_SEX"]}
    root = get_xml(client, "/rest/codelist/SDMX+ILO/CL_SEX")
    assert artefact_ids(root) == {"Codelist": ["CL_SEX"]}


@pytest.mark.parametrize(
    "url",
    [
        "/rest/codelist/ILO/CL_SEX/2.0",
        "/rest/codelist/ECB/CL_SEX",
        "/rest/dataflow/ILO/DF_NOPE",
        "/rest/codelist/ILO/CL_SEX/latest/NOPE",
    ],
)
def test_no_result_is_404_with_sdmx_code_100(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    root = xml_of(response.content)
    assert root.tag.endswith("}Error")
    assert root[0].get("code") == "100"


def test_structure_resource_returns_every_kind(client: TestClient, store: StructureStore) -> None:
    root = get_xml(client, "/rest/structure/all/all/latest")
    assert refs_of(root) == tagged(set(store.refs))


def test_organisationscheme_returns_agency_and_provider_schemes(client: TestClient) -> None:
    root = get_xml(client, "/rest/organisationscheme")
    assert artefact_ids(root) == {
        "AgencyScheme": ["AGENCIES"],
        "DataProviderScheme": ["DATA_PROVIDERS"],
    }


# -- items --------------------------------------------------------------------------------------
def test_item_query_holds_one_code(client: TestClient) -> None:
    root = get_xml(client, "/rest/codelist/ILO/CL_SEX/latest/SEX_F")
    codes = list(root.iter(f"{STR}Code"))
    assert [c.get("id") for c in codes] == ["SEX_F"]
    assert codes[0].find(f"{COM}Name").text == "Female"


def test_item_query_plus_list_and_all(client: TestClient) -> None:
    root = get_xml(client, "/rest/codelist/ILO/CL_SEX/1.0/SEX_M+SEX_F+NOPE")
    assert [c.get("id") for c in root.iter(f"{STR}Code")] == ["SEX_M", "SEX_F"]
    root = get_xml(client, "/rest/codelist/ILO/CL_SEX/1.0/all")
    assert len(list(root.iter(f"{STR}Code"))) == 5


def test_item_query_other_schemes(client: TestClient) -> None:
    root = get_xml(client, "/rest/conceptscheme/ILO/CS_CLASSIF_TYPE/latest/SEX")
    assert [c.get("id") for c in root.iter(f"{STR}Concept")] == ["SEX"]
    root = get_xml(client, "/rest/categoryscheme/ILO/CAS_ILMS/latest/FLOW")
    assert [c.get("id") for c in root.iter(f"{STR}Category")] == ["FLOW"]
    root = get_xml(client, "/rest/dataproviderscheme/ILO/DATA_PROVIDERS/latest/PHL")
    assert [c.get("id") for c in root.iter(f"{STR}DataProvider")] == ["PHL"]


def test_item_id_on_a_non_item_scheme_is_404(client: TestClient) -> None:
    assert client.get(f"/rest/dataflow/ILO/{FLOW}/1.0/X").status_code == 404


# -- references ---------------------------------------------------------------------------------
def test_dsd_children(client: TestClient) -> None:
    root = get_xml(client, f"/rest/datastructure/ILO/{DSD}/1.0?references=children")
    ids = artefact_ids(root)
    assert ids["DataStructure"] == [DSD]
    expected = children_in_file(ref(Kind.DATA_STRUCTURE, DSD))
    assert refs_of(root) == tagged(set(expected)) | {("DataStructure", DSD)}
    # the DSD's codelists: 6 coded dimensions and 5 coded attributes, and 3 concept schemes
    assert len(ids["Codelist"]) == 11
    assert ids["ConceptScheme"] == ["CS_CLASSIF_TYPE", "CS_ILOSTAT", "CS_NOTE_TYPE"]


def test_dsd_parents(client: TestClient, store: StructureStore) -> None:
    root = get_xml(client, f"/rest/datastructure/ILO/{DSD}/1.0?references=parents")
    flows = {f.id for f in store.dataflows() if f.structure.id == DSD}
    assert refs_of(root) == {("DataStructure", DSD)} | {("Dataflow", f) for f in flows}
    assert len(flows) == 9


def test_dataflow_parents_and_siblings(client: TestClient, store: StructureStore) -> None:
    main = ref(Kind.DATAFLOW, FLOW)
    above = parents(store, main)
    expected = above | {c for p in above for c in children_in_file(p)} | {main}
    root = get_xml(client, f"/rest/dataflow/ILO/{FLOW}/1.0?references=parentsandsiblings")
    assert refs_of(root) == tagged(expected)
    kinds = {r.kind for r in expected}
    assert kinds == {
        Kind.DATAFLOW, Kind.CONTENT_CONSTRAINT, Kind.CATEGORISATION, Kind.PROVISION_AGREEMENT,
        Kind.CATEGORY_SCHEME, Kind.DATA_PROVIDER_SCHEME,
    }  # fmt: skip


def test_dataflow_descendants_and_all(client: TestClient, store: StructureStore) -> None:
    main = ref(Kind.DATAFLOW, FLOW)
    below = descendants({main})
    root = get_xml(client, f"/rest/dataflow/ILO/{FLOW}/1.0?references=descendants")
    assert refs_of(root) == tagged(below | {main})
    above = parents(store, main)
    every = below | above | {c for p in above for c in children_in_file(p)} | {main}
    root = get_xml(client, f"/rest/dataflow/ILO/{FLOW}/1.0?references=all")
    assert refs_of(root) == tagged(every)


def test_references_by_type(client: TestClient) -> None:
    """A type: that type among the related artefacts, not via concepts' core representations."""
    main = ref(Kind.DATAFLOW, FLOW)
    dsd = ref(Kind.DATA_STRUCTURE, DSD)
    codelists = {r for r in children_in_file(dsd) if r.kind is Kind.CODELIST}
    root = get_xml(client, f"/rest/dataflow/ILO/{FLOW}/1.0?references=codelist")
    assert refs_of(root) == tagged(codelists | {main})
    root = get_xml(client, "/rest/codelist/ILO/CL_CBR/1.0?references=dataflow")
    flows = artefact_ids(root)["Dataflow"]
    assert FLOW in flows
    assert all("_CBR_" in f for f in flows)
    root = get_xml(client, "/rest/dataflow/ILO/all/latest?references=datastructure")
    assert len(artefact_ids(root)["DataStructure"]) == 19


@pytest.mark.parametrize("references", ["bogus", "children,parents", "ancestors"])
def test_bad_references_is_400(client: TestClient, references: str) -> None:
    response = client.get(f"/rest/dataflow?references={references}")
    assert response.status_code == 400
    assert xml_of(response.content)[0].get("code") == "140"


# -- detail -------------------------------------------------------------------------------------
def _stub_ok(element: etree._Element, *, complete: bool) -> None:
    assert element.get("isExternalReference") == "true"
    url = element.get("structureURL", "")
    assert url.endswith(f"/rest/{url.split('/rest/')[1]}")
    allowed = {"Name", "Annotations", "Description"} if complete else {"Name"}
    allowed |= {"Source", "Target", "StructureUsage", "DataProvider"}
    assert {etree.QName(c).localname for c in element} <= allowed


def test_allstubs(client: TestClient) -> None:
    root = get_xml(client, f"/rest/datastructure/ILO/{DSD}?references=children&detail=allstubs")
    artefacts = [e for c in root[1] for e in c]
    assert len(artefacts) == 15
    for element in artefacts:
        _stub_ok(element, complete=False)
    dsd = next(root.iter(f"{STR}DataStructure"))
    assert dsd.get("structureURL") == f"http://testserver/rest/datastructure/ILO/{DSD}/1.0"


def test_referencestubs_and_completestubs(client: TestClient) -> None:
    url = f"/rest/dataflow/ILO/{FLOW}?references=all&detail="
    root = get_xml(client, url + "referencestubs")
    flow = next(root.iter(f"{STR}Dataflow"))
    assert flow.get("isExternalReference") is None
    for element in (e for c in root[1] for e in c if e is not flow):
        _stub_ok(element, complete=False)
    root = get_xml(client, url + "allcompletestubs")
    for element in (e for c in root[1] for e in c):
        _stub_ok(element, complete=True)
    flow = next(root.iter(f"{STR}Dataflow"))
    assert flow.find(f"{COM}Annotations") is not None
    assert flow.get("isFinal") == "true"
    root = get_xml(client, url + "referencecompletestubs")
    assert next(root.iter(f"{STR}Dataflow")).find(f"{STR}Structure") is not None


def test_referencepartial_restricts_codelists_to_the_constraint(client: TestClient) -> None:
    constraint = etree.parse(_files()[f"ILO+CR_{FLOW}+1.0.xml"])
    allowed = {kv.get("id"): {v.text for v in kv} for kv in constraint.iter(f"{COM}KeyValue")}
    url = f"/rest/dataflow/ILO/{FLOW}/1.0?references=descendants&detail=referencepartial"
    root = get_xml(client, url)
    lists = {cl.get("id"): cl for cl in root.iter(f"{STR}Codelist")}
    sex = lists["CL_SEX"]
    assert sex.get("isPartial") == "true"
    assert {c.get("id") for c in sex.iter(f"{STR}Code")} == allowed["SEX"]
    assert {c.get("id") for c in lists["CL_AREA"].iter(f"{STR}Code")} == allowed["REF_AREA"]
    assert lists["CL_OBS_STATUS"].get("isPartial") is None  # not constrained: whole
    schemes = {cs.get("id"): cs for cs in root.iter(f"{STR}ConceptScheme")}
    classif = schemes["CS_CLASSIF_TYPE"]
    assert classif.get("isPartial") == "true"
    assert {c.get("id") for c in classif.iter(f"{STR}Concept")} == {"SEX", "AGE", "CBR"}
    assert next(root.iter(f"{STR}Dataflow")).get("isPartial") is None


def test_bad_detail_is_400(client: TestClient) -> None:
    response = client.get("/rest/dataflow?detail=raw")
    assert response.status_code == 400
    assert xml_of(response.content)[0].get("code") == "140"


# -- other resources ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["/rest/hierarchicalcodelist", "/rest/metadatastructure/ILO/X/1.0", "/rest/process/"]
)
def test_unsupported_resources_are_501(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 501
    assert xml_of(response.content)[0].get("code") == "501"


@pytest.mark.parametrize(
    "url", ["/rest/nothing", "/rest/dataflow/ILO/DF/1.0/extra", "/rest/codelist/ILO//1.0"]
)
def test_unknown_paths_are_404_with_an_sdmx_body(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert xml_of(response.content)[0].get("code") == "100"


# -- SDMX-JSON ----------------------------------------------------------------------------------
def test_json_dataflows(client: TestClient) -> None:
    response = client.get("/rest/dataflow/ILO/all/latest", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.sdmx.structure+json; version=2.0.0"
    message = json_of(response.content)
    assert list(message["data"]) == ["dataflows"]
    assert len(message["data"]["dataflows"]) == 57


def test_json_children_items_and_stubs(client: TestClient) -> None:
    url = f"/rest/datastructure/ILO/{DSD}/1.0?references=children&format=sdmx-json"
    data = json_of(client.get(url).content)["data"]
    assert [d["id"] for d in data["dataStructures"]] == [DSD]
    assert len(data["codelists"]) == 11
    assert len(data["conceptSchemes"]) == 3
    data = json_of(client.get("/rest/codelist/ILO/CL_SEX/latest/SEX_F?format=sdmx-json").content)
    assert [c["id"] for c in data["data"]["codelists"][0]["codes"]] == ["SEX_F"]
    url = f"/rest/dataflow/ILO/{FLOW}?references=all&detail=referencestubs&format=jsonstructure"
    data = json_of(client.get(url).content)["data"]
    assert "structure" in data["dataflows"][0]
    stub = data["dataStructures"][0]
    assert stub["isExternalReference"] is True
    assert "dataStructureComponents" not in stub
    assert stub["links"][0]["href"].endswith(f"/rest/datastructure/ILO/{DSD}/1.0")


def test_json_referencepartial(client: TestClient) -> None:
    url = f"/rest/dataflow/ILO/{FLOW}/1.0?references=descendants&detail=referencepartial"
    data = json_of(client.get(url, headers={"Accept": "application/json"}).content)["data"]
    sex = next(c for c in data["codelists"] if c["id"] == "CL_SEX")
    assert sex["isPartial"] is True
    assert len(sex["codes"]) < 5


def test_accept_language_chooses_the_json_name(client: TestClient) -> None:
    url = f"/rest/datastructure/ILO/{DSD}/1.0"
    headers = {"Accept": "application/json", "Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"}
    response = client.get(url, headers=headers)
    message = json_of(response.content)
    assert response.headers["content-language"] == "fr"
    assert message["meta"]["contentLanguages"][0] == "fr"
    dsd = message["data"]["dataStructures"][0]
    assert dsd["name"] == "Tableaux ILMS par Sexe, Age, Lieu de naissance"
    assert dsd["names"]["en"] == "ILMS tables by Sex, Age, Place of birth"
    english = json_of(client.get(url, headers={"Accept": "application/json"}).content)
    assert english["data"]["dataStructures"][0]["name"] == "ILMS tables by Sex, Age, Place of birth"
    unknown = client.get(url, headers={"Accept": "application/json", "Accept-Language": "de"})
    assert "content-language" not in unknown.headers
