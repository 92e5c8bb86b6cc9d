"""The XSD check of SDMX-ML data messages (exchange.services.xsd_check), structure-specific ones
above all: the official XSDs plus the DSD-specific XSD of the message's dataflow."""

from __future__ import annotations

import dataclasses
import io
import re
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import sdmx.reader.xml.v30  # noqa: F401 - sdmx1's 3.0 reader must be built first (test_ml30)

from exchange.errors import NotFound
from exchange.formats import ml21_structure_specific as specific
from exchange.formats import registry, xsd
from exchange.formats.sdmxml import parse_document
from exchange.formats.xsd import SchemaError, specific_validator
from exchange.model.records import MessageInfo, Observation
from exchange.model.refs import ArtefactRef, Kind
from exchange.model.schema import Attachment, Component, Schema
from exchange.model.store import StructureStore
from exchange.report import Issue
from exchange.services import xsd_check
from exchange.services.structures import store_from_file
from exchange.services.validate import validate_file
from exchange.services.xsd_check import xsd_issues
from tests.conftest import SAMPLES

FLOW = "DF_MST_TEMP_SEX_AGE_CBR_NB"
#: one table of each module, a rate table, the mirror view
FLOWS = (
    FLOW,
    "DF_MST_TUNE_SEX_AGE_CCT_RT",
    "DF_MFL_FEMP_SEX_ECO_NB",
    "DF_MNA_XRET_SEX_CPR_NB",
    "DF_ILMS_MIRROR",
)
SPECIFIC = ("sdmx-ml-2.1-structurespecific", "sdmx-ml-3.0")
S03 = SAMPLES / "03_ml21_structspecific-ts_ECB-EXR_twg.xml"
S20 = SAMPLES / "20_ml30_structspecific-data_ECB-EXR_twg.xml"
S21 = SAMPLES / "21_ml30_structure-DSD_ECB-EXR_twg.xml"
UNKNOWN_ATTRIBUTE = (b"<Obs ", b'<Obs COMMENT="x" ')
UNITS = {"UNIT_MEASURE_TYPE": "NB", "UNIT_MEASURE": "PS", "UNIT_MULT": "3"}


def rows(schema: Schema) -> list[Observation]:
    """Two series (the first two codes of the first dimension after REF_AREA that has two) of
    two years, every attribute given (its first allowed code, or a text); the 2020 values are
    missing, with an OBS_STATUS saying why."""
    codes = [sorted(d.codes or ["X"]) for d in schema.dimensions]
    varying = next(i for i, c in enumerate(codes) if i and len(c) > 1)
    attributes = {a.id: sorted(a.codes)[0] if a.codes else "A note." for a in schema.attributes}
    status = attributes.pop("OBS_STATUS")
    out = []
    for code in codes[varying][:2]:
        key = tuple(code if i == varying else c[0] for i, c in enumerate(codes))
        out.append(Observation(key, "2019", "12.5", attributes))
        out.append(Observation(key, "2020", None, {**attributes, "OBS_STATUS": status}))
    return out


def valid_rows() -> list[Observation]:
    """Valid data of FLOW (no issue at all): totals of 2019 and 2020, 2021 not available."""
    out = []
    for year, values in (("2019", ("100.0", "60.0", "40.0")), ("2020", ("110.0", "65.0", "45.0"))):
        for sex, value in zip(("SEX_T", "SEX_M", "SEX_F"), values, strict=True):
            key = ("PHL", "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
            out.append(Observation(key, year, value, UNITS))
    for sex in ("SEX_T", "SEX_M", "SEX_F"):
        key = ("PHL", "A", "MST_TEMP_NB", sex, "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
        out.append(Observation(key, "2021", None, {**UNITS, "OBS_STATUS": "N"}))
    return out


def written(
    schema: Schema,
    fmt: str,
    dim: str = "TIME_PERIOD",
    observations: list[Observation] | None = None,
) -> bytes:
    out = io.BytesIO()
    given = rows(schema) if observations is None else observations
    registry.by_name(fmt).writer(
        MessageInfo(schema=schema), iter(given), out, dimension_at_observation=dim
    )
    return out.getvalue()


def valid(store: StructureStore, fmt: str) -> bytes:
    body = written(store.schema(FLOW), fmt, observations=valid_rows())
    assert validate_file(io.BytesIO(body), "data.xml", store).issues == []
    return body


def check(body: bytes, store: object, max_issues: int = 100) -> list[Issue]:
    return xsd_issues(io.BytesIO(body), "data.xml", None, max_issues, store=store)  # type: ignore[arg-type]


def lines(issues: list[Issue]) -> list[tuple[int | None, str]]:
    return [(i.location.line, i.message) for i in issues]


# -- what our writers write is valid ------------------------------------------------------------
@pytest.mark.parametrize("fmt", SPECIFIC)
@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("dim", ["TIME_PERIOD", "AllDimensions", "SEX"])
def test_written_messages_have_no_schema_issue(
    fmt: str, flow: str, dim: str, store: StructureStore
) -> None:
    body = written(store.schema(flow), fmt, dim)
    assert check(body, store) == []
    # the check did run: an attribute of no ILMS structure is one issue, at its Obs
    broken = body.replace(*UNKNOWN_ATTRIBUTE, 1)
    line = broken[: broken.index(b"COMMENT")].count(b"\n") + 1
    assert lines(check(broken, store)) == [
        (line, "Element 'Obs', attribute 'COMMENT': The attribute 'COMMENT' is not allowed.")
    ]


@pytest.mark.parametrize("fmt", SPECIFIC)
def test_validate_file_reports_schema_issues_with_line(fmt: str, store: StructureStore) -> None:
    body = valid(store, fmt).replace(b"<Series ", b'<Series OBS_STATUS="B" ', 1)
    report = validate_file(io.BytesIO(body), "data.xml", store)
    assert report.codes() == ["schema-invalid"]
    issue = report.issues[0]
    assert issue.location.line == body[: body.index(b"<Series ")].count(b"\n") + 1
    assert issue.message == (
        "Element 'Series', attribute 'OBS_STATUS': The attribute 'OBS_STATUS' is not allowed."
    )
    assert "schema/dataflow/ILO/DF_MST_TEMP_SEX_AGE_CBR_NB/1.0" in (issue.suggestion or "")


# -- not reported twice ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", SPECIFIC)
@pytest.mark.parametrize(
    ("pattern", "new", "code"),
    [
        (rb' SEX="[^"]*"', b"", "missing-dimension"),
        (rb'SEX="[^"]*"', b'SEX="SEX_FEM"', "unknown-code"),
        (rb'AGE="[^"]*"', b'AGE="AGE_ALLAGES_TOTAL"', "code-not-allowed"),
        (rb'UNIT_MULT="[^"]*"', b'UNIT_MULT="33"', "unknown-code"),
        (rb'TIME_PERIOD="2019"', b'TIME_PERIOD="19/01/2019"', "bad-period"),
        (rb'OBS_VALUE="12.5"', b'OBS_VALUE="12,5"', "non-numeric-value"),
        (rb'OBS_VALUE="12.5"', b'OBS_VALUE=""', "missing-value"),
        (rb'NOTE_SOURCE="[^"]*"', b'NOTE_SOURCE="' + b"x" * 1100 + b'"', "text-too-long"),
    ],
)
def test_what_other_checks_report_is_not_repeated(
    fmt: str, pattern: bytes, new: bytes, code: str, store: StructureStore
) -> None:
    """Decision: an XSD error the streaming checks report as an error (per observation, with a
    better message) is left to them; the file is invalid either way."""
    body, count = re.subn(pattern, new, written(store.schema(FLOW), fmt), count=1)
    assert count == 1
    assert check(body, store) == []
    report = validate_file(io.BytesIO(body), "data.xml", store)
    assert code in report.codes() and "schema-invalid" not in report.codes()


def test_an_empty_value_with_its_status_is_left_to_the_value_check(
    store: StructureStore,
) -> None:
    """``OBS_VALUE=""`` breaks ``xs:double``, but an OBS_STATUS explains a missing value in every
    format: not an issue here either (our writers leave the value out)."""
    body = valid(store, SPECIFIC[1])
    status = b' OBS_STATUS="'
    body = body.replace(status, b' OBS_VALUE=""' + status, 1)
    assert check(body, store) == []
    assert validate_file(io.BytesIO(body), "data.xml", store).issues == []


def test_reported_by_checks_keeps_what_only_the_xsd_sees(store: StructureStore) -> None:
    schema = store.schema(FLOW)

    def error(message: str, kind: str) -> SchemaError:
        return SchemaError(5, 0, message, kind)

    keep = [
        error(
            "Element 'Series', attribute 'OBS_STATUS': The attribute 'OBS_STATUS' is not allowed.",
            "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1",
        ),
        error("Element 'Series': The attribute 'FOO' is required but missing.", "X"),
        error("Element 'Comment': This element is not expected.", "SCHEMAV_ELEMENT_CONTENT"),
        error(
            "Element 'Obs', attribute 'NOTE_SOURCE': 'x' is not a valid value of 'xs:int'.",
            "SCHEMAV_CVC_DATATYPE_VALID_1_2_1",
        ),
    ]
    assert not any(xsd_check.reported_by_checks(e, schema) for e in keep)
    dropped = error("Element 'Obs': The attribute 'TIME_PERIOD' is required but missing.", "X")
    assert xsd_check.reported_by_checks(dropped, schema)


# -- other tools' messages ------------------------------------------------------------------------
@pytest.mark.parametrize("path", [S03, S20])
def test_samples_of_a_structure_we_do_not_have_are_skipped(
    path: Path, store: StructureStore
) -> None:
    assert check(path.read_bytes(), store) == []
    report = validate_file(io.BytesIO(path.read_bytes()), path.name, store)
    assert report.codes() == ["unknown-structure"]


def test_twg_21_sample_is_valid_against_the_xsd_we_generate(ecb_store: StructureStore) -> None:
    """The TWG's 2.1 sample declares its DSD's namespace (``DataStructure=ECB:ECB_EXR_NG``)."""
    body = S03.read_bytes()
    assert check(body, ecb_store) == []
    assert len(check(body.replace(*UNKNOWN_ATTRIBUTE, 1), ecb_store)) == 1


class OneFlow:
    """A schema source with ECB's EXR dataflow only."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def schema_for(self, text: str) -> Schema:
        if text.endswith("ECB:EXR(1.0)"):
            return self.schema
        raise NotFound(text)

    def full_codes(self, schema: Schema) -> Mapping[str, frozenset[str]]:
        return {}


def test_twg_30_sample_is_valid_against_the_xsd_we_generate() -> None:
    """The TWG's 3.0 sample, for the dataflow ECB:EXR of the 3.0 structure sample (its OBS_*
    attributes at the observation level, no codelists: as tests/formats/test_ml30.py's exr)."""
    dsd = store_from_file(S21).dsd_schema("ECB_EXR")

    def fix(component: Component) -> Component:
        attachment = component.attachment
        if component.id.startswith("OBS_") and attachment is Attachment.DATASET:
            attachment = Attachment.OBSERVATION
        return dataclasses.replace(component, codes=None, attachment=attachment)

    exr = dataclasses.replace(
        dsd,
        dataflow=ArtefactRef(Kind.DATAFLOW, "ECB", "EXR", "1.0"),
        dimensions=tuple(fix(d) for d in dsd.dimensions),
        attributes=tuple(fix(a) for a in dsd.attributes),
    )
    body = S20.read_bytes()
    assert check(body, OneFlow(exr)) == []
    assert len(check(body.replace(*UNKNOWN_ATTRIBUTE, 1), OneFlow(exr))) == 1


@pytest.mark.parametrize("fmt", SPECIFIC)
def test_the_namespace_the_message_declares(fmt: str, store: StructureStore) -> None:
    body = written(store.schema(FLOW), fmt)
    ours = b"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)"
    other = body.replace(ours + b":ObsLevelDim:TIME_PERIOD", b"urn:example:ilms:temp")
    assert other.count(b"urn:example:ilms:temp") == 2  # xmlns:ns1 and the header's namespace
    assert check(other, store) == []
    assert len(check(other.replace(*UNKNOWN_ATTRIBUTE, 1), store)) == 1


def test_compiled_schemas_are_cached(store: StructureStore) -> None:
    schema = store.schema(FLOW)
    first = specific_validator(schema, "TIME_PERIOD", "2.1")
    assert specific_validator(dataclasses.replace(schema), "TIME_PERIOD", "2.1") is first
    assert specific_validator(schema, "AllDimensions", "2.1") is not first
    assert specific_validator(schema, "TIME_PERIOD", "3.0") is not first


def test_max_issues(store: StructureStore) -> None:
    body = written(store.schema(FLOW), SPECIFIC[0]).replace(*UNKNOWN_ATTRIBUTE)
    assert len(check(body, store)) == 4
    assert len(check(body, store, max_issues=2)) == 2


def test_one_validator_shared_by_threads(store: StructureStore) -> None:
    good = written(store.schema(FLOW), SPECIFIC[0])
    bad = good.replace(*UNKNOWN_ATTRIBUTE)
    found: list[tuple[bool, int]] = []

    def run(body: bytes) -> None:
        for _ in range(10):
            found.append((body is bad, len(check(body, store))))

    threads = [threading.Thread(target=run, args=(b,)) for b in (good, bad, good, bad)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(found)) == [(False, 0), (True, 4)]


# -- hostile input --------------------------------------------------------------------------------
def test_entities_are_not_resolved(store: StructureStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    body = written(store.schema(FLOW), SPECIFIC[0])
    declaration, _, rest = body.partition(b"\n")
    doctype = f'<!DOCTYPE m [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'.encode()
    hostile = b"\n".join([declaration, doctype, rest.replace(b"<Obs ", b'<Obs NOTE="&x;" ', 1)])
    assert check(hostile, store) == []
    report = validate_file(io.BytesIO(hostile), "data.xml", store)
    assert report.codes() == ["malformed-message"]
    assert "SECRET" not in report.to_text()


def test_schema_location_is_never_fetched(store: StructureStore) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/dsd.xsd"
        body = written(store.schema(FLOW), SPECIFIC[0])
        namespace = b"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=ILO:DF_MST_TEMP"
        namespace += b"_SEX_AGE_CBR_NB(1.0):ObsLevelDim:TIME_PERIOD"
        located = body.replace(
            b"<message:StructureSpecificData ",
            b'<message:StructureSpecificData xsi:schemaLocation="'
            + namespace
            + b" "
            + url.encode()
            + b'" ',
            1,
        )
        assert check(located, store) == []
        with pytest.raises(BlockingIOError):
            server.accept()


def test_beyond_the_size_limit_only_the_streaming_checks(
    store: StructureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = valid(store, SPECIFIC[1]).replace(*UNKNOWN_ATTRIBUTE, 1)
    monkeypatch.setattr(xsd_check, "XSD_MAX_BYTES", len(body))
    assert len(check(body, store)) == 1
    monkeypatch.setattr(xsd_check, "XSD_MAX_BYTES", len(body) - 1)
    assert check(body, store) == []
    assert validate_file(io.BytesIO(body), "data.xml", store).issues == []


def test_a_source_read_once_is_not_checked(store: StructureStore) -> None:
    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    body = written(store.schema(FLOW), SPECIFIC[0]).replace(*UNKNOWN_ATTRIBUTE, 1)
    assert xsd_issues(Pipe(body), "data.xml", None, 100, store=store) == []


# -- many errors, long lists, big line numbers ----------------------------------------------------
def one_series(store: StructureStore, count: int) -> bytes:
    key = ("PHL", "A", "MST_TEMP_NB", "SEX_T", "AGE_10YRBANDS_TOTAL", "CBR_BIR_TOTAL")
    rows = [Observation(key, str(1000 + i % 9000), "1.0", UNITS) for i in range(count)]
    return written(store.schema(FLOW), SPECIFIC[0], observations=rows)


def test_an_error_in_every_observation_of_a_long_series_is_quick(store: StructureStore) -> None:
    """lxml locates an error by walking over the preceding siblings of its element: validated
    whole, 60,000 erring observations of one series take minutes. Validated a part at a time,
    and only up to the first FIRST_ERRORS errors, they take a moment."""
    body = one_series(store, 60_000).replace(*UNKNOWN_ATTRIBUTE)
    start = time.perf_counter()
    issues = check(body, store)
    assert time.perf_counter() - start < 15
    first = body[: body.index(b"<Obs ")].count(b"\n") + 1
    assert [i.location.line for i in issues] == list(range(first, first + 100))


def test_lines_beyond_65535(store: StructureStore) -> None:
    """Beyond line 65,535 libxml2 keeps an element's line in the whitespace after it, and
    counts the line where that ends (one more after an element that ends its line): the XSD
    issue names the line the reader gives the observation, as every other issue does."""
    body = one_series(store, 70_000)
    at = body.rindex(b"<Obs ")
    broken = body[:at] + b'<Obs COMMENT="x" ' + body[at + 5 :]
    *_, last = specific.read(io.BytesIO(broken), lambda ref: store.schema(FLOW), name="x")
    assert lines(check(broken, store)) == [
        (
            int(str(last.location).removeprefix("line ")),
            "Element 'Obs', attribute 'COMMENT': The attribute 'COMMENT' is not allowed.",
        )
    ]
    assert lines(check(broken, store))[0][0] in {broken[:at].count(b"\n") + k for k in (1, 2)}


@pytest.mark.parametrize(
    "positions",
    [[0], [7, 8, 9], [263, 264, 265, 266], [520, 999], list(range(0, 1000, 37))],
)
def test_validated_in_parts_as_validated_whole(
    positions: list[int], store: StructureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors at the edges of the parts (the first children kept, windows of 256 overlapping by
    one) and a misplaced element are found as when the whole message is validated."""
    monkeypatch.setattr(xsd, "_FEW", 0)  # validated in parts however few the errors
    schema = store.schema(FLOW)
    body = one_series(store, 1000)
    parts = body.split(b"<Obs ")
    for i in positions:
        parts[i + 1] = b'COMMENT="x" ' + parts[i + 1]
    broken = b"<Obs ".join(parts).replace(b"</Series>", b"<Annotations/></Series>", 1)
    validator = specific_validator(schema, "TIME_PERIOD", "2.1")
    whole = validator.errors(parse_document(broken, name="x", remove_blank_text=False))
    assert len(whole) == len(positions) + 1
    assert validator.errors_in(broken, name="x") == whole
