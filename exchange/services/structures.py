"""Structure use cases: load the store from ``dsd/`` and ``codelists/``, export it.

Loading reads every ``*.xml`` below both folders, refuses a file whose name is not its artefact's
(``AGENCY+ID+VERSION.xml``) and any artefact defined twice, then reads them all with sdmx1 in one
message so that references resolve in a single pass.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from exchange.errors import Conflict, InvalidStructure
from exchange.formats.sdmxml import parse_document
from exchange.formats.structure_ml21 import Artefact, iter_artefacts, structure_message
from exchange.model.catalog import FORMAT_VERSION, SchemaCatalog
from exchange.model.refs import ArtefactRef

if TYPE_CHECKING:  # importing the store imports sdmx1 (~140 MB): only where it is used
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
    from exchange.model.store import StructureStore  # noqa: PLC0415 - see the import above

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
    from exchange.model.store import StructureStore  # noqa: PLC0415 - see the imports

    return StructureStore.from_message_bytes(path.read_bytes(), strict=False)


def dataflow_xsd(
    store: StructureStore,
    dataflow: str,
    dimension_at_observation: str = "TIME_PERIOD",
    schema_location: str | None = None,
    version: str = "2.1",
) -> bytes:
    """The DSD-specific XSD for structure-specific data of ``dataflow`` (also REST ``schema``),
    for SDMX-ML ``version`` 2.1 or 3.0."""
    from exchange.formats.dsd_xsd import dsd_xsd  # noqa: PLC0415 - only this use case needs it

    schema = store.schema_for(dataflow)
    return dsd_xsd(
        schema, dimension_at_observation, schema_location=schema_location, version=version
    )


def cache_dir() -> Path:
    """``$ILMS_CACHE_DIR``, else ``$XDG_CACHE_HOME/ilms``, else ``~/.cache/ilms``."""
    if os.environ.get("ILMS_CACHE_DIR"):
        return Path(os.environ["ILMS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ilms"


def structures_digest(root: Path) -> str:
    """A hash of every structure file's path and content: the catalogue cache key."""
    digest = hashlib.sha256(f"catalog-v{FORMAT_VERSION}".encode())
    for path in structure_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def load_catalog(root: Path | None = None, *, cache: Path | None = None) -> SchemaCatalog:
    """The schema catalogue of ``root``, from the cache when the structures have not changed.

    A cold start reads the structures with sdmx1 and writes the cache; warm starts never import
    sdmx1 (see ``exchange.model.catalog`` for why that matters).
    """
    base = root or default_root()
    folder = cache or cache_dir()
    path = folder / f"catalog-{structures_digest(base)}.json"
    if path.exists():
        try:
            return SchemaCatalog.from_json(path.read_bytes())
        except (ValueError, KeyError) as exc:
            log.warning("ignoring unreadable schema cache %s: %s", path, exc)
    catalog = load_store(base).catalog()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".catalog-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(catalog.to_json())
        Path(tmp).replace(path)
    except OSError as exc:  # a read-only home: work without a cache
        log.warning("could not write the schema cache in %s: %s", folder, exc)
    return catalog
