"""Every format → every other → back: the same observations, keys, attributes and action.

The per-format tests check each reader and writer against samples and oracles; this matrix checks
that they agree with each other, for ILMS data and for another agency's (ECB) data, through the
registry exactly as ``ilms convert`` uses it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable

import pytest

from exchange.formats import registry
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.schema import Schema
from exchange.model.store import StructureStore
from exchange.services.convert import convert, open_data, resolver_for
from tests.conftest import SAMPLES

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
#: Formats that carry every attribute at every level (Excel keeps series text and units only).
FULL = [f.name for f in registry.FORMATS if f.name != "excel"]
Plain = tuple[tuple[str, ...], str | None, str | None, tuple[tuple[str, str], ...]]


def ilms_observations() -> list[Observation]:
    """Three series, awkward text (quotes, commas, <&>, accents, a line break), a missing value."""
    notes = ['Definition of migrants: "non-citizens", incl. <refugees> & others', "Réfugiés; année"]
    out = []
    for n, (sex, place) in enumerate(itertools.product(("SEX_F", "SEX_M"), ("CBR_BIR_FOREIGN",))):
        key = ("PHL", "A", "MST_TEMP_NB", sex, "AGE_YTHADULT_YGE15", place)
        for year in (2019, 2020, 2021):
            attributes = {
                "UNIT_MEASURE_TYPE": "NB",
                "UNIT_MEASURE": "PS",
                "UNIT_MULT": "3",
                "SOURCE": "LFS - Labour Force Survey",
                "DECIMALS": "1",
                "NOTE_SOURCE": notes[n % 2],
            }
            if year == 2020:
                attributes["OBS_STATUS"] = "B"
            value = None if (n, year) == (1, 2021) else f"{100 + n * 10 + year % 10}.5"
            out.append(Observation(key, str(year), value, attributes))
    return out


def plain(observations: Iterable[Observation]) -> list[Plain]:
    return [(o.key, o.period, o.value, tuple(sorted(o.attributes.items()))) for o in observations]


def write(name: str, info: MessageInfo, observations: Iterable[Observation]) -> bytes:
    out = io.BytesIO()
    registry.by_name(name).writer(info, observations, out)
    return out.getvalue()


def through(body: bytes, source: str, target: str, store: StructureStore) -> bytes:
    """Convert like ``ilms convert`` does: sniff the input, resolve its structure, write."""
    out = io.BytesIO()
    result = convert(
        io.BytesIO(body), f"in-{source}", out, registry.by_name(target), resolver_for(store, FLOW)
    )
    assert result.input_format == source
    return out.getvalue()


def read(body: bytes, store: StructureStore) -> tuple[MessageInfo, list[Observation]]:
    _, stream = open_data(io.BytesIO(body), "back", resolver_for(store, FLOW))
    return stream.info, list(stream.observations)


@pytest.mark.parametrize(("source", "target"), list(itertools.permutations(FULL, 2)))
def test_every_pair_round_trips_ilms_data(source: str, target: str, store: StructureStore) -> None:
    schema = store.schema(FLOW)
    data = ilms_observations()
    original = write(source, MessageInfo(schema=schema, action=Action.REPLACE), data)
    there = through(original, source, target, store)
    back = through(there, target, source, store)
    info, observations = read(back, store)
    assert plain(observations) == plain(data)
    # SDMX-CSV 1.0 has no action column (the spec's): a message through it becomes Append
    carries_action = "sdmx-csv-1.0" not in (source, target)
    assert info.action is (Action.REPLACE if carries_action else Action.APPEND)
    assert info.schema.dataflow == schema.dataflow


@pytest.mark.parametrize("target", FULL)
def test_excel_round_trip_keeps_keys_values_and_series_text(
    target: str, store: StructureStore
) -> None:
    schema = store.schema(FLOW)
    data = [o for o in ilms_observations() if o.value is not None]
    workbook = write("excel", MessageInfo(schema=schema), data)
    there = through(workbook, "excel", target, store)
    _, observations = read(there, store)
    kept = ("UNIT_MEASURE_TYPE", "UNIT_MEASURE", "UNIT_MULT", "SOURCE", "NOTE_SOURCE")
    assert [(o.key, o.period, o.value) for o in observations] == [
        (o.key, o.period, o.value) for o in data
    ]
    assert [{k: o.attributes.get(k) for k in kept} for o in observations] == [
        {k: o.attributes.get(k) for k in kept} for o in data
    ]


def ecb_schema(ecb_store: StructureStore) -> Schema:
    return ecb_store.schema_for("ECB:ECB_EXR_NG(1.0)")


@pytest.mark.parametrize("target", FULL)
def test_ecb_sample_survives_every_format(target: str, ecb_store: StructureStore) -> None:
    """The TWG's structure-specific ECB sample, through any format and back, is unchanged."""
    sample = (SAMPLES / "03_ml21_structspecific-ts_ECB-EXR_twg.xml").read_bytes()
    resolve = resolver_for(ecb_store, "ECB:ECB_EXR_NG(1.0)")
    _, stream = open_data(io.BytesIO(sample), "03.xml", resolve)
    original = list(stream.observations)
    assert len(original) == 12
    out = io.BytesIO()
    registry.by_name(target).writer(stream.info, original, out)
    _, again = open_data(io.BytesIO(out.getvalue()), "again", resolve)
    assert plain(again.observations) == plain(original)
