"""Where a data query's observations come from: the store, or a view computed from it.

Most dataflows are stored; ``DF_ILMS_MIRROR`` is computed from two stored tables on each query
(:mod:`exchange.services.mirror`). Both answer the few calls the data query path makes —
:class:`DataSource` — so the query service and the REST routers stay the same for either, and a
future computed view is one class plus one line in :func:`source_for`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Protocol

from exchange.errors import FeatureNotImplemented
from exchange.model.records import Observation
from exchange.model.refs import ArtefactRef
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.services.data_query import DataQuery
from exchange.services.mirror import MIRROR_DATAFLOW, MirrorView
from exchange.storage import DataStore
from exchange.storage.keys import KeyFilter

__all__ = ["DataSource", "source_for"]


class DataSource(Protocol):
    """What the data query path asks of the observations' source."""

    url: str

    def query(
        self,
        dataflow: str | ArtefactRef | Schema,
        key_filter: KeyFilter | None = None,
        *,
        start_period: str | None = None,
        end_period: str | None = None,
        updated_after: dt.datetime | int | None = None,
        first_n: int | None = None,
        last_n: int | None = None,
        include_deleted: bool | None = None,
    ) -> Iterator[Observation]: ...

    def count(self, dataflow: str | ArtefactRef | Schema) -> int: ...

    def watermark(self) -> dt.datetime | None: ...


def source_for(data: DataStore, structures: StructureStore, query: DataQuery) -> DataSource:
    """The source of the query's observations: the mirror view for DF_ILMS_MIRROR, else the store.

    Raises before any answer starts for what a computed view cannot do (``updatedAfter``).
    """
    flow = query.schema.dataflow
    if flow is None or flow.id != MIRROR_DATAFLOW:
        return data
    if query.updated_after is not None:
        raise FeatureNotImplemented(
            f"updatedAfter on {flow}: this view is computed from the stored tables on each query"
            " and has no change stamps; harvest the tables it compares instead"
        )
    return MirrorView(structures, data)
