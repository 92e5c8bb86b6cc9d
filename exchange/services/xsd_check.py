"""The XSD check of SDMX-ML data messages: one ``schema-invalid`` issue per XSD error.

Which messages, against what:

* SDMX-ML 2.1 generic data: the official ``SDMXMessage.xsd``, which describes it completely;
* SDMX-ML 2.1 structure-specific and SDMX-ML 3.0 (structure-specific) data: the official XSD of
  the version plus the DSD-specific XSD generated for the structure the header names
  (:func:`exchange.formats.dsd_xsd.dsd_xsd`), for its ``dimensionAtObservation`` and in the
  target namespace the header's ``message:Structure`` declares (else the namespace of the
  ``DataSet``'s ``xsi:type``). A message whose structure the store does not know cannot be
  checked so: it is skipped without an issue (reading it gives ``unknown-structure``).

Only uncompressed messages from a source that can be read twice (a file, bytes; not a pipe), up
to :data:`XSD_MAX_BYTES`: the XSD check holds the whole tree of an invalid message (libxml2 gives
lines only so), while the other checks stream, so a larger message gets the streaming checks
only. A message that is not well-formed is left to the reader, which says where. Parsing never
resolves an entity nor loads a DTD nor touches the network
(:func:`~exchange.formats.sdmxml.parse_document`); the schemas are local files and generated
text, and a message's ``xsi:schemaLocation`` is never followed. At most the first
:data:`~exchange.formats.xsd.FIRST_ERRORS` XSD errors are looked at, in bounded time
(:meth:`~exchange.formats.xsd.Validator.errors_in`).

What is not repeated (decision): the DSD-specific XSD also types each component's value, and
requires the dimensions. An XSD error that the streaming checks report as an error of their own,
per observation and with a better message, is left to them: a missing dimension or time period
(``missing-dimension``), a value of a coded component (``unknown-code``, ``code-not-allowed``,
with the likely code), a time period (``bad-period``), the value of a numeric measure
(``non-numeric-value``; an empty value is ``missing-value`` unless an ``OBS_STATUS`` explains it,
as in every format), a text longer than its maximum (``text-too-long``). What only the XSD sees
is reported: unknown or misplaced elements, attributes the structure does not have or at a level
where it does not put them (``OBS_STATUS`` on a ``Series``), header problems, values of other
text types (an ``Integer`` attribute).
"""

from __future__ import annotations

import io
import re
from typing import Any, BinaryIO

from exchange.errors import IlmsError
from exchange.formats import ml21_header
from exchange.formats import ml21_structure_specific as ss21
from exchange.formats import ml30_structure_specific as ss30
from exchange.formats.ml21_common import ML21, ML30, XSI, Dialect
from exchange.formats.xsd import SchemaError, message_validator, specific_validator
from exchange.model.catalog import SchemaSource
from exchange.model.schema import Role, Schema
from exchange.report import Issue, Location
from exchange.services.convert import SNIFF_BYTES, detect_format
from exchange.validation.catalogue import make_issue
from exchange.validation.structural import NUMERIC_TYPES

__all__ = ["XSD_FORMATS", "XSD_MAX_BYTES", "reported_by_checks", "xsd_issues"]

#: SDMX-ML data messages checked against an XSD, with their SDMX-ML version
XSD_FORMATS = {
    "sdmx-ml-2.1-generic": "2.1",
    "sdmx-ml-2.1-structurespecific": "2.1",
    "sdmx-ml-3.0": "3.0",
}
#: The XSD check holds an invalid message's tree: larger messages get the streaming checks only
XSD_MAX_BYTES = 32 * 1024 * 1024
#: Structure-specific formats: how their reader reads the header (roots, kind, dialect, refused)
_SPECIFIC: dict[str, tuple[tuple[str, ...], str, Dialect, tuple[Dialect, ...]]] = {
    "sdmx-ml-2.1-structurespecific": (ss21.ROOTS, ss21.KIND, ML21, ()),
    "sdmx-ml-3.0": (ss30.ROOTS, ss30.KIND, ML30, (ML21,)),
}
_NAMESPACE = re.compile(r"\{[^}]*\}")
_VALUE_ERROR = re.compile(r"Element '[^']*', attribute '([^'{}]+)': ")
_MISSING = re.compile(r"Element '[^']*': The attribute '([^'{}]+)' is required but missing")


def xsd_issues(
    source: BinaryIO,
    name: str,
    fmt: str | None,
    max_issues: int,
    *,
    store: SchemaSource | None = None,
) -> list[Issue]:
    """One ``schema-invalid`` issue per XSD error of an SDMX-ML message, at its line and column.

    ``store`` resolves the structure a structure-specific message names (without it, such
    messages are not checked). ``source`` is left where it was. See the module docstring.
    """
    found = _read_message(source, name, fmt)
    if found is None:
        return []
    fmt_name, body = found
    version = XSD_FORMATS[fmt_name]
    if fmt_name not in _SPECIFIC:
        errors = message_validator(version).errors_in(body, name=name) or []
        return [_issue(e, f"the SDMX-ML {version} schema") for e in errors[:max_issues]]
    target = _specific_target(body, name, fmt_name, store)
    if target is None:
        return []
    schema, dim, namespace = target
    try:
        validator = specific_validator(schema, dim, version, namespace)
    except IlmsError:
        return []  # a structure no XSD can describe (e.g. an id that is not an XML name)
    against = f"the SDMX-ML {version} schema and {_dsd_xsd_hint(schema, dim, version)}"
    errors = validator.errors_in(body, name=name) or []
    kept = [e for e in errors if not reported_by_checks(e, schema)]
    return [_issue(e, against) for e in kept[:max_issues]]


def reported_by_checks(error: SchemaError, schema: Schema) -> bool:
    """Whether the streaming checks report this XSD error of structure-specific data as an
    error of their own (see the module docstring): it is then not repeated."""
    missing = _MISSING.match(error.message)
    if missing is not None:
        time = schema.time_dimension
        return missing[1] in schema.dimension_ids or (time is not None and missing[1] == time.id)
    value = _VALUE_ERROR.match(error.message)
    if value is None or error.kind.startswith("SCHEMAV_CVC_COMPLEX_TYPE"):
        return False  # not about a value: e.g. an attribute that is not allowed there
    component = next((c for c in schema.components if c.id == value[1]), None)
    if component is None:
        return False
    return (
        component.codes is not None
        or component.role is Role.TIME
        or (component.role is Role.MEASURE and component.text_type in NUMERIC_TYPES)
        or (component.max_length is not None and "'maxLength'" in error.message)
    )


def _read_message(source: BinaryIO, name: str, fmt: str | None) -> tuple[str, bytes] | None:
    """The format name and whole text of a message to check, or None (see the module docstring)."""
    try:
        start = source.tell() if source.seekable() else None
    except (AttributeError, OSError):
        start = None
    if start is None:
        return None
    fmt_name, body = "", b""
    try:
        head = source.read(SNIFF_BYTES)
        fmt_name = detect_format(head, name, fmt).name
        source.seek(start)
        body = source.read(XSD_MAX_BYTES + 1) if fmt_name in XSD_FORMATS else b""
    except IlmsError:
        fmt_name = ""  # no format known: the reader says so
    finally:
        source.seek(start)
    if fmt_name not in XSD_FORMATS or len(body) > XSD_MAX_BYTES:
        return None
    return fmt_name, body


def _specific_target(
    body: bytes, name: str, fmt_name: str, store: SchemaSource | None
) -> tuple[Schema, str, str | None] | None:
    """The schema, ``dimensionAtObservation`` and target namespace a structure-specific message
    declares, read as its reader reads them; None when it cannot be checked."""
    if store is None:
        return None
    roots, kind, dialect, refuse = _SPECIFIC[fmt_name]
    try:
        reader = ml21_header.MessageReader(
            io.BytesIO(body), name=name, roots=roots, kind=kind, dialect=dialect, refuse=refuse
        )
        header = reader.header
        reference = header.structure_ref or header.namespace
        if not reference:
            return None
        schema = store.schema_for(reference)
        info = reader.info(schema)
        ml21_header.check_dimension_at_observation(info, name)
    except IlmsError:
        return None  # an unknown structure, an unreadable header: the reader reports it
    dim = info.dimension_at_observation
    if not dim:
        return None
    return schema, dim, header.namespace or _type_namespace(reader.dataset)


def _type_namespace(dataset: Any) -> str | None:
    """The namespace of the first ``DataSet``'s ``xsi:type`` (``ns1:DataSetType``)."""
    qname = dataset.get(f"{{{XSI}}}type") if dataset is not None else None
    if not qname:
        return None
    prefix, _, _ = str(qname).rpartition(":")
    namespace: str | None = dataset.nsmap.get(prefix or None)
    return namespace


def _dsd_xsd_hint(schema: Schema, dim: str, version: str) -> str:
    """Where the service gives the DSD-specific XSD: ``the XSD of ILO:DF_X(1.0) (SDMX-REST
    schema/dataflow/ILO/DF_X/1.0)``, with ``dimensionAtObservation`` when not time's."""
    ref = schema.dataflow or schema.dsd
    path = f"{'v2/' if version == '3.0' else ''}schema/{ref.kind.value}/{ref.agency}/{ref.id}"
    time = schema.time_dimension
    query = "" if time is not None and dim == time.id else f"?dimensionAtObservation={dim}"
    return f"the XSD of {ref} (SDMX-REST {path}/{ref.version}{query})"


def _issue(error: SchemaError, against: str) -> Issue:
    return make_issue(
        "schema-invalid",
        _NAMESPACE.sub("", error.message).strip().rstrip(".") + ".",
        Location(line=error.line, column=error.column or None),
        suggestion=f"Compare this part of the file with {against}, or export the file again.",
    )
