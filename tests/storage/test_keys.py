"""Key filters compiled for the reader: only the filtered positions checked, keys spelled out."""

from __future__ import annotations

import pytest

from exchange.errors import InvalidRequest
from exchange.storage.keys import key_predicate, matches, parse_key, spelled_out

KEYS = ["PHL.A.SEX_F", "PHL.A.SEX_M", "MYS.A.SEX_F", "A-B.A.SEX_F", "A.A.SEX_F"]


@pytest.mark.parametrize("text", ["PHL..", "PHL+MYS..SEX_F", "..SEX_M", "..", "XXX.A."])
def test_predicate_agrees_with_matches(text: str) -> None:
    key_filter = parse_key(text, 3)
    wanted = key_predicate(key_filter)
    assert [wanted(k) for k in KEYS] == [matches(k.split("."), key_filter) for k in KEYS]


def test_predicate_refuses_a_filter_of_another_size() -> None:
    with pytest.raises(InvalidRequest, match="2 dimensions, the data 3"):
        key_predicate(parse_key("PHL.A", 2))("PHL.A.SEX_F")


def test_spelled_out_keys_are_sorted_as_text() -> None:
    # "A-B" sorts before "A." as text although ("A",) < ("A-B",) as tuples
    assert spelled_out(parse_key("A+A-B.A.SEX_F", 3), 10) == ["A-B.A.SEX_F", "A.A.SEX_F"]
    assert spelled_out(parse_key("PHL.A.SEX_F+SEX_M", 3), 10) == KEYS[:2]


def test_spelled_out_only_without_wildcards_and_within_the_limit() -> None:
    assert spelled_out(parse_key("PHL..SEX_F", 3), 10) is None
    assert spelled_out(parse_key("PHL+MYS.A.SEX_F+SEX_M", 3), 3) is None
    assert spelled_out(parse_key("PHL+MYS.A.SEX_F+SEX_M", 3), 4) is not None
