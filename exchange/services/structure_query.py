"""SDMX-REST structure queries over the structure store: which artefacts, in which shape.

A query (resource, agency, id, version, item ids, ``references``, ``detail``) resolves to an
ordered list of ``Selection``: the matching artefacts first, then the referenced ones, each with
the shape it must take (full, stub, complete stub) and, for item schemes, the items to keep.
Rendering (SDMX-ML 2.1 elements, SDMX-JSON 2.0 dicts) is the caller's business; this module
decides *what*, never *how*, so the REST 1.5 and 2.0 APIs share it.

References follow SDMX-REST 1.5 §"Structure queries" (``references`` parameter): the edges are the
ones the store checks for integrity (DSD → codelists + concept schemes, concept scheme → codelists
of core representations, dataflow → DSD, constraint → dataflow/DSD, categorisation → dataflow +
category scheme, provision agreement → dataflow + provider scheme); parents are their inverse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sdmx.model import common

from exchange.errors import InvalidRequest, NotFound
from exchange.formats.structure_ml21 import Artefact, structure_message
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.store import StructureStore, ref_of
from exchange.services.structures import collect_artefacts, default_root, structure_files

#: Kinds whose items an ``itemID`` selects (SDMX-REST item queries).
ITEM_SCHEMES = frozenset(
    {
        Kind.CODELIST,
        Kind.CONCEPT_SCHEME,
        Kind.CATEGORY_SCHEME,
        Kind.DATA_PROVIDER_SCHEME,
        Kind.AGENCY_SCHEME,
    }
)
#: ``references`` values that are not artefact types.
REFERENCE_MODES = frozenset(
    {"none", "parents", "parentsandsiblings", "ancestors", "children", "descendants", "all"}
)
ANY = "*"
LATEST = "~"


class Detail(str, Enum):
    """SDMX-REST ``detail`` for structures (1.5 and 2.0 share the names; 2.0 adds ``raw``)."""

    FULL = "full"
    ALL_STUBS = "allstubs"
    REFERENCE_STUBS = "referencestubs"
    ALL_COMPLETE_STUBS = "allcompletestubs"
    REFERENCE_COMPLETE_STUBS = "referencecompletestubs"
    REFERENCE_PARTIAL = "referencepartial"
    RAW = "raw"


class Shape(str, Enum):
    """How one artefact is written: whole, or as a (complete) stub pointing at its full form."""

    FULL = "full"
    STUB = "stub"
    COMPLETE_STUB = "completestub"


@dataclass(frozen=True)
class StructureQuery:
    """A parsed structure query; ``ANY`` matches everything, ``LATEST`` the newest version."""

    kinds: tuple[Kind, ...]
    agencies: tuple[str, ...] = (ANY,)
    ids: tuple[str, ...] = (ANY,)
    versions: tuple[str, ...] = (LATEST,)
    items: tuple[str, ...] | None = None
    references: tuple[str, ...] = ("none",)
    detail: Detail = Detail.FULL


@dataclass(frozen=True)
class Selection:
    """One artefact of the answer: its shape, the items to keep (None: all), ``isPartial``."""

    ref: ArtefactRef
    shape: Shape = Shape.FULL
    items: frozenset[str] | None = None
    partial: bool = False
    main: bool = True


@dataclass(frozen=True)
class Catalogue:
    """The store plus what the REST service needs besides: source elements, graph, version."""

    store: StructureStore
    artefacts: dict[ArtefactRef, Artefact]
    version: str
    modified: datetime
    children: dict[ArtefactRef, frozenset[ArtefactRef]] = field(default_factory=dict)
    parents: dict[ArtefactRef, frozenset[ArtefactRef]] = field(default_factory=dict)


def load_catalogue(root: Path | None = None) -> Catalogue:
    """Read the structure files once: the sdmx1 store, their elements and a content hash.

    The hash (of every file's name and bytes) is the store version that HTTP ``ETag`` values
    derive from; the newest file time is ``Last-Modified``.
    """
    root = root or default_root()
    artefacts = collect_artefacts(root)
    store = StructureStore.from_message_bytes(structure_message(artefacts))
    digest = hashlib.sha256()
    newest = 0.0
    for path in structure_files(root):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
        newest = max(newest, path.stat().st_mtime)
    children: dict[ArtefactRef, set[ArtefactRef]] = {}
    parents: dict[ArtefactRef, set[ArtefactRef]] = {}
    for owner, target in store.references():
        children.setdefault(owner, set()).add(target)
        parents.setdefault(target, set()).add(owner)
    return Catalogue(
        store=store,
        artefacts={a.ref: a for a in artefacts},
        version=digest.hexdigest()[:20],
        modified=datetime.fromtimestamp(newest, UTC).replace(microsecond=0),
        children={k: frozenset(v) for k, v in children.items()},
        parents={k: frozenset(v) for k, v in parents.items()},
    )


# -- matching -------------------------------------------------------------------------------
def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def _version_matches(version: str, wanted: str) -> bool:
    """Exact, ``*``, or SDMX 3.0 wildcards per part (``1.*``, ``1.0+`` = this or later)."""
    if wanted in (ANY, LATEST):
        return True
    have, want = version.split("."), wanted.split(".")
    if len(want) > len(have) and not want[-1].endswith("+"):
        return False
    for part, pattern in zip(have, want, strict=False):
        if pattern in ("*", "~", "+"):
            continue
        if pattern.endswith("+"):
            if not (part.isdigit() and pattern[:-1].isdigit() and int(part) >= int(pattern[:-1])):
                return False
            continue
        if part != pattern:
            return False
    return len(want) == len(have) or want[-1] in ("*", "+") or want[-1].endswith("+")


def _latest_only(wanted: str) -> bool:
    return wanted == LATEST or "+" in wanted or "~" in wanted


def select(catalogue: Catalogue, query: StructureQuery) -> list[ArtefactRef]:
    """The artefacts matching the path parameters, sorted; ``LATEST`` keeps the newest each."""

    def ok(value: str, wanted: tuple[str, ...]) -> bool:
        return ANY in wanted or value in wanted

    found: list[ArtefactRef] = []
    for wanted in query.versions:
        matches = [
            r
            for r in catalogue.store.refs
            if r.kind in query.kinds
            and ok(r.agency, query.agencies)
            and ok(r.id, query.ids)
            and _version_matches(r.version, wanted)
        ]
        if _latest_only(wanted):
            newest: dict[tuple[Kind, str, str], ArtefactRef] = {}
            for r in matches:
                key = (r.kind, r.agency, r.id)
                if key not in newest or _version_key(r.version) > _version_key(newest[key].version):
                    newest[key] = r
            matches = list(newest.values())
        found.extend(matches)
    return sorted(set(found))


# -- references -----------------------------------------------------------------------------
def _step(
    graph: dict[ArtefactRef, frozenset[ArtefactRef]], refs: Iterable[ArtefactRef]
) -> set[ArtefactRef]:
    return {t for r in refs for t in graph.get(r, ())}


def _closure(
    graph: dict[ArtefactRef, frozenset[ArtefactRef]],
    refs: Iterable[ArtefactRef],
    *,
    stop: frozenset[Kind] = frozenset(),
) -> set[ArtefactRef]:
    """Everything reachable from ``refs``; artefacts of a ``stop`` kind are reached, not crossed."""
    seen: set[ArtefactRef] = set()
    todo = list(refs)
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                if target.kind not in stop:
                    todo.append(target)
    return seen


def referenced(
    catalogue: Catalogue, main: Sequence[ArtefactRef], modes: Iterable[str]
) -> set[ArtefactRef]:
    """The artefacts ``references`` adds to ``main`` (never ``main`` itself).

    A type name (``codelist``) means the artefacts of that type among the descendants, the
    ancestors and the ancestors' children (the category scheme of a dataflow), the reading
    registries (FMR, .Stat) give it: ``dataflow?references=codelist`` returns the codelists of
    the dataflow's DSD, ``codelist?references=dataflow`` the dataflows whose DSD uses the
    codelist. The path does not cross a concept scheme: its concepts' core representations name
    codelists the DSDs need not use (``CS_ILOSTAT`` would otherwise tie every codelist to every
    dataflow).
    """
    children, parents = catalogue.children, catalogue.parents
    out: set[ArtefactRef] = set()
    for mode in modes:
        if mode == "none":
            continue
        if mode == "parents":
            out |= _step(parents, main)
        elif mode == "ancestors":
            out |= _closure(parents, main)
        elif mode == "children":
            out |= _step(children, main)
        elif mode == "descendants":
            out |= _closure(children, main)
        elif mode in ("parentsandsiblings", "all"):
            above = _step(parents, main)
            out |= above | _step(children, above)
            if mode == "all":
                out |= _closure(children, main)
        else:
            kinds = kinds_of_reference(mode)
            via = frozenset({Kind.CONCEPT_SCHEME})
            above = _closure(parents, main, stop=via)
            related = _closure(children, main, stop=via) | above | _step(children, above)
            out |= {r for r in related if r.kind in kinds}
    return out - set(main)


def kinds_of_reference(name: str) -> frozenset[Kind]:
    """The kinds a type name in ``references`` stands for (REST 1.5 and 2.0 spellings)."""
    aliases = {
        "organisationscheme": {Kind.AGENCY_SCHEME, Kind.DATA_PROVIDER_SCHEME},
        "dataconstraint": {Kind.CONTENT_CONSTRAINT},
        "allowedconstraint": {Kind.CONTENT_CONSTRAINT},
    }
    if name in aliases:
        return frozenset(aliases[name])
    try:
        return frozenset({Kind(name)})
    except ValueError:
        raise InvalidRequest(
            f"references={name} is not a reference mode or artefact type"
        ) from None


# -- items ----------------------------------------------------------------------------------
def _item_ids(obj: Any) -> dict[str, Any]:
    """Items of a scheme by id and by dotted path (nested categories: ``FLOW.INFLOW``)."""
    out: dict[str, Any] = {}
    for item in obj.items.values():
        out[item.id] = item
        path = [item.id]
        parent = item.parent
        while isinstance(parent, common.Item):
            path.insert(0, parent.id)
            parent = parent.parent
        out[".".join(path)] = item
    return out


def _with_ancestors(items: Iterable[Any]) -> frozenset[str]:
    keep: set[str] = set()
    for item in items:
        node = item
        while isinstance(node, common.Item):
            keep.add(node.id)
            node = node.parent
    return frozenset(keep)


def item_selection(catalogue: Catalogue, ref: ArtefactRef, wanted: Sequence[str]) -> frozenset[str]:
    """Ids of the items ``itemID`` keeps in one scheme (empty when none matches).

    Nested items keep their ancestors, so that the nesting of categories stays intact.
    """
    by_id = _item_ids(catalogue.store.get(ref))
    chosen = [by_id[w] for w in wanted if w in by_id]
    if ref.kind is Kind.CATEGORY_SCHEME:
        return _with_ancestors(chosen)
    return frozenset(item.id for item in chosen)


# -- partial item schemes (detail=referencepartial) -----------------------------------------
def _structures_of(catalogue: Catalogue, main: Iterable[ArtefactRef]) -> list[tuple[Any, Any]]:
    """(DSD, dataflow or None) for every main dataflow or DSD."""
    pairs: list[tuple[Any, Any]] = []
    for ref in main:
        obj = catalogue.store.get(ref)
        if ref.kind is Kind.DATAFLOW:
            pairs.append((obj.structure, obj))
        elif ref.kind is Kind.DATA_STRUCTURE:
            pairs.append((obj, None))
    return pairs


def _allowed_values(catalogue: Catalogue, flow: Any) -> dict[str, set[str]]:
    """Component id → values its included cube regions allow (only fully inclusive regions)."""
    allowed: dict[str, set[str]] = {}
    for constraint in catalogue.store.constraints_for(flow):
        for region in constraint.data_content_region or ():
            if not region.included:
                continue
            for component, selection in region.member.items():
                if selection.included:
                    values = {str(v.value) for v in selection.values if hasattr(v, "value")}
                    allowed.setdefault(component.id, set()).update(values)
    return allowed


def partial_items(
    catalogue: Catalogue, main: Iterable[ArtefactRef]
) -> dict[ArtefactRef, frozenset[str]]:
    """Items each referenced concept scheme and codelist needs for the main artefacts.

    Concept schemes keep the concepts the DSDs use; a codelist keeps the codes the dataflow's
    allowed content constraint permits (with their ancestors), or all of them if any user of the
    codelist is unconstrained (SDMX-REST 1.5, ``detail=referencepartial``).
    """
    concepts: dict[ArtefactRef, set[Any]] = {}
    codes: dict[ArtefactRef, set[Any] | None] = {}
    for dsd, flow in _structures_of(catalogue, main):
        allowed = _allowed_values(catalogue, flow) if flow is not None else {}
        for component in _components(dsd):
            concept = component.concept_identity
            if concept is not None and concept.get_scheme() is not None:
                concepts.setdefault(ref_of(Kind.CONCEPT_SCHEME, concept.get_scheme()), set()).add(
                    concept
                )
            rep = component.local_representation
            if rep is None or rep.enumerated is None:
                continue
            cl_ref = ref_of(Kind.CODELIST, rep.enumerated)
            if component.id not in allowed:
                codes[cl_ref] = None
            elif codes.get(cl_ref, set()) is not None:
                by_id = _item_ids(catalogue.store.get(cl_ref))
                chosen = {by_id[v] for v in allowed[component.id] if v in by_id}
                codes.setdefault(cl_ref, set()).update(chosen)  # type: ignore[union-attr]
    out = {ref: _with_ancestors(items) for ref, items in concepts.items()}
    out.update({ref: _with_ancestors(items) for ref, items in codes.items() if items is not None})
    return out


def _components(dsd: Any) -> list[Any]:
    return [*dsd.dimensions.components, *dsd.attributes.components, *dsd.measures.components]


# -- the query ------------------------------------------------------------------------------
def run_query(catalogue: Catalogue, query: StructureQuery) -> list[Selection]:
    """Resolve a structure query to the artefacts of the answer, main ones first.

    Raises ``NotFound`` (SDMX error 100) when nothing matches, items included.
    """
    main = select(catalogue, query)
    items: dict[ArtefactRef, frozenset[str]] = {}
    if query.items is not None and ANY not in query.items:
        for ref in main:
            if ref.kind in ITEM_SCHEMES:
                chosen = item_selection(catalogue, ref, query.items)
                if chosen:
                    items[ref] = chosen
        main = [r for r in main if r in items]
    if not main:
        raise NotFound("no artefact matches the query")
    extra = sorted(referenced(catalogue, main, query.references))
    partial = partial_items(catalogue, main) if query.detail is Detail.REFERENCE_PARTIAL else {}
    main_shape = {
        Detail.ALL_STUBS: Shape.STUB,
        Detail.ALL_COMPLETE_STUBS: Shape.COMPLETE_STUB,
    }.get(query.detail, Shape.FULL)
    ref_shape = {
        Detail.ALL_STUBS: Shape.STUB,
        Detail.REFERENCE_STUBS: Shape.STUB,
        Detail.ALL_COMPLETE_STUBS: Shape.COMPLETE_STUB,
        Detail.REFERENCE_COMPLETE_STUBS: Shape.COMPLETE_STUB,
    }.get(query.detail, Shape.FULL)
    selections = [Selection(r, main_shape, items.get(r)) for r in main]
    for ref in extra:
        kept = partial.get(ref)
        selections.append(Selection(ref, ref_shape, kept, partial=kept is not None, main=False))
    return selections
