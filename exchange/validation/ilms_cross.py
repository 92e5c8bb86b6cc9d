"""Cross-table checks (ILMS-STRUCTURES.md §5): labour-force identities and rates across tables.

:class:`CrossTableIndex` holds the cells of the labour-force tables of one submission and checks
that working-age population = labour force + outside it, labour force = employed + unemployed,
and that each rate can be recomputed from its counts within rounding.

A submission often brings one table while the others of the identity are already stored:
:meth:`CrossTableIndex.complete` adds, for the cells the submission has, the other tables' cells
from the store (:class:`~exchange.validation.stored.StoredData`). The submission's own cells win
over stored ones (it replaces them), and an identity is only checked where the submission has a
part in it: what is wrong among stored values alone is not this submission's problem.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from exchange.model.records import Observation
from exchange.model.refs import ArtefactRef
from exchange.model.schema import Schema
from exchange.report import Issue, Location
from exchange.validation.catalogue import make_issue
from exchange.validation.ilms_rules import decimals_of, half_unit, to_decimal
from exchange.validation.stored import StoredData

__all__ = ["IDENTITIES", "RATES", "CrossTableIndex"]


#: Identities (left = sum of right) and rates (rate = numerator / denominator x 100).
IDENTITIES = (("XWAP_NB", ("TEAP_NB", "TEIP_NB")), ("TEAP_NB", ("TEMP_NB", "TUNE_NB")))
RATES = (
    ("TUNE_RT", "TUNE_NB", "TEAP_NB"),
    ("TEAP_RT", "TEAP_NB", "XWAP_NB"),
    ("TEMP_RT", "TEMP_NB", "XWAP_NB"),
)
_Slot = tuple[tuple[str, ...], tuple[str, ...], str | None]  # other dims, other values, period
_NEEDED = {"XWAP_NB", "TEAP_NB", "TEIP_NB", "TEMP_NB", "TUNE_NB", "TUNE_RT", "TEAP_RT", "TEMP_RT"}


class CrossTableIndex:
    """Cells of several tables of one submission, to check identities and rates across them.

    Fill it with :meth:`add` (or pass it to ``validate(..., cross=index)`` to fill it in the same
    pass), then call :meth:`issues`. Memory: one entry per cell of the labour-force tables,
    keyed by (dimension ids without MEASURE, the other key values, period) → {variable: value}.
    """

    def __init__(self) -> None:
        self.cells: dict[_Slot, dict[str, str]] = defaultdict(dict)
        self.measure_at: dict[_Slot, tuple[str, int]] = {}
        #: per slot, the variables whose cell came from the store, not the submission
        self.stored: dict[_Slot, set[str]] = {}

    def add(self, schema: Schema, observations: Iterable[Observation]) -> None:
        dims = schema.dimension_ids
        if "MEASURE" not in dims:
            return
        at = dims.index("MEASURE")
        other = (*dims[:at], *dims[at + 1 :])
        for obs in observations:
            self.add_one(other, at, obs)

    def add_one(self, other_dims: tuple[str, ...], at: int, obs: Observation) -> None:
        module, _, variable = obs.key[at].partition("_") if at < len(obs.key) else ("", "", "")
        if variable in _NEEDED and to_decimal(obs.value) is not None:
            slot = (other_dims, (*obs.key[:at], *obs.key[at + 1 :]), obs.period)
            self.cells[slot][variable] = obs.value or ""
            self.measure_at[slot] = (module, at)

    def complete(self, stored: StoredData, schema: Schema) -> None:
        """Add the stored cells of the other tables the submitted cells of ``schema`` (one
        labour-force table, e.g. DF_MST_TEAP_SEX_AGE_CBR_NB) are checked with."""
        dims = schema.dimension_ids
        measure = schema.component("MEASURE").codes if "MEASURE" in dims else None
        if schema.dataflow is None or not measure or len(measure) != 1 or "REF_AREA" not in dims:
            return
        at = dims.index("MEASURE")
        other = (*dims[:at], *dims[at + 1 :])
        slots = [s for s in self.cells if s[0] == other]
        module, _, variable = next(iter(measure)).partition("_")
        periods = sorted(p for _, _, p in slots if p)
        if not slots or not periods:
            return
        key_filter: list[frozenset[str] | None] = [None] * len(dims)
        area = other.index("REF_AREA")
        key_filter[dims.index("REF_AREA")] = frozenset(rest[area] for _, rest, _ in slots)
        for wanted in sorted(_companions(variable)):
            key_filter[at] = frozenset({f"{module}_{wanted}"})
            flow = _companion_flow(schema.dataflow, module, variable, wanted)
            if flow is None:
                continue
            found = stored.observations(
                str(flow), key_filter, start_period=periods[0], end_period=periods[-1]
            )
            for obs in found:
                slot = (other, (*obs.key[:at], *obs.key[at + 1 :]), obs.period)
                cells = self.cells.get(slot)  # only where the submission has a cell
                if cells is None or wanted in cells or to_decimal(obs.value) is None:
                    continue
                cells[wanted] = obs.value or ""
                self.stored.setdefault(slot, set()).add(wanted)

    def issues(self) -> list[Issue]:
        found: list[Issue] = []
        for slot, cells in self.cells.items():
            values = {k: Decimal(v) for k, v in cells.items()}
            stored = self.stored.get(slot, set())
            for left, right in IDENTITIES:
                names = (left, *right)
                if all(n in values for n in names) and not stored.issuperset(names):
                    found.extend(self._identity(slot, left, right, values))
            for rate, num, den in RATES:
                names = (rate, num, den)
                present = all(n in values for n in names) and not stored.issuperset(names)
                if present and values[den] > 0:
                    found.extend(self._rate(slot, names, values))
        return found

    def _stored_note(self, slot: _Slot, names: tuple[str, ...]) -> str:
        """`` Already stored: TEMP, TUNE.`` for the values of a check that came from the store."""
        stored = [n.removesuffix("_NB") for n in names if n in self.stored.get(slot, ())]
        return f" Already stored: {', '.join(stored)}." if stored else ""

    def _where(self, slot: _Slot, variable: str) -> Location:
        _, rest, period = slot
        module, at = self.measure_at[slot]
        measure = f"{module}_{variable}"
        key = (*rest[:at], measure, *rest[at:])
        return Location(series_key=".".join(key), period=period, component="MEASURE", value=measure)

    def _identity(
        self, slot: _Slot, left: str, right: tuple[str, ...], values: Mapping[str, Decimal]
    ) -> list[Issue]:
        total = sum((values[r] for r in right), Decimal(0))
        tolerance = half_unit(values[left]) + sum((half_unit(values[r]) for r in right), Decimal(0))
        difference = values[left] - total
        if abs(difference) <= tolerance:
            return []
        names = " + ".join(r.removesuffix("_NB") for r in right)
        message = (
            f"{left.removesuffix('_NB')} = {values[left]} but {names} = {total} "
            f"(difference {difference})." + self._stored_note(slot, (left, *right))
        )
        return [make_issue("identity-mismatch", message, self._where(slot, left), str(total))]

    def _rate(
        self, slot: _Slot, names: tuple[str, str, str], values: Mapping[str, Decimal]
    ) -> list[Issue]:
        rate, num, den = names
        n, d, r = values[num], values[den], values[rate]
        hn, hd, hr = half_unit(n), half_unit(d), half_unit(r)
        low = (n - hn) / (d + hd) * 100
        high = (n + hn) / (d - hd) * 100 if d - hd > 0 else Decimal("Infinity")
        if r + hr >= low and r - hr <= high:
            return []
        computed = (n / d * 100).quantize(Decimal(10) ** -max(decimals_of(r), 1))
        message = (
            f"{rate} = {r} but {num.removesuffix('_NB')} / {den.removesuffix('_NB')} "
            f"x 100 = {computed}." + self._stored_note(slot, names)
        )
        return [make_issue("rate-mismatch", message, self._where(slot, rate), str(computed))]


def _companions(variable: str) -> set[str]:
    """The variables checked together with ``variable`` (``TEAP_NB`` → XWAP_NB, TEIP_NB …)."""
    together = [(left, *right) for left, right in IDENTITIES] + [tuple(r) for r in RATES]
    return {v for group in together if variable in group for v in group} - {variable}


def _companion_flow(
    dataflow: ArtefactRef, module: str, variable: str, wanted: str
) -> ArtefactRef | None:
    """The dataflow of the same breakdown for another variable, by the ILMS naming
    (``DF_MST_TEAP_SEX_AGE_CBR_NB`` → ``DF_MST_TUNE_SEX_AGE_CBR_RT`` for TUNE_RT)."""
    name, _, kind = variable.rpartition("_")
    prefix, suffix = f"DF_{module}_{name}_", f"_{kind}"
    if not (dataflow.id.startswith(prefix) and dataflow.id.endswith(suffix)):
        return None
    breakdown = dataflow.id[len(prefix) : -len(suffix)]
    other, _, other_kind = wanted.rpartition("_")
    ident = f"DF_{module}_{other}_{breakdown}_{other_kind}"
    return ArtefactRef(dataflow.kind, dataflow.agency, ident, dataflow.version)
