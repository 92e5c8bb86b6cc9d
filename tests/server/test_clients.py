"""Real SDMX clients against the service over a real socket (uvicorn on a loopback port).

sdmx1 (``sdmx.Client`` with a custom source) reads the SDMX-REST 1.5 API in SDMX-ML 2.1;
pysdmx reads it through its generic ``RestService`` (1.5 syntax, SDMX-ML 2.1) and through its
``RegistryClient``, which speaks SDMX-REST 2.0 with SDMX-JSON 2.0.0, against ``/rest/v2``.
"""

from __future__ import annotations

import gzip
import http.client
from typing import Any
from urllib.parse import urlsplit

import pytest
import sdmx
from pysdmx.api.fmr import RegistryClient
from pysdmx.api.qb import ApiVersion, RestService, StructureQuery, StructureType
from pysdmx.api.qb.structure import StructureFormat
from pysdmx.io import read_sdmx

from exchange.model.refs import ArtefactRef, Kind
from exchange.model.store import StructureStore

DSD = "ILMS_SEX_AGE_CBR"


@pytest.fixture(scope="module")
def sdmx1_client(live_url: str) -> sdmx.Client:
    sdmx.add_source(
        {"id": "ILMS", "url": f"{live_url}/rest", "name": "ILMS Exchange (test)"}, override=True
    )
    return sdmx.Client("ILMS")


def test_sdmx1_dataflows(sdmx1_client: sdmx.Client, store: StructureStore) -> None:
    # sdmx1 puts the source id in the agency slot by default: ILMS is not an agency, ILO is
    message = sdmx1_client.dataflow(agency_id="ILO")
    assert sorted(message.dataflow) == sorted(f.id for f in store.dataflows())
    assert len(message.dataflow) == 57


def test_sdmx1_default_agency_is_the_source_id(sdmx1_client: sdmx.Client) -> None:
    with pytest.raises(Exception, match="404"):
        sdmx1_client.dataflow()


def test_sdmx1_datastructure_with_children(
    sdmx1_client: sdmx.Client, store: StructureStore
) -> None:
    message = sdmx1_client.datastructure(DSD, agency_id="ILO", params={"references": "children"})
    dsd = message.structure[DSD]
    ours = store.get(ArtefactRef(Kind.DATA_STRUCTURE, "ILO", DSD, "1.0"))
    assert [d.id for d in dsd.dimensions] == [d.id for d in ours.dimensions]
    assert len(dsd.dimensions) == 7
    assert _codelist_ids(dsd.dimensions) == _codelist_ids(ours.dimensions)
    assert _codelist_ids(dsd.attributes) == _codelist_ids(ours.attributes)
    defined = sorted(c for c, cl in message.codelist.items() if not cl.is_external_reference)
    assert len(defined) == 11
    for ident in defined:
        assert [c.id for c in message.codelist[ident]] == [c.id for c in store.codelist(ident)]
    assert sorted(message.concept_scheme) == ["CS_CLASSIF_TYPE", "CS_ILOSTAT", "CS_NOTE_TYPE"]


def _codelist_ids(components: Any) -> dict[str, str]:
    out = {}
    for component in components:
        rep = component.local_representation
        if rep is not None and rep.enumerated is not None:
            out[component.id] = rep.enumerated.id
    return out


def test_sdmx1_codelist(sdmx1_client: sdmx.Client) -> None:
    message = sdmx1_client.codelist("CL_SEX", agency_id="ILO")
    assert [c.id for c in message.codelist["CL_SEX"]] == ["SEX_T", "SEX_M", "SEX_F", "SEX_O", "_Z"]


def test_pysdmx_rest_service_v15(live_url: str) -> None:
    service = RestService(
        f"{live_url}/rest", ApiVersion.V1_5_0, structure_format=StructureFormat.SDMX_ML_2_1
    )
    query = StructureQuery(StructureType.CODELIST, "ILO", "CL_SEX", "latest")
    body = service.structure(query)
    (codelist,) = read_sdmx(body.decode("utf-8")).structures
    assert codelist.id == "CL_SEX"
    assert [c.id for c in codelist] == ["SEX_T", "SEX_M", "SEX_F", "SEX_O", "_Z"]


def test_pysdmx_registry_client_v2(live_url: str, store: StructureStore) -> None:
    client = RegistryClient(f"{live_url}/rest/v2")
    codes = client.get_codes("ILO", "CL_SEX")
    assert [c.id for c in codes] == ["SEX_T", "SEX_M", "SEX_F", "SEX_O", "_Z"]
    assert len(client.get_dataflows("ILO")) == 57
    (dsd,) = client.get_data_structures("ILO", DSD, "1.0")
    ours = store.get(ArtefactRef(Kind.DATA_STRUCTURE, "ILO", DSD, "1.0"))
    assert [c.id for c in dsd.components.dimensions] == [d.id for d in ours.dimensions]
    assert {
        c.id: c.local_codes.id for c in dsd.components.dimensions if c.local_codes is not None
    } == _codelist_ids(ours.dimensions)
    concepts = client.get_concepts("ILO", "CS_CLASSIF_TYPE")
    assert "SEX" in [c.id for c in concepts]


def test_gzip_on_the_wire(live_url: str) -> None:
    parts = urlsplit(live_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    connection.request("GET", "/rest/dataflow", headers={"Accept-Encoding": "gzip"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert body[:2] == b"\x1f\x8b"
    assert gzip.decompress(body).startswith(b"<?xml")
