"""``Obs`` elements written as text are byte for byte what lxml writes (or lxml writes them)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from exchange.formats.ml_obs import ObsWriter
from exchange.model.records import Observation

texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)


def _via_lxml(rows: list[tuple[str, Observation]], skip: frozenset[str]) -> bytes:
    out = io.BytesIO()
    with etree.xmlfile(out, encoding="UTF-8") as xf, xf.element("Series"):
        xf.write("\n")
        for lead, obs in rows:
            attrib = {"TIME_PERIOD": lead}
            if obs.value is not None:
                attrib["OBS_VALUE"] = obs.value
            attrib.update((k, v) for k, v in obs.attributes.items() if k not in skip)
            xf.write(etree.Element("Obs", attrib), "\n")
    return out.getvalue()


def _via_text(rows: list[tuple[str, Observation]], skip: frozenset[str]) -> bytes:
    out = io.BytesIO()
    with etree.xmlfile(out, encoding="UTF-8") as xf, xf.element("Series"):
        xf.write("\n")
        assert ObsWriter(xf, out, "TIME_PERIOD", "OBS_VALUE", skip).write(rows) == len(rows)
    return out.getvalue()


@given(st.lists(st.tuples(texts, st.none() | texts, texts, texts), max_size=6))
@settings(max_examples=300)
def test_same_bytes_as_lxml(cells: list[tuple[str, str | None, str, str]]) -> None:
    skip = frozenset({"UNIT_MULT"})
    shared = {"OBS_STATUS": "B", "UNIT_MULT": "3"}
    rows = [
        (period, Observation(("PHL",), period, value, {"NOTE": note, "SOURCE": source}))
        for period, value, note, source in cells
    ]
    rows += [(p, Observation(("PHL",), p, "1", shared)) for p in ("2020", "2021")]
    try:
        expected = _via_lxml(rows, skip)
    except ValueError:  # a character XML cannot hold: lxml refuses, and so must we
        with pytest.raises(ValueError):
            _via_text(rows, skip)
        return
    assert _via_text(rows, skip) == expected
