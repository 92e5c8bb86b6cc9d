"""The batch path asks the attribute checks once per distinct mapping of a run: every mapping
of the run must be among them (up to equality), or the run goes the exact way (None)."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from exchange.validation.batch import _distinct

#: readers share one mapping per attribute combination; two equal ones may still come apart
POOL = [MappingProxyType({"OBS_STATUS": s}) for s in ("N", "E", "B", "P", "U", "X", "Z", "S")]
POOL += [MappingProxyType({}), MappingProxyType({}), MappingProxyType({"OBS_STATUS": "N"})]


@given(st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=60))
def test_every_mapping_is_represented(picks: list[int]) -> None:
    run = tuple(POOL[i] for i in picks)
    found = _distinct(run)
    if found is None:  # more than 8: the exact path takes the run
        assert len({id(m) for m in run}) > 8
        return
    assert all(any(m == d for d in found) for m in run)
    assert len({id(d) for d in found}) == len(found) <= 8
    assert {id(d) for d in found} <= {id(m) for m in run}


def test_a_run_opening_with_years_not_available() -> None:
    n, plain = POOL[0], POOL[8]
    assert _distinct((n, n, *[plain] * 20)) == [plain, n]
    assert _distinct((plain,) * 5) == [plain]
