"""Machinery shared by the SDMX-ML 2.1 and 3.0 data writers (generic, structure-specific).

Split out of :mod:`exchange.formats.ml21_common`, which keeps the reading side, so that each
module holds one direction. Writing uses :class:`lxml.etree.xmlfile`; the header is the same for
both message types except for the structure-specific ``namespace`` attribute, and names the
structure by a ``Ref`` (2.1) or by its URN (3.0, through a
:class:`~exchange.formats.ml21_common.Dialect`). :func:`plan` decides which attributes are written
on the data set, on the series and on the observations.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from exchange.formats.ml21_common import ALL_DIMENSIONS, ML21, STRUCTURE_ID, Dialect
from exchange.model.records import MessageInfo, Observation
from exchange.model.schema import Attachment, Component, Schema


@dataclass(frozen=True)
class Plan:
    """Which attributes go where in a written message."""

    flat: bool
    dim_at_obs: str
    series_dims: tuple[str, ...]  # key dimensions written on the Series (series layouts)
    obs_dim: str | None  # a non-time dimension at observation level, if any
    dataset_ids: frozenset[str]
    series_ids: frozenset[str]
    obs_ids: frozenset[str]


def plan(schema: Schema, dimension_at_observation: str | None) -> Plan:
    time = schema.time_dimension
    dim = dimension_at_observation or (time.id if time else ALL_DIMENSIONS)
    dims = schema.dimension_ids
    flat = dim == ALL_DIMENSIONS or (time is None and dim not in dims)
    if not flat and dim not in dims and (time is None or dim != time.id):
        raise ValueError(f"dimension_at_observation {dim!r} is not a dimension of the schema")
    dataset_ids = frozenset(a.id for a in schema.attributes_at(Attachment.DATASET))
    series_ids: set[str] = set()
    obs_ids: set[str] = set()
    for attr in schema.attributes:
        if attr.attachment is Attachment.DATASET:
            continue
        if flat or _observation_level(attr, schema, dim):
            obs_ids.add(attr.id)
        else:
            series_ids.add(attr.id)
    obs_dim = dim if dim in dims else None
    series_dims = tuple(d for d in dims if d != obs_dim)
    return Plan(
        flat,
        ALL_DIMENSIONS if flat else dim,
        series_dims,
        obs_dim,
        dataset_ids,
        frozenset(series_ids),
        frozenset(obs_ids),
    )


def _observation_level(attr: Component, schema: Schema, dim_at_obs: str) -> bool:
    if attr.attachment in (None, Attachment.OBSERVATION):
        return True
    if attr.attachment is Attachment.DIMENSIONS:
        time = schema.time_dimension
        at_obs = {dim_at_obs, time.id if time is not None else ""}
        return bool(at_obs & set(attr.related_dimensions))
    return False  # SERIES, GROUP: on the Series element


def peek(observations: Iterable[Observation]) -> tuple[Observation | None, Iterator[Observation]]:
    """The first observation (or None) and an iterator over all of them, the first included."""
    it = iter(observations)
    first = next(it, None)
    if first is None:
        return None, iter(())
    return first, itertools.chain((first,), it)


def dataset_attributes(info: MessageInfo, first: Observation | None, plan_: Plan) -> dict[str, str]:
    """Dataset attribute values: the info's, else those the first observation carries."""
    if info.dataset_attributes:
        return dict(info.dataset_attributes)
    if first is None or not plan_.dataset_ids:
        return {}
    return {k: v for k, v in first.attributes.items() if k in plan_.dataset_ids}


def new_message_id() -> str:
    return "IREF" + uuid.uuid4().hex[:16].upper()


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def write_header(
    xf: Any,
    info: MessageInfo,
    *,
    dimension_at_observation: str,
    namespace: str | None = None,
    dialect: Dialect = ML21,
) -> None:
    """Write the ``message:Header`` of a data message inside an open root element.

    The structure is named by a ``Ref`` (2.1) or by its URN as the element's text (3.0).
    """
    schema = info.schema
    mes = dialect.message
    with xf.element(f"{{{mes}}}Header"):
        _text(xf, mes, "ID", info.message_id or new_message_id())
        _text(xf, mes, "Test", "false")
        _text(xf, mes, "Prepared", info.prepared or now())
        with xf.element(f"{{{mes}}}Sender", id=info.sender or "ILO"):
            pass
        attrib = {"structureID": STRUCTURE_ID, "dimensionAtObservation": dimension_at_observation}
        if namespace is not None:
            attrib["namespace"] = namespace
        ref = schema.dataflow if schema.dataflow is not None else schema.dsd
        usage = "StructureUsage" if schema.dataflow is not None else "Structure"
        with xf.element(f"{{{mes}}}Structure", attrib), xf.element(f"{{{dialect.common}}}{usage}"):
            if dialect == ML21:
                xf.write(etree.Element("Ref", agencyID=ref.agency, id=ref.id, version=ref.version))
            else:
                xf.write(ref.urn)
    xf.write("\n")


def _text(xf: Any, namespace: str, local: str, text: str) -> None:
    with xf.element(f"{{{namespace}}}{local}"):
        xf.write(text)


def structure_namespace(schema: Schema, dimension_at_observation: str) -> str:
    """``urn:sdmx:…Dataflow=ILO:DF_X(1.0):ObsLevelDim:TIME_PERIOD`` (SDMX 2.1 Section 3B)."""
    ref = schema.dataflow if schema.dataflow is not None else schema.dsd
    return f"{ref.urn}:ObsLevelDim:{dimension_at_observation}"
