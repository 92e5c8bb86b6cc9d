"""The mirror view ``DF_ILMS_MIRROR``, computed from stored data (ILMS-STRUCTURES.md §6).

A migration is recorded twice: the origin reports an outflow to (or its nationals living in)
country j, and j reports an inflow (or stock) of people from the origin. For every pair of
tables of ``CL_MIRROR_PAIR`` (:mod:`exchange.services.mirror_plan`) the two sides are matched on
(origin, destination, FREQ, SEX, period) and come out as observations of ``DF_ILMS_MIRROR``,
one per ``MIRROR_MEASURE``:

- ``ORIGIN`` and ``DESTINATION``: the value each side reported, its exact text, whenever that
  side reported (the other side missing is itself the finding a partner looks for);
- ``RATIO`` A/B and ``ASYMMETRY`` 2(A-B)/(A+B): only when both sides reported and the
  denominator is not zero, computed on values scaled by each side's ``UNIT_MULT``, written with
  at most :data:`DECIMALS` decimals (the DSD has no ``DECIMALS`` attribute to say otherwise).

Attributes, as ``ILMS_MIRROR`` declares them: ``SOURCE_DATAFLOWS`` ("origin; destination");
``UNIT_MULT`` — the reported one (the table's default when not reported) for the two reported
measures, ``0`` for the two derived ones; ``OBS_STATUS`` copied with a reported value (a derived
value has no single status to inherit). A table row whose origin is its own partner is not a
migration and is left out.

The key filter is pushed down to the store: a named origin reads the origin table by
``REF_AREA`` and the destination table by its partner code (``CCT_CTZ_PHL``); a named
destination the other way round; ``SEX``, ``FREQ`` and the period bounds go to both sides, and
``MIRROR_PAIR``/``MIRROR_MEASURE`` decide which tables are read at all. Origins are handled in
sorted blocks of :data:`ORIGINS_PER_BLOCK`, each block's two sides matched in memory (ILMS
tables are small per country) and written out in key order — the order of
:meth:`exchange.storage.DataStore.query`, which the data writers rely on.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING

from exchange.errors import InvalidRequest
from exchange.model.records import Observation
from exchange.services.mirror_plan import MirrorPair, MirrorPlan, Side, mirror_plan
from exchange.storage.keys import KeyFilter
from exchange.storage.reader import first_last

if TYPE_CHECKING:
    from exchange.model.store import StructureStore
    from exchange.storage import DataStore

__all__ = ["DECIMALS", "MEASURES", "MIRROR_DATAFLOW", "MirrorView", "mirror_observations"]

MIRROR_DATAFLOW = "DF_ILMS_MIRROR"

ORIGIN, DESTINATION, RATIO, ASYMMETRY = "ORIGIN", "DESTINATION", "RATIO", "ASYMMETRY"
#: CL_MIRROR_MEASURE, in key (text) order.
MEASURES = (ASYMMETRY, DESTINATION, ORIGIN, RATIO)
_NEEDS_ORIGIN = frozenset({ORIGIN, RATIO, ASYMMETRY})
_NEEDS_DESTINATION = frozenset({DESTINATION, RATIO, ASYMMETRY})
DECIMALS = 4
#: Origins matched at once: bounds memory on an unfiltered query, few statements per pair.
ORIGINS_PER_BLOCK = 64

Codes = frozenset[str] | None
#: (origin, destination, FREQ, MIRROR_PAIR, SEX): a mirror series key without its measure.
_Base = tuple[str, str, str, str, str]
#: Per base key and period: [origin's observation, destination's observation].
_Cells = dict[_Base, dict[str, list[Observation | None]]]


@dataclass(frozen=True)
class _Wanted:
    """The mirror key filter, position by position (None: any code)."""

    origins: Codes
    destinations: Codes
    freqs: Codes
    pairs: Codes
    sexes: Codes
    measures: frozenset[str]

    @classmethod
    def of(cls, key_filter: KeyFilter | None) -> _Wanted:
        if key_filter is None:
            return cls(None, None, None, None, None, frozenset(MEASURES))
        if len(key_filter) != 6:
            raise InvalidRequest(f"the key filter has {len(key_filter)} dimensions, the data 6")
        origins, destinations, freqs, pairs, sexes, measures = (
            None if codes is None else frozenset(codes) for codes in key_filter
        )
        chosen = frozenset(MEASURES) if measures is None else measures & frozenset(MEASURES)
        return cls(origins, destinations, freqs, pairs, sexes, chosen)


def mirror_observations(
    structures: StructureStore,
    data: DataStore,
    key_filter: KeyFilter | None = None,
    *,
    start_period: str | None = None,
    end_period: str | None = None,
) -> Iterator[Observation]:
    """Observations of ``DF_ILMS_MIRROR`` for a key filter in its DSD's dimension order.

    Streamed in series-key then period order, like the store's own answers. Period bounds are
    the store's (text comparison, ``end_period`` inclusive of sub-periods); a caller wanting
    SDMX-REST overlap semantics finishes the stream as it does for stored dataflows. A bad key
    filter or mirror structure is refused here, before the first observation is asked for (a
    streamed answer cannot turn into an error message half-way).
    """
    plan = mirror_plan(structures)
    wanted = _Wanted.of(key_filter)
    return _stream(plan, data, wanted, (start_period, end_period))


class MirrorView:
    """``DF_ILMS_MIRROR`` as a data source (:mod:`exchange.services.data_source`).

    Answers the store's query calls by computing the view; nothing is stored under it, so its
    count is 0 (the service's size limit is not applied: the view has at most four observations
    per pair of matched source observations) and its watermark is the store's (the view
    changes only when the tables it compares do).
    """

    def __init__(self, structures: StructureStore, data: DataStore) -> None:
        self.structures, self.data, self.url = structures, data, data.url

    def query(
        self,
        dataflow: object,
        key_filter: KeyFilter | None = None,
        *,
        start_period: str | None = None,
        end_period: str | None = None,
        updated_after: object = None,
        first_n: int | None = None,
        last_n: int | None = None,
        include_deleted: bool | None = None,
    ) -> Iterator[Observation]:
        """The view's observations; ``updated_after`` is refused earlier (no change stamps)."""
        del dataflow, updated_after, include_deleted  # one dataflow; never tombstones
        rows = mirror_observations(
            self.structures, self.data, key_filter, start_period=start_period, end_period=end_period
        )
        if first_n is None and last_n is None:
            return rows
        return first_last(rows, first_n or 0, last_n or 0, attrgetter("key"))

    def count(self, dataflow: object) -> int:
        return 0

    def watermark(self) -> dt.datetime | None:
        return self.data.watermark()


def _stream(
    plan: MirrorPlan, data: DataStore, wanted: _Wanted, periods: tuple[str | None, str | None]
) -> Iterator[Observation]:
    pairs = [p for p in plan.pairs if wanted.pairs is None or p.id in wanted.pairs]
    if not pairs or not wanted.measures:
        return
    if wanted.origins is not None:
        origins = sorted(wanted.origins & plan.countries)
    else:
        origins = _candidate_origins(data, pairs, wanted)
    for start in range(0, len(origins), ORIGINS_PER_BLOCK):
        block = frozenset(origins[start : start + ORIGINS_PER_BLOCK])
        cells: _Cells = {}
        for pair in pairs:
            _collect(cells, data, pair, block, wanted, periods)
        yield from _emit(cells, plan, wanted.measures)


def _candidate_origins(data: DataStore, pairs: Iterable[MirrorPair], wanted: _Wanted) -> list[str]:
    """Every origin the query may show, from the store's availability (no observation read).

    An origin appears through its own outflow table or through a destination's partner code,
    so both are asked, with the rest of the filter pushed down.
    """
    found: set[str] = set()
    for pair in pairs:
        if wanted.measures & _NEEDS_ORIGIN:
            side = pair.origin
            names = _origin_filter(side, None, wanted)
            found.update(data.availability(side.schema, side.key_filter(names)).get("REF_AREA", {}))
        if wanted.measures & _NEEDS_DESTINATION:
            side = pair.destination
            names = _destination_filter(side, None, wanted)
            codes = data.availability(side.schema, side.key_filter(names))
            partners = (side.partner(code) for code in codes.get(side.partner_dimension, {}))
            found.update(p for p in partners if p is not None)
    return sorted(found)


def _origin_filter(side: Side, origins: Codes, wanted: _Wanted) -> dict[str, Codes]:
    return {
        "REF_AREA": origins,
        "FREQ": wanted.freqs,
        "SEX": wanted.sexes,
        side.partner_dimension: side.partner_codes(wanted.destinations),
    }


def _destination_filter(side: Side, origins: Codes, wanted: _Wanted) -> dict[str, Codes]:
    return {
        "REF_AREA": wanted.destinations,
        "FREQ": wanted.freqs,
        "SEX": wanted.sexes,
        side.partner_dimension: side.partner_codes(origins),
    }


def _collect(
    cells: _Cells,
    data: DataStore,
    pair: MirrorPair,
    origins: frozenset[str],
    wanted: _Wanted,
    periods: tuple[str | None, str | None],
) -> None:
    """Read both tables of a pair for a block of origins into ``cells``."""
    start, end = periods
    if wanted.measures & _NEEDS_ORIGIN:
        side = pair.origin
        key = side.key_filter(_origin_filter(side, origins, wanted))
        rows = data.query(side.schema, key, start_period=start, end_period=end)
        _add(cells, pair.id, side, rows, 0)
    if wanted.measures & _NEEDS_DESTINATION:
        side = pair.destination
        key = side.key_filter(_destination_filter(side, origins, wanted))
        rows = data.query(side.schema, key, start_period=start, end_period=end)
        _add(cells, pair.id, side, rows, 1)


def _add(cells: _Cells, pair: str, side: Side, rows: Iterable[Observation], slot: int) -> None:
    """Rows of one side into their cells; ``slot`` 0 is the origin's table, 1 the destination's.

    The reporter is ``REF_AREA``; the partner comes from the country classification, and rows
    of an aggregate (``CCT_CTZ_TOTAL``, ``CDS_DES_ASEAN``…) have none and are skipped.
    """
    area, freq, sex = side.index("REF_AREA"), side.index("FREQ"), side.index("SEX")
    partner_at = side.index(side.partner_dimension)
    for obs in rows:
        partner = side.partner(obs.key[partner_at])
        if partner is None or partner == obs.key[area] or obs.value is None or obs.period is None:
            continue
        origin, destination = (obs.key[area], partner) if slot == 0 else (partner, obs.key[area])
        base = (origin, destination, obs.key[freq], pair, obs.key[sex])
        cells.setdefault(base, {}).setdefault(obs.period, [None, None])[slot] = obs


def _emit(cells: _Cells, plan: MirrorPlan, measures: frozenset[str]) -> Iterator[Observation]:
    """The cells as mirror observations, in series-key order (the store's key text order).

    Each cell is computed once, into per-series lists (one block of origins at a time), and the
    series then go out sorted by their key text, periods ascending within each.
    """
    sources = {pair.id: pair for pair in plan.pairs}
    attributes = _Attributes()
    series: dict[tuple[str, ...], list[Observation]] = {}
    for base, by_period in cells.items():
        pair = sources[base[3]]
        keys = {measure: (*base, measure) for measure in measures}
        for period in sorted(by_period):
            origin, destination = by_period[period]
            for measure, (value, unit_mult, status) in _values(origin, destination, pair):
                if measure in measures:
                    attrs = attributes.get(pair.source_dataflows, unit_mult, status)
                    key = keys[measure]
                    series.setdefault(key, []).append(Observation(key, period, value, attrs))
    for found in sorted(series, key=".".join):
        yield from series[found]


_Found = tuple[str, str, str | None]  # value text, UNIT_MULT, OBS_STATUS


def _values(
    origin: Observation | None, destination: Observation | None, pair: MirrorPair
) -> Iterator[tuple[str, _Found]]:
    """The measures one cell gives: each reported side, then ratio and asymmetry if defined."""
    if origin is not None and origin.value is not None:
        yield ORIGIN, (origin.value, _unit_mult(origin, pair.origin), _status(origin))
    if destination is not None and destination.value is not None:
        status = _status(destination)
        yield DESTINATION, (destination.value, _unit_mult(destination, pair.destination), status)
    a = _scaled(origin, pair.origin)
    b = _scaled(destination, pair.destination)
    if a is None or b is None:
        return
    if b != 0:
        yield RATIO, (_text(a / b), "0", None)
    if a + b != 0:
        yield ASYMMETRY, (_text(2 * (a - b) / (a + b)), "0", None)


def _status(obs: Observation) -> str | None:
    return obs.attributes.get("OBS_STATUS")


def _unit_mult(obs: Observation, side: Side) -> str:
    return obs.attributes.get("UNIT_MULT") or side.unit_mult


def _scaled(obs: Observation | None, side: Side) -> float | None:
    """The reported value in units (``UNIT_MULT`` applied); None if absent or not a number."""
    if obs is None or obs.value is None:
        return None
    try:
        value = float(obs.value)
        exponent = int(_unit_mult(obs, side))
    except ValueError:
        return None
    return value * 10.0**exponent if math.isfinite(value) else None


def _text(number: float) -> str:
    """At most :data:`DECIMALS` decimals, no trailing zeros: ``1.5``, ``0.6667``, ``-2``."""
    text = f"{number:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _Attributes:
    """Attribute mappings, one shared read-only object per distinct set.

    A writer may cache its work per attributes object (the store hands out shared ones too).
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, str | None], Mapping[str, str]] = {}

    def get(self, sources: str, unit_mult: str, status: str | None) -> Mapping[str, str]:
        wanted = (sources, unit_mult, status)
        found = self._seen.get(wanted)
        if found is None:
            attrs = {"SOURCE_DATAFLOWS": sources, "UNIT_MULT": unit_mult}
            if status is not None:
                attrs["OBS_STATUS"] = status
            found = self._seen[wanted] = MappingProxyType(attrs)
        return found
