"""What the mirror view compares, read once from the structures (ILMS-STRUCTURES.md §6).

The pairs are the codes of ``CL_MIRROR_PAIR``: their ``ORIGIN_DATAFLOW`` and
``DESTINATION_DATAFLOW`` annotations name the two tables, so adding a pair is a row in
``dsd/ilms-mirror-pairs.csv`` and ``ilms structures generate`` — no code here changes. The
partner country of a row sits in the table's country classification (``CDS_DES_PHL``,
``CRS_RES_PHL``, ``CCT_CTZ_PHL``, ``CBR_BRT_PHL``); only a suffix that is a *country* of
``CL_AREA`` is a partner. ILO marks its aggregates (``X01``…``X96``) with a ``GROUP=Y``
annotation, and the classifications' own aggregates (``_TOTAL``, ``_ASEAN``, ``_USACAN``,
``_X``, historical ``_YU1``…) are not ``CL_AREA`` codes at all, so both fall out by one test.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from exchange.errors import InvalidStructure
from exchange.model.schema import Schema

if TYPE_CHECKING:
    from exchange.model.store import StructureStore

__all__ = ["DIMENSIONS", "MIRROR_FLOW", "MirrorPair", "MirrorPlan", "Side", "mirror_plan"]

MIRROR_FLOW = "DF_ILMS_MIRROR"
#: The key of ILMS_MIRROR; the service builds keys positionally, so the DSD must say the same.
DIMENSIONS = ("REF_AREA", "COUNTERPART_AREA", "FREQ", "MIRROR_PAIR", "SEX", "MIRROR_MEASURE")
#: Per country classification of an ILMS table, the version whose codes name one country.
PARTNER_VERSIONS = {"CDS": "CDS_DES_", "CRS": "CRS_RES_", "CCT": "CCT_CTZ_", "CBR": "CBR_BRT_"}


@dataclass(frozen=True)
class Side:
    """One table of a pair, with the key positions the mirror reads from it."""

    schema: Schema
    partner_dimension: str  # CDS, CRS, CCT or CBR
    prefix: str  # CDS_DES_, …
    countries: frozenset[str]
    unit_mult: str  # the table's UNIT_MULT (dataflow annotation), for rows that omit it

    def index(self, dimension: str) -> int:
        return self.schema.dimension_ids.index(dimension)

    def partner(self, code: str) -> str | None:
        """The partner country a classification code names; None for aggregates."""
        if not code.startswith(self.prefix):
            return None
        country = code[len(self.prefix) :]
        return country if country in self.countries else None

    def partner_codes(self, countries: Iterable[str] | None) -> frozenset[str] | None:
        """The classification codes naming these countries (None: any)."""
        if countries is None:
            return None
        return frozenset(self.prefix + c for c in countries if c in self.countries)

    def key_filter(
        self, by_dimension: dict[str, frozenset[str] | None]
    ) -> list[frozenset[str] | None] | None:
        """A store key filter of this table from the positions that are fixed (None: all)."""
        key = [by_dimension.get(d) for d in self.schema.dimension_ids]
        return None if all(codes is None for codes in key) else key


@dataclass(frozen=True)
class MirrorPair:
    """A ``CL_MIRROR_PAIR`` code: origin table vs destination table."""

    id: str
    origin: Side
    destination: Side

    @property
    def source_dataflows(self) -> str:
        """The ``SOURCE_DATAFLOWS`` text: "origin; destination", as ``CS_ILMS`` names it."""
        return f"{self.origin.schema.dataflow}; {self.destination.schema.dataflow}"


@dataclass(frozen=True)
class MirrorPlan:
    """The mirror dataflow's schema, its pairs (codelist order) and the partner countries."""

    schema: Schema
    pairs: tuple[MirrorPair, ...]
    countries: frozenset[str]


_PLANS: weakref.WeakKeyDictionary[StructureStore, MirrorPlan] = weakref.WeakKeyDictionary()


def mirror_plan(structures: StructureStore) -> MirrorPlan:
    """The plan of a structure store, built once (structures change only with a new store)."""
    found = _PLANS.get(structures)
    if found is None:
        found = _PLANS[structures] = _build(structures)
    return found


def _build(structures: StructureStore) -> MirrorPlan:
    schema = structures.schema(MIRROR_FLOW)
    if schema.dimension_ids != DIMENSIONS:
        raise InvalidStructure(
            f"{schema.dataflow}: dimensions {'.'.join(schema.dimension_ids)},"
            f" the mirror service expects {'.'.join(DIMENSIONS)}"
        )
    countries = _countries(structures)
    allowed = schema.component("MIRROR_PAIR").codes
    pairs = []
    for code in structures.codelist("CL_MIRROR_PAIR"):
        if allowed is not None and code.id not in allowed:
            continue
        flows = {a.type: str(a.title) for a in code.annotations}
        origin = _side(structures, flows.get("ORIGIN_DATAFLOW"), countries, code.id)
        destination = _side(structures, flows.get("DESTINATION_DATAFLOW"), countries, code.id)
        pairs.append(MirrorPair(code.id, origin, destination))
    return MirrorPlan(schema, tuple(pairs), countries)


def _countries(structures: StructureStore) -> frozenset[str]:
    """``CL_AREA`` codes that are countries: not ILO's aggregates (``GROUP=Y``), not ``_Z``."""
    found = set()
    for code in structures.codelist("CL_AREA"):
        group = {str(a.title) for a in code.annotations if a.type == "GROUP"}
        if "Y" not in group and not code.id.startswith("_"):
            found.add(code.id)
    return frozenset(found)


def _side(
    structures: StructureStore, flow: str | None, countries: frozenset[str], pair: str
) -> Side:
    if flow is None:
        raise InvalidStructure(f"CL_MIRROR_PAIR code {pair} does not name both of its dataflows")
    schema = structures.schema(flow)
    dimension = next((d for d in schema.dimension_ids if d in PARTNER_VERSIONS), None)
    if dimension is None:
        raise InvalidStructure(f"{flow} (mirror pair {pair}) has no partner country dimension")
    unit_mult = schema.units.get("UNIT_MULT", "0")
    return Side(schema, dimension, PARTNER_VERSIONS[dimension], countries, unit_mult)
