"""SDMX-REST 2.0.0 (SDMX 3.0): the implemented operations against the official definition.

The service answers SDMX-REST 2.0 under ``/rest/v2``. The metadata operations (``/metadata/...``)
are left out: the service holds no reference metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI

from server.routers.structure_v2 import UNSUPPORTED
from tests.conformance.conftest import (
    Known,
    check_not_implemented,
    check_operation,
    load_schema,
    operations,
)
from tests.server.test_data_support import FLOW

SERIES = "PHL.A.MST_TEMP_NB.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL"
PATHS = [
    "/structure/{structureType}/{agencyID}/{resourceID}/{version}",
    "/structure/{itemSchemeType}/{agencyID}/{resourceID}/{version}/{itemID}",
    "/data/{context}/{agencyID}/{resourceID}/{version}/{key}",
    "/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}",
    "/schema/{context}/{agencyID}/{resourceID}/{version}",
]

#: Operations where the service (not the definition) is wrong: path → what is wrong.
XFAIL: dict[str, str] = {}

#: Array parameters (``style: simple``) reach the hooks serialised: comma-separated strings.
AGENCIES = ["*", "ILO", "ILO,SDMX"]
VERSIONS = ["*", "+", "~", "1.0.0", "1.0"]


def known(path: str) -> Known:
    if path.startswith("/schema/"):
        return {
            "context": ["dataflow", "datastructure"],
            "agencyID": ["ILO"],
            "resourceID": [FLOW, "ILMS_SEX_AGE_CBR"],
            "version": ["+", "~", "1.0.0"],
        }
    if path.startswith(("/data/", "/availability/")):
        return {
            "context": ["dataflow", "*"],
            "agencyID": AGENCIES,
            "resourceID": [FLOW],
            "version": VERSIONS,
            "key": ["*", SERIES, f"PHL.A.*.SEX_T.*.*,{SERIES}"],
            "componentID": ["*", "REF_AREA", "REF_AREA,SEX"],
        }
    return {
        "structureType": ["dataflow", "codelist", "datastructure", "dataconstraint"],
        "itemSchemeType": ["codelist", "conceptscheme", "agencyscheme", "dataproviderscheme"],
        "agencyID": AGENCIES,
        "resourceID": ["*", FLOW, "CL_SEX", "CL_SEX,CL_FREQ", "CS_ILMS"],
        "version": VERSIONS,
        "itemID": ["*", "SEX_T", "SEX_T,SEX_F", "REF_AREA", "PHL"],
    }


#: What the service does not implement (501 by design): structure types it holds none of (the
#: router's own list), data by DSD or provision agreement or across all dataflows, and schemas
#: of the metadata world or by provision agreement.
DATA_CONTEXTS_LEFT_OUT = ("datastructure", "provisionagreement")
SCHEMA_CONTEXTS_LEFT_OUT = ("metadatastructure", "metadataflow", "provisionagreement")


def implemented(path: str, path_parameters: Mapping[str, Any]) -> bool:
    if path.startswith("/structure/"):
        kind = path_parameters.get("structureType", path_parameters.get("itemSchemeType"))
        return kind not in UNSUPPORTED
    if path.startswith(("/data/", "/availability/")):
        return path_parameters["context"] not in DATA_CONTEXTS_LEFT_OUT and unquote(
            str(path_parameters["resourceID"])
        ) not in ("*", "all")
    return path_parameters["context"] not in SCHEMA_CONTEXTS_LEFT_OUT


SCHEMA = load_schema("sdmx-rest-v2.0.0.yaml", "http://testserver/rest/v2", known, implemented)


@pytest.mark.parametrize("path", list(operations(PATHS, XFAIL)))
def test_operation_conforms(path: str, conformance_app: FastAPI) -> None:
    check_operation(SCHEMA, "GET", path, conformance_app)


def test_every_implemented_resource_is_covered() -> None:
    defined: set[Any] = {operation.ok().path for operation in SCHEMA.get_all_operations()}
    assert set(PATHS) <= defined


DATA = "/data/{context}/{agencyID}/{resourceID}/{version}/{key}"
STRUCTURE = "/structure/{structureType}/{agencyID}/{resourceID}/{version}"


def _data(context: str, ident: str) -> dict[str, Any]:
    return {"context": context, "agencyID": "ILO", "resourceID": ident, "version": "~", "key": "*"}


@pytest.mark.parametrize(
    ("path", "path_parameters", "query"),
    [
        (
            STRUCTURE,
            {"structureType": "hierarchy", "agencyID": "*", "resourceID": "*", "version": "*"},
            None,
        ),
        (DATA, _data("datastructure", "ILMS_SEX_AGE_CBR"), None),
        (DATA, _data("dataflow", "*"), None),
        (DATA, _data("dataflow", FLOW), {"includeHistory": "true"}),
        (
            "/schema/{context}/{agencyID}/{resourceID}/{version}",
            {"context": "metadataflow", "agencyID": "ILO", "resourceID": "MDF", "version": "~"},
            None,
        ),
    ],
)
def test_left_out_requests_answer_501(
    path: str,
    path_parameters: dict[str, Any],
    query: dict[str, Any] | None,
    conformance_app: FastAPI,
) -> None:
    check_not_implemented(SCHEMA, path, path_parameters, query, conformance_app)
