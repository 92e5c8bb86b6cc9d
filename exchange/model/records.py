"""The lean record stream of the data path: what every reader yields and every writer consumes.

A data message becomes a :class:`MessageInfo` (read from the header before any observation) and
an iterator of :class:`Observation` tuples. Observations carry their full series key in the
schema's dimension order, the period, the value as the exact text of the message (no float
round-trip, so ``1.10`` stays ``1.10``), and every attribute value that applies to them — dataset,
group, series and observation level merged — so any writer can re-layout them (series or flat) by
looking up each attribute's attachment in the schema. Writers group *consecutive* observations
with the same key into a series; nothing is buffered, so memory stays flat whatever the size.

Values absent in the message are absent from ``attributes`` (never empty strings); a missing
observation value is ``None`` (SDMX-CSV empty cell, SDMX-ML ``NaN`` or no ``OBS_VALUE``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from exchange.model.schema import Schema


class Action(str, Enum):
    """Dataset action (SDMX-ML ``action`` attribute; SDMX-CSV 2.0 ``ACTION`` column)."""

    APPEND = "Append"  # SDMX 2.1 Append; SDMX 3.0 / CSV 2.0 "A" (merge)
    REPLACE = "Replace"  # "R"
    DELETE = "Delete"  # "D"
    INFORMATION = "Information"  # "I"

    @property
    def letter(self) -> str:
        return self.value[0]

    @classmethod
    def parse(cls, text: str | None) -> Action:
        """Accept the SDMX-ML words (any case), 3.0's ``Merge`` and the CSV 2.0 letters."""
        if not text:
            return cls.APPEND
        word = text.strip().lower()
        aliases = {
            "a": cls.APPEND,
            "merge": cls.APPEND,
            "m": cls.APPEND,
            "r": cls.REPLACE,
            "d": cls.DELETE,
            "i": cls.INFORMATION,
        }
        if word in aliases:
            return aliases[word]
        for action in cls:
            if action.value.lower() == word:
                return action
        raise ValueError(f"unknown action {text!r}")


class Observation(NamedTuple):
    """One observation: key (dimension values in schema order), period, value, attributes."""

    key: tuple[str, ...]
    period: str | None
    value: str | None
    attributes: Mapping[str, str]
    action: Action | None = None  # per-row action (SDMX-CSV 2.0); None = the dataset's
    location: str | None = None  # where it came from: "line 12", "row 7", "sheet Data!C5"


@dataclass
class MessageInfo:
    """Header facts of a data message, known before its first observation."""

    schema: Schema
    action: Action = Action.APPEND
    message_id: str | None = None
    sender: str | None = None
    prepared: str | None = None
    dimension_at_observation: str = "TIME_PERIOD"
    dataset_attributes: Mapping[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class DataStream:
    """A message being read: its header info and its (lazy, single-pass) observations."""

    info: MessageInfo
    observations: Iterator[Observation]

    def __iter__(self) -> Iterator[Observation]:
        return self.observations
