"""The batch path's value patterns are possessive (faster); for a full match they must accept
exactly what the plain patterns accept: plain numbers with the decimals asked for."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.validation.run_values import RunValues

_TEXT = st.text("0123456789.|-e ", max_size=14)


def _plain_exact(decimals: int) -> re.Pattern[str]:
    one = rf"[0-9]+\.[0-9]{{{decimals}}}" if decimals else "[0-9]+"
    return re.compile(rf"{one}(?:\|{one})*")


def _plain_upto(limit: int | None) -> re.Pattern[str]:
    after = "[0-9]*" if limit is None else f"[0-9]{{0,{limit}}}"
    one = rf"[0-9]+(?:\.{after})?"
    return re.compile(rf"{one}(?:\|{one})*")


@pytest.mark.parametrize("decimals", [0, 1, 3])
@given(text=_TEXT)
def test_exact_decimals_pattern(decimals: int, text: str) -> None:
    ours = RunValues(rate=False).exact(decimals)
    assert bool(ours.fullmatch(text)) == bool(_plain_exact(decimals).fullmatch(text))


@pytest.mark.parametrize("limit", [None, 0, 2])
@given(text=_TEXT)
def test_at_most_decimals_pattern(limit: int | None, text: str) -> None:
    ours = RunValues(rate=False).upto(limit)
    assert bool(ours.fullmatch(text)) == bool(_plain_upto(limit).fullmatch(text))


def test_examples() -> None:
    assert RunValues(rate=False).exact(1).fullmatch("614.6|12.0|0.5")
    assert not RunValues(rate=False).exact(1).fullmatch("614.6|12|0.5")
    assert RunValues(rate=False).upto(2).fullmatch("614.6|12|0.55")
    assert not RunValues(rate=False).upto(2).fullmatch("614.6|12|0.555")
