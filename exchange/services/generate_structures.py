"""``ilms structures generate``: write ``dsd/`` from the ILMS catalogue and ILO's codelists.

Inputs: ``dsd/ilms-tables.csv``, ``dsd/ilms-providers.csv``, ``dsd/ilms-mirror-pairs.csv`` and the
codelists in ``codelists/``. Outputs, one maintainable artefact per file: the signature DSDs and
``ILMS_MIRROR``, a dataflow, an allowed constraint and a categorisation per table, the category
scheme by module, the data provider scheme, provision agreements, and the ILMS extension
codelists and concept scheme (in ``codelists/ilms-extensions/``). The output is deterministic
(fixed ``Prepared`` date, codelist order) so a test can regenerate and compare byte for byte.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from exchange.errors import InvalidStructure
from exchange.formats import structure_builders as sb
from exchange.formats.structure_ml21 import (
    Artefact,
    Item,
    header,
    read_item_schemes,
    structure_message,
)
from exchange.formats.structure_ml21 import artefact_of as _artefact
from exchange.model.ilms import (
    AGENCY,
    MODULES,
    Provider,
    Table,
    read_providers,
    read_tables,
)
from exchange.model.refs import Kind
from exchange.services import ilms_components as comp

log = logging.getLogger(__name__)

#: Where each generated kind goes, relative to the project root.
OUTPUT_DIRS: Mapping[Kind, str] = {
    Kind.DATA_STRUCTURE: "dsd/datastructures",
    Kind.DATAFLOW: "dsd/dataflows",
    Kind.CONTENT_CONSTRAINT: "dsd/constraints",
    Kind.CATEGORY_SCHEME: "dsd/categories",
    Kind.CATEGORISATION: "dsd/categories",
    Kind.DATA_PROVIDER_SCHEME: "dsd/providers",
    Kind.AGENCY_SCHEME: "dsd/providers",
    Kind.PROVISION_AGREEMENT: "dsd/provision-agreements",
    Kind.CODELIST: "codelists/ilms-extensions",
    Kind.CONCEPT_SCHEME: "codelists/ilms-extensions",
}
PREPARED = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORY_SCHEME = "CAS_ILMS"


@dataclass(frozen=True)
class Catalogue:
    """Everything the generator reads, loaded once."""

    tables: list[Table]
    providers: list[Provider]
    pairs: list[dict[str, str]]
    schemes: dict[str, list[Item]]

    @classmethod
    def load(cls, root: Path) -> Catalogue:
        ilo_files = sorted(str(p) for p in (root / "codelists").glob("*.xml"))
        if not ilo_files:
            raise InvalidStructure(
                "no codelists: run `ilms structures import-ilo FILE` first",
                where=str(root / "codelists"),
            )
        with (root / "dsd/ilms-mirror-pairs.csv").open(newline="", encoding="utf-8") as handle:
            pairs = list(csv.DictReader(handle))
        return cls(
            read_tables(root / "dsd/ilms-tables.csv"),
            read_providers(root / "dsd/ilms-providers.csv"),
            pairs,
            read_item_schemes(ilo_files),
        )

    def codes(self, codelist: str) -> list[Item]:
        if codelist not in self.schemes:
            raise InvalidStructure(f"codelist {codelist} is referenced but not in codelists/")
        return self.schemes[codelist]

    def publishable(self) -> list[Table]:
        """Tables whose MEASURE code ILO has published; the others wait for ILO (logged)."""
        measures = {item.id for item in self.codes("CL_MEASURE")}
        missing = [t.id for t in self.tables if t.measure not in measures]
        if missing:
            log.warning(
                "not generated, MEASURE code not in ILO's CL_MEASURE yet: %s", ", ".join(missing)
            )
        return [t for t in self.tables if t.measure in measures]


def _names(item: Item) -> dict[str, str]:
    return {lang: item.names[lang] for lang in ("en", "fr", "es") if lang in item.names}


def _dsds(cat: Catalogue, tables: list[Table]) -> list[Artefact]:
    concept_names = {i.id: _names(i) for i in cat.schemes["CS_CLASSIF_TYPE"]}
    signatures = {t.signature: t.classifications for t in tables}
    out = []
    for signature, classifications in sorted(signatures.items()):
        names = comp.dsd_names(classifications, concept_names)
        element = sb.data_structure(
            signature,
            names,
            comp.dimensions(classifications),
            comp.TIME,
            comp.ATTRIBUTES,
            comp.OBS_VALUE,
            annotations=[("MAXTEXTATTRIBUTELENGTH", "1024")],
        )
        out.append(_artefact(Kind.DATA_STRUCTURE, element))
    out.append(_artefact(Kind.DATA_STRUCTURE, comp.mirror_dsd()))
    return out


def _reporters(cat: Catalogue, module: str) -> list[str]:
    return [p.id for p in cat.providers if module in p.modules]


def _flow_artefacts(cat: Catalogue, table: Table) -> list[Artefact]:
    units = table.units
    annotations = [
        ("ILMS_MODULE", table.module),
        ("UNIT_MEASURE_TYPE", units.unit_measure_type),
        ("UNIT_MEASURE", units.unit_measure),
        ("UNIT_MULT", units.unit_mult),
        ("DECIMALS", str(units.decimals)),
    ]
    names = {"en": table.title}
    flow = sb.dataflow(table.dataflow_id, names, table.signature, annotations=annotations)
    key_values: dict[str, list[str]] = {
        "REF_AREA": _reporters(cat, table.module),
        "FREQ": ["A"],
        "MEASURE": [table.measure],
    }
    for classification in table.classifications:
        codes = [
            i.id
            for i in cat.codes(f"CL_{classification}")
            if table.allowed_code(classification, i.id)
        ]
        if not codes:
            raise InvalidStructure(
                f"{table.id}: no {classification} code of versions "
                f"{table.versions[classification]} in CL_{classification}"
            )
        key_values[classification] = codes
    constraint = sb.allowed_constraint(
        table.constraint_id, {"en": f"Allowed content of {table.id}"}, table.dataflow_id, key_values
    )
    categorisation = sb.categorisation(
        f"CAT_{table.dataflow_id}",
        {"en": f"{table.id} in {table.module}"},
        table.dataflow_id,
        CATEGORY_SCHEME,
        table.module,
    )
    return [
        _artefact(Kind.DATAFLOW, flow),
        _artefact(Kind.CONTENT_CONSTRAINT, constraint),
        _artefact(Kind.CATEGORISATION, categorisation),
    ]


def _mirror_flow(cat: Catalogue) -> list[Artefact]:
    flow = sb.dataflow(
        "DF_ILMS_MIRROR",
        {"en": "Mirror statistics of labour migration: origin vs destination [ILMS extension]"},
        "ILMS_MIRROR",
        annotations=[("ILMS_MODULE", "MIRROR")],
    )
    constraint = sb.allowed_constraint(
        "CR_DF_ILMS_MIRROR",
        {"en": "Allowed content of the mirror view"},
        "DF_ILMS_MIRROR",
        {"FREQ": ["A"], "MIRROR_PAIR": [p["id"] for p in cat.pairs]},
    )
    return [_artefact(Kind.DATAFLOW, flow), _artefact(Kind.CONTENT_CONSTRAINT, constraint)]


def _schemes(cat: Catalogue, tables: list[Table]) -> list[Artefact]:
    areas = {i.id: _names(i) for i in cat.codes("CL_AREA")}
    unknown = [p.id for p in cat.providers if p.id not in areas]
    if unknown:
        raise InvalidStructure(
            f"providers not in CL_AREA: {', '.join(unknown)}", where="ilms-providers.csv"
        )
    categories = sb.item_scheme(
        "CategoryScheme",
        "Category",
        CATEGORY_SCHEME,
        {"en": "ILMS: International Labour Migration Statistics"},
        [(m, {"en": title}, []) for m, title in MODULES.items()],
    )
    providers = sb.item_scheme(
        "DataProviderScheme",
        "DataProvider",
        "DATA_PROVIDERS",
        {"en": "ILMS reporting countries"},
        [(p.id, areas[p.id], [("REGION", p.region)]) for p in cat.providers],
        is_final=False,
    )
    agencies = sb.item_scheme(
        "AgencyScheme",
        "Agency",
        "AGENCIES",
        {"en": "SDMX agency scheme"},
        [(AGENCY, {"en": "International Labour Organization"}, [])],
        agency="SDMX",
        is_final=False,
    )
    out = [
        _artefact(Kind.CATEGORY_SCHEME, categories),
        _artefact(Kind.DATA_PROVIDER_SCHEME, providers),
        _artefact(Kind.AGENCY_SCHEME, agencies),
    ]
    for provider in cat.providers:
        for table in tables:
            if table.module in provider.modules:
                element = sb.provision_agreement(
                    f"PA_{provider.id}_{table.id}",
                    {"en": f"{provider.id} reports {table.id}"},
                    table.dataflow_id,
                    provider.id,
                )
                out.append(_artefact(Kind.PROVISION_AGREEMENT, element))
    return out


def _extensions(cat: Catalogue) -> list[Artefact]:
    return [_artefact(kind, element) for kind, element in comp.extension_schemes(cat.pairs)]


def build(root: Path) -> dict[Path, bytes]:
    """Every generated file (path relative to ``root``) and its content."""
    cat = Catalogue.load(root)
    tables = cat.publishable()
    artefacts = [*_extensions(cat), *_dsds(cat, tables), *_schemes(cat, tables), *_mirror_flow(cat)]
    for table in tables:
        artefacts.extend(_flow_artefacts(cat, table))
    files: dict[Path, bytes] = {}
    for artefact in artefacts:
        path = Path(OUTPUT_DIRS[artefact.ref.kind]) / artefact.ref.filename
        if path in files:
            raise InvalidStructure(f"two generated artefacts share the file {path}")
        files[path] = structure_message(
            [artefact], hdr=header(prepared=PREPARED, ident="ILMS-GENERATED")
        )
    return files


def stale(root: Path) -> list[str]:
    """What ``generate`` would change: files missing, different or no longer generated."""
    wanted = build(root)
    present = {
        p.relative_to(root) for d in set(OUTPUT_DIRS.values()) for p in (root / d).glob("*.xml")
    }
    problems = [f"missing {p}" for p in sorted(set(wanted) - present)]
    problems += [
        f"outdated {p}"
        for p in sorted(set(wanted) & present)
        if (root / p).read_bytes() != wanted[p]
    ]
    problems += [f"not generated any more {p}" for p in sorted(present - set(wanted))]
    return problems


def generate(root: Path) -> tuple[int, int]:
    """Write the generated files, remove ones no longer generated; (written, removed)."""
    wanted = build(root)
    written = 0
    for rel, content in wanted.items():
        path = root / rel
        if not path.exists() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written += 1
    removed = 0
    for directory in set(OUTPUT_DIRS.values()):
        for path in (root / directory).glob("*.xml"):
            if path.relative_to(root) not in wanted:
                path.unlink()
                removed += 1
    return written, removed
