"""The schema catalogue: the same schemas as the store, cached, and free of sdmx1."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.errors import NotFound
from exchange.model.catalog import SchemaCatalog
from exchange.model.store import StructureStore
from exchange.services.structures import load_catalog
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def catalog(store: StructureStore) -> SchemaCatalog:
    """Through JSON and back, as the cache holds it."""
    return SchemaCatalog.from_json(store.catalog().to_json())


def test_catalog_holds_the_stores_schemas_exactly(
    store: StructureStore, catalog: SchemaCatalog
) -> None:
    assert len(catalog.dataflows) == 57
    for flow in store.dataflows():
        ours = store.schema(flow.id)
        theirs = catalog.schema_for(flow.id)
        assert theirs == ours
        assert dict(theirs.units) == dict(ours.units)
        assert [dict(c.names) for c in theirs.components] == [
            dict(c.names) for c in ours.components
        ]
        assert catalog.full_codes(theirs) == store.full_codes(ours)


def test_catalog_finds_dataflows_by_every_spelling(
    store: StructureStore, catalog: SchemaCatalog
) -> None:
    urn = "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)"
    spellings = [
        "DF_MST_TEMP_SEX_AGE_CBR_NB",
        "MST_TEMP_SEX_AGE_CBR_NB",
        "ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)",
        "ILO,DF_MST_TEMP_SEX_AGE_CBR_NB,1.0",
        urn,
    ]
    assert {catalog.schema_for(s).dataflow for s in spellings} == {
        store.schema("DF_MST_TEMP_SEX_AGE_CBR_NB").dataflow
    }
    with pytest.raises(NotFound, match="DF_NOPE"):
        catalog.schema_for("DF_NOPE")


def test_full_codes_tell_unknown_from_excluded(catalog: SchemaCatalog) -> None:
    schema = catalog.schema_for("DF_MST_FORP_SEX_CBR_NB")
    full = catalog.full_codes(schema)
    assert "CBR_BIR_FOREIGN" in full["CBR"]  # in the codelist …
    assert "CBR_BIR_FOREIGN" not in (schema.component("CBR").codes or set())  # … not allowed
    assert len(full["REF_AREA"]) == 331


def test_cache_is_used_and_renewed_when_a_structure_changes(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for folder in ("dsd", "codelists"):
        shutil.copytree(ROOT / folder, tree / folder)
    cache = tmp_path / "cache"
    first = load_catalog(tree, cache=cache)
    (written,) = cache.glob("catalog-*.json")
    flow = tree / "dsd/dataflows/ILO+DF_MST_TEMP_SEX_AGE_CBR_NB+1.0.xml"
    flow.write_bytes(flow.read_bytes().replace(b"Employment by sex", b"Employed persons by sex"))
    second = load_catalog(tree, cache=cache)
    assert first.schema_for("MST_TEMP_SEX_AGE_CBR_NB").name.startswith("Employment by sex")
    assert second.schema_for("MST_TEMP_SEX_AGE_CBR_NB").name.startswith("Employed persons by sex")
    assert len(list(cache.glob("catalog-*.json"))) == 2
    assert written.exists()


def test_a_warm_catalogue_never_imports_sdmx1(tmp_path: Path) -> None:
    """The data path stays light: no sdmx1 (and no pandas) once the cache exists."""
    code = (
        "import sys, pathlib\n"
        "from exchange.services.structures import load_catalog\n"
        "from exchange.services.convert import convert\n"
        "from exchange.services.validate import validate_file\n"
        f"load_catalog(cache=pathlib.Path({str(tmp_path)!r}))\n"
        "print(sorted(m for m in ('sdmx', 'pandas') if m in sys.modules))\n"
    )
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert cold.stdout.strip() == "['pandas', 'sdmx']"
    assert warm.stdout.strip() == "[]"
