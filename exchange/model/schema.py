"""The resolved schema of one dataflow: what the data path looks things up in.

Built once per dataflow from sdmx1's objects (after pysdmx's ``Schema``) and cached by the store.
Everything in it is immutable and cheap to query: the ordered dimension ids, per component its
role, attachment, whether it is required, its allowed codes as a ``frozenset`` (codelist ∩ the
dataflow's allowed constraints) and its type. Readers, validators and writers of data never touch
sdmx1 objects, which are far too slow for a per-observation path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from exchange.errors import NotFound
from exchange.model.refs import ArtefactRef


class Role(str, Enum):
    DIMENSION = "dimension"
    TIME = "time"
    MEASURE = "measure"
    ATTRIBUTE = "attribute"


class Attachment(str, Enum):
    """Where an attribute value is reported (SDMX 2.1 Section 2, §3.4.2, relationship)."""

    DATASET = "dataset"
    GROUP = "group"
    SERIES = "series"
    DIMENSIONS = "dimensions"  # a partial key, without the time dimension
    OBSERVATION = "observation"


_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Component:
    """One dimension, the time dimension, the primary measure or an attribute."""

    id: str
    role: Role
    concept: str
    codelist: ArtefactRef | None = None
    codes: frozenset[str] | None = None
    text_type: str | None = None
    max_length: int | None = None
    required: bool = False
    attachment: Attachment | None = None
    related_dimensions: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False)

    def allows(self, value: str) -> bool:
        """Whether ``value`` is an allowed code (always true for non-enumerated components)."""
        return self.codes is None or value in self.codes


@dataclass(frozen=True)
class Schema:
    """The resolved structure of one dataflow (or of a bare DSD, then ``dataflow`` is None)."""

    dsd: ArtefactRef
    dataflow: ArtefactRef | None
    names: Mapping[str, str]
    dimensions: tuple[Component, ...]
    time_dimension: Component | None
    measure: Component
    attributes: tuple[Component, ...]
    annotations: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False)

    @property
    def name(self) -> str:
        return self.names.get("en") or next(
            iter(self.names.values()), str(self.dataflow or self.dsd)
        )

    @property
    def dimension_ids(self) -> tuple[str, ...]:
        """Non-time dimension ids in key order (the series key)."""
        return tuple(d.id for d in self.dimensions)

    @property
    def components(self) -> tuple[Component, ...]:
        """All components in SDMX-CSV column order: dimensions, time, measure, attributes."""
        time = (self.time_dimension,) if self.time_dimension else ()
        return (*self.dimensions, *time, self.measure, *self.attributes)

    def component(self, component_id: str) -> Component:
        for component in self.components:
            if component.id == component_id:
                return component
        raise NotFound(f"{self.dataflow or self.dsd} has no component {component_id}")

    def attributes_at(self, *levels: Attachment) -> tuple[Component, ...]:
        return tuple(a for a in self.attributes if a.attachment in levels)

    @property
    def units(self) -> Mapping[str, str]:
        """Expected unit attributes and decimals of an ILMS table (dataflow annotations)."""
        keys = ("UNIT_MEASURE_TYPE", "UNIT_MEASURE", "UNIT_MULT", "DECIMALS")
        return {k: self.annotations[k] for k in keys if k in self.annotations}
