"""archiver.schematron (the fast path of mets.check_rules) agrees with lxml.isoschematron.

The differential tests run both on our METS and on many damaged ones and
require the same failed asserts (id and message, with multiplicity).
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from archiver import layout, mets, schematron, xmlsafe
from tests.strategies import records
from tests.test_mets import FULL, mets_bytes, rec

_JUNK = ["", " ", "x", "-1", "0", "17", "translated", "machine-translated", "original", "SHA-256", "SHA-512", "MODS",
         "URL", "CREATOR", "SOFTWARE", "OTHER", "edtf", "data/", "data/../x", "data/./x", "data/%2E%2e/x", "a\\b",
         "a" * 64, "A" * 64, "http://rightsstatements.org/vocab/InC/1.0/", "http://rightsstatements.org/vocab/UND/1.0/",
         "use and reproduction", "translation status", "capture", "information package creation"]


_SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_AS_WRITTEN = []


def _as_first_written(tree) -> list:
    """isoschematron on the rules spelled "//x[p]" as first written (the .sch now says "/descendant::x[p]")."""
    if not _AS_WRITTEN:
        from lxml import isoschematron

        text = mets.rules_path().read_bytes().replace(b"/descendant::", b"//")
        _AS_WRITTEN.append(isoschematron.Schematron(etree.fromstring(text), store_report=True))
    sch = _AS_WRITTEN[0]
    sch.validate(tree)
    return sorted((fa.get("id") or "", " ".join("".join(fa.find(_SVRL + "text").itertext()).split()))
                  for fa in sch.validation_report.getroot().iter(_SVRL + "failed-assert"))


def both(tree) -> tuple[list, list]:
    fast = mets._fast_rules()
    assert fast is not None, "mets-rules.sch must stay within the fast evaluator's subset"
    ref = sorted(mets.failed_asserts_isoschematron(tree))
    assert ref == _as_first_written(tree)
    return sorted(fast.failed(tree)), ref


def _tree(data: bytes):
    return xmlsafe.parse(data)


def _mutate(root, ops) -> None:
    for op, i, j, junk in ops:
        nodes = [n for n in root.iter() if isinstance(n.tag, str)]
        node = nodes[i % len(nodes)]
        other = nodes[j % len(nodes)]
        parent = node.getparent()
        if op == "drop" and parent is not None:
            parent.remove(node)
        elif op == "duplicate" and parent is not None:
            node.addnext(copy.deepcopy(node))
        elif op == "move" and parent is not None and node not in other.iterancestors() and node is not other:
            other.append(node)
        elif op == "text":
            node.text = junk
        elif op == "copy-text":
            # another node's text or attribute value: lets cross-references match or miss
            node.text = other.get(sorted(other.attrib)[0]) if other.attrib and junk == "" else other.text
        elif op == "rename" and parent is not None:
            node.tag = other.tag
        elif node.attrib:
            name = sorted(node.attrib)[j % len(node.attrib)]
            if op == "drop-attr":
                del node.attrib[name]
            else:
                node.set(name, junk)


_ops = st.lists(st.tuples(
    st.sampled_from(["drop", "duplicate", "move", "text", "copy-text", "rename", "drop-attr", "attr"]),
    st.integers(0, 10_000), st.integers(0, 10_000), st.sampled_from(_JUNK)), min_size=1, max_size=4)

_BASES: list[bytes] = []


def _bases() -> list[bytes]:
    if not _BASES:
        _BASES.extend([mets_bytes(rec(**FULL)), mets_bytes(rec(), organization=None, derivative=False, metadata=False),
                       mets_bytes(rec(**{k: v for k, v in FULL.items() if k != "rights"}))])
    return _BASES


def test_both_paths_agree_on_valid_mets():
    for data in _bases():
        fast, ref = both(_tree(data))
        assert fast == ref == []


@settings(max_examples=300, deadline=None)
@given(base=st.integers(0, 2), ops=_ops)
def test_both_paths_agree_on_damaged_mets(base, ops):
    root = etree.fromstring(_bases()[base])
    _mutate(root, ops)
    tree = etree.ElementTree(root)
    fast, ref = both(tree)
    assert fast == ref


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=records(), ops=st.one_of(st.just([]), _ops))
def test_both_paths_agree_on_any_record_damaged_or_not(r, ops):
    root = etree.fromstring(mets_bytes(r))
    _mutate(root, ops)
    fast, ref = both(etree.ElementTree(root))
    assert fast == ref


def test_each_rule_fires_on_both_paths():
    """Every assert of mets-rules.sch fails at least once over targeted damage, identically."""
    good = mets_bytes(rec(**FULL))
    seen = set()
    damage = [
        (b'OBJID="aaaa', b'OBJID="AAAA'), (layout.METS_PROFILE.encode(), b"https://example.org/other"), (b'MDTYPE="MODS"', b'MDTYPE="OTHER"'), (b'CHECKSUMTYPE="SHA-256"', b'CHECKSUMTYPE="MD5"'),
        (b'xlink:href="data/objects/an', b'xlink:href="data/../an'), (b'USE="derivative"', b'USE="original"'),
        (b">SHA-512<", b">SHA-384<"), (b"<premis:eventOutcome>success</premis:eventOutcome>", b"<premis:eventOutcome/>"),
        (b"<premis:agentIdentifierValue>Example Library", b"<premis:agentIdentifierValue>Someone"),
        (b"<premis:objectIdentifierValue>", b"<premis:objectIdentifierValue>z"),
        (b'<mods:relatedItem type="original">', b'<mods:relatedItem type="references">'),
        (b'encoding="edtf" keyDate', b'encoding="w3cdtf" keyDate'), (b"<prov:person ", b"<prov:other "),
        (b'OTHERTYPE="SOFTWARE"', b'OTHERTYPE="HARDWARE"'),
        (b'xlink:href="http://rightsstatements.org/vocab/InC/1.0/"', b'xlink:href="http://example.org/InC/1.0/"'),
        (b"<premis:otherRightsDocumentationIdentifierValue>http://rightsstatements.org/vocab/InC/",
         b"<premis:otherRightsDocumentationIdentifierValue>http://rightsstatements.org/vocab/UND/"),
    ]
    for old, new in damage:
        bad = good.replace(old, new)
        assert bad != good, old
        fast, ref = both(_tree(bad))
        assert fast == ref
        seen |= {code for code, _ in fast}
    assert seen == set(mets._RULE_SUMMARIES)


SCH = """<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt">
  <sch:ns prefix="m" uri="urn:m"/>
  {body}
</sch:schema>"""

DOC = b"""<m:a xmlns:m="urn:m" n="2"><m:b k="1">one</m:b><m:b k="2">two<m:c/></m:b><m:d><m:b k="3"/></m:d>
<!-- a comment --><?pi x?><m:c k="|"/></m:a>"""


@pytest.mark.parametrize("body", [
    # first rule wins within a pattern; a later pattern sees every node again
    """<sch:pattern><sch:rule context="m:d/m:b"><sch:assert id="X1" test="false()">in d <sch:value-of select="@k"/></sch:assert></sch:rule>
       <sch:rule context="m:b"><sch:assert id="X2" test="@k = '9'">b <sch:value-of select="@k"/>: <sch:value-of select="count(*)"/> children</sch:assert></sch:rule></sch:pattern>
       <sch:pattern><sch:rule context="m:b | m:c[@k = '|']"><sch:assert id="X3" test="false()"><sch:value-of select="local-name()"/>
       '<sch:value-of select="."/>'   spaced   out</sch:assert></sch:rule></sch:pattern>
       <sch:pattern><sch:rule context="m:c | m:d | m:a"><sch:assert id="X4" test="false()"><sch:value-of select="name()"/></sch:assert></sch:rule></sch:pattern>""",
    # lets, in order, node-sets and strings; an absolute context; numbers in messages
    """<sch:pattern><sch:rule context="/m:a"><sch:let name="n" value="number(@n)"/><sch:let name="bs" value="//m:b[@k &lt;= $n]"/>
       <sch:let name="s" value="concat('[', $n, ']')"/>
       <sch:assert id="Y1" test="count($bs) = 3">found <sch:value-of select="count($bs)"/> of <sch:value-of select="$s"/>, first <sch:value-of select="$bs"/>, half <sch:value-of select="$n div 4"/></sch:assert>
       <sch:report id="Y2" test="true()">reports are not failed asserts</sch:report></sch:rule></sch:pattern>""",
    # the schema's lets: global, evaluated once on the document root, in order; a rule's let may
    # shadow one; whitespace-only text between two value-ofs is stripped as XSLT strips it
    """<sch:let name="bs" value="//m:b"/><sch:let name="top" value="/m:a[count($bs) = 3]"/>
       <sch:pattern><sch:rule context="m:c | m:b"><sch:let name="k" value="string(@k)"/><sch:let name="n" value="count($bs)"/>
       <sch:assert id="G1" test="$bs[@k = $k] and $n = 2">no b with k <sch:value-of select="$k"/> of <sch:value-of select="$n"/> <sch:value-of select="name(.)"/> in <sch:value-of select="name($top)"/></sch:assert></sch:rule>
       <sch:rule context="m:d"><sch:let name="n" value="'shadowed'"/><sch:assert id="G2" test="false()"><sch:value-of select="$n"/></sch:assert></sch:rule></sch:pattern>""",
    # a context matching nothing; an assert with no id
    """<sch:pattern><sch:rule context="m:zz"><sch:assert id="Z1" test="false()">never</sch:assert></sch:rule>
       <sch:rule context="m:c"><sch:assert test="false()">no id</sch:assert></sch:rule></sch:pattern>""",
])
def test_evaluator_semantics_match_isoschematron(body):
    from lxml import isoschematron

    schema = etree.fromstring(SCH.format(body=body).encode())
    doc = etree.ElementTree(etree.fromstring(DOC))
    fast = sorted(schematron.Rules(schema).failed(doc))
    sch = isoschematron.Schematron(schema, store_report=True)
    sch.validate(doc)
    ref = sorted((fa.get("id"), " ".join("".join(fa.find(_SVRL + "text").itertext()).split()))
                 for fa in sch.validation_report.getroot().iter(_SVRL + "failed-assert"))
    assert fast == ref and fast


@pytest.mark.parametrize("body", [
    '<sch:include href="other.sch"/>',
    '<sch:phase id="p"><sch:active pattern="x"/></sch:phase>',
    '<sch:let name="g" value="$h"/><sch:let name="h" value="1"/>',  # XSLT allows it; evaluated in order, we cannot
    '<sch:let name="g" value="count($g)"/>',
    '<sch:let name="g" value="name(*)"/>',  # XSLT's context is the document node, which lxml cannot pass
    '<sch:let name="g" value="//m:a | m:b"/>',
    '<sch:pattern><sch:rule context="m:a"><sch:assert test="$p:v">x</sch:assert></sch:rule></sch:pattern>',
    '<sch:pattern abstract="true" id="x"><sch:rule context="$a"><sch:assert test="1">x</sch:assert></sch:rule></sch:pattern>',
    '<sch:pattern><sch:rule abstract="true" id="r"><sch:assert test="1">x</sch:assert></sch:rule></sch:pattern>',
    '<sch:pattern><sch:rule context="m:a"><sch:assert test="1" diagnostics="d">x</sch:assert></sch:rule></sch:pattern>',
    '<sch:pattern><sch:rule context="m:a"><sch:assert test="1">x <sch:name/></sch:assert></sch:rule></sch:pattern>',
    '<sch:pattern><sch:rule context="key(\'k\', 1)"><sch:assert test="1">x</sch:assert></sch:rule></sch:pattern>',
])
def test_features_outside_the_subset_are_refused_not_approximated(body):
    with pytest.raises(schematron.Unsupported):
        schematron.Rules(etree.fromstring(SCH.format(body=body).encode()))


def test_a_let_holding_attributes_falls_back_to_isoschematron(monkeypatch):
    schema = etree.fromstring(SCH.format(body="""<sch:pattern><sch:rule context="m:b"><sch:let name="k" value="@k"/>
        <sch:assert id="A1" test="$k = '1'">k is <sch:value-of select="$k"/></sch:assert></sch:rule></sch:pattern>""").encode())
    with pytest.raises(schematron.Unsupported):
        schematron.Rules(schema).failed(etree.ElementTree(etree.fromstring(DOC)))
    # mets.failed_asserts then answers through lxml.isoschematron
    calls = []

    class Refusing:
        def failed(self, tree):
            raise schematron.Unsupported("test")

    monkeypatch.setattr(mets, "_fast_rules", lambda: Refusing())
    real = mets.failed_asserts_isoschematron
    monkeypatch.setattr(mets, "failed_asserts_isoschematron", lambda tree: calls.append(1) or real(tree))
    bad = mets_bytes(rec(**FULL)).replace(b'OBJID="aaaa', b'OBJID="AAAA')
    assert [f.code for f in mets.check_rules(bad)] == ["METS-E001"]
    assert calls == [1]


def test_an_element_is_judged_as_its_whole_document():
    tree = etree.ElementTree(etree.fromstring(mets_bytes(rec(**FULL)).replace(b'encoding="edtf" keyDate', b'encoding="w3cdtf" keyDate')))
    inner = tree.getroot()[0]
    fast = mets._fast_rules()
    assert sorted(fast.failed(inner)) == sorted(fast.failed(tree)) == sorted(mets.failed_asserts_isoschematron(tree))
    assert {code for code, _ in fast.failed(tree)} == {"METS-E012"}
