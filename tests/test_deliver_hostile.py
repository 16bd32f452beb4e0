"""Hostile archives: every class is refused with a clear error, nothing is written outside the
target (or at all), and nothing hangs.  Builders live in tests/hostile_archives.py."""

from __future__ import annotations

import posixpath
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import hostile_archives as H
from archiver import archive, deliver


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("attack", sorted(H.ATTACKS))
def test_hostile_archive_is_refused_and_nothing_is_written(attack, tmp_path):
    build, filename, code = H.ATTACKS[attack]
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    path = build(incoming / filename)
    target = tmp_path / "library"
    before = snapshot(tmp_path)
    out = deliver.receive(str(path), into=str(target))
    assert out.exit_code == 1
    found = [f for a in out.arrivals for f in a.findings] + out.findings
    assert code in {f.code for f in found}, [f.line() for f in found]
    for f in found:  # clear: one line each, never a traceback
        assert "\n" not in f.line() and "Traceback" not in f.line()
    # The target was never created, and nothing at all was written (the receipt is the JSON output).
    assert not target.exists()
    assert snapshot(tmp_path) == before
    assert out.to_json()["ok"] is False
    for escaped in ("evil.txt", "archiver-evil-absolute.txt", "archiver-evil-zip-absolute.txt"):
        assert not (tmp_path / escaped).exists() and not (tmp_path.parent / escaped).exists()
        assert not Path("/tmp", escaped).exists()


@pytest.mark.parametrize("attack", ["tar-dotdot", "zip-symlink", "gzip-bomb", "tar-wrong-top"])
def test_hostile_archive_through_the_command_line(attack, tmp_path):
    build, filename, code = H.ATTACKS[attack]
    path = build(tmp_path / filename)
    r = subprocess.run([sys.executable, "-m", "archiver", "receive", str(path), "--into", str(tmp_path / "lib")],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1
    assert code in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "lib").exists()


def test_an_existing_target_is_left_exactly_as_it_was(tmp_path):
    target = tmp_path / "library"
    (target / "old-bag").mkdir(parents=True)
    (target / "old-bag" / "file").write_text("keep")
    before = {p: p.read_bytes() if p.is_file() else None for p in target.rglob("*")}
    path = H.tar_symlink_then_write(tmp_path / "bag.tar")
    assert deliver.receive(str(path), into=str(target), receipt_dir=str(tmp_path)).exit_code == 1
    assert {p: p.read_bytes() if p.is_file() else None for p in target.rglob("*")} == before


def test_member_count_limit(tmp_path):
    for build, name in ((H.tar_many_members, "bag.tar"), (H.zip_many_members, "bag.zip")):
        path = build(tmp_path / name, n=300)
        small = archive.Limits(max_members=100)
        out = deliver.receive(str(path), into=str(tmp_path / "lib"), limits=small, receipt_dir=str(tmp_path))
        assert out.exit_code == 1
        assert "ARC-E007" in {f.code for f in out.arrivals[0].findings}
        assert not (tmp_path / "lib").exists()
        (tmp_path / name).unlink()


def test_total_size_limit_counts_real_bytes(tmp_path):
    path = H._tar(tmp_path / "bag.tar", [H._tar_file("bag/data/big.bin", b"x" * 300_000)])
    out = deliver.receive(str(path), limits=archive.Limits(max_total_bytes=200_000), receipt_dir=str(tmp_path))
    assert "ARC-E008" in {f.code for f in out.arrivals[0].findings}


def test_many_small_zip_members_cannot_add_up_to_a_bomb(tmp_path):
    path = H.zip_spread_bomb(tmp_path / "bag.zip")
    limits = archive.Limits(ratio_floor=8 << 20)  # each member (1 MiB) is under the floor on its own
    out = deliver.receive(str(path), limits=limits, receipt_dir=str(tmp_path))
    assert "ARC-E008" in {f.code for f in out.arrivals[0].findings}


def test_a_valid_hand_built_archive_is_accepted(tmp_path):
    """The builders' base bag is valid: refusals above are due to the attack alone."""
    for name, build in (("bag.tar", lambda p: H._tar(p, [])), ("bag.zip", lambda p: H._zip(p, [])),
                        ("bag.tar.gz", lambda p: H._tar(p, [], gz=True))):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        path = build(folder / name)
        out = deliver.receive(str(path), into=str(folder / "lib"))
        assert out.exit_code == 0, list(out.lines())
        assert (folder / "lib" / "bag" / "data" / "hello.txt").read_bytes() == b"hello, library\n"


def test_a_folder_delivery_with_one_hostile_archive_unpacks_nothing(tmp_path):
    good = H._tar(tmp_path / "good.tar", [], name="good")
    H.tar_hardlink(tmp_path / "bag.tar")
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    for p in (good, tmp_path / "bag.tar"):
        p.rename(delivery / p.name)
    out = deliver.receive(str(delivery), into=str(tmp_path / "lib"))
    assert out.exit_code == 1
    assert not (tmp_path / "lib").exists()  # not even the good one: all or nothing
    states = {a.file: a.valid for a in out.arrivals}
    assert states == {"good.tar": True, "bag.tar": False}


def test_streaming_validation_reads_each_archive_a_bounded_number_of_times(tmp_path, monkeypatch):
    path = H._tar(tmp_path / "bag2.tar", [], name="bag2")
    calls = []
    real = archive.members

    def counting(*a, **k):
        calls.append(a[0])
        return real(*a, **k)

    monkeypatch.setattr(archive, "members", counting)
    out = deliver.receive(str(path))
    assert out.exit_code == 0
    assert len(calls) <= 2  # one scan, at most one hashing pass; never a pass per file


_segment = st.sampled_from(["bag", "..", ".", "", "data", "a", "..\\x", "C:", "~", "\x00", "é", "bag-evil", "/"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_segment, min_size=1, max_size=6).map("/".join), st.sampled_from(["file", "dir"]))
def test_an_admitted_member_name_always_lands_inside_the_bag(name, kind):
    gate = archive._Gate("bag", archive.DEFAULT_LIMITS)
    try:
        rel = gate.admit(name, kind)
    except archive.Refused as e:
        assert e.code.startswith("ARC-E") and "\n" not in e.message
        return
    if rel is None:
        return
    landed = posixpath.normpath(posixpath.join("/target/bag", rel))
    assert landed.startswith("/target/bag/")
    assert "\\" not in rel and "\x00" not in rel and ".." not in rel.split("/")


def test_a_failed_receive_can_still_keep_its_receipt_elsewhere(tmp_path):
    path = H.zip_symlink(tmp_path / "bag.zip")
    out = deliver.receive(str(path), into=str(tmp_path / "lib"), receipt_dir=str(tmp_path / "receipts"))
    assert out.exit_code == 1 and not (tmp_path / "lib").exists()
    xml = (tmp_path / "receipts" / "bag.zip.receipt.xml").read_text()
    assert "ARC-E004" in xml and "<premis:eventOutcome>fail</premis:eventOutcome>" in xml


# --- the plain checksum files, zip directories, one-line output (fixes beyond the red-team cases) ---


def _delivery(tmp_path: Path) -> Path:
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    H._tar(delivery / "bag.tar", [])
    return delivery


def test_a_lying_sha512sums_txt_is_an_error_naming_the_file(tmp_path):
    delivery = _delivery(tmp_path)
    (delivery / "sha512sums.txt").write_text("0" * 128 + "  bag.tar\n")
    out = deliver.receive(str(delivery), into=str(tmp_path / "a" / "lib"))
    assert out.exit_code == 1 and not (tmp_path / "a").exists()
    assert any(f.code == "ARC-E022" and "sha512sums.txt" in f.message for f in out.arrivals[0].findings)


def test_a_sums_file_listing_a_missing_archive_is_an_error(tmp_path):
    delivery = _delivery(tmp_path)
    import hashlib

    digest = hashlib.sha256((delivery / "bag.tar").read_bytes()).hexdigest()
    (delivery / "sha256sums.txt").write_text(f"{digest}  bag.tar\n{'1' * 64}  gone.tar\n")
    out = deliver.receive(str(delivery))
    assert out.exit_code == 1
    assert [f.path for f in out.findings if f.code == "ARC-E021"] == ["sha256sums.txt"]
    assert out.arrivals[0].valid  # the archive itself matched


@pytest.mark.parametrize("text", ["0" * 64 + " bag.tar\n", "0" * 63 + "  bag.tar\n", "0" * 64 + "  ../bag.tar\n",
                                  "0" * 64 + "  sub/bag.tar\n", "z" * 64 + "  bag.tar\n"])
def test_a_malformed_sums_file_is_an_error(tmp_path, text):
    delivery = _delivery(tmp_path)
    (delivery / "sha256sums.txt").write_text(text)
    out = deliver.receive(str(delivery))
    assert out.exit_code == 1
    assert any(f.code == "ARC-E020" and f.path == "sha256sums.txt" and "\n" not in f.line() for f in out.findings)


def test_zip_end_record_declaring_more_entries_than_held_is_refused(tmp_path):
    path = H._zip(tmp_path / "bag.zip", [])
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 10:eocd + 12] = (int.from_bytes(data[eocd + 10:eocd + 12], "little") + 1).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    out = deliver.receive(str(path))
    assert out.exit_code == 1 and "ARC-E001" in {f.code for f in out.arrivals[0].findings}


def test_zip_member_limit_is_checked_on_the_directory_before_zipfile_reads_it(tmp_path, monkeypatch):
    """The end record says 1 entry: only walking the directory itself finds the 300 (zipfile would build them all)."""
    path = H.zip_many_members(tmp_path / "bag.zip", n=300)
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 8:eocd + 12] = (1).to_bytes(2, "little") * 2
    path.write_bytes(bytes(data))
    monkeypatch.setattr(archive.zipfile, "ZipFile", lambda *a, **k: pytest.fail("zipfile opened first"))
    with pytest.raises(archive.Refused) as e:
        list(archive.members(str(path), "zip", "bag", archive.Limits(max_members=100)))
    assert e.value.code == "ARC-E007"


def test_bag_and_file_names_cannot_forge_lines_anywhere(tmp_path):
    """Receive findings built from bag names (ARC-E027 names the target path), export lines and receipt notes."""
    evil = "x\nvalid bag.tar (fixity ok)"
    out = deliver.ReceiveOutcome(delivery=str(tmp_path), into=str(tmp_path), manifest=None)
    a = deliver.Arrival(file=evil + ".tar", path=str(tmp_path / "nowhere"), bag=evil)
    a.findings.append(deliver.Finding.of("ARC-E027", "", f"{tmp_path / evil} already exists; nothing was unpacked"))
    out.arrivals.append(a)
    exp = deliver.ExportOutcome(to=str(tmp_path / "d"), format="tar", written=True)
    exp.packages.append(deliver.Package(evil + ".tar", evil, "id", "t", 1, "1.1", "application/x-tar",
                                        {"sha256": "0" * 64, "sha512": "0" * 128}))
    exp.findings.append((str(tmp_path / evil), deliver.Finding.of("ARC-E011", "", "invalid bag: not exported")))
    for _, line in list(out.lines()) + list(exp.lines()):
        assert "\n" not in line and "\r" not in line
    from lxml import etree

    notes = etree.fromstring(deliver.receipt_premis(out)).iter("{%s}eventOutcomeDetailNote" % deliver.PREMIS_NS)
    assert all("\n" not in (n.text or "") for n in notes)
