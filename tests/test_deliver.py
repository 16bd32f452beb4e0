"""export and receive: reproducible serialization, delivery manifests, streaming validation, receipts."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from lxml import etree

from archiver import archive, deliver, xmlsafe
from archiver.cli import cli

ROOT = Path(__file__).resolve().parent.parent
ARCHIVER = [sys.executable, "-m", "archiver"]
EPOCH = "1700000000"


def make_bag(folder: Path, name: str, text: str = "hello", **info) -> Path:
    bag = folder / name
    (bag / "objects").mkdir(parents=True)
    (bag / "objects" / "a.txt").write_text(text, encoding="utf-8")
    (bag / "objects" / "sub").mkdir()
    (bag / "objects" / "sub" / "é ü.txt").write_text(text * 3, encoding="utf-8")
    meta = {"Source-Organization": "Test Org", "External-Identifier": f"id-{name}", "External-Description": f"Title of {name}"}
    meta.update(info)
    bagit.make_bag(str(bag), meta, checksums=["sha256", "sha512"])
    return bag


@pytest.fixture
def bags(tmp_path) -> Path:
    folder = tmp_path / "bags"
    folder.mkdir()
    make_bag(folder, "bag-one", "first text")
    make_bag(folder, "bag-two", "second text")
    return folder


@pytest.fixture(autouse=True)
def epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- export --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", archive.FORMATS)
def test_export_writes_archives_and_delivery_manifest(bags, tmp_path, fmt):
    to = tmp_path / "delivery"
    out = deliver.export([str(bags)], to=str(to), format=fmt)
    assert out.exit_code == 0, list(out.lines())
    suffix = archive.SUFFIXES[fmt]
    assert sorted(os.listdir(to)) == sorted([f"bag-one{suffix}", f"bag-two{suffix}", "delivery.csv", "delivery.xml",
                                             "sha256sums.txt", "sha512sums.txt"])
    listed = deliver.read_manifest((to / "delivery.xml").read_bytes())
    assert [p["file"] for p in listed] == [f"bag-one{suffix}", f"bag-two{suffix}"]
    for p in listed:
        data = (to / p["file"]).read_bytes()
        assert p["sha256"] == hashlib.sha256(data).hexdigest()
        assert p["sha512"] == hashlib.sha512(data).hexdigest()
        assert p["size"] == str(len(data))
        assert p["identifier"] == f"id-{p['bag']}"
        assert p["title"] == f"Title of {p['bag']}"
    rows = list(csv.DictReader(open(to / "delivery.csv", encoding="utf-8", newline="")))
    assert [r["file"] for r in rows] == [p["file"] for p in listed]
    assert rows[0]["sha256"] == listed[0]["sha256"]


def test_payload_oxum_in_manifest_is_the_bags(bags, tmp_path):
    out = deliver.export([str(bags)], to=str(tmp_path / "d"), format="tar")
    info = (bags / "bag-one" / "bag-info.txt").read_text()
    oxum = next(line.split(": ", 1)[1] for line in info.splitlines() if line.startswith("Payload-Oxum"))
    assert out.packages[0].oxum == oxum


def test_sha256sum_accepts_the_checksum_file(bags, tmp_path):
    if not shutil.which("sha256sum"):
        pytest.skip("sha256sum not installed")
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar.gz")
    for tool, sums in (("sha256sum", "sha256sums.txt"), ("sha512sum", "sha512sums.txt")):
        r = subprocess.run([tool, "-c", sums], cwd=to, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.count(": OK") == 2


@pytest.mark.parametrize("fmt", archive.FORMATS)
def test_export_is_byte_identical_with_source_date_epoch(bags, tmp_path, fmt):
    a, b = tmp_path / "a", tmp_path / "b"
    deliver.export([str(bags)], to=str(a), format=fmt)
    # Touch the bag files: file-system times must not leak into the archive.
    for p in bags.rglob("*"):
        os.utime(p, (1, 1), follow_symlinks=False)
    deliver.export([str(bags)], to=str(b), format=fmt)
    assert tree_digest(a) == tree_digest(b)


def test_tar_members_are_normalized_and_ordered(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags / "bag-one")], to=str(to), format="tar.gz")
    raw = (to / "bag-one.tar.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip MTIME = 0
    assert not raw[3] & 0x08  # no FNAME flag: no file name in the header
    with tarfile.open(to / "bag-one.tar.gz") as tf:
        members = tf.getmembers()
    names = [m.name for m in members]
    assert names[:3] == ["bag-one", "bag-one/bagit.txt", "bag-one/bag-info.txt"]
    assert all(n == "bag-one" or n.startswith("bag-one/") for n in names)
    data_at = names.index("bag-one/data")
    assert all(not n.startswith("bag-one/data") for n in names[:data_at])  # tag files first
    assert names[data_at:] == sorted(names[data_at:], key=lambda n: n.split("/"))
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", int(EPOCH))
        assert m.mode == (0o755 if m.isdir() else 0o644)
        assert m.isdir() or m.isreg()


def test_zip_members_are_normalized(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags / "bag-two")], to=str(to), format="zip")
    with zipfile.ZipFile(to / "bag-two.zip") as zf:
        infos = zf.infolist()
    assert infos[0].filename == "bag-two/" and infos[1].filename == "bag-two/bagit.txt"
    for i in infos:
        assert i.date_time == (2023, 11, 14, 22, 13, 20)
        assert (i.external_attr >> 16) & 0o777 == (0o755 if i.is_dir() else 0o644)


def test_without_epoch_archives_still_do_not_depend_on_file_times(bags, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    deliver.export([str(bags)], to=str(tmp_path / "a"), format="tar")
    for p in bags.rglob("*"):
        os.utime(p, (5, 5), follow_symlinks=False)
    deliver.export([str(bags)], to=str(tmp_path / "b"), format="tar")
    assert (tmp_path / "a" / "bag-one.tar").read_bytes() == (tmp_path / "b" / "bag-one.tar").read_bytes()


def test_an_invalid_bag_stops_the_whole_export(bags, tmp_path):
    (bags / "bag-two" / "data" / "objects" / "a.txt").write_text("tampered")
    to = tmp_path / "d"
    out = deliver.export([str(bags)], to=str(to), format="tar")
    assert out.exit_code == 1 and not out.written
    assert not to.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".d.staging")]
    errs = [line for stream, line in out.lines() if stream == "err"]
    assert any("BAG-E013" in e and "bag-two" in e for e in errs)
    assert any("ARC-E011" in e for e in errs)


def test_export_never_overwrites(bags, tmp_path):
    to = tmp_path / "d"
    to.mkdir()
    (to / "keep.txt").write_text("mine")
    out = deliver.export([str(bags)], to=str(to), format="tar")
    assert out.exit_code == 1
    assert os.listdir(to) == ["keep.txt"]
    assert any("ARC-E010" in line for _, line in out.lines())


def test_export_into_an_existing_empty_folder(bags, tmp_path):
    to = tmp_path / "d"
    to.mkdir()
    assert deliver.export([str(bags)], to=str(to), format="zip").exit_code == 0
    assert (to / "delivery.xml").is_file()


def test_export_checks_a_library_profile_and_names_the_missing_field(bags, tmp_path):
    to = tmp_path / "d"
    out = deliver.export([str(bags)], to=str(to), format="tar", profile=str(ROOT / "tests/profiles/aptrust-like.json"))
    assert out.exit_code == 1 and not to.exists()
    errs = [line for stream, line in out.lines() if stream == "err"]
    assert any("PROF-E001" in e and "'Title'" in e for e in errs)
    assert any("PROF-E001" in e and "'Storage-Option'" in e for e in errs)
    assert not any("PROF-E015" in e for e in errs)  # judged as the tar it becomes, not as a folder


def test_export_to_an_accepted_library_profile(tmp_path):
    folder = tmp_path / "bags"
    folder.mkdir()
    make_bag(folder, "b", Title="T", Access="Institution", **{"Storage-Option": "Standard"})
    out = deliver.export([str(folder)], to=str(tmp_path / "d"), format="tar",
                         profile=str(ROOT / "tests/profiles/aptrust-like.json"))
    assert out.exit_code == 0, list(out.lines())
    out = deliver.export([str(folder)], to=str(tmp_path / "z"), format="zip",
                         profile=str(ROOT / "tests/profiles/aptrust-like.json"))
    assert out.exit_code == 1 and any("PROF-E017" in line for _, line in out.lines())


# --- receive ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", archive.FORMATS)
def test_round_trip_export_receive_validate(bags, tmp_path, fmt):
    to, into = tmp_path / "d", tmp_path / "library"
    assert deliver.export([str(bags)], to=str(to), format=fmt).exit_code == 0
    before = tree_digest(to)
    out = deliver.receive(str(to), into=str(into))
    assert out.exit_code == 0, list(out.lines())
    assert all(a.fixity_ok and a.manifest_checked and a.valid for a in out.arrivals)
    for name in ("bag-one", "bag-two"):
        assert tree_digest(into / name) == tree_digest(bags / name)
    assert tree_digest(to) == before  # the delivery is never changed
    assert not [p for p in into.iterdir() if p.name.startswith(".archiver-receive-")]  # no staging left
    assert bagit.Bag(str(into / "bag-one")).is_valid()
    from archiver import validate

    assert validate.validate([str(into)]).exit_code == 0


def test_receive_without_into_unpacks_nothing(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar")
    listing = sorted(os.listdir(tmp_path))
    out = deliver.receive(str(to))
    assert out.exit_code == 0
    assert sorted(os.listdir(tmp_path)) == sorted(listing + ["d.receipt.json", "d.receipt.xml"])


def test_checksum_mismatch_against_the_delivery_manifest(bags, tmp_path):
    to, into = tmp_path / "d", tmp_path / "lib"
    deliver.export([str(bags)], to=str(to), format="zip")
    data = bytearray((to / "bag-one.zip").read_bytes())
    data[-30] ^= 0xFF  # inside the end-of-central-directory comment area: still a readable zip
    (to / "bag-one.zip").write_bytes(bytes(data))
    out = deliver.receive(str(to), into=str(into))
    assert out.exit_code == 1
    bad = next(a for a in out.arrivals if a.file == "bag-one.zip")
    assert bad.fixity_ok is False and any(f.code == "ARC-E022" for f in bad.findings)
    assert not into.exists()  # a failed receive leaves the target as it was


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_a_parallel_export_writes_what_a_serial_one_does(tmp_path, fmt):
    # Bags are validated and serialized in worker processes (deliver.export, jobs); the delivery,
    # its order and its findings must not depend on it.
    folder = tmp_path / "bags"
    folder.mkdir()
    for i in (3, 0, 4, 1, 2):
        make_bag(folder, f"bag-{i}", f"text {i}")
    runs = {}
    for jobs in (1, 2):
        out = deliver.export([str(folder)], to=str(tmp_path / f"d{jobs}"), format=fmt, jobs=jobs)
        assert out.exit_code == 0, list(out.lines())
        runs[jobs] = {k: v for k, v in out.to_json().items() if k != "delivery"}
    assert runs[1] == runs[2]
    assert [p["bag"] for p in runs[2]["packages"]] == [f"bag-{i}" for i in range(5)]
    assert tree_digest(tmp_path / "d1") == tree_digest(tmp_path / "d2")
    # An invalid bag is found by a worker just as it is here, and stops the delivery.
    (folder / "bag-3" / "data" / "objects" / "a.txt").write_text("tampered")
    failed = {}
    for jobs in (1, 2):
        out = deliver.export([str(folder)], to=str(tmp_path / f"e{jobs}"), format=fmt, jobs=jobs)
        assert out.exit_code == 1 and not (tmp_path / f"e{jobs}").exists()
        failed[jobs] = [(b, f.code, f.path) for b, f in out.findings]
    assert failed[1] == failed[2] and ("BAG-E013", "data/objects/a.txt") in [(c, p) for _, c, p in failed[2]]


def test_a_parallel_receive_finds_what_a_serial_one_does(tmp_path):
    # Archives are examined in worker processes (deliver._examine_all); the outcome must not depend on it.
    folder = tmp_path / "bags"
    folder.mkdir()
    for i in range(5):
        make_bag(folder, f"bag-{i}", f"text {i}")
    to = tmp_path / "d"
    deliver.export([str(folder)], to=str(to), format="tar")
    data = bytearray((to / "bag-2.tar").read_bytes())
    data[data.index(b"text 2")] ^= 0x01  # a payload byte: the archive's checksum and the bag's fixity both fail
    (to / "bag-2.tar").write_bytes(bytes(data))
    runs = {}
    for jobs in (1, 2):
        out = deliver.receive(str(to), jobs=jobs, receipt_dir=str(tmp_path / f"r{jobs}"))
        runs[jobs] = {k: v for k, v in out.to_json().items() if k not in ("received_at", "receipt")}
        assert out.exit_code == 1
    assert runs[1] == runs[2]
    bad = [a for a in runs[2]["archives"] if not a["valid"]]
    assert [a["file"] for a in bad] == ["bag-2.tar"] and len(runs[2]["archives"]) == 5


def test_missing_and_unlisted_archives(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar")
    (to / "bag-two.tar").rename(to / "bag-three.tar")
    out = deliver.receive(str(to))
    found = {f.code for f in out.findings} | {f.code for a in out.arrivals for f in a.findings}
    assert {"ARC-E021", "ARC-E023"} <= found and out.exit_code == 1


def test_hostile_delivery_manifest_is_refused(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar")
    (to / "delivery.xml").write_text('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>')
    out = deliver.receive(str(to))
    assert out.exit_code == 1 and any(f.code == "ARC-E020" for f in out.findings)


def test_manifest_names_that_escape_are_refused(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar")
    xml = (to / "delivery.xml").read_text().replace('file="bag-one.tar"', 'file="../../etc/passwd"')
    (to / "delivery.xml").write_text(xml)
    out = deliver.receive(str(to))
    assert out.exit_code == 1 and any(f.code == "ARC-E024" for f in out.findings)


def test_a_lone_archive_is_validated_and_the_receipt_says_no_manifest(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar.gz")
    lone = tmp_path / "bag-one.tar.gz"
    shutil.copy(to / "bag-one.tar.gz", lone)
    out = deliver.receive(str(lone), into=str(tmp_path / "lib"))
    assert out.exit_code == 0
    doc = out.to_json()
    assert doc["manifest_checked"] is False
    assert any(f["code"] == "ARC-I001" for f in doc["findings"])
    xml = Path(out.receipt["xml"]).read_text()
    assert "no delivery manifest was checked" in xml
    assert (tmp_path / "lib" / "bag-one" / "bagit.txt").is_file()


def test_an_invalid_bag_inside_an_archive_is_reported_without_unpacking(tmp_path):
    folder = tmp_path / "bags"
    folder.mkdir()
    bag = make_bag(folder, "bad")
    victim = bag / "data" / "objects" / "a.txt"
    data = bytearray(victim.read_bytes())
    data[0] ^= 0x20  # same size, one byte changed: only fixity can tell
    victim.write_bytes(bytes(data))
    archive.serialize(str(bag), str(tmp_path / "bad.tar"), "tar", int(EPOCH))
    out = deliver.receive(str(tmp_path / "bad.tar"), into=str(tmp_path / "lib"))
    assert out.exit_code == 1
    assert any(f.code == "BAG-E013" and f.path == "data/objects/a.txt" for f in out.arrivals[0].findings)
    assert not (tmp_path / "lib").exists()


def test_an_existing_bag_in_the_target_is_never_replaced(bags, tmp_path):
    to, into = tmp_path / "d", tmp_path / "lib"
    deliver.export([str(bags)], to=str(to), format="tar")
    (into / "bag-two").mkdir(parents=True)
    (into / "bag-two" / "mine.txt").write_text("keep")
    out = deliver.receive(str(to), into=str(into))
    assert out.exit_code == 1
    assert sorted(os.listdir(into)) == ["bag-two"]  # bag-one was not unpacked either: all or nothing
    assert os.listdir(into / "bag-two") == ["mine.txt"]


def test_special_files_in_a_delivery_are_never_opened(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar")
    os.mkfifo(to / "extra.tar")
    (to / "link.tar").symlink_to(to / "bag-one.tar")
    out = deliver.receive(str(to))  # would hang on the FIFO if it were opened
    assert out.exit_code == 1
    bad = {a.file: [f.code for f in a.findings] for a in out.arrivals}
    assert "ARC-E025" in bad["extra.tar"] and "ARC-E025" in bad["link.tar"]


# --- receipts -----------------------------------------------------------------------------------


def test_receipt_premis_is_deterministic_and_has_the_events(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar")
    r1 = deliver.receive(str(to), receipt_dir=str(tmp_path / "r1"))
    r2 = deliver.receive(str(to), receipt_dir=str(tmp_path / "r2"))
    x1, x2 = Path(r1.receipt["xml"]).read_bytes(), Path(r2.receipt["xml"]).read_bytes()
    assert x1 == x2
    doc = xmlsafe.parse(x1)
    ns = {"p": deliver.PREMIS_NS}
    types = [e.text for e in doc.findall(".//p:event/p:eventType", ns)]
    assert types.count("fixity check") == 2 and types.count("validation") == 2 and types.count("transfer") == 1
    outcomes = {e.text for e in doc.findall(".//p:eventOutcome", ns)}
    assert outcomes == {"pass"}
    ids = [e.text for e in doc.findall(".//p:eventIdentifierValue", ns)]
    assert len(ids) == len(set(ids))
    j = json.loads(Path(r1.receipt["json"]).read_text())
    assert j["ok"] is True and j["summary"]["archives"] == 2


def test_delivery_manifests_written_part_by_part_are_what_whole_documents_give(tmp_path):
    # delivery.xml and delivery.csv are streamed one package at a time; their bytes must be lxml's
    # pretty print of the whole tree, and the csv module's rows, for titles that need escaping.
    folder = tmp_path / "bags"
    folder.mkdir()
    titles = ["a <b> & \"c\"\r\x01 ünï", "=1+2", "line\nbreak, \"quoted\"", "plain"]
    for i, title in enumerate(titles):
        make_bag(folder, f"bag-{i}", f"text {i}", **{"External-Description": title})
    out = deliver.export([str(folder)], to=str(tmp_path / "d"), format="tar")
    assert out.exit_code == 0, list(out.lines())
    xml = (tmp_path / "d" / "delivery.xml").read_bytes()
    whole = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True))
    assert xml == etree.tostring(whole, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    assert [p["title"] for p in deliver.read_manifest(xml)] == [deliver._xml_text(p.title) for p in out.packages]
    assert any("<b> &" in p.title for p in out.packages)  # the escaping was needed
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["file", "bag", "identifier", "title", "size", "payload_oxum", "media_type", "sha256", "sha512"])
    for p in out.packages:
        w.writerow([p.file, p.bag, deliver._csv_cell(p.identifier), deliver._csv_cell(p.title), p.size, p.oxum,
                    p.media_type, p.digests["sha256"], p.digests["sha512"]])
    assert (tmp_path / "d" / "delivery.csv").read_bytes() == buf.getvalue().encode("utf-8")
    assert (tmp_path / "d" / "sha256sums.txt").read_text() == "".join(f"{p.digests['sha256']}  {p.file}\n" for p in out.packages)


@pytest.mark.parametrize("archives", [0, 3])
def test_receipts_written_part_by_part_are_what_whole_documents_give(tmp_path, archives):
    # The receipt files are streamed (one PREMIS object or event at a time, one archive of the JSON at a
    # time); their bytes must be lxml's pretty print of the whole tree and json.dumps of the whole outcome.
    folder = tmp_path / "bags"
    folder.mkdir()
    for i in range(archives):
        make_bag(folder, f"bag-{i}", f"text {i}", **{"External-Description": "a <b> & \"c\"\r\x01 ünï"})
    to = tmp_path / "d"
    if archives:
        deliver.export([str(folder)], to=str(to), format="tar")
        data = bytearray((to / "bag-1.tar").read_bytes())
        data[data.index(b"text 1")] ^= 0x01  # findings, with their notes, for one archive
        (to / "bag-1.tar").write_bytes(bytes(data))
        (to / "odd &<name>\x7f.tar").write_bytes(b"not an archive")
    else:
        to.mkdir()
    out = deliver.receive(str(to), receipt_dir=str(tmp_path / "r"))
    xml = Path(out.receipt["xml"]).read_bytes()
    whole = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True))
    assert xml == etree.tostring(whole, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    assert xml == deliver.receipt_premis(out)
    text = Path(out.receipt["json"]).read_text(encoding="utf-8")
    assert text == json.dumps(out.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def test_receipt_records_ingestion_and_failures(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="zip")
    out = deliver.receive(str(to), into=str(tmp_path / "lib"))
    xml = Path(out.receipt["xml"]).read_text()
    assert Path(out.receipt["xml"]).parent == tmp_path / "lib"
    assert xml.count("<premis:eventType>ingestion</premis:eventType>") == 2
    data = bytearray((to / "bag-two.zip").read_bytes())
    data[100] ^= 1
    (to / "bag-two.zip").write_bytes(bytes(data))
    out = deliver.receive(str(to), receipt_dir=str(tmp_path / "r"))
    xml = Path(out.receipt["xml"]).read_text()
    assert "<premis:eventOutcome>fail</premis:eventOutcome>" in xml and "ARC-E022" in xml


def test_receipt_is_valid_premis_3(bags, tmp_path, shared):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar.gz")
    out = deliver.receive(str(to), into=str(tmp_path / "lib"))
    r = subprocess.run([sys.executable, str(shared / "tools" / "validate-xml"), out.receipt["xml"]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ": OK" in r.stdout


# --- the command line -------------------------------------------------------------------------------


def test_cli_export_and_receive_json(bags, tmp_path):
    runner = CliRunner()
    to = tmp_path / "d"
    r = runner.invoke(cli, ["export", str(bags), "--to", str(to), "--format", "zip", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["written"] is True and len(doc["packages"]) == 2
    r = runner.invoke(cli, ["receive", str(to), "--json", "--receipt-dir", str(tmp_path / "receipts")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["receipt"]["xml"] == str(tmp_path / "receipts" / "d.receipt.xml")
    assert json.loads((tmp_path / "receipts" / "d.receipt.json").read_text())["ok"] is True
    assert doc["ok"] is True and doc["manifest_checked"] is True
    assert all(a["fixity_ok"] for a in doc["archives"])


def test_subprocess_round_trip_and_clear_errors(bags, tmp_path):
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    to = tmp_path / "d"
    r = subprocess.run(ARCHIVER + ["export", str(bags), "--to", str(to), "--format", "tar.gz"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "delivery" in r.stdout and "2 packages" in r.stdout
    r = subprocess.run(ARCHIVER + ["receive", str(to), "--into", str(tmp_path / "lib")],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 archives: 2 valid, 0 invalid" in r.stdout
    r = subprocess.run(ARCHIVER + ["receive", str(tmp_path / "nope")], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


# --- the seeds, end to end --------------------------------------------------------------------------


def test_seeds_package_export_receive_validate(seeds_dir, tmp_path, xsd_dir, monkeypatch):
    package = pytest.importorskip("archiver.package")
    from archiver import validate

    out = package.package([str(seeds_dir)], out=str(tmp_path / "bags"), jobs=1)
    assert out.exit_code == 0, list(out.lines())
    bags_made = sorted(os.listdir(tmp_path / "bags"))
    bags_made = [b for b in bags_made if not b.startswith(".")]
    assert len(bags_made) == len(list(seeds_dir.glob("*.txt")))
    exported = deliver.export([str(tmp_path / "bags")], to=str(tmp_path / "d"), format="tar.gz", schemas=str(xsd_dir))
    assert exported.exit_code == 0, list(exported.lines())
    received = deliver.receive(str(tmp_path / "d"), into=str(tmp_path / "lib"), schemas=str(xsd_dir))
    assert received.exit_code == 0, list(received.lines())
    assert all(a.valid and a.fixity_ok for a in received.arrivals)
    for b in bags_made:
        assert tree_digest(tmp_path / "lib" / b) == tree_digest(tmp_path / "bags" / b)
    assert validate.validate([str(tmp_path / "lib")], schemas=str(xsd_dir)).exit_code == 0


# --- properties: an archive reads back as the folder it came from --------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from archiver.tree import DirTree  # noqa: E402

_name = st.text(st.sampled_from("abcXYZ019 _-.éж"), min_size=1, max_size=8).filter(lambda s: s not in (".", "..") and s.strip() == s)
_trees = st.dictionaries(st.lists(_name, min_size=1, max_size=3).map(lambda parts: "data/" + "/".join(parts)),
                         st.binary(max_size=3000), min_size=1, max_size=6)


def _consistent(files: dict[str, bytes]) -> bool:
    """No path is both a file and a folder."""
    return not any(other.startswith(p + "/") for p in files for other in files)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_trees.filter(_consistent), fmt=st.sampled_from(archive.FORMATS),
       manifests=st.sampled_from([(), ("sha256",), ("sha512", "sha256"), ("md5",)]))
def test_archive_tree_reads_back_what_the_folder_holds(tmp_path_factory, files, fmt, manifests):
    base = tmp_path_factory.mktemp("prop")
    bag = base / "b"
    for rel, data in files.items():
        (bag / rel).parent.mkdir(parents=True, exist_ok=True)
        (bag / rel).write_bytes(data)
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    for alg in manifests:  # their names tell the scan which algorithms to hash with (ArchiveTree prehash)
        (bag / f"manifest-{alg}.txt").write_bytes(b"")
    dest = base / ("b" + archive.SUFFIXES[fmt])
    archive.serialize(str(bag), str(dest), fmt, 1_700_000_000)
    again = base / ("again" + archive.SUFFIXES[fmt])
    archive.serialize(str(bag), str(again), fmt, 1_700_000_000)
    assert dest.read_bytes() == again.read_bytes()
    folder, packed = DirTree(str(bag)), archive.ArchiveTree(str(dest)).scan()
    assert sorted((e.path, e.kind, e.size) for e in packed.entries()) == sorted((e.path, e.kind, e.size) for e in folder.entries())
    paths = sorted(files)
    assert dict(packed.digests(paths, ["sha256", "sha512"])) == dict(folder.digests(paths, ["sha256", "sha512"]))
    assert packed.read("bagit.txt", 1000) == folder.read("bagit.txt", 1000)
    # Digests made during the scan are those, in the order, of a second pass over the archive.
    unhashed = archive.ArchiveTree(str(dest), prehash=False).scan()
    for algs in (["sha256", "sha512"], ["sha256"], ["md5"]):
        assert list(packed.digests(paths, algs)) == list(unhashed.digests(paths, algs))


def test_digests_of_an_archive_with_its_payload_before_its_manifests(tmp_path):
    # Someone else's tar: payload first, so the scan hashes nothing (it has seen no manifest yet)
    # and digests() reads the archive again; the result is the same either way.
    bag = tmp_path / "b"
    make_bag(tmp_path, "b", "some text")
    dest = tmp_path / "b.tar"
    with tarfile.open(dest, "w") as tf:
        for p in sorted(bag.rglob("*"), key=lambda p: (not str(p.relative_to(bag)).startswith("data"), str(p))):
            tf.add(p, arcname=f"b/{p.relative_to(bag)}", recursive=False)
    packed = archive.ArchiveTree(str(dest)).scan()
    assert packed._hashed == {}
    paths = ["data/objects/a.txt", "data/objects/sub/é ü.txt"]
    assert list(packed.digests(paths, ["sha256"])) == list(DirTree(str(bag)).digests(paths, ["sha256"]))
    ours = tmp_path / "ours.tar"
    archive.serialize(str(bag), str(ours), "tar", 1_700_000_000)
    assert set(archive.ArchiveTree(str(ours), name="b").scan()._hashed) == set(paths)


def test_a_symlinked_delivery_path_typed_by_the_user_is_followed_once(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="tar")
    (tmp_path / "mnt").symlink_to(to)
    out = deliver.receive(str(tmp_path / "mnt"), into=str(tmp_path / "lib"))
    assert out.exit_code == 0, list(out.lines())
    assert sorted(p.name for p in (tmp_path / "lib").iterdir() if not p.name.startswith(".")) == [
        "bag-one", "bag-two", "mnt.receipt.json", "mnt.receipt.xml"]


def test_a_folder_without_a_delivery_manifest_is_validated_on_its_own(bags, tmp_path):
    to = tmp_path / "d"
    deliver.export([str(bags)], to=str(to), format="zip")
    (to / "delivery.xml").unlink()
    out = deliver.receive(str(to))
    assert out.exit_code == 0, list(out.lines())
    assert out.manifest is None and all(a.fixity_ok is None and a.valid for a in out.arrivals)
    assert any(f.code == "ARC-I001" for f in out.findings)
    assert "no delivery manifest checked" in list(out.lines())[-1][1]


def test_failure_receipts_are_valid_premis_3_too(tmp_path, shared):
    from tests import hostile_archives as H

    empty = tmp_path / "empty-delivery"
    empty.mkdir()
    hostile = H.zip_slip(tmp_path / "bag.zip")
    for target in (empty, hostile):
        out = deliver.receive(str(target), receipt_dir=str(tmp_path / "r"))
        assert out.exit_code == 1
        r = subprocess.run([sys.executable, str(shared / "tools" / "validate-xml"), out.receipt["xml"]],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "<premis:eventOutcome>fail</premis:eventOutcome>" in Path(out.receipt["xml"]).read_text()


def test_a_killed_runs_staging_is_cleared_by_the_next_run(bags, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # that process has exited
    stale = tmp_path / f".d.staging-{pid}-abc"
    stale.mkdir()
    (stale / "half.tar").write_bytes(b"partial")
    live = tmp_path / f".d.staging-{os.getppid()}-xyz"  # a live process's: kept
    live.mkdir()
    assert deliver.export([str(bags)], to=str(tmp_path / "d"), format="tar").exit_code == 0
    assert not stale.exists() and live.exists()


def test_xml_text_and_member_name_checks_match_their_plain_rules_on_every_code_point():
    # Both are regexes for speed (docs/performance.md); the plain per-character rules they replace
    # are the reference, checked here on every Unicode code point (surrogates included).
    every = "".join(map(chr, range(0x110000)))
    plain = "".join(c if c in "\t\n\r" or ord(c) >= 32 and not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff"
                    else "\\x%02x" % ord(c) for c in every)
    assert deliver._xml_text(every) == plain
    controls = {c for c in every if ord(c) < 32 or ord(c) == 127}
    assert {m.group() for m in archive._CONTROL.finditer(every)} == controls
