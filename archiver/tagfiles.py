"""BagIt tag files read strictly: bagit.txt, bag-info.txt, manifests, fetch.txt.

Pure functions from bytes to parsed values plus findings; no I/O.  Every path
read from a manifest or fetch.txt goes through ``bag_path``, which decides
whether it is a plain bag-relative path at all: anything that could reach
outside the bag (``..``, absolute, ``~user``, ``C:``, backslashes, NUL) is
refused here, before anyone thinks of opening it.

BagIt versions 0.93-0.97 and 1.0 (RFC 8493) differ in a few places; each
difference is named where it is handled.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from .findings import Finding, one_line, rule

# Size caps for what we read into memory; past them the file is refused (SAFE-E004).
MAX_BAGIT_TXT = 4096
MAX_BAG_INFO = 1 << 20
MAX_MANIFEST = 16 << 20
MAX_FETCH = 16 << 20
MAX_TAG_TOTAL = 48 << 20  # all tag files of one bag together
MAX_LINE = 65536  # characters; longer lines are refused (SAFE-E005), never parsed

SUPPORTED_VERSIONS = {(0, 93), (0, 94), (0, 95), (0, 96), (0, 97), (1, 0)}

# RFC 8493 §2.4 plus the older drafts' names; hex digest length per algorithm.
DIGEST_LENGTH = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}

# RFC 8493 §2.2.2: these reserved elements SHOULD NOT be repeated.
NOT_REPEATABLE = ("Bagging-Date", "Bag-Size", "Payload-Oxum", "Bag-Group-Identifier", "Bag-Count")

# Files that operating systems drop into folders (RFC 8493 §3 asks to warn, not fail).
OS_JUNK = re.compile(r"(^|/)(\.DS_Store|Thumbs\.db|ehthumbs\.db|desktop\.ini|\.directory|Icon\r|\._[^/]*|\.Spotlight-V100|\.Trashes|\.fseventsd|__MACOSX)(/|$)", re.IGNORECASE)

rule("BAG-E001", "RFC 8493 §2.1.1", "bagit.txt (the bag declaration) is missing")
rule("BAG-E002", "RFC 8493 §2.1.1", "bagit.txt is not exactly 'BagIt-Version: M.N' then 'Tag-File-Character-Encoding: ENC'")
rule("BAG-E003", "RFC 8493 §2.1.1", "bagit.txt begins with a byte-order mark")
rule("BAG-E004", "RFC 8493 §2.1.1", "the BagIt version is not one this validator knows (0.93-0.97, 1.0)")
rule("BAG-E005", "RFC 8493 §2.1.1", "Tag-File-Character-Encoding names no known text encoding")
rule("BAG-E006", "RFC 8493 §2.1.1", "a tag file cannot be decoded in the declared Tag-File-Character-Encoding")
rule("BAG-E009", "RFC 8493 §2.1.3", "a manifest line is not 'checksum whitespace path'")
rule("BAG-E010", "RFC 8493 §2.1.3", "a manifest lists the same path twice with different checksums")
rule("BAG-E011", "RFC 8493 §2.1.3", "a BagIt 1.0 manifest lists the same path twice")
rule("BAG-E014", "RFC 8493 §2.2.2", "Payload-Oxum is not 'OctetCount.StreamCount'")
rule("BAG-E016", "RFC 8493 §2.2.2", "a bag-info.txt line is neither 'Label: value' nor a continuation line")
rule("BAG-E018", "RFC 8493 §2.2.3", "a fetch.txt line is not 'url length path'")
rule("BAG-E022", "RFC 8493 §2.1.3", "a checksum is not hexadecimal of its algorithm's length")
rule("BAG-E024", "RFC 8493 §2.1.3", "a payload manifest or fetch.txt lists a path outside data/")
rule("BAG-W001", "RFC 8493 §2.1.3", "a manifest line uses the md5sum binary marker '*' before the path")
rule("BAG-W002", "RFC 8493 §2.1.3", "a manifest path starts with './'")
rule("BAG-W007", "BagIt 0.97 §2.1.3", "a manifest before BagIt 1.0 lists the same path twice with the same checksum")
rule("BAG-W009", "RFC 8493 §2.2.2", "a bag-info.txt element is not 'Label: value' with one separating space (accepted)")
rule("BAG-W010", "RFC 8493 §2.1.1", "a tag file starts with a byte-order mark (ignored)")
rule("BAG-W011", "RFC 8493 §2.2.2", "a blank line in a tag file (ignored)")
rule("BAG-W013", "RFC 8493 §2.2.2", "a reserved bag-info.txt element that should not repeat is repeated")
rule("BAG-W014", "RFC 8493 §2.2.2", "Bagging-Date is not YYYY-MM-DD")
rule("SAFE-E001", "RFC 8493 §5 (security)", "a path in a manifest or fetch.txt could reach outside the bag (.., absolute, ~, drive letter, backslash, NUL, empty segment)")
rule("SAFE-E005", "archiver safety", "a tag-file line is longer than the cap; refused unread")


# Python codecs that are transformations, not IANA character sets: a tag file never uses them.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "rot-13", "unicode_escape", "raw_unicode_escape", "rot13"}


@dataclass
class Declaration:
    version: tuple[int, int] | None = None
    encoding: str | None = None


@dataclass
class BagInfo:
    elements: list[tuple[str, str]] = field(default_factory=list)  # in the order written

    def values(self, label: str) -> list[str]:
        # Labels lower-cased once into an index (a bag is asked ~15 labels: each was a scan of all
        # elements); rebuilt whenever ``elements`` is replaced or grows.
        index = self.__dict__.get("_index")
        if index is None or index[0] is not self.elements or index[1] != len(self.elements):
            by_label: dict[str, list[str]] = {}
            for k, v in self.elements:
                by_label.setdefault(k.lower(), []).append(v)
            index = self.__dict__["_index"] = (self.elements, len(self.elements), by_label)
        return list(index[2].get(label.lower(), ()))

    def first(self, label: str) -> str | None:
        vs = self.values(label)
        return vs[0] if vs else None


class Line(NamedTuple):  # a tuple: a million of them are cheap to make
    path: str  # decoded, bag-relative
    digest: str  # lower-case hex
    number: int


class FetchItem(NamedTuple):
    url: str
    length: int | None
    path: str
    number: int


_LINE_END = re.compile(r"\r\n|\r|\n")


def split_lines(text: str, name: str, findings: list[Finding]) -> list[tuple[int, str]]:
    """(line number, text) for each line; lines end in LF, CR or CRLF (RFC 8493 §2.1)."""
    parts = _LINE_END.split(text)
    if parts and parts[-1] == "":
        parts.pop()
    out = []
    for i, line in enumerate(parts, 1):
        if len(line) > MAX_LINE:
            findings.append(Finding.of("SAFE-E005", name, f"line {i}: {len(line)} characters, more than {MAX_LINE}; refused"))
            continue
        out.append((i, line))
    return out


def parse_declaration(raw: bytes, findings: list[Finding]) -> Declaration:
    """bagit.txt: exactly two lines, in this order, UTF-8 without BOM (RFC 8493 §2.1.1)."""
    name = "bagit.txt"
    decl = Declaration()
    if raw.startswith(codecs.BOM_UTF8):
        findings.append(Finding.of("BAG-E003", name, "starts with a UTF-8 byte-order mark"))
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        findings.append(Finding.of("BAG-E002", name, f"not UTF-8 (byte {e.start})"))
        return decl
    lines = split_lines(text, name, findings)
    texts = [t for _, t in lines]
    m1 = re.fullmatch(r"BagIt-Version: ([0-9]+)\.([0-9]+)", texts[0]) if texts else None
    m2 = re.fullmatch(r"Tag-File-Character-Encoding: (\S+)", texts[1]) if len(texts) > 1 else None
    if not m1:
        got = one_line(texts[0], 80) if texts else "(empty file)"
        findings.append(Finding.of("BAG-E002", name, f"line 1 must be 'BagIt-Version: M.N', found {got!r}"))
        # Read on leniently (the bag is already invalid) so the rest of the bag is still reported.
        m1 = re.fullmatch(r"\s*BagIt-Version\s*:\s*([0-9]+)\.([0-9]+)\s*", texts[0]) if texts else None
    if m1:
        decl.version = (int(m1.group(1)), int(m1.group(2)))
    if not m2:
        got = one_line(texts[1], 80) if len(texts) > 1 else "(missing)"
        findings.append(Finding.of("BAG-E002", name, f"line 2 must be 'Tag-File-Character-Encoding: ENC', found {got!r}"))
        m2 = re.fullmatch(r"\s*Tag-File-Character-Encoding\s*:\s*(\S+)\s*", texts[1]) if len(texts) > 1 else None
    if m2:
        decl.encoding = m2.group(1)
    if len(texts) > 2:
        findings.append(Finding.of("BAG-E002", name, f"{len(texts)} lines; exactly 2 are allowed"))
    if decl.version is not None and decl.version not in SUPPORTED_VERSIONS:
        findings.append(Finding.of("BAG-E004", name, f"BagIt-Version {decl.version[0]}.{decl.version[1]} is not 0.93-0.97 or 1.0"))
    if decl.encoding is not None:
        try:
            info = codecs.lookup(decl.encoding)
            if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
                raise LookupError
        except LookupError:
            findings.append(Finding.of("BAG-E005", name, f"unknown encoding {one_line(decl.encoding, 80)!r}"))
            decl.encoding = None
    return decl


def decode(raw: bytes, encoding: str, name: str, findings: list[Finding]) -> str | None:
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as e:
        where = f" (byte {e.start})" if isinstance(e, UnicodeDecodeError) else ""
        findings.append(Finding.of("BAG-E006", name, f"not valid {one_line(encoding, 40)}{where}"))
        return None
    if text.startswith("\ufeff"):
        findings.append(Finding.of("BAG-W010", name, "starts with a byte-order mark"))
        text = text[1:]
    return text


def parse_bag_info(text: str, name: str, version: tuple[int, int], findings: list[Finding]) -> BagInfo:
    """Labels and values in the order written; continuation lines folded (RFC 8493 §2.2.2)."""
    info = BagInfo()
    strict = version >= (1, 0)
    parts: list[list[str]] = []  # each element's value pieces, joined once at the end (linear, not quadratic)
    for n, line in split_lines(text, name, findings):
        if not line.strip():
            findings.append(Finding.of("BAG-W011", name, f"line {n} is blank"))
            continue
        if line[0] in " \t":
            if not info.elements:
                findings.append(Finding.of("BAG-E016", name, f"line {n} continues no element"))
                continue
            parts[-1].append(line.strip())
            continue
        label, colon, value = line.partition(":")
        if not colon or not label.strip():
            findings.append(Finding.of("BAG-E016", name, f"line {n}: no 'Label:' in {one_line(line, 60)!r}"))
            continue
        if strict and (label != label.strip() or not value[:1] in (" ", "\t") or value[1:2] in (" ", "\t")):
            findings.append(Finding.of("BAG-W009", name, f"line {n}: {one_line(label.strip(), 60)!r} is not 'Label: value'"))
        info.elements.append((label.strip(), ""))
        parts.append([value.strip()] if value.strip() else [])
    info.elements = [(label, " ".join(p for p in ps if p)) for (label, _), ps in zip(info.elements, parts)]
    for label in NOT_REPEATABLE:
        if len(info.values(label)) > 1:
            findings.append(Finding.of("BAG-W013", name, f"{label} appears {len(info.values(label))} times"))
    for d in info.values("Bagging-Date"):
        if not _YYYY_MM_DD.fullmatch(d):
            findings.append(Finding.of("BAG-W014", name, f"Bagging-Date {one_line(d, 40)!r} is not YYYY-MM-DD"))
    return info


_YYYY_MM_DD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OXUM = re.compile(r"([0-9]{1,20})\.([0-9]{1,20})")


def parse_oxum(value: str, name: str, findings: list[Finding]) -> tuple[int, int] | None:
    m = _OXUM.fullmatch(value)
    if not m:
        findings.append(Finding.of("BAG-E014", name, f"Payload-Oxum {one_line(value, 40)!r} is not OctetCount.StreamCount"))
        return None
    return int(m.group(1)), int(m.group(2))


_PERCENT = re.compile(r"%(0[aAdD]|25)")


def decode_path(path: str, version: tuple[int, int]) -> str:
    """RFC 8493 §2.1.3: only %0A, %0D and %25 are encoded (in 1.0; older drafts encoded nothing)."""
    if version < (1, 0) or "%" not in path:
        return path
    return _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), path)


_DRIVE = re.compile(r"^[A-Za-z]:")


# Anything that might be unsafe; the exact reason is worked out only for a match (fast for a million lines).
_SUSPECT = re.compile(r"[\\\x00]|^[/~]|^[A-Za-z]:|(^|/)\.{1,2}(/|$)|//|/$|^$")


def unsafe(path: str) -> str | None:
    """Why ``path`` is not a plain bag-relative path, or None when it is one."""
    if not _SUSPECT.search(path):
        return None
    if "\x00" in path:
        return "contains a NUL character"
    if "\\" in path:
        return "contains a backslash (a Windows separator)"
    if path.startswith("/"):
        return "is absolute"
    if path.startswith("~"):
        return "starts with ~ (a home folder)"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    parts = path.split("/")
    if ".." in parts:
        return "has a '..' segment"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' segment"
    return None


def bag_path(raw: str, version: tuple[int, int], name: str, n: int, findings: list[Finding]) -> str | None:
    """Decode and check one path from a manifest or fetch.txt; None when it is refused."""
    path = decode_path(raw, version)
    if path.startswith("./"):
        findings.append(Finding.of("BAG-W002", name, f"line {n}: path {one_line(path, 120)!r} starts with './'"))
        path = path[2:]
    why = unsafe(path)
    if why:
        findings.append(Finding.of("SAFE-E001", name, f"line {n}: path {one_line(path, 120)!r} {why}; never opened"))
        return None
    return path


_MANIFEST_LINE = re.compile(r"([^ \t]+)[ \t]+(.*)", re.DOTALL)
_HEX = re.compile(r"[0-9a-fA-F]+")


def parse_manifest(text: str, name: str, algorithm: str, version: tuple[int, int], *, payload: bool, findings: list[Finding]) -> list[Line]:
    """Lines of a manifest or tag manifest, decoded and checked (RFC 8493 §2.1.3, §2.2.1)."""
    plain = _plain_manifest(text, algorithm, payload)
    if plain is not None:
        return plain
    return _parse_manifest(text, name, algorithm, version, payload=payload, findings=findings)


_PLAIN_LINES: dict[int, re.Pattern] = {}


def _plain_manifest(text: str, algorithm: str, payload: bool) -> list[Line] | None:
    """The lines of a manifest with nothing to report (what every manifest we write is), else None.

    Every line LF-ended, a lower-case digest of the algorithm's length, a path that needs no
    decoding and is safe, no path twice: then _parse_manifest would find nothing and return
    exactly these lines.  It skips that function's per-line machinery (validate: ~40 % of
    parse_manifest's time on our bags); anything else goes to it.  tests/test_tagfiles.py
    compares the two on generated manifests."""
    want = DIGEST_LENGTH.get(algorithm)
    if want is None or "\r" in text or not text.endswith("\n"):
        return None
    line_re = _PLAIN_LINES.get(want)
    if line_re is None:
        line_re = _PLAIN_LINES[want] = re.compile(rf"([0-9a-f]{{{want}}})[ \t]+([^ \t*%][^%]*)")
    out: list[Line] = []
    seen: set[str] = set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        m = line_re.fullmatch(line)
        if m is None or len(line) > MAX_LINE:
            return None
        digest, path = m.groups()
        if path.startswith("./") or _SUSPECT.search(path) or (payload and not path.startswith("data/")) or path in seen:
            return None
        seen.add(path)
        out.append(Line(path, digest, n))
    return out


def _parse_manifest(text: str, name: str, algorithm: str, version: tuple[int, int], *, payload: bool, findings: list[Finding]) -> list[Line]:
    out: list[Line] = []
    seen: dict[str, Line] = {}
    want_len = DIGEST_LENGTH.get(algorithm)
    for n, line in split_lines(text, name, findings):
        if not line.strip():
            findings.append(Finding.of("BAG-W011", name, f"line {n} is blank"))
            continue
        m = _MANIFEST_LINE.fullmatch(line)
        if not m or not m.group(2):
            findings.append(Finding.of("BAG-E009", name, f"line {n}: {one_line(line, 80)!r}"))
            continue
        digest, raw = m.group(1), m.group(2)
        if raw.startswith("*"):
            findings.append(Finding.of("BAG-W001", name, f"line {n}: '*' before the path (md5sum style)"))
            raw = raw[1:]
        if not _HEX.fullmatch(digest) or (want_len and len(digest) != want_len):
            findings.append(Finding.of("BAG-E022", name, f"line {n}: {one_line(digest, 40)!r} is not a {algorithm} checksum"))
            continue
        if "%" in raw or raw.startswith("./") or _SUSPECT.search(raw):
            path = bag_path(raw, version, name, n, findings)
            if path is None:
                continue
        else:
            path = raw  # the common case: nothing to decode, nothing suspect
        if payload and not path.startswith("data/"):
            findings.append(Finding.of("BAG-E024", name, f"line {n}: payload path {one_line(path, 120)!r} is not under data/"))
            continue
        digest = digest.lower()
        prev = seen.get(path)
        if prev is not None:
            if prev.digest != digest:
                findings.append(Finding.of("BAG-E010", name, f"lines {prev.number} and {n} give {one_line(path, 120)!r} different checksums"))
            elif version >= (1, 0):
                findings.append(Finding.of("BAG-E011", name, f"lines {prev.number} and {n} both list {one_line(path, 120)!r}"))
            else:
                findings.append(Finding.of("BAG-W007", name, f"lines {prev.number} and {n} both list {one_line(path, 120)!r}"))
            continue
        entry = Line(path, digest, n)
        seen[path] = entry
        out.append(entry)
    return out


_FETCH_LINE = re.compile(r"([^ \t]+)[ \t]+([0-9]+|-)[ \t]+(.+)", re.DOTALL)


def parse_fetch(text: str, version: tuple[int, int], findings: list[Finding]) -> list[FetchItem]:
    """fetch.txt lines (RFC 8493 §2.2.3).  Parsed only: nothing is ever fetched."""
    name = "fetch.txt"
    out = []
    for n, line in split_lines(text, name, findings):
        if not line.strip():
            findings.append(Finding.of("BAG-W011", name, f"line {n} is blank"))
            continue
        m = _FETCH_LINE.fullmatch(line)
        if not m or not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", m.group(1)):
            findings.append(Finding.of("BAG-E018", name, f"line {n}: {one_line(line, 80)!r}"))
            continue
        path = bag_path(m.group(3), version, name, n, findings)
        if path is None:
            continue
        if not path.startswith("data/"):
            findings.append(Finding.of("BAG-E024", name, f"line {n}: path {one_line(path, 120)!r} is not under data/"))
            continue
        length = None if m.group(2) == "-" else int(m.group(2))
        out.append(FetchItem(m.group(1), length, path, n))
    return out


def is_os_junk(path: str) -> bool:
    return bool(OS_JUNK.search(path))


def name_key(path: str) -> str:
    """Equal for names that collide on a case-insensitive or normalizing file system."""
    return path.lower() if path.isascii() else unicodedata.normalize("NFC", path).casefold()


def nfc(path: str) -> str:
    return path if path.isascii() else unicodedata.normalize("NFC", path)


def read_from(tree, path: str, limit: int, out: list, *, unreadable: str) -> bytes | None:
    """A file of a bag, at most ``limit`` bytes; None (with a finding in ``out``) when it cannot be read.

    ``unreadable`` is the finding code for an I/O failure: it differs between a tag
    file (BAG-E025) and our METS (BAG-E023).
    """
    from .tree import TooLarge  # lazily: tree imports hashing, which tag parsing never needs

    try:
        return tree.read(path, limit)
    except TooLarge:
        out.append(Finding.of("SAFE-E004", path, f"larger than {limit} bytes; not read"))
    except OSError as e:
        out.append(Finding.of(unreadable, path, f"cannot be read: {one_line(e.strerror or str(e), 120)}"))
    return None
