"""Shared fixtures: the project's structure store (loaded once) and paths to reference files."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.model.store import StructureStore
from exchange.services.structures import load_store, store_from_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "sdmx" / "samples"
ILO = SHARED / "ilo"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def store() -> StructureStore:
    """The ILMS structures of this checkout."""
    return load_store(ROOT)


@pytest.fixture(scope="session")
def ecb_store() -> StructureStore:
    """ECB's EXR structures from the SDMX TWG samples (another agency's DSD)."""
    return store_from_file(SAMPLES / "04_ml21_structure-DSD-codelists-concepts_ECB-EXR_twg.xml")
