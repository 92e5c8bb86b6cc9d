"""``ilms structures import-ilo``: refresh codelists/ from ILO's published structure message.

A good message updates exactly the artefacts that changed and regenerates dsd/; a bad one (not
XML, not a 2.1 Structure message, another agency's, an XXE payload, schema-invalid, missing)
fails with a clear message and leaves every file byte for byte as it was.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import respx
from click.testing import CliRunner, Result
from lxml import etree

from exchange.errors import InvalidStructure, RemoteError
from exchange.model.ilms import ilo_artefacts_used, read_tables
from exchange.services import generate_structures
from exchange.services.ilo_import import import_ilo
from ilms.main import cli
from tests.conftest import ILO, ROOT, SAMPLES

ILO_MESSAGE = ILO / "ILO_codelists_and_concepts.structure.xml"
MES = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
STR = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
COM = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
NS = {"m": MES, "s": STR, "c": COM}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CL_SEX_URL = "https://sdmx.ilo.org/rest/codelist/ILO/CL_SEX/latest"
ILMS = Path(sys.executable).with_name("ilms")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of dsd/ and codelists/."""
    root = tmp_path / "project"
    for folder in ("dsd", "codelists"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


@pytest.fixture(scope="module")
def shared_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy for the tests that must leave it unchanged (each checks it did)."""
    root = tmp_path_factory.mktemp("unchanged") / "project"
    for folder in ("dsd", "codelists"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


@pytest.fixture(scope="module")
def ilo_tree() -> etree._ElementTree:
    return etree.parse(str(ILO_MESSAGE))


def _wanted(root: Path) -> set[str]:
    """What the CLI asks for: the artefacts ILMS uses and those already imported."""
    used = ilo_artefacts_used(read_tables(root / "dsd/ilms-tables.csv"))
    return set(used) | {p.name.split("+")[1] for p in (root / "codelists").glob("ILO+*.xml")}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("dsd", "codelists")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _add_code(
    tree: etree._ElementTree, codelist: str, code: str, names: dict[str, str]
) -> etree._ElementTree:
    """A copy of ILO's message with one code appended to ``codelist``."""
    tree = copy.deepcopy(tree)
    (element,) = tree.getroot().iterfind(
        f"m:Structures/s:Codelists/s:Codelist[@id='{codelist}']", NS
    )
    new = etree.SubElement(element, f"{{{STR}}}Code", id=code)
    for lang, text in names.items():
        etree.SubElement(new, f"{{{COM}}}Name", {XML_LANG: lang}).text = text
    return tree


def _codes(path: Path) -> list[str]:
    return [c.get("id") for c in etree.parse(str(path)).iterfind(".//s:Code", NS)]


# -- a good message ----------------------------------------------------------------------------
def test_reimporting_ilo_message_changes_nothing(tree: Path) -> None:
    before = _snapshot(tree)
    result = import_ilo(str(ILO_MESSAGE), tree / "codelists", _wanted(tree))
    assert result.written == []
    assert len(result.unchanged) == 49
    assert {p.name for p in result.unchanged} == {
        p.name for p in (ROOT / "codelists").glob("ILO+*.xml")
    }
    assert result.ignored == []  # ILMS now keeps every codelist this message holds
    assert "CL_AREA" not in result.ignored
    assert _snapshot(tree) == before


def test_cli_reimport_reports_nothing_to_do(tree: Path) -> None:
    before = _snapshot(tree)
    result = _invoke("structures", "import-ilo", str(ILO_MESSAGE), "--root", str(tree))
    assert result.exit_code == 0, result.output
    assert "0 updated, 49 unchanged" in result.output
    assert "dsd/: 0 files written, 0 removed" in result.output
    assert _snapshot(tree) == before


def test_a_new_country_updates_only_cl_area(
    tree: Path, tmp_path: Path, ilo_tree: etree._ElementTree
) -> None:
    source = tmp_path / "ilo-new-area.xml"
    _add_code(ilo_tree, "CL_AREA", "XKX", {"en": "Kosovo", "fr": "Kosovo", "es": "Kosovo"}).write(
        str(source), xml_declaration=True, encoding="utf-8"
    )
    before = _snapshot(tree)
    result = import_ilo(str(source), tree / "codelists", _wanted(tree))
    assert [p.name for p in result.written] == ["ILO+CL_AREA+1.0.xml"]
    assert len(result.unchanged) == 48
    after = _snapshot(tree)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"codelists/ILO+CL_AREA+1.0.xml"}
    assert set(after) == set(before)  # no temporary file left behind
    codes = _codes(tree / "codelists/ILO+CL_AREA+1.0.xml")
    assert codes[-1] == "XKX"
    assert codes[:-1] == _codes(ROOT / "codelists/ILO+CL_AREA+1.0.xml")


def test_cli_import_regenerates_dsd(
    tree: Path, tmp_path: Path, ilo_tree: etree._ElementTree
) -> None:
    source = tmp_path / "ilo-new-codes.xml"
    changed = _add_code(ilo_tree, "CL_AREA", "XKX", {"en": "Kosovo"})
    changed = _add_code(changed, "CL_CBR", "CBR_BRT_XKX", {"en": "Country of birth: Kosovo"})
    changed.write(str(source), xml_declaration=True, encoding="utf-8")
    assert generate_structures.stale(tree) == []

    result = _invoke("structures", "import-ilo", str(source), "--root", str(tree))

    assert result.exit_code == 0, result.output
    assert "updated ILO+CL_AREA+1.0.xml" in result.output
    assert "updated ILO+CL_CBR+1.0.xml" in result.output
    assert "2 updated, 47 unchanged" in result.output
    assert "dsd/: 0 files written" not in result.output
    assert generate_structures.stale(tree) == []
    constraint = tree / "dsd/constraints/ILO+CR_DF_MST_FORP_SEX_CBR_NB+1.0.xml"
    assert b"<common:Value>CBR_BRT_XKX</common:Value>" in constraint.read_bytes()
    cross_tab = tree / "dsd/constraints/ILO+CR_DF_MST_TEMP_SEX_AGE_CBR_NB+1.0.xml"
    assert cross_tab.read_bytes() == (ROOT / cross_tab.relative_to(tree)).read_bytes()
    check = _invoke("structures", "check", "--root", str(tree))
    assert check.exit_code == 0, check.output


# -- bad inputs change nothing -------------------------------------------------------------------
def _estat_codelist(tmp_path: Path) -> Path:
    path = tmp_path / "estat.xml"
    body = (ROOT / "codelists/ILO+CL_SEX+1.0.xml").read_bytes()
    path.write_bytes(body.replace(b'agencyID="ILO"', b'agencyID="ESTAT"'))
    return path


def _xxe(tmp_path: Path) -> Path:
    path = tmp_path / "xxe.xml"
    body = (ROOT / "codelists/ILO+CL_SEX+1.0.xml").read_bytes().split(b"?>", 1)[1]
    doctype = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    body = body.replace(b'<common:Name xml:lang="en">', b'<common:Name xml:lang="en">&e;', 1)
    path.write_bytes(b'<?xml version="1.0" encoding="utf-8"?>\n' + doctype + body)
    return path


def _schema_invalid(tmp_path: Path) -> Path:
    path = tmp_path / "invalid.xml"
    body = (ROOT / "codelists/ILO+CL_SEX+1.0.xml").read_bytes()
    path.write_bytes(
        body.replace(b'<structure:Code id="SEX_T">', b'<structure:Code id="SEX_T" x="1">')
    )
    return path


def _write(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def _only_unused_codelist(tmp_path: Path, ilo_tree: etree._ElementTree) -> Path:
    tree = copy.deepcopy(ilo_tree)
    structures = tree.getroot().find("m:Structures", NS)
    for container in list(structures):
        for element in list(container):
            if element.get("id") != "CL_MTS":
                container.remove(element)
            else:
                element.set("id", "CL_NOT_ILMS")  # a codelist neither ILMS nor ILO's schemes use
        if not len(container):
            structures.remove(container)
    path = tmp_path / "mts.xml"
    tree.write(str(path), xml_declaration=True, encoding="utf-8")
    return path


BAD_INPUTS = {
    "text": (
        lambda tmp, _: _write(tmp, "notes.txt", b"ILO codelists, see the website\n"),
        r"not well-formed XML",
    ),
    "data-message": (
        lambda tmp, _: SAMPLES / "01_ml21_generic-ts_ECB-EXR_twg.xml",
        r"expected an SDMX-ML 2\.1 Structure message, found <GenericTimeSeriesData>",
    ),
    "html": (
        lambda tmp, _: _write(tmp, "page.html", b"<html><body><h1>404</h1></body></html>"),
        r"expected an SDMX-ML 2\.1 Structure message, found <html>",
    ),
    "error-message": (
        lambda tmp, _: SAMPLES / "12_ml21_error-150_FMR.xml",
        r"expected an SDMX-ML 2\.1 Structure message, found <Error>",
    ),
    "sdmx-ml-3.0": (
        lambda tmp, _: SAMPLES / "08_ml30_codelist_ESTAT-FREQ_real.xml",
        r"expected an SDMX-ML 2\.1 Structure message, found <Structure> in namespace .*v3_0",
    ),
    "estat": (
        lambda tmp, _: _estat_codelist(tmp),
        r"artefacts of agency ESTAT: import-ilo takes ILO artefacts only",
    ),
    "xxe": (lambda tmp, _: _xxe(tmp), r"a DOCTYPE is not allowed"),
    "schema-invalid": (
        lambda tmp, _: _schema_invalid(tmp),
        r"not valid against the SDMX-ML 2\.1 schema \(1 errors\).*attribute 'x'",
    ),
    "nothing-used": (
        _only_unused_codelist,
        r"none of the codelists or concept schemes ILMS uses is here \(found: CL_NOT_ILMS\)",
    ),
    "missing": (lambda tmp, _: tmp / "no-such-file.xml", r"no such file"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_refused_and_changes_nothing(
    case: str, shared_tree: Path, tmp_path: Path, ilo_tree: etree._ElementTree
) -> None:
    tree = shared_tree
    make, message = BAD_INPUTS[case]
    source = make(tmp_path, ilo_tree)
    before = _snapshot(tree)
    with pytest.raises(InvalidStructure, match=message) as info:
        import_ilo(str(source), tree / "codelists", _wanted(tree))
    assert str(source) in str(info.value)  # the error names the input
    assert "root:" not in str(info.value)  # /etc/passwd was never read into the message
    assert _snapshot(tree) == before
    # the CLI fails the same way, before regenerating anything
    result = _invoke("structures", "import-ilo", str(source), "--root", str(tree))
    assert isinstance(result.exception, InvalidStructure)
    assert result.exit_code != 0
    assert "dsd/" not in result.output
    assert _snapshot(tree) == before


@pytest.mark.parametrize(
    ("case", "message"),
    [("xxe", "a DOCTYPE is not allowed"), ("missing", "no such file")],
)
def test_real_cli_exits_2_with_the_problem_on_stderr(
    case: str, message: str, shared_tree: Path, tmp_path: Path
) -> None:
    tree = shared_tree
    source = _xxe(tmp_path) if case == "xxe" else tmp_path / "gone.xml"
    before = _snapshot(tree)
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [str(ILMS), "structures", "import-ilo", str(source), "--root", str(tree)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert message in done.stderr
    assert str(source) in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert _snapshot(tree) == before


# -- from a URL --------------------------------------------------------------------------------
def test_import_from_url(tree: Path) -> None:
    body = (ROOT / "codelists/ILO+CL_SEX+1.0.xml").read_bytes()
    renamed = body.replace(b">Female<", b">Women<")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(CL_SEX_URL).mock(return_value=httpx.Response(200, content=body))
        result = import_ilo(CL_SEX_URL, tree / "codelists", _wanted(tree))
        assert [p.name for p in result.unchanged] == ["ILO+CL_SEX+1.0.xml"]
        assert result.written == []
        assert "structure+xml;version=2.1" in route.calls.last.request.headers["Accept"]

        route.mock(return_value=httpx.Response(200, content=renamed))
        cli_result = _invoke("structures", "import-ilo", CL_SEX_URL, "--root", str(tree))
    assert cli_result.exit_code == 0, cli_result.output
    assert "updated ILO+CL_SEX+1.0.xml" in cli_result.output
    assert "1 updated, 0 unchanged" in cli_result.output
    assert b">Women<" in (tree / "codelists/ILO+CL_SEX+1.0.xml").read_bytes()
    assert generate_structures.stale(tree) == []


def test_url_answering_404_is_a_remote_error(tree: Path) -> None:
    before = _snapshot(tree)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(CL_SEX_URL).mock(return_value=httpx.Response(404, text="NoResultsFound"))
        with pytest.raises(RemoteError, match="answered HTTP 404") as info:
            import_ilo(CL_SEX_URL, tree / "codelists", _wanted(tree))
        result = _invoke("structures", "import-ilo", CL_SEX_URL, "--root", str(tree))
    assert CL_SEX_URL in str(info.value)
    assert info.value.status == 502
    assert isinstance(result.exception, RemoteError)
    assert _snapshot(tree) == before


def test_unreachable_url_is_a_remote_error(tree: Path) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.get(CL_SEX_URL).mock(side_effect=httpx.ConnectError("no route to host"))
        with pytest.raises(RemoteError, match="could not fetch"):
            import_ilo(CL_SEX_URL, tree / "codelists", _wanted(tree))
