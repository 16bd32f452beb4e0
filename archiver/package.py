"""The ``package`` command: scraped texts in, one checksummed bag per text out.

The pipeline per text (see docs/architecture.md): read the bytes (regular
files only, bounded) -> decode (strict UTF-8) -> infer facts from the text ->
merge curator metadata (sidecars, metadata.csv) and collection defaults ->
validate the Record -> build METS -> plan the bag -> write it atomically.

One bad document never stops the batch: each text's problems become findings
naming the file and the field, and the exit status is 1 if any text failed.
Inputs are only ever read.  Documents run in a process pool created once per
run (``jobs=1`` runs inline).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import __version__, bag, curator, identity, layout, record
from .config import Config, ConfigError
from .config import load as load_config
from .files import read_regular
from .findings import Finding, has_errors, one_line, rule
from .hashing import hash_bytes
from .outcome import EXIT_FAILED, EXIT_OK, UsageError
from .progress import progress
from .workers import default_jobs, gc_frozen, process_pool

rule("IN-E010", "docs/bag-layout.md#inputs", "an input path does not exist or is not a file or folder")
rule("IN-E011", "docs/bag-layout.md#staging", "the bag could not be written (an I/O error); nothing partial was left in OUT")
rule("IN-E012", "docs/bag-layout.md#inputs", "an unexpected internal error while packaging this text")
rule("IN-I001", "docs/bag-layout.md#identity-and-names", "the same text (same bytes) appears more than once in this batch; it is packaged once")
# Unreadable and not-UTF-8 texts use extraction's codes (IN-E102, IN-E101): one code per fact.

MAX_TEXT_BYTES = 64 * 1024 * 1024  # texts are KBs; a bound keeps memory predictable
MAX_RECORD_BYTES = 4 * 1024 * 1024  # an existing bag's record.json, read to find earlier captures
CHUNK_TEXTS = 16  # texts per task sent to a worker: few enough to balance the end of a run
CATALOG_BATCH = 128  # bags catalogued per transaction during a run (~2 MB of rows waiting at most)
SOFTWARE = f"archiver {__version__}"
EMPTY_HELP = (
    "nothing to package in {where}: put scraped texts there as NAME.txt (UTF-8), optionally with "
    "curator metadata in NAME.meta.toml / NAME.meta.json beside each text or one metadata.csv "
    "(a 'filename' column plus field-path columns)"
)


# --- results ------------------------------------------------------------------


@dataclass
class Result:
    file: str
    status: str  # "packaged" | "already packaged" | "failed"
    bag: str | None = None
    id: str | None = None
    supersedes: str | None = None
    item: int | None = None
    findings: list[Finding] = field(default_factory=list)
    # The catalog rows of the bag written (catalog.read_written_bag), so the parent need not read it again.
    catalog: tuple | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        d = {"file": self.file, "status": self.status, "bag": self.bag, "id": self.id,
             "findings": [f.to_json() for f in self.findings]}
        if self.supersedes:
            d["supersedes"] = self.supersedes
        if self.item is not None:
            d["item"] = self.item
        return d


class ResultLog(Sequence):
    """A run's results, in order, kept in an anonymous temporary file instead of in memory.

    A run over many texts kept ~1 KB per text in this process for its summary and
    ``--json`` (the parent's RSS grew 2.7 KB per text with the rest: docs/performance.md);
    here a text costs an offset, and the counts by status are kept as they come.
    Read-only once appended: an item read back is a copy.  When the temporary file
    cannot be written, results are kept in memory instead.
    """

    def __init__(self, items=()):
        self._file = None
        self._end = 0  # where the next result goes
        self._items: list = []  # an offset in the file, or the Result itself
        self._counts: Counter = Counter()
        self.extend(items)

    def append(self, r: Result) -> None:
        self._counts[r.status] += 1
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile()
            data = pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)
            # A seek only after a read: a seek flushes the write buffer (a write per result).
            if self._file.tell() != self._end:
                self._file.seek(self._end)
            self._file.write(data)
            self._items.append(self._end)
            self._end += len(data)
        except OSError:
            self._items.append(r)

    def extend(self, rs) -> None:
        for r in rs:
            self.append(r)

    def tally(self, status: str) -> int:
        """How many results have this status (Sequence.count would compare whole results)."""
        return self._counts[status]

    def __len__(self) -> int:
        return len(self._items)

    def _load(self, item) -> Result:
        if isinstance(item, Result):
            return item
        self._file.seek(item)
        return pickle.load(self._file)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._load(x) for x in self._items[i]]
        return self._load(self._items[i])

    def __iter__(self):
        for x in self._items:
            yield self._load(x)

    def __repr__(self) -> str:
        return f"ResultLog({len(self)} results: {dict(self._counts)})"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._items = []
            self._counts.clear()


@dataclass
class PackageOutcome:
    out: str
    results: ResultLog = field(default_factory=ResultLog)
    notices: list[Finding] = field(default_factory=list)  # not about one text (metadata.csv, config)
    message: str | None = None

    def count(self, status: str) -> int:
        return self.results.tally(status)

    @property
    def exit_code(self) -> int:
        failed = self.count("failed") or has_errors(self.notices)
        return EXIT_FAILED if failed else EXIT_OK

    def summary(self) -> str:
        return (f"{self.count('packaged')} packaged, {self.count('already packaged')} already packaged, "
                f"{self.count('failed')} failed")

    def to_json(self) -> dict:
        return {
            "command": "package",
            "out": self.out,
            "exit_code": self.exit_code,
            "summary": {s: self.count(s) for s in ("packaged", "already packaged", "failed")},
            "results": [r.to_json() for r in self.results],
            "findings": [f.to_json() for f in self.notices],
            **({"message": self.message} if self.message else {}),
        }

    def lines(self):
        if self.message:
            yield "out", self.message
        for f in self.notices:
            yield ("err" if f.severity.value != "info" else "out"), f.line()
        for r in self.results:
            label = r.file if r.item is None else f"{r.file} item {r.item}"
            if r.status == "packaged":
                extra = f" (supersedes {r.supersedes[:12]})" if r.supersedes else ""
                yield "out", f"packaged {label} -> {r.bag}{extra}"
            elif r.status == "already packaged":
                yield "out", f"already packaged {label}" + (f" -> {r.bag}" if r.bag else "")
            else:
                yield "err", f"failed {label}"
            for f in r.findings:
                yield ("err" if f.severity.value != "info" else "out"), f.line()
        if self.results:
            yield "out", self.summary()


# --- the run context shared by workers -------------------------------------------


@dataclass(frozen=True)
class Job:
    path: str  # the text, as found from the given input paths
    csv_row: Any = None  # curator.Entry | list[Finding] | None


@dataclass(frozen=True)
class Context:
    out: str  # as given
    staging: str
    config: Config
    epoch: int | None
    split: bool
    index: dict  # existing bags: {"ids": {id: name}, "urls": {url: [(id, name, supersedes)]}}
    out_dir: str = ""  # str(Path(out)): what bag.write is given, once per run instead of once per bag
    defaults: dict | None = None  # _defaults(config), made once per run (frozen facts, shared)


_CTX: Context | None = None


def _init_worker(ctx: Context) -> None:
    global _CTX
    _CTX = ctx


def _run_job(job: Job) -> list[Result]:
    assert _CTX is not None
    return package_text(job, _CTX)


# --- one text ----------------------------------------------------------------


def _read_text(path: str) -> bytes:
    return read_regular(path, MAX_TEXT_BYTES)


def _decode(data: bytes):
    from .extract import decode

    return decode(data)


_REGISTRY = None


def _infer(text: str):
    """Extraction with the outlet registry: shipped outlets plus the curator's ./outlets.toml.

    Loaded once per process (each worker), not once per document.
    """
    global _REGISTRY
    from .extract import infer
    from .outlet import OutletRegistry

    if _REGISTRY is None:
        _REGISTRY = OutletRegistry.default()
    return infer(text, registry=_REGISTRY)


def _created(epoch: int | None) -> _dt.datetime:
    if epoch is not None:
        return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc)
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def _relocate(findings_: list[Finding], curated: dict[str, curator.Entry]) -> list[Finding]:
    """Point a record error at the curator file that asserted the field, when one did."""
    out = []
    for f in findings_:
        top = (f.field or "").split(".")[0]
        entry = curated.get(f.field or "") or (curated.get("persons") if top == "persons" else None)
        out.append(Finding(f.code, entry.where, f.message, f.field, f.severity) if entry else f)
    return out


def _earlier(index: dict, url: str, rid: str) -> str | None:
    """The latest earlier capture of the same source URL: the one no other capture supersedes.

    Several heads (captures made independently) are rare; the choice among them is
    deterministic (highest id), so re-runs agree.
    """
    if url == record.UNKNOWN:
        return None
    caps = [c for c in index.get("urls", {}).get(url, []) if c[0] != rid]
    if not caps:
        return None
    superseded = {c[2] for c in caps if c[2]}
    heads = sorted(c for c in caps if c[0] not in superseded)
    return (heads or sorted(caps))[-1][0]


def build_bag(rec: record.Record, data: bytes, cleaned: str | None, ctx: Context) -> bag.BagPlan:
    """The complete bag for one record (pure given its inputs)."""
    algorithms = ctx.config.algorithms
    digest_algs = tuple(dict.fromkeys(("sha256", *algorithms)))
    pname = identity.payload_name(rec.original.filename)
    payload: dict[str, bytes] = {f"{layout.OBJECTS}/{pname}": data}
    # rec.id is the sha256 of data (identity.content_id): not hashed again.
    digests = {f"{layout.OBJECTS}/{pname}": {"sha256": rec.id, **hash_bytes(data, digest_algs[1:])}}
    if cleaned is not None:
        cbytes = cleaned.encode("utf-8")
        if cbytes != data:
            apath = f"{layout.ACCESS}/{pname}"  # Archivematica: same base name as the original
            payload[apath] = cbytes
            digests[apath] = hash_bytes(cbytes, digest_algs)
    rjson = rec.dumps().encode("utf-8")
    payload[layout.RECORD] = rjson
    digests[layout.RECORD] = hash_bytes(rjson, digest_algs)

    created = _created(ctx.epoch)
    from . import mets

    files = mets.bag_files(rec, {p: (len(b), digests[p]) for p, b in payload.items()})
    mbytes = mets.render(rec, files, created=created.strftime("%Y-%m-%dT%H:%M:%SZ"), organization=ctx.config.organization)
    payload[layout.METS] = mbytes
    digests[layout.METS] = hash_bytes(mbytes, digest_algs)

    name = identity.bag_name(rec)
    info: list[tuple[str, str]] = []
    cfg = ctx.config
    if cfg.organization:
        info.append(("Source-Organization", cfg.organization))
    if cfg.contact_name:
        info.append(("Contact-Name", cfg.contact_name))
    if cfg.contact_email:
        info.append(("Contact-Email", cfg.contact_email))
    info.append(("Bagging-Date", created.date().isoformat()))
    info.append(("External-Identifier", identity.external_identifier(rec.id)))
    # The title when known; otherwise say so (a description, never an invented title).
    info.append(("External-Description", rec.title.value if rec.title.known else f"title unknown; original file {rec.original.filename}"))
    info.append(("Internal-Sender-Identifier", rec.original.filename))
    info.append(("Bag-Software-Agent", SOFTWARE))
    info.append(("BagIt-Profile-Identifier", layout.PROFILE_ID))
    if rec.supersedes:
        info.append(("Replaces", identity.external_identifier(rec.supersedes)))
    if rec.listing is not None:
        info.append(("Bag-Group-Identifier", identity.external_identifier(rec.listing.parent)))
    return bag.plan(name, payload, info, algorithms=algorithms, digests=digests)


def _claim(ctx: Context, rid: str) -> bool:
    """Claim a record id for this run, so two copies of one text in a batch make one bag.

    An O_EXCL file in the run's staging folder: atomic across the run's worker
    processes, gone with the staging folder.
    """
    try:
        fd = os.open(os.path.join(ctx.staging, f"{rid}.claim"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _defaults(cfg: Config) -> dict[str, record.Fact]:
    if cfg.rights:
        return {"rights": record.Fact[Any](value=cfg.rights, origin=record.Origin(by="default", source=cfg.source))}
    return {}


def _package_record(
    *, label: str, data: bytes, decoded, inference, entries, ctx: Context,
    filename: str, listing: record.ListingRef | None = None, item: int | None = None,
) -> Result:
    rid = identity.content_id(data)
    res = Result(file=label, status="failed", id=rid, item=item)
    existing = ctx.index.get("ids", {}).get(rid)
    if existing:
        res.status, res.bag = "already packaged", os.path.join(ctx.out, existing)
        return res
    try:
        merged = curator.merge(inference.facts, inference.persons, entries, _defaults(ctx.config) if ctx.defaults is None else ctx.defaults)
    except curator.CuratorError as e:
        res.findings.extend(e.findings)
        return res
    for w in inference.warnings:
        # About an inferred value the curator replaced: moot.  Extraction is pure and does not know the file.
        if w.field not in merged.curated:
            res.findings.append(w if w.path else Finding(w.code, label, w.message, w.field, w.severity))
    original = record.Original(filename=filename, size=len(data), encoding=decoded.encoding, newlines=decoded.newlines)
    url = merged.facts.get("source.url")
    supersedes = _earlier(ctx.index, url.value, rid) if url is not None else None
    try:
        rec = record.build(id=rid, original=original, facts=merged.facts, persons=merged.persons,
                           notes=merged.notes, supersedes=supersedes, listing=listing)
    except ValidationError as e:
        res.findings.extend(_relocate(record.findings_from_error(e, label), merged.curated))
        return res
    plan = build_bag(rec, data, inference.cleaned, ctx)
    if not _claim(ctx, rid):
        res.status = "already packaged"
        res.findings.append(Finding.of("IN-I001", label, "same bytes as another text in this batch"))
        return res
    try:
        target = bag.write(plan, ctx.out_dir or str(Path(ctx.out)), ctx.staging, mtime=ctx.epoch)
    except bag.BagExists:
        res.status, res.bag = "already packaged", os.path.join(ctx.out, plan.name)
        return res
    except OSError as e:
        res.findings.append(Finding.of("IN-E011", label, one_line(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))))
        return res
    res.status, res.bag, res.supersedes = "packaged", str(target), supersedes
    res.catalog = _catalog_rows(target, plan, rec)
    return res


def _catalog_rows(target: Path, plan: bag.BagPlan, rec: record.Record):
    """The new bag's catalog rows, made here (in the worker) from what was just written; None: the parent reads the bag."""
    from .catalog import read_written_bag

    try:
        return read_written_bag(target, plan, rec)
    except Exception:  # noqa: BLE001 - the catalog is an index; the parent falls back to reading the bag
        if os.environ.get("ARCHIVER_DEBUG"):
            raise
        return None


def package_text(job: Job, ctx: Context) -> list[Result]:
    """Package one text (and, with --split, each item of a listing).  Never raises."""
    try:
        return _package_text(job, ctx)
    except Exception as e:  # noqa: BLE001 - one bad document never stops the batch
        if os.environ.get("ARCHIVER_DEBUG"):
            raise
        return [Result(file=job.path, status="failed", findings=[
            Finding.of("IN-E012", job.path, one_line(f"{type(e).__name__}: {e}"))])]


def _package_text(job: Job, ctx: Context) -> list[Result]:
    from .extract import NotUTF8  # also registers IN-E101/IN-E102

    path = job.path
    try:
        data = _read_text(path)
    except (OSError, ValueError) as e:
        msg = curator.why_unreadable(e, path)
        return [Result(file=path, status="failed", findings=[Finding.of("IN-E102", path, f"cannot read: {one_line(msg)}")])]
    try:
        decoded = _decode(data)
    except NotUTF8 as e:
        return [Result(file=path, status="failed", id=identity.content_id(data),
                       findings=[Finding.of("IN-E101", path, one_line(str(e)))])]
    entries: list[curator.Entry] = []
    problems: list[Finding] = []
    try:
        entries.extend(curator.read_sidecars(path))
    except curator.CuratorError as e:
        problems.extend(e.findings)
    if isinstance(job.csv_row, list):
        problems.extend(job.csv_row)
    elif job.csv_row is not None:
        entries.append(job.csv_row)
    if problems:
        return [Result(file=path, status="failed", id=identity.content_id(data), findings=problems)]
    inference = _infer(decoded.text)
    filename = _recordable(os.path.basename(path))
    results = [_package_record(label=path, data=data, decoded=decoded, inference=inference,
                               entries=entries, ctx=ctx, filename=filename)]
    if ctx.split and inference.items and results[0].status != "failed":
        results.extend(_package_items(path, data, decoded, inference, ctx))
    return results


def _recordable(name: str) -> str:
    """A file name as text: undecodable bytes (kept by the OS as surrogates) written as \\xNN escapes."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def item_bytes(data: bytes, first: int, last: int) -> bytes:
    """The exact bytes of lines first..last (1-based, inclusive) of the original, line ends kept."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    lines = body.splitlines(keepends=True)
    return b"".join(lines[first - 1:last])


def _package_items(path: str, data: bytes, decoded, inference, ctx: Context) -> list[Result]:
    parent = identity.content_id(data)
    stem = Path(path).stem
    out = []
    for it in inference.items:
        chunk = item_bytes(data, it.first_line, it.last_line)
        try:
            idec = _decode(chunk)
        except Exception:  # noqa: BLE001 - a slice of UTF-8 lines is UTF-8; be safe anyway
            continue
        ref = record.ListingRef(parent=parent, item=it.index, lines=(it.first_line, it.last_line))
        out.append(_package_record(
            label=path, data=chunk, decoded=idec, inference=it.inference, entries=[], ctx=ctx,
            filename=f"{stem}-item{it.index:03d}.txt", listing=ref, item=it.index,
        ))
    return out


# --- the batch -------------------------------------------------------------------


def _texts_in(folder: Path) -> list[tuple[Path, str, str, str]]:
    """Every NAME.txt directly inside, sorted, as (folder, name, path, real path); sidecars and hidden files are not texts.

    Plain strings per text, not pathlib (the parent does this before any worker starts).
    The real path of a name that is not a link is the folder's real path plus the name: one
    ``realpath`` per folder instead of one per text (each is an lstat per path component).
    Together ~0.2 -> ~0.02 ms per text.
    """
    out = []
    real = None
    prefix = os.path.join(str(folder), "") if str(folder) != "." else ""  # str(folder / name) is prefix + name
    with os.scandir(folder) as it:
        for e in it:
            if e.name.startswith(".") or not e.name.endswith(".txt"):
                continue
            if e.is_dir(follow_symlinks=False):
                continue
            if e.is_symlink():
                out.append((folder, e.name, prefix + e.name, os.path.realpath(e.path)))
                continue
            if real is None:
                real = os.path.realpath(folder)
            out.append((folder, e.name, prefix + e.name, os.path.join(real, e.name)))
    return sorted(out, key=lambda t: t[1])


def index_bags(out: Path) -> dict:
    """Existing bags in OUT by record id and by source URL (from their record.json)."""
    ids: dict[str, str] = {}
    urls: dict[str, list] = {}
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return {"ids": ids, "urls": urls}
    for e in entries:
        if e.name.startswith(".") or not e.is_dir(follow_symlinks=False):
            continue
        try:
            raw = curator.read_bounded(os.path.join(e.path, *layout.RECORD.split("/")), MAX_RECORD_BYTES)
            doc = json.loads(raw)
            rid = doc["id"]
            url = (((doc.get("source") or {}).get("url") or {}).get("value")) or record.UNKNOWN
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # not one of our bags, or damaged: the validator's business
        if not isinstance(rid, str):
            continue
        ids.setdefault(rid, e.name)
        if isinstance(url, str) and url != record.UNKNOWN:
            urls.setdefault(url, []).append((rid, e.name, doc.get("supersedes")))
    return {"ids": ids, "urls": urls}


def _epoch() -> int | None:
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise UsageError(f"SOURCE_DATE_EPOCH={one_line(raw)!r} is not a non-negative integer (seconds since 1970)") from None


def package(
    paths=None,
    *,
    out: str | os.PathLike | None = None,
    jobs: int | None = None,
    split: bool = False,
    config: Config | str | os.PathLike | None = None,
    organization: str | None = None,
    contact_name: str | None = None,
    contact_email: str | None = None,
    rights: str | None = None,
    algorithms=None,
) -> PackageOutcome:
    """Package texts (files, or folders of NAME.txt) into bags in ``out``.

    ``config`` is a Config, a path to an archiver.toml, or None for
    ./archiver.toml if present; keywords override its settings.
    """
    try:
        cfg = config if isinstance(config, Config) else load_config(config)
        cfg = cfg.with_overrides(organization=organization, contact_name=contact_name, contact_email=contact_email,
                                 rights=rights, algorithms=algorithms)
        if rights is not None:
            try:
                record._rights(rights)  # the record's own rule, so the message is the same everywhere
            except ValueError as e:
                raise ConfigError(f"rights: {e}") from None
    except ConfigError as e:
        raise UsageError(str(e)) from None
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    from .outlet import OutletRegistry, RegistryError

    global _REGISTRY
    try:  # a broken ./outlets.toml is reported once, up front, not once per document
        # Each run reads ./outlets.toml as it is now (a library caller may change it between runs);
        # forked workers inherit this one.
        _REGISTRY = OutletRegistry.default()
    except RegistryError as e:
        raise UsageError(str(e)) from None
    epoch = _epoch()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in (paths or [cfg.incoming])]
    out = os.fspath(out if out is not None else cfg.bags)
    outcome = PackageOutcome(out=out)

    # Find the texts, and each folder's metadata.csv once.
    found: list[tuple[Path, str, str, str]] = []  # (folder, name, path, real path) of each text
    for p in paths:
        pp = Path(p)
        if pp.is_dir():
            found.extend(_texts_in(pp))
        elif os.path.lexists(pp):
            found.append((pp.parent, pp.name, str(pp), os.path.realpath(pp)))
        else:
            outcome.notices.append(Finding.of("IN-E010", p, "no such file or folder"))
    seen: set[str] = set()
    named: set[str] = set()
    sheets: dict[Path, curator.Sheet | None] = {}
    jobs_list: list[Job] = []
    for folder, name, path, real in found:
        if real in seen:
            continue
        seen.add(real)
        named.add(name)
        if folder not in sheets:
            sheets[folder] = curator.read_csv(folder)
        sheet = sheets[folder]
        row = None
        if sheet is not None:
            row = list(sheet.problems) if sheet.problems else sheet.rows.get(name)
        jobs_list.append(Job(path=path, csv_row=row))
    for sheet in sheets.values():
        if sheet is None:
            continue
        for name, row in sorted(sheet.rows.items()):
            if name not in named:
                where = row.where if isinstance(row, curator.Entry) else sheet.where
                outcome.notices.append(Finding.of("IN-W001", where, f"{one_line(name)} is not among the texts packaged", field="filename"))
    if not jobs_list:
        outcome.message = EMPTY_HELP.format(where=", ".join(paths))
        return outcome
    del found, seen, named  # the Job list says it all from here (these were ~0.7 KB per text)

    staging = bag.Staging(Path(out))
    try:
        staging.open()
    except OSError as e:
        outcome.notices.append(Finding.of("IN-E011", out, f"cannot create the staging folder: {one_line(e.strerror or str(e))}"))
        return outcome
    # Keep the catalog current: an index only, so a failure is a warning (CAT-W001), never a failed run.
    # Rows are stored as results come, CATALOG_BATCH bags per transaction (catalog.Indexer).
    from .catalog import Indexer

    indexer = Indexer(batch=CATALOG_BATCH)

    def keep(results: list[Result]) -> list[Result]:
        for r in results:
            if r.status == "packaged" and r.bag:
                indexer.add(r.bag, r.catalog)
            r.catalog = None  # not kept with the results
        return results

    try:
        try:
            ctx = Context(out=out, staging=str(staging.dir), config=cfg, epoch=epoch, split=split, index=index_bags(Path(out)),
                          out_dir=str(Path(out)), defaults=_defaults(cfg))
            workers = min(default_jobs(jobs), len(jobs_list))
            # Import what the texts need here, once: forked workers (workers.start_method) inherit it
            # instead of importing it each (~0.25 s of CPU per worker on this machine).
            try:
                from . import catalog, extract, mets, premis  # noqa: F401
            except ImportError:
                pass  # each text meets it again, and fails with IN-E012, as without this
            with gc_frozen():
                if workers <= 1:
                    for j in progress(jobs_list, label="package"):
                        outcome.results.extend(keep(package_text(j, ctx)))
                else:
                    with process_pool(workers, initializer=_init_worker, initargs=(ctx,)) as pool:
                        # Small chunks (at most CHUNK_TEXTS texts): the last chunks leave no worker idle for long.
                        chunk = max(1, min(CHUNK_TEXTS, len(jobs_list) // (workers * 4)))
                        done = 0
                        try:
                            for rs in progress(pool.map(_run_job, jobs_list, chunksize=chunk), total=len(jobs_list), label="package"):
                                outcome.results.extend(keep(rs))
                                done += 1
                        except BrokenProcessPool:
                            # A worker died (out of memory, killed): report what was not done; nothing partial is in OUT.
                            for j in jobs_list[done:]:
                                outcome.results.append(Result(file=j.path, status="failed", findings=[
                                    Finding.of("IN-E012", j.path, "a worker process died before this text was packaged; run again")]))
        finally:
            staging.close()
        outcome.notices.extend(indexer.close())
    finally:
        indexer.discard()  # interrupted: close the catalog, storing nothing more
    return outcome
