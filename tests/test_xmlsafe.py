"""Hostile XML never expands entities or reaches the network (archiver/xmlsafe.py)."""

import pytest

from archiver import xmlsafe

ATTACKS = {
    "external entity": b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
    "network entity": b'<!DOCTYPE a [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><a>&x;</a>',
    "billion laughs": b'<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;&l;&l;">'
    b'<!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;">]><a>&l3;</a>',
    "parameter entity": b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><a/>',
    "external dtd": b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>',
    "lower-case doctype": b"<!doctype a [<!ENTITY x 'y'>]><a>&x;</a>",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_are_refused(name):
    with pytest.raises(xmlsafe.UnsafeXML):
        xmlsafe.parse(ATTACKS[name])


def test_undeclared_entity_is_not_well_formed():
    with pytest.raises(xmlsafe.BadXML, match="line 1"):
        xmlsafe.parse(b"<a>&x;</a>")


def test_oversized_is_refused_without_parsing(monkeypatch):
    monkeypatch.setattr(xmlsafe, "MAX_XML_BYTES", 100)
    with pytest.raises(xmlsafe.UnsafeXML, match="larger"):
        xmlsafe.parse(b"<a>" + b"x" * 200 + b"</a>")


def test_ordinary_xml_parses():
    tree = xmlsafe.parse('<?xml version="1.0" encoding="UTF-8"?><a b="é">&amp;&#233;</a>'.encode())
    assert tree.getroot().text == "&é"


# --- children(): one child of the root at a time ------------------------------------------------


def _children(data: bytes) -> list[tuple[str, str | None, list[str]]]:
    return [(el.get("n"), el.text, [c.tag for c in el]) for el in xmlsafe.children(data, "r", "p", "a test document")]


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_children_refuses_what_parse_refuses(name):
    with pytest.raises(xmlsafe.UnsafeXML):
        list(xmlsafe.children(ATTACKS[name], "a", "p", "a test document"))


def test_children_are_whole_and_in_order_as_parse_gives_them():
    data = b'<r><p n="1">one<c/><c/></p><q/><p n="2"><c><p n="inner"/></c></p><!-- x --><p n="3"/></r>'
    root = xmlsafe.parse(data).getroot()
    want = [(el.get("n"), el.text, [c.tag for c in el]) for el in root.findall("p")]
    assert _children(data) == want == [("1", "one", ["c", "c"]), ("2", None, ["c"]), ("3", None, [])]


@pytest.mark.parametrize("data, message", [
    (b"<other><p/></other>", "root element is other, not a test document"),
    (b'<r><p n="1"/><p n="2"></r>', "not well-formed"),
    (b"<r><p>&x;</p></r>", "not well-formed"),
])
def test_children_raise_bad_xml_even_after_some_children(data, message):
    with pytest.raises(xmlsafe.BadXML, match=message):
        list(xmlsafe.children(data, "r", "p", "a test document"))
