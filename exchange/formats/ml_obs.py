"""Structure-specific ``<Obs …/>`` elements written as text, byte for byte as lxml writes them.

Why: building an ``lxml`` element per observation and serialising it through ``xmlfile`` was
4 µs of a structure-specific harvest's 6 µs per observation. An ``Obs`` is one empty element
whose attributes are the observation's lead value (the period, or the dimension at observation),
its value and its observation-level attributes; the last part repeats for every observation
sharing an attribute mapping (the store and the readers hand out one mapping object per distinct
set), so it is rendered once per mapping. Per observation there is one regular-expression check,
then string concatenation.

The text is what lxml writes: attributes in the same order, values escaped as lxml escapes them
(``& < > "`` and tab, line feed, carriage return as character references). A value lxml would
refuse (control characters, lone surrogates) is left to lxml, which raises as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from lxml import etree

from exchange.model.records import Observation

__all__ = ["ObsWriter"]

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_ESCAPES |= {"\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
_ESCAPED = re.compile('[&<>"\t\n\r]')
#: Anything not written as it is: escaped characters, and those XML 1.0 forbids (lxml's call).
_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
#: How many attribute mappings keep their rendered text (then the cache starts again).
KEPT = 4096


def _text(value: str) -> str | None:
    """An attribute value as lxml writes it; None if lxml must decide (it may refuse it)."""
    if _SPECIAL.search(value) is None:
        return value
    escaped = _ESCAPED.sub(lambda m: _ESCAPES[m[0]], value)
    return None if _SPECIAL.search(_ESCAPED.sub("", value)) else escaped


class ObsWriter:
    """Writes runs of ``Obs`` elements inside an open ``xmlfile`` element, straight to ``out``.

    ``lead``: the first attribute's name (the time dimension or the dimension at observation),
    None for none; ``skip``: attributes written elsewhere (dataset, series).
    """

    def __init__(
        self, xf: Any, out: BinaryIO, lead: str | None, measure: str, skip: frozenset[str]
    ) -> None:
        self._xf = xf
        self._out = out
        self._lead = lead
        self._head = f'<Obs {lead}="' if lead is not None else None
        self._measure = f' {measure}="'
        self._measure_id = measure
        self._skip = skip
        self._tails: dict[int, tuple[Mapping[str, str], str | None]] = {}

    def _tail(self, attributes: Mapping[str, str]) -> str | None:
        """The observation attributes' text (``' ID="value"'`` each); None: not plain text."""
        found = self._tails.get(id(attributes))
        if found is None:
            if len(self._tails) >= KEPT:
                self._tails.clear()
            parts = [(k, _text(v)) for k, v in attributes.items() if k not in self._skip]
            text = (
                None
                if any(t is None for _, t in parts)
                else "".join(f' {k}="{t}"' for k, t in parts)
            )
            # the mapping is kept with its text, so its id cannot be reused meanwhile
            found = self._tails[id(attributes)] = (attributes, text)
        return found[1]

    def write(self, run: Iterable[tuple[str | None, Observation]]) -> int:
        """Write ``(lead value, observation)`` pairs; returns how many."""
        self._xf.flush()  # what lxml holds goes first: the Series start tag
        lines: list[str] = []
        search, head, measure = _SPECIAL.search, self._head, self._measure
        count = 0
        for lead, obs in run:
            count += 1
            value, tail = obs.value, self._tail(obs.attributes)
            if tail is None or search((lead or "") + (value or "")) is not None:
                self._slow(lines, lead, obs)
                continue
            start = "<Obs" if head is None else head + (lead or "") + '"'
            middle = "" if value is None else measure + value + '"'
            lines.append(start + middle + tail + "/>\n")
        self._out.write("".join(lines).encode())
        return count

    def _slow(self, lines: list[str], lead: str | None, obs: Observation) -> None:
        """One ``Obs`` through lxml (after what is pending), exactly as before this module."""
        self._out.write("".join(lines).encode())
        lines.clear()
        attrib = {} if self._lead is None else {self._lead: lead or ""}
        if obs.value is not None:
            attrib[self._measure_id] = obs.value
        attrib.update((k, v) for k, v in obs.attributes.items() if k not in self._skip)
        self._xf.write(etree.Element("Obs", attrib), "\n")
        self._xf.flush()
