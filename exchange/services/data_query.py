"""Data queries of SDMX-REST 1.5 and 2.0: parse them, run them on the store, shape the answer.

Parsing turns the path and query parameters into one :class:`DataQuery`, whatever the API
version; every mistake is an :class:`~exchange.errors.InvalidRequest` (400, SDMX error 140) that
names the bad part. Running it (:func:`observations`) pushes what the store can do (key filter,
period bounds as whole years, ``updatedAfter``, first/last N) down to it and finishes the rest on
the stream, so the answer is never held in memory:

- Periods are compared by *overlap* (SDMX-REST 1.5 ``startPeriod``/``endPeriod``): an annual
  ``2019`` is in ``startPeriod=2019-06`` (it runs on past June), a ``2019-Q1`` is not.
- ``detail`` (1.5): ``dataonly`` drops attributes; ``nodata`` keeps the series-level ones;
  ``serieskeysonly`` keeps none. Writers take observations, not bare series, so both of the last
  two emit each series' first observation with no value — a series without observations.
- ``attributes``/``measures`` (2.0): ``none``, ``all``/``dsd``/``msd`` (no metadata attributes
  here: same as ``dsd``) or a comma list of attribute ids; ``measures=none`` drops the value.
- ``c[COMPONENT]=op:value`` (2.0): ``,`` is OR, ``+`` is AND (a ``+`` in a query string reaches
  us as a space and is read as one); operators ``eq ne lt le gt ge co nc sw ew``. ``eq`` on a
  dimension becomes part of the key filter; ``TIME_PERIOD`` bounds narrow the store query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from operator import attrgetter
from typing import TYPE_CHECKING

from exchange.errors import FeatureNotImplemented, InvalidRequest, NotFound
from exchange.model.records import Observation
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Attachment, Schema
from exchange.storage.reader import first_last

if TYPE_CHECKING:
    from exchange.model.store import StructureStore
    from exchange.services.data_source import DataSource

#: The series of an observation, for per-series work on a stream in series order.
SERIES_KEY = attrgetter("key")

__all__ = [
    "DataQuery",
    "Filter",
    "observations",
    "parse_conditions",
    "parse_key",
    "parse_period",
    "parse_updated_after",
    "resolve_flow",
]

ANY = frozenset({"all", "*"})
LATEST = frozenset({"latest", "~", "all", "*", ""})
DETAILS = ("full", "dataonly", "serieskeysonly", "nodata")
ALL_DIMENSIONS = "AllDimensions"
TIME = "TIME_PERIOD"
KeyPart = frozenset[str] | None


# -- the query ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filter:
    """One ``c[COMPONENT]`` filter: OR of alternatives, each an AND of ``(operator, value)``."""

    component: str
    alternatives: tuple[tuple[tuple[str, str], ...], ...]


@dataclass(frozen=True)
class DataQuery:
    """A data query, whichever SDMX-REST version it came in."""

    schema: Schema
    key: tuple[KeyPart, ...] | None = None
    start_period: str | None = None
    end_period: str | None = None
    updated_after: dt.datetime | None = None
    first_n: int | None = None
    last_n: int | None = None
    dimension_at_observation: str = TIME
    detail: str = "full"
    attributes: frozenset[str] | None = None  # None: all of them
    measures: bool = True
    filters: tuple[Filter, ...] = field(default=())

    @property
    def series_only(self) -> bool:
        return self.detail in ("serieskeysonly", "nodata")


# -- parsing --------------------------------------------------------------------------------------
def resolve_flow(store: StructureStore, agency: str, ident: str, version: str) -> Schema:
    """The schema of the one dataflow named (``all``/``*`` agency; ``latest``/``~`` version)."""
    if ident in ANY:
        raise FeatureNotImplemented("a data query names one dataflow (not all of them)")
    agencies = None if agency in ANY else frozenset(agency.split("+"))
    flows = _dataflows(store)
    for name in (ident, f"DF_{ident}"):
        refs = [
            r
            for r in flows
            if r.id == name
            and (agencies is None or r.agency in agencies)
            and (version in LATEST or r.version == version)
        ]
        if refs:
            newest = max(refs, key=lambda r: tuple(int(p) for p in re.findall(r"\d+", r.version)))
            return store.schema(newest)
    raise NotFound(f"no dataflow {agency},{ident},{version}")


_FLOWS: weakref.WeakKeyDictionary[StructureStore, tuple[ArtefactRef, ...]] = (
    weakref.WeakKeyDictionary()
)


def _dataflows(store: StructureStore) -> tuple[ArtefactRef, ...]:
    """The store's dataflow references, listed once per store.

    ``store.refs`` sorts every artefact on each call (0.4 ms, a per-request cost of every data
    query); the structures of a running service only change with a redeploy, i.e. a new store.
    """
    found = _FLOWS.get(store)
    if found is None:
        found = _FLOWS[store] = tuple(r for r in store.refs if r.kind is Kind.DATAFLOW)
    return found


def parse_flow_ref(store: StructureStore, flow_ref: str) -> Schema:
    """SDMX-REST 1.5 ``flowRef``: ``DF_X``, ``ILO,DF_X``, ``ILO,DF_X,1.0`` (``all`` agency)."""
    parts = flow_ref.split(",")
    if len(parts) > 3 or not all(parts[:2]):
        raise InvalidRequest(f"flowRef {flow_ref!r} is not AGENCY,ID,VERSION")
    padded = ["all", *parts] if len(parts) == 1 else parts
    agency, ident, version = [*padded, "latest"][:3]
    return resolve_flow(store, agency, ident, version)


def parse_key(text: str, schema: Schema, *, v2: bool = False) -> tuple[KeyPart, ...] | None:
    """A key (``PHL+MYS.A..`` in 1.5, ``PHL,MYS.A.*`` in 2.0) → one entry per dimension.

    Missing trailing parts are wildcards; more parts than dimensions is an error.
    """
    dims = schema.dimension_ids
    if text in ("", "all", "*"):
        return None
    parts = text.split(".")
    if len(parts) > len(dims):
        raise InvalidRequest(
            f"the key {text!r} has {len(parts)} parts but {schema.dataflow} has {len(dims)}"
            f" dimensions ({'.'.join(dims)})"
        )
    separator = "," if v2 else "+"
    key: list[KeyPart] = []
    for part in parts + [""] * (len(dims) - len(parts)):
        codes = frozenset(c for c in part.split(separator) if c)
        key.append(None if part in ("", "*") or "*" in codes else codes)
    return None if all(k is None for k in key) else tuple(key)


_PERIOD = re.compile(
    r"^(?P<y>\d{4})(?:-(?:(?P<m>\d{2})(?:-(?P<d>\d{2}))?|(?P<k>[ASTQMW])(?P<n>\d{1,3})))?$"
)
_MONTHS = {"A": 12, "S": 6, "T": 4, "Q": 3, "M": 1}


def period_span(text: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day of an SDMX period (``2019``, ``2019-07``, ``2019-Q3``, ``2019-S1``,
    ``2019-M07``, ``2019-W27``, ``2019-07-01``); None if it is none of those."""
    match = _PERIOD.match(text)
    if match is None:
        return None
    year = int(match["y"])
    try:
        if match["d"]:
            day = dt.date(year, int(match["m"]), int(match["d"]))
            return day, day
        if match["k"] == "W":
            monday = dt.date.fromisocalendar(year, int(match["n"]), 1)
            return monday, monday + dt.timedelta(days=6)
        months, number = (1, int(match["m"])) if match["m"] else (_MONTHS[match["k"] or "A"], 1)
        if match["k"]:
            number = int(match["n"])
        first = (number - 1) * months + 1
        if not 1 <= first <= 12:
            return None
        start = dt.date(year, first, 1)
        after = dt.date(year + (first + months > 12), (first + months - 1) % 12 + 1, 1)
        return start, after - dt.timedelta(days=1)
    except ValueError:
        return None


def parse_period(text: str | None, name: str) -> str | None:
    """A ``startPeriod``/``endPeriod`` value, checked."""
    if text is None or text == "":
        return None
    if period_span(text) is None:
        raise InvalidRequest(f"{name}={text!r} is not a period (YYYY, YYYY-MM, YYYY-Qn, …)")
    return text


def parse_updated_after(text: str | None) -> dt.datetime | None:
    """ISO 8601 with an offset (naive means UTC). An unencoded ``+01:00`` arrives as a space."""
    if not text:
        return None
    fixed = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text.strip())
    try:
        moment = dt.datetime.fromisoformat(fixed.replace("z", "Z"))
    except ValueError:
        raise InvalidRequest(f"updatedAfter={text!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def parse_count(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidRequest(f"{name}={text!r} is not a positive integer")
    return int(text)


def parse_dimension_at_observation(text: str | None, schema: Schema) -> str:
    if not text:
        return TIME
    if text in (ALL_DIMENSIONS, TIME) or text in schema.dimension_ids:
        return text
    raise InvalidRequest(
        f"dimensionAtObservation={text!r} is not {TIME}, {ALL_DIMENSIONS} or a dimension"
        f" ({', '.join(schema.dimension_ids)})"
    )


def parse_detail(text: str | None) -> str:
    if not text:
        return "full"
    if text not in DETAILS:
        raise InvalidRequest(f"detail={text!r} is not one of {', '.join(DETAILS)}")
    return text


def parse_attributes(text: str | None, schema: Schema) -> frozenset[str] | None:
    """2.0 ``attributes``: None means all of them."""
    if text is None or text in ("", "dsd", "all", "msd"):
        return None
    if text == "none":
        return frozenset()
    wanted = frozenset(text.split(","))
    unknown = sorted(wanted - {a.id for a in schema.attributes})
    if unknown:
        raise InvalidRequest(f"attributes: {', '.join(unknown)} are not attributes of the DSD")
    return wanted


def parse_measures(text: str | None) -> bool:
    if text in (None, "", "all", "OBS_VALUE"):
        return True
    if text == "none":
        return False
    raise InvalidRequest(f"measures={text!r} is not all, none or OBS_VALUE")


_OPERATORS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "co", "nc", "sw", "ew"})


def parse_conditions(items: Iterable[tuple[str, str]], schema: Schema) -> tuple[Filter, ...]:
    """The ``c[COMPONENT]=...`` parameters of a 2.0 query."""
    known = {c.id for c in schema.components}
    filters: list[Filter] = []
    for name, value in items:
        match = re.fullmatch(r"c\[([A-Za-z0-9_@$\-]+)\]", name)
        if match is None:
            continue
        component = match[1]
        if component not in known:
            raise InvalidRequest(f"{name}: {component} is not a component of {schema.dataflow}")
        alternatives = tuple(
            tuple(_term(term, name) for term in re.split(r"[+ ]", alt) if term)
            for alt in value.split(",")
        )
        filters.append(Filter(component, tuple(a for a in alternatives if a)))
    return tuple(filters)


def _term(text: str, name: str) -> tuple[str, str]:
    operator, colon, operand = text.partition(":")
    if not colon:
        return "eq", text
    if operator not in _OPERATORS:
        raise InvalidRequest(f"{name}: unknown operator {operator!r} in {text!r}")
    return operator, operand


def push_down(query: DataQuery) -> DataQuery:
    """Move ``c[DIM]=eq:…`` filters into the key (the store serves keys from its index)."""
    dims = query.schema.dimension_ids
    key = list(query.key or [None] * len(dims))
    kept: list[Filter] = []
    for flt in query.filters:
        plain = all(len(alt) == 1 and alt[0][0] == "eq" for alt in flt.alternatives)
        if flt.component in dims and plain:
            index = dims.index(flt.component)
            codes = frozenset(alt[0][1] for alt in flt.alternatives)
            key[index] = codes if key[index] is None else key[index] & codes  # type: ignore[operator]
        else:
            kept.append(flt)
    new_key = None if all(k is None for k in key) else tuple(key)
    return replace(query, key=new_key, filters=tuple(kept))


# -- running --------------------------------------------------------------------------------------
def _years(query: DataQuery) -> tuple[str | None, str | None, bool]:
    """Whole-year bounds for the store (a superset) and whether periods need an exact check."""
    start, end = query.start_period, query.end_period
    exact = any(p is not None and len(p) > 4 for p in (start, end))
    for flt in query.filters:
        if flt.component == TIME and len(flt.alternatives) == 1:
            for operator, operand in flt.alternatives[0]:
                if operator in ("ge", "gt", "eq") and period_span(operand):
                    start = max(start or operand[:4], operand[:4])
                if operator in ("le", "lt", "eq") and period_span(operand):
                    end = min(end or operand[:4], operand[:4])
    return (start and start[:4]), (end and end[:4]), exact


def observations(
    store: DataSource, query: DataQuery, *, deleted: bool | None = None
) -> Generator[Observation, None, None]:
    """Run the query: the store's stream, finished and shaped (see the module docstring).

    ``deleted``: None — tombstones only with ``updatedAfter``; False — none; True — only them.
    """
    query = push_down(query)
    start, end, exact = _years(query)
    in_python = exact or bool(query.filters)
    first_n, last_n = query.first_n, query.last_n
    if query.series_only and not in_python:
        first_n, last_n = 1, None
    rows: Iterable[Observation] = store.query(
        query.schema,
        list(query.key) if query.key is not None else None,
        start_period=start,
        end_period=end,
        updated_after=query.updated_after,
        first_n=None if in_python else first_n,
        last_n=None if in_python else last_n,
        include_deleted=None if deleted is None else True,
    )
    if deleted is not None:
        rows = (o for o in rows if (o.action is not None) is deleted)
    if in_python:
        rows = _filtered(rows, query, exact)
        if first_n is not None or last_n is not None or query.series_only:
            rows = first_last(
                rows,
                1 if query.series_only else first_n or 0,
                0 if query.series_only else last_n or 0,
                SERIES_KEY,
            )
    if query.dimension_at_observation in query.schema.dimension_ids:
        rows = _regrouped(rows, query.schema.dimension_ids.index(query.dimension_at_observation))
    return _shaped(rows, query)


def _regrouped(rows: Iterable[Observation], index: int) -> Iterator[Observation]:
    """Rows in the order a ``dimensionAtObservation`` other than time needs.

    The store streams in key order; a writer makes a series of each run of rows sharing every
    key part but ``index`` and the period. Such rows are contiguous once sorted within each
    block of rows sharing the key parts *before* ``index`` — one block (say one country's data
    when the dimension is SEX) is held at a time, never the whole answer.
    """
    for _, block in groupby(rows, key=lambda o: o.key[:index]):
        yield from sorted(block, key=lambda o: (o.key[index + 1 :], o.period or "", o.key[index]))


def _filtered(rows: Iterable[Observation], query: DataQuery, exact: bool) -> Iterator[Observation]:
    checks: list[Callable[[Observation], bool]] = []
    if exact:
        checks.append(_overlap(query.start_period, query.end_period))
    checks.extend(_check(flt, query.schema) for flt in query.filters)
    return (o for o in rows if all(check(o) for check in checks))


def _overlap(start: str | None, end: str | None) -> Callable[[Observation], bool]:
    low = period_span(start)[0] if start else None  # type: ignore[index]
    high = period_span(end)[1] if end else None  # type: ignore[index]

    def check(obs: Observation) -> bool:
        span = period_span(obs.period or "")
        if span is None:
            return True
        return (low is None or span[1] >= low) and (high is None or span[0] <= high)

    return check


def _check(flt: Filter, schema: Schema) -> Callable[[Observation], bool]:
    dims = schema.dimension_ids
    getter: Callable[[Observation], str | None]
    if flt.component in dims:
        index = dims.index(flt.component)
        getter = lambda o: o.key[index]  # noqa: E731
    elif flt.component == TIME:
        getter = lambda o: o.period  # noqa: E731
    elif flt.component == schema.measure.id:
        getter = lambda o: o.value  # noqa: E731
    else:
        getter = lambda o: o.attributes.get(flt.component)  # noqa: E731
    compare = _time_compare if flt.component == TIME else _compare

    def check(obs: Observation) -> bool:
        value = getter(obs)
        return any(all(compare(op, value, x) for op, x in alt) for alt in flt.alternatives)

    return check


def _compare(operator: str, value: str | None, operand: str) -> bool:
    if value is None:
        return operator in ("ne", "nc")
    texts = {"co": operand in value, "nc": operand not in value}
    texts |= {"sw": value.startswith(operand), "ew": value.endswith(operand)}
    if operator in texts:
        return texts[operator]
    left: float | str = value
    right: float | str = operand
    with contextlib.suppress(ValueError):
        left, right = float(value), float(operand)
    orders = {"eq": left == right, "ne": left != right}
    if type(left) is type(right):
        orders |= {"lt": left < right, "le": left <= right, "gt": left > right}  # type: ignore[operator]
        orders["ge"] = left >= right  # type: ignore[operator]
    return orders.get(operator, False)


def _time_compare(operator: str, value: str | None, operand: str) -> bool:
    span, bound = period_span(value or ""), period_span(operand)
    if span is None or bound is None:
        return _compare(operator, value, operand)
    return {
        "ge": span[1] >= bound[0],
        "le": span[0] <= bound[1],
        "gt": span[0] > bound[1],
        "lt": span[1] < bound[0],
        "eq": span == bound,
        "ne": span != bound,
    }.get(operator, _compare(operator, value, operand))


def _series_level(schema: Schema) -> frozenset[str]:
    levels = (Attachment.DATASET, Attachment.GROUP, Attachment.SERIES, Attachment.DIMENSIONS)
    return frozenset(a.id for a in schema.attributes_at(*levels))


def _shaped(rows: Iterable[Observation], query: DataQuery) -> Generator[Observation, None, None]:
    keep: frozenset[str] | None = query.attributes
    if query.detail in ("dataonly", "serieskeysonly"):
        keep = frozenset()
    elif query.detail == "nodata":
        series_level = _series_level(query.schema)
        keep = series_level if keep is None else keep & series_level
    drop_value = not query.measures or query.series_only
    if keep is None and not drop_value:
        yield from rows
        return
    empty: Mapping[str, str] = {}
    for obs in rows:
        attributes = obs.attributes
        if keep is not None:
            attributes = {k: v for k, v in attributes.items() if k in keep} if keep else empty
        yield obs._replace(attributes=attributes, value=None if drop_value else obs.value)


def key_text(key: Sequence[KeyPart] | None) -> str:
    """A key filter back as 1.5 key text (for messages)."""
    if key is None:
        return "all"
    return ".".join("" if part is None else "+".join(sorted(part)) for part in key)
