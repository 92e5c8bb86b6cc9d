"""The empty Excel template of one ILMS table, for a national focal point to fill.

The layout is the Excel format's (:mod:`exchange.formats.excel`), written with no observations and
a block of prepared rows. This service adds what only the structure store knows: the labels of
the codes in the chosen language, in ILO's display order (the ``ORDER`` annotation of each code),
for the dropdown lists, and the label of the unit of measure for the instructions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, BinaryIO

from exchange.formats import excel
from exchange.formats.excel_layout import TEMPLATE_ROWS
from exchange.model.records import MessageInfo
from exchange.model.schema import Component
from exchange.model.store import StructureStore

#: First year column of a template (the ILMS collection's reference years).
FIRST_TEMPLATE_YEAR = 2015
_UNORDERED = 10**9


def _order(code: Any) -> int:
    for annotation in getattr(code, "annotations", ()):
        if annotation.type == "ORDER":
            text = str(annotation.title or annotation.text or "").strip()
            if text.lstrip("-").isdigit():
                return int(text)
    return _UNORDERED


def _label(code: Any, lang: str) -> str:
    localizations = code.name.localizations if code.name is not None else {}
    return str(localizations.get(lang) or localizations.get("en") or code.name or "")


def code_labels(store: StructureStore, component: Component, lang: str = "en") -> dict[str, str]:
    """Code → label of a component's codelist, in ILO's display order (then by id)."""
    if component.codelist is None:
        return {}
    codes = sorted(store.get(component.codelist), key=lambda c: (_order(c), c.id))
    return {c.id: _label(c, lang) for c in codes}


def write_template(
    store: StructureStore,
    dataflow: str,
    out: BinaryIO,
    *,
    years: range | None = None,
    lang: str = "en",
    country: str | None = None,
) -> None:
    """Write the empty workbook of ``dataflow`` (``DF_X`` or ``ILO:DF_X(1.0)``) to ``out``."""
    schema = store.schema(dataflow)
    wanted = {d.id for d in schema.dimensions} | {"UNIT_MEASURE"}
    names: Mapping[str, Mapping[str, str]] = {
        c.id: code_labels(store, c, lang)
        for c in (*schema.dimensions, *schema.attributes)
        if c.id in wanted and c.codelist is not None
    }
    excel.write(
        MessageInfo(schema=schema),
        (),
        out,
        years=years or range(FIRST_TEMPLATE_YEAR, dt.date.today().year + 1),
        names=names,
        lang=lang,
        country=country,
        blank_rows=TEMPLATE_ROWS,
    )
