"""``ilms structures import-ilo``: refresh ``codelists/`` from any ILO structure message.

The day ILO adds a country to ``CL_AREA``, one command brings it in. Everything is checked before
anything is written (well-formed, a 2.1 Structure message, valid against the official XSD, every
artefact maintained by ILO, at least one artefact ILMS uses), and files are replaced atomically, so
a bad input changes nothing. Artefacts are copied element for element: codes, names in every
language, parents and annotations stay exactly as ILO published them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from exchange.client.http import fetch
from exchange.errors import InvalidStructure
from exchange.formats.sdmxml import parse_document
from exchange.formats.structure_ml21 import (
    Artefact,
    iter_artefacts,
    referenced_codelists,
    structure_message,
)
from exchange.formats.xsd import schema_errors
from exchange.model.refs import Kind

ILO_AGENCY = "ILO"
MAX_SOURCE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ImportResult:
    written: list[Path]
    unchanged: list[Path]
    ignored: list[str]


def read_source(source: str, fetcher: Callable[[str], bytes] = fetch) -> bytes:
    """The bytes of a local file or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        return fetcher(source)
    path = Path(source)
    if not path.is_file():
        raise InvalidStructure("no such file", where=source)
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise InvalidStructure(f"larger than {MAX_SOURCE_BYTES} bytes", where=source)
    return path.read_bytes()


def select_artefacts(
    body: bytes, name: str, wanted: Iterable[str]
) -> tuple[list[Artefact], list[str]]:
    """The artefacts of ``body`` to import, after every check; and the ids it ignores."""
    tree = parse_document(body, name=name)
    artefacts = [
        a
        for a in iter_artefacts(tree, name=name)
        if a.ref.kind in (Kind.CODELIST, Kind.CONCEPT_SCHEME)
    ]
    errors = schema_errors(tree)
    if errors:
        shown = "; ".join(str(e) for e in errors[:5])
        raise InvalidStructure(
            f"not valid against the SDMX-ML 2.1 schema ({len(errors)} errors): {shown}", where=name
        )
    foreign = sorted({a.ref.agency for a in artefacts} - {ILO_AGENCY})
    if foreign:
        raise InvalidStructure(
            f"artefacts of agency {', '.join(foreign)}: import-ilo takes ILO artefacts only",
            where=name,
        )
    wanted_ids = _with_references(artefacts, set(wanted))
    chosen = [a for a in artefacts if a.ref.id in wanted_ids]
    if not chosen:
        found = ", ".join(sorted(a.ref.id for a in artefacts)) or "no codelists or concept schemes"
        raise InvalidStructure(
            f"none of the codelists or concept schemes ILMS uses is here (found: {found})",
            where=name,
        )
    return chosen, sorted(a.ref.id for a in artefacts if a.ref.id not in wanted_ids)


def _with_references(artefacts: list[Artefact], wanted: set[str]) -> set[str]:
    """``wanted`` plus the codelists its artefacts reference, so that ``codelists/`` is
    self-contained: ILO's ``CS_CLASSIF_TYPE`` gives every classification concept a core
    representation, and a client (pysdmx) resolving it needs that codelist in the message."""
    present = {a.ref.id: a for a in artefacts}
    closure = set(wanted)
    pending = [a for a in artefacts if a.ref.id in wanted]
    while pending:
        for target in referenced_codelists(pending.pop().element):
            if target in present and target not in closure:
                closure.add(target)
                pending.append(present[target])
    return closure


def write_atomically(files: dict[Path, bytes]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            staged.append((Path(tmp_name), path))
        for tmp, path in staged:
            tmp.replace(path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def import_ilo(
    source: str, target: Path, wanted: Iterable[str], fetcher: Callable[[str], bytes] = fetch
) -> ImportResult:
    """Import the ``wanted`` ILO codelists and concept schemes of ``source`` into ``target``."""
    body = read_source(source, fetcher)
    chosen, ignored = select_artefacts(body, source, wanted)
    files = {target / a.ref.filename: structure_message([a]) for a in chosen}
    changed = {p: c for p, c in files.items() if not p.exists() or _content(p) != _content_bytes(c)}
    write_atomically(changed)
    return ImportResult(sorted(changed), sorted(set(files) - set(changed)), ignored)


def _content(path: Path) -> bytes:
    return _content_bytes(path.read_bytes())


def _content_bytes(body: bytes) -> bytes:
    """A file's bytes without its header, so a re-import of the same codes counts as unchanged."""
    start = body.find(b"<message:Structures>")
    return body[start:] if start >= 0 else body
