"""SDMX-REST 1.5.0 (SDMX 2.1): the implemented operations against the official definition.

The service answers SDMX-REST 1.5 under ``/rest``. Resources the service does not hold (501 by
design) are left out; so are the metadata resources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conformance.conftest import (
    Known,
    check_not_implemented,
    check_operation,
    load_schema,
    operations,
)
from tests.server.test_data_support import FLOW

SERIES = "PHL.A.MST_TEMP_NB.SEX_T.AGE_10YRBANDS_TOTAL.CBR_BIR_TOTAL"
#: Resource → identifiers of artefacts of that type the service holds.
IDS: dict[str, Sequence[str]] = {
    "dataflow": [FLOW],
    "datastructure": ["ILMS_SEX_AGE_CBR"],
    "codelist": ["CL_SEX", "CL_FREQ+CL_SEX"],
    "conceptscheme": ["CS_ILMS"],
    "categoryscheme": ["CAS_ILMS"],
    "categorisation": [f"CAT_{FLOW}"],
    "contentconstraint": [f"CR_{FLOW}"],
    "dataproviderscheme": ["DATA_PROVIDERS"],
    "agencyscheme": ["AGENCIES"],
    "provisionagreement": ["PA_PHL_MST_TEMP_SEX_AGE_CBR_NB"],
    "structure": ["CL_SEX", FLOW],
}
ITEMS: dict[str, Sequence[str]] = {
    "codelist": ["SEX_T", "SEX_T+SEX_F"],
    "conceptscheme": ["REF_AREA", "SEX"],
    "categoryscheme": ["MST"],
    "dataproviderscheme": ["PHL", "PHL+MYS"],
    "agencyscheme": ["ILO"],
}
ITEM_SCHEMES = list(ITEMS)

PATHS = [
    *(f"/{resource}/{{agencyID}}/{{resourceID}}/{{version}}" for resource in IDS),
    *(f"/{resource}/{{agencyID}}/{{resourceID}}/{{version}}/{{itemID}}" for resource in ITEMS),
    "/data/{flow}/{key}/{provider}",
    "/availableconstraint/{flow}/{key}/{provider}/{componentID}",
    "/schema/{context}/{agencyID}/{resourceID}/{version}",
]

#: Operations where the service (not the definition) is wrong: path → what is wrong.
XFAIL: dict[str, str] = {}


def known(path: str) -> Known:
    resource = path.split("/")[1]
    if resource in ("data", "availableconstraint"):
        return {
            "flow": [FLOW, f"ILO,{FLOW}", f"ILO,{FLOW},1.0", f"ILO,{FLOW},latest"],
            "key": ["all", SERIES, "PHL+MYS.A..SEX_T+SEX_F..", "....."],
            "provider": ["all", "ILO,PHL"],
            "componentID": ["all", "REF_AREA", "SEX"],
        }
    if resource == "schema":
        return {
            "agencyID": ["ILO"],
            "resourceID": [FLOW, "ILMS_SEX_AGE_CBR", "PA_PHL_MST_TEMP_SEX_AGE_CBR_NB"],
            "version": ["latest", "1.0"],
        }
    return {
        "agencyID": ["all", "ILO", "SDMX", "ILO+SDMX"],
        "resourceID": ["all", *IDS[resource]],
        "version": ["all", "latest", "1.0"],
        "itemID": ["all", *ITEMS.get(resource, ())],
    }


#: Schema contexts the service does not implement (501 by design).
UNIMPLEMENTED_CONTEXTS = ("metadatastructure", "metadataflow", "provisionagreement")


def implemented(path: str, path_parameters: Mapping[str, Any]) -> bool:
    return path_parameters.get("context") not in UNIMPLEMENTED_CONTEXTS


SCHEMA = load_schema("sdmx-rest-v1.5.0.yaml", "http://testserver/rest", known, implemented)


@pytest.mark.parametrize("path", list(operations(PATHS, XFAIL)))
def test_operation_conforms(path: str, conformance_app: FastAPI) -> None:
    check_operation(SCHEMA, "GET", path, conformance_app)


def test_every_implemented_resource_is_covered() -> None:
    defined: set[Any] = {operation.ok().path for operation in SCHEMA.get_all_operations()}
    assert set(PATHS) <= defined


@pytest.mark.parametrize(
    ("path", "path_parameters", "query"),
    [
        (
            "/schema/{context}/{agencyID}/{resourceID}/{version}",
            {"context": context, "agencyID": "ILO", "resourceID": ident, "version": "latest"},
            None,
        )
        for context, ident in [
            ("provisionagreement", "PA_PHL_MST_TEMP_SEX_AGE_CBR_NB"),
            ("metadataflow", "MDF"),
            ("metadatastructure", "MSD"),
        ]
    ]
    + [
        (
            "/data/{flow}/{key}/{provider}",
            {"flow": FLOW, "key": "all", "provider": "all"},
            {"includeHistory": "true"},
        )
    ],
)
def test_left_out_requests_answer_501(
    path: str,
    path_parameters: dict[str, Any],
    query: dict[str, Any] | None,
    conformance_app: FastAPI,
) -> None:
    check_not_implemented(SCHEMA, path, path_parameters, query, conformance_app)
