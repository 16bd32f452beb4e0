"""The only way archiver parses XML: no DTDs, no entities, no network.

Bags come from strangers.  A METS file may carry an external entity (reads a
local file or a URL) or an entity bomb ("billion laughs").  We refuse any
document with a DOCTYPE outright, before libxml2 sees it, and parse the rest
with entity resolution, DTD loading and network access all off.  That is
stricter than defusedxml's defaults and needs no extra dependency: METS, MODS
and PREMIS never need a DTD.
"""

from __future__ import annotations

import re

from lxml import etree

# Bounded: a METS for one text is a few tens of KB.  Larger is refused, not parsed.
MAX_XML_BYTES = 32 * 1024 * 1024

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


class UnsafeXML(ValueError):
    """The document uses a feature we never accept (DOCTYPE, entities) or is too large."""


class BadXML(ValueError):
    """The document is not well-formed; the message has the line."""


def parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )


def parse(data: bytes) -> etree._ElementTree:
    """Parse untrusted XML bytes; raise UnsafeXML or BadXML with a one-line reason."""
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXML(f"XML larger than {MAX_XML_BYTES} bytes is refused")
    # A DOCTYPE is where every entity attack lives; no format we read needs one.
    if _DOCTYPE.search(data) or _ENTITY.search(data):
        raise UnsafeXML("XML with a DOCTYPE or entity declaration is refused (entities are never expanded)")
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser()))
    except etree.XMLSyntaxError as e:
        raise BadXML(f"not well-formed XML: line {e.lineno}: {e.msg}") from None
    # Belt and braces: an entity reference that survived (undeclared) stays unexpanded.
    for node in tree.iter():
        if isinstance(node, etree._Entity):
            raise UnsafeXML(f"entity reference &{node.name}; is refused")
    return tree
