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


_el = _m._el


def _vocab(parent, local: str, term: str, scheme: str, code: str | None = None):
    return _el(parent, "premis", local, term, authority=scheme, authorityURI=f"{_LOC}{scheme}",
               valueURI=f"{_LOC}{scheme}/{code}" if code else None)


def _wrap(amd, section: str, id_: str, mdtype: str):
    sec = _el(amd, "mets", section, ID=id_)
    wrap = _el(sec, "mets", "mdWrap", MDTYPE=mdtype, MDTYPEVERSION="3.0")
    return _el(wrap, "mets", "xmlData")


def _ident(parent, kind: str, typ: str, value: str, role: str | None = None, **role_attrs):
    e = _el(parent, "premis", kind)
    _el(e, "premis", f"{kind}Type", typ)
    _el(e, "premis", f"{kind}Value", value)
    if role is not None:
        short = kind.removesuffix("Identifier")
        _el(e, "premis", f"{short}Role", role, **role_attrs)
    return e


def object_uuid(record_id: str, path: str) -> str:
    return _m._uuid(record_id, "object", path)


def event_uuid(record_id: str, event_type: str) -> str:
    return _m._uuid(record_id, "event", event_type)


def _event_id(event_type: str) -> str:
    return "event-" + _m.EVENT_TYPES[event_type]


def _agents(software: str, organization: str | None) -> list[tuple[str, str, str, str | None, str]]:
    """(METS ID, PREMIS identifier value, name, version, agentType term/code)."""
    name, version = _m._split_software(software)
    out = [("agent-software", software, name, version, "software")]
    if organization:
        out.append(("agent-organization", organization, organization, None, "organization"))
    return out


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


def add(amd, record: Record, files, ids: dict[str, str], *, created: str, organization: str | None, software: str) -> None:
    rid = record.id
    original = next(f for f in files if f.use == "original")
    orig_uuid = object_uuid(rid, original.path)
    metadata = [f for f in files if f.use == "metadata"]
    # event type -> [(file, linkingObjectRole)]: what each event read ("source") or made ("outcome")
    events_for = {
        "capture": [(original, "outcome")],
        "metadata extraction": [(original, "source")] + [(f, "outcome") for f in metadata],
        "message digest calculation": [(f, "source") for f in files],
        "information package creation": [(f, "source") for f in files],
    }
    # techMD: one PREMIS object per file
    for f in files:
        xd = _wrap(amd, "techMD", admids(ids[f.path]), "PREMIS:OBJECT")
        obj = _el(xd, "premis", "object", **_m._a(xsi__type="premis:file", version="3.0"))
        _ident(obj, "objectIdentifier", "UUID", object_uuid(rid, f.path))
        if f.use == "original":
            for typ, val in (("encoding", record.original.encoding), ("newlines", record.original.newlines)):
                sp = _el(obj, "premis", "significantProperties")
                _el(sp, "premis", "significantPropertiesType", typ)
                _el(sp, "premis", "significantPropertiesValue", val)
        oc = _el(obj, "premis", "objectCharacteristics")
        _el(oc, "premis", "compositionLevel", "0")
        for alg in sorted(f.digests, key=lambda a: (a != "sha256", a != "sha512", a)):
            fx = _el(oc, "premis", "fixity")
            _vocab(fx, "messageDigestAlgorithm", _m.DIGESTS[alg], "cryptographicHashFunctions")
            _el(fx, "premis", "messageDigest", f.digests[alg])
            _el(fx, "premis", "messageDigestOriginator", software)
        _el(oc, "premis", "size", str(record.original.size if f.use == "original" else f.size))
        media = record.original.media_type if f.use == "original" else f.media_type
        fmt = _el(oc, "premis", "format")
        name, key = _m.FORMATS.get(_m._media_base(media), (media, None))
        _el(_el(fmt, "premis", "formatDesignation"), "premis", "formatName", name)
        if key:
            reg = _el(fmt, "premis", "formatRegistry")
            _el(reg, "premis", "formatRegistryName", "PRONOM")
            _el(reg, "premis", "formatRegistryKey", key)
            _el(reg, "premis", "formatRegistryRole", "specification")
        _el(fmt, "premis", "formatNote", media)
        _el(obj, "premis", "originalName",
            record.original.filename if f.use == "original" else f.path.rsplit("/", 1)[-1])
        if f.use == "derivative":
            rel = _el(obj, "premis", "relationship")
            _vocab(rel, "relationshipType", "derivation", "relationshipType")
            _vocab(rel, "relationshipSubType", "has source", "relationshipSubType")
            ro = _el(rel, "premis", "relatedObjectIdentifier")
            _el(ro, "premis", "relatedObjectIdentifierType", "UUID")
            _el(ro, "premis", "relatedObjectIdentifierValue", orig_uuid)
        for t, objs in events_for.items():
            if any(f is o for o, _role in objs):
                _ident(obj, "linkingEventIdentifier", "UUID", event_uuid(rid, t))
        if record.rights.known:
            _ident(obj, "linkingRightsStatementIdentifier", "UUID", _m._uuid(rid, "rights"))

    # rightsMD: consistent with the rightsstatements.org URI, asserting nothing more
    if record.rights.known:
        uri = record.rights.value
        code = uri.split("/")[-3]
        xd = _wrap(amd, "rightsMD", "rights-1", "PREMIS:RIGHTS")
        rs = _el(_el(xd, "premis", "rights", version="3.0"), "premis", "rightsStatement")
        _ident(rs, "rightsStatementIdentifier", "UUID", _m._uuid(rid, "rights"))
        _el(rs, "premis", "rightsBasis", "Other")
        ori = _el(rs, "premis", "otherRightsInformation")
        doc = _el(ori, "premis", "otherRightsDocumentationIdentifier")
        _el(doc, "premis", "otherRightsDocumentationIdentifierType", "URI")
        _el(doc, "premis", "otherRightsDocumentationIdentifierValue", uri)
        _el(doc, "premis", "otherRightsDocumentationRole", "rights statement")
        _el(ori, "premis", "otherRightsBasis", "rightsstatements.org")
        _el(ori, "premis", "otherRightsNote", _m.RIGHTS_LABELS[code])
        for f in files:
            _ident(rs, "linkingObjectIdentifier", "UUID", object_uuid(rid, f.path))

    agents = _agents(software, organization)
    captured = record.dates.captured
    for t in _m.REQUIRED_EVENTS:
        xd = _wrap(amd, "digiprovMD", _event_id(t), "PREMIS:EVENT")
        ev = _el(xd, "premis", "event", version="3.0")
        _ident(ev, "eventIdentifier", "UUID", event_uuid(rid, t))
        _vocab(ev, "eventType", t, "eventType", _m.EVENT_TYPES[t])
        if t == "capture":
            # An unknown capture time stays visibly unknown: EDTF "unspecified date".
            when = captured.value if captured.known else "XXXX-XX-XX"
            detail = _EVENT_DETAIL[t] + ("" if captured.known else "; its date is not known")
        else:
            when, detail = created, _EVENT_DETAIL[t]
        _el(ev, "premis", "eventDateTime", when)
        _el(_el(ev, "premis", "eventDetailInformation"), "premis", "eventDetail", detail)
        out = _el(ev, "premis", "eventOutcomeInformation")
        _el(out, "premis", "eventOutcome", "success")
        if t != "capture":  # the capturing agent is not recorded; we do not invent one
            for _id, value, _n, _v, kind in agents:
                role = "executing program" if kind == "software" else "implementer"
                _ident(ev, "linkingAgentIdentifier", "local", value, role,
                       authority="eventRelatedAgentRole", authorityURI=f"{_LOC}eventRelatedAgentRole",
                       valueURI=f"{_LOC}eventRelatedAgentRole/" + ("exe" if kind == "software" else "imp"))
        for f, role in events_for[t]:
            _ident(ev, "linkingObjectIdentifier", "UUID", object_uuid(rid, f.path), role)

    for id_, value, name, version, kind in agents:
        xd = _wrap(amd, "digiprovMD", id_, "PREMIS:AGENT")
        ag = _el(xd, "premis", "agent", version="3.0")
        _ident(ag, "agentIdentifier", "local", value)
        _el(ag, "premis", "agentName", name)
        _vocab(ag, "agentType", kind, "agentType", _AGENT_CODES[kind])
        if version:
            _el(ag, "premis", "agentVersion", version)


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
