"""The ILMS catalogue: the tables of the three modules and the reporting countries.

The source of truth is two small CSV files in ``dsd/`` that a statistician can read and edit in a
spreadsheet (``ilms-tables.csv``, ``ilms-providers.csv``); everything else in ``dsd/`` is generated
from them (``ilms structures generate``). Most of a table's shape follows from its ILOSTAT
indicator id, ``<MODULE>_<VARIABLE>_<classification types…>_<NB|RT>`` (ILMS-STRUCTURES.md §1), so
the CSV only says what the id cannot: the title, the units kind and any classification versions
that differ from the defaults below.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from exchange.errors import InvalidStructure

AGENCY = "ILO"
VERSION = "1.0"
MODULES: dict[str, str] = {
    "STOCK": "International migrant stock",
    "FLOW": "International migrant flows",
    "NATIONALS_ABROAD": "Nationals abroad",
}
#: Classification types that may appear in an ILMS indicator id, in their dimension order.
CLASSIFICATION_TYPES = ("SEX", "AGE", "EDU", "ECO", "OCU", "STE", "CBR", "CCT", "CDS", "CRS", "CPR")
#: Classification versions ILOSTAT accepts per type unless a table says otherwise (§3).
DEFAULT_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "SEX": ("T", "M", "F", "O"),
    "AGE": ("YTHADULT", "AGGREGATE", "10YRBANDS", "5YRBANDS"),
    "EDU": ("ISCED11", "ISCED97", "AGGREGATE"),
    "ECO": ("ISIC4", "ISIC3", "AGGREGATE", "SECTOR"),
    "OCU": ("ISCO08", "ISCO88", "SKILL"),
    "STE": ("ICSE93", "AGGREGATE"),
    "CBR": ("BIR",),
    "CCT": ("CIT",),
    "CDS": ("DES",),
    "CRS": ("RES",),
    "CPR": ("PRV",),
}


@dataclass(frozen=True)
class Units:
    """Unit attributes and decimals of a table (§2: counts, rates, earnings)."""

    unit_measure_type: str
    unit_measure: str
    unit_mult: str
    decimals: int


UNITS: Mapping[str, Units] = {
    "count": Units("NB", "PS", "3", 1),
    "rate": Units("RT", "PT", "0", 1),
    "earnings": Units("NB", "LC", "0", 2),
}


@dataclass(frozen=True)
class Table:
    """One ILMS table = one ILOSTAT indicator = one dataflow."""

    id: str
    module: str
    units_kind: str
    title: str
    classifications: tuple[str, ...]
    versions: Mapping[str, tuple[str, ...]] = field(hash=False)

    @property
    def measure(self) -> str:
        """The ``MEASURE`` code: the indicator id without its classification part."""
        parts = self.id.split("_")
        return f"{parts[0]}_{parts[1]}_{parts[-1]}"

    @property
    def signature(self) -> str:
        """The shared DSD id: ``ILMS_`` + the classification types (``ILMS_SEX_AGE_CBR``)."""
        return "ILMS_" + "_".join(self.classifications)

    @property
    def dataflow_id(self) -> str:
        return f"DF_{self.id}"

    @property
    def constraint_id(self) -> str:
        return f"CR_DF_{self.id}"

    @property
    def units(self) -> Units:
        return UNITS[self.units_kind]

    def allowed_code(self, classification: str, code: str) -> bool:
        """Whether ``code`` of ``CL_<classification>`` belongs to an allowed version of this table.

        ``SEX`` codes are whole codes (``SEX_T``); other types match the version prefix
        (``AGE_YTHADULT_`` admits ``AGE_YTHADULT_YGE15`` but not the version header itself).
        """
        versions = self.versions[classification]
        if classification == "SEX":
            return code in {f"SEX_{v}" for v in versions}
        return any(code.startswith(f"{classification}_{v}_") for v in versions)


@dataclass(frozen=True)
class Provider:
    """A reporting country: its id is its ``CL_AREA`` code."""

    id: str
    region: str
    modules: tuple[str, ...]


def _parse_versions(text: str, where: str) -> dict[str, tuple[str, ...]]:
    overrides: dict[str, tuple[str, ...]] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        kind, _, values = item.partition("=")
        if kind not in DEFAULT_VERSIONS or not values:
            raise InvalidStructure(f"bad classification versions {item!r}", where=where)
        overrides[kind] = tuple(v.strip() for v in values.split("|"))
    return overrides


def _table(row: Mapping[str, str], where: str) -> Table:
    ident = row["id"].strip()
    parts = ident.split("_")
    classifications = tuple(parts[2:-1])
    if (
        len(parts) < 4
        or parts[-1] not in ("NB", "RT")
        or any(c not in CLASSIFICATION_TYPES for c in classifications)
    ):
        raise InvalidStructure(
            f"indicator id {ident!r} does not follow MOD_VAR_CLASSIF…_NB|RT", where=where
        )
    if row["module"] not in MODULES or row["units"] not in UNITS:
        raise InvalidStructure(
            f"unknown module {row['module']!r} or units {row['units']!r}", where=where
        )
    versions = {c: DEFAULT_VERSIONS[c] for c in classifications}
    versions.update(_parse_versions(row.get("versions") or "", where))
    return Table(
        ident, row["module"], row["units"], row["title"].strip(), classifications, versions
    )


def read_tables(path: Path) -> list[Table]:
    """Read ``ilms-tables.csv``; errors name the file and row."""
    with path.open(newline="", encoding="utf-8") as handle:
        tables = [
            _table(row, f"{path.name}:{n}") for n, row in enumerate(csv.DictReader(handle), 2)
        ]
    seen: set[str] = set()
    for table in tables:
        if table.id in seen:
            raise InvalidStructure(f"table {table.id} listed twice", where=path.name)
        seen.add(table.id)
    return tables


def read_providers(path: Path) -> list[Provider]:
    """Read ``ilms-providers.csv``."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    providers = []
    for n, row in enumerate(rows, 2):
        modules = tuple(row["modules"].split())
        if any(m not in MODULES for m in modules):
            raise InvalidStructure(
                f"unknown module in {row['modules']!r}", where=f"{path.name}:{n}"
            )
        providers.append(Provider(row["id"].strip(), row["region"].strip(), modules))
    return providers


#: Codelists of the components every ILMS DSD has, besides the classification dimensions.
FIXED_CODELISTS = ("CL_AREA", "CL_FREQ", "CL_MEASURE")
ATTRIBUTE_CODELISTS = (
    "CL_OBS_STATUS",
    "CL_UNIT_MEASURE_TYPE",
    "CL_UNIT_MEASURE",
    "CL_UNIT_MULT",
    "CL_DECIMALS",
)
ILO_CONCEPT_SCHEMES = ("CS_ILOSTAT", "CS_CLASSIF_TYPE", "CS_NOTE_TYPE")


def ilo_artefacts_used(tables: list[Table]) -> frozenset[str]:
    """Ids of the ILO codelists and concept schemes the ILMS structures reference."""
    types = {c for table in tables for c in table.classifications}
    return frozenset(
        (*FIXED_CODELISTS, *ATTRIBUTE_CODELISTS, *ILO_CONCEPT_SCHEMES, *(f"CL_{t}" for t in types))
    )
