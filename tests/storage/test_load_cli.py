"""``ilms load`` through the installed entry point: valid files stored, invalid ones not at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.model.store import StructureStore
from exchange.storage import DataStore
from tests.storage.conftest import FLOW

ROOT = Path(__file__).resolve().parents[2]
ILMS = Path(sys.executable).parent / "ilms"
INVALID = ROOT / "tests" / "data" / "invalid"


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "ILMS_DATABASE_URL"} | (env or {})
    return subprocess.run(
        [str(ILMS), "load", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A valid SDMX-CSV 1.0 file (6 observations), a CSV 2.0 one deleting 2020, broken ones."""
    valid = tmp_path / "valid.csv"
    valid.write_bytes(
        (INVALID / "csv10-decimals-mismatch.csv").read_bytes().replace(b"100.00", b"100.0")
    )
    lines = (INVALID / "csv20-decimals-mismatch.csv").read_text().splitlines()
    header = lines[0].replace("STRUCTURE_ID,", "STRUCTURE_ID,ACTION,")
    deletes = [line.replace("(1.0),", "(1.0),D,", 1) for line in lines[1:] if ",2020," in line]
    delete = tmp_path / "delete.csv"
    delete.write_text("\n".join([header, *deletes]) + "\n")
    return {"valid": valid, "delete": delete, "invalid": INVALID / "csv10-unknown-code.csv"}


def test_load_valid_then_delete_with_the_default_database(
    tmp_path: Path, files: dict[str, Path], store: StructureStore
) -> None:
    done = run(str(files["valid"]), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "6 added, 0 replaced, 0 deleted, 0 unchanged" in done.stdout
    again = run(str(files["valid"]), str(files["delete"]), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 replaced, 0 deleted, 6 unchanged" in again.stdout
    assert "0 added, 0 replaced, 3 deleted, 0 unchanged" in again.stdout
    data = DataStore(f"sqlite:///{tmp_path / 'ilms.db'}")  # the default: ./ilms.db
    try:
        schema = store.schema(FLOW)
        assert data.count(schema) == 3
        assert {o.period for o in data.query(schema)} == {"2019"}
    finally:
        data.close()


def test_an_invalid_file_is_not_loaded_at_all(
    tmp_path: Path, files: dict[str, Path], store: StructureStore
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    done = run(
        str(files["invalid"]), str(files["valid"]), cwd=tmp_path, env={"ILMS_DATABASE_URL": url}
    )
    assert done.returncode == 1
    assert "NOT VALID" in done.stdout and "nothing loaded" in done.stdout
    assert "6 added" in done.stdout  # the valid file still went in
    data = DataStore(url)
    try:
        assert data.count(store.schema(FLOW)) == 6
        assert data.availability(store.schema(FLOW))["REF_AREA"] == {"PHL": 3}
    finally:
        data.close()
    assert not (tmp_path / "ilms.db").exists()


def test_usage_errors_exit_2(tmp_path: Path, files: dict[str, Path]) -> None:
    assert run(cwd=tmp_path).returncode == 2
    missing = run(str(tmp_path / "missing.csv"), cwd=tmp_path)
    assert missing.returncode == 2 and "cannot open" in missing.stderr
    unknown = run("--dataflow", "DF_NOPE", str(files["valid"]), cwd=tmp_path)
    assert unknown.returncode == 2 and "DF_NOPE" in unknown.stderr
    assert not (tmp_path / "ilms.db").exists()
