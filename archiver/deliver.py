"""Handing bags to a library: ``archiver export`` and ``archiver receive``.

Export validates every bag (an invalid one stops the whole delivery: a
library must never receive a partial set silently), serializes each
reproducibly (``archive.serialize``), and writes a delivery manifest
(``delivery.xml``, ``delivery.csv``) and ``sha256sums.txt``/``sha512sums.txt``
that ``sha256sum -c`` accepts.  The delivery folder appears atomically.

Receive checks each archive against the delivery manifest (and the sums files), validates every
bag inside by streaming it (``archive.ArchiveTree``; nothing is unpacked to
be looked at), and only with ``into`` unpacks, all or nothing, through a
staging folder inside the target.  Either way it writes a receipt: JSON and
PREMIS 3 XML with the fixity, validation, transfer and ingestion events.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field

from . import __version__, archive, xmlsafe, xmltext
from .files import fsync_dir, read_regular
from .findings import Finding, Severity, has_errors, one_line, rule
from .hashing import hash_file
from .outcome import EXIT_FAILED, EXIT_OK, UsageError
from .tree import DirTree

MANIFEST_XML = "delivery.xml"
MANIFEST_CSV = "delivery.csv"
SUMS = {"sha256": "sha256sums.txt", "sha512": "sha512sums.txt"}
DELIVERY_NS = "https://archiver.invalid/schemas/delivery/1.0"
PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ALGORITHMS = ("sha256", "sha512")
PREMIS_ALG = {"sha256": "SHA-256", "sha512": "SHA-512"}
# Names a UUID v5 space for our event identifiers: same delivery, same identifiers.
_ID_SPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://archiver.invalid/premis/events")
MAX_MANIFEST = 16 << 20
MAX_BAG_INFO = 1 << 20

rule("ARC-E010", "archiver delivery", "the delivery folder already exists and is not empty; a delivery is never overwritten")
rule("ARC-E011", "archiver delivery", "a bag is invalid, so the delivery was not written")
rule("ARC-E012", "archiver delivery", "two bags to deliver have the same name")
rule("ARC-E013", "archiver delivery", "the delivery could not be written")
rule("ARC-E020", "archiver delivery manifest", "the delivery manifest cannot be read")
rule("ARC-E021", "archiver delivery manifest", "a package listed in the delivery manifest is missing")
rule("ARC-E022", "archiver delivery manifest", "a serialized bag's size or checksum differs from the delivery manifest")
rule("ARC-E023", "archiver delivery manifest", "an archive in the delivery is not listed in the delivery manifest")
rule("ARC-E024", "archiver delivery manifest", "a package name in the delivery manifest is not a plain file name")
rule("ARC-E025", "hostile input", "a delivery entry is not a regular file (symlink, FIFO, device, folder)")
rule("ARC-E026", "RFC 8493 §4", "the file is not a tar, tar.gz or zip archive")
rule("ARC-E027", "archiver receive", "a bag of that name is already in the target; nothing was unpacked")
rule("ARC-E028", "archiver receive", "unpacking failed; the target was left as it was")
rule("ARC-E029", "archiver receive", "two archives hold bags of the same name")
rule("ARC-W001", "archiver receive", "a file in the delivery folder is neither an archive nor part of the delivery manifest")
rule("ARC-W002", "archiver receive", "the archive's content does not match its file-name suffix")
rule("ARC-I001", "archiver receive", "no delivery manifest: the archives' own checksums were not checked against one")


# --- shared helpers -----------------------------------------------------------------


def _epoch() -> int | None:
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw.strip())


def _now_iso() -> str:
    t = _epoch()
    dt = _dt.datetime.fromtimestamp(t, _dt.timezone.utc) if t is not None else _dt.datetime.now(_dt.timezone.utc)
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _bag_info(tree) -> list[tuple[str, str]]:
    """bag-info.txt elements of a bag that already passed validation (so it parses)."""
    from . import tagfiles

    scratch: list[Finding] = []
    decl = tagfiles.parse_declaration(tree.read("bagit.txt", 4096), scratch)
    try:
        raw = tree.read("bag-info.txt", MAX_BAG_INFO)
    except OSError:
        return []
    text = tagfiles.decode(raw, decl.encoding or "utf-8", "bag-info.txt", scratch)
    if text is None:
        return []
    return tagfiles.parse_bag_info(text, "bag-info.txt", decl.version or (1, 0), scratch).elements


def _first(info, label: str) -> str:
    for k, v in info:
        if k.lower() == label.lower():
            return v
    return "unknown"


def _bag_mtime(info) -> int:
    """Archive member times: SOURCE_DATE_EPOCH, else the bag's own Bagging-Date, else the zip epoch."""
    t = _epoch()
    if t is not None:
        return t
    d = _first(info, "Bagging-Date")
    try:
        return int(_dt.datetime.strptime(d, "%Y-%m-%d").replace(tzinfo=_dt.timezone.utc).timestamp())
    except ValueError:
        return archive.ZIP_EPOCH


def _schemas(given: str | None) -> str | None:
    """The official-schema folder: as given, else ARCHIVER_XSD_DIR (as ``validate --schemas`` reads it)."""
    folder = given or os.environ.get("ARCHIVER_XSD_DIR")
    return folder if folder and os.path.isdir(folder) else None


def _one_line_out(text: str) -> str:
    """An output line made safe whole (every name and message in it escaped), long enough for deep paths."""
    return one_line(text, 16_000)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _atomic_write(path: str, data) -> None:
    """``data`` (bytes, or a function writing to a binary file) in ``path``, whole or not at all."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _clear_stale(folder: str, prefix: str) -> None:
    """Remove staging folders left by a killed run (``PREFIX<pid>-...``), never a live process's."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # alive (or not ours to signal): leave it
        except ProcessLookupError:
            pass
        except OSError:
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)


_fsync_dir = fsync_dir  # a module name, so tests can inject failures here


# --- export ---------------------------------------------------------------------------------


@dataclass
class Package:
    file: str  # archive file name in the delivery
    bag: str
    identifier: str
    title: str
    size: int
    oxum: str
    media_type: str
    digests: dict[str, str]

    def to_json(self) -> dict:
        return {"file": self.file, "bag": self.bag, "identifier": self.identifier, "title": self.title,
                "size": self.size, "payload_oxum": self.oxum, "media_type": self.media_type, **self.digests}


@dataclass
class ExportOutcome:
    to: str
    format: str
    packages: list[Package] = field(default_factory=list)
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (bag or file, finding)
    written: bool = False

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.written and not any(f.is_error for _, f in self.findings) else EXIT_FAILED

    def to_json(self) -> dict:
        return {
            "delivery": self.to,
            "format": self.format,
            "written": self.written,
            "packages": [p.to_json() for p in self.packages],
            "findings": [dict(f.to_json(), bag=b) for b, f in self.findings],
        }

    def lines(self):
        # Bag and file names come from strangers' folders and archives: one line each, whatever they hold.
        for stream, text in self._lines():
            yield stream, _one_line_out(text)

    def _lines(self):
        for where, f in self.findings:
            shown = Finding(f.code, f"{where.rstrip('/')}/{f.path}" if f.path and where else (where or f.path), f.message, f.field, f.severity)
            yield ("out" if f.severity is Severity.INFO else "err"), shown.line()
        for p in self.packages:
            yield "out", f"exported {p.file}  {p.size} bytes  sha256 {p.digests['sha256']}"
        if self.written:
            yield "out", f"delivery {self.to}: {_plural(len(self.packages), 'package')} ({MANIFEST_XML}, {MANIFEST_CSV}, {SUMS['sha256']})"
        else:
            yield "out", f"delivery {self.to}: NOT written"


def export(bags=("bags",), *, to: str, format: str = "tar", profile: str | None = None, schemas: str | None = None,
           jobs: int | None = None) -> ExportOutcome:
    """Validate, serialize and describe bags as a delivery folder ``to``; all or nothing.

    Bags are validated, then serialized and hashed, in ``jobs`` processes (default: the
    usable CPUs); the delivery is the same whatever ``jobs`` is."""
    from . import validate as validator
    from .workers import map_in_order

    if format not in archive.FORMATS:
        raise UsageError(f"--format {format}: not one of {', '.join(archive.FORMATS)}")
    prof = None
    if profile is not None:
        from . import profile as profiles

        prof = profiles.load(profile)  # ProfileError is a UsageError: exit 2
    found, notes = validator.find_bags(list(bags) or ["bags"])
    paths = [b[0] if isinstance(b, tuple) else b for b in found]  # (path, found-in-a-folder) or a path
    out = ExportOutcome(to=to, format=format)
    if os.path.lexists(to) and not (os.path.isdir(to) and not os.path.islink(to) and not os.listdir(to)):
        out.findings.append(("", Finding.of("ARC-E010", to, "already exists and is not an empty folder; choose a new --to")))
        return out
    if not paths:
        raise UsageError("no bags to export" + (f" ({'; '.join(notes)})" if notes else ""))

    names: dict[str, str] = {}
    work = [(p, prof, _schemas(schemas), archive.MEDIA_TYPES[format]) for p in paths]
    for p, findings in zip(paths, map_in_order(_validate_for_export_one, work, jobs=jobs, label="validate")):
        name = os.path.basename(os.path.normpath(p))
        if name in names:
            out.findings.append((p, Finding.of("ARC-E012", "", f"same bag name as {names[name]}")))
        names[name] = p
        out.findings.extend((p, f) for f in findings if f.severity is not Severity.INFO)
        if has_errors(findings):
            out.findings.append((p, Finding.of("ARC-E011", "", "invalid bag: not exported (fix it, or leave it out)")))
    if any(f.is_error for _, f in out.findings):
        return out

    parent = os.path.dirname(os.path.abspath(to))
    os.makedirs(parent, exist_ok=True)
    prefix = f".{os.path.basename(os.path.abspath(to))}.staging-"
    _clear_stale(parent, prefix)
    staging = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)
    try:
        work = [(p, staging, format) for p in sorted(paths, key=lambda x: os.path.basename(os.path.normpath(x)))]
        out.packages.extend(map_in_order(_serialize_one, work, jobs=jobs, label="export"))
        _atomic_write(os.path.join(staging, MANIFEST_XML), lambda f: _write_manifest_xml(out.packages, f))
        _atomic_write(os.path.join(staging, MANIFEST_CSV), lambda f: _write_manifest_csv(out.packages, f))
        for alg, fname in SUMS.items():
            _atomic_write(os.path.join(staging, fname), lambda f, alg=alg: _write_sums(out.packages, alg, f))
        os.chmod(staging, 0o755)
        _fsync_dir(staging)
        if os.path.isdir(to) and not os.path.islink(to):
            os.rmdir(to)  # empty (checked above); rename cannot replace it portably
        os.rename(staging, to)
        _fsync_dir(parent)
        out.written = True
    except OSError as e:
        out.packages.clear()
        out.findings.append(("", Finding.of("ARC-E013", to, one_line(f"{e.strerror or e}" + (f": {e.filename}" if getattr(e, "filename", None) else ""), 200))))
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return out


def _serialize_one(args) -> Package:
    """One bag written into the staging folder as an archive, and described (runs in a worker)."""
    path, staging, format = args
    name = os.path.basename(os.path.normpath(path))
    with DirTree(path) as tree:
        info = _bag_info(tree)
    file = name + archive.SUFFIXES[format]
    dest = os.path.join(staging, file)
    archive.serialize(path, dest, format, _bag_mtime(info))
    digests, size = hash_file(dest, ALGORITHMS)
    return Package(file, name, _first(info, "External-Identifier"), _first(info, "External-Description"),
                   size, _first(info, "Payload-Oxum"), archive.MEDIA_TYPES[format], digests)


def _validate_for_export_one(args) -> list[Finding]:
    return _validate_for_export(*args)


def _validate_for_export(path: str, prof, schemas, media_type: str) -> list[Finding]:
    """Full validation of a bag folder, judged as the serialization it is about to become."""
    from . import validate as validator

    if os.path.islink(path) or not os.path.isdir(path):
        return validator.validate_path(path, fast=False, schemas=schemas, profile=prof)
    try:
        with DirTree(path) as tree:
            return list(validator.validate_tree(tree, fast=False, schemas=schemas, profile=prof, serialization=media_type))
    except Exception as e:  # noqa: BLE001 - one broken bag is a finding, never a traceback
        return [Finding.of("SAFE-E006", "", one_line(f"{type(e).__name__}: {e}", 200))]


def _write_manifest_xml(packages: list[Package], f) -> None:
    """delivery.xml, one package at a time: lxml's pretty print of the whole tree, byte for byte
    (xmltext.py), without holding that tree (~4 KB per package: 40 MB for 10,000 bags)."""
    head = xmltext.Node("delivery", {"xmlns": DELIVERY_NS, "created": _now_iso(), "software": f"archiver {__version__}"}, None)
    f.write(b"<?xml version='1.0' encoding='UTF-8'?>\n")
    if not packages:
        f.write(xmltext.start_tag(head)[:-1].encode("utf-8") + b"/>\n")
        return
    f.write(xmltext.start_tag(head).encode("utf-8") + b"\n")
    for p in packages:
        el = xmltext.Node("package", {"file": p.file, "bag": p.bag, "size": str(p.size), "mediaType": p.media_type}, None)
        for tag, text in (("identifier", p.identifier), ("title", _xml_text(p.title)), ("payloadOxum", p.oxum)):
            el.children.append(xmltext.Node(tag, {}, text))
        for alg in ALGORITHMS:
            el.children.append(xmltext.Node("checksum", {"algorithm": alg}, p.digests[alg]))
        part: list[str] = []
        xmltext.render_child(el, "  ", part)
        f.write("".join(part).encode("utf-8"))
    f.write(b"</delivery>\n")


# What XML 1.0 cannot hold (its Char production's complement).  A regex, not a per-character
# generator: the receipt of 300 bench bags spent 0.3 of 6 s in _xml_text.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(s: str) -> str:
    """XML 1.0 cannot hold most control characters; show them escaped rather than fail."""
    return _NOT_XML_CHAR.sub(lambda m: "\\x%02x" % ord(m.group()), s)


def _csv_cell(s: str) -> str:
    # A title from the web opened in a spreadsheet must not run as a formula.
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def _write_manifest_csv(packages: list[Package], f) -> None:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="", write_through=True)
    w = csv.writer(text, lineterminator="\r\n")
    w.writerow(["file", "bag", "identifier", "title", "size", "payload_oxum", "media_type", "sha256", "sha512"])
    for p in packages:
        w.writerow([p.file, p.bag, _csv_cell(p.identifier), _csv_cell(p.title), p.size, p.oxum, p.media_type,
                    p.digests["sha256"], p.digests["sha512"]])
    text.detach()  # f stays open: _atomic_write flushes and closes it


def _write_sums(packages: list[Package], alg: str, f) -> None:
    for p in packages:
        f.write(f"{p.digests[alg]}  {p.file}\n".encode("utf-8"))


def read_manifest(data: bytes) -> list[dict]:
    """Packages listed in a delivery.xml: [{file, bag, size, sha256, sha512, identifier, title}]."""
    out = []
    # One package element at a time: the whole tree of a 10,000-package manifest was ~55 MB.
    for el in xmlsafe.children(data, f"{{{DELIVERY_NS}}}delivery", f"{{{DELIVERY_NS}}}package", "a delivery manifest"):
        item = {"file": el.get("file") or "", "bag": el.get("bag"), "size": el.get("size")}
        for c in el.findall(f"{{{DELIVERY_NS}}}checksum"):
            item[(c.get("algorithm") or "").lower()] = (c.text or "").strip().lower()
        for tag in ("identifier", "title"):
            t = el.find(f"{{{DELIVERY_NS}}}{tag}")
            item[tag] = t.text if t is not None else None
        out.append(item)
    return out


# --- receive ---------------------------------------------------------------------------------


@dataclass
class Arrival:
    """One archive of a delivery and what we found about it."""

    file: str  # name in the delivery (or the archive path for a lone archive)
    path: str
    bag: str | None = None
    format: str | None = None
    size: int | None = None
    digests: dict[str, str] = field(default_factory=dict)
    manifest_checked: bool = False
    fixity_ok: bool | None = None  # against the delivery manifest; None: not checked
    findings: list[Finding] = field(default_factory=list)
    unpacked_to: str | None = None

    @property
    def valid(self) -> bool:
        return not has_errors(self.findings)

    def to_json(self) -> dict:
        return {"file": self.file, "bag": self.bag, "format": self.format, "size": self.size, "digests": self.digests,
                "manifest_checked": self.manifest_checked, "fixity_ok": self.fixity_ok, "valid": self.valid,
                "unpacked_to": self.unpacked_to, "findings": [f.to_json() for f in self.findings]}


@dataclass
class ReceiveOutcome:
    delivery: str
    into: str | None
    manifest: str | None
    arrivals: list[Arrival] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the delivery as a whole
    receipt: dict[str, str] = field(default_factory=dict)  # {"xml": path, "json": path}
    received_at: str = ""

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings) and all(a.valid for a in self.arrivals)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FAILED

    def to_json(self, archives: bool = True) -> dict:
        return {
            "delivery": self.delivery,
            "manifest": self.manifest,
            "manifest_checked": self.manifest is not None,
            "into": self.into,
            "received_at": self.received_at,
            "ok": self.ok,
            **({"archives": [a.to_json() for a in self.arrivals]} if archives else {}),
            "findings": [f.to_json() for f in self.findings],
            "receipt": dict(self.receipt),
            "summary": {"archives": len(self.arrivals), "valid": sum(a.valid for a in self.arrivals),
                        "unpacked": sum(a.unpacked_to is not None for a in self.arrivals)},
        }

    def lines(self):
        # Archive, member and bag names come from strangers: a newline in one must not forge a line.
        for stream, text in self._lines():
            yield stream, _one_line_out(text)

    def _lines(self):
        for f in self.findings:
            yield ("out" if f.severity is Severity.INFO else "err"), f.line()
        for a in self.arrivals:
            for f in a.findings:
                where = f"{a.file}:{f.path}" if f.path else a.file
                shown = Finding(f.code, where, f.message, f.field, f.severity)
                yield ("out" if f.severity is Severity.INFO else "err"), shown.line()
            fix = {True: "fixity ok", False: "FIXITY MISMATCH", None: "no manifest checked"}[a.fixity_ok]
            state = "valid" if a.valid else "INVALID"
            to = f", unpacked to {a.unpacked_to}" if a.unpacked_to else ""
            yield "out", f"{state} {a.file} ({fix}{to})"
        n, v = len(self.arrivals), sum(a.valid for a in self.arrivals)
        yield "out", (f"{_plural(n, 'archive')}: {v} valid, {n - v} invalid"
                      + ("" if self.manifest else "; no delivery manifest checked")
                      + (f"; receipt {self.receipt['xml']}" if self.receipt.get("xml")
                         else "; no receipt file written (--receipt-dir DIR keeps one)"))


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\x00" not in name \
        and not name.startswith(".") and all(ord(c) >= 32 for c in name)


def _regular(path: str) -> str | None:
    """Why ``path`` is not a regular file we may read, or None."""
    import stat

    try:
        st = os.lstat(path)
    except OSError as e:
        return e.strerror or "cannot be read"
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link (never followed)"
    if stat.S_ISDIR(st.st_mode):
        return "a folder"
    if not stat.S_ISREG(st.st_mode):
        return "a FIFO, device or socket (never opened)"
    return None


def receive(delivery: str, *, into: str | None = None, profile: str | None = None,
            receipt_dir: str | None = None, schemas: str | None = None,
            limits: archive.Limits = archive.DEFAULT_LIMITS, jobs: int | None = None) -> ReceiveOutcome:
    """Check a delivery (folder or one archive), validate each bag by streaming, unpack only into ``into``.

    Archives are examined in ``jobs`` processes (default: the usable CPUs)."""
    if not os.path.lexists(delivery):
        raise UsageError(f"{delivery}: no such file or folder")
    prof = None
    if profile is not None:
        from . import profile as profiles

        prof = profiles.load(profile)
    out = ReceiveOutcome(delivery=delivery, into=into, manifest=None, received_at=_now_iso())
    # The path the user typed is trusted (a symlinked mount point is fine); nothing inside it is followed.
    real = os.path.realpath(delivery) if os.path.islink(delivery) else delivery
    if os.path.isdir(real):
        _collect_folder(real, out)
    else:
        why = _regular(real)
        if why:
            out.findings.append(Finding.of("ARC-E025", delivery, why))
        else:
            out.arrivals.append(Arrival(file=os.path.basename(delivery), path=real))
            out.findings.append(Finding.of("ARC-I001", delivery, "a lone archive: no delivery manifest was checked"))

    todo = [i for i, a in enumerate(out.arrivals) if not any(f.code == "ARC-E025" for f in a.findings)]
    examined = _examine_all([out.arrivals[i] for i in todo], prof, limits, _schemas(schemas), jobs)
    for i, a in zip(todo, examined):
        out.arrivals[i] = a
    seen: dict[str, str] = {}
    for a in (out.arrivals[i] for i in todo):
        if a.bag:
            if a.bag in seen:
                a.findings.append(Finding.of("ARC-E029", "", f"holds bag {a.bag!r}, as {seen[a.bag]} does"))
            seen.setdefault(a.bag, a.file)

    if into is not None:
        if out.ok and out.arrivals:
            _unpack_all(out, into, limits)
        else:
            out.findings.append(Finding.of("ARC-E028", into, "nothing unpacked: the delivery has errors"
                                           if out.arrivals else "nothing unpacked: the delivery holds no archive"))
    if not out.arrivals and not has_errors(out.findings):
        out.findings.append(Finding.of("ARC-E021", delivery, "the delivery holds no archive"))
    unpacked = [a.unpacked_to for a in out.arrivals if a.unpacked_to]
    if unpacked:  # catalog what arrived; an index only, so a failure is a warning (CAT-W001)
        from .catalog import INGESTION, index_bags_after

        out.findings.extend(index_bags_after(unpacked, (INGESTION, "success", f"received from {os.path.basename(os.path.normpath(delivery))}")))
    _write_receipt(out, receipt_dir)
    return out


def _collect_folder(folder: str, out: ReceiveOutcome) -> None:
    names = sorted(os.listdir(folder))
    listed: list[dict] | None = None
    mpath = os.path.join(folder, MANIFEST_XML)
    if os.path.lexists(mpath):
        out.manifest = mpath
        why = _regular(mpath)
        try:
            if why:
                raise OSError(why)
            data = read_regular(mpath, MAX_MANIFEST)
            listed = read_manifest(data)
        except (OSError, xmlsafe.UnsafeXML, xmlsafe.BadXML) as e:
            out.findings.append(Finding.of("ARC-E020", MANIFEST_XML, one_line(str(e), 200)))
            listed = []
    else:
        out.findings.append(Finding.of("ARC-I001", folder, f"no {MANIFEST_XML}: archives are validated on their own"))

    by_file: dict[str, dict] = {}
    for item in listed or []:
        name = item["file"]
        if not _plain_name(name):
            out.findings.append(Finding.of("ARC-E024", MANIFEST_XML, f"package {one_line(name, 120)!r} is not a plain file name; ignored"))
            continue
        if name in by_file:
            out.findings.append(Finding.of("ARC-E024", MANIFEST_XML, f"package {one_line(name, 120)!r} is listed twice"))
            continue
        by_file[name] = item
    known = {MANIFEST_XML, MANIFEST_CSV, *SUMS.values()}
    for name in names:
        path = os.path.join(folder, name)
        if name in known:
            continue
        if name not in by_file and archive.split_name(name) is None:
            if not name.startswith("."):
                out.findings.append(Finding.of("ARC-W001", name, "not an archive and not in the delivery manifest; ignored"))
            continue
        a = Arrival(file=name, path=path)
        out.arrivals.append(a)
        why = _regular(path)
        if why:
            a.findings.append(Finding.of("ARC-E025", "", why))
            continue
        item = by_file.get(name)
        if listed is not None and item is None:
            a.findings.append(Finding.of("ARC-E023", "", f"not listed in {MANIFEST_XML}"))
        if item is not None:
            a.manifest_checked = True
            a.digests, a.size = hash_file(path, ALGORITHMS)
            bad = []
            if str(a.size) != str(item.get("size")):
                bad.append(f"size {a.size}, manifest says {one_line(str(item.get('size')), 40)}")
            for alg in ALGORITHMS:
                if item.get(alg) is not None and item[alg] != a.digests[alg]:
                    bad.append(f"{alg} is {a.digests[alg][:16]}…, the manifest says {one_line(item[alg][:16], 20)}…")
            if not any(item.get(alg) for alg in ALGORITHMS):
                bad.append("the manifest gives no sha256 or sha512")
            a.fixity_ok = not bad
            for b in bad:
                a.findings.append(Finding.of("ARC-E022", "", b))
    for name in sorted(set(by_file) - set(names)):
        out.findings.append(Finding.of("ARC-E021", name, f"listed in {MANIFEST_XML} but not in the delivery"))
    for alg, sums in SUMS.items():
        if os.path.lexists(os.path.join(folder, sums)):
            _check_sums(folder, alg, sums, out)


def _read_sums(path: str, alg: str) -> dict[str, str]:
    """{file: digest} from a ``sha256sum``-style file, strictly: ``hex  name`` lines, plain names only."""
    why = _regular(path)
    if why:
        raise OSError(why)
    data = read_regular(path, MAX_MANIFEST)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OSError("not UTF-8") from None
    width = {"sha256": 64, "sha512": 128}[alg]
    listed: dict[str, str] = {}
    if not text:
        return listed  # lists nothing (and so vouches for nothing)
    for no, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        digest, sep, name = line[:width], line[width:width + 2], line[width + 2:]
        if sep != "  " or len(digest) != width or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise OSError(f"line {no} is not '<{alg} hex>  <file name>'")
        if not _plain_name(name):
            raise OSError(f"line {no}: {one_line(name, 120)!r} is not a plain file name in the delivery")
        if name in listed:
            raise OSError(f"line {no}: {one_line(name, 120)!r} is listed twice")
        listed[name] = digest.lower()
    return listed


def _check_sums(folder: str, alg: str, sums: str, out: ReceiveOutcome) -> None:
    """sha256sums.txt / sha512sums.txt are what a library checks with ``sha256sum -c``: they must agree with
    the archives too, or a tampered copy (or a tampered archive with a fixed-up sums file) goes unnoticed."""
    try:
        listed = _read_sums(os.path.join(folder, sums), alg)
    except OSError as e:
        out.findings.append(Finding.of("ARC-E020", sums, one_line(f"{e.strerror or e}", 200)))
        return
    arrivals = {a.file: a for a in out.arrivals}
    for name, digest in sorted(listed.items()):
        a = arrivals.get(name)
        if a is None or any(f.code == "ARC-E025" for f in a.findings):
            out.findings.append(Finding.of("ARC-E021", sums, f"lists {one_line(name, 120)!r}, which is not an archive in the delivery"))
            continue
        if not a.digests:
            try:
                a.digests, a.size = hash_file(a.path, ALGORITHMS)
            except OSError as e:  # vanished or unreadable since it was listed
                a.findings.append(Finding.of("ARC-E025", "", one_line(f"cannot be read: {e.strerror or e}", 200)))
                continue
        if a.digests[alg] != digest:
            a.fixity_ok = False
            a.findings.append(Finding.of("ARC-E022", "", f"{alg} is {a.digests[alg][:16]}…, {sums} says {digest[:16]}…"))


def _examine_one(args) -> Arrival:
    a, prof, limits, schemas = args
    _examine(a, prof, limits, schemas)
    return a


def _examine_all(arrivals: list[Arrival], prof, limits: archive.Limits, schemas: str | None, jobs: int | None) -> list[Arrival]:
    """Each arrival examined, in order; many archives are read in a process pool (workers.py).

    A worker gets a copy of the arrival and sends it back examined (one archive per task:
    archives differ in size far more than texts do)."""
    from .workers import map_in_order

    work = [(a, prof, limits, schemas) for a in arrivals]
    # Most archives of a delivery come back with the same few findings (the same info and
    # warnings); one shared object for equal findings keeps the parent small (10,000
    # archives held ~2 KB each, ~0.8 KB of it findings).
    shared: dict[Finding, Finding] = {}
    out = []
    for a in map_in_order(_examine_one, work, jobs=jobs, label="receive"):
        a.findings = [shared.setdefault(f, f) for f in a.findings]
        out.append(a)
    return out


def _examine(a: Arrival, prof, limits: archive.Limits, schemas: str | None = None) -> None:
    """Validate the bag inside one archive by streaming it; never unpacks."""
    from . import validate as validator

    if _regular(a.path):
        if not a.findings:
            a.findings.append(Finding.of("ARC-E025", "", _regular(a.path)))
        return
    if not a.digests:
        a.digests, a.size = hash_file(a.path, ALGORITHMS)
    sniffed = archive.sniff(a.path)
    split = archive.split_name(a.file)
    if sniffed is None:
        a.findings.append(Finding.of("ARC-E026", "", "not a tar, tar.gz or zip archive"))
        return
    if split is None:
        a.findings.append(Finding.of("ARC-E026", "", "the file name does not end in .tar, .tar.gz, .tgz or .zip, so the bag's name is unknown"))
        return
    a.bag, named = split
    a.format = sniffed
    if named != sniffed:
        a.findings.append(Finding.of("ARC-W002", "", f"named .{named} but holds {sniffed}; read as {sniffed}"))
    tree = archive.ArchiveTree(a.path, fmt=sniffed, name=a.bag, limits=limits)
    try:
        tree.scan()
        found = list(validator.validate_tree(tree, fast=False, schemas=schemas, profile=prof,
                                             serialization=archive.MEDIA_TYPES[sniffed]))
    except archive.Refused as e:
        a.findings.append(Finding.of(e.code, e.member, e.message))
        return
    except OSError as e:  # a disk error, not the archive's fault, but the bag is not checked either
        a.findings.append(Finding.of("ARC-E001", "", one_line(f"cannot be read: {e.strerror or e}", 200)))
        return
    a.findings.extend(found)


def _unpack_all(out: ReceiveOutcome, into: str, limits: archive.Limits) -> None:
    """All or nothing: unpack every bag into a staging folder inside ``into``, check, then rename each in."""
    from . import validate as validator

    created = _missing_folders(into)
    try:
        os.makedirs(into, exist_ok=True)
    except OSError as e:
        _remove_created(created)
        out.findings.append(Finding.of("ARC-E028", into, one_line(e.strerror or str(e), 200)))
        return
    if os.path.islink(into) or not os.path.isdir(into):
        _remove_created(created)
        out.findings.append(Finding.of("ARC-E028", into, "the target is not a folder"))
        return
    for a in out.arrivals:
        if os.path.lexists(os.path.join(into, a.bag)):
            a.findings.append(Finding.of("ARC-E027", "", f"{os.path.join(into, a.bag)} already exists; nothing was unpacked"))
    if not out.ok:
        _remove_created(created)
        return
    _clear_stale(into, ".archiver-receive-")
    staging = tempfile.mkdtemp(prefix=f".archiver-receive-{os.getpid()}-", dir=into)
    moved: list[tuple[str, str]] = []
    try:
        staged = []
        for a in out.arrivals:
            bag_dir = archive.unpack(a.path, a.format, a.bag, staging, limits)
            again = [f for f in validator.validate_path(bag_dir, fast=False) if f.is_error]
            if again:  # the archive changed after it was checked, or unpacking lost something
                a.findings.extend(again)
                raise OSError(f"{a.file}: the unpacked bag is not valid")
            staged.append((a, bag_dir))
        for a, bag_dir in staged:
            final = os.path.join(into, a.bag)
            if os.path.lexists(final):
                raise OSError(f"{final} appeared while unpacking")
            os.rename(bag_dir, final)
            moved.append((final, bag_dir))
            a.unpacked_to = final
        _fsync_dir(into)
    except (OSError, archive.Refused) as e:
        for final, bag_dir in reversed(moved):  # put the target back as it was
            try:
                os.rename(final, bag_dir)
            except OSError:
                pass
        for a in out.arrivals:
            a.unpacked_to = None
        code = getattr(e, "code", None) or "ARC-E028"
        out.findings.append(Finding.of(code if code.startswith("ARC-") else "ARC-E028", into,
                                       one_line(f"unpacking failed, nothing kept: {getattr(e, 'message', None) or e}", 300)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not any(a.unpacked_to for a in out.arrivals):
            _remove_created(created)


def _missing_folders(path: str) -> list[str]:
    """``path`` and those of its ancestors that do not exist yet, deepest first: what makedirs will create,
    so that a failed receive can remove exactly those and leave the file system as it was."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def _remove_created(folders: list[str]) -> None:
    """Remove the folders we created, deepest first, each only if still empty (never anything else)."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            pass  # not empty (or gone): left alone; rmdir refuses its non-empty parents too


# --- the receipt ------------------------------------------------------------------------------


def _event_id(*parts: str) -> str:
    return str(uuid.uuid5(_ID_SPACE, "\x1f".join(parts)))


_RECEIPT_ROOT = (f'<premis:premis xmlns:premis="{PREMIS_NS}" xmlns:xsi="{XSI_NS}" version="3.0">\n', "</premis:premis>\n")


def receipt_premis(out: ReceiveOutcome) -> bytes:
    """The receipt as PREMIS 3: one file object per archive; fixity, validation, transfer, ingestion events."""
    buf = io.BytesIO()
    write_receipt_premis(out, buf)
    return buf.getvalue()


def write_receipt_premis(out: ReceiveOutcome, f) -> None:
    """``receipt_premis`` written to the binary file ``f`` one object or event at a time.

    A whole lxml tree of the receipt cost ~23 KB of memory per archive (1,000 archives:
    +23 MiB peak RSS, bench "receiving"); written part by part the receipt needs memory for
    one part.  The bytes are what lxml's pretty-printed tostring of the whole tree gives
    (xmltext.py; tests/test_deliver.py compares)."""
    f.write(b"<?xml version='1.0' encoding='UTF-8'?>\n" + _RECEIPT_ROOT[0].encode())  # lxml's declaration
    for node in _receipt_parts(out):
        part: list[str] = []
        xmltext.render_child(node, "  ", part)
        f.write("".join(part).encode("utf-8"))
    f.write(_RECEIPT_ROOT[1].encode())


def _receipt_parts(out: ReceiveOutcome):
    """The children of the receipt's premis:premis, in order, each built when it is needed."""
    def sub(parent, tag, text=None, **attrs):
        return xmltext.el(parent, "premis", tag, None if text is None else _xml_text(text), **attrs)

    def top(tag, **attrs):
        return xmltext.Node(f"premis:{tag}", attrs, None)

    agent_value = f"archiver/{__version__}"
    delivery_key = "|".join(f"{a.file}:{a.digests.get('sha256', '')}" for a in out.arrivals) or out.delivery
    delivery_name = os.path.basename(os.path.normpath(out.delivery)) or out.delivery
    # The delivery as a whole: PREMIS needs one object even when nothing usable arrived.
    whole = top("object", **{"xsi:type": "premis:intellectualEntity"})
    wid = sub(whole, "objectIdentifier")
    sub(wid, "objectIdentifierType", "local")
    sub(wid, "objectIdentifierValue", delivery_name)
    yield whole
    for a in out.arrivals:
        obj = top("object", **{"xsi:type": "premis:file"})
        oid = sub(obj, "objectIdentifier")
        sub(oid, "objectIdentifierType", "local")
        sub(oid, "objectIdentifierValue", a.file)
        ch = sub(obj, "objectCharacteristics")
        sub(ch, "compositionLevel", "1" if a.format == "tar.gz" else "0")
        for alg in ALGORITHMS:
            if alg in a.digests:
                fx = sub(ch, "fixity")
                sub(fx, "messageDigestAlgorithm", PREMIS_ALG[alg])
                sub(fx, "messageDigest", a.digests[alg])
                sub(fx, "messageDigestOriginator", "archiver")
        if a.size is not None:
            sub(ch, "size", str(a.size))
        fmt = sub(ch, "format")
        fd = sub(fmt, "formatDesignation")
        sub(fd, "formatName", archive.MEDIA_TYPES.get(a.format or "", "unknown"))
        sub(obj, "originalName", a.file)
        yield obj

    def event(kind: str, key: str, ok: bool, notes: list[str], objects: list[str], role: str = "source"):
        ev = top("event")
        eid = sub(ev, "eventIdentifier")
        sub(eid, "eventIdentifierType", "UUID")
        # Same delivery, same time (SOURCE_DATE_EPOCH) => same identifier; another receipt time => another event.
        sub(eid, "eventIdentifierValue", _event_id(kind, key, out.received_at))
        sub(ev, "eventType", kind)
        sub(ev, "eventDateTime", out.received_at)
        info = sub(ev, "eventOutcomeInformation")
        sub(info, "eventOutcome", "pass" if ok else "fail")
        for n in notes[:20]:  # one line each, as on the terminal: a name with a newline cannot forge a note
            sub(sub(info, "eventOutcomeDetail"), "eventOutcomeDetailNote", _one_line_out(n))
        la = sub(ev, "linkingAgentIdentifier")
        sub(la, "linkingAgentIdentifierType", "software")
        sub(la, "linkingAgentIdentifierValue", agent_value)
        sub(la, "linkingAgentRole", "executing program")
        for o in objects:
            lo = sub(ev, "linkingObjectIdentifier")
            sub(lo, "linkingObjectIdentifierType", "local")
            sub(lo, "linkingObjectIdentifierValue", o)
            sub(lo, "linkingObjectRole", role)
        return ev

    for a in out.arrivals:
        key = f"{a.file}:{a.digests.get('sha256', '')}"
        if a.manifest_checked:
            yield event("fixity check", key, bool(a.fixity_ok),
                        [f"sha256 and sha512 of {a.file} compared with {MANIFEST_XML}: " + ("match" if a.fixity_ok else "MISMATCH")]
                        + [f.line() for f in a.findings if f.code == "ARC-E022"], [a.file])
        notes = [f"bag {a.bag or 'unknown'} read from the archive as a stream (not unpacked): BagIt completeness, "
                 "payload fixity (every manifest algorithm), our bag rules, the BagIt profile it names or was given"]
        notes += [f.line() for f in a.findings if f.severity is not Severity.INFO]
        yield event("validation", key, a.valid, notes, [a.file])
        if a.unpacked_to:
            yield event("ingestion", key, True, [f"unpacked to {a.unpacked_to} through a staging folder"], [a.file])
    transfer_notes = [f"delivery {out.delivery} received"
                      + (f"; checked against {MANIFEST_XML}" if out.manifest else "; no delivery manifest was checked")]
    transfer_notes += [f.line() for f in out.findings if f.severity is not Severity.INFO]
    yield event("transfer", delivery_key, out.ok, transfer_notes, [delivery_name] + [a.file for a in out.arrivals])
    agent = top("agent")
    aid = sub(agent, "agentIdentifier")
    sub(aid, "agentIdentifierType", "software")
    sub(aid, "agentIdentifierValue", agent_value)
    sub(agent, "agentName", "archiver")
    sub(agent, "agentType", "software")
    sub(agent, "agentVersion", __version__)
    yield agent


def _json_text(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True)


def _write_json(out: ReceiveOutcome, f) -> None:
    """``_json_text(out.to_json())`` and a newline, written one archive at a time (as the XML receipt is).

    With sorted keys "archives" comes first; each archive is its own dump indented two levels
    (JSON strings hold no raw newline, so splitting on "\n" splits lines only)."""
    rest = _json_text(out.to_json(archives=False))
    assert rest.startswith("{\n") and min(out.to_json(archives=False)) > "archives"
    if not out.arrivals:
        f.write(('{\n  "archives": [],\n' + rest[2:] + "\n").encode("utf-8"))
        return
    f.write(b'{\n  "archives": [\n')
    for i, a in enumerate(out.arrivals):
        item = "\n".join("    " + line for line in _json_text(a.to_json()).split("\n"))
        f.write((item + (",\n" if i + 1 < len(out.arrivals) else "\n")).encode("utf-8"))
    f.write(("  ],\n" + rest[2:] + "\n").encode("utf-8"))


def _write_receipt(out: ReceiveOutcome, receipt_dir: str | None) -> None:
    """Receipts go to ``receipt_dir``; else into the target when bags were unpacked; else, with no
    target, beside the delivery.  A failed ``--into`` writes no file at all: the target stays as it
    was and nothing lands outside it (the receipt is still the ``--json`` output)."""
    base = os.path.basename(os.path.normpath(out.delivery)) or "delivery"
    if receipt_dir:
        folder = receipt_dir
    elif out.into is not None:
        if not any(a.unpacked_to for a in out.arrivals):
            out.receipt = {}
            return
        folder = out.into
    else:
        folder = os.path.dirname(os.path.abspath(os.path.normpath(out.delivery)))
    xml_path = os.path.join(folder, f"{base}.receipt.xml")
    json_path = os.path.join(folder, f"{base}.receipt.json")
    out.receipt = {"xml": xml_path, "json": json_path}
    try:
        os.makedirs(folder, exist_ok=True)
        _atomic_write(xml_path, lambda f: write_receipt_premis(out, f))
        _atomic_write(json_path, lambda f: _write_json(out, f))
    except OSError as e:
        out.receipt = {}
        out.findings.append(Finding.of("ARC-E013", folder, one_line(f"the receipt could not be written: {e.strerror or e}", 200)))
