"""PREMIS 3 provenance inside our METS amdSec: objects, events, agents, rights.

Identifiers are UUIDv5 of the record id and a stable name, so the same inputs
give byte-identical METS.  Vocabulary terms and URIs are the Library of
Congress preservation vocabularies (id.loc.gov/vocabulary/preservation).
Split from mets.py because PREMIS is its own concept; mets.py owns the layout.
"""

from __future__ import annotations

from . import mets as _m
from .record import Record

_LOC = _m._LOC
_EVENT_DETAIL = {
    "capture": "the text was captured from the web before it reached archiver",
    "metadata extraction": "descriptive facts inferred from the text and merged with curator metadata",
    "message digest calculation": "digests of every payload file, one streaming read each",
    "information package creation": "BagIt bag with METS manifest written by archiver",
}


def object_uuid(record_id: str, path: str) -> str:
    return _m._uuid(record_id, "object", path)


def event_uuid(record_id: str, event_type: str) -> str:
    return _m._uuid(record_id, "event", event_type)


def _event_id(event_type: str) -> str:
    return "event-" + _m.EVENT_TYPES[event_type]


_AGENT_CODES = {"software": "sof", "organization": "org"}


def admids(file_id: str) -> str:
    return f"tech-{file_id}"


def package_admids(record: Record, organization: str | None) -> str:
    ids = []
    if record.rights.known:
        ids.append("rights-1")
    ids += [_event_id(t) for t in _m.REQUIRED_EVENTS]
    ids += ["agent-software"] + (["agent-organization"] if organization else [])
    return " ".join(ids)


# --- the amdSec, written as text (see mets.py, "write") ----------------------
#
# Children of mets:amdSec (4 spaces): a techMD per file, the rightsMD, a digiprovMD
# per event and per agent.  The PREMIS element of each sits at 10 spaces.

_t = _m._t

# event type -> {file use: linkingObjectRole}: what each event read ("source") or made ("outcome")
_EVENT_OBJECTS = {
    "capture": {"original": "outcome"},
    "metadata extraction": {"original": "source", "metadata": "outcome"},
    "message digest calculation": dict.fromkeys(_m.USES, "source"),
    "information package creation": dict.fromkeys(_m.USES, "source"),
}
assert tuple(_EVENT_OBJECTS) == _m.REQUIRED_EVENTS
# file use -> the events its PREMIS object links to
_EVENTS_OF = {use: [t for t in _m.REQUIRED_EVENTS if use in _EVENT_OBJECTS[t]] for use in _m.USES}
# linkingAgentRole of our agents in the events they take part in: (code, term)
_AGENT_ROLES = {"software": ("exe", "executing program"), "organization": ("imp", "implementer")}


# Fixity in this order: sha256 and sha512 first, then the others alphabetically.
_DIGEST_ORDER = ("sha256", "sha512", *sorted(set(_m.DIGESTS) - {"sha256", "sha512"}))

# PRONOM key -> its premis:formatRegistry (inside premis:format, 16 spaces)
_REGISTRY = {key: f"""\
                <premis:formatRegistry>
                  <premis:formatRegistryName>PRONOM</premis:formatRegistryName>
                  <premis:formatRegistryKey>{key}</premis:formatRegistryKey>
                  <premis:formatRegistryRole>specification</premis:formatRegistryRole>
                </premis:formatRegistry>
""" for _name, key in _m.FORMATS.values()}


def write(w, record: Record, files, ids, uuids, *, created: str, organization: str | None, software: str) -> None:
    """The amdSec's PREMIS, passed to ``w`` a section at a time.

    ``files`` are in METS order, their METS IDs and PREMIS object UUIDs beside them
    (files[0] is the original).  ``software`` and ``organization`` are XML text already:
    mets.py checked them in the metsHdr, where they first appear (organization None: no
    custodian).  Everything else from the record or the file facts is escaped here, in
    document order."""
    rid = record.id
    original = record.original
    event_uuids = {t: event_uuid(rid, t) for t in _m.REQUIRED_EVENTS}
    event_links = {t: f"""\
            <premis:linkingEventIdentifier>
              <premis:linkingEventIdentifierType>UUID</premis:linkingEventIdentifierType>
              <premis:linkingEventIdentifierValue>{u}</premis:linkingEventIdentifierValue>
            </premis:linkingEventIdentifier>
""" for t, u in event_uuids.items()}
    rights_uuid = _m._uuid(rid, "rights") if record.rights.known else None
    rights_link = "" if rights_uuid is None else f"""\
            <premis:linkingRightsStatementIdentifier>
              <premis:linkingRightsStatementIdentifierType>UUID</premis:linkingRightsStatementIdentifierType>
              <premis:linkingRightsStatementIdentifierValue>{rights_uuid}</premis:linkingRightsStatementIdentifierValue>
            </premis:linkingRightsStatementIdentifier>
"""
    # the original's object only
    significant = f"""\
            <premis:significantProperties>
              <premis:significantPropertiesType>encoding</premis:significantPropertiesType>
              <premis:significantPropertiesValue>{original.encoding}</premis:significantPropertiesValue>
            </premis:significantProperties>
            <premis:significantProperties>
              <premis:significantPropertiesType>newlines</premis:significantPropertiesType>
              <premis:significantPropertiesValue>{original.newlines}</premis:significantPropertiesValue>
            </premis:significantProperties>
"""
    # a derivative's object only
    derived = f"""\
            <premis:relationship>
              <premis:relationshipType authority="relationshipType" authorityURI="{_LOC}relationshipType">derivation</premis:relationshipType>
              <premis:relationshipSubType authority="relationshipSubType" authorityURI="{_LOC}relationshipSubType">has source</premis:relationshipSubType>
              <premis:relatedObjectIdentifier>
                <premis:relatedObjectIdentifierType>UUID</premis:relatedObjectIdentifierType>
                <premis:relatedObjectIdentifierValue>{uuids[0]}</premis:relatedObjectIdentifierValue>
              </premis:relatedObjectIdentifier>
            </premis:relationship>
"""

    # techMD: one PREMIS object per file
    for n, f in enumerate(files):
        is_original = f.use == "original"
        fixity = "".join([f"""\
              <premis:fixity>
                <premis:messageDigestAlgorithm authority="cryptographicHashFunctions" authorityURI="{_LOC}cryptographicHashFunctions">{_m.DIGESTS[alg]}</premis:messageDigestAlgorithm>
                <premis:messageDigest>{f.digests[alg]}</premis:messageDigest>
                <premis:messageDigestOriginator>{software}</premis:messageDigestOriginator>
              </premis:fixity>
""" for alg in _DIGEST_ORDER if alg in f.digests])
        media = original.media_type if is_original else f.media_type
        name, key = _m.FORMATS.get(_m._media_base(media), (media, None))
        w(f"""\
    <mets:techMD ID="{admids(ids[n])}">
      <mets:mdWrap MDTYPE="PREMIS:OBJECT" MDTYPEVERSION="3.0">
        <mets:xmlData>
          <premis:object xsi:type="premis:file" version="3.0">
            <premis:objectIdentifier>
              <premis:objectIdentifierType>UUID</premis:objectIdentifierType>
              <premis:objectIdentifierValue>{uuids[n]}</premis:objectIdentifierValue>
            </premis:objectIdentifier>
{significant if is_original else ""}\
            <premis:objectCharacteristics>
              <premis:compositionLevel>0</premis:compositionLevel>
{fixity}\
              <premis:size>{original.size if is_original else f.size}</premis:size>
              <premis:format>
                <premis:formatDesignation>
                  <premis:formatName>{_t(name)}</premis:formatName>
                </premis:formatDesignation>
{_REGISTRY[key] if key else ""}\
                <premis:formatNote>{_t(media)}</premis:formatNote>
              </premis:format>
            </premis:objectCharacteristics>
            <premis:originalName>{_t(original.filename if is_original else f.path.rsplit("/", 1)[-1])}</premis:originalName>
{derived if f.use == "derivative" else ""}\
{"".join([event_links[t] for t in _EVENTS_OF[f.use]])}{rights_link}\
          </premis:object>
        </mets:xmlData>
      </mets:mdWrap>
    </mets:techMD>
""")

    # rightsMD: consistent with the rightsstatements.org URI, asserting nothing more
    if rights_uuid is not None:
        uri = record.rights.value
        objects = "".join([f"""\
              <premis:linkingObjectIdentifier>
                <premis:linkingObjectIdentifierType>UUID</premis:linkingObjectIdentifierType>
                <premis:linkingObjectIdentifierValue>{u}</premis:linkingObjectIdentifierValue>
              </premis:linkingObjectIdentifier>
""" for u in uuids])
        w(f"""\
    <mets:rightsMD ID="rights-1">
      <mets:mdWrap MDTYPE="PREMIS:RIGHTS" MDTYPEVERSION="3.0">
        <mets:xmlData>
          <premis:rights version="3.0">
            <premis:rightsStatement>
              <premis:rightsStatementIdentifier>
                <premis:rightsStatementIdentifierType>UUID</premis:rightsStatementIdentifierType>
                <premis:rightsStatementIdentifierValue>{rights_uuid}</premis:rightsStatementIdentifierValue>
              </premis:rightsStatementIdentifier>
              <premis:rightsBasis>Other</premis:rightsBasis>
              <premis:otherRightsInformation>
                <premis:otherRightsDocumentationIdentifier>
                  <premis:otherRightsDocumentationIdentifierType>URI</premis:otherRightsDocumentationIdentifierType>
                  <premis:otherRightsDocumentationIdentifierValue>{_t(uri)}</premis:otherRightsDocumentationIdentifierValue>
                  <premis:otherRightsDocumentationRole>rights statement</premis:otherRightsDocumentationRole>
                </premis:otherRightsDocumentationIdentifier>
                <premis:otherRightsBasis>rightsstatements.org</premis:otherRightsBasis>
                <premis:otherRightsNote>{_m.RIGHTS_LABELS[uri.split("/")[-3]]}</premis:otherRightsNote>
              </premis:otherRightsInformation>
{objects}\
            </premis:rightsStatement>
          </premis:rights>
        </mets:xmlData>
      </mets:mdWrap>
    </mets:rightsMD>
""")

    # digiprovMD: the four events.  The capturing agent is not recorded (we do not invent
    # one); every other event links each of our agents.
    name, version = _m._split_software(software)  # of the escaped text: escaping adds no spaces
    agents = [("agent-software", software, name, version, "software")]
    if organization is not None:
        agents.append(("agent-organization", organization, organization, None, "organization"))
    agent_links = "".join([f"""\
            <premis:linkingAgentIdentifier>
              <premis:linkingAgentIdentifierType>local</premis:linkingAgentIdentifierType>
              <premis:linkingAgentIdentifierValue>{value}</premis:linkingAgentIdentifierValue>
              <premis:linkingAgentRole authority="eventRelatedAgentRole" authorityURI="{_LOC}eventRelatedAgentRole" valueURI="{_LOC}eventRelatedAgentRole/{_AGENT_ROLES[kind][0]}">{_AGENT_ROLES[kind][1]}</premis:linkingAgentRole>
            </premis:linkingAgentIdentifier>
""" for _id, value, _name, _version, kind in agents])
    captured = record.dates.captured
    for t in _m.REQUIRED_EVENTS:
        if t == "capture":
            # An unknown capture time stays visibly unknown: EDTF "unspecified date".
            when = _t(captured.value) if captured.known else "XXXX-XX-XX"
            detail = _EVENT_DETAIL[t] + ("" if captured.known else "; its date is not known")
        else:
            when, detail = created, _EVENT_DETAIL[t]
        roles = _EVENT_OBJECTS[t]
        objects = "".join([f"""\
            <premis:linkingObjectIdentifier>
              <premis:linkingObjectIdentifierType>UUID</premis:linkingObjectIdentifierType>
              <premis:linkingObjectIdentifierValue>{u}</premis:linkingObjectIdentifierValue>
              <premis:linkingObjectRole>{roles[f.use]}</premis:linkingObjectRole>
            </premis:linkingObjectIdentifier>
""" for f, u in zip(files, uuids) if f.use in roles])
        w(f"""\
    <mets:digiprovMD ID="{_event_id(t)}">
      <mets:mdWrap MDTYPE="PREMIS:EVENT" MDTYPEVERSION="3.0">
        <mets:xmlData>
          <premis:event version="3.0">
            <premis:eventIdentifier>
              <premis:eventIdentifierType>UUID</premis:eventIdentifierType>
              <premis:eventIdentifierValue>{event_uuids[t]}</premis:eventIdentifierValue>
            </premis:eventIdentifier>
            <premis:eventType authority="eventType" authorityURI="{_LOC}eventType" valueURI="{_LOC}eventType/{_m.EVENT_TYPES[t]}">{t}</premis:eventType>
            <premis:eventDateTime>{when}</premis:eventDateTime>
            <premis:eventDetailInformation>
              <premis:eventDetail>{detail}</premis:eventDetail>
            </premis:eventDetailInformation>
            <premis:eventOutcomeInformation>
              <premis:eventOutcome>success</premis:eventOutcome>
            </premis:eventOutcomeInformation>
{"" if t == "capture" else agent_links}{objects}\
          </premis:event>
        </mets:xmlData>
      </mets:mdWrap>
    </mets:digiprovMD>
""")

    # digiprovMD: our agents
    for id_, value, name, version, kind in agents:
        version_line = f"            <premis:agentVersion>{version}</premis:agentVersion>\n" if version else ""
        w(f"""\
    <mets:digiprovMD ID="{id_}">
      <mets:mdWrap MDTYPE="PREMIS:AGENT" MDTYPEVERSION="3.0">
        <mets:xmlData>
          <premis:agent version="3.0">
            <premis:agentIdentifier>
              <premis:agentIdentifierType>local</premis:agentIdentifierType>
              <premis:agentIdentifierValue>{value}</premis:agentIdentifierValue>
            </premis:agentIdentifier>
            <premis:agentName>{name}</premis:agentName>
            <premis:agentType authority="agentType" authorityURI="{_LOC}agentType" valueURI="{_LOC}agentType/{_AGENT_CODES[kind]}">{kind}</premis:agentType>
{version_line}\
          </premis:agent>
        </mets:xmlData>
      </mets:mdWrap>
    </mets:digiprovMD>
""")


def object_for(root, file_el, required: bool = True):
    """The PREMIS object a mets:file's ADMID points at."""
    adm = (file_el.get("ADMID") or "").split()
    find = _m._xp("mets:amdSec/mets:techMD[@ID=$id]/mets:mdWrap/mets:xmlData/premis:object")  # compiled once
    objs = [o for a in adm for o in find(root, id=a)]
    if len(objs) != 1:
        if not required and not objs:
            return None
        raise _m.MetsError(f"mets.xml: mets:file {_m.one_line(str(file_el.get('ID')))}: expected one PREMIS object, found {len(objs)}")
    return objs[0]
