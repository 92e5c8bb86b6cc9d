"""``ilms convert`` as a user runs it: files, pipes, other agencies' structures, bad input."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path

from exchange.formats import csv10
from exchange.model.catalog import SchemaCatalog
from exchange.model.records import MessageInfo
from exchange.services.convert import open_data, resolver_for
from exchange.services.structures import load_catalog
from tests.conftest import ROOT, SAMPLES
from tests.formats.test_cross_format import FLOW, ilms_observations, plain

ILMS = [str(Path(sys.executable).parent / "ilms")]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*ILMS, *args], input=stdin, capture_output=True, check=False, cwd=ROOT)


def csv_file(path: Path, catalog: SchemaCatalog) -> Path:
    with path.open("wb") as out:
        csv10.write(MessageInfo(schema=catalog.schema_for(FLOW)), ilms_observations(), out)
    return path


def read_back(path: Path, catalog: SchemaCatalog) -> list[object]:
    with path.open("rb") as source:
        _, stream = open_data(source, str(path), resolver_for(catalog, FLOW))
        return plain(stream.observations)  # type: ignore[return-value]


def test_csv_to_each_format_by_extension_and_back(tmp_path: Path) -> None:
    catalog = load_catalog()
    source = csv_file(tmp_path / "phl.csv", catalog)
    for name, to in (
        ("phl.xml", None),
        ("phl.json", None),
        ("phl-ss.xml", "structurespecificdata"),
    ):
        target = tmp_path / name
        result = run("convert", str(source), str(target), *(["--to", to] if to else []))
        assert result.returncode == 0, result.stderr.decode()
        assert read_back(target, catalog) == plain(ilms_observations())
    assert b"<message:GenericData" in (tmp_path / "phl.xml").read_bytes()[:500]


def test_pipes_and_gzip_input(tmp_path: Path) -> None:
    catalog = load_catalog()
    body = gzip.compress(csv_file(tmp_path / "phl.csv", catalog).read_bytes())
    result = run("convert", "-", "-", "--to", "sdmx-json-2.0", stdin=body)
    assert result.returncode == 0, result.stderr.decode()
    _, stream = open_data(io.BytesIO(result.stdout), "stdout", resolver_for(catalog, FLOW))
    assert plain(stream.observations) == plain(ilms_observations())
    assert result.stderr == b""  # quiet when piped: no progress output


def test_another_agencys_data_with_its_structure(tmp_path: Path) -> None:
    target = tmp_path / "exr.csv"
    result = run(
        "convert",
        str(SAMPLES / "03_ml21_structspecific-ts_ECB-EXR_twg.xml"),
        str(target),
        "--structure",
        str(SAMPLES / "04_ml21_structure-DSD-codelists-concepts_ECB-EXR_twg.xml"),
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = target.read_text().splitlines()
    assert lines[0].startswith("DATAFLOW,FREQ,CURRENCY,CURRENCY_DENOM,EXR_TYPE,EXR_VAR,TIME_PERIOD")
    assert len(lines) == 13  # header + the sample's 12 observations


def test_truncated_input_names_the_place_and_exits_2(tmp_path: Path) -> None:
    sample = (SAMPLES / "03_ml21_structspecific-ts_ECB-EXR_twg.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(sample[: len(sample) // 2])
    result = run(
        "convert",
        str(cut),
        str(tmp_path / "out.csv"),
        "--structure",
        str(SAMPLES / "04_ml21_structure-DSD-codelists-concepts_ECB-EXR_twg.xml"),
    )
    assert result.returncode == 2
    assert f"{cut}:".encode() in result.stderr
    assert b"error:" in result.stderr


def test_unknown_output_format_is_a_usage_error(tmp_path: Path) -> None:
    source = csv_file(tmp_path / "phl.csv", load_catalog())
    result = run("convert", str(source), str(tmp_path / "out.txt"))
    assert result.returncode == 2
    assert b"--to" in result.stderr
