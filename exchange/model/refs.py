"""References to maintainable SDMX artefacts: ``ILO:DF_MST_TEMP_SEX_AGE_CBR_NB(1.0)``.

One small immutable value type serves the store (its index key), the file layout of ``dsd/`` and
``codelists/`` (``AGENCY+ID+VERSION.xml``, the convention of the SDMX registry file exports) and
URNs (SDMX 2.1 Standards, Section 5, "URN structure").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from exchange.errors import InvalidRequest


class Kind(str, Enum):
    """Maintainable artefact classes we store, with their URN package and class (SDMX 2.1 §5)."""

    CODELIST = "codelist"
    CONCEPT_SCHEME = "conceptscheme"
    DATA_STRUCTURE = "datastructure"
    DATAFLOW = "dataflow"
    CONTENT_CONSTRAINT = "contentconstraint"
    CATEGORY_SCHEME = "categoryscheme"
    CATEGORISATION = "categorisation"
    DATA_PROVIDER_SCHEME = "dataproviderscheme"
    AGENCY_SCHEME = "agencyscheme"
    PROVISION_AGREEMENT = "provisionagreement"

    @property
    def urn_prefix(self) -> str:
        package, cls = _URN_PARTS[self]
        return f"urn:sdmx:org.sdmx.infomodel.{package}.{cls}="


_URN_PARTS: dict[Kind, tuple[str, str]] = {
    Kind.CODELIST: ("codelist", "Codelist"),
    Kind.CONCEPT_SCHEME: ("conceptscheme", "ConceptScheme"),
    Kind.DATA_STRUCTURE: ("datastructure", "DataStructure"),
    Kind.DATAFLOW: ("datastructure", "Dataflow"),
    Kind.CONTENT_CONSTRAINT: ("registry", "ContentConstraint"),
    Kind.CATEGORY_SCHEME: ("categoryscheme", "CategoryScheme"),
    Kind.CATEGORISATION: ("categoryscheme", "Categorisation"),
    Kind.DATA_PROVIDER_SCHEME: ("base", "DataProviderScheme"),
    Kind.AGENCY_SCHEME: ("base", "AgencyScheme"),
    Kind.PROVISION_AGREEMENT: ("registry", "ProvisionAgreement"),
}

_ID = r"[A-Za-z0-9_@$\-]+"
_REF_RE = re.compile(
    rf"^(?:(?P<agency>{_ID}(?:\.{_ID})*):)?(?P<id>{_ID})(?:\((?P<version>[0-9.]+)\))?$"
)


@dataclass(frozen=True, order=True)
class ArtefactRef:
    """Identity of one maintainable artefact."""

    kind: Kind
    agency: str
    id: str
    version: str = "1.0"

    @property
    def filename(self) -> str:
        """The file this artefact lives in: ``ILO+CL_SEX+1.0.xml``."""
        return f"{self.agency}+{self.id}+{self.version}.xml"

    @property
    def urn(self) -> str:
        return f"{self.kind.urn_prefix}{self.agency}:{self.id}({self.version})"

    def __str__(self) -> str:
        return f"{self.agency}:{self.id}({self.version})"

    @classmethod
    def parse(cls, kind: Kind, text: str, *, default_agency: str = "ILO") -> ArtefactRef:
        """Read ``ILO:DF_X(1.0)``, ``ILO,DF_X,1.0`` (SDMX-REST flowRef) or a bare ``DF_X``."""
        parts = text.split(",")
        if len(parts) in (2, 3):
            agency, ident = parts[0] or default_agency, parts[1]
            version = parts[2] if len(parts) == 3 and parts[2] else "1.0"
            return cls(kind, agency, ident, version)
        match = _REF_RE.match(text.strip())
        if not match:
            raise InvalidRequest(
                f"not an artefact reference: {text!r} (expected AGENCY:ID(VERSION))"
            )
        return cls(kind, match["agency"] or default_agency, match["id"], match["version"] or "1.0")
