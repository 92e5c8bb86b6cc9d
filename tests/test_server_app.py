"""The web application: built from settings, it loads the structures and answers /health."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from exchange.errors import InvalidStructure
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT


def test_health_reports_the_loaded_structures() -> None:
    settings = Settings()
    assert settings.structures_root == ROOT
    app = create_app(settings)
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["dataflows"] == 57
    files = [p for folder in ("dsd", "codelists") for p in (ROOT / folder).rglob("*.xml")]
    assert body["artefacts"] == len(files)
    assert app.state.settings is settings


def test_structures_root_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("dsd", "codelists"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for path in (tmp_path / "dsd/dataflows").glob("*MIRROR*.xml"):
        path.unlink()
    for path in (tmp_path / "dsd/constraints").glob("*MIRROR*.xml"):
        path.unlink()
    monkeypatch.setenv("ILMS_STRUCTURES_ROOT", str(tmp_path))
    with TestClient(create_app(Settings())) as client:
        assert client.get("/health").json()["dataflows"] == 56


def test_broken_structures_fail_at_start_up(tmp_path: Path) -> None:
    """Not at the first request: create_app itself refuses a tree with a missing codelist."""
    for folder in ("dsd", "codelists"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "codelists/ILO+CL_SEX+1.0.xml").unlink()
    with pytest.raises(InvalidStructure, match=r"missing ILO:CL_SEX\(1\.0\)"):
        create_app(Settings(structures_root=tmp_path))


def test_unknown_path_is_404() -> None:
    with TestClient(create_app(Settings(structures_root=ROOT))) as client:
        assert client.get("/nope").status_code == 404
