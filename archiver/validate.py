"""The ``validate`` command: is this a valid BagIt bag, and, if it is one of ours, a sound one?

Layers, each only reached through ``tree.BagTree`` (a folder or an archive):

1. RFC 8493 (and the 0.93-0.97 drafts): bagit.txt, bag-info.txt, manifests,
   tag manifests, fetch.txt, completeness and fixity (``tagfiles`` parses).
2. Safety: paths that could leave the bag, symlinks, special files, oversized
   tag files.  Nothing outside the bag is ever opened and nothing is fetched.
3. Our bags (``data/metadata/mets.xml`` with our METS profile): our METS rules,
   the official schemas when available, the record's metadata rules, and
   agreement between the METS, the manifests, the files and bag-info.txt.
4. A BagIt profile, when the bag names one we ship or ``--profile`` gives one.

A path may be a bag folder, a tar/tar.gz/zip bag (``archive.ArchiveTree``,
never unpacked) or a folder of bags; many bags are validated in a process pool.

Findings carry registered codes (``findings.RULES``); ``python -m
archiver.validate --rules-doc`` renders docs/validation.md from them.
"""

from __future__ import annotations

import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import layout, tagfiles
from .findings import RULES, Finding, Severity, has_errors, one_line, rule
from .outcome import EXIT_FAILED, EXIT_OK, UsageError
from .workers import default_jobs, map_in_order
from .tree import BagTree, DirTree

rule("BAG-E007", "RFC 8493 §2.1.2", "the payload directory data/ is missing or not a directory")
rule("BAG-E008", "RFC 8493 §2.1.3", "the bag has no payload manifest")
rule("BAG-E012", "RFC 8493 §3", "a payload file is not listed in every payload manifest")
rule("BAG-E013", "RFC 8493 §3", "a file's checksum does not match its manifest (fixity)")
rule("BAG-E015", "RFC 8493 §2.2.2", "Payload-Oxum does not match the payload's octet and file counts")
rule("BAG-E017", "RFC 8493 §3", "a file listed in a manifest is missing")
rule("BAG-E019", "RFC 8493 §2.2.3", "files listed in fetch.txt are not present: the bag is incomplete (nothing is fetched)")
rule("BAG-E020", "RFC 8493 §2.2.3", "a fetch.txt path is not listed in every payload manifest")
rule("BAG-E021", "RFC 8493 §2.2.1", "a tag manifest lists a payload file")
rule("BAG-E023", "RFC 8493 §3", "a listed file cannot be read")
rule("BAG-E025", "RFC 8493 §2.1.1", "a required tag file cannot be read")
rule("BAG-E026", "RFC 8493 §3", "no payload manifest uses an algorithm the validator can compute, so the bag cannot be verified")
rule("BAG-W003", "RFC 8493 §6 (interoperability)", "two names differ only in case (they collide on case-insensitive file systems)")
rule("BAG-W004", "RFC 8493 §6 (interoperability)", "two names differ only in Unicode normalization")
rule("BAG-W005", "RFC 8493 §6 (interoperability)", "an operating-system junk file (.DS_Store, Thumbs.db, ...) is in the bag")
rule("BAG-W006", "RFC 8493 §2.4", "a manifest uses an algorithm this validator cannot compute; its checksums are not checked")
rule("BAG-W008", "RFC 8493 §2.4", "a BagIt 1.0 bag has only MD5 or SHA-1 manifests (SHA-256 or SHA-512 are recommended)")
rule("BAG-W012", "RFC 8493 §6; LoC conformance suite", "a listed file is absent but explained: an OS junk file, or present under a case or normalization variant")
rule("BAG-I001", "archiver --fast", "--fast checks Payload-Oxum and completeness only: fixity, our METS checks and profiles did not run")
rule("BAG-I002", "archiver output", "more findings of one code than are shown")
rule("BAG-I004", "RFC 8493 §2.2.2", "a payload file larger than the whole payload Payload-Oxum declares is not hashed (the bag is already invalid)")
rule("BAG-I003", "bagit-profiles 1.4", "the bag names a BagIt profile that is not known locally; it is never fetched")
rule("SAFE-E002", "archiver safety", "a symbolic link in the bag; never followed")
rule("SAFE-E003", "archiver safety", "a special file (FIFO, device, socket) or an unlistable folder in the bag; never opened")
rule("SAFE-E004", "archiver safety", "a tag file is larger than the validator reads; refused")
rule("SAFE-E006", "archiver safety", "the bag could not be validated (an unexpected read error)")
rule("SAFE-E007", "archiver safety", "the bag folder itself is a symbolic link or not a folder")

MAX_PER_CODE = 50  # more findings of one code are summarised (a million bad lines stay readable)

_MORE = re.compile(r"([0-9]+) more ([A-Z]+-([EWI])[0-9]+) ")
_MANIFEST_NAME = re.compile(r"(tag)?manifest-([A-Za-z0-9_-]+)\.txt")


@dataclass
class Parsed:
    """What the tag files of one bag say, gathered once."""

    version: tuple[int, int] = (1, 0)
    encoding: str | None = None
    info: tagfiles.BagInfo = field(default_factory=tagfiles.BagInfo)
    info_name: str = "bag-info.txt"
    manifests: dict[str, list[tagfiles.Line]] = field(default_factory=dict)  # algorithm -> lines
    tagmanifests: dict[str, list[tagfiles.Line]] = field(default_factory=dict)
    fetch: list[tagfiles.FetchItem] = field(default_factory=list)
    has_fetch: bool = False


_nfc = tagfiles.nfc
_fold = tagfiles.name_key


class Report(list):
    """The findings of one bag, at most ``limit`` per code kept (memory stays bounded
    whatever a hostile bag holds); ``dropped`` counts the rest per code."""

    def __init__(self, limit: int = MAX_PER_CODE):
        super().__init__()
        self.limit = limit
        self.seen: dict[str, int] = defaultdict(int)

    def append(self, f: Finding) -> None:
        self.seen[f.code] += 1
        if self.seen[f.code] <= self.limit:
            if not f.path.isprintable():  # a name may hold a newline (RFC 8493 %0A) or undecodable bytes
                f = Finding(f.code, one_line(_printable(f.path), 1000), f.message, f.field, f.severity)
            super().append(f)

    def extend(self, fs) -> None:
        for f in fs:
            self.append(f)

    def __iadd__(self, fs):
        self.extend(fs)
        return self

    def finish(self) -> list[Finding]:
        out = list(self)
        for code, n in self.seen.items():
            if n > self.limit:
                out.append(Finding.of("BAG-I002", "", f"{n - self.limit} more {code} finding(s) not shown"))
        return out


class _Resolver:
    """Find the file a listed path names: exactly, else under one Unicode-normalization or case variant."""

    def __init__(self, files: dict[str, int]):
        self.files = files
        self.by_nfc: dict[str, list[str]] = defaultdict(list)
        self.by_fold: dict[str, list[str]] = defaultdict(list)
        for p in files:
            self.by_nfc[_nfc(p)].append(p)
            self.by_fold[_fold(p)].append(p)

    def find(self, path: str) -> tuple[str | None, str]:
        """(the present file, how): how is "exact", "normalization", "case" or "missing"."""
        if path in self.files:
            return path, "exact"
        if path.isascii():  # NFC of ASCII is itself: only a case variant can match
            hits = self.by_fold.get(path.lower(), [])
            return (hits[0], "case") if len(hits) == 1 else (None, "missing")
        hits = self.by_nfc.get(_nfc(path), [])
        if len(hits) == 1:
            return hits[0], "normalization"
        hits = self.by_fold.get(_fold(path), [])
        if len(hits) == 1:
            return hits[0], "case"
        return None, "missing"


def _read_tag(tree: BagTree, path: str, limit: int, out: list[Finding]) -> bytes | None:
    return tagfiles.read_from(tree, path, limit, out, unreadable="BAG-E025")


def _collisions(paths, out: list[Finding]) -> None:
    """RFC 8493 §6.2.1: names equal up to case or normalization collide elsewhere; warn."""
    groups: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        groups[p.lower() if p.isascii() else _fold(p)].append(p)  # inlined: this loop may see a million names
    for group in groups.values():
        if len(group) < 2:
            continue
        by_nfc: dict[str, list[str]] = defaultdict(list)
        for p in group:
            by_nfc[_nfc(p)].append(p)
        for same in by_nfc.values():
            if len(same) > 1:
                names = sorted(same)
                out.append(Finding.of("BAG-W004", names[0], "same name in another Unicode normalization: " + ", ".join(repr(one_line(n, 120)) for n in names[1:])))
        if len(by_nfc) > 1:
            names = sorted(by_nfc)
            out.append(Finding.of("BAG-W003", names[0], "differs only in case from " + ", ".join(repr(one_line(n, 120)) for n in names[1:])))


def _under(path: str, blocked: set[str]) -> bool:
    """Whether ``path`` or one of its folders is blocked: O(depth), not O(blocked)."""
    if path in blocked:
        return True
    i = path.find("/")
    while i != -1:
        if path[:i] in blocked:
            return True
        i = path.find("/", i + 1)
    return False


def _is_empty_digest(alg: str, digest: str) -> bool:
    from .hashing import ALGORITHMS, hash_bytes

    return alg in ALGORITHMS and hash_bytes(b"", (alg,))[alg] == digest


def validate_tree(tree: BagTree, *, fast: bool = False, schemas=None, profile: dict | None = None, serialization: str | None = None) -> list[Finding]:
    """Every finding about one bag, read only through ``tree``; paths bag-relative."""
    out = Report()
    _check(tree, out, fast=fast, schemas=schemas, profile=profile, serialization=serialization)
    return out.finish()


def _check(tree: BagTree, out: Report, *, fast, schemas, profile, serialization) -> None:
    # --- what is there: lstat only ---------------------------------------
    files: dict[str, int] = {}  # regular files -> size
    dirs: set[str] = set()
    blocked: set[str] = set()  # symlinks and special files: reported, never opened
    for e in tree.entries():
        if e.kind == "file":
            files[e.path] = e.size
        elif e.kind == "dir":
            dirs.add(e.path)
        elif e.kind == "symlink":
            blocked.add(e.path)
            out.append(Finding.of("SAFE-E002", e.path, f"symbolic link to {one_line(e.target or '?', 120)!r}; not followed"))
        else:
            blocked.add(e.path)
            out.append(Finding.of("SAFE-E003", e.path, "special file (FIFO, device, socket) or unlistable folder; not opened"))

    p = Parsed()
    # --- bagit.txt ----------------------------------------------------------
    if "bagit.txt" not in files:
        out.append(Finding.of("BAG-E001", "bagit.txt", "missing" if "bagit.txt" not in blocked and "bagit.txt" not in dirs else "not a regular file"))
        return
    raw = _read_tag(tree, "bagit.txt", tagfiles.MAX_BAGIT_TXT, out)
    if raw is None:
        return
    decl = tagfiles.parse_declaration(raw, out)
    if decl.version is None or decl.version not in tagfiles.SUPPORTED_VERSIONS or decl.encoding is None:
        return  # the rest cannot be read reliably
    p.version, p.encoding = decl.version, decl.encoding

    if "data" not in dirs and not any(f.startswith("data/") for f in files):  # archives may omit folder entries
        out.append(Finding.of("BAG-E007", "data", "missing" if "data" not in files and "data" not in blocked else "not a directory"))

    read_once: dict[str, bytes] = {"bagit.txt": raw}
    budget = [tagfiles.MAX_TAG_TOTAL]  # all tag files together: many capped manifests must not add up to hours

    def text_of(path: str, limit: int) -> str | None:
        size = files.get(path, 0)
        if size <= limit:
            if size > budget[0]:
                out.append(Finding.of("SAFE-E004", path, f"tag files together exceed {tagfiles.MAX_TAG_TOTAL} bytes; not read"))
                return None
            budget[0] -= size
        raw = _read_tag(tree, path, limit, out)
        if raw is not None:
            read_once[path] = raw  # hashed from memory later: each tag file is read once
        return None if raw is None else tagfiles.decode(raw, p.encoding, path, out)

    # --- bag-info.txt (package-info.txt before 0.96) -----------------------
    p.info_name = "package-info.txt" if p.version < (0, 96) else "bag-info.txt"
    if p.info_name in files:
        text = text_of(p.info_name, tagfiles.MAX_BAG_INFO)
        if text is not None:
            p.info = tagfiles.parse_bag_info(text, p.info_name, p.version, out)

    # --- manifests ---------------------------------------------------------
    from .hashing import ALGORITHMS

    top = sorted(f for f in files if "/" not in f)
    for name in top:
        m = _MANIFEST_NAME.fullmatch(name)
        if not m:
            continue
        is_tag, alg = bool(m.group(1)), m.group(2)
        text = text_of(name, tagfiles.MAX_MANIFEST)
        if text is None:
            continue
        if alg not in ALGORITHMS:
            out.append(Finding.of("BAG-W006", name, f"algorithm {one_line(alg, 40)!r} is not one of {', '.join(sorted(ALGORITHMS))}"))
        lines = tagfiles.parse_manifest(text, name, alg, p.version, payload=not is_tag, findings=out)
        if is_tag:
            kept = []
            for ln in lines:
                if ln.path.startswith("data/"):
                    out.append(Finding.of("BAG-E021", name, f"line {ln.number}: {one_line(ln.path, 120)!r} is a payload file"))
                else:
                    kept.append(ln)
            p.tagmanifests[alg] = kept
        else:
            p.manifests[alg] = lines
    if not p.manifests and not any(_MANIFEST_NAME.fullmatch(n) and not n.startswith("tag") for n in top):
        out.append(Finding.of("BAG-E008", "", "no manifest-ALGORITHM.txt"))
    if p.manifests and not set(p.manifests) & set(ALGORITHMS):
        out.append(Finding.of("BAG-E026", "", "no payload manifest uses an algorithm this validator can compute ("
                              + ", ".join(sorted(p.manifests)) + "); fixity cannot be established"))
    if p.version >= (1, 0) and p.manifests and not set(p.manifests) - {"md5", "sha1"}:
        out.append(Finding.of("BAG-W008", "", "only " + ", ".join(sorted(p.manifests)) + " manifests"))

    # --- fetch.txt: read, never fetched -------------------------------------
    if "fetch.txt" in files:
        p.has_fetch = True
        text = text_of("fetch.txt", tagfiles.MAX_FETCH)
        if text is not None:
            p.fetch = tagfiles.parse_fetch(text, p.version, out)

    # --- names: junk and collisions -----------------------------------------
    payload = {f: s for f, s in files.items() if f.startswith("data/")}
    for f in files:
        if tagfiles.is_os_junk(f):
            out.append(Finding.of("BAG-W005", f, "operating-system junk file"))
    listed = {ln.path for lines in p.manifests.values() for ln in lines}
    # Every name in the bag (folders and tag files too) plus every listed one: any two that one
    # case-insensitive or normalizing file system would merge.
    _collisions(set(files) | dirs | blocked | listed, out)

    # --- completeness ----------------------------------------------------------
    resolver = _Resolver(payload)
    fetch_paths = {it.path for it in p.fetch}
    need: dict[str, set[str]] = defaultdict(set)  # present file -> algorithms to compute
    expect: list[tuple[str, str, str, str]] = []  # (manifest, present file, algorithm, digest)
    missing_junk: list[tuple[str, str, str]] = []  # (path, algorithm, digest) of absent junk files
    to_fetch: set[str] = set()
    for alg, lines in sorted(p.manifests.items()):
        name = f"manifest-{alg}.txt"
        covered: set[str] = set()
        for ln in lines:
            if blocked and _under(ln.path, blocked):
                continue  # reported as SAFE-E002/E003 already
            found, how = resolver.find(ln.path)
            if found is None:
                if ln.path in fetch_paths:
                    to_fetch.add(ln.path)
                elif tagfiles.is_os_junk(ln.path):
                    out.append(Finding.of("BAG-W012", name, f"line {ln.number}: junk file {one_line(ln.path, 120)!r} is absent"))
                    missing_junk.append((ln.path, alg, ln.digest))
                else:
                    out.append(Finding.of("BAG-E017", ln.path, f"listed in {name} (line {ln.number}) but missing"))
                continue
            if how != "exact":
                out.append(Finding.of("BAG-W012", name, f"line {ln.number}: {one_line(ln.path, 120)!r} is absent; checked against {one_line(found, 120)!r} ({how} variant)"))
            covered.add(found)
            if alg in ALGORITHMS:
                need[found].add(alg)
                expect.append((name, found, alg, ln.digest))
        for f in sorted(set(payload) - covered):
            out.append(Finding.of("BAG-E012", f, f"not listed in {name}"))
    per_manifest = {alg: {ln.path for ln in lines} for alg, lines in p.manifests.items()}
    for it in p.fetch:
        absent = sorted(alg for alg, paths in per_manifest.items() if it.path not in paths)
        if absent:
            where = ", ".join(f"manifest-{a}.txt" for a in absent)
            out.append(Finding.of("BAG-E020", "fetch.txt", f"line {it.number}: {one_line(it.path, 120)!r} is not in {where}"))
        if it.path not in listed:
            continue
        elif it.path not in payload and it.path not in to_fetch:
            to_fetch.add(it.path)
    if to_fetch:
        sample = ", ".join(repr(one_line(x, 80)) for x in sorted(to_fetch)[:3])
        out.append(Finding.of("BAG-E019", "fetch.txt", f"{len(to_fetch)} file(s) still to fetch, e.g. {sample}; nothing is fetched"))

    # --- tag manifests -------------------------------------------------------
    tag_files = {f: s for f, s in files.items() if not f.startswith("data/")}
    for alg, lines in sorted(p.tagmanifests.items()):
        name = f"tagmanifest-{alg}.txt"
        for ln in lines:
            if blocked and _under(ln.path, blocked):
                continue
            if ln.path not in tag_files:
                if tagfiles.is_os_junk(ln.path):
                    out.append(Finding.of("BAG-W012", name, f"line {ln.number}: junk file {one_line(ln.path, 120)!r} is absent"))
                else:
                    out.append(Finding.of("BAG-E017", ln.path, f"listed in {name} (line {ln.number}) but missing"))
                continue
            if alg in ALGORITHMS:
                need[ln.path].add(alg)
                expect.append((name, ln.path, alg, ln.digest))

    # --- Payload-Oxum ----------------------------------------------------------
    declared_octets: int | None = None
    for value in p.info.values("Payload-Oxum"):
        oxum = tagfiles.parse_oxum(value, p.info_name, out)
        if oxum is None:
            continue
        declared_octets = oxum[0] if declared_octets is None else min(declared_octets, oxum[0])
        octets, count = sum(payload.values()), len(payload)
        if oxum == (octets, count):
            continue
        # Absent junk files (warned above) explain a count difference; their size is known when their digest is the empty file's.
        k = len({path for path, _, _ in missing_junk})
        sizes_known = all(_is_empty_digest(a, d) for _, a, d in missing_junk)
        explained = k and oxum[1] == count + k and (oxum[0] == octets if sizes_known else oxum[0] >= octets)
        if explained:
            out.append(Finding.of("BAG-W012", p.info_name, f"Payload-Oxum {value} counts {k} absent junk file(s); the payload is {octets}.{count}"))
        else:
            out.append(Finding.of("BAG-E015", p.info_name, f"Payload-Oxum {value} but the payload is {octets}.{count}"))

    # --- fixity ------------------------------------------------------------------
    preread: dict[str, bytes] = {}  # payload files read whole for ourbag.check, already hashed
    if fast:
        out.append(Finding.of("BAG-I001", "", "--fast: fixity, METS and profile checks not run"))
    else:
        from .hashing import hash_bytes

        computed: dict[str, dict[str, str]] = {p_: hash_bytes(read_once[p_], sorted(a)) for p_, a in need.items() if p_ in read_once}
        order = sorted(set(need) - set(computed))
        if declared_octets is not None:
            # A file larger than the whole payload Payload-Oxum declares already makes the bag invalid
            # (BAG-E015); hashing it could take hours (a sparse terabyte), so it is not read.
            huge = [f for f in order if payload.get(f, 0) > declared_octets]
            for f in huge:
                out.append(Finding.of("BAG-I004", f, f"{payload[f]} bytes, more than the {declared_octets} Payload-Oxum declares for the whole payload; not hashed"))
            order = [f for f in order if payload.get(f, 0) <= declared_octets]
        every = sorted({a for s in need.values() for a in s})
        # Our METS and record.json are read anyway by ourbag.check: read them now, hash them from
        # memory and hand the bytes on (two file opens and reads fewer per bag, ~0.1 ms).  A read
        # that fails here changes nothing: the file is hashed, and reported, as before.
        if isinstance(tree, DirTree) and layout.METS in files:
            from .ourbag import PREREAD

            for name, limit in PREREAD:
                if name in need and name in order:
                    try:
                        preread[name] = tree.read(name, limit)
                    except OSError:
                        continue
                    computed[name] = hash_bytes(preread[name], every)
            if preread:
                order = [f for f in order if f not in preread]
        for path, result in tree.digests(order, every):
            if isinstance(result, Exception):
                out.append(Finding.of("BAG-E023", path, f"cannot be read: {one_line(getattr(result, 'strerror', None) or str(result), 120)}"))
            else:
                computed[path] = result
        for name, path, alg, digest in expect:
            got = computed.get(path, {}).get(alg)
            if got is not None and got != digest:
                out.append(Finding.of("BAG-E013", path, f"{alg} is {got}, {name} says {digest}"))

    # --- our bags, and profiles (not in --fast: it checks Payload-Oxum and completeness only) ----
    if fast:
        return
    if layout.METS in files:
        from . import ourbag

        out.extend(ourbag.check(tree, p, files, computed=computed, schemas=schemas, preread=preread))
    try:
        out.extend(_profile_findings(p, files, payload, tree, profile, serialization))
    except Exception as e:  # noqa: BLE001 - a profile that trips the checker must not hide the BagIt findings
        out.append(Finding.of("SAFE-E006", p.info_name, one_line(f"profile check failed: {type(e).__name__}: {e}", 200)))


_KNOWN: dict[str, dict] = {}  # identifier -> a shipped profile, read-only


def _profile_findings(p: Parsed, files, payload, tree, profile, serialization) -> list[Finding]:
    ident = p.info.first("BagIt-Profile-Identifier")
    if profile is None and ident is None:
        return []
    try:
        from . import profile as profiles
    except ImportError:  # pragma: no cover - only while profile.py is missing
        return []
    if profile is None:
        # known() deep-copies the profile (~0.1 ms); check() never changes it, so one copy per identifier serves every bag.
        profile = _KNOWN.get(ident)
        if profile is None:
            profile = profiles.known(ident)
            if profile is not None and len(_KNOWN) < 16:
                _KNOWN[ident] = profile
        if profile is None:
            return [Finding.of("BAG-I003", p.info_name, f"BagIt-Profile-Identifier {one_line(ident, 120)!r} is not known here; not checked")]
    facts = profiles.ProfileFacts(
        version=f"{p.version[0]}.{p.version[1]}",
        info=tuple(p.info.elements),
        manifest_algorithms=frozenset(p.manifests),
        tagmanifest_algorithms=frozenset(p.tagmanifests),
        tag_files=frozenset(f for f in files if not f.startswith("data/")),
        payload_files=frozenset(payload),
        has_fetch=p.has_fetch,
        serialization=serialization,
        payload_sizes=tuple(sorted(payload.items())),
    )
    return profiles.check(profile, facts, source=p.info_name)


# --- the command -------------------------------------------------------------


@dataclass
class BagResult:
    path: str  # as given or found
    findings: list[Finding]

    @property
    def valid(self) -> bool:
        return not has_errors(self.findings)

    def count(self, sev: Severity) -> int:
        """Findings of one severity, counting those summarised by BAG-I002 ("N more CODE ...")."""
        n = 0
        for f in self.findings:
            if f.severity is sev:
                n += 1
            if f.code == "BAG-I002":
                m = _MORE.match(f.message)
                if m and m.group(3) == sev.value[0].upper():
                    n += int(m.group(1))
        return n


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass
class ValidateOutcome:
    bags: list[BagResult]
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if all(b.valid for b in self.bags) else EXIT_FAILED

    def summary(self) -> dict:
        valid = sum(1 for b in self.bags if b.valid)
        return {
            "bags": len(self.bags),
            "valid": valid,
            "invalid": len(self.bags) - valid,
            "errors": sum(b.count(Severity.ERROR) for b in self.bags),
            "warnings": sum(b.count(Severity.WARNING) for b in self.bags),
        }

    def summary_line(self) -> str:
        s = self.summary()
        return (f"{_plural(s['bags'], 'bag')}: {s['valid']} valid, {s['invalid']} invalid "
                f"({_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')})")

    def to_json(self) -> dict:
        return {
            "bags": [{"path": _printable(b.path), "valid": b.valid,
                      "findings": [{**f.to_json(), "path": _printable(f.path)} for f in b.findings]} for b in self.bags],
            "summary": self.summary(),
        }

    def lines(self):
        for note in self.notes:
            yield "err", note
        # The same note about many bags (e.g. "schemas not checked") is printed once, with a count.
        infos: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for b in self.bags:
            for f in b.findings:
                if f.severity is Severity.INFO:
                    infos[(f.code, f.path, f.message)].append(b.path)
                else:
                    yield "err", _shown(f, b.path).line()
            e, w = b.count(Severity.ERROR), b.count(Severity.WARNING)
            status = "valid" if b.valid else "INVALID"
            detail = ", ".join(x for x in (_plural(e, "error") if e else "", _plural(w, "warning") if w else "") if x)
            yield "out", f"{status} {one_line(_printable(b.path), 1000)}" + (f" ({detail})" if detail else "")
        for (code, path, message), bags in infos.items():
            # Finding() directly: a code registered only in a worker process is unknown here.
            if len(bags) == 1:
                yield "out", _shown(Finding(code, path, message, severity=Severity.INFO), bags[0]).line()
            else:
                where = f"{path}: {message}" if path else message
                yield "out", Finding(code, f"{len(bags)} bags", where, severity=Severity.INFO).line()
        yield "out", self.summary_line()


def _join(bag: str, rel: str) -> str:
    return f"{bag.rstrip('/')}/{rel}" if rel else bag


def _printable(path: str) -> str:
    """A path as text: undecodable bytes as \\xNN, never a raw control character (a name may hold a newline)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _shown(f: Finding, bag: str) -> Finding:
    return Finding(f.code, one_line(_printable(_join(bag, f.path)), 1000), f.message, f.field, f.severity)


def _is_bag_folder(path: Path) -> bool:
    return any(os.path.lexists(path / n) for n in ("bagit.txt", "data", "bag-info.txt")) or any(
        _MANIFEST_NAME.fullmatch(n) for n in _listdir(path))


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _may_be_bag(e: os.DirEntry) -> bool:
    """A folder (a symlink to one too), any symlink (reported, not followed), or an archive file;
    as Path's is_dir/is_file, a link that cannot be followed (a loop) is not a folder or file."""
    try:
        if e.is_dir():
            return True
    except OSError:
        pass
    if e.is_symlink():
        return True
    try:
        return e.is_file() and _archive_name(e.name)
    except OSError:
        return False


def _scandir(path: Path) -> list[os.DirEntry]:
    """The entries of a folder of bags, sorted by name, without dot-entries (.staging, the catalog)."""
    try:
        with os.scandir(path) as it:
            return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError:
        return []


def find_bags(paths) -> tuple[list[tuple[str, bool]], list[str]]:
    """(bag path, found inside a folder of bags) for each bag.  Missing paths are usage errors.

    Each path is a bag, or a folder of bags whose dot-entries (.staging, the
    catalog) are skipped.  A symlink found in a folder of bags is reported,
    not followed: only a path the user names is taken as given.
    """
    bags, notes = [], []
    for given in paths:
        path = Path(given)
        if not os.path.lexists(path):
            raise UsageError(f"{given}: no such file or folder")
        if path.is_file() and _archive_format(str(path)):
            bags.append((str(given), False))  # a serialized bag (tar, tar.gz, zip), read without unpacking
            continue
        if not path.is_dir():
            raise UsageError(f"{given}: not a folder (a bag, or a folder of bags) nor a tar/zip bag")
        if _is_bag_folder(path):
            bags.append((str(given), False))
            continue
        entries = _scandir(path)
        names = [e.name for e in entries]
        # DirEntry's answers come from the listing itself for plain folders and files (no stat each:
        # ~10 ms per 1,000 bags); a symlink is still followed for is_dir/is_file, as Path's were.
        found = [e.name for e in entries if _may_be_bag(e)]
        if found:
            bags.extend((str(path / n), True) for n in found)
        elif names:
            bags.append((str(given), False))  # files but no bags: judge it as a (broken) bag
        else:
            notes.append(f"archiver: {given}: no bags found")
    return bags, notes


def validate_path(path: str, *, fast: bool = False, schemas=None, profile: dict | None = None, in_folder: bool = False) -> list[Finding]:
    """Validate one bag folder; never raises (an unexpected failure is a SAFE-E006 finding)."""
    try:
        if os.path.islink(path) and (in_folder or not os.path.isdir(path)):
            return [Finding.of("SAFE-E007", "", f"a symbolic link to {one_line(os.readlink(path), 200)!r}; not followed")]
        if os.path.isfile(path):
            return _validate_archive(path, fast=fast, schemas=schemas, profile=profile)
        if not os.path.isdir(path):
            return [Finding.of("SAFE-E007", "", "not a folder")]
        with DirTree(path) as tree:
            return validate_tree(tree, fast=fast, schemas=schemas, profile=profile)
    except Exception as e:  # noqa: BLE001 - one bad bag must not stop the batch or print a traceback
        if os.environ.get("ARCHIVER_DEBUG"):
            raise
        return [Finding.of("SAFE-E006", "", one_line(f"{type(e).__name__}: {e}", 200))]


def _archive_name(name: str) -> bool:
    try:
        from . import archive
    except ImportError:  # pragma: no cover - archive.py is another engineer's
        return False
    return archive.split_name(name) is not None


def _archive_format(path: str) -> str | None:
    try:
        from . import archive

        return archive.sniff(path)
    except (ImportError, OSError):
        return None


def _validate_archive(path: str, *, fast, schemas, profile) -> list[Finding]:
    """A tar/tar.gz/zip bag, read as a stream through archive.ArchiveTree: never unpacked."""
    from . import archive

    fmt = _archive_format(path)
    if fmt is None:
        return [Finding.of("SAFE-E007", "", "neither a folder nor a tar/zip archive")]
    split = archive.split_name(path)
    tree = archive.ArchiveTree(path, fmt=fmt, name=split[0] if split else os.path.basename(path), prehash=not fast)
    try:
        tree.scan()
        return validate_tree(tree, fast=fast, schemas=schemas, profile=profile, serialization=archive.MEDIA_TYPES[fmt])
    except archive.Refused as e:
        return [Finding.of(e.code, e.member, e.message)]


def _one(args):
    path, in_folder, fast, schemas, profile = args
    return validate_path(path, fast=fast, schemas=schemas, profile=profile, in_folder=in_folder)


def validate(paths=("bags",), *, fast: bool = False, schemas=None, profile=None, jobs: int | None = None) -> ValidateOutcome:
    """Validate bags or folders of bags; many bags run in a process pool."""
    paths = list(paths) or ["bags"]
    # An unusable --schemas folder is not a usage error: each of our bags gets an XSD-W001 saying the check did not run.
    prof = None
    if profile is not None:
        from . import profile as profiles

        prof = profiles.load(profile)  # ProfileError is a UsageError: exit 2
    bags, notes = find_bags(paths)
    jobs = default_jobs(jobs)
    work = [(b, in_folder, fast, schemas, prof) for b, in_folder in bags]
    # Chunks of at most 32 bags (~30 ms of work): the last chunk is what one worker may still be busy
    # with while the other has nothing left; 125-bag chunks could leave a core idle ~0.1 s.
    chunk = max(1, min(32, len(bags) // (jobs * 4)))
    results = list(map_in_order(_one, work, jobs=jobs, label="validate", chunksize=chunk))
    outcome = ValidateOutcome([BagResult(b, r) for (b, _), r in zip(bags, results)], notes)
    # Record each validation in the collection's catalog, only where one already exists (a warning if that fails).
    from .catalog import note_validations

    for b, warnings in zip(outcome.bags, note_validations(((b.path, b.findings) for b in outcome.bags), fast=fast)):
        b.findings.extend(warnings)
    return outcome


# --- docs/validation.md -----------------------------------------------------

_AREAS = {
    "BAG": "BagIt (RFC 8493 and the 0.93-0.97 drafts)",
    "SAFE": "Hostile input",
    "METS": "Our METS rules",
    "XSD": "Official METS, MODS and PREMIS schemas",
    "REC": "Metadata rules (the record)",
    "PROF": "BagIt profiles",
    "ARC": "Archives and deliveries",
    "IN": "Input files",
    "CAT": "The catalog",
    "FIX": "Fixity audits",
}


def load_all_rules() -> None:
    """Import every module that registers finding codes, so RULES is complete."""
    import importlib
    import pkgutil

    import archiver

    for mod in sorted(m.name for m in pkgutil.iter_modules(archiver.__path__)):
        if mod in ("__main__", "cli"):
            continue
        try:
            importlib.import_module(f"archiver.{mod}")
        except Exception:  # noqa: BLE001 - a module being written by someone else must not break the doc
            continue


def render_rules_markdown() -> str:
    """docs/validation.md, generated from findings.RULES (one source of truth)."""
    load_all_rules()
    out = [
        "# Validation findings",
        "",
        "Generated from `archiver.findings.RULES` by `python -m archiver.validate --rules-doc`; do not edit.",
        "",
        "Each finding prints as one line: `CODE severity path: [field: ]message`.",
        "Severity is in the code: E error (the bag is invalid, exit 1), W warning (valid, reported on stderr),",
        "I information.",
        "",
        "`archiver validate [PATHS...] [--fast] [--schemas DIR] [--profile FILE] [--json]` takes bag folders,",
        "tar/tar.gz/zip bags (read as a stream, never unpacked) or folders of them, and checks, for each bag:",
        "",
        "1. **BagIt** (RFC 8493 and the 0.93-0.97 drafts): bagit.txt, bag-info.txt, every manifest and tag",
        "   manifest, fetch.txt (read, never fetched), completeness and fixity with every algorithm present.",
        "   `--fast` stops after Payload-Oxum and completeness.",
        "2. **Safety**: no path from a tag file is ever opened outside the bag; symlinks and special files are",
        "   reported, never followed or read; tag files are read only up to fixed sizes; XML is parsed without",
        "   DTDs, entities or network.",
        "3. **Our bags** (`data/metadata/mets.xml` with archiver's METS profile): our METS rules, the official",
        "   METS/MODS/PREMIS schemas when `--schemas` (or ARCHIVER_XSD_DIR) names them (otherwise XSD-I001",
        "   says the check did not run), the record's metadata rules, and agreement between the METS,",
        "   record.json, the manifests, the files and bag-info.txt.",
        "4. **Profiles**: the BagIt profile the bag names, when it is archiver's own, or a local `--profile` file.",
        "",
    ]
    by_area: dict[str, list] = defaultdict(list)
    for code, r in RULES.items():
        by_area[code.split("-")[0]].append(r)
    for area in sorted(by_area, key=lambda a: (list(_AREAS).index(a) if a in _AREAS else 99, a)):
        out += [f"## {area}: {_AREAS.get(area, area)}", "", "| code | severity | rule | enforces |", "|---|---|---|---|"]
        for r in sorted(by_area[area], key=lambda r: r.code):
            summary = r.summary.replace("|", "\\|")
            out.append(f"| {r.code} | {r.severity.value} | {r.reference} | {summary} |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--rules-doc"]:
        sys.stdout.write(render_rules_markdown())
        return 0
    sys.stderr.write("usage: python -m archiver.validate --rules-doc\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
