"""Cross-table checks (ILMS-STRUCTURES.md §5): labour-force identities and rates across tables.

:class:`CrossTableIndex` holds the cells of the labour-force tables of one submission and checks
that working-age population = labour force + outside it, labour force = employed + unemployed,
and that each rate can be recomputed from its counts within rounding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.report import Issue, Location
from exchange.validation.catalogue import make_issue
from exchange.validation.ilms_rules import decimals_of, half_unit, to_decimal

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

    def issues(self) -> list[Issue]:
        found: list[Issue] = []
        for slot, cells in self.cells.items():
            values = {k: Decimal(v) for k, v in cells.items()}
            for left, right in IDENTITIES:
                if left in values and all(r in values for r in right):
                    found.extend(self._identity(slot, left, right, values))
            for rate, num, den in RATES:
                if rate in values and num in values and den in values and values[den] > 0:
                    found.extend(self._rate(slot, (rate, num, den), values))
        return found

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
            f"(difference {difference})."
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
            f"x 100 = {computed}."
        )
        return [make_issue("rate-mismatch", message, self._where(slot, rate), str(computed))]
