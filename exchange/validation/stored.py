"""What validation may ask of the data already stored: the seam between rules and storage.

Rules that span tables (ILMS-STRUCTURES.md §5: labour-force identities, recomputable rates)
compare a submission with the other tables of the same country and years, which are usually
in the store already, not in the file. Validation never imports ``exchange.storage`` (the
layers point down: see the import-linter contracts in ``pyproject.toml``); it asks through this
protocol, which ``exchange.services.stored_lookup`` implements over the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from exchange.model.records import Observation

__all__ = ["KeyFilter", "StoredData"]

#: per dimension (schema order), the codes wanted; None: any code
KeyFilter = Sequence[frozenset[str] | None]


class StoredData(Protocol):
    """The observations a data store holds, as the cross-table rules ask for them."""

    def observations(
        self,
        dataflow: str,
        key_filter: KeyFilter,
        *,
        start_period: str | None = None,
        end_period: str | None = None,
    ) -> Iterable[Observation]:
        """The stored observations of ``dataflow`` (``ILO:DF_X(1.0)``) whose key matches
        ``key_filter``, with periods in ``[start_period, end_period]``, in series order; none
        for a dataflow the store does not hold."""
        ...
