"""The data already stored, as validation's cross-table rules ask for it.

:class:`StoredLookup` implements :class:`~exchange.validation.StoredData` over a
:class:`~exchange.storage.DataStore`, so that validation compares a submission with the tables
already stored without importing storage (the layers point down). Pass it as
``validate_file(..., stored=StoredLookup(datastore))``.
"""

from __future__ import annotations

from collections.abc import Iterator

from exchange.model.records import Observation
from exchange.storage import DataStore
from exchange.validation.stored import KeyFilter

__all__ = ["CROSS_STORED_MAX_BYTES", "StoredLookup", "stored_lookup"]

#: Largest file whose cross-table rules are checked against the stored tables. Those rules index
#: every labour-force cell of the file (~1 KB each): one country's table (tens of thousands of
#: cells) costs a few MB, a 1M-observation bulk load of every country 1-2 GB — so bulk loads
#: are checked table by table, and memory stays flat for them.
CROSS_STORED_MAX_BYTES = 32 * 1024 * 1024


class StoredLookup:
    """Stored observations by dataflow, key filter and periods (see the module docs)."""

    def __init__(self, datastore: DataStore) -> None:
        self.datastore = datastore

    def observations(
        self,
        dataflow: str,
        key_filter: KeyFilter,
        *,
        start_period: str | None = None,
        end_period: str | None = None,
    ) -> Iterator[Observation]:
        """The current (not deleted) stored observations; none for an unknown dataflow."""
        return self.datastore.query(
            dataflow, key_filter, start_period=start_period, end_period=end_period
        )


def stored_lookup(datastore: DataStore, file_size: int) -> StoredLookup | None:
    """The stored tables for a file's cross-table rules, or None for a bulk load (see above)."""
    if file_size > CROSS_STORED_MAX_BYTES:
        return None
    return StoredLookup(datastore)
