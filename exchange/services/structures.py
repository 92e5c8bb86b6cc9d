"""Structure use cases: load the store from ``dsd/`` and ``codelists/``, export it.

Loading reads every ``*.xml`` below both folders, refuses a file whose name is not its artefact's
(``AGENCY+ID+VERSION.xml``) and any artefact defined twice, then reads them all with sdmx1 in one
message so that references resolve in a single pass.
"""

from __future__ import annotations

import logging
from pathlib import Path

from exchange.errors import Conflict, InvalidStructure
from exchange.formats.sdmxml import parse_document
from exchange.formats.structure_ml21 import Artefact, iter_artefacts, structure_message
from exchange.model.refs import ArtefactRef
from exchange.model.store import StructureStore

log = logging.getLogger(__name__)
STRUCTURE_DIRS = ("codelists", "dsd")


def default_root() -> Path:
    """The project folder that holds ``dsd/`` and ``codelists/`` (this checkout)."""
    return Path(__file__).resolve().parents[2]


def structure_files(root: Path) -> list[Path]:
    return sorted(p for d in STRUCTURE_DIRS for p in (root / d).rglob("*.xml"))


def collect_artefacts(root: Path) -> list[Artefact]:
    """Every artefact under ``root``; duplicates and misnamed files are errors."""
    seen: dict[ArtefactRef, Path] = {}
    artefacts: list[Artefact] = []
    files = structure_files(root)
    if not files:
        raise InvalidStructure("no structure files", where=str(root))
    for path in files:
        with path.open("rb") as handle:
            tree = parse_document(handle, name=str(path))
        found = list(iter_artefacts(tree, name=str(path)))
        if len(found) != 1 or found[0].ref.filename != path.name:
            names = ", ".join(a.ref.filename for a in found) or "none"
            raise InvalidStructure(
                f"a file must hold exactly the artefact it is named after (holds {names})",
                where=str(path),
            )
        ref = found[0].ref
        if ref in seen:
            raise Conflict(f"{ref.kind.value} {ref} is defined twice: in {seen[ref]} and {path}")
        seen[ref] = path
        artefacts.extend(found)
    return artefacts


def load_store(root: Path | None = None) -> StructureStore:
    """The structure store of a project folder (default: this checkout)."""
    artefacts = collect_artefacts(root or default_root())
    store = StructureStore.from_message_bytes(structure_message(artefacts))
    log.info("loaded %d artefacts", len(artefacts))
    return store


def export_message(root: Path | None = None) -> bytes:
    """Everything as one SDMX-ML 2.1 structure message."""
    return structure_message(collect_artefacts(root or default_root()))


def store_from_file(path: Path) -> StructureStore:
    """A store from any SDMX-ML 2.1 structure message (another agency's, say).

    sdmx1 2.28 cannot read SDMX-JSON structure messages such as ILOSTAT's; those need a
    hand-built schema for now.
    """
    return StructureStore.from_message_bytes(path.read_bytes(), strict=False)


def dataflow_xsd(
    store: StructureStore,
    dataflow: str,
    dimension_at_observation: str = "TIME_PERIOD",
    schema_location: str | None = None,
) -> bytes:
    """The DSD-specific XSD for structure-specific data of ``dataflow`` (also REST ``schema``)."""
    from exchange.formats.dsd_xsd import dsd_xsd  # noqa: PLC0415 - only this use case needs it

    schema = store.schema_for(dataflow)
    return dsd_xsd(schema, dimension_at_observation, schema_location=schema_location)
