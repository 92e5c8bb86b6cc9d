"""The components of the ILMS DSDs, as ILOSTAT defines them (ILMS-STRUCTURES.md §2, §6).

Dimension ids, concepts and codelists are ILOSTAT's, and the 11 attributes follow ILO's DSD
``IMF_ILOSTAT`` exactly in order and attachment, which fixes the SDMX-CSV column order: a row of
ours is column for column a row of ILOSTAT's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from exchange.formats import structure_builders as sb
from exchange.formats.structure_builders import ComponentSpec, Element
from exchange.model.refs import Kind

ILOSTAT = "CS_ILOSTAT"
CLASSIF = "CS_CLASSIF_TYPE"
NOTES = "CS_NOTE_TYPE"
ILMS = "CS_ILMS"

REF_AREA = ComponentSpec("REF_AREA", ILOSTAT, "CL_AREA")
FREQ = ComponentSpec("FREQ", ILOSTAT, "CL_FREQ")
MEASURE = ComponentSpec("MEASURE", ILOSTAT, "CL_MEASURE")
TIME = ComponentSpec("TIME_PERIOD", ILOSTAT, text_type="ObservationalTimePeriod")
OBS_VALUE = ComponentSpec("OBS_VALUE", ILOSTAT, text_type="Double")
_NOTE_KEY = ("REF_AREA", "MEASURE", "TIME_PERIOD")
ATTRIBUTES: tuple[ComponentSpec, ...] = (
    ComponentSpec("OBS_STATUS", ILOSTAT, "CL_OBS_STATUS"),
    ComponentSpec("UNIT_MEASURE_TYPE", ILOSTAT, "CL_UNIT_MEASURE_TYPE", attached_to=("MEASURE",)),
    ComponentSpec("UNIT_MEASURE", ILOSTAT, "CL_UNIT_MEASURE", attached_to=("MEASURE",)),
    ComponentSpec("UNIT_MULT", ILOSTAT, "CL_UNIT_MULT", attached_to=("MEASURE",)),
    ComponentSpec("SOURCE", NOTES, text_type="String", max_length=1024, attached_to=_NOTE_KEY),
    ComponentSpec("NOTE_SOURCE", NOTES, text_type="String", max_length=1024, attached_to=_NOTE_KEY),
    ComponentSpec(
        "NOTE_INDICATOR", NOTES, text_type="String", max_length=1024, attached_to=_NOTE_KEY
    ),
    ComponentSpec("NOTE_CLASSIF", NOTES, text_type="String", max_length=1024),
    ComponentSpec("DECIMALS", ILOSTAT, "CL_DECIMALS"),
    ComponentSpec("UPPER_BOUND", ILOSTAT, text_type="String", max_length=1024),
    ComponentSpec("LOWER_BOUND", ILOSTAT, text_type="String", max_length=1024),
)


def dimensions(classifications: Sequence[str]) -> list[ComponentSpec]:
    """REF_AREA, FREQ, MEASURE, then one dimension per classification type (time comes last)."""
    return [
        REF_AREA,
        FREQ,
        MEASURE,
        *(ComponentSpec(c, CLASSIF, f"CL_{c}") for c in classifications),
    ]


def dsd_names(
    classifications: Sequence[str], concept_names: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """``ILMS tables by Sex, Age, Place of birth`` in each language ILO names the concepts in."""
    words = {"en": "ILMS tables by", "fr": "Tableaux ILMS par", "es": "Cuadros ILMS por"}
    names = {}
    for lang, lead in words.items():
        parts = [concept_names.get(c, {}).get(lang) for c in classifications]
        if all(parts):
            names[lang] = f"{lead} {', '.join(str(p) for p in parts)}"
    return names


def mirror_dsd() -> Element:
    """``ILMS_MIRROR`` (§6): origin vs destination; the SDMX 2.1 single primary measure is kept by
    a measure dimension ``MIRROR_MEASURE`` (origin value, destination value, ratio, asymmetry)."""
    dims = [
        REF_AREA,
        ComponentSpec("COUNTERPART_AREA", ILMS, "CL_AREA"),
        FREQ,
        ComponentSpec("MIRROR_PAIR", ILMS, "CL_MIRROR_PAIR"),
        ComponentSpec("SEX", CLASSIF, "CL_SEX"),
        ComponentSpec("MIRROR_MEASURE", ILMS, "CL_MIRROR_MEASURE"),
    ]
    attributes = (
        ComponentSpec(
            "SOURCE_DATAFLOWS",
            ILMS,
            text_type="String",
            max_length=1024,
            attached_to=("REF_AREA", "COUNTERPART_AREA", "MIRROR_PAIR"),
        ),
        ComponentSpec("OBS_STATUS", ILOSTAT, "CL_OBS_STATUS"),
        ComponentSpec("UNIT_MULT", ILOSTAT, "CL_UNIT_MULT", attached_to=("MIRROR_MEASURE",)),
    )
    return sb.data_structure(
        "ILMS_MIRROR",
        {"en": "ILMS mirror statistics: origin vs destination [ILMS extension]"},
        dims,
        TIME,
        attributes,
        OBS_VALUE,
        annotations=[("ILMS_EXTENSION", "Y")],
    )


_EXTENSION = ("ILMS_EXTENSION", "Y")
_NOT_ILO = {"en": "ILMS extension: not published by ILO. Kept apart from ILO's artefacts."}
MIRROR_MEASURES = (
    ("ORIGIN", "Reported by the origin country"),
    ("DESTINATION", "Reported by the destination country"),
    ("RATIO", "Ratio origin / destination"),
    ("ASYMMETRY", "Asymmetry index 2(A-B)/(A+B), A origin, B destination"),
)
ILMS_CONCEPTS = (
    ("COUNTERPART_AREA", "Counterpart area (destination country)"),
    ("MIRROR_PAIR", "Pair of tables compared"),
    ("MIRROR_MEASURE", "Mirror measure"),
    ("SOURCE_DATAFLOWS", "Source dataflows (origin; destination)"),
)


def extension_schemes(pairs: Sequence[Mapping[str, str]]) -> list[tuple[Kind, Element]]:
    """``CL_MIRROR_PAIR``, ``CL_MIRROR_MEASURE`` and ``CS_ILMS``, each marked as an extension."""
    pair_items = [
        (
            p["id"],
            {"en": p["name"]},
            [
                ("ORIGIN_DATAFLOW", f"DF_{p['origin']}"),
                ("DESTINATION_DATAFLOW", f"DF_{p['destination']}"),
            ],
        )
        for p in pairs
    ]
    return [
        (
            Kind.CODELIST,
            sb.item_scheme(
                "Codelist",
                "Code",
                "CL_MIRROR_PAIR",
                {"en": "Mirror pair of ILMS tables"},
                pair_items,
                annotations=[_EXTENSION],
                description=_NOT_ILO,
            ),
        ),
        (
            Kind.CODELIST,
            sb.item_scheme(
                "Codelist",
                "Code",
                "CL_MIRROR_MEASURE",
                {"en": "Mirror measure"},
                [(c, {"en": n}, []) for c, n in MIRROR_MEASURES],
                annotations=[_EXTENSION],
                description=_NOT_ILO,
            ),
        ),
        (
            Kind.CONCEPT_SCHEME,
            sb.item_scheme(
                "ConceptScheme",
                "Concept",
                ILMS,
                {"en": "ILMS extension concepts"},
                [(c, {"en": n}, []) for c, n in ILMS_CONCEPTS],
                annotations=[_EXTENSION],
                description=_NOT_ILO,
            ),
        ),
    ]
