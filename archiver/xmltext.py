"""XML written as text in exactly the form lxml writes: lxml's escaping, and a light tree.

``escape_text`` and ``escape_attr`` give a value as lxml writes it in UTF-8 (its
escapes, and its refusals with its own errors); mets.py and premis.py write the
METS with them.  ``Node`` is a light tree written the same way for documents
built a part at a time (the delivery manifest and receipts, deliver.py):
``lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8",
pretty_print=True)`` of the same tree, byte for byte: the declaration, two-space
indents, leaves inline, ``<x/>`` for empty elements, attributes in the order
given.  Building elements as lxml elements cost ~2 us each plus ~1 us per
attribute; as ``Node`` a fraction of that.  Tags and attribute names are
written as given ("prefix:local"): the caller declares its namespaces on the
root.  tests/test_mets.py compares the text with lxml's for the same trees.
"""

from __future__ import annotations

import re


class Node:
    __slots__ = ("tag", "attrs", "text", "children")

    def __init__(self, tag: str, attrs: dict, text: str | None):
        self.tag = tag  # "prefix:local", our prefixes being the document's
        self.attrs = attrs
        self.text = text
        self.children: list[Node] = []

    def set(self, name: str, value: str) -> None:
        self.attrs[name] = value


def el(parent: Node, prefix: str, local: str, text: str | None = None, **attrs) -> Node:
    """A child element; attributes whose value is None are left out, "xlink:href" names a prefixed one."""
    if None in attrs.values():
        attrs = {k: v for k, v in attrs.items() if v is not None}
    e = Node(f"{prefix}:{local}", attrs, text)
    parent.children.append(e)
    return e


# What lxml refuses in a string (as lxml's _is_valid_xml_utf8 does), with its message.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_XML_MESSAGE = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"


def _check(v: str) -> None:
    """Refuse a string as lxml would, with its error (values are checked in document order, as lxml set them)."""
    v.encode("utf-8")  # lone surrogates: UnicodeEncodeError, as from lxml
    if _NOT_XML.search(v):
        raise ValueError(_NOT_XML_MESSAGE)


# What lxml (libxml2) escapes when it writes UTF-8.  A printable string (C
# speed) has nothing lxml refuses; chained `in` tests, as most values need no
# escaping, are twice as fast as a regex search here.
def escape_text(v: str) -> str:
    """``v`` as element text, as lxml writes it; ValueError (lxml's) for what lxml refuses."""
    if not v.isprintable():
        _check(v)
    if "&" in v or "<" in v or ">" in v or "\r" in v:
        v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return v


def escape_attr(v: str) -> str:
    """``v`` as a double-quoted attribute value, as lxml writes it; ValueError (lxml's) for what lxml refuses."""
    if not v.isprintable():
        _check(v)
    if "&" in v or "<" in v or ">" in v or '"' in v or "\r" in v or "\n" in v or "\t" in v:
        v = (v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
             .replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#9;"))
    return v


def _attrs(node: Node) -> str:
    return "".join([f' {k}="{escape_attr(v)}"' for k, v in node.attrs.items()]) if node.attrs else ""


def render(node: Node, indent: str, out: list) -> None:
    """An element with children, as lxml's pretty_print writes it; its leaves inline (one call less each)."""
    if node.text is not None:  # mixed content is never built; lxml would not indent it
        raise AssertionError(f"xmltext: {node.tag} has both text and elements")
    out.append(f"{indent}<{node.tag}{_attrs(node)}>\n")
    inner = indent + "  "
    for child in node.children:
        if child.children:
            render(child, inner, out)
        elif child.text is not None:
            out.append(f"{inner}<{child.tag}{_attrs(child)}>{escape_text(child.text)}</{child.tag}>\n")
        else:
            out.append(f"{inner}<{child.tag}{_attrs(child)}/>\n")
    out.append(f"{indent}</{node.tag}>\n")


def render_child(node: Node, indent: str, out: list) -> None:
    """``node`` as it appears among its parent's children at ``indent``: an element or a leaf.

    render() keeps its own copy of the leaf lines: calling this for each child doubled the
    time of writing a METS (~325 -> ~600 us per bench document) when METS was a tree."""
    if node.children:
        render(node, indent, out)
    elif node.text is not None:
        out.append(f"{indent}<{node.tag}{_attrs(node)}>{escape_text(node.text)}</{node.tag}>\n")
    else:
        out.append(f"{indent}<{node.tag}{_attrs(node)}/>\n")


def document(root: Node) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    render(root, "", out)
    return "".join(out).encode("utf-8")


def start_tag(node: Node) -> str:
    """``<tag attr="...">`` of ``node`` alone, for a document written a part at a time."""
    return f"<{node.tag}{_attrs(node)}>"
