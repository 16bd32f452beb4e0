"""Curator metadata: sidecars and ``metadata.csv``, merged over inferred facts.

A curator states facts in one of two forms, both keyed by the record's field
paths (``record.FIELD_PATHS``):

- a sidecar beside the text, ``NAME.meta.json`` or ``NAME.meta.toml`` (TOML is
  the friendlier one to type), nested like the field paths::

      title = "..."
      [source.outlet]
      name = "Reform.news"
      [[persons]]
      name = "Pavel Latushka"
      role = "interviewee"
      aliases = ["Pavel Latushko"]

- one row per text in a ``metadata.csv`` in the same folder (Archivematica's
  convention), with a ``filename`` column, one column per field path, plus
  ``persons`` (``Name [alias1|alias2] (role); Name (role)``) and ``notes``.

Rules: a curator value always wins over an inferred one; two curator sources
that disagree on a field are an error naming both; an unknown key is an error
naming the key; an empty value is an error (write ``unknown``).  A blank CSV
cell is the one exception: it means "this row says nothing about the field",
because a spreadsheet cannot leave a cell out.

Parsing is pure (bytes in, entries or findings out); ``read_sidecars`` is the
thin reading edge.
"""

from __future__ import annotations

import csv
import datetime as _dt
import errno
import io
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import no_duplicate_keys, read_regular
from .findings import Finding, one_line, rule
from .record import FIELD_PATHS, UNKNOWN, Fact, Origin, Person

rule("IN-E001", "docs/bag-layout.md#curator-metadata", "a sidecar or metadata.csv cannot be read (not a regular file, too large, not UTF-8)")
rule("IN-E002", "docs/bag-layout.md#curator-metadata", "a sidecar is not valid JSON or TOML")
rule("IN-E003", "docs/bag-layout.md#curator-metadata", "an unknown field in a sidecar or metadata.csv")
rule("IN-E004", "docs/bag-layout.md#curator-metadata", "an empty value (write \"unknown\" when a value is not known)")
rule("IN-E005", "docs/bag-layout.md#curator-metadata", "a value of the wrong kind (text expected, or a list of persons or notes)")
rule("IN-E006", "docs/bag-layout.md#curator-metadata", "metadata.csv is malformed (no filename column, repeated column or file, bad persons cell)")
rule("IN-E007", "docs/bag-layout.md#curator-metadata", "two curator sources disagree on a field")
rule("IN-W001", "docs/bag-layout.md#curator-metadata", "a metadata.csv row names a file that is not among the texts packaged")

CSV_NAME = "metadata.csv"
SIDECAR_SUFFIXES = (".meta.json", ".meta.toml")
MAX_SIDECAR_BYTES = 1 << 20  # a sidecar is a few KB; bounded memory against hostile input
MAX_CSV_BYTES = 64 << 20

# Curator-only shorthand: a translator named in translation.translator is a person with role trl.
TRANSLATOR = "translation.translator"
KNOWN_PATHS = frozenset(FIELD_PATHS) | {TRANSLATOR}
_PERSON_KEYS = {"name", "role", "aliases"}


@dataclass(frozen=True)
class Entry:
    """What one curator source (a sidecar, or one CSV row) says about one text."""

    source: str  # Origin.source: "NAME.meta.json" or "metadata.csv row 3"
    where: str  # for messages: the path as given, with " row N" for CSV
    facts: dict[str, str] = field(default_factory=dict)  # field path -> value
    persons: tuple[dict, ...] | None = None  # None: not stated (inferred persons stay)
    notes: tuple[str, ...] = ()

    def origin(self) -> Origin:
        return Origin(by="curator", source=self.source)


class CuratorError(Exception):
    """The source cannot be used; ``findings`` say why (file + field)."""

    def __init__(self, findings: list[Finding]):
        super().__init__("; ".join(f.line() for f in findings))
        self.findings = findings


# --- sidecars ---------------------------------------------------------------




def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON value we accept")


def parse_sidecar(data: bytes, where: str, source: str) -> Entry:
    """Parse a sidecar's bytes (JSON or TOML by suffix of ``where``).  Raise CuratorError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CuratorError([Finding.of("IN-E001", where, "not UTF-8")]) from None
    try:
        if where.endswith(".toml"):
            doc = tomllib.loads(text)
        else:
            doc = json.loads(text, object_pairs_hook=no_duplicate_keys, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        kind = "TOML" if where.endswith(".toml") else "JSON"
        raise CuratorError([Finding.of("IN-E002", where, f"not valid {kind}: {one_line(str(e), 200)}")]) from None
    if not isinstance(doc, dict):
        raise CuratorError([Finding.of("IN-E002", where, "the top level must be an object of fields")])
    return entry_from_mapping(doc, where, source)


def entry_from_mapping(doc: dict, where: str, source: str) -> Entry:
    """Flatten a nested mapping of field paths into an Entry, collecting every problem."""
    problems: list[Finding] = []
    facts: dict[str, str] = {}
    persons: list[dict] | None = None
    notes: list[str] = []

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if not isinstance(key, str) or not key:
                problems.append(Finding.of("IN-E003", where, "unknown field", field=one_line(repr(key))))
            elif not prefix and key == "persons":
                nonlocal persons
                persons = _persons(value, where, problems)
            elif not prefix and key == "notes":
                notes.extend(_notes(value, where, problems))
            elif isinstance(value, dict):
                if not any(p.startswith(path + ".") for p in KNOWN_PATHS):
                    problems.append(Finding.of("IN-E003", where, "unknown field", field=one_line(path)))
                else:
                    walk(value, path + ".")
            elif path not in KNOWN_PATHS:
                problems.append(Finding.of("IN-E003", where, "unknown field", field=one_line(path)))
            elif isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
                # TOML lets a curator write published = 2025-07-09 unquoted: the same value as the string.
                text = value.isoformat()
                facts[path] = text[:-6] + "Z" if text.endswith("+00:00") else text
            elif not isinstance(value, str):
                problems.append(Finding.of("IN-E005", where, f"expected text, got {_kind(value)}", field=path))
            elif not value.strip():
                problems.append(Finding.of("IN-E004", where, 'empty value (write "unknown" when it is not known)', field=path))
            else:
                facts[path] = value

    walk(doc, "")
    if problems:
        raise CuratorError(problems)
    return Entry(source=source, where=where, facts=facts, persons=tuple(persons) if persons is not None else None, notes=tuple(notes))


def _kind(v: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a table", type(None): "null"}.get(type(v), type(v).__name__)


def _persons(value, where: str, problems: list[Finding]) -> list[dict]:
    if not isinstance(value, list):
        problems.append(Finding.of("IN-E005", where, f"expected a list of persons, got {_kind(value)}", field="persons"))
        return []
    out = []
    for i, p in enumerate(value, 1):
        fld = f"persons[{i}]"
        if not isinstance(p, dict):
            problems.append(Finding.of("IN-E005", where, f"expected a person (name, role, aliases), got {_kind(p)}", field=fld))
            continue
        for k in p:
            if k not in _PERSON_KEYS:
                problems.append(Finding.of("IN-E003", where, "unknown field", field=f"{fld}.{one_line(str(k))}"))
        for k in ("name", "role"):
            v = p.get(k)
            if v is None:
                problems.append(Finding.of("IN-E005", where, f"a person needs a {k}", field=f"{fld}.{k}"))
            elif not isinstance(v, str):
                problems.append(Finding.of("IN-E005", where, f"expected text, got {_kind(v)}", field=f"{fld}.{k}"))
            elif not v.strip():
                problems.append(Finding.of("IN-E004", where, "empty value", field=f"{fld}.{k}"))
        aliases = p.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            problems.append(Finding.of("IN-E005", where, "expected a list of names", field=f"{fld}.aliases"))
            aliases = []
        elif any(not a.strip() for a in aliases):
            problems.append(Finding.of("IN-E004", where, "empty alias", field=f"{fld}.aliases"))
        out.append({"name": p.get("name"), "role": p.get("role"), "aliases": tuple(aliases)})
    return out


def _notes(value, where: str, problems: list[Finding]) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(n, str) for n in items):
        problems.append(Finding.of("IN-E005", where, "expected a note or a list of notes", field="notes"))
        return []
    if any(not n.strip() for n in items):
        problems.append(Finding.of("IN-E004", where, "empty note", field="notes"))
        return []
    return list(items)


# --- metadata.csv -----------------------------------------------------------

_PERSON_CELL = re.compile(r"^\s*(?P<name>[^\[\]();|]+?)\s*(?:\[(?P<aliases>[^\]]*)\])?\s*\((?P<role>[^()]+)\)\s*$")


def parse_person_cell(cell: str) -> list[dict]:
    """``Name [alias1|alias2] (role); Name (role)`` -> persons.  Raise ValueError naming the bad part."""
    out = []
    for part in cell.split(";"):
        if not part.strip():
            continue
        m = _PERSON_CELL.match(part)
        if not m:
            raise ValueError(f"{one_line(part.strip(), 80)!r} is not 'Name [alias|alias] (role)'")
        aliases = tuple(a.strip() for a in (m.group("aliases") or "").split("|") if a.strip())
        out.append({"name": m.group("name").strip(), "role": m.group("role").strip(), "aliases": aliases})
    return out


@dataclass(frozen=True)
class Sheet:
    """A parsed metadata.csv: one Entry (or the problems of that row) per file name."""

    where: str
    rows: dict[str, Entry | list[Finding]]
    problems: list[Finding]  # sheet-wide: they apply to every row


def parse_csv(data: bytes, where: str, source: str = CSV_NAME) -> Sheet:
    """Parse metadata.csv bytes.  Row numbers count the header as row 1, as a spreadsheet shows them."""
    try:
        text = data.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError:
        return Sheet(where, {}, [Finding.of("IN-E001", where, "not UTF-8 (save the spreadsheet as CSV UTF-8)")])
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as e:
        return Sheet(where, {}, [Finding.of("IN-E006", where, f"not a valid CSV: {one_line(str(e))}")])
    if not table:
        return Sheet(where, {}, [Finding.of("IN-E006", where, "empty: the first row must name the columns")])
    header = [h.strip() for h in table[0]]
    problems: list[Finding] = []
    if "filename" not in header:
        problems.append(Finding.of("IN-E006", where, "no 'filename' column in the first row", field="filename"))
    for h in header:
        if h not in KNOWN_PATHS and h not in ("filename", "persons", "notes"):
            problems.append(Finding.of("IN-E003", where, "unknown column", field=one_line(h) or "(blank column name)"))
    dupes = sorted({h for h in header if header.count(h) > 1})
    for h in dupes:
        problems.append(Finding.of("IN-E006", where, "the column appears twice", field=one_line(h)))
    rows: dict[str, Entry | list[Finding]] = {}
    if problems:
        return Sheet(where, rows, problems)
    for n, cells in enumerate(table[1:], 2):
        if not any(c.strip() for c in cells):
            continue  # spreadsheets leave blank rows
        row_where = f"{where} row {n}"
        if len(cells) > len(header):
            problems.append(Finding.of("IN-E006", row_where, f"{len(cells)} cells but {len(header)} columns"))
            continue
        cells = cells + [""] * (len(header) - len(cells))
        values = dict(zip(header, cells))
        name = values.pop("filename").strip()
        name = name.removeprefix("objects/")  # Archivematica writes objects/NAME
        if not name:
            problems.append(Finding.of("IN-E004", row_where, "empty file name", field="filename"))
            continue
        if name in rows:
            problems.append(Finding.of("IN-E006", row_where, f"{one_line(name)} already has a row", field="filename"))
            continue
        row_problems: list[Finding] = []
        facts: dict[str, str] = {}
        persons = None
        notes: tuple[str, ...] = ()
        for col, cell in values.items():
            if not cell.strip():
                continue  # blank cell: the row says nothing about this field
            if cell != cell.strip():
                cell = cell.strip()
            if col == "persons":
                try:
                    persons = tuple(parse_person_cell(cell))
                except ValueError as e:
                    row_problems.append(Finding.of("IN-E006", row_where, str(e), field="persons"))
            elif col == "notes":
                notes = (cell,)
            else:
                facts[col] = cell
        rows[name] = row_problems or Entry(source=f"{source} row {n}", where=row_where, facts=facts, persons=persons, notes=notes)
    return Sheet(where, rows, problems)


# --- reading (thin I/O) -----------------------------------------------------


read_bounded = read_regular  # kept under this name for callers; see archiver/files.py


def why_unreadable(e: Exception, path) -> str:
    """A short reason for a read failure, without repeating the path."""
    if isinstance(e, OSError) and e.errno == errno.ELOOP:
        return "a symbolic link (never followed)"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e).removeprefix(f"{path}: ")


def sidecar_paths(text: Path) -> list[Path]:
    """Sidecars of ``NAME.txt``: ``NAME.meta.json`` and ``NAME.meta.toml`` (also ``NAME.txt.meta.*``)."""
    return [Path(p) for p in _sidecar_files(os.fspath(text))]


def _sidecar_files(text: str) -> list[str]:
    # sidecar_paths with strings: pathlib's with_suffix/with_name cost more than the four lstats
    # (read_sidecars ~50 -> ~15 us per text).  The stem is Path.stem's: the name up to its last
    # dot, unless that dot starts or ends the name.
    folder, name = os.path.split(text)
    dot = name.rfind(".")
    stem = name[:dot] if 0 < dot < len(name) - 1 else name
    prefix = os.path.join(folder, "")  # os.path.join(folder, x) is prefix + x
    out = []
    for base in dict.fromkeys((stem, name)):
        for suffix in SIDECAR_SUFFIXES:
            p = prefix + base + suffix
            if os.path.lexists(p):
                out.append(p)
    return out


def read_sidecars(text: Path | str) -> list[Entry]:
    """Every sidecar of a text, parsed.  Raise CuratorError with all problems found."""
    entries, problems = [], []
    for p in _sidecar_files(os.fspath(text)):
        try:
            data = read_bounded(p, MAX_SIDECAR_BYTES)
        except (OSError, ValueError) as e:
            msg = why_unreadable(e, p)
            problems.append(Finding.of("IN-E001", p, f"cannot read: {one_line(msg)}"))
            continue
        try:
            entries.append(parse_sidecar(data, p, os.path.basename(p)))
        except CuratorError as e:
            problems.extend(e.findings)
    if problems:
        raise CuratorError(problems)
    return entries


def read_csv(folder: Path) -> Sheet | None:
    p = folder / CSV_NAME
    if not os.path.lexists(p):
        return None
    try:
        data = read_bounded(p, MAX_CSV_BYTES)
    except (OSError, ValueError) as e:
        msg = why_unreadable(e, p)
        return Sheet(str(p), {}, [Finding.of("IN-E001", str(p), f"cannot read: {one_line(msg)}")])
    return parse_csv(data, str(p))


# --- merging ----------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    facts: dict[str, Fact]
    persons: tuple[Person, ...]
    notes: tuple[dict, ...]
    curated: dict[str, Entry]  # field path (or "persons") -> the entry that asserted it


def _person_key(p: dict) -> tuple:
    from .record import _role

    return (p["name"], _role(p["role"]), tuple(sorted(p.get("aliases", ()))))


def _entry_persons(e: Entry) -> list[dict] | None:
    """The persons an entry states, with the translator shorthand expanded."""
    persons = list(e.persons) if e.persons is not None else None
    translator = e.facts.get(TRANSLATOR)
    if translator is not None and translator != UNKNOWN:
        persons = (persons or []) + [{"name": translator, "role": "trl", "aliases": ()}]
    return persons


def merge(
    inferred: dict[str, Fact],
    inferred_persons: tuple[Person, ...],
    entries: list[Entry],
    defaults: dict[str, Fact] | None = None,
) -> Merged:
    """Curator facts over inferred facts; defaults fill what is still unknown.

    Raise CuratorError when two entries disagree (naming both and the field).
    Persons: an entry's ``persons`` replaces every inferred person; a
    translator shorthand alone replaces only inferred translators.
    """
    problems: list[Finding] = []
    facts = dict(inferred)
    curated: dict[str, Entry] = {}
    for path in sorted({p for e in entries for p in e.facts}):
        if path == TRANSLATOR:
            continue
        givers = [e for e in entries if path in e.facts]
        first = givers[0]
        for other in givers[1:]:
            if other.facts[path] != first.facts[path]:
                problems.append(Finding.of(
                    "IN-E007", first.where,
                    f"{one_line(first.facts[path], 80)!r} here but {one_line(other.facts[path], 80)!r} in {other.where}",
                    field=path,
                ))
        facts[path] = Fact[Any](value=first.facts[path], origin=first.origin())
        curated[path] = first

    persons: tuple[Person, ...] = tuple(inferred_persons)
    stated = [(e, ps) for e in entries if (ps := _entry_persons(e)) is not None]
    if stated:
        first, first_ps = stated[0]
        for other, ps in stated[1:]:
            if sorted(map(_person_key, ps)) != sorted(map(_person_key, first_ps)):
                problems.append(Finding.of("IN-E007", first.where, f"the persons differ from those in {other.where}", field="persons"))
        try:
            curated_persons = tuple(Person(name=p["name"], role=p["role"], aliases=p.get("aliases", ()), origin=first.origin()) for p in first_ps)
        except Exception as e:  # pydantic ValidationError: a bad role or name
            from pydantic import ValidationError

            if not isinstance(e, ValidationError):
                raise
            for err in e.errors(include_url=False):
                loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith(("literal", "function")))
                problems.append(Finding.of("REC-E001", first.where, one_line(err["msg"].removeprefix("Value error, ")), field=f"persons.{loc}" if loc else "persons"))
            curated_persons = ()
        if first.persons is None:  # translator shorthand only: keep the inferred non-translators
            persons = tuple(p for p in persons if p.role != "trl") + curated_persons
        else:
            persons = curated_persons
        curated["persons"] = first

    notes: list[dict] = []
    seen: set[str] = set()
    for e in entries:  # a note repeated in a second source is the same note; within one source, kept as given
        for n in e.notes:
            if n not in seen:
                notes.append({"text": n, "origin": e.origin().model_dump(exclude_none=True)})
        seen.update(e.notes)
    if problems:
        raise CuratorError(problems)
    for path, fact in (defaults or {}).items():
        if path not in facts or not facts[path].known:
            facts[path] = fact
    return Merged(facts=facts, persons=persons, notes=tuple(notes), curated=curated)
