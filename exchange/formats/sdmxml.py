"""SDMX-ML 2.1 namespaces and a hardened XML parser, shared by every SDMX-ML module.

The parser never resolves entities, never loads a DTD and never touches the network: an SDMX
message has no use for any of them, and each is an attack (XXE, billion laughs). ``huge_tree`` stays
off so that libxml2's own limits on depth and text size apply.
"""

from __future__ import annotations

from typing import IO

from lxml import etree

from exchange.errors import InvalidStructure

MES = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
STR = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
COM = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {"message": MES, "structure": STR, "common": COM}


def safe_parser(*, remove_blank_text: bool = True) -> etree.XMLParser:
    """A parser that refuses everything an SDMX message does not need.

    ``remove_blank_text=False`` keeps the whitespace between elements, where libxml2 keeps the
    line numbers above 65,535: needed wherever an element's line is reported (the XSD check).
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=remove_blank_text,
    )


def parse_document(
    source: bytes | IO[bytes], *, name: str, remove_blank_text: bool = True
) -> etree._ElementTree:
    """Parse a whole (small) XML document safely; a clear error names the file, line and column."""
    parser = safe_parser(remove_blank_text=remove_blank_text)
    try:
        if isinstance(source, bytes):
            root = etree.fromstring(source, parser)
            tree: etree._ElementTree = root.getroottree()
        else:
            tree = etree.parse(source, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        raise InvalidStructure(
            f"not well-formed XML: {exc.msg}", where=f"{name}:{line}:{column}"
        ) from exc
    if tree.docinfo.internalDTD is not None or _has_doctype(tree):
        raise InvalidStructure("a DOCTYPE is not allowed in an SDMX message", where=name)
    return tree


def _has_doctype(tree: etree._ElementTree) -> bool:
    return bool(getattr(tree.docinfo, "doctype", ""))


def qname(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"
