"""The hot path: every check over the observation stream, series by series, with memos.

Observations come in runs of one series key (SDMX-ML series, database exports, SDMX-CSV sorted
by key), so :meth:`Pipeline.run` takes the stream a run at a time (``itertools.groupby``, at most
:data:`CHUNK` observations at once, so memory stays flat) and does per series what depends on
the key only — codes of every dimension, the reporter, the groups for totals — once.

Each run then goes one of two ways:

- the **batch path** (:mod:`~exchange.validation.batch`) proves, with machine loops over the
  run's columns (``map``, ``zip``, a regular expression over the joined values), that every
  observation is clean, and records it (duplicates, totals, year-on-year) in bulk;
- the **exact path** (:func:`~exchange.validation.exact.exact`), taken when the batch path
  cannot vouch for the whole run, and for short runs in a row (data not ordered by series,
  taken together, as they come), runs every check on every observation in order, as the checks
  in ``structural`` and ``ilms_rules`` define them, so issues, their order and their locations
  are exactly those of running every check on every observation; a :class:`Place` is built
  only then.

The exact path remembers what passed: key checks per series key; period checks (format, FREQ,
not in the future, a year) per (FREQ, period); attribute checks per mapping, by identity (readers
share one mapping per attribute combination; the memo holds the mapping, so an identity is never
reused while remembered); attribute consistency per (related key, period) slot; duplicates as one
bit per year per series (other periods: a hash in a set). Values are parsed with ``float``; only
a negative value, a rate at or above 100, more decimals than allowed, or anything ``float`` would
read differently from :class:`Decimal` goes to the exact check. Only clean answers are memoised:
a wrong code is reported for every observation that has it. Group checks (totals) and
year-on-year changes report as the stream moves on (``ilms_totals``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import groupby, islice
from operator import itemgetter

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.validation.batch import Batch
from exchange.validation.catalogue import Emitter
from exchange.validation.exact import NOT_A_YEAR, PeriodEntry, exact
from exchange.validation.ilms_columns import Columns
from exchange.validation.ilms_cross import CrossTableIndex
from exchange.validation.ilms_rules import ChangeRule, ObservationRules
from exchange.validation.ilms_totals import GroupRules
from exchange.validation.ilms_totals import Slot as GroupSlot
from exchange.validation.structural import (
    AttributeCheck,
    Check,
    ConsistencyCheck,
    DimensionCheck,
    DuplicateCheck,
    PeriodCheck,
    ValueCheck,
)

#: Most observations of one series held at once (a series longer than this comes in parts).
CHUNK = 4096
#: Shorter runs go the exact way: proving a run clean costs more than checking a few.
MIN_BATCH = 4
_KEY = itemgetter(0)

#: a consistency group's slot: (key indexes, their values, whether the period is part of it)
_Slot = tuple[tuple[int, ...], tuple[str | None, ...], bool]
#: per consistency target without a period: (attribute, its slot in ``ConsistencyCheck.seen``)
Untimed = tuple[tuple[str, tuple[str, tuple[str | None, ...]]], ...]
#: a series' consistency memos (see ``Pipeline._consistency``)
_Consistency = tuple[
    tuple[tuple[bool, dict[str | None, Mapping[str, str]]], ...],
    tuple[dict[str | None, Mapping[str, str]], ...],
    Untimed,
]
#: per group a series takes part in: its cells and the series' code there
Handles = tuple[tuple[Columns, str], ...]


class Series:
    """What is known about one series key: which key checks passed, and handles into state."""

    __slots__ = (
        "consistent",
        "dims_ok",
        "key",
        "last_value",
        "last_year",
        "mask",
        "periods",
        "reporter_ok",
        "slots",
        "timed",
        "untimed",
    )

    def __init__(
        self,
        key: tuple[str, ...],
        periods: dict[str, PeriodEntry],
        slots: tuple[GroupSlot, ...],
    ) -> None:
        self.key = key
        self.dims_ok = False
        self.reporter_ok = False
        self.periods = periods  # periods clean with this series' FREQ → (year, mask bit)
        self.slots = slots  # the groups (totals) its observations take part in
        self.mask = 0  # a bit per year already seen (duplicates)
        self.last_year = NOT_A_YEAR  # the year and value last seen (year-on-year change)
        self.last_value = 0.0
        #: per consistency group: the memo of attribute mappings known consistent
        self.consistent: tuple[tuple[bool, dict[str | None, Mapping[str, str]]], ...] = ()
        self.timed: tuple[dict[str | None, Mapping[str, str]], ...] = ()  # those with a period
        self.untimed: Untimed = ()  # the consistency targets without a period


class Pipeline:
    """Runs the checks of one validation over an observation stream (see the module docs)."""

    def __init__(
        self,
        schema: Schema,
        emit: Emitter,
        *,
        full_codes: Mapping[str, frozenset[str]] | None,
        rules: Sequence[str],
        today: dt.date | None,
        reporter: Check | None,
        cross: CrossTableIndex | None,
    ) -> None:
        self.schema = schema
        self.emit = emit
        structure, ilms = "structure" in rules, "ilms" in rules
        self.dims = DimensionCheck(schema, full_codes) if structure else None
        self.period = PeriodCheck(schema) if structure else None
        self.value = ValueCheck(schema) if structure else None
        self.attrs = AttributeCheck(schema, full_codes) if structure else None
        self.consistency = ConsistencyCheck(schema) if structure else None
        self.duplicates = DuplicateCheck() if structure else None
        self.rules = ObservationRules(schema, today) if ilms else None
        self.groups = GroupRules(schema) if ilms else None
        self.change = ChangeRule() if ilms else None
        self.reporter = reporter
        self.cross = cross
        dims = schema.dimension_ids
        self.freq_at = dims.index("FREQ") if "FREQ" in dims else None
        self.cross_at = dims.index("MEASURE") if "MEASURE" in dims else -1
        self.cross_dims = tuple(d for d in dims if d != "MEASURE")
        self.series: dict[tuple[str, ...], Series] = {}
        self.periods_by_freq: dict[str | None, dict[str, PeriodEntry]] = {}
        self.attrs_ok: dict[int, Mapping[str, str]] = {}  # id → mapping, clean for attributes
        self.units_ok: dict[int, tuple[Mapping[str, str], int | None]] = {}  # … → decimals
        self.consistency_memo: dict[_Slot, dict[str | None, Mapping[str, str]]] = {}
        #: the consistency checks' targets by (key indexes, with the period): their attributes
        targets: dict[tuple[tuple[int, ...], bool], list[str]] = {}
        for attr_id, indexes, with_time in self.consistency.targets if self.consistency else ():
            targets.setdefault((indexes, with_time), []).append(attr_id)
        self.consistency_targets = [(i, t, tuple(a)) for (i, t), a in targets.items()]
        #: the key positions consistency targets relate to, and per their values the memos
        self.related_at = sorted({i for indexes, _, _ in self.consistency_targets for i in indexes})
        self.consistency_of: dict[tuple[str | None, ...], _Consistency] = {}
        #: the last observation's mapping if every attribute check passed for it, and the
        #: decimals it allows (carried from one run to the next)
        self.same_attrs: Mapping[str, str] | None = None
        #: the series the stream is in, and its groups' cells (see :meth:`enter`)
        self.current: Series | None = None
        self.handles: Handles = ()
        self.memo_writes = 0  # how many times a consistency memo changed (for the batch path)
        self.limit: int | None = None
        self.batch = Batch(self)
        #: the exception that ended the stream early (see :meth:`checked`)
        self.stopped: Exception | None = None

    @property
    def checks(self) -> list[Check]:
        found = (
            self.dims,
            self.period,
            self.value,
            self.attrs,
            self.consistency,
            self.duplicates,
            self.rules,
            self.groups,
            self.change,
            self.reporter,
        )
        return [c for c in found if c is not None]

    def _new_series(self, key: tuple[str, ...]) -> Series:
        freq = key[self.freq_at] if self.freq_at is not None and self.freq_at < len(key) else None
        periods = self.periods_by_freq.setdefault(freq, {})
        series = Series(key, periods, self.groups.slots(key) if self.groups else ())
        if self.consistency_targets:
            # series sharing the key values the attributes relate to share their slots
            at = self.related_at
            related: tuple[str | None, ...]
            if at and at[-1] < len(key):
                related = tuple(map(key.__getitem__, at))
            else:  # a key too short (the key checks report it)
                related = tuple(key[i] if i < len(key) else None for i in at)
            found = self.consistency_of.get(related)
            if found is None:
                found = self.consistency_of[related] = self._consistency(key)
            series.consistent, series.timed, series.untimed = found
        self.series[key] = series
        return series

    def _consistency(self, key: tuple[str, ...]) -> _Consistency:
        """A series' consistency memos: all, those with a period, and the slots without one."""
        consistent, timed, untimed = [], [], []
        memos = self.consistency_memo
        for indexes, with_time, attr_ids in self.consistency_targets:
            related = tuple(key[i] if i < len(key) else None for i in indexes)
            slot = (indexes, related, with_time)
            memo = memos.get(slot)
            if memo is None:
                memo = memos[slot] = {}
            consistent.append((with_time, memo))
            if with_time:
                timed.append(memo)
            else:
                untimed += [(a, (a, related)) for a in attr_ids]
        return tuple(consistent), tuple(timed), tuple(untimed)

    def ready(self, series: Series) -> bool:
        """Whether the key checks of ``series`` passed (so the batch path may vouch for it)."""
        return (self.dims is None or series.dims_ok) and (
            self.reporter is None or series.reporter_ok
        )

    def enter(self, key: tuple[str, ...]) -> tuple[Series, Handles]:
        """The stream goes on with series ``key``: its state, and its groups' cells."""
        series = self.series.get(key) or self._new_series(key)
        if self.groups is not None:
            self.groups.moved(key, self.emit)
            self.handles = self.groups.handles(series.slots)
        self.current = series
        return series, self.handles

    def run(self, observations: Iterable[Observation]) -> int:
        """Check every observation; returns how many there were. Call :meth:`finish` after."""
        return sum(map(len, self.checked(observations)))

    def checked(
        self,
        observations: Iterable[Observation],
        *,
        until: tuple[type[Exception], ...] = (),
    ) -> Iterator[list[Observation]]:
        """Check every observation, handing each part on once it is checked, in stream order.

        Why parts: a submission stores what it validates in the same pass (see
        ``exchange.services.submit``), and one hand-over per part costs nothing per observation.
        An exception of the ``until`` types from the stream (a reader meeting a broken row) ends
        it there: what came before is still checked and handed on, the exception is kept in
        :attr:`stopped`. Catching it here, a part at a time, spares a wrapping generator that
        cost a tenth of reading per observation. Call :meth:`finish` after the last part.
        """
        batch, ready, key_ok = self.batch.run, self.ready, self.batch.key_checks
        short: list[Observation] = []  # short runs in a row: the exact path takes them together
        groups = groupby(observations, _KEY)
        while (group := self._next_group(groups, until)) is not None:
            key, run = group
            chunk = self._take(run, until)
            entered = False
            while chunk:
                if len(chunk) < MIN_BATCH:
                    short += chunk
                    if len(short) >= CHUNK:
                        exact(self, short)
                        yield short
                        short = []
                else:
                    if short:
                        exact(self, short)
                        yield short
                        short = []
                    if not entered:
                        series, handles = self.enter(key)
                        entered = True
                    if not (
                        (ready(series) or key_ok(series, chunk[0]))
                        and batch(series, chunk, handles)
                    ):
                        exact(self, chunk)
                    yield chunk
                # the rest of a long series, in parts
                more = len(chunk) == CHUNK and self.stopped is None
                chunk = self._take(run, until) if more else []
        if short:
            exact(self, short)
            yield short

    def _next_group(
        self,
        groups: Iterator[tuple[tuple[str, ...], Iterator[Observation]]],
        until: tuple[type[Exception], ...],
    ) -> tuple[tuple[str, ...], Iterator[Observation]] | None:
        """The next series run of the stream; None at its end, or once it stopped early."""
        if self.stopped is not None:
            return None
        try:
            return next(groups)
        except StopIteration:
            return None
        except until as exc:
            self.stopped = exc
            return None

    def _take(
        self, run: Iterator[Observation], until: tuple[type[Exception], ...]
    ) -> list[Observation]:
        """The next part of a run: what could be read of it, if the stream stops on the way."""
        chunk: list[Observation] = []
        try:
            chunk.extend(islice(run, CHUNK))  # (keeps what it took before an exception)
        except until as exc:
            self.stopped = exc
        return chunk

    def finish(self) -> None:
        for check in self.checks:
            check.finish(self.emit)
        # The batch path and the pipeline refer to each other: a cycle that would keep every
        # series' state alive until the collector's next full pass. Broken here, the state goes
        # when the validation does, and a collection after the pass has little to look at.
        del self.batch
