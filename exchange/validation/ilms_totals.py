"""Totals and migrants ≤ total within one table (ILMS-STRUCTURES.md §5), streaming.

A *group* is the observations that differ in one classification dimension only (same rest of
the key, same period): ``SEX_T``, ``SEX_M``, ``SEX_F``… of one age, place of birth and year.

- **Totals** equal the sum of their parts within rounding — half a unit of the last reported
  decimal of each value involved. Only classification versions whose categories are verified to
  partition the total are checked (:data:`~exchange.validation.ilms_rules.PARTITIONS`); see
  there for the versions left out. Optional categories (unknown, other, under-15 bands…) are
  added when reported and otherwise assumed absent; a total is only checked when all required
  categories are there.
- **Migrants ≤ total** (``CBR_BIR_FOREIGN ≤ CBR_BIR_TOTAL``, ``CCT_CIT_NONCIT ≤ CCT_CIT_TOTAL``).

Memory is bounded by *windows*, not by the file. Assumption: the data is ordered by series key
(SDMX-ML series, database exports, SDMX-CSV sorted by key; within each period, for data sorted by
period first). Then the groups of the dimension at index ``i`` all share the key prefix before
``i``; once that prefix changes, no more cell of those groups can come, so they are checked and
dropped (:meth:`GroupRules.moved`). At most :data:`MAX_OPEN_GROUPS` groups are open at once: past
that, the dimension with the most open groups is flushed early, and then a group is checked only
if every category of its version (optional ones too) was seen; the others are counted in
:attr:`GroupRules.unchecked` (reported as ``groups-not-checked``, info).

Failure mode (unordered data): a group whose cells are spread over several windows is checked
once per window, each time only with the cells of that window, and only if that window holds the
total and all required categories; otherwise it is not checked. Missing an optional category
that came in another window can then misjudge a total — which needs a file that reports a
total and all its required categories together but an optional one far away.
"""

from __future__ import annotations

from decimal import Decimal
from operator import ne

from exchange.model.records import Observation
from exchange.model.schema import Schema
from exchange.report import Issue, Location, location_from_text
from exchange.validation.catalogue import Emitter, Place, make_issue
from exchange.validation.ilms_columns import Cell, Columns, Periods, Plan
from exchange.validation.ilms_rules import (
    MIGRANT_PARTS,
    PARTITIONS,
    half_unit,
    to_decimal,
    total_code,
)

__all__ = ["HALF_UNITS", "MAX_OPEN_GROUPS", "GroupRules", "half_of"]

#: Most (group, period) cells held open at once (a few hundred bytes each).
MAX_OPEN_GROUPS = 200_000

#: code → its version, for every code that takes part in a checked total.
VERSION_OF: dict[str, str] = {}
for _version, (_req, _opt) in PARTITIONS.items():
    for _part in (*_req, *_opt):
        VERSION_OF[f"{_version}_{_part}"] = _version
    VERSION_OF[total_code(_version)] = _version
#: version → (total, required codes, optional codes)
_NAMES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    v: (total_code(v), tuple(f"{v}_{p}" for p in req), tuple(f"{v}_{p}" for p in opt))
    for v, (req, opt) in PARTITIONS.items()
}

_STAR = ("*",)  # stands for the dimension a group's cells differ in

#: where an observation of a series goes: (dimension index, the key with that dimension
#: blanked — which names the group —, its code there)
Slot = tuple[int, tuple[str, ...], str]


class GroupRules:
    """Totals and migrants ≤ total, checked group by group as the stream moves on."""

    def __init__(self, schema: Schema) -> None:
        self.dimension_ids = schema.dimension_ids
        #: dimension index → the key with it blanked → the group's cells: the open windows
        self.open: dict[int, dict[tuple[str, ...], Columns]] = {}
        self.opened = 0  # cells added since the last count (an upper bound of open cells)
        self.unchecked = 0  # groups dropped before they could be checked
        self.last: tuple[str, ...] | None = None  # the key of the last observation added
        self._plans: dict[tuple[str, ...], Plan] = {}
        #: the dimensions whose codes may take part in a total (a new series asks only these)
        self._classified = tuple(
            i
            for i, d in enumerate(schema.dimensions)
            if d.codes is None or not d.codes.isdisjoint(VERSION_OF)
        )

    def slots(self, key: tuple[str, ...]) -> tuple[Slot, ...]:
        """The groups an observation with this series key takes part in."""
        return tuple(
            (index, key[:index] + _STAR + key[index + 1 :], key[index])
            for index in self._classified
            if index < len(key) and key[index] in VERSION_OF
        )

    def handles(self, slots: tuple[Slot, ...]) -> tuple[tuple[Columns, str], ...]:
        """Per slot, the open group's cells (created if needed) and the code."""
        found = []
        for index, rest, code in slots:
            window = self.open.get(index)
            if window is None:
                window = self.open[index] = {}
            columns = window.get(rest)
            if columns is None:
                columns = window[rest] = Columns()
            found.append((columns, code))
        return tuple(found)

    def moved(self, key: tuple[str, ...], emit: Emitter) -> None:
        """The stream goes on with series ``key``: check the groups it can no longer add to."""
        last, self.last = self.last, key
        if last is None:
            return
        differs = list(map(ne, last, key))
        if True not in differs:
            return
        common = differs.index(True)
        for index in [i for i in self.open if i > common]:
            self.flush(index, emit)
        if self.opened > MAX_OPEN_GROUPS:
            sizes = {i: sum(c.cells() for c in w.values()) for i, w in self.open.items()}
            self.opened = sum(sizes.values())
            while self.opened > MAX_OPEN_GROUPS and sizes:
                index = max(sizes, key=sizes.__getitem__)
                self.opened -= sizes.pop(index)
                self.flush(index, emit, early=True)

    def check(self, place: Place, emit: Emitter) -> None:
        """Add one observation (the :class:`Check` protocol; the pipeline adds directly)."""
        obs = place.obs
        if to_decimal(obs.value) is None:
            return
        if obs.key != self.last:
            self.moved(obs.key, emit)
        self.add(obs, self.handles(self.slots(obs.key)))

    def add(self, obs: Observation, handles: tuple[tuple[Columns, str], ...]) -> None:
        """Add an observation whose value is a number (``to_decimal`` reads it)."""
        number = to_decimal(obs.value)
        if number is None:
            return
        text = obs.value or ""
        decimals = _decimals(text)
        half = None if decimals is None else half_of(decimals)
        single = (obs.period, (float(number), half, text, obs.location))
        for columns, code in handles:
            columns.runs.append((code, single))
        self.opened += len(handles)

    def flush(self, index: int, emit: Emitter, *, early: bool = False) -> None:
        """Check and drop every open group of dimension ``index``.

        A group whose totals clearly hold in every period (checked column-wise) is done;
        any other is checked period by period, which alone reports.
        """
        window = self.open.pop(index, {})
        dim = self.dimension_ids[index]
        plan_of = self._plan_of
        for rest, columns in window.items():
            if early or not columns.clearly_clean(plan_of):
                self._check_periods(dim, rest, columns.by_period(), emit, early=early)

    def _plan_of(self, codes: tuple[str, ...]) -> Plan:
        return self._plans.get(codes) or self._plan(codes)

    def _check_periods(
        self, dim: str, rest: tuple[str, ...], window: Periods, emit: Emitter, *, early: bool
    ) -> None:
        """Check one group's totals and migrant pairs period by period."""
        for period, cells in window.items():
            if len(cells) < 2:
                self.unchecked += early  # its other cells may have come later
                continue
            plan = self._plan_of(tuple(cells))
            if early and not plan[2]:
                self.unchecked += 1
                continue
            get = cells.__getitem__
            for total, names, order in plan[0]:
                members = list(map(get, order))
                verdict = _float_verdict(members)
                if verdict is None:
                    verdict = _adds_up(members)
                if not verdict:
                    self._total(emit, dim, rest, period, total, names, members)
            for part, total in plan[1]:
                if _exceeds(cells[part], cells[total]):
                    self._migrants(emit, dim, (part, total), rest, period, cells)

    def finish(self, emit: Emitter) -> None:
        for index in sorted(self.open):
            self.flush(index, emit)
        self.opened = 0
        if self.unchecked:
            emit.at(
                "groups-not-checked",
                f"{self.unchecked:,} totals could not be checked: the data is not ordered by "
                "series key and too many were open at once.",
                Location(),
                suggestion="Sort the data by series key and period to have every total checked.",
            )

    def _plan(self, codes: tuple[str, ...]) -> Plan:
        """What to check in a group with these codes: totals (with the parts to add, in
        order), migrant pairs, and whether every category (optional ones too) is there."""
        present = set(codes)
        totals = []
        whole = True
        for version in sorted({VERSION_OF[c] for c in codes}):
            total, required, optional = _NAMES[version]
            if total not in present or any(c not in present for c in required):
                whole = False
                continue
            whole = whole and all(c in present for c in optional)
            names = (*required, *(c for c in optional if c in present))
            totals.append((total, names, (total, *names)))
        pairs = tuple((p, t) for p, t in MIGRANT_PARTS.items() if p in present and t in present)
        plan = self._plans[codes] = (tuple(totals), pairs, whole)
        return plan

    def _total(
        self,
        emit: Emitter,
        dim: str,
        rest: tuple[str, ...],
        period: str | None,
        total: str,
        names: tuple[str, ...],
        members: list[Cell],
    ) -> None:
        reported_text = members[0][2]
        texts = [m[2] for m in members[1:]]

        def issue() -> Issue:
            parts = sum((Decimal(t) for t in texts), Decimal(0))
            difference = Decimal(reported_text) - parts
            shown = " + ".join(names) if len(names) <= 5 else f"the {len(names)} categories"
            return make_issue(
                "total-mismatch",
                f"{total} = {reported_text} but {shown} = {parts} (difference {difference}).",
                _group_location(rest, dim, total, period, members[0][3]),
                expected=str(parts),
            )

        emit.lazy("total-mismatch", issue)

    @staticmethod
    def _migrants(
        emit: Emitter,
        dim: str,
        pair: tuple[str, str],
        rest: tuple[str, ...],
        period: str | None,
        cells: dict[str, Cell],
    ) -> None:
        part, total = pair
        _, _, text, where = cells[part]
        total_text = cells[total][2]
        emit.lazy(
            "migrants-exceed-total",
            lambda: make_issue(
                "migrants-exceed-total",
                f"{part} = {text} is greater than {total} = {total_text}.",
                _group_location(rest, dim, part, period, where),
                expected=f"at most {total_text}",
            ),
        )


def _adds_up(members: list[Cell]) -> bool:
    """Whether the total (first) is the sum of the parts within rounding: half a unit of the
    last reported decimal of each value. Floats when they can tell for sure, else Decimals
    (the caller may have tried the floats already)."""
    verdict = _float_verdict(members)
    if verdict is None:  # a close call or a number form floats may misjudge: exactly
        exact = [Decimal(m[2]) for m in members]
        tolerance = sum((half_unit(p) for p in exact), Decimal(0))
        verdict = abs(exact[0] - sum(exact[1:], Decimal(0))) <= tolerance
    return verdict


def _exceeds(part: Cell, total: Cell) -> bool:
    """Whether the part's value is greater than the total's (floats unless too close)."""
    a, b = part[0], total[0]
    if part[1] is not None and total[1] is not None and abs(a - b) > 1e-9 * (abs(a) + abs(b)):
        return a > b
    return Decimal(part[2]) > Decimal(total[2])


def half_of(decimals: int) -> float:
    """Half a unit of the last of ``decimals`` decimals, as a float (0.05 for 1)."""
    return _HALF[decimals] if decimals < len(_HALF) else 0.5 * 10.0**-decimals


def _decimals(text: str) -> int | None:
    """The decimals of a plain number text (digits, a dot, a sign); None for other forms."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body.replace(".", "", 1).isdecimal():
        return None
    dot = body.find(".")
    return len(body) - dot - 1 if dot >= 0 else 0


def _float_verdict(members: list[Cell]) -> bool | None:
    """Whether the total (first) is within rounding of its parts, when floats can tell for sure.

    True or False when the difference is farther from the tolerance than float rounding could
    move it; None for a close call or a number form (exponent…) left to exact :class:`Decimal`
    arithmetic. Saves the Decimals for the great majority of groups.
    """
    tolerance = parts = size = 0.0
    for number, half, _, _ in members[1:]:
        if half is None:
            return None
        tolerance += half
        parts += number
        size += abs(number)
    total, half, _, _ = members[0]
    if half is None:
        return None
    return _judge(abs(total - parts), 1e-9 * (abs(total) + size) + 1e-12, half + tolerance)


def _judge(difference: float, margin: float, tolerance: float) -> bool | None:
    if difference + margin < tolerance:
        return True
    if difference - margin > tolerance:
        return False
    return None


#: half a unit of the last decimal, by number of decimals
HALF_UNITS = _HALF = tuple(0.5 * 10.0**-d for d in range(40))


def _group_location(
    rest: tuple[str, ...], dim: str, code: str, period: str | None, where: str | None
) -> Location:
    key = ".".join(code if v == "*" else v for v in rest)
    return Location(
        **location_from_text(where),
        series_key=key,
        period=period,
        component=dim,
        value=code,
    )
