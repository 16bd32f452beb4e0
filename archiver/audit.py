"""Fixity audits: re-hash every bag against its manifests, and remember it.

A fixity audit answers "are the bags still the bytes we wrote?", nothing
else: it checks the manifests (payload and tag), completeness of the payload
and the Payload-Oxum, not metadata rules (``archiver validate`` does those).
Each check is recorded in the catalog as a PREMIS "fixity check" event (date,
outcome, detail, agent), which ``archiver show`` and the report display.
Bags are only read, never rewritten.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import stat
import time
from pathlib import Path

from . import catalog
from .findings import Finding, one_line, rule
from .hashing import ALGORITHMS, hash_file
from .outcome import UsageError

rule("FIX-E001", "RFC 8493 §3", "a bag's files no longer match its manifests (fixity check failed)")
rule("FIX-W001", "archiver catalog", "a bag with recorded history is no longer in the bag folder")

_AGE = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks", "": "days"}


def parse_age(text: str) -> _dt.timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` (a bare number is days)."""
    m = _AGE.match(text.strip().lower())
    if not m:
        raise UsageError(f"--older-than: {one_line(text)!r} is not an age like 30d, 12h or 2w")
    return _dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


# Plain strings, not pathlib, in the per-file work: check_fixity ~1.8 -> ~1.1 ms per bag on the
# benchmark's bags (one core), most of it was Path objects made and printed per file.
def _payload_files(bag: str) -> tuple[list[str], list[str]]:
    """(regular files under data/, problems) without following symlinks."""
    files, problems = [], []
    prefix = os.path.join(bag, "")
    for top, dirs, names in os.walk(os.path.join(bag, "data")):
        for name in sorted(dirs + names):
            full = os.path.join(top, name)
            rel = full[len(prefix):].replace(os.sep, "/")
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                problems.append(f"{rel}: is a symbolic link")
                if name in dirs:
                    dirs.remove(name)
            elif stat.S_ISREG(st.st_mode):
                files.append(rel)
            elif not stat.S_ISDIR(st.st_mode):
                problems.append(f"{rel}: is not a regular file")
    return sorted(files), problems


def check_fixity(bag: Path) -> tuple[int, tuple[str, ...], list[str]]:
    """(files checked, algorithms, problems) for one bag folder; no problems means it passes."""
    problems: list[str] = []
    expected: dict[str, dict[str, str]] = {}
    payload_manifests: list[set[str]] = []
    algs: set[str] = set()
    root = os.fspath(bag)
    try:
        names = os.listdir(root)
    except OSError:
        names = []
    manifests = ([Path(root, n) for n in sorted(names) if n.startswith("manifest-") and n.endswith(".txt")]
                 + [Path(root, n) for n in sorted(names) if n.startswith("tagmanifest-") and n.endswith(".txt")])
    if not any(m.name.startswith("manifest-") for m in manifests):
        problems.append("no payload manifest")
    folders: dict[str, bool] = {}  # the bag's folders checked for symlinks, once each
    for manifest in manifests:
        alg = manifest.name.split("-", 1)[1][: -len(".txt")]
        if alg not in ALGORITHMS:
            continue
        algs.add(alg)
        listed = set()
        try:
            for rel, digest in catalog._manifest_lines(manifest):
                if not catalog.inside(root, rel, folders):
                    problems.append(f"{manifest.name}: {one_line(rel, 120)}: path escapes the bag or passes through a symbolic link")
                    continue
                listed.add(rel)
                expected.setdefault(rel, {})[alg] = digest
        except OSError as e:
            problems.append(f"{manifest.name}: unreadable: {one_line(str(e), 120)}")
        if manifest.name.startswith("manifest-"):
            payload_manifests.append(listed)
    data = os.path.join(root, "data")
    if os.path.islink(data) or not os.path.isdir(data):
        payload, walk_problems = [], ["data/ is missing or a symbolic link"]
    else:
        payload, walk_problems = _payload_files(root)
    problems.extend(walk_problems)
    for listed in payload_manifests:
        for rel in payload:
            if rel not in listed:
                problems.append(f"{one_line(rel, 120)}: not in every payload manifest")
                break
    checked = 0
    octets = 0
    for rel in sorted(expected):
        want = expected[rel]
        try:
            got, size = hash_file(os.path.join(root, rel), tuple(sorted(want)))
        except FileNotFoundError:
            problems.append(f"{one_line(rel, 120)}: missing")
            continue
        except OSError as e:
            problems.append(f"{one_line(rel, 120)}: unreadable ({one_line(e.strerror or str(e), 80)})")
            continue
        checked += 1
        if rel.startswith("data/"):
            octets += size
        for alg in sorted(want):
            if got[alg] != want[alg]:
                problems.append(f"{one_line(rel, 120)}: {alg} mismatch")
    try:
        info = dict((k.lower(), v) for k, v in catalog.parse_bag_info(catalog._read_capped(bag / "bag-info.txt", catalog.MAX_TAG_FILE).decode("utf-8", "replace")))
    except OSError:
        info = {}
    oxum = info.get("payload-oxum")
    if oxum and not problems:
        actual = f"{octets}.{len(payload)}"
        if oxum != actual:
            problems.append(f"bag-info.txt: Payload-Oxum {one_line(oxum, 40)} but the payload is {actual}")
    return checked, tuple(sorted(algs)), problems


def _check_one(bag: str) -> tuple[int, tuple[str, ...], list[str]]:
    return check_fixity(Path(bag))


def _checks(folders: list[Path], jobs: int | None):
    """check_fixity of each folder, in order; many bags run in a process pool (workers.py)."""
    from .workers import default_jobs, map_in_order

    # Small chunks: results come back in order, and the parent records each as it arrives.
    chunk = max(1, min(16, len(folders) // (default_jobs(jobs) * 4)))
    yield from map_in_order(_check_one, [str(f) for f in folders], jobs=jobs, label="audit", chunksize=chunk)


COMMIT_SECONDS = 1.0  # how long checks may wait in memory before they are committed together


class _Batch:
    """Catalog events written in groups: committed once COMMIT_SECONDS have passed since the last commit.

    A commit per bag is an fsync (or two) per bag on a real disk: for 100,000 bags
    that is minutes of waiting on the disk for a few KB of events.  The events wait in
    memory, not in an open transaction, so no lock on the catalog is held while a large
    bag is being hashed.  The last group is committed on the way out, also when the run
    is interrupted; a power cut loses the checks made since the last commit (those bags
    are simply checked again next time)."""

    def __init__(self, conn):
        self.conn = conn
        self.events: list[tuple] = []
        self.since = time.monotonic()

    def add(self, *event) -> None:
        """catalog.add_event(conn, *event), soon."""
        self.events.append(event)
        if time.monotonic() - self.since >= COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        self.since = time.monotonic()
        if not self.events:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for event in self.events:
                catalog.add_event(self.conn, *event)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.events = []


def audit(bags=None, catalog_path=None, *, older_than: str | None = None, jobs: int | None = None) -> catalog.Result:
    """Check fixity of every bag not checked within ``older_than`` (default: all) and record each check.

    Bags are hashed in ``jobs`` processes (default: the usable CPUs); the checks are recorded
    in this process, in bag-name order, committed in groups (``_Batch``)."""

    age = parse_age(older_than) if older_than else None
    conn, place, findings = catalog.open_current(bags, catalog_path)
    results = []
    try:
        stamp = catalog.now()
        cutoff = None
        if age is not None:
            cutoff = (_dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") - age).strftime("%Y-%m-%dT%H:%M:%SZ")
        last = catalog.last_events(conn, catalog.FIXITY)
        bag_rows = list(conn.execute("SELECT name, id FROM bags ORDER BY name"))
        due = [r for r in bag_rows if cutoff is None or r["name"] not in last or last[r["name"]]["datetime"] < cutoff]
        batch = _Batch(conn)
        try:
            for r, (n, algs, problems) in zip(due, _checks([place.bags / r["name"] for r in due], jobs)):
                outcome = "fail" if problems else "pass"
                shown = problems[:10] + ([f"... and {len(problems) - 10} more"] if len(problems) > 10 else [])
                detail = (f"{n} file(s) checked with {'+'.join(algs) or 'no algorithm'}: "
                          + ("all match" if not problems else "; ".join(shown)))
                batch.add(r["name"], r["id"], catalog.FIXITY, outcome, detail, stamp)
                results.append({"bag": r["name"], "id": r["id"], "outcome": outcome, "files": n, "algorithms": list(algs), "problems": problems, "datetime": stamp})
                if problems:
                    findings.append(Finding.of("FIX-E001", r["name"], "; ".join(shown)))
        finally:
            batch.commit()  # also when interrupted: the checks made are kept
        present = {r["name"] for r in bag_rows}
        for (name,) in conn.execute("SELECT DISTINCT bag FROM events WHERE derived=0 ORDER BY bag"):
            if name not in present:
                findings.append(Finding.of("FIX-W001", str(place.bags / name), "catalogued history exists but the bag folder is gone"))
    finally:
        conn.close()
    passed = sum(r["outcome"] == "pass" for r in results)
    skipped = len(bag_rows) - len(due)
    out = [f"{'ok  ' if r['outcome'] == 'pass' else 'FAIL'}  {one_line(r['bag'])}  ({r['files']} files)" for r in results]
    out.append(f"fixity: {passed} passed, {len(results) - passed} failed, {skipped} checked recently and skipped")
    data = {"catalog": str(place.catalog), "checked": results, "passed": passed, "failed": len(results) - passed, "skipped": skipped,
            "agent": catalog.AGENT, "eventType": catalog.FIXITY}
    return catalog.Result(data, out, findings)
