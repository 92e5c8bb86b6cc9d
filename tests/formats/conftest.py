"""Fixtures shared by the data format tests."""

from __future__ import annotations

import pytest

from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from tests.formats.samples import FLOW


@pytest.fixture(scope="module")
def ilms(store: StructureStore) -> Schema:
    """The ILMS dataflow the sample observations belong to."""
    return store.schema(FLOW)
