"""Realistic, valid ILMS observations for benchmarks: a consistent cube, streamed in series order.

For DF_MST_TEMP_SEX_AGE_CBR_NB (22 countries x 4 sexes x 34 ages x 4 places of birth = 11,968
series), every year of every country is one cube built from its finest cells (sex M/F/O x
14 five-year age bands x place of birth NATIVE/FOREIGN/X) in integer tenths, so every aggregate is
an exact sum and written with one decimal:

- ``SEX_T`` = M + F + O; ``CBR_BIR_TOTAL`` = NATIVE + FOREIGN + X (foreign <= total);
- every age version (10-year and 5-year bands, aggregates, youth/adult) is summed from the
  five-year bands, so each version's total is the sum of its parts (Y25-64 = Y25-54 + Y55-64 …);
- values change by a few percent a year (never an implausible change), years end at
  ``LAST_YEAR`` (never in the future).

Observations come sorted by series key, then period (what a database export or an SDMX-ML
series message gives); one country's block (544 series x the years) is built at a time, so
memory is flat. Deterministic: no random state, the same ``n`` gives the same data. When ``n`` is
not a whole number of cubes, the remainder comes as an extra earlier year reported "not
available" (empty value, ``OBS_STATUS`` N) so that no total is cut in half.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from exchange.model.records import Observation
from exchange.services.structures import load_catalog

DATAFLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
LAST_YEAR = 2024
AREAS = (
    "ARE", "BHR", "BRN", "IDN", "IRQ", "JOR", "KHM", "KWT", "LAO", "LBN", "MMR",
    "MYS", "OMN", "PHL", "PSE", "QAT", "SAU", "SGP", "SYR", "THA", "VNM", "YEM",
)  # fmt: skip
SEXES = ("SEX_F", "SEX_M", "SEX_O", "SEX_T")
PLACES = ("CBR_BIR_FOREIGN", "CBR_BIR_NATIVE", "CBR_BIR_TOTAL", "CBR_BIR_X")
#: the finest cells: sexes, places of birth, and five-year bands [0-5), … [60-65), 65+
_SEX_PARTS = ("SEX_F", "SEX_M", "SEX_O")
_PLACE_PARTS = ("CBR_BIR_FOREIGN", "CBR_BIR_NATIVE", "CBR_BIR_X")
_BANDS = 14
_RANGE = re.compile(r"Y(\d\d)-(\d\d)")
ATTRIBUTES = {
    "UNIT_MEASURE_TYPE": "NB",
    "UNIT_MEASURE": "PS",
    "UNIT_MULT": "3",
    "SOURCE": "LFS - Labour Force Survey",
    "DECIMALS": "1",
}


def age_bands(code: str) -> tuple[int, ...]:
    """The five-year bands (0 = Y00-04 … 13 = YGE65) an AGE code covers."""
    label = code.rsplit("_", 1)[1]
    if label == "TOTAL":
        return tuple(range(_BANDS))
    if label.startswith("YGE"):
        return tuple(range(int(label[3:]) // 5, _BANDS))
    if label.startswith("YLT"):
        return tuple(range(int(label[3:]) // 5))
    match = _RANGE.fullmatch(label)
    if match is None:
        raise ValueError(f"not an age band: {code}")
    return tuple(range(int(match[1]) // 5, (int(match[2]) + 1) // 5))


def _mix(*numbers: int) -> int:
    """A deterministic pseudo-random 32-bit number from a few small ints (FNV-1a like)."""
    h = 0x811C9DC5
    for number in numbers:
        h = ((h ^ number) * 0x01000193) & 0xFFFFFFFF
    return h ^ (h >> 15)


def _base(area: int, sex: int, band: int, place: int) -> int:
    """A finest cell's value, in tenths of thousands, for the first year."""
    if band < 3:  # children: few
        size = 1 + _mix(area, sex, band, place) % 30
    else:
        size = 200 + _mix(area, sex, band, place) % 4000
    if place == 0:  # foreign-born: a share of the native-born
        size = size // 4 + 1
    elif place == 2:  # place of birth unknown: small
        size = size // 40 + 1
    if sex == 2:  # other: small
        size = size // 50 + 1
    return size


def _cells(area: int, years: range) -> dict[tuple[int, int, int], list[int]]:
    """(sex, band, place) → the finest cell's tenths, year by year."""
    cells = {}
    for s in range(len(_SEX_PARTS)):
        for b in range(_BANDS):
            for p in range(len(_PLACE_PARTS)):
                base, values = _base(area, s, b, p), []
                for t, year in enumerate(years):
                    growth = 1000 + 8 * t + _mix(area, year, s, b, p) % 41 - 20  # ±2 % a year
                    values.append(max(1, base * growth // 1000))
                cells[(s, b, p)] = values
    return cells


def _area_block(
    area: int, years: range, ages: list[str]
) -> Iterator[tuple[tuple[str, ...], list[int]]]:
    """(series key, value in tenths per year) for one country, in series key order."""
    cells = _cells(area, years)
    n = len(years)
    sex_parts = {"SEX_T": range(3), **{c: (i,) for i, c in enumerate(_SEX_PARTS)}}
    place_parts = {"CBR_BIR_TOTAL": range(3), **{c: (i,) for i, c in enumerate(_PLACE_PARTS)}}
    by_band: dict[tuple[str, int, str], list[int]] = {}  # sums over sexes and places first
    for sex, ss in sex_parts.items():
        for place, ps in place_parts.items():
            for b in range(_BANDS):
                parts = [cells[(s, b, p)] for s in ss for p in ps]
                by_band[(sex, b, place)] = [sum(v) for v in zip(*parts, strict=True)]
    for sex in SEXES:
        for age in ages:
            bands = age_bands(age)
            for place in PLACES:
                columns = [by_band[(sex, b, place)] for b in bands]
                sums = [sum(v) for v in zip(*columns, strict=True)] if n else []
                yield (AREAS[area], "A", "MST_TEMP_NB", sex, age, place), sums


def observations(n: int, ages: list[str] | None = None) -> Iterator[Observation]:
    """``n`` valid ILMS observations of DF_MST_TEMP_SEX_AGE_CBR_NB (see the module docs)."""
    if ages is None:
        ages = sorted(load_catalog().schema_for(DATAFLOW).component("AGE").codes or [])
    per_year = len(AREAS) * len(SEXES) * len(ages) * len(PLACES)
    whole, rest = divmod(n, per_year)
    years = range(LAST_YEAR - whole + 1, LAST_YEAR + 1)
    missing = {**ATTRIBUTES, "OBS_STATUS": "N"}
    extra = str(years.start - 1)
    for area in range(len(AREAS)):
        for key, values in _area_block(area, years, ages):
            if rest:  # the remainder: an earlier year, not available
                rest -= 1
                yield Observation(key, extra, None, missing)
            for year, tenths in zip(years, values, strict=True):
                yield Observation(key, str(year), f"{tenths // 10}.{tenths % 10}", ATTRIBUTES)
