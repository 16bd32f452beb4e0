"""The METS manifest: a Record (+ the bag's files) as METS 1.12 / MODS 3.8 / PREMIS 3, and back.

Description lives in MODS, provenance (objects, events, agents, rights) in
PREMIS.  What neither can say (each value's Origin, explicit unknowns) lives in
one MODS ``<extension>`` in our namespace (``PROV_NS``, schema in
``schemas/archiver-provenance.xsd``), keyed by field path.  Values are never
duplicated there, so ``read_record(serialize(build(r, ...))) == r`` holds with
MODS/PREMIS as the single carrier of each value.  docs/mets-mapping.md has the
table of field path -> XPath.

Pure: no I/O except reading our Schematron once (lazily) for ``check_rules``.
"""

from __future__ import annotations

import hashlib
import operator
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote, unquote

from lxml import etree
from pydantic import ValidationError

from . import __version__, dates, identity, layout, xmlsafe, xmltext
from .findings import Finding, one_line, rule
from .record import FIELD_PATHS, ROLE_TERMS, UNKNOWN, Origin, Record

METS_NS = "http://www.loc.gov/METS/"
MODS_NS = "http://www.loc.gov/mods/v3"
PREMIS_NS = "http://www.loc.gov/premis/v3"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PROV_NS = "https://archiver.invalid/ns/provenance/1"

NSMAP = {"mets": METS_NS, "mods": MODS_NS, "premis": PREMIS_NS, "xlink": XLINK_NS, "xsi": XSI_NS}
NS = {**NSMAP, "prov": PROV_NS}
SCHEMA_LOCATION = (
    f"{METS_NS} http://www.loc.gov/standards/mets/version1121/mets.xsd "
    f"{MODS_NS} http://www.loc.gov/standards/mods/v3/mods-3-8.xsd "
    f"{PREMIS_NS} http://www.loc.gov/premis/v3/premis.xsd"
)

# Deterministic identifiers (PREMIS UUIDs) so that output is reproducible.
_UUID_NS = uuid.UUID("6f1d7c1e-3a0b-5c2e-9d57-5b0e3b0f6a11")

# BagIt algorithm -> its label in LoC cryptographicHashFunctions and METS CHECKSUMTYPE (the same)
DIGESTS = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha224": "SHA-224",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
}
_DIGEST_ALGS = {v: k for k, v in DIGESTS.items()}
_HEX = re.compile(r"[0-9a-f]+")
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}

# LoC preservation vocabularies (id.loc.gov/vocabulary/preservation/...).
_LOC = "http://id.loc.gov/vocabulary/preservation/"
EVENT_TYPES = {  # term -> code
    "capture": "cap",
    "metadata extraction": "mee",
    "message digest calculation": "mes",
    "information package creation": "ipc",
}
REQUIRED_EVENTS = tuple(EVENT_TYPES)

# PRONOM identities of the formats we package (media type without parameters).
FORMATS = {
    "text/plain": ("Plain text", "x-fmt/111"),
    "application/json": ("JSON Data Interchange Format", "fmt/817"),
}

RIGHTS_LABELS = {
    "InC": "In Copyright",
    "InC-OW-EU": "In Copyright - EU Orphan Work",
    "InC-EDU": "In Copyright - Educational Use Permitted",
    "InC-NC": "In Copyright - Non-Commercial Use Permitted",
    "InC-RUU": "In Copyright - Rights-holder(s) Unlocatable or Unidentifiable",
    "NoC-CR": "No Copyright - Contractual Restrictions",
    "NoC-NC": "No Copyright - Non-Commercial Use Only",
    "NoC-OKLR": "No Copyright - Other Known Legal Restrictions",
    "NoC-US": "No Copyright - United States",
    "CNE": "Copyright Not Evaluated",
    "UND": "Copyright Undetermined",
    "NKC": "No Known Copyright",
}

USES = ("original", "derivative", "metadata")

# MODS has no place for these; they are notes with a type of ours.
_NOTE_STATUS = "translation status"

rule("METS-E000", "schemas/mets-rules.sch", "mets.xml is not well-formed or uses refused XML features")


class MetsError(ValueError):
    """A METS document we cannot read back into a Record; the message is one line."""


@dataclass(frozen=True)
class FileFacts:
    path: str  # bag-relative, e.g. "data/objects/foo.txt"
    use: str  # "original" | "derivative" | "metadata"
    size: int
    digests: dict[str, str]  # {"sha256": hex, "sha512": hex, ...}
    media_type: str = "text/plain; charset=utf-8"


def bag_files(record: Record, payload: dict[str, tuple[int, dict[str, str]]]) -> list[FileFacts]:
    """The files our mets.xml describes, from the bag's payload ``{path: (size, {algorithm: digest})}``.

    Each file's METS group is ``layout.file_use`` (others are left out); the original's media
    type is the record's.  In mets.xml's order.  The one rule for the writer (package) and for
    the validator re-rendering a bag's METS (ourbag)."""
    pname = identity.payload_name(record.original.filename)
    out = []
    for path, (size, digests) in payload.items():
        use = layout.file_use(path, pname)
        if use is None:
            continue
        media = record.original.media_type if use == "original" else FileFacts.media_type
        out.append(FileFacts(path, use, size, {a: d for a, d in digests.items() if a in DIGESTS}, media))
    return sorted(out, key=lambda f: (USES.index(f.use), f.path))


# --- small builders ---------------------------------------------------------


def _q(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


_UUID_NS_BYTES = _UUID_NS.bytes


# RFC 4122 version 5: the version nibble is 5; the variant's two top bits (of the 17th hex digit) are 10.
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def _uuid(record_id: str, *parts: str) -> str:
    """``str(uuid.uuid5(_UUID_NS, name))`` without the UUID object (5.7 -> 1.5 us here).

    Not cached: the writer asks for each of a bag's ids once."""
    h = hashlib.sha1(_UUID_NS_BYTES + "/".join((record_id, *parts)).encode("utf-8")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def _split_software(software: str) -> tuple[str, str | None]:
    name, _, version = software.rpartition(" ")
    return (name, version) if name and version else (software, None)


def _media_base(media_type: str) -> str:
    return media_type.split(";")[0].strip().lower()


def _file_id(use: str, n: int) -> str:
    return f"file-{use}-{n}"


# --- build ------------------------------------------------------------------


def render(
    record: Record,
    files: Sequence[FileFacts],
    *,
    created: str,
    organization: str | None = None,
    software: str = f"archiver {__version__}",
) -> bytes:
    """The METS document (mets.xml bytes) for one bag.  Raises ValueError (one line) on inconsistent input.

    The bytes are exactly what lxml writes for the same tree (``serialize(build(...))``):
    UTF-8, an XML declaration, lxml's two-space indent, attributes in the order written.
    """
    originals = [f for f in files if f.use == "original"]
    if len(originals) != 1:
        raise ValueError(f"mets: expected exactly one original file, got {len(originals)}")
    seen: set[str] = set()
    for f in files:
        if f.use not in USES:
            raise _file_error(f, f"unknown file use {one_line(str(f.use))!r}")
        parts = f.path.split("/")
        if parts[0] != "data" or len(parts) < 2 or not _BAD_SEGMENTS.isdisjoint(parts):
            raise _file_error(f, "file paths must be bag-relative under data/, without empty, . or .. segments")
        if f.path in seen:
            raise _file_error(f, "listed twice")
        seen.add(f.path)
        if "sha256" not in f.digests:
            raise _file_error(f, "a sha256 digest is required")
        for alg, digest in f.digests.items():
            if alg not in DIGESTS:
                raise _file_error(f, f"unsupported digest algorithm {one_line(str(alg))!r}")
            if not _HEX.fullmatch(digest) or len(digest) != _HEX_LENGTH[alg]:
                raise _file_error(f, f"{alg} is not {_HEX_LENGTH[alg]} lower-case hex digits")
        if f.size < 0:
            raise _file_error(f, "negative size")
    try:
        dates.parse_timestamp(created)
    except dates.EDTFError as e:
        raise ValueError(f"mets: created: {e}") from None
    orig = originals[0]
    if orig.digests["sha256"] != record.id:
        raise ValueError(f"mets: {orig.path}: sha256 differs from the record id")
    if orig.size != record.original.size:
        raise ValueError(f"mets: {orig.path}: size {orig.size} differs from the record's original.size {record.original.size}")
    try:
        return _write(record, files, created, organization, software)
    except ValueError as e:  # strings XML cannot carry
        raise ValueError(f"mets: {one_line(str(e))}") from None


_BAD_SEGMENTS = frozenset(("", ".", ".."))


def _file_error(f: FileFacts, why: str) -> ValueError:
    return ValueError(f"mets: {one_line(f.path)}: {why}")


def build(
    record: Record,
    files: Sequence[FileFacts],
    *,
    created: str,
    organization: str | None = None,
    software: str = f"archiver {__version__}",
) -> etree._ElementTree:
    """The METS tree for one bag (``render``, parsed).  Raises ValueError (one line) on inconsistent input."""
    data = render(record, files, created=created, organization=organization, software=software)
    return etree.ElementTree(xmlsafe.parse(data).getroot())


# --- write ------------------------------------------------------------------
#
# The METS is written as text, straight from the record, in exactly the form lxml's
# pretty print gives the same tree (tests/test_mets.py holds render to that): two-space
# indents, leaves inline, attributes in the order written, lxml's escaping and refusals.
# Every element sits at a fixed depth, so its indentation is literal in the templates
# below and the code reads as the document; premis.py writes the amdSec the same way.
# Values from the record and the file facts are escaped by xmltext (lxml's escaping and
# refusals) where they first appear, in document order, so the first value lxml would
# refuse is the one reported.  Written as they are: what this module makes (IDs, UUIDs,
# numbers, vocabulary), the record id and digests (checked as hex above), the creation
# timestamp (checked by dates.parse_timestamp: digits, "-", ":", "T", "Z", "+"), and the
# record's closed vocabularies (pydantic Literals: genre, status, role, origin "by",
# encoding, newlines, schema).
# Building a light tree of ~340 nodes and walking it cost ~0.8-1.0 ms per bench
# document; writing the text directly ~0.1 ms.

_t, _a = xmltext.escape_text, xmltext.escape_attr

_ROOT_ATTRS = " ".join(f'xmlns:{p}="{uri}"' for p, uri in NSMAP.items()) + f' xsi:schemaLocation="{SCHEMA_LOCATION}"'
_RELATORS = "http://id.loc.gov/vocabulary/relators"
_RECORD_ORIGIN = "archiver: values from the record; their origins in the provenance extension"


def _write(r: Record, files, created: str, organization: str | None, software: str) -> bytes:
    """The document for render, which has checked the files and the creation timestamp."""
    rid = r.id
    # Sorted for stable IDs whatever order the caller passes files in.
    ordered = sorted(files, key=lambda f: (USES.index(f.use), f.path))
    ids, counts = [], {}
    for f in ordered:
        counts[f.use] = counts.get(f.use, 0) + 1
        ids.append(_file_id(f.use, counts[f.use]))
    # Before any text, as the tree builder made them: a path UTF-8 cannot encode (a lone
    # surrogate) is reported by its UUID, whatever other value lxml would refuse.
    uuids = [premis.object_uuid(rid, f.path) for f in ordered]
    hrefs = [quote(f.path, safe="/") for f in ordered]  # %-encoded: nothing left to escape

    out: list[str] = []
    w = out.append
    label = f' LABEL="{_a(r.title.value)}"' if r.title.known else ""
    sw = _t(software)
    w(f"""<?xml version="1.0" encoding="UTF-8"?>
<mets:mets {_ROOT_ATTRS} OBJID="{rid}"{label} TYPE="text" PROFILE="{layout.METS_PROFILE}">
  <mets:metsHdr CREATEDATE="{created}" RECORDSTATUS="complete">
    <mets:agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE">
      <mets:name>{sw}</mets:name>
    </mets:agent>
""")
    org = _t(organization) if organization else None
    if org is not None:
        w(f"""\
    <mets:agent ROLE="CUSTODIAN" TYPE="ORGANIZATION">
      <mets:name>{org}</mets:name>
    </mets:agent>
""")
    w("""\
  </mets:metsHdr>
  <mets:dmdSec ID="dmd-mods">
    <mets:mdWrap MDTYPE="MODS" MDTYPEVERSION="3.8">
      <mets:xmlData>
""")
    _mods(w, r)
    w("""\
      </mets:xmlData>
    </mets:mdWrap>
  </mets:dmdSec>
  <mets:amdSec ID="amd-1">
""")
    premis.write(w, r, ordered, ids, uuids, created=created, organization=org, software=sw)
    w("""\
  </mets:amdSec>
  <mets:fileSec>
""")
    for use in USES:
        group = [n for n, f in enumerate(ordered) if f.use == use]
        if not group:
            continue
        w(f'    <mets:fileGrp USE="{use}">\n')
        for n in group:
            f = ordered[n]
            media = r.original.media_type if use == "original" else f.media_type
            w(f"""\
      <mets:file ID="{ids[n]}" MIMETYPE="{_a(media)}" SIZE="{f.size}" CHECKSUM="{f.digests["sha256"]}" CHECKSUMTYPE="SHA-256" ADMID="{premis.admids(ids[n])}">
        <mets:FLocat LOCTYPE="URL" xlink:href="{hrefs[n]}"/>
      </mets:file>
""")
        w("    </mets:fileGrp>\n")
    w(f"""\
  </mets:fileSec>
  <mets:structMap TYPE="physical">
    <mets:div TYPE="text"{label} DMDID="dmd-mods" ADMID="{premis.package_admids(r, organization)}">
""")
    for f, id_ in zip(ordered, ids):
        w(f"""\
      <mets:div TYPE="{f.use}" LABEL="{_a(f.path.rsplit("/", 1)[-1])}">
        <mets:fptr FILEID="{id_}"/>
      </mets:div>
""")
    w("""\
    </mets:div>
  </mets:structMap>
</mets:mets>
""")
    # Encoded part by part: most parts are ASCII, copied as they are, and a value beyond ASCII
    # slows only its own part.  Encoding the joined document encodes every character once any
    # is beyond ASCII (most bench documents): ~109 -> ~97 us per render.
    return b"".join([part.encode() for part in out])


def _mods(w, r: Record) -> None:
    """mods:mods, inside the dmdSec's xmlData (8 spaces)."""
    w('        <mods:mods version="3.8">\n')
    if r.title.known:
        w(f"""\
          <mods:titleInfo>
            <mods:title>{_t(r.title.value)}</mods:title>
          </mods:titleInfo>
""")
    for i, p in enumerate(r.persons, 1):
        w(f"""\
          <mods:name type="personal" ID="name-{i}">
            <mods:namePart>{_t(p.name)}</mods:namePart>
            <mods:role>
              <mods:roleTerm type="code" authority="marcrelator" authorityURI="{_RELATORS}" valueURI="{_RELATORS}/{p.role}">{p.role}</mods:roleTerm>
              <mods:roleTerm type="text" authority="marcrelator">{ROLE_TERMS[p.role]}</mods:roleTerm>
            </mods:role>
""")
        for alias in p.aliases:
            w(f"""\
            <mods:alternativeName>
              <mods:namePart>{_t(alias)}</mods:namePart>
            </mods:alternativeName>
""")
        w("          </mods:name>\n")
    w("          <mods:typeOfResource>text</mods:typeOfResource>\n")
    if r.genre.known:
        w(f'          <mods:genre authority="local">{r.genre.value}</mods:genre>\n')
    pub, cap, repub = r.dates.published, r.dates.captured, r.source.republisher
    if pub.known or cap.known or repub.known:
        w('          <mods:originInfo eventType="publication">\n')
        if repub.known:
            w(f"            <mods:publisher>{_t(repub.value)}</mods:publisher>\n")
        if pub.known:
            w(f'            <mods:dateIssued encoding="edtf" keyDate="yes">{_t(pub.value)}</mods:dateIssued>\n')
        if cap.known:
            key = "" if pub.known else ' keyDate="yes"'
            w(f'            <mods:dateCaptured encoding="edtf"{key}>{_t(cap.value)}</mods:dateCaptured>\n')
        w("          </mods:originInfo>\n")
    if r.language.known:
        w(_language("          ", r.language.value))
    w(f"""\
          <mods:physicalDescription>
            <mods:internetMediaType>{_t(r.original.media_type)}</mods:internetMediaType>
          </mods:physicalDescription>
""")
    if r.source.url.known:
        accessed = f' dateLastAccessed="{_a(cap.value)}"' if cap.known else ""
        w(f"""\
          <mods:location>
            <mods:url usage="primary"{accessed}>{_t(r.source.url.value)}</mods:url>
          </mods:location>
""")
    if r.rights.known:
        uri = r.rights.value
        w(f'          <mods:accessCondition type="use and reproduction" xlink:href="{_a(uri)}">'
          f"{RIGHTS_LABELS[uri.split('/')[-3]]}</mods:accessCondition>\n")
    for i, note in enumerate(r.notes, 1):
        w(f'          <mods:note ID="note-{i}">{_t(note.text)}</mods:note>\n')
    if r.translation.status.known:
        w(f'          <mods:note type="{_NOTE_STATUS}">{r.translation.status.value}</mods:note>\n')
    # The outlet published the original: inside the original's relatedItem when there is one.
    if not _related_original(w, r):
        w(_related_outlet("          ", r))
    if r.listing is not None:
        li = r.listing
        w(f"""\
          <mods:relatedItem type="host" displayLabel="listing">
            <mods:identifier type="sha256">{_t(li.parent)}</mods:identifier>
            <mods:part>
              <mods:detail type="item">
                <mods:number>{li.item}</mods:number>
              </mods:detail>
              <mods:extent unit="lines">
                <mods:start>{li.lines[0]}</mods:start>
                <mods:end>{li.lines[1]}</mods:end>
              </mods:extent>
            </mods:part>
          </mods:relatedItem>
""")
    if r.supersedes is not None:
        w(f"""\
          <mods:relatedItem type="otherVersion" displayLabel="supersedes">
            <mods:identifier type="sha256">{_t(r.supersedes)}</mods:identifier>
          </mods:relatedItem>
""")
    w(f"""\
          <mods:identifier type="sha256">{r.id}</mods:identifier>
          <mods:extension>
            <prov:provenance xmlns:prov="{PROV_NS}" schema="{r.schema_}">
""")
    for start, fact_of in _FACTS:
        fact = fact_of(r)
        w(f"{start}{'' if fact.known else _UNKNOWN}{_origin(fact.origin)}/>\n")
    for i, p in enumerate(r.persons, 1):
        w(f'              <prov:person ref="name-{i}"{_origin(p.origin)}/>\n')
    for i, n in enumerate(r.notes, 1):
        w(f'              <prov:note ref="note-{i}"{_origin(n.origin)}/>\n')
    w(f"""\
            </prov:provenance>
          </mods:extension>
          <mods:recordInfo>
            <mods:recordOrigin>{_RECORD_ORIGIN}</mods:recordOrigin>
          </mods:recordInfo>
        </mods:mods>
""")


def _language(i: str, tag: str) -> str:
    """mods:language with its RFC 5646 tag, indented by ``i`` (it appears at three depths)."""
    return (f"{i}<mods:language>\n"
            f'{i}  <mods:languageTerm type="code" authority="rfc5646">{_t(tag)}</mods:languageTerm>\n'
            f"{i}</mods:language>\n")


def _related_original(w, r: Record) -> bool:
    """The original's relatedItem, holding the outlet's, when the text is a translation or has facts about its original."""
    t, d = r.translation, r.dates
    if not (t.original_title.known or t.original_url.known or t.source_language.known or d.original_published.known
            or t.status.value in ("translated", "machine-translated")):
        return False
    inner = []  # in document order, so values are checked in that order
    if t.original_title.known:
        inner.append(f"""\
            <mods:titleInfo>
              <mods:title>{_t(t.original_title.value)}</mods:title>
            </mods:titleInfo>
""")
    if d.original_published.known:
        inner.append(f"""\
            <mods:originInfo eventType="publication">
              <mods:dateIssued encoding="edtf">{_t(d.original_published.value)}</mods:dateIssued>
            </mods:originInfo>
""")
    if t.source_language.known:
        inner.append(_language("            ", t.source_language.value))
    if t.original_url.known:
        inner.append(f"""\
            <mods:location>
              <mods:url>{_t(t.original_url.value)}</mods:url>
            </mods:location>
""")
    inner.append(_related_outlet("            ", r))
    body = "".join(inner)
    if body:
        w(f'          <mods:relatedItem type="original">\n{body}          </mods:relatedItem>\n')
    else:  # a translation of which nothing is known: an empty element, as lxml writes one
        w('          <mods:relatedItem type="original"/>\n')
    return True


def _related_outlet(i: str, r: Record) -> str:
    """The outlet's relatedItem indented by ``i`` (at the top of MODS, or inside the original's); "" if nothing is known."""
    o = r.source.outlet
    if not (o.name.known or o.url.known or o.domain.known or o.language.known):
        return ""
    out = [f'{i}<mods:relatedItem type="host" displayLabel="outlet">\n']
    if o.name.known:
        out.append(f"{i}  <mods:titleInfo>\n{i}    <mods:title>{_t(o.name.value)}</mods:title>\n{i}  </mods:titleInfo>\n")
    if o.language.known:
        out.append(_language(i + "  ", o.language.value))
    if o.url.known:
        out.append(f"{i}  <mods:location>\n{i}    <mods:url>{_t(o.url.value)}</mods:url>\n{i}  </mods:location>\n")
    if o.domain.known:
        out.append(f'{i}  <mods:identifier type="domain">{_t(o.domain.value)}</mods:identifier>\n')
    out.append(f"{i}</mods:relatedItem>\n")
    return "".join(out)


# The provenance extension: one prov:fact per field path, in FIELD_PATHS order.
_FACTS = tuple((f'              <prov:fact path="{p}"', operator.attrgetter(p)) for p in FIELD_PATHS)
_UNKNOWN = ' unknown="true"'


# An Origin's attributes, remembered by its values: a bag has ~20 origins and a batch repeats
# few of them (the bench corpus: 166 distinct in 17,000), so most are a lookup instead of
# ~1 us of escaping and number formatting (~99 -> ~87 us per render, interleaved runs).
# Equal values give equal text except a confidence of 0.0 and -0.0 (equal, written
# differently): a zero confidence is not remembered.  A value lxml refuses raises before it
# could be remembered.  Bounded (short texts, 4096 of them), so a hostile record cannot fill memory.
_ORIGINS: dict[tuple, str] = {}


def _origin(o: Origin) -> str:
    key = (o.by, o.source, o.rule, o.lines, o.confidence)
    text = _ORIGINS.get(key)
    if text is None:
        text = _origin_text(o)
        if o.confidence != 0 and len(text) <= 256:
            if len(_ORIGINS) >= 4096:
                _ORIGINS.clear()
            _ORIGINS[key] = text
    return text


def _origin_text(o: Origin) -> str:
    """An Origin as the attributes of its prov element, in the provenance schema's order."""
    s = f' by="{o.by}"'
    if o.source is not None:
        s += f' source="{_a(o.source)}"'
    if o.rule is not None:
        s += f' rule="{_a(o.rule)}"'
    if o.lines:
        s += f' lines="{" ".join(map(str, o.lines))}"'
    if o.confidence is not None:
        s += f' confidence="{float(o.confidence)!r}"'
    return s


def serialize(tree) -> bytes:
    """Deterministic bytes: UTF-8, XML declaration, lxml's two-space indent, attributes in build order."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8", pretty_print=True)


# --- read back --------------------------------------------------------------


# The validator reads one mets.xml through read_record, read_files and
# read_header: remembering the last document parsed (per thread, same bytes
# object) saves two parses per bag: validate 8.7 -> 8.0 ms/bag, jobs=1, quiet
# machine (bench/hotspots.py validate).  The readers never modify the tree.
_PARSED = threading.local()


def _parse(mets_bytes: bytes) -> etree._Element:
    last = getattr(_PARSED, "last", None)
    if last is not None and last[0] is mets_bytes:
        return last[1]
    try:
        root = xmlsafe.parse(mets_bytes).getroot()
    except ValueError as e:
        raise MetsError(f"mets.xml: {one_line(str(e))}") from None
    if root.tag != _q("mets", "mets"):
        raise MetsError(f"mets.xml: the root element is {one_line(str(root.tag))}, not mets:mets")
    _PARSED.last = (mets_bytes, root)
    return root


def remember(mets_bytes: bytes, tree: etree._ElementTree) -> None:
    """Hand the readers a tree the caller already parsed from ``mets_bytes`` with xmlsafe.parse.

    ourbag.check parses mets.xml to see whose it is; remembering that tree makes it the only
    parse of the bag's METS (~0.45 ms per bag saved, bench/hotspots.py validate)."""
    root = tree.getroot()
    if root.tag == _q("mets", "mets"):  # otherwise _parse parses again and raises its MetsError
        _PARSED.last = (mets_bytes, root)


def _xp(xpath: str) -> etree.XPath:
    """``xpath`` compiled once per thread (lxml evaluators are not shared across threads).

    node.xpath(s) compiles s on every call: read_record alone made ~30 such calls per bag;
    compiled once, read_record went 1.04 -> ~0.5 ms per bag (bench/hotspots.py validate)."""
    cache = getattr(_PARSED, "xpaths", None)
    if cache is None:
        cache = _PARSED.xpaths = {}
    xp = cache.get(xpath)
    if xp is None:
        xp = cache[xpath] = etree.XPath(xpath, namespaces=NS, regexp=False)  # NS binds no prefix to EXSLT regexps
    return xp


def _one(node, xpath: str, what: str):
    found = _xp(xpath)(node)
    if len(found) != 1:
        raise MetsError(f"mets.xml: {what}: expected exactly one, found {len(found)}")
    return found[0]


def _opt(node, xpath: str):
    found = _xp(xpath)(node)
    if len(found) > 1:
        raise MetsError(f"mets.xml: {xpath}: expected at most one, found {len(found)}")
    if not found:
        return None
    v = found[0]
    return v if isinstance(v, str) else (v.text or "")


def _origin_of(e) -> dict:
    o: dict[str, Any] = {"by": e.get("by")}
    for k in ("source", "rule"):
        if e.get(k) is not None:
            o[k] = e.get(k)
    if e.get("lines"):
        try:
            o["lines"] = [int(n) for n in e.get("lines").split()]
        except ValueError:
            raise MetsError(f"mets.xml: provenance lines {one_line(e.get('lines'))!r} are not numbers") from None
    if e.get("confidence") is not None:
        try:
            o["confidence"] = float(e.get("confidence"))
        except ValueError:
            raise MetsError(f"mets.xml: provenance confidence {one_line(e.get('confidence'))!r} is not a number") from None
    return o


# The outlet: top level, or inside the original's relatedItem (XPath 1.0 has no optional step).
_OUTLET = "(mods:relatedItem[@type='host'][@displayLabel='outlet'] | mods:relatedItem[@type='original']/mods:relatedItem[@type='host'][@displayLabel='outlet'])"

# field path -> XPath (relative to mods:mods) of its value; the one mapping, also in docs/mets-mapping.md.
MODS_PATHS = {
    "title": "mods:titleInfo/mods:title",
    "language": "mods:language/mods:languageTerm[@authority='rfc5646']",
    "genre": "mods:genre",
    "source.outlet.name": f"{_OUTLET}/mods:titleInfo/mods:title",
    "source.outlet.url": f"{_OUTLET}/mods:location/mods:url",
    "source.outlet.domain": f"{_OUTLET}/mods:identifier[@type='domain']",
    "source.outlet.language": f"{_OUTLET}/mods:language/mods:languageTerm[@authority='rfc5646']",
    "source.url": "mods:location/mods:url[@usage='primary']",
    "source.republisher": "mods:originInfo[@eventType='publication']/mods:publisher",
    "translation.status": f"mods:note[@type='{_NOTE_STATUS}']",
    "translation.source_language": "mods:relatedItem[@type='original']/mods:language/mods:languageTerm[@authority='rfc5646']",
    "translation.original_title": "mods:relatedItem[@type='original']/mods:titleInfo/mods:title",
    "translation.original_url": "mods:relatedItem[@type='original']/mods:location/mods:url",
    "dates.published": "mods:originInfo[@eventType='publication']/mods:dateIssued[@encoding='edtf']",
    "dates.original_published": "mods:relatedItem[@type='original']/mods:originInfo/mods:dateIssued[@encoding='edtf']",
    "dates.captured": "mods:originInfo[@eventType='publication']/mods:dateCaptured[@encoding='edtf']",
    "rights": "mods:accessCondition[@type='use and reproduction']/@xlink:href",
}
assert set(MODS_PATHS) == set(FIELD_PATHS)


def read_record(mets_bytes: bytes) -> Record:
    """The Record a METS document of ours describes.  Raises MetsError (one line)."""
    root = _parse(mets_bytes)
    mods = _one(root, "mets:dmdSec/mets:mdWrap[@MDTYPE='MODS']/mets:xmlData/mods:mods", "MODS dmdSec")
    prov = _one(mods, "mods:extension/prov:provenance", "MODS extension prov:provenance")
    data: dict[str, Any] = {"schema": prov.get("schema"), "id": root.get("OBJID")}
    seen = set()
    for e in prov.iterfind("prov:fact", NS):
        path = e.get("path")
        if path not in MODS_PATHS:
            raise MetsError(f"mets.xml: provenance names an unknown field path {one_line(str(path))!r}")
        if path in seen:
            raise MetsError(f"mets.xml: {path}: provenance given twice")
        seen.add(path)
        value = _opt(mods, MODS_PATHS[path])
        if e.get("unknown") == "true":
            if value is not None:
                raise MetsError(f"mets.xml: {path}: marked unknown but MODS has a value")
            value = UNKNOWN
        elif value is None:
            raise MetsError(f"mets.xml: {path}: no value in MODS ({MODS_PATHS[path]}) and not marked unknown")
        node = data
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = {"value": value, "origin": _origin_of(e)}
    missing = [p for p in FIELD_PATHS if p not in seen]
    if missing:
        raise MetsError(f"mets.xml: {missing[0]}: no provenance for this field")

    person_origins = {e.get("ref"): _origin_of(e) for e in prov.iterfind("prov:person", NS)}
    persons = []
    for n in mods.iterfind("mods:name", NS):
        ref = n.get("ID")
        if ref not in person_origins:
            raise MetsError(f"mets.xml: mods:name {one_line(str(ref))}: no provenance for this person")
        persons.append({
            "name": _one(n, "mods:namePart", "mods:name/mods:namePart").text or "",
            "role": _one(n, "mods:role/mods:roleTerm[@type='code']", "mods:name role code").text or "",
            "aliases": [a.text or "" for a in n.iterfind("mods:alternativeName/mods:namePart", NS)],
            "origin": person_origins[ref],
        })
    data["persons"] = persons
    note_origins = {e.get("ref"): _origin_of(e) for e in prov.iterfind("prov:note", NS)}
    notes = []
    for n in _xp("mods:note[not(@type)]")(mods):
        ref = n.get("ID")
        if ref not in note_origins:
            raise MetsError(f"mets.xml: mods:note {one_line(str(ref))}: no provenance for this note")
        notes.append({"text": n.text or "", "origin": note_origins[ref]})
    data["notes"] = notes

    sup = _opt(mods, "mods:relatedItem[@type='otherVersion'][@displayLabel='supersedes']/mods:identifier[@type='sha256']")
    if sup is not None:
        data["supersedes"] = sup
    listing = _opt(mods, "mods:relatedItem[@type='host'][@displayLabel='listing']")
    if listing is not None:
        li = _one(mods, "mods:relatedItem[@type='host'][@displayLabel='listing']", "listing relatedItem")
        data["listing"] = {
            "parent": _opt(li, "mods:identifier[@type='sha256']"),
            "item": _opt(li, "mods:part/mods:detail[@type='item']/mods:number"),
            "lines": [_opt(li, "mods:part/mods:extent[@unit='lines']/mods:start"),
                      _opt(li, "mods:part/mods:extent[@unit='lines']/mods:end")],
        }

    data["original"] = _read_original(root)
    try:
        return Record.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("Fact[", "function-after", "literal[")))
        raise MetsError(f"mets.xml: {loc or 'record'}: {one_line(err['msg'])}") from None


def _read_original(root) -> dict:
    fe = _one(root, "mets:fileSec/mets:fileGrp[@USE='original']/mets:file", "original mets:file")
    obj = premis.object_for(root, fe)
    name = _opt(obj, "premis:originalName")
    size = _opt(obj, "premis:objectCharacteristics/premis:size")
    if name is None or size is None:
        raise MetsError("mets.xml: the original's PREMIS object lacks originalName or size")
    try:
        size_n = int(size)
    except ValueError:
        raise MetsError(f"mets.xml: the original's PREMIS size {one_line(size)!r} is not a number") from None
    return {
        "filename": name,
        "size": size_n,
        "encoding": _opt(obj, "premis:significantProperties[premis:significantPropertiesType='encoding']/premis:significantPropertiesValue"),
        "newlines": _opt(obj, "premis:significantProperties[premis:significantPropertiesType='newlines']/premis:significantPropertiesValue"),
        "media_type": fe.get("MIMETYPE"),
    }


def read_files(mets_bytes: bytes) -> list[FileFacts]:
    """The files the METS lists, with every digest its PREMIS objects carry."""
    root = _parse(mets_bytes)
    out = []
    for fe in root.iterfind("mets:fileSec/mets:fileGrp/mets:file", NS):
        href = _opt(fe, "mets:FLocat/@xlink:href")
        if href is None:
            raise MetsError(f"mets.xml: mets:file {one_line(str(fe.get('ID')))}: no FLocat")
        digests = {}
        if fe.get("CHECKSUMTYPE") in _DIGEST_ALGS and fe.get("CHECKSUM"):
            digests[_DIGEST_ALGS[fe.get("CHECKSUMTYPE")]] = fe.get("CHECKSUM")
        obj = premis.object_for(root, fe, required=False)
        if obj is not None:
            for fx in obj.iterfind("premis:objectCharacteristics/premis:fixity", NS):
                alg = _DIGEST_ALGS.get(fx.findtext("premis:messageDigestAlgorithm", "", NS))
                if alg:
                    digests[alg] = fx.findtext("premis:messageDigest", "", NS)
        try:
            size = int(fe.get("SIZE", "-1"))
        except ValueError:
            raise MetsError(f"mets.xml: mets:file {one_line(str(fe.get('ID')))}: SIZE is not a number") from None
        out.append(FileFacts(
            path=unquote(href),
            use=fe.getparent().get("USE", ""),
            size=size,
            digests=dict(sorted(digests.items())),
            media_type=fe.get("MIMETYPE", ""),
        ))
    return out


def read_header(mets_bytes: bytes) -> dict:
    """OBJID, creation date and profile, for cross-checks with bag-info.txt."""
    root = _parse(mets_bytes)
    return {
        "objid": root.get("OBJID"),
        "created": _opt(root, "mets:metsHdr/@CREATEDATE"),
        "profile": root.get("PROFILE"),
        "software": _opt(root, "mets:metsHdr/mets:agent[@ROLE='CREATOR'][@OTHERTYPE='SOFTWARE']/mets:name"),
        "organization": _opt(root, "mets:metsHdr/mets:agent[@ROLE='CUSTODIAN'][@TYPE='ORGANIZATION']/mets:name"),
    }


# --- our rules (schemas/mets-rules.sch) -------------------------------------

RULES_FILE = "mets-rules.sch"
PROVENANCE_XSD = "archiver-provenance.xsd"
_ROOT = Path(__file__).resolve().parent


def rules_path(name: str = RULES_FILE) -> Path:
    """schemas/NAME in a checkout; the identical copy in archiver/data/ when installed."""
    repo = _ROOT.parent / "schemas" / name
    return repo if repo.is_file() else _ROOT / "data" / name


_RULE_SUMMARIES = {
    "METS-E001": "OBJID is missing or not the 64-hex record id",
    "METS-E002": "@PROFILE is not archiver's METS profile",
    "METS-E003": "not exactly one MODS dmdSec",
    "METS-E004": "a mets:file lacks a SHA-256 CHECKSUM",
    "METS-E005": "a mets:file lacks one FLocat LOCTYPE=URL under data/ (no .. segments)",
    "METS-E006": "not exactly one original file",
    "METS-E007": "the original's PREMIS object lacks sha256 and sha512 fixity or size",
    "METS-E008": "a required PREMIS event (capture, metadata extraction, message digest calculation, information package creation) is missing or has no outcome",
    "METS-E009": "a PREMIS linkingAgentIdentifier names no agent in the document",
    "METS-E010": "a PREMIS linkingObjectIdentifier names no object in the document",
    "METS-E011": "a translated text has no relatedItem type=original",
    "METS-E012": "a MODS date is not EDTF-encoded",
    "METS-E013": "the MODS provenance extension is missing, incomplete or not valid against schemas/archiver-provenance.xsd",
    "METS-E014": "metsHdr lacks CREATEDATE or the software CREATOR agent",
    "METS-E015": "the rights URI is not a rightsstatements.org URI or has no matching PREMIS rightsStatement",
    "METS-E016": "a PREMIS rightsStatement's URI does not match the MODS accessCondition",
}
for _code, _summary in _RULE_SUMMARIES.items():
    rule(_code, "schemas/mets-rules.sch", _summary)

# Compiled once per thread: an lxml XSLT (which Schematron is) is not shared across threads.
_LOCAL = threading.local()


def _schematron():
    sch = getattr(_LOCAL, "schematron", None)
    if sch is None:
        from lxml import isoschematron

        doc = xmlsafe.parse(rules_path().read_bytes())
        sch = _LOCAL.schematron = isoschematron.Schematron(doc, store_report=True)
    return sch


def _fast_rules():
    """mets-rules.sch compiled for archiver.schematron, or None if it uses a feature that evaluator lacks."""
    rules = getattr(_LOCAL, "fast_rules", None)
    if rules is None:
        from . import schematron

        try:
            rules = schematron.Rules(xmlsafe.parse(rules_path().read_bytes()).getroot())
        except schematron.Unsupported:
            rules = False
        _LOCAL.fast_rules = rules
    return rules or None


def _provenance_schema() -> etree.XMLSchema:
    xsd = getattr(_LOCAL, "provenance", None)
    if xsd is None:
        xsd = _LOCAL.provenance = etree.XMLSchema(xmlsafe.parse(rules_path(PROVENANCE_XSD).read_bytes()))
    return xsd


_SVRL = "http://purl.oclc.org/dsdl/svrl"


def failed_asserts_isoschematron(tree) -> list[tuple[str, str]]:
    """(assert id, message) of every failed assert, from lxml.isoschematron's SVRL report.

    The reference semantics: check_rules uses archiver.schematron (the same
    rules, ~20x faster) and falls back to this; tests compare the two."""
    sch = _schematron()
    sch.validate(tree)
    out = []
    for fa in sch.validation_report.getroot().iter(f"{{{_SVRL}}}failed-assert"):
        text = " ".join("".join(fa.find(f"{{{_SVRL}}}text").itertext()).split())
        out.append((fa.get("id") or "", text))
    return out


def failed_asserts(tree) -> list[tuple[str, str]]:
    """(assert id, message) of every failed assert of mets-rules.sch on a parsed METS tree."""
    rules = _fast_rules()
    if rules is not None:
        from .schematron import Unsupported

        try:
            return rules.failed(tree)
        except Unsupported:
            pass  # this document needs what only the XSLT path does
    return failed_asserts_isoschematron(tree)


def check_rules(mets_bytes: bytes, path: str = layout.METS) -> list[Finding]:
    """Our own METS rules (schemas/mets-rules.sch) as findings, sorted by code."""
    try:
        tree = _parse(mets_bytes).getroottree()  # shared with the readers: one parse per bag
    except ValueError as e:
        return [Finding.of("METS-E000", path, one_line(str(e)))]
    out = [Finding.of(code, path, one_line(text)) for code, text in failed_asserts(tree) if code in _RULE_SUMMARIES]
    xsd = _provenance_schema()
    for prov in tree.getroot().iterfind(".//mods:extension/prov:provenance", NS):
        if not xsd.validate(prov):
            for err in list(xsd.error_log)[:5]:
                out.append(Finding.of("METS-E013", path, one_line(f"line {err.line}: {err.message} [{PROVENANCE_XSD}]")))
    return sorted(set(out), key=lambda f: (f.code, f.message))


# Last: premis.py builds on the names above.  Imported once here, not per call (a function-level
# import runs importlib's _handle_fromlist each time: ~1-2 us per render).
from . import premis  # noqa: E402
