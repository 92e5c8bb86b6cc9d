"""A message that is SDMX-ML but not data (a structure message, a server's error) sent to be
validated or pushed: one clear issue saying what it is and what to send instead — not a
complaint that it is not "SDMX-ML 2.1 generic data" (the extension's first guess)."""

from __future__ import annotations

import io

import pytest

from exchange.model.store import StructureStore
from exchange.services.validate import validate_file
from tests.conftest import SAMPLES


@pytest.mark.parametrize(
    ("sample", "kind"),
    [
        ("04_ml21_structure-DSD-codelists-concepts_ECB-EXR_twg.xml", "Structure"),
        ("21_ml30_structure-DSD_ECB-EXR_twg.xml", "Structure"),
        ("08_ml30_codelist_ESTAT-FREQ_real.xml", "Structure"),
        ("12_ml21_error-150_FMR.xml", "Error"),
    ],
)
def test_a_message_without_data_says_what_it_is(
    store: StructureStore, sample: str, kind: str
) -> None:
    data = (SAMPLES / sample).read_bytes()
    report = validate_file(io.BytesIO(data), sample, store)
    assert [i.code for i in report.issues] == ["malformed-message"]
    message = report.issues[0].message
    assert message.startswith(f"This is an SDMX-ML {kind} message: it holds ")
    assert "not data" in message
    assert "generic" not in message


def test_data_messages_are_still_read(ecb_store: StructureStore) -> None:
    data = (SAMPLES / "01_ml21_generic-ts_ECB-EXR_twg.xml").read_bytes()
    report = validate_file(io.BytesIO(data), "exr.xml", ecb_store)
    assert "malformed-message" not in report.counts.by_code
    assert report.observations > 0
