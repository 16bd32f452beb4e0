"""BagIt profiles: what a library requires of the bags it accepts.

A profile is a JSON document in the shape of the bagit-profiles specification
1.4 (``BagIt-Profile-Info``, ``Bag-Info``, ``Manifests-Required``, ...).  We
publish our own (``ours()``; ``schemas/bagit-profile.json`` is generated from
it by ``python -m archiver.profile`` and a test keeps it current) and check
bags against it or against any LOCAL profile file a library hands over
(``load``).  A profile identifier is a name: it is compared, never fetched.

Beyond the spec, libraries need rules on field VALUES (a date that is EDTF, a
language that is BCP 47, an identifier that matches a pattern).  Those live in
the top-level key ``X-Archiver-Field-Rules``; other profile validators ignore
unknown keys, so a profile using it stays a valid profile for them.

Pure: ``check`` works on ``ProfileFacts`` that the caller gathered from a
folder or an archive; only ``load`` reads a file.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import dates, layout
from .files import no_duplicate_keys
from .findings import Finding, one_line, rule
from .hashing import ALGORITHMS, NotARegularFile, open_regular
from .outcome import UsageError

SPEC_VERSION = "1.4.0"
SPEC = "bagit-profiles 1.4"
EXTENSION = "X-Archiver-Field-Rules"
MAX_PROFILE_BYTES = 1 << 20  # a real profile is a few KB; larger is refused unread
MAX_PATTERN = 500  # a regex in a foreign profile is bounded; values are bounded by the tag-file caps

# --- finding codes ---------------------------------------------------------------

rule("PROF-E001", f"{SPEC} Bag-Info required", "a bag-info field the profile requires is missing")
rule("PROF-E002", f"{SPEC} Bag-Info values", "a bag-info value is not one of the values the profile allows")
rule("PROF-E003", f"{SPEC} Bag-Info repeatable", "a bag-info field the profile marks non-repeatable is repeated")
rule("PROF-E004", f"{SPEC} Manifests-Required", "a payload manifest the profile requires is missing")
rule("PROF-E005", f"{SPEC} Manifests-Allowed", "a payload manifest uses an algorithm the profile does not allow")
rule("PROF-E006", f"{SPEC} Tag-Manifests-Required", "a tag manifest the profile requires is missing")
rule("PROF-E007", f"{SPEC} Tag-Manifests-Allowed", "a tag manifest uses an algorithm the profile does not allow")
rule("PROF-E008", f"{SPEC} Tag-Files-Required", "a tag file the profile requires is missing")
rule("PROF-E009", f"{SPEC} Tag-Files-Allowed", "a tag file is not among those the profile allows")
rule("PROF-E010", f"{SPEC} Payload-Files-Required", "a payload file the profile requires is missing")
rule("PROF-E011", f"{SPEC} Payload-Files-Allowed", "a payload file is not among those the profile allows")
rule("PROF-E012", f"{SPEC} Allow-Fetch.txt", "the bag has a fetch.txt and the profile forbids it")
rule("PROF-E013", f"{SPEC} Fetch.txt-Required", "the profile requires a fetch.txt and the bag has none")
rule("PROF-E014", f"{SPEC} Accept-BagIt-Version", "the bag's BagIt version is not one the profile accepts")
rule("PROF-E015", f"{SPEC} Serialization", "the profile requires a serialized bag and this one is a folder")
rule("PROF-E016", f"{SPEC} Serialization", "the profile forbids serialization and this bag came from an archive")
rule("PROF-E017", f"{SPEC} Accept-Serialization", "the bag's serialization is not a media type the profile accepts")
rule("PROF-E018", f"{SPEC} Data-Empty", "the profile requires an empty payload (one zero-length file at most)")
rule("PROF-E019", f"{EXTENSION} format", "a bag-info value does not have the format the profile's field rule requires")
rule("PROF-E020", f"{EXTENSION} pattern", "a bag-info value does not match the pattern the profile's field rule requires")
rule("PROF-W001", f"{SPEC} Bag-Info recommended", "a bag-info field the profile recommends is missing")
rule("PROF-W002", f"{SPEC} BagIt-Profile-Identifier", "the bag declares a different profile than the one checked")


@dataclass(frozen=True)
class ProfileFacts:
    """What a profile can require of a bag, gathered by the caller from a folder or an archive."""

    version: str  # BagIt-Version
    info: tuple[tuple[str, str], ...]  # bag-info.txt elements in order
    manifest_algorithms: frozenset[str]
    tagmanifest_algorithms: frozenset[str]
    tag_files: frozenset[str]  # bag-relative paths of tag files present
    payload_files: frozenset[str]  # bag-relative paths under data/
    has_fetch: bool
    serialization: str | None = None  # media type if the bag was read from an archive
    payload_sizes: tuple[tuple[str, int], ...] = ()  # optional; only Data-Empty uses it


class ProfileError(UsageError):
    """A profile file that cannot be used; the message is one line naming the file and the key."""


# --- our profile: the one source of truth ---------------------------------------------

_OUR_ALGORITHMS = sorted(ALGORITHMS)  # every algorithm we can write; sha256 + sha512 by default

_OURS: dict = {
    "BagIt-Profile-Info": {
        "BagIt-Profile-Identifier": layout.PROFILE_ID,
        "BagIt-Profile-Version": SPEC_VERSION,
        "Source-Organization": "archiver project",
        "Contact-Name": "archiver maintainers",
        "External-Description": (
            "Bags written by archiver: one scraped web text per bag, the original byte for byte under "
            "data/objects/, an optional cleaned access derivative under "
            "data/objects/manualNormalization/access/, and METS (MODS + PREMIS) plus the record as JSON "
            "under data/metadata/. Field value rules are in the X-Archiver-Field-Rules extension."
        ),
        "Version": "1.0",
    },
    "Bag-Info": {
        # Recommended, not required: a bag made without a collection config has no organization to name.
        "Source-Organization": {"required": False, "recommended": True, "repeatable": False,
                                "description": "The organization that made the bag (collection config)."},
        "Contact-Name": {"required": False, "description": "Who to ask about the bag."},
        "Contact-Email": {"required": False, "description": "Where to ask about the bag."},
        "Bagging-Date": {"required": True, "repeatable": False,
                         "description": "When the bag was made (SOURCE_DATE_EPOCH when set), YYYY-MM-DD."},
        "Payload-Oxum": {"required": True, "repeatable": False, "description": "octets.streamcount of the payload."},
        "Bag-Size": {"required": False, "recommended": True, "repeatable": False,
                     "description": "Human-readable payload size."},
        "External-Identifier": {"required": True, "repeatable": False,
                                "description": "The record identifier (content identifier of the original text)."},
        # Recommended: a text whose title is unknown gets no External-Description rather than an invented one.
        "External-Description": {"required": False, "recommended": True, "repeatable": False,
                                 "description": "The text's title, when known."},
        "Internal-Sender-Identifier": {"required": False, "description": "The original file name."},
        "Bag-Software-Agent": {"required": True, "repeatable": False, "description": "archiver and its version."},
        "BagIt-Profile-Identifier": {"required": True, "repeatable": False, "values": [layout.PROFILE_ID],
                                     "description": "This profile."},
    },
    "Manifests-Required": list(layout.DEFAULT_ALGORITHMS),
    "Manifests-Allowed": _OUR_ALGORITHMS,
    "Tag-Manifests-Required": list(layout.DEFAULT_ALGORITHMS),
    "Tag-Manifests-Allowed": _OUR_ALGORITHMS,
    "Tag-Files-Required": ["bagit.txt", "bag-info.txt"],
    "Tag-Files-Allowed": ["bagit.txt", "bag-info.txt"]
    + [f"manifest-{a}.txt" for a in _OUR_ALGORITHMS]
    + [f"tagmanifest-{a}.txt" for a in _OUR_ALGORITHMS],
    "Payload-Files-Required": [layout.METS, layout.RECORD],
    "Payload-Files-Allowed": [layout.OBJECTS + "/*", layout.METADATA + "/*"],
    "Allow-Fetch.txt": False,
    "Fetch.txt-Required": False,
    "Data-Empty": False,
    "Serialization": "optional",
    "Accept-Serialization": ["application/x-tar", "application/gzip", "application/zip"],
    "Accept-BagIt-Version": [layout.BAGIT_VERSION],
    EXTENSION: {
        "Bagging-Date": {"format": "edtf"},
        "Payload-Oxum": {"pattern": r"^[0-9]+\.[0-9]+$"},
        "External-Identifier": {"pattern": r"^sha256:[0-9a-f]{64}$"},
        "Contact-Email": {"format": "email"},
        "BagIt-Profile-Identifier": {"format": "uri"},
        "External-Description": {"pattern": r"^\S(.*\S)?$"},
    },
}


def ours() -> dict:
    """Our profile (a fresh deep copy: callers may not change the original)."""
    return json.loads(json.dumps(_OURS))


def known(identifier: str) -> dict | None:
    """A profile we ship, by identifier; never fetched.  Only ours, for now."""
    return ours() if identifier == layout.PROFILE_ID else None


def identifier(profile: dict) -> str:
    info = profile.get("BagIt-Profile-Info")
    ident = info.get("BagIt-Profile-Identifier") if isinstance(info, dict) else None
    return ident if isinstance(ident, str) else "unknown"


# --- reading a library's profile ----------------------------------------------------

_LIST_KEYS = (
    "Manifests-Required", "Manifests-Allowed", "Tag-Manifests-Required", "Tag-Manifests-Allowed",
    "Tag-Files-Required", "Tag-Files-Allowed", "Payload-Files-Required", "Payload-Files-Allowed",
    "Accept-Serialization", "Accept-BagIt-Version",
)
_BOOL_KEYS = ("Allow-Fetch.txt", "Fetch.txt-Required", "Data-Empty")
_FORMATS = ("edtf", "date", "language", "uri", "email", "integer")


def problems(profile) -> list[str]:
    """What makes a profile unusable, as 'key: reason' strings (empty: usable)."""
    if not isinstance(profile, dict):
        return ["(top level): a profile is a JSON object"]
    out: list[str] = []
    info = profile.get("BagIt-Profile-Info")
    if not isinstance(info, dict):
        out.append("BagIt-Profile-Info: missing or not an object")
    elif not isinstance(info.get("BagIt-Profile-Identifier"), str) or not info["BagIt-Profile-Identifier"].strip():
        out.append("BagIt-Profile-Info.BagIt-Profile-Identifier: missing or not a string")
    bag_info = profile.get("Bag-Info", {})
    if not isinstance(bag_info, dict):
        out.append("Bag-Info: not an object")
    else:
        for name, spec in bag_info.items():
            if not isinstance(spec, dict):
                out.append(f"Bag-Info.{name}: not an object")
                continue
            for k in ("required", "repeatable", "recommended"):
                if k in spec and not isinstance(spec[k], bool):
                    out.append(f"Bag-Info.{name}.{k}: not true or false")
            if "values" in spec and not (isinstance(spec["values"], list) and all(isinstance(v, str) for v in spec["values"])):
                out.append(f"Bag-Info.{name}.values: not a list of strings")
    for k in _LIST_KEYS:
        if k in profile and not (isinstance(profile[k], list) and all(isinstance(v, str) for v in profile[k])):
            out.append(f"{k}: not a list of strings")
    for k in _BOOL_KEYS:
        if k in profile and not isinstance(profile[k], bool):
            out.append(f"{k}: not true or false")
    if "Serialization" in profile and profile["Serialization"] not in ("forbidden", "required", "optional"):
        out.append("Serialization: not one of forbidden, required, optional")
    rules = profile.get(EXTENSION, {})
    if not isinstance(rules, dict):
        out.append(f"{EXTENSION}: not an object")
    else:
        for name, r in rules.items():
            if not isinstance(r, dict):
                out.append(f"{EXTENSION}.{name}: not an object")
                continue
            if "format" in r and r["format"] not in _FORMATS:
                out.append(f"{EXTENSION}.{name}.format: not one of {', '.join(_FORMATS)}")
            if "pattern" in r:
                p = r["pattern"]
                if not isinstance(p, str) or len(p) > MAX_PATTERN:
                    out.append(f"{EXTENSION}.{name}.pattern: not a string of at most {MAX_PATTERN} characters")
                else:
                    try:
                        re.compile(p)
                    except re.error as e:
                        out.append(f"{EXTENSION}.{name}.pattern: not a valid regular expression ({e})")
    return out




def load(path: str) -> dict:
    """Read a local profile file.  Raise ProfileError (one line: file, key, reason) if unusable."""
    where = one_line(str(path))
    try:
        fd = open_regular(path)
    except NotARegularFile:
        raise ProfileError(f"{where}: a profile must be a regular file") from None
    except FileNotFoundError:
        raise ProfileError(f"{where}: no such profile file") from None
    except OSError as e:
        raise ProfileError(f"{where}: cannot read the profile: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_PROFILE_BYTES + 1)
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{where}: profile larger than {MAX_PROFILE_BYTES} bytes is refused")
    try:
        profile = json.loads(data.decode("utf-8-sig"), object_pairs_hook=no_duplicate_keys)
    except UnicodeDecodeError:
        raise ProfileError(f"{where}: a profile must be UTF-8 JSON") from None
    except json.JSONDecodeError as e:
        raise ProfileError(f"{where}: not valid JSON: line {e.lineno} column {e.colno}: {e.msg}") from None
    except (ValueError, RecursionError) as e:
        raise ProfileError(f"{where}: not a usable JSON profile: {one_line(str(e))}") from None
    bad = problems(profile)
    if bad:
        raise ProfileError(f"{where}: {one_line(bad[0])}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    return profile


# --- checking a bag -----------------------------------------------------------------

_MEDIA_ALIASES = {
    "application/tar": "application/x-tar",
    "application/x-gtar": "application/x-tar",
    "application/x-gzip": "application/gzip",
    "application/tar+gzip": "application/gzip",
    "application/x-tar+gzip": "application/gzip",
    "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip",
}


def _media(t: str) -> str:
    t = t.strip().lower()
    return _MEDIA_ALIASES.get(t, t)


@functools.lru_cache(maxsize=512)  # a profile's few patterns, compiled once per process instead of per bag
def _glob(pattern: str) -> re.Pattern:
    """A profile path pattern: '*' is any run of characters within one segment; a trailing '/*' covers a whole folder."""
    if pattern.endswith("/*"):
        return re.compile(re.escape(pattern[:-1]) + ".+", re.S)
    return re.compile("[^/]*".join(re.escape(p) for p in pattern.split("*")), re.S)


@functools.lru_cache(maxsize=512)
def _pattern(pat: str) -> re.Pattern:
    """A field rule's pattern compiled once (re's own cache is a lookup per call and holds only 512)."""
    return re.compile(pat)


def _allowed(path: str, patterns: list[re.Pattern]) -> bool:
    return any(p.fullmatch(path) for p in patterns)


_RFC_TAG_FILE = re.compile(r"^(bagit\.txt|bag-info\.txt|fetch\.txt|(tag)?manifest-[a-z0-9]+\.txt)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _format_problem(fmt: str, value: str) -> str | None:
    if fmt == "edtf":
        try:
            dates.bounds(value)
        except dates.EDTFError as e:
            return str(e)
    elif fmt == "date":
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) or not dates.is_edtf(value):
            return f"{one_line(value)!r} is not a date YYYY-MM-DD"
    elif fmt == "language":
        import langcodes  # only profiles with language rules pay for the import

        if not langcodes.tag_is_valid(value):
            return f"{one_line(value)!r} is not a BCP 47 language tag"
    elif fmt == "uri":
        parts = urlsplit(value)
        if not parts.scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme) or any(c.isspace() for c in value):
            return f"{one_line(value)!r} is not an absolute URI"
    elif fmt == "email":
        if not _EMAIL.match(value):
            return f"{one_line(value)!r} is not an e-mail address"
    elif fmt == "integer":
        if not re.fullmatch(r"[0-9]+", value):
            return f"{one_line(value)!r} is not a non-negative integer"
    return None


# A pure function of short strings that repeat from bag to bag (a Bagging-Date, the profile URI, a
# contact address): remembered for short values (memory stays bounded), as validating a folder
# checks the same few values a thousand times.
_format_problem_short = functools.lru_cache(maxsize=1024)(_format_problem)


def check(profile: dict, facts: ProfileFacts, *, source: str = "bag-info.txt") -> list[Finding]:
    """Every way the bag described by ``facts`` falls short of ``profile``."""
    pid = one_line(identifier(profile), 120)
    tail = f"(profile {pid})"
    out: list[Finding] = []

    def add(code, message, path=source, field=None):
        out.append(Finding.of(code, path, f"{message} {tail}", field))

    # Bag-Info: labels compared case-insensitively (RFC 8493 §2.2.2 labels are case-insensitive in practice).
    values: dict[str, list[str]] = {}
    for label, value in facts.info:
        values.setdefault(label.lower(), []).append(value)
    bag_info = profile.get("Bag-Info") or {}
    for name, spec in (bag_info.items() if isinstance(bag_info, dict) else ()):
        if not isinstance(spec, dict):
            continue
        got = values.get(str(name).lower(), [])
        if not got:
            if spec.get("required") is True:
                add("PROF-E001", f"required bag-info field {name!r} is missing", field=name)
            elif spec.get("recommended") is True:
                add("PROF-W001", f"recommended bag-info field {name!r} is missing", field=name)
            continue
        if spec.get("repeatable") is False and len(got) > 1:
            add("PROF-E003", f"bag-info field {name!r} appears {len(got)} times; the profile allows it once", field=name)
        allowed = spec.get("values")
        if isinstance(allowed, list) and allowed:
            for v in got:
                if v not in allowed:
                    shown = ", ".join(repr(one_line(a, 80)) for a in allowed[:5]) + (", ..." if len(allowed) > 5 else "")
                    add("PROF-E002", f"bag-info field {name!r} has {one_line(v, 120)!r}, not one of {shown}", field=name)
        if spec.get("required") is True and all(not v.strip() for v in got):
            add("PROF-E001", f"required bag-info field {name!r} is empty", field=name)

    # Field value rules (our extension).
    rules = profile.get(EXTENSION) or {}
    for name, r in (rules.items() if isinstance(rules, dict) else ()):
        if not isinstance(r, dict):
            continue
        for v in values.get(str(name).lower(), []):
            fmt = r.get("format")
            why = (_format_problem_short if len(v) <= 200 else _format_problem)(fmt, v) if isinstance(fmt, str) else None
            if why:
                add("PROF-E019", f"bag-info field {name!r}: {why}; the profile requires format {fmt}", field=name)
            pat = r.get("pattern")
            if isinstance(pat, str) and len(pat) <= MAX_PATTERN:
                try:
                    ok = _pattern(pat).search(v) is not None
                except re.error:
                    ok = True  # load() refuses bad patterns; an in-memory profile is not ours to judge here
                if not ok:
                    add("PROF-E020", f"bag-info field {name!r} has {one_line(v, 120)!r}, which does not match {pat!r}", field=name)

    declared = values.get("bagit-profile-identifier", [])
    if declared and pid != "unknown" and identifier(profile) not in declared:
        add("PROF-W002", f"the bag declares profile {one_line(declared[0], 120)!r}, not the one checked", field="BagIt-Profile-Identifier")

    # Manifests.
    def algorithms(required_key, allowed_key, present, code_missing, code_allowed, kind):
        req = profile.get(required_key) or []
        for a in req if isinstance(req, list) else ():
            if a.lower() not in present:
                add(code_missing, f"required {kind} {kind.split()[0]}-{a}.txt is missing", path=f"{kind.split()[0]}-{a}.txt")
        allowed = profile.get(allowed_key)
        if isinstance(allowed, list):
            ok = {a.lower() for a in allowed} | {a.lower() for a in req if isinstance(req, list)}
            for a in sorted(present - ok):
                add(code_allowed, f"{kind} algorithm {a!r} is not allowed (allowed: {', '.join(sorted(ok)) or 'none'})",
                    path=f"{kind.split()[0]}-{a}.txt")

    algorithms("Manifests-Required", "Manifests-Allowed", {a.lower() for a in facts.manifest_algorithms},
               "PROF-E004", "PROF-E005", "manifest")
    algorithms("Tag-Manifests-Required", "Tag-Manifests-Allowed", {a.lower() for a in facts.tagmanifest_algorithms},
               "PROF-E006", "PROF-E007", "tagmanifest")

    # Tag files and payload files.
    for key, present, code in (("Tag-Files-Required", facts.tag_files, "PROF-E008"),
                               ("Payload-Files-Required", facts.payload_files, "PROF-E010")):
        for p in profile.get(key) or []:
            pat = _glob(p)
            if not any(pat.fullmatch(x) for x in present):
                add(code, f"required {'tag' if code == 'PROF-E008' else 'payload'} file {one_line(p)!r} is missing", path=p)
    allowed_tags = profile.get("Tag-Files-Allowed")
    if isinstance(allowed_tags, list):
        pats = [_glob(p) for p in allowed_tags + list(profile.get("Tag-Files-Required") or [])]
        for t in sorted(facts.tag_files):
            if not _RFC_TAG_FILE.match(t) and not _allowed(t, pats):
                add("PROF-E009", "tag file is not allowed by the profile", path=t)
    allowed_payload = profile.get("Payload-Files-Allowed")
    if isinstance(allowed_payload, list):
        pats = [_glob(p) for p in allowed_payload + list(profile.get("Payload-Files-Required") or [])]
        for p in sorted(facts.payload_files):
            if not _allowed(p, pats):
                add("PROF-E011", "payload file is not allowed by the profile", path=p)

    # Fetch, version, serialization, empty payload.
    if profile.get("Allow-Fetch.txt") is False and facts.has_fetch:
        add("PROF-E012", "fetch.txt is present and the profile forbids it", path="fetch.txt")
    if profile.get("Fetch.txt-Required") is True and not facts.has_fetch:
        add("PROF-E013", "fetch.txt is required and missing", path="fetch.txt")
    versions = profile.get("Accept-BagIt-Version")
    if isinstance(versions, list) and versions and facts.version not in versions:
        add("PROF-E014", f"BagIt-Version {one_line(facts.version, 40)!r} is not accepted (accepted: {', '.join(versions)})",
            path="bagit.txt", field="BagIt-Version")
    ser = profile.get("Serialization", "optional")
    if ser == "required" and facts.serialization is None:
        add("PROF-E015", "the profile requires a serialized bag (tar, zip, ...); this bag is a folder", path="")
    if ser == "forbidden" and facts.serialization is not None:
        add("PROF-E016", f"the profile forbids serialization; this bag came as {facts.serialization}", path="")
    accepted = profile.get("Accept-Serialization")
    if facts.serialization is not None and isinstance(accepted, list) and accepted and ser != "forbidden":
        if _media(facts.serialization) not in {_media(a) for a in accepted}:
            add("PROF-E017", f"serialization {facts.serialization} is not accepted (accepted: {', '.join(accepted)})", path="")
    if profile.get("Data-Empty") is True:
        sizes = dict(facts.payload_sizes)
        if len(facts.payload_files) > 1 or any(sizes.get(p, 0) for p in facts.payload_files):
            add("PROF-E018", "the profile requires data/ to hold at most one zero-length file", path="data")
    return out


def dumps(profile: dict) -> str:
    """The published form: indented JSON, keys in the spec's order (as written), trailing newline."""
    return json.dumps(profile, indent=2, ensure_ascii=False) + "\n"


def schema_path() -> Path:
    return Path(__file__).resolve().parent.parent / "schemas" / layout.PROFILE_FILE


def main(argv: list[str] | None = None) -> int:
    """``python -m archiver.profile [--check]``: write (or check) schemas/bagit-profile.json."""
    argv = sys.argv[1:] if argv is None else argv
    target = schema_path()
    text = dumps(ours())
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target}: out of date; run python -m archiver.profile", file=sys.stderr)
            return 1
        return 0
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
