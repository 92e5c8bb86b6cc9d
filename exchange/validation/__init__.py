"""Validation of data against a resolved schema: checks over the record stream → a Report.

Never imports ``exchange.formats`` (nor lxml, httpx): it validates records, whatever the wire
format; "validate a file" is composed in ``exchange.services``.
"""

from exchange.validation.catalogue import CATALOGUE
from exchange.validation.engine import Validation, validate
from exchange.validation.ilms_cross import CrossTableIndex
from exchange.validation.stored import StoredData

__all__ = ["CATALOGUE", "CrossTableIndex", "StoredData", "Validation", "validate"]
