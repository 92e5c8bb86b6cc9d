"""Structure query answers as SDMX-JSON 2.0.0 structure messages.

``exchange.services.structure_json`` writes the selected artefacts; this module then shapes the
message dicts as the query asks: items kept by ``itemID`` or ``referencepartial`` (with
``isPartial``), stubs (identification and names only, ``isExternalReference`` and a link to the
full artefact), and the single-language ``name``/``description`` fields in the language the client
prefers (``Accept-Language``; the parallel ``names`` keep every language).
"""

from __future__ import annotations

from typing import Any

from exchange.model.refs import ArtefactRef, Kind
from exchange.services.structure_json import DATA_KEYS, Json, dump_json, structure_json
from exchange.services.structure_query import Catalogue, Selection, Shape
from server.render_ml import structure_url

#: The items array of each item scheme.
ITEM_KEYS = {
    Kind.CODELIST: "codes",
    Kind.CONCEPT_SCHEME: "concepts",
    Kind.CATEGORY_SCHEME: "categories",
    Kind.DATA_PROVIDER_SCHEME: "dataProviders",
    Kind.AGENCY_SCHEME: "agencies",
}
_STUB = frozenset({"id", "name", "names", "agencyID", "version", "isExternalReference"})
_COMPLETE_STUB = _STUB | {"description", "descriptions", "annotations", "isFinal"}
#: Single-language fields and their multilingual twins.
_LOCALISED = (("name", "names"), ("description", "descriptions"), ("text", "texts"))


def render_json(
    catalogue: Catalogue, selections: list[Selection], base_url: str, languages: list[str]
) -> tuple[bytes, str | None]:
    """The answer as SDMX-JSON 2.0.0, and the language its ``name`` fields are in (if chosen)."""
    message = structure_json(
        catalogue.store, [s.ref for s in selections], ident="ILMS_STRUCTURE_QUERY"
    )
    by_ref = {s.ref: s for s in selections}
    for kind, key in DATA_KEYS.items():
        for entry in message["data"].get(key, ()):
            ref = ArtefactRef(kind, entry["agencyID"], entry["id"], entry["version"])
            _shape(entry, kind, by_ref[ref], structure_url(base_url, ref))
    chosen = _choose_language(message, languages)
    return dump_json(message), chosen


def _shape(entry: Json, kind: Kind, selection: Selection, url: str) -> None:
    items_key = ITEM_KEYS.get(kind)
    if selection.items is not None and items_key in entry:
        kept = _keep_items(entry[items_key], selection.items)
        if kept:
            entry[items_key] = kept
        else:
            del entry[items_key]
    if selection.partial:
        entry["isPartial"] = True
    if selection.shape is not Shape.FULL:
        keep = _COMPLETE_STUB if selection.shape is Shape.COMPLETE_STUB else _STUB
        for field in [f for f in entry if f not in keep]:
            del entry[field]
        entry["isExternalReference"] = True
        entry["links"] = [{"href": url, "rel": "external", "type": kind.value}]


def _keep_items(items: list[Json], keep: frozenset[str]) -> list[Json]:
    """Items whose id is kept; nested categories are filtered level by level."""
    out = []
    for item in items:
        if item["id"] not in keep:
            continue
        if "categories" in item:
            children = _keep_items(item["categories"], keep)
            if children:
                item["categories"] = children
            else:
                del item["categories"]
        out.append(item)
    return out


def _choose_language(message: Json, languages: list[str]) -> str | None:
    """Rewrite every best-match text in the first wanted language the message has."""
    available: list[str] = message["meta"]["contentLanguages"]
    matches = (_best_tag(lang, available) for lang in languages)
    chosen = next((m for m in matches if m is not None), None)
    if chosen is None:
        return None
    message["meta"]["contentLanguages"] = [chosen, *(a for a in available if a != chosen)]
    _localise(message["data"], chosen)
    return chosen


def _best_tag(wanted: str, available: list[str]) -> str | None:
    """``fr-CH`` matches ``fr-ch`` first, then ``fr`` (RFC 4647 lookup, simplified)."""
    wanted = wanted.lower()
    for tag in (wanted, wanted.split("-")[0]):
        for lang in available:
            if lang.lower() == tag:
                return lang
    return None


def _localise(node: Any, lang: str) -> None:
    if isinstance(node, dict):
        for single, multiple in _LOCALISED:
            texts = node.get(multiple)
            if isinstance(texts, dict) and lang in texts:
                node[single] = texts[lang]
        for value in node.values():
            _localise(value, lang)
    elif isinstance(node, list):
        for value in node:
            _localise(value, lang)
