"""METS manifest: schema-valid against the official schemas, round trip, our rules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from archiver import layout, mets, xmltext
from archiver.identity import payload_name
from archiver.findings import RULES
from archiver.record import Record
from tests.strategies import records

ROOT = Path(__file__).resolve().parent.parent
CREATED = "2036-01-01T00:00:00Z"
NS = mets.NS
CUR = {"by": "curator", "source": "incoming/a.meta.json"}
INF = {"by": "inferred", "rule": "byline", "lines": (3, 4), "confidence": 0.75}
DEF = {"by": "default", "source": "archiver.toml"}


def rec(**overrides) -> Record:
    data = {
        "id": "a" * 64,
        "original": {"filename": "an interview.txt", "size": 120, "encoding": "utf-8", "newlines": "lf"},
    }
    data.update(overrides)
    return Record.model_validate(data)


def f(value, origin=CUR):
    return {"value": value, "origin": origin}


FULL = dict(
    title=f("It is necessary to work with society & <press>", INF),
    language=f("en"),
    genre=f("interview"),
    source={
        "outlet": {"name": f("Reform News"), "url": f("https://reform.example/"), "domain": f("reform.example"), "language": f("uk")},
        "url": f("https://mirror.example/texts/1?lang=en&x=1"),
        "republisher": f("Mirror Weekly", DEF),
    },
    translation={
        "status": f("translated"),
        "source_language": f("uk"),
        "original_title": f("Треба працювати з суспільством"),
        "original_url": f("https://reform.example/uk/1"),
    },
    dates={"published": f("2025-07-09"), "original_published": f("2025-07-08"), "captured": f("2025-08-01T10:00:00Z")},
    persons=[
        {"name": "Olena Petrenko", "role": "ive", "aliases": ["O. Petrenko"], "origin": INF},
        {"name": "Jan Novak", "role": "trl", "origin": CUR},
    ],
    rights=f("http://rightsstatements.org/vocab/InC/1.0/"),
    notes=[{"text": "Translated by the outlet 😀", "origin": CUR}],
)


def files_for(r: Record, derivative: bool = True, metadata: bool = True) -> list[mets.FileFacts]:
    name = payload_name(r.original.filename)  # as the bag writer names it
    out = [mets.FileFacts(f"{layout.OBJECTS}/{name}", "original", r.original.size, {"sha256": r.id, "sha512": "b" * 128})]
    if derivative:
        out.append(mets.FileFacts(f"{layout.ACCESS}/{name}", "derivative", 99, {"sha256": "c" * 64, "sha512": "d" * 128}))
    if metadata:
        out.append(mets.FileFacts(layout.RECORD, "metadata", 2048, {"sha256": "e" * 64, "sha512": "f" * 128}, "application/json"))
    return out


def mets_bytes(r: Record, organization: str | None = "Example Library", **kw) -> bytes:
    return mets.serialize(mets.build(r, files_for(r, **kw), created=CREATED, organization=organization))


# --- official schemas, in process (self-sufficient: no dependency on archiver/xsd.py) ---

_SCHEMA: dict[str, etree.XMLSchema] = {}


class _RefuseNetwork(etree.Resolver):
    """umbrella.xsd imports every namespace from local files; a network URL reaching us is a bug."""

    def resolve(self, url, pubid, context):
        if url and url.startswith(("http:", "https:", "ftp:")):
            raise AssertionError(f"schema compilation tried to fetch {url}")
        return None


def schema_errors(xsd_dir: Path, data: bytes) -> list[str]:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    key = str(xsd_dir)
    if key not in _SCHEMA:
        xsd_parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        xsd_parser.resolvers.add(_RefuseNetwork())
        _SCHEMA[key] = etree.XMLSchema(etree.parse(str(xsd_dir / "umbrella.xsd"), xsd_parser))
    schema = _SCHEMA[key]
    doc = etree.fromstring(data, parser)
    errors = [] if schema.validate(doc) else [f"{e.line}: {e.message}" for e in schema.error_log]
    # libxml2 does not check that IDREFs resolve; METS ADMID/DMDID/FILEID must.
    ids = set(doc.xpath("//@ID"))
    for attr in ("ADMID", "DMDID", "FILEID"):
        for value in doc.xpath(f"//@{attr}"):
            errors += [f"{attr} {ref} resolves to nothing" for ref in value.split() if ref not in ids]
    return errors


def test_full_record_is_schema_valid_and_round_trips(xsd_dir):
    r = rec(**FULL)
    data = mets_bytes(r)
    assert schema_errors(xsd_dir, data) == []
    assert mets.read_record(data) == r
    assert mets.check_rules(data) == []


def test_all_unknown_record_is_schema_valid_and_round_trips(xsd_dir):
    r = rec()
    data = mets_bytes(r, organization=None, derivative=False, metadata=False)
    assert schema_errors(xsd_dir, data) == []
    assert mets.read_record(data) == r
    assert mets.check_rules(data) == []
    doc = etree.fromstring(data)
    # Unknown is not written as a value: no title, no originInfo, no rights...
    assert doc.xpath("//mods:titleInfo | //mods:originInfo | //mods:accessCondition | //mets:rightsMD", namespaces=NS) == []
    # ...but stated explicitly, with its origin, in the provenance extension.
    unknown = doc.xpath("//prov:fact[@unknown='true']/@path", namespaces=NS)
    assert len(unknown) == 17


def test_official_validator_accepts_our_mets(tmp_path, shared):
    paths = []
    for i, (r, org) in enumerate([(rec(**FULL), "Example Library"), (rec(), None)]):
        p = tmp_path / f"m{i}.xml"
        p.write_bytes(mets_bytes(r, organization=org))
        paths.append(str(p))
    proc = subprocess.run([sys.executable, str(shared / "tools" / "validate-xml"), *paths], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": OK") == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(r=records())
def test_any_record_round_trips_and_is_valid(xsd_dir, r):
    data = mets_bytes(r)
    assert mets.read_record(data) == r
    assert schema_errors(xsd_dir, data) == []
    assert mets.check_rules(data) == []


@settings(max_examples=15, deadline=None)
@given(r=records())
def test_output_is_deterministic_and_independent_of_file_order(r):
    fs = files_for(r)
    a = mets.serialize(mets.build(r, fs, created=CREATED))
    b = mets.serialize(mets.build(r, list(reversed(fs)), created=CREATED))
    assert a == b
    assert a.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')


def test_mods_mapping_of_a_translation():
    doc = etree.fromstring(mets_bytes(rec(**FULL)))
    x = lambda p: doc.xpath(p, namespaces=NS)  # noqa: E731
    mods = x("//mods:mods")[0]
    assert x("//mods:name[1]/mods:role/mods:roleTerm[@type='code'][@authority='marcrelator']/text()") == ["ive"]
    assert x("//mods:name[1]/mods:role/mods:roleTerm[@type='text']/text()") == ["interviewee"]
    assert x("//mods:name[1]/mods:alternativeName/mods:namePart/text()") == ["O. Petrenko"]
    assert x("//mods:mods/mods:language/mods:languageTerm[@authority='rfc5646'][@type='code']/text()") == ["en"]
    assert x("//mods:mods/mods:originInfo/mods:dateIssued[@encoding='edtf'][@keyDate='yes']/text()") == ["2025-07-09"]
    assert x("//mods:mods/mods:originInfo/mods:dateCaptured[@encoding='edtf']/text()") == ["2025-08-01T10:00:00Z"]
    assert x("//mods:mods/mods:location/mods:url/@dateLastAccessed") == ["2025-08-01T10:00:00Z"]
    orig = x("//mods:relatedItem[@type='original']")[0]
    assert orig.xpath("mods:titleInfo/mods:title/text()", namespaces=NS) == ["Треба працювати з суспільством"]
    assert orig.xpath("mods:language/mods:languageTerm/text()", namespaces=NS) == ["uk"]
    assert orig.xpath("mods:originInfo/mods:dateIssued[@encoding='edtf']/text()", namespaces=NS) == ["2025-07-08"]
    assert orig.xpath("mods:location/mods:url/text()", namespaces=NS) == ["https://reform.example/uk/1"]
    # the outlet published the original, so it is the original's host
    assert orig.xpath("mods:relatedItem[@type='host']/mods:titleInfo/mods:title/text()", namespaces=NS) == ["Reform News"]
    assert x("/mets:mets/mets:dmdSec//mods:mods/mods:relatedItem[@type='host']") == []
    acc = x("//mods:accessCondition[@type='use and reproduction']")[0]
    assert acc.get(f"{{{mets.XLINK_NS}}}href") == "http://rightsstatements.org/vocab/InC/1.0/"
    assert acc.text == "In Copyright"
    assert mods.xpath("mods:originInfo/mods:publisher/text()", namespaces=NS) == ["Mirror Weekly"]
    # origins: inferred title keeps rule, lines and confidence
    title = x("//prov:fact[@path='title']")[0]
    assert (title.get("by"), title.get("rule"), title.get("lines"), title.get("confidence")) == ("inferred", "byline", "3 4", "0.75")


def test_outlet_of_an_untranslated_text_is_a_top_level_host():
    r = rec(**{**FULL, "translation": {"status": f("original")}, "dates": {}})
    doc = etree.fromstring(mets_bytes(r))
    assert doc.xpath("//mods:mods/mods:relatedItem[@type='original']", namespaces=NS) == []
    assert doc.xpath("//mods:mods/mods:relatedItem[@type='host']/mods:titleInfo/mods:title/text()", namespaces=NS) == ["Reform News"]
    assert mets.read_record(mets_bytes(r)) == r


def test_premis_objects_events_agents_and_rights():
    doc = etree.fromstring(mets_bytes(rec(**FULL)))
    x = lambda p: doc.xpath(p, namespaces=NS)  # noqa: E731
    assert x("/mets:mets/@OBJID") == ["a" * 64]
    assert x("/mets:mets/@PROFILE") == [layout.METS_PROFILE]
    assert x("//mets:metsHdr/@CREATEDATE") == [CREATED]
    assert x("//mets:metsHdr/mets:agent[@ROLE='CREATOR'][@OTHERTYPE='SOFTWARE']/mets:name/text()") == [f"archiver {mets.__version__}"]
    orig = x("//mets:techMD[@ID='tech-file-original-1']//premis:object")[0]
    assert orig.xpath("premis:objectCharacteristics/premis:fixity/premis:messageDigestAlgorithm/text()", namespaces=NS) == ["SHA-256", "SHA-512"]
    assert orig.xpath("premis:objectCharacteristics/premis:size/text()", namespaces=NS) == ["120"]
    assert orig.xpath("premis:objectCharacteristics/premis:format/premis:formatRegistry/premis:formatRegistryKey/text()", namespaces=NS) == ["x-fmt/111"]
    assert orig.xpath("premis:originalName/text()", namespaces=NS) == ["an interview.txt"]
    orig_id = orig.xpath("premis:objectIdentifier/premis:objectIdentifierValue/text()", namespaces=NS)[0]
    deriv = x("//mets:techMD[@ID='tech-file-derivative-1']//premis:object/premis:relationship")[0]
    assert deriv.xpath("premis:relationshipType/text()", namespaces=NS) == ["derivation"]
    assert deriv.xpath("premis:relatedObjectIdentifier/premis:relatedObjectIdentifierValue/text()", namespaces=NS) == [orig_id]
    events = x("//mets:digiprovMD/mets:mdWrap[@MDTYPE='PREMIS:EVENT']//premis:event/premis:eventType/text()")
    assert sorted(events) == sorted(mets.REQUIRED_EVENTS)
    assert x("//premis:event[premis:eventType='capture']/premis:eventDateTime/text()") == ["2025-08-01T10:00:00Z"]
    assert x("//premis:event[premis:eventType='information package creation']/premis:eventDateTime/text()") == [CREATED]
    agents = x("//mets:mdWrap[@MDTYPE='PREMIS:AGENT']//premis:agent/premis:agentType/text()")
    assert agents == ["software", "organization"]
    assert x("//mets:mdWrap[@MDTYPE='PREMIS:RIGHTS']/mets:xmlData/premis:rights/premis:rightsStatement"
             "//premis:otherRightsDocumentationIdentifierValue/text()") == ["http://rightsstatements.org/vocab/InC/1.0/"]
    for fe in x("//mets:file"):
        assert fe.get("CHECKSUMTYPE") == "SHA-256" and len(fe.get("CHECKSUM")) == 64
    assert x("//mets:FLocat/@xlink:href")[0] == "data/objects/an%20interview.txt"


def test_event_ids_are_uuid5_of_record_and_event():
    a = etree.fromstring(mets_bytes(rec(**FULL)))
    b = etree.fromstring(mets_bytes(rec(id="9" * 64)))
    ids = lambda d: d.xpath("//premis:eventIdentifierValue/text()", namespaces=NS)  # noqa: E731
    assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids(a))
    assert not set(ids(a)) & set(ids(b))


def test_unknown_capture_date_keeps_the_event_with_an_unspecified_date():
    doc = etree.fromstring(mets_bytes(rec()))
    ev = doc.xpath("//premis:event[premis:eventType='capture']", namespaces=NS)[0]
    assert ev.findtext("premis:eventDateTime", namespaces=NS) == "XXXX-XX-XX"
    assert "not known" in ev.findtext("premis:eventDetailInformation/premis:eventDetail", namespaces=NS)


def test_read_files_and_header():
    r = rec(**FULL)
    data = mets_bytes(r)
    files = mets.read_files(data)
    assert {ff.path: (ff.use, ff.size, ff.digests) for ff in files} == {
        ff.path: (ff.use, ff.size, ff.digests) for ff in files_for(r)
    }
    assert files[0].media_type == r.original.media_type
    assert mets.read_header(data) == {
        "objid": r.id, "created": CREATED, "profile": layout.METS_PROFILE,
        "software": f"archiver {mets.__version__}", "organization": "Example Library",
    }


def test_provenance_extension_is_valid_against_our_xsd():
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    schema = etree.XMLSchema(etree.parse(str(ROOT / "schemas" / "archiver-provenance.xsd"), parser))
    doc = etree.fromstring(mets_bytes(rec(**FULL)))
    prov = doc.xpath("//prov:provenance", namespaces=NS)[0]
    assert schema.validate(etree.ElementTree(etree.fromstring(etree.tostring(prov)))), schema.error_log
    bad = etree.fromstring(etree.tostring(prov).replace(b'by="curator"', b'by="guess"', 1))
    assert not schema.validate(etree.ElementTree(bad))


# --- reading back: clear one-line errors ---------------------------------------

@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"<mets", "not well-formed"),
    (lambda b: b'<!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]><m>&e;</m>', "DOCTYPE"),
    (lambda b: b"<other/>", "not mets:mets"),
    (lambda b: re.sub(rb"<prov:fact path=\"title\"[^>]*/>", b"", b), "title: no provenance"),
    (lambda b: b.replace(b'<prov:fact path="rights" by', b'<prov:fact path="rights" unknown="true" by'), "rights: marked unknown but MODS has a value"),
    (lambda b: b.replace(b"<mods:title>It is", b"<mods:title> It is"), "title"),
    (lambda b: b.replace(b'path="genre"', b'path="genre.x"'), "unknown field path"),
])
def test_read_record_errors_are_one_line(mutate, message):
    with pytest.raises(mets.MetsError) as e:
        mets.read_record(mutate(mets_bytes(rec(**FULL))))
    assert message in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("change, message", [
    (lambda r, fs: (r, fs[1:]), "exactly one original"),
    (lambda r, fs: (r, [mets.FileFacts(fs[0].path, "original", 1, fs[0].digests)] + fs[1:]), "size"),
    (lambda r, fs: (r, [mets.FileFacts(fs[0].path, "original", fs[0].size, {"sha256": "0" * 64})] + fs[1:]), "record id"),
    (lambda r, fs: (r, fs + [mets.FileFacts("objects/x", "derivative", 1, {"sha256": "0" * 64})]), "under data/"),
    (lambda r, fs: (r, fs + [mets.FileFacts("data/x", "preview", 1, {"sha256": "0" * 64})]), "file use"),
    (lambda r, fs: (r, fs + [mets.FileFacts("data/x", "derivative", 1, {"sha256": "0" * 64, "crc32": "0"})]), "crc32"),
    (lambda r, fs: (r, fs + [mets.FileFacts("data/../x", "derivative", 1, {"sha256": "0" * 64})]), "segments"),
    (lambda r, fs: (r, fs + [fs[1]]), "listed twice"),
    (lambda r, fs: (r, fs + [mets.FileFacts("data/x", "derivative", 1, {"sha256": "0" * 63})]), "hex digits"),
    (lambda r, fs: (r, fs + [mets.FileFacts("data/x", "derivative", 1, {"sha256": "A" * 64})]), "hex digits"),
])
def test_build_refuses_inconsistent_files(change, message):
    r, fs = change(rec(**FULL), files_for(rec(**FULL)))
    with pytest.raises(ValueError, match=message):
        mets.build(r, fs, created=CREATED)


@pytest.mark.parametrize("created", ["2026-11-22", "unknown", "2026-11-22T10:00:00"])
def test_build_needs_a_full_creation_timestamp(created):
    with pytest.raises(ValueError, match="created"):
        mets.build(rec(), files_for(rec()), created=created)


def test_build_refuses_text_xml_cannot_carry():
    with pytest.raises(ValueError, match="^mets: ") as e:
        mets.build(rec(), files_for(rec()), created=CREATED, organization="bad\x00org")
    assert "\n" not in str(e.value)


# --- our rules ------------------------------------------------------------------

CAPTURE = (b'<premis:eventType authority="eventType" authorityURI="http://id.loc.gov/vocabulary/preservation/eventType"'
           b' valueURI="http://id.loc.gov/vocabulary/preservation/eventType/cap">capture')


@pytest.mark.parametrize("code, mutate", [
    ("METS-E001", lambda b: b.replace(b'OBJID="aaaa', b'OBJID="AAAA')),
    ("METS-E002", lambda b: b.replace(layout.METS_PROFILE.encode(), b"https://example.org/other")),
    ("METS-E003", lambda b: b.replace(b'MDTYPE="MODS"', b'MDTYPE="OTHER" OTHERMDTYPE="X"')),
    ("METS-E004", lambda b: b.replace(b'CHECKSUMTYPE="SHA-256"', b'CHECKSUMTYPE="MD5"', 1)),
    ("METS-E005", lambda b: b.replace(b'xlink:href="data/objects/an', b'xlink:href="data/../../an', 1)),
    ("METS-E005", lambda b: b.replace(b'xlink:href="data/objects/an', b'xlink:href="/etc/an', 1)),
    ("METS-E005", lambda b: b.replace(b'xlink:href="data/objects/an', b'xlink:href="data/%2E%2E/an', 1)),
    ("METS-E006", lambda b: b.replace(b'USE="derivative"', b'USE="original"')),
    ("METS-E007", lambda b: b.replace(b">SHA-512<", b">SHA-384<", 1)),
    ("METS-E008", lambda b: b.replace(CAPTURE, b"<premis:eventType>other")),
    ("METS-E008", lambda b: b.replace(b"<premis:eventOutcome>success</premis:eventOutcome>", b"<premis:eventOutcome> </premis:eventOutcome>", 1)),
    ("METS-E009", lambda b: b.replace(b"<premis:agentIdentifierValue>Example Library", b"<premis:agentIdentifierValue>Someone")),
    ("METS-E010", lambda b: re.sub(rb"(<premis:objectIdentifierValue>)[0-9a-f]", rb"\g<1>z", b, count=1)),
    ("METS-E011", lambda b: b.replace(b'<mods:relatedItem type="original">', b'<mods:relatedItem type="references">')),
    ("METS-E012", lambda b: b.replace(b'encoding="edtf" keyDate', b'encoding="w3cdtf" keyDate')),
    ("METS-E013", lambda b: re.sub(rb"<prov:person [^>]*/>", b"", b, count=1)),
    ("METS-E013", lambda b: b.replace(b'lines="3 4"', b'lines="0 x"', 1)),
    ("METS-E013", lambda b: b.replace(b'by="curator"', b'by="guess"', 1)),
    ("METS-E014", lambda b: b.replace(b'OTHERTYPE="SOFTWARE"', b'OTHERTYPE="HARDWARE"')),
    ("METS-E015", lambda b: b.replace(b'xlink:href="http://rightsstatements.org/vocab/InC/1.0/"', b'xlink:href="http://rightsstatements.org/vocab/NKC/1.0/"')),
    ("METS-E016", lambda b: b.replace(b"<premis:otherRightsDocumentationIdentifierValue>http://rightsstatements.org/vocab/InC/",
                                      b"<premis:otherRightsDocumentationIdentifierValue>http://rightsstatements.org/vocab/UND/")),
])
def test_each_rule_catches_its_violation(code, mutate):
    good = mets_bytes(rec(**FULL))
    bad = mutate(good)
    assert bad != good
    found = mets.check_rules(bad)
    assert code in {fi.code for fi in found}, [fi.line() for fi in found]
    assert all(fi.path == layout.METS and "\n" not in fi.line() for fi in found)


def test_check_rules_on_unsafe_or_broken_xml():
    assert [fi.code for fi in mets.check_rules(b"<mets")] == ["METS-E000"]
    assert [fi.code for fi in mets.check_rules(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')] == ["METS-E000"]


def test_rule_codes_in_the_schematron_are_registered_and_documented():
    sch = (ROOT / "schemas" / "mets-rules.sch").read_text(encoding="utf-8")
    # METS-E013 counts the provenance facts: one per field path.
    from archiver.record import FIELD_PATHS

    assert f"count(mods:extension/prov:provenance/prov:fact) = {len(FIELD_PATHS)}" in sch
    codes = set(re.findall(r'id="(METS-E\d{3})"', sch))
    assert codes == set(mets._RULE_SUMMARIES)
    for code in codes:
        assert RULES[code].reference == "schemas/mets-rules.sch"


@pytest.mark.parametrize("name", ["mets-rules.sch", "archiver-provenance.xsd"])
def test_packaged_copies_equal_the_canonical_schemas(name):
    assert (ROOT / "archiver" / "data" / name).read_bytes() == (ROOT / "schemas" / name).read_bytes()


@pytest.mark.parametrize("url", [
    "https://example.org/100%", "https://example.org/%zz", "https://example.org/a[1]",
    "https://example.org/#a#b", "https://example.org/\x01",
])
def test_record_refuses_urls_mets_cannot_carry(url):
    # xs:anyURI (MODS location/url) refuses these, so the record must refuse them first.
    with pytest.raises(ValueError, match="well-formed URL"):
        rec(source={"url": f(url)})


def test_record_accepts_urls_with_escapes_and_ipv6_hosts(xsd_dir):
    r = rec(source={"url": f("http://[::1]:8080/a%20b?q=%C3%A9#top"), "outlet": {"url": f("https://example.org/é")}})
    data = mets_bytes(r)
    assert schema_errors(xsd_dir, data) == []
    assert mets.read_record(data) == r


@pytest.mark.parametrize("name", ["a b#1?.txt", "100% сірий 😀.txt", "x&y<z>.txt", "a%20b.txt"])
def test_file_paths_survive_flocat_encoding(xsd_dir, name):
    r = rec(original={"filename": name, "size": 5, "encoding": "utf-8", "newlines": "none"})
    data = mets_bytes(r)
    assert schema_errors(xsd_dir, data) == []
    assert {ff.path for ff in mets.read_files(data)} == {ff.path for ff in files_for(r)}
    assert mets.read_record(data) == r
    assert mets.check_rules(data) == []


_GOOD = None


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 10_000), action=st.sampled_from(["drop", "text", "attr"]), junk=st.sampled_from(["", "x", "-1", "0", "unknown", "9" * 30]))
def test_damaged_mets_gives_a_record_or_a_one_line_error(index, action, junk):
    global _GOOD
    if _GOOD is None:
        _GOOD = mets_bytes(rec(**FULL))
    root = etree.fromstring(_GOOD)
    nodes = list(root.iter())
    node = nodes[index % len(nodes)]
    if action == "drop" and node.getparent() is not None:
        node.getparent().remove(node)
    elif action == "text":
        node.text = junk
    elif node.attrib:
        node.set(sorted(node.attrib)[index % len(node.attrib)], junk)
    data = etree.tostring(root)
    for read in (mets.read_record, mets.read_files, mets.read_header):
        try:
            read(data)
        except mets.MetsError as e:
            assert "\n" not in str(e) and str(e).startswith("mets.xml: ")
    assert all("\n" not in fi.line() for fi in mets.check_rules(data))


def test_rules_are_found_beside_the_package_when_schemas_is_absent(tmp_path, monkeypatch):
    pkg = tmp_path / "site-packages" / "archiver"
    (pkg / "data").mkdir(parents=True)
    for name in (mets.RULES_FILE, mets.PROVENANCE_XSD):
        (pkg / "data" / name).write_bytes((ROOT / "schemas" / name).read_bytes())
    monkeypatch.setattr(mets, "_ROOT", pkg)
    assert mets.rules_path() == pkg / "data" / mets.RULES_FILE
    assert mets.rules_path(mets.PROVENANCE_XSD) == pkg / "data" / mets.PROVENANCE_XSD


def test_check_rules_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    good = mets_bytes(rec(**FULL))
    bad = good.replace(b'OBJID="aaaa', b'OBJID="AAAA')
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda b: [fi.code for fi in mets.check_rules(b)], [good, bad] * 8))
    assert results == [[], ["METS-E001"]] * 8


def test_original_names_that_are_not_plain_file_names_still_make_valid_mets(xsd_dir):
    """Regression (found by hypothesis): an original called "/" must not break the METS."""
    base = rec()
    for odd in ["/", "..", "a/b.txt", "\u00e9 t.txt"]:
        r = Record.model_validate({**base.to_json(), "original": {**base.to_json()["original"], "filename": odd}})
        data = mets_bytes(r)
        assert mets.read_record(data) == r
        assert schema_errors(xsd_dir, data) == []


# --- the METS writer: exactly what lxml writes for the same tree ----------------


def _lxml_form(data: bytes) -> bytes:
    """What lxml writes for the tree ``data`` holds: parsed, its indentation dropped, pretty-printed afresh.

    Only the whitespace between elements is dropped (the text and tail around an element's
    child elements, never a leaf's text), so lxml decides every indent, every escape, the
    attribute quoting and the form of empty elements."""
    root = etree.fromstring(data)
    for e in root.iter():
        if len(e):
            e.text = None
            for child in e:
                child.tail = None
    return mets.serialize(root)


FILE_SETS = st.fixed_dictionaries({
    "derivative": st.booleans(),
    "metadata": st.booleans(),
    "algorithms": st.sets(st.sampled_from(["md5", "sha1", "sha224", "sha384", "sha512"])),
})


def _files(r: Record, fs: dict) -> list[mets.FileFacts]:
    lengths = {"md5": 32, "sha1": 40, "sha224": 56, "sha384": 96, "sha512": 128}
    out = []
    for n, ff in enumerate(files_for(r, derivative=fs["derivative"], metadata=fs["metadata"])):
        digests = {"sha256": ff.digests["sha256"], **{a: f"{n:x}" * lengths[a] for a in sorted(fs["algorithms"])}}
        out.append(mets.FileFacts(ff.path, ff.use, ff.size, digests, ff.media_type))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), FILE_SETS, st.sampled_from([None, "Example & <Library>", 'a "b"\tc\r\nd 😀']),
       st.sampled_from([f"archiver {mets.__version__}", "archiver", "a&b <c> 1.0\r"]))
def test_rendered_mets_is_what_lxml_writes(r, fs, organization, software):
    files = _files(r, fs)
    out = mets.render(r, files, created=CREATED, organization=organization, software=software)
    assert out == _lxml_form(out)
    assert out == mets.serialize(mets.build(r, files, created=CREATED, organization=organization, software=software))
    assert mets.read_record(out) == r
    assert [(ff.path, ff.use, ff.size, ff.digests) for ff in mets.read_files(out)] == [
        (ff.path, ff.use, ff.size, dict(sorted(ff.digests.items()))) for ff in files]
    assert mets.read_header(out) == {"objid": r.id, "created": CREATED, "profile": layout.METS_PROFILE,
                                     "software": software, "organization": organization or None}


def test_lxml_form_sees_a_wrong_indent_or_escape():
    """The comparison above can fail: lxml re-derives what the writer wrote."""
    good = mets.render(rec(**FULL), files_for(rec(**FULL)), created=CREATED)
    assert _lxml_form(good) == good
    for bad in (good.replace(b"\n        <mods:mods", b"\n         <mods:mods", 1),
                good.replace(b"&amp; &lt;press&gt;", b"&amp; &lt;press>", 1),
                good.replace(b"<mods:typeOfResource>text</mods:typeOfResource>", b"<mods:typeOfResource>text</mods:typeOfResource >", 1)):
        assert bad != good and _lxml_form(bad) != bad


ODD = ["", " ", "a&b<c>d\"e'f", "\r\n\t", "]]>", "\x7f\u0085\u2028é😀", "x\ry", "\x00", "a\x0bb", "\ufffe", "ok\ud800", "\x1f"]


MARK = "QQmarkQQ"


def _lxml_with(data: bytes, value: str):
    """lxml's bytes, or its error, for the document ``data`` with every MARK replaced by ``value``.

    The values are set as lxml sets them in a tree being built: element by element in
    document order, attributes before text, so lxml's first refusal is the one reported."""
    root = etree.fromstring(data)
    try:
        for e in root.iter():
            for k, v in e.attrib.items():
                if MARK in v:
                    e.set(k, v.replace(MARK, value))
            if e.text is not None and MARK in e.text:
                e.text = e.text.replace(MARK, value)
    except ValueError as e:
        return ValueError, f"mets: {mets.one_line(str(e))}"
    return mets.serialize(root)


def _render_or_error(r, files, **kw):
    try:
        return mets.render(r, files, created=CREATED, **kw)
    except ValueError as e:
        return type(e), str(e)


# Where a free string lands in the METS: as element text, as an attribute, or both.
PLACES = {
    "title": lambda v: (rec(**{**FULL, "title": f(f"x{v}y")}), {}),
    "person": lambda v: (rec(**{**FULL, "persons": [{"name": f"x{v}y", "role": "aut", "origin": CUR}]}), {}),
    "note": lambda v: (rec(**{**FULL, "notes": [{"text": f"x{v}y", "origin": CUR}]}), {}),
    "origin source": lambda v: (rec(**{**FULL, "genre": f("news", {"by": "curator", "source": v})}), {}),
    "origin rule": lambda v: (rec(**{**FULL, "genre": f("news", {"by": "inferred", "rule": v})}), {}),
    "filename": lambda v: (rec(original={"filename": v, "size": 120, "encoding": "utf-8", "newlines": "lf"}), {}),
    "media type": lambda v: (rec(original={"filename": "a.txt", "size": 120, "encoding": "utf-8", "newlines": "lf",
                                           "media_type": v}), {}),
    "organization": lambda v: (rec(**FULL), {"organization": v}),
}


def _placeable():
    """(place, value) pairs the record model accepts; an empty organization is no organization."""
    out = []
    for place in sorted(PLACES):
        for value in ODD:
            try:
                _, kw = PLACES[place](value)
            except ValueError:
                continue
            if kw.get("organization") != "":
                out.append((place, value))
    return out


@pytest.mark.parametrize("place, value", _placeable())
def test_odd_strings_in_records_are_written_or_refused_as_lxml_does(place, value):
    r, kw = PLACES[place](value)
    marked, _ = PLACES[place](MARK)
    files = files_for(rec())  # the same paths (and so UUIDs) whatever the record holds
    expected = _lxml_with(mets.render(marked, files, created=CREATED, **{k: MARK for k in kw}), value)
    assert _render_or_error(r, files, **kw) == expected


def test_odd_strings_reach_every_place_and_both_outcomes():
    """The cases above are not vacuous: every place is tried, with values written and values refused."""
    pairs = _placeable()
    assert {place for place, _ in pairs} == set(PLACES)
    outcomes = {place: set() for place in PLACES}
    for place, value in pairs:
        r, kw = PLACES[place](value)
        outcomes[place].add(isinstance(_render_or_error(r, files_for(rec()), **kw), bytes))
    assert all(o == {True, False} for o in outcomes.values()), outcomes


def test_the_first_value_lxml_refuses_in_document_order_is_reported():
    r = rec(**{**FULL, "title": f("title \ufffe"), "persons": [{"name": "b\udfff", "role": "aut", "origin": CUR}]})
    assert _render_or_error(r, files_for(r)) == (ValueError, "mets: " + xmltext._NOT_XML_MESSAGE)
    r = rec(**{**FULL, "persons": [{"name": "b\udfff", "role": "aut", "origin": CUR}]})
    assert _render_or_error(r, files_for(r), organization="org\x00") == (ValueError, "mets: " + xmltext._NOT_XML_MESSAGE)
    got = _render_or_error(r, files_for(r))
    assert got[0] is ValueError and "'\\udfff' in position 1" in got[1]
    # the title is the root's LABEL: before the software and the organization in the metsHdr
    r = rec(**{**FULL, "title": f("t\udfff")})
    for kw in ({"organization": "org\x00"}, {"software": "archiver\x00"}):
        assert _render_or_error(r, files_for(r), **kw) == (
            ValueError, "mets: 'utf-8' codec can't encode character '\\udfff' in position 1: surrogates not allowed")


def test_a_path_utf8_cannot_encode_is_reported_before_any_text_is_checked():
    """As when the tree was built first: the path's PREMIS UUID fails before any value is written."""
    r = rec(**{**FULL, "title": f("title \ufffe")})
    files = files_for(r)
    files[1] = mets.FileFacts("data/objects/x\udcff.txt", "derivative", 1, {"sha256": "c" * 64})
    position = len(f"{r.id}/object/data/objects/x")  # in the name whose UUID is taken, as the tree builder reported it
    assert _render_or_error(r, files) == (
        ValueError, f"mets: 'utf-8' codec can't encode character '\\udcff' in position {position}: surrogates not allowed")


def test_an_empty_original_related_item_is_written_as_lxml_writes_it():
    r = rec(translation={"status": f("machine-translated")})
    out = mets.render(r, files_for(r), created=CREATED)
    assert b'<mods:relatedItem type="original"/>\n' in out
    assert out == _lxml_form(out) and mets.read_record(out) == r


# The light tree (xmltext.py) still writes receipts; these hold it to lxml too.


def _as_lxml(node, parent=None):
    """The same tree as lxml elements."""
    prefix, local = node.tag.split(":")
    nsmap = {k.split(":")[1]: v for k, v in node.attrs.items() if k.startswith("xmlns:")} or None
    tag = f"{{{mets.NS[prefix]}}}{local}"
    e = etree.Element(tag, nsmap=nsmap) if parent is None else etree.SubElement(parent, tag, nsmap=nsmap)
    for k, v in node.attrs.items():
        if k.startswith("xmlns:"):
            continue
        if ":" in k:
            p, n = k.split(":")
            k = f"{{{mets.NS[p]}}}{n}"
        e.set(k, v)
    if node.text is not None:
        e.text = node.text
    for child in node.children:
        _as_lxml(child, e)
    return e


def _both(root):
    """(lxml's bytes or error, xmltext.document's bytes or error)."""
    out = []
    for fn in (lambda: mets.serialize(_as_lxml(root)), lambda: xmltext.document(root)):
        try:
            out.append(fn())
        except ValueError as e:
            out.append((type(e), str(e)))
    return out


@pytest.mark.parametrize("value", ODD)
def test_odd_strings_are_written_or_refused_as_lxml_does(value):
    root = xmltext.Node("mets:mets", {f"xmlns:{p}": uri for p, uri in mets.NSMAP.items()}, None)
    root.set("LABEL", value)
    xmltext.el(root, "mets", "name", value)
    xmltext.el(root, "mets", "name", "fine", ID=value)
    xmltext.el(xmltext.el(root, "mets", "div"), "mods", "note", value, **{"xlink:href": value})
    lxml_bytes, ours = _both(root)
    assert ours == lxml_bytes


def test_the_first_string_lxml_would_refuse_is_the_one_reported():
    root = xmltext.Node("mets:mets", {f"xmlns:{p}": uri for p, uri in mets.NSMAP.items()}, None)
    xmltext.el(root, "mets", "name", "a\x00")
    xmltext.el(root, "mets", "name", "b\udfff")  # a different error; must not win
    lxml_bytes, ours = _both(root)
    assert ours == lxml_bytes and ours[0] is ValueError and "XML compatible" in ours[1]


def test_premis_uuids_are_uuid5():
    import uuid

    for parts in (("object", "data/objects/a.txt"), ("event", "capture"), ("rights",), ()):
        assert mets._uuid("ab" * 32, *parts) == str(uuid.uuid5(mets._UUID_NS, "/".join(("ab" * 32, *parts))))


def test_remembered_origins_keep_what_tells_them_apart():
    """render remembers origins by value; 0.0 and -0.0 are equal values written differently."""
    for confidence in (0.0, -0.0, 0.0, 1, 1.0, 0.5, -0.0):
        origin = {"by": "inferred", "rule": "r", "lines": [2], "confidence": confidence}
        r = rec(**{**FULL, "genre": f("news", origin)})
        out = mets.render(r, files_for(r), created=CREATED)
        assert f'<prov:fact path="genre" by="inferred" rule="r" lines="2" confidence="{float(confidence)!r}"/>'.encode() in out
        assert out == _lxml_form(out) and mets.read_record(out) == r
    for source in ("a&b", "a\x00b", "a&b"):  # refused: raises every time, is never remembered
        r = rec(**{**FULL, "genre": f("news", {"by": "curator", "source": source})})
        assert _render_or_error(r, files_for(r)) == _lxml_with(mets.render(rec(**{**FULL, "genre": f("news", {"by": "curator", "source": MARK})}), files_for(r), created=CREATED), source)
