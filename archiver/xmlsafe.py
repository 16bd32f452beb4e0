"""The only way archiver parses XML: no DTDs, no entities, no network.

Bags come from strangers.  A METS file may carry an external entity (reads a
local file or a URL) or an entity bomb ("billion laughs").  We refuse any
document with a DOCTYPE outright, before libxml2 sees it, and parse the rest
with entity resolution, DTD loading and network access all off.  That is
stricter than defusedxml's defaults and needs no extra dependency: METS, MODS
and PREMIS never need a DTD.
"""

from __future__ import annotations

import io
import re

from lxml import etree

from .findings import one_line

# Bounded: a METS for one text is a few tens of KB.  Larger is refused, not parsed.
MAX_XML_BYTES = 32 * 1024 * 1024

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


# Encodings an XML processor detects from the first bytes (XML 1.0 Appendix F).
_WIDE = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"),
)


def _declares_dtd_in_other_encoding(data: bytes) -> bool:
    """True if a UTF-16/32 document (by BOM or NUL pattern) contains a DOCTYPE or ENTITY."""
    for prefix, codec in _WIDE:
        if data.startswith(prefix):
            text = data.decode(codec, errors="replace").upper()
            return "<!DOCTYPE" in text or "<!ENTITY" in text
    if b"\x00" in data[:4]:  # some other wide encoding we do not read
        return True
    return False


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


def _refuse_unsafe(data: bytes) -> None:
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXML(f"XML larger than {MAX_XML_BYTES} bytes is refused")
    # A DOCTYPE is where every entity attack lives; no format we read needs one.
    # Look for it in the text as libxml2 will decode it (UTF-16/32 hide it from a byte search).
    # Both markers start with "<!": most documents have none, and one bytes search settles it (~35 us less).
    if (b"<!" in data and (_DOCTYPE.search(data) or _ENTITY.search(data))) or _declares_dtd_in_other_encoding(data):
        raise UnsafeXML("XML with a DOCTYPE or entity declaration is refused (entities are never expanded)")


def parse(data: bytes) -> etree._ElementTree:
    """Parse untrusted XML bytes; raise UnsafeXML or BadXML with a one-line reason."""
    _refuse_unsafe(data)
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser()))
    except etree.XMLSyntaxError as e:
        raise BadXML(f"not well-formed XML: line {e.lineno}: {e.msg}") from None
    # Whatever the encoding trick, a document that turned out to have a DTD is refused.
    if tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None or tree.docinfo.doctype:
        raise UnsafeXML("XML with a DOCTYPE is refused (entities are never expanded)")
    # Belt and braces: an entity reference that survived (undeclared) stays unexpanded.
    # iter(etree.Entity) filters in C: the same check as testing every node in Python, ~0.3 ms
    # less per METS of ~300 nodes (bench/hotspots.py validate).
    for node in tree.iter(etree.Entity):
        raise UnsafeXML(f"entity reference &{node.name}; is refused")
    return tree


def children(data: bytes, root_tag: str, tag: str, what: str):
    """The ``tag`` children of the root, one at a time, each complete when yielded, then dropped.

    For documents with one element per item (a delivery manifest of 10,000 packages): the
    whole tree of such a document held ~55 MB at once; here one child is held at a time.
    The same refusals as ``parse`` (checked before and while parsing); raises BadXML (also
    when the root is not ``root_tag``: "..., not ``what``") or UnsafeXML, possibly after some children were
    yielded, so a caller keeps nothing until the end."""
    _refuse_unsafe(data)
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=False, remove_pis=False)
    root = None
    try:
        for event, el in events:
            if root is None:
                if el.tag != root_tag:
                    raise BadXML(f"root element is {one_line(str(el.tag), 80)}, not {what}")
                root = el
                continue
            if event == "end" and el.getparent() is root:
                if el.tag == tag:
                    yield el
                el.clear()
                del root[0]  # every earlier child was removed the same way: this one is the first
        if events.root is not None:
            info = events.root.getroottree().docinfo
            if info.internalDTD is not None or info.externalDTD is not None or info.doctype:
                raise UnsafeXML("XML with a DOCTYPE is refused (entities are never expanded)")
    except etree.XMLSyntaxError as e:
        raise BadXML(f"not well-formed XML: line {e.lineno}: {e.msg}") from None
