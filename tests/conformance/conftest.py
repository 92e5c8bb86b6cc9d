"""Conformance to the SDMX-REST OpenAPI definitions, checked with schemathesis.

The official OpenAPI files are kept, minimally patched, in ``tests/conformance/openapi/`` (see
``PATCHES.md`` there). Each operation the service implements is exercised with a bounded,
derandomised number of generated requests, sent in-process to one app holding the small known
dataset of the data API tests; every response must

* not be a server error (5xx),
* carry a status code the definition documents for the operation,
* carry a ``Content-Type`` the definition declares for that status (where it declares any),
* conform to the response schema (where one is defined).

Generated path parameters are random strings matching the definition's patterns, so most name
nothing the service holds; a flatmap hook mixes in identifiers that do exist (:data:`KNOWN` of
each test module), so that 200 answers are exercised as well as 404s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from exchange.model.records import Action
from exchange.storage import DataStore
from server.app import create_app
from server.settings import Settings
from tests.conftest import ROOT
from tests.server.test_data_support import FLOW, loaded

OPENAPI = Path(__file__).resolve().parent / "openapi"
#: Generated requests per operation (the suite must stay fast on two cores).
MAX_EXAMPLES = 25
SEED = 20240601
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: Path parameter name → values the service holds (or keywords it understands), per test module.
Known = Mapping[str, Sequence[Any]]


@pytest.fixture(scope="session")
def conformance_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The service over a fresh SQLite store holding DF_MST_TEMP_SEX_AGE_CBR_NB, 2019-2023."""
    database = tmp_path_factory.mktemp("conformance") / "ilms.db"
    app = create_app(Settings(structures_root=ROOT, database_url=f"sqlite:///{database}"))
    store: DataStore = app.state.data
    store.apply(app.state.store.schema(FLOW), Action.APPEND, loaded())
    return app


def load_schema(
    filename: str,
    base_url: str,
    known: Callable[[str], Known],
    implemented: Callable[[str, Mapping[str, Any]], bool],
) -> OpenApiSchema:
    """The patched definition, served from ``base_url``, with known identifiers mixed in.

    ``known(path)`` gives, for an operation's path template, the values to mix into its path
    parameters (all generated, some known, or all known). ``implemented(path, path_parameters)``
    is false for requests asking for what the service does not implement by design (501, tested
    on its own), which are left out.
    """
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "generation": {"mode": "positive", "deterministic": True},
        }
    )
    schema = schemathesis.openapi.from_path(OPENAPI / filename, config=config)

    @schema.hook
    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any]
    ) -> st.SearchStrategy[dict[str, Any]]:
        """The generated values, or known ones for some parameters, or known ones for all."""
        assert context.operation is not None
        values = known(context.operation.path)
        real, mixed = {}, {}
        for name, generated in path_parameters.items():
            options = list(values.get(name, ()))
            real[name] = st.sampled_from(options) if options else st.just(generated)
            mixed[name] = st.one_of(st.just(generated), real[name])
        known_only = st.fixed_dictionaries(real)
        return st.one_of(
            st.just(path_parameters), st.fixed_dictionaries(mixed), known_only, known_only
        )

    @schema.hook
    def filter_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any]
    ) -> bool:
        """Leave out what the service does not implement (501 by design)."""
        assert context.operation is not None
        return implemented(context.operation.path, path_parameters)

    @schema.hook
    def filter_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> bool:
        """``includeHistory=true``: the service keeps no history (501 by design)."""
        return str((query or {}).get("includeHistory", "false")).lower() != "true"

    @schema.hook
    def flatmap_query(
        context: schemathesis.HookContext, query: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        """The generated parameters, or none (random periods and dimensions mostly find nothing)."""
        return st.sampled_from([query, None])

    @schema.hook
    def flatmap_headers(
        context: schemathesis.HookContext, headers: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        """Ask for each media type the definition declares for 200 (or for none)."""
        assert context.operation is not None
        offered = [None, *media_types(context.operation)]
        return st.sampled_from(offered).map(
            lambda accept: headers if accept is None else {**(headers or {}), "Accept": accept}
        )

    return schema


def media_types(operation: Any) -> list[str]:
    """The media types the definition declares for a 200 answer of ``operation``."""
    ok = operation.responses.get("200")
    return sorted(ok.definition.get("content", {})) if ok is not None else []


def check_operation(schema: OpenApiSchema, method: str, path: str, app: FastAPI) -> None:
    """Send :data:`MAX_EXAMPLES` generated requests for one operation; every check must pass."""
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(app=app, checks=CHECKS)

    run()


def check_not_implemented(
    schema: OpenApiSchema,
    path: str,
    path_parameters: dict[str, Any],
    query: dict[str, Any] | None,
    app: FastAPI,
) -> None:
    """A request for what the service leaves out by design: 501, as the definition documents."""
    case = schema[path]["GET"].Case(path_parameters=path_parameters, query=query)
    response = case.call(app=app)
    assert response.status_code == 501, response.text
    case.validate_response(response, checks=[status_code_conformance, content_type_conformance])


def operations(paths: Sequence[str], xfail: Mapping[str, str]) -> Iterator[Any]:
    """``pytest.param`` per path, marked strict-xfail where :data:`xfail` gives a reason."""
    for path in paths:
        marks = [pytest.mark.xfail(strict=True, reason=xfail[path])] if path in xfail else []
        yield pytest.param(path, marks=marks, id=path)
