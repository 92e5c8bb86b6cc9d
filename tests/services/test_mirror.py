"""The mirror view DF_ILMS_MIRROR, computed from a small hand-made store.

Stored (all 2019 unless said; counts in thousands, the tables' UNIT_MULT 3):

- origin DF_MNA_OPOP_SEX_CDS_NB: PHL→SAU SEX_T 30.0 (2020: 40.0), PHL→SAU SEX_F 12.0,
  PHL→ARE SEX_T 10.0, PHL→TOTAL 100.0 and PHL→ASIA 60.0 (aggregates), IDN→SAU SEX_T 5.0,
  IDN→IDN 7.0 (its own country, not a migration);
- destination DF_MFL_NCIT_SEX_CCT_NB: SAU←PHL SEX_T 20.0 (2020: 40.0, OBS_STATUS E),
  SAU←PHL SEX_F 0, SAU←IND SEX_T 50.0, SAU←TOTAL 500.0 (aggregate), MYS←IDN SEX_T 8.0.

Nothing else is stored, so the pairs sharing one of these tables (OPOP_FPOP shares the origin
table, OEMP_NCIT the destination table) show one side only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exchange.errors import InvalidRequest
from exchange.model.records import Action, Observation
from exchange.model.store import StructureStore
from exchange.services.mirror import mirror_observations
from exchange.storage import DataStore
from exchange.validation import validate

ORIGIN_FLOW = "DF_MNA_OPOP_SEX_CDS_NB"
DESTINATION_FLOW = "DF_MFL_NCIT_SEX_CCT_NB"
OPOP_NCIT = "ILO:DF_MNA_OPOP_SEX_CDS_NB(1.0); ILO:DF_MFL_NCIT_SEX_CCT_NB(1.0)"
OPOP_FPOP = "ILO:DF_MNA_OPOP_SEX_CDS_NB(1.0); ILO:DF_MFL_FPOP_SEX_CBR_NB(1.0)"
OEMP_NCIT = "ILO:DF_MNA_OEMP_SEX_CDS_NB(1.0); ILO:DF_MFL_NCIT_SEX_CCT_NB(1.0)"
Row = tuple[str, str, str, str, str | None]  # key text, period, value, UNIT_MULT, OBS_STATUS


def origin(area: str, sex: str, partner: str, period: str, value: str, **attrs: str) -> Any:
    return Observation((area, "A", "MNA_OPOP_NB", sex, f"CDS_DES_{partner}"), period, value, attrs)


def destination(area: str, sex: str, partner: str, period: str, value: str, **attrs: str) -> Any:
    return Observation((area, "A", "MFL_NCIT_NB", sex, f"CCT_CTZ_{partner}"), period, value, attrs)


ORIGIN_ROWS = [
    origin("PHL", "SEX_T", "SAU", "2019", "30.0"),
    origin("PHL", "SEX_T", "SAU", "2020", "40.0"),
    origin("PHL", "SEX_F", "SAU", "2019", "12.0"),
    origin("PHL", "SEX_T", "ARE", "2019", "10.0"),
    origin("PHL", "SEX_T", "TOTAL", "2019", "100.0"),
    origin("PHL", "SEX_T", "ASIA", "2019", "60.0"),
    origin("IDN", "SEX_T", "SAU", "2019", "5.0"),
    origin("IDN", "SEX_T", "IDN", "2019", "7.0"),  # its own country: no migration
]
DESTINATION_ROWS = [
    destination("SAU", "SEX_T", "PHL", "2019", "20.0"),
    destination("SAU", "SEX_T", "PHL", "2020", "40.0", OBS_STATUS="E"),
    destination("SAU", "SEX_F", "PHL", "2019", "0"),
    destination("SAU", "SEX_T", "IND", "2019", "50.0"),
    destination("SAU", "SEX_T", "TOTAL", "2019", "500.0"),
    destination("MYS", "SEX_T", "IDN", "2019", "8.0"),
]

#: The whole view, in the order it must come out (series key text, then period).
FULL: list[Row] = [
    ("IDN.MYS.A.OEMP_NCIT.SEX_T.DESTINATION", "2019", "8.0", "3", None),
    ("IDN.MYS.A.OPOP_NCIT.SEX_T.DESTINATION", "2019", "8.0", "3", None),
    ("IDN.SAU.A.OPOP_FPOP.SEX_T.ORIGIN", "2019", "5.0", "3", None),
    ("IDN.SAU.A.OPOP_NCIT.SEX_T.ORIGIN", "2019", "5.0", "3", None),
    ("IND.SAU.A.OEMP_NCIT.SEX_T.DESTINATION", "2019", "50.0", "3", None),
    ("IND.SAU.A.OPOP_NCIT.SEX_T.DESTINATION", "2019", "50.0", "3", None),
    ("PHL.ARE.A.OPOP_FPOP.SEX_T.ORIGIN", "2019", "10.0", "3", None),
    ("PHL.ARE.A.OPOP_NCIT.SEX_T.ORIGIN", "2019", "10.0", "3", None),
    ("PHL.SAU.A.OEMP_NCIT.SEX_F.DESTINATION", "2019", "0", "3", None),
    ("PHL.SAU.A.OEMP_NCIT.SEX_T.DESTINATION", "2019", "20.0", "3", None),
    ("PHL.SAU.A.OEMP_NCIT.SEX_T.DESTINATION", "2020", "40.0", "3", "E"),
    ("PHL.SAU.A.OPOP_FPOP.SEX_F.ORIGIN", "2019", "12.0", "3", None),
    ("PHL.SAU.A.OPOP_FPOP.SEX_T.ORIGIN", "2019", "30.0", "3", None),
    ("PHL.SAU.A.OPOP_FPOP.SEX_T.ORIGIN", "2020", "40.0", "3", None),
    # 12 vs 0: no ratio (B = 0), asymmetry 2(12-0)/12 = 2
    ("PHL.SAU.A.OPOP_NCIT.SEX_F.ASYMMETRY", "2019", "2", "0", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_F.DESTINATION", "2019", "0", "3", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_F.ORIGIN", "2019", "12.0", "3", None),
    # 30 vs 20: 2(10)/50 = 0.4 and 1.5; 40 vs 40: 0 and 1
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.ASYMMETRY", "2019", "0.4", "0", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.ASYMMETRY", "2020", "0", "0", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.DESTINATION", "2019", "20.0", "3", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.DESTINATION", "2020", "40.0", "3", "E"),
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.ORIGIN", "2019", "30.0", "3", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.ORIGIN", "2020", "40.0", "3", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.RATIO", "2019", "1.5", "0", None),
    ("PHL.SAU.A.OPOP_NCIT.SEX_T.RATIO", "2020", "1", "0", None),
]


class Spy:
    """A DataStore stand-in recording what the mirror asks of the store."""

    def __init__(self, data: DataStore) -> None:
        self.data = data
        self.queries: list[tuple[str, Any]] = []
        self.availability_calls: list[tuple[str, Any]] = []

    def query(self, schema: Any, key_filter: Any = None, **kwargs: Any) -> Iterator[Observation]:
        self.queries.append((schema.dataflow.id, key_filter))
        return self.data.query(schema, key_filter, **kwargs)

    def availability(self, schema: Any, key_filter: Any = None, **kwargs: Any) -> Any:
        self.availability_calls.append((schema.dataflow.id, key_filter))
        return self.data.availability(schema, key_filter, **kwargs)


@pytest.fixture
def data(tmp_path: Path, store: StructureStore) -> Iterator[DataStore]:
    datastore = DataStore(f"sqlite:///{tmp_path / 'ilms.db'}")
    datastore.migrate()
    datastore.apply(store.schema(ORIGIN_FLOW), Action.APPEND, ORIGIN_ROWS)
    datastore.apply(store.schema(DESTINATION_FLOW), Action.APPEND, DESTINATION_ROWS)
    yield datastore
    datastore.close()


def key(*positions: str | None) -> list[frozenset[str] | None]:
    """A mirror key filter from REST-like parts (``"PHL+IDN"``; None or "" for any)."""
    padded = [*positions, *[None] * (6 - len(positions))]
    return [frozenset(p.split("+")) if p else None for p in padded]


def rows(observations: Iterator[Observation]) -> list[Row]:
    out = []
    for obs in observations:
        assert obs.value is not None
        assert obs.period is not None
        attrs = obs.attributes
        sources = {"OPOP_NCIT": OPOP_NCIT, "OPOP_FPOP": OPOP_FPOP, "OEMP_NCIT": OEMP_NCIT}
        assert attrs["SOURCE_DATAFLOWS"] == sources[obs.key[3]]
        assert set(attrs) <= {"SOURCE_DATAFLOWS", "UNIT_MULT", "OBS_STATUS"}
        row = (".".join(obs.key), obs.period, obs.value, attrs["UNIT_MULT"])
        out.append((*row, attrs.get("OBS_STATUS")))
    return out


def mirror(store: StructureStore, data: Any, key_filter: Any = None, **kw: Any) -> list[Row]:
    return rows(mirror_observations(store, data, key_filter, **kw))


def test_whole_view_in_key_order(store: StructureStore, data: DataStore) -> None:
    got = mirror(store, data)
    assert got == FULL
    assert [(r[0], r[1]) for r in got] == sorted((r[0], r[1]) for r in got)


def test_both_sides_one_side_and_aggregates(store: StructureStore, data: DataStore) -> None:
    got = mirror(store, data, key("PHL+IND", "SAU+ARE", "A", "OPOP_NCIT", "SEX_T"))
    assert got == [
        ("IND.SAU.A.OPOP_NCIT.SEX_T.DESTINATION", "2019", "50.0", "3", None),
        ("PHL.ARE.A.OPOP_NCIT.SEX_T.ORIGIN", "2019", "10.0", "3", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.ASYMMETRY", "2019", "0.4", "0", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.ASYMMETRY", "2020", "0", "0", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.DESTINATION", "2019", "20.0", "3", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.DESTINATION", "2020", "40.0", "3", "E"),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.ORIGIN", "2019", "30.0", "3", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.ORIGIN", "2020", "40.0", "3", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.RATIO", "2019", "1.5", "0", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_T.RATIO", "2020", "1", "0", None),
    ]
    # the aggregates (CDS_DES_TOTAL, CDS_DES_ASIA, CCT_CTZ_TOTAL) are no partner anywhere
    assert {r[0].split(".")[1] for r in mirror(store, data)} == {"ARE", "MYS", "SAU"}
    assert {r[0].split(".")[0] for r in mirror(store, data)} == {"IDN", "IND", "PHL"}


@pytest.mark.parametrize(
    ("parts", "position", "codes"),
    [
        (("PHL",), 0, {"PHL"}),
        (("IDN+IND",), 0, {"IDN", "IND"}),
        (("", "SAU"), 1, {"SAU"}),
        (("", "MYS+ARE"), 1, {"MYS", "ARE"}),
        (("", "", "", "OPOP_FPOP"), 3, {"OPOP_FPOP"}),
        (("", "", "", "OEMP_NCIT+OPOP_NCIT"), 3, {"OEMP_NCIT", "OPOP_NCIT"}),
        (("", "", "", "", "SEX_F"), 4, {"SEX_F"}),
        (("", "", "", "", "", "RATIO+ASYMMETRY"), 5, {"RATIO", "ASYMMETRY"}),
        (("", "", "", "", "", "DESTINATION"), 5, {"DESTINATION"}),
    ],
)
def test_filters_select_what_the_whole_view_has(
    store: StructureStore, data: DataStore, parts: tuple[str, ...], position: int, codes: set[str]
) -> None:
    expected = [r for r in FULL if r[0].split(".")[position] in codes]
    assert expected
    assert mirror(store, data, key(*parts)) == expected


def test_filters_combined(store: StructureStore, data: DataStore) -> None:
    assert mirror(store, data, key("PHL", "SAU", "A", "OPOP_NCIT", "SEX_F", "RATIO")) == []
    assert mirror(store, data, key("PHL", "SAU", "A", "OPOP_NCIT", "SEX_F", "ASYMMETRY")) == [
        ("PHL.SAU.A.OPOP_NCIT.SEX_F.ASYMMETRY", "2019", "2", "0", None)
    ]


@pytest.mark.parametrize(
    "parts",
    [
        ("KEN",),
        ("X40",),
        ("", "PHL"),
        ("", "", "M"),
        ("", "", "", "TPOP_NCTP"),
        ("", "", "", "", "_Z"),
    ],
)
def test_filters_with_nothing_to_show(
    store: StructureStore, data: DataStore, parts: tuple[str, ...]
) -> None:
    assert mirror(store, data, key(*parts)) == []


def test_periods(store: StructureStore, data: DataStore) -> None:
    assert mirror(store, data, start_period="2020") == [r for r in FULL if r[1] == "2020"]
    assert mirror(store, data, end_period="2019") == [r for r in FULL if r[1] == "2019"]
    assert mirror(store, data, start_period="2019", end_period="2020") == FULL
    assert mirror(store, data, start_period="2021") == []


def test_zero_denominators(store: StructureStore, data: DataStore) -> None:
    """0 vs 0: both reported values shown, neither ratio nor asymmetry (A + B = 0)."""
    data.apply(
        store.schema(ORIGIN_FLOW), Action.APPEND, [origin("PHL", "SEX_M", "SAU", "2019", "0")]
    )
    zero = destination("SAU", "SEX_M", "PHL", "2019", "0.0")
    data.apply(store.schema(DESTINATION_FLOW), Action.APPEND, [zero])
    assert mirror(store, data, key("PHL", "SAU", "A", "OPOP_NCIT", "SEX_M")) == [
        ("PHL.SAU.A.OPOP_NCIT.SEX_M.DESTINATION", "2019", "0.0", "3", None),
        ("PHL.SAU.A.OPOP_NCIT.SEX_M.ORIGIN", "2019", "0", "3", None),
    ]


def test_unit_multipliers_and_rounding(store: StructureStore, data: DataStore) -> None:
    """Each side scaled by its own UNIT_MULT: 1.2 million vs 800 thousand is 1.5; 2/3 → 0.6667."""
    tpop = store.schema("DF_MNA_TPOP_SEX_CRS_NB")
    nctp = store.schema("DF_MST_NCTP_SEX_CCT_NB")
    data.apply(
        tpop,
        Action.APPEND,
        [
            Observation(
                ("PHL", "A", "MNA_TPOP_NB", "SEX_T", "CRS_RES_SAU"),
                "2019",
                "1.2",
                {"UNIT_MULT": "6", "OBS_STATUS": "E"},
            ),
            Observation(("PHL", "A", "MNA_TPOP_NB", "SEX_T", "CRS_RES_SAU"), "2020", "2", {}),
        ],
    )
    data.apply(
        nctp,
        Action.APPEND,
        [
            Observation(("SAU", "A", "MST_NCTP_NB", "SEX_T", "CCT_CTZ_PHL"), "2019", "800", {}),
            Observation(("SAU", "A", "MST_NCTP_NB", "SEX_T", "CCT_CTZ_PHL"), "2020", "3", {}),
        ],
    )
    got = rows_of_pair(store, data, "TPOP_NCTP")
    assert got == [
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.ASYMMETRY", "2019", "0.4", "0", None),
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.ASYMMETRY", "2020", "-0.4", "0", None),
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.DESTINATION", "2019", "800", "3", None),
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.DESTINATION", "2020", "3", "3", None),
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.ORIGIN", "2019", "1.2", "6", "E"),
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.ORIGIN", "2020", "2", "3", None),
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.RATIO", "2019", "1.5", "0", None),
        ("PHL.SAU.A.TPOP_NCTP.SEX_T.RATIO", "2020", "0.6667", "0", None),
    ]


def rows_of_pair(store: StructureStore, data: DataStore, pair: str) -> list[Row]:
    found = mirror_observations(store, data, key("", "", "", pair))
    return [
        (
            ".".join(o.key),
            o.period or "",
            o.value or "",
            o.attributes["UNIT_MULT"],
            o.attributes.get("OBS_STATUS"),
        )
        for o in found
    ]


def test_output_is_valid_data_of_the_mirror_dataflow(
    store: StructureStore, data: DataStore
) -> None:
    schema = store.schema("DF_ILMS_MIRROR")
    found = list(mirror_observations(store, data))
    assert len(found) == len(FULL)
    for obs in found:
        assert len(obs.key) == len(schema.dimension_ids) == 6
        assert all(dim.allows(code) for dim, code in zip(schema.dimensions, obs.key, strict=True))
        assert all(schema.component(a).allows(v) for a, v in obs.attributes.items())
    report = validate(schema, found, rules=("structure",), full_codes=store.full_codes(schema))
    assert report.valid, report.issues[:5]


def test_a_named_origin_reads_only_its_slices(store: StructureStore, data: DataStore) -> None:
    spy = Spy(data)
    got = mirror(store, spy, key("PHL", "", "", "OPOP_NCIT"))
    assert got == [r for r in FULL if r[0].startswith("PHL.") and ".OPOP_NCIT." in r[0]]
    assert spy.availability_calls == []  # the origins are known: no listing
    assert spy.queries == [
        (ORIGIN_FLOW, [frozenset({"PHL"}), None, None, None, None]),
        (DESTINATION_FLOW, [None, None, None, None, frozenset({"CCT_CTZ_PHL"})]),
    ]


def test_a_named_destination_reads_only_its_slices(store: StructureStore, data: DataStore) -> None:
    spy = Spy(data)
    got = mirror(store, spy, key("", "SAU", "", "OPOP_NCIT", "SEX_T"))
    assert got == [r for r in FULL if ".SAU.A.OPOP_NCIT.SEX_T." in r[0]]
    sau, sex = frozenset({"SAU"}), frozenset({"SEX_T"})
    cds = frozenset({"CDS_DES_SAU"})
    assert spy.availability_calls == [
        (ORIGIN_FLOW, [None, None, None, sex, cds]),
        (DESTINATION_FLOW, [sau, None, None, sex, None]),
    ]
    origins = frozenset({"IDN", "IND", "PHL"})  # reporters to SAU, and SAU's partners
    assert spy.queries == [
        (ORIGIN_FLOW, [origins, None, None, sex, cds]),
        (DESTINATION_FLOW, [sau, None, None, sex, frozenset(f"CCT_CTZ_{o}" for o in origins)]),
    ]


def test_one_measure_reads_one_table(store: StructureStore, data: DataStore) -> None:
    spy = Spy(data)
    mirror(store, spy, key("PHL", "", "", "OPOP_NCIT", "", "ORIGIN"))
    assert [flow for flow, _ in spy.queries] == [ORIGIN_FLOW]


def test_a_key_of_the_wrong_size_is_refused(store: StructureStore, data: DataStore) -> None:
    with pytest.raises(InvalidRequest, match="6"):
        mirror_observations(store, data, [None, None])  # refused before streaming
