"""What sdmx1 and pysdmx write, we read as the same observations.

The other half of the oracle tests (each format's own tests check that they read what we
write): data goes through our writer once, is read by the other library, written back by it in
every format it supports, and read by us again.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sdmx
from pysdmx.io import get_datasets, write_sdmx
from pysdmx.io.format import Format

from exchange.formats import registry
from exchange.model.catalog import SchemaCatalog
from exchange.model.records import MessageInfo, Observation
from exchange.model.store import StructureStore
from exchange.services.convert import open_data, resolver_for
from exchange.services.structures import export_message
from tests.formats.test_cross_format import FLOW, ilms_observations


def observations() -> list[Observation]:
    """The cross-format test data without quotes: pysdmx 1.21 writes them unescaped into
    SDMX-ML attribute values (``NOTE_SOURCE="… "non-citizens" …"``), which no XML parser reads."""
    return [
        o._replace(attributes={k: v.replace('"', "") for k, v in o.attributes.items()})
        for o in ilms_observations()
    ]


Row = tuple[tuple[str, ...], str | None, str | None, tuple[tuple[str, str], ...]]


@pytest.fixture(scope="module")
def catalog(store: StructureStore) -> SchemaCatalog:
    return store.catalog()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, catalog: SchemaCatalog) -> dict[str, Path]:
    """Our structure export and our structure-specific message of the test observations."""
    folder = tmp_path_factory.mktemp("oracles")
    structure = folder / "structure.xml"
    structure.write_bytes(export_message())
    data = folder / "ours.xml"
    with data.open("wb") as out:
        registry.by_name("structurespecificdata").writer(
            MessageInfo(schema=catalog.schema_for(FLOW)), observations(), out
        )
    return {"structure": structure, "data": data}


def rows(observations: list[Observation]) -> list[Row]:
    """Order-free, and a missing value as None whatever the writer did with it."""
    return sorted(
        (
            o.key,
            o.period,
            None if o.value in (None, "NaN", "nan") else str(float(o.value)),
            tuple(sorted(o.attributes.items())),
        )
        for o in observations
    )


def read_ours(body: bytes, catalog: SchemaCatalog) -> list[Observation]:
    _, stream = open_data(io.BytesIO(body), "theirs", resolver_for(catalog, FLOW))
    return list(stream.observations)


PYSDMX_FORMATS = [
    Format.DATA_SDMX_CSV_1_0_0,
    Format.DATA_SDMX_CSV_2_0_0,
    Format.DATA_SDMX_ML_2_1_STR,
    pytest.param(
        Format.DATA_SDMX_ML_2_1_GEN,
        marks=pytest.mark.xfail(
            strict=True,
            reason="pysdmx 1.21 writes attributes as gen:Value of the ObsKey, as if they were "
            "dimensions (not SDMX): we read the key and warn, so the attributes are missing",
        ),
    ),
    Format.DATA_SDMX_ML_3_0,
]


@pytest.mark.parametrize("fmt", PYSDMX_FORMATS, ids=lambda f: f.name)
def test_we_read_what_pysdmx_writes(
    fmt: Format, files: dict[str, Path], catalog: SchemaCatalog
) -> None:
    datasets = get_datasets(str(files["data"]), str(files["structure"]))
    written = write_sdmx(datasets, fmt)
    assert isinstance(written, str)
    assert rows(read_ours(written.encode(), catalog)) == rows(observations())


def test_we_read_what_sdmx1_writes(files: dict[str, Path], catalog: SchemaCatalog) -> None:
    structures = sdmx.read_sdmx(files["structure"])
    message = sdmx.read_sdmx(files["data"], structure=structures.structure["ILMS_SEX_AGE_CBR"])
    written = sdmx.to_xml(message)
    assert rows(read_ours(written, catalog)) == rows(observations())
