"""Red team: hostile archives and deliveries for ``archiver receive`` (beyond tests/test_deliver_hostile.py).

Every case runs the real command in a subprocess with a timeout and checks: the exit code, no
traceback, nothing written outside the target, and a failed receive leaves the target exactly as
it was.  Archives are built by hand in tmp_path, each around a small VALID bag, so a refusal can
only come from the attack.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# --- builders --------------------------------------------------------------------------------


def bag_members(name: str = "bag", extra: dict[str, bytes] | None = None) -> list[tuple[str, bytes]]:
    """A valid BagIt 1.0 bag as (archive path, bytes): payload paths are bag-relative ('data/...')."""
    payload = {"data/hello.txt": b"hello, library\n", **(extra or {})}
    manifest = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in sorted(payload.items())).encode()
    bagit = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    info = f"Bagging-Date: 2024-05-01\nPayload-Oxum: {sum(map(len, payload.values()))}.{len(payload)}\n".encode()
    files = {"bagit.txt": bagit, "bag-info.txt": info, "manifest-sha256.txt": manifest, **payload}
    return [(f"{name}/{k}", v) for k, v in files.items()]


def tinfo(name: str, data: bytes = b"", type_=tarfile.REGTYPE) -> tuple[tarfile.TarInfo, io.BytesIO | None]:
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.size = len(data) if type_ == tarfile.REGTYPE else 0
    ti.mode = 0o644
    return ti, (io.BytesIO(data) if type_ == tarfile.REGTYPE else None)


def make_tar(dest: Path, members, *, fmt=tarfile.PAX_FORMAT, gz: bool = False) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for m in members:
            if isinstance(m, tuple) and isinstance(m[0], str):
                tf.addfile(*tinfo(*m))
            else:
                tf.addfile(*m)
    data = buf.getvalue()
    dest.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return dest


def make_zip(dest: Path, members, *, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(dest, "w", compression=compression) as zf:
        for m in members:
            if isinstance(m[0], zipfile.ZipInfo):
                zf.writestr(m[0], m[1])
            else:
                zf.writestr(*m)
    return dest


def receive(delivery: Path, into: Path | None, cwd: Path, timeout: int = 60, env=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "archiver", "receive", str(delivery)] + (["--into", str(into)] if into else [])
    e = dict(os.environ, PYTHONPATH=str(ROOT))
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=e)


def snapshot(folder: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, folder)] = (st.st_mode, st.st_size if not os.path.isdir(p) else 0)
    return out


def assert_clean(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr[-2000:]


def assert_refused(archive: Path, tmp_path: Path, code: str | None = None) -> subprocess.CompletedProcess:
    """Receive with --into a fresh target: exit 1, a clear error, nothing written anywhere."""
    target = tmp_path / "library"
    before = snapshot(tmp_path)
    r = receive(archive, target, tmp_path)
    assert_clean(r)
    assert r.returncode == 1, (r.returncode, r.stdout[-1500:], r.stderr[-1500:])
    if code:
        assert code in r.stderr, r.stderr[-1500:]
    assert not target.exists()
    assert snapshot(tmp_path) == before
    return r


def assert_accepted(archive: Path, tmp_path: Path, bag: str = "bag") -> Path:
    target = tmp_path / "library"
    r = receive(archive, target, tmp_path)
    assert_clean(r)
    assert r.returncode == 0, (r.stdout[-1500:], r.stderr[-1500:])
    assert (target / bag / "bagit.txt").is_file()
    return target / bag


# --- the delivery's own checksum files and manifests ------------------------------------------


def _export(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for p, d in bag_members("bag"):
        (src / p).parent.mkdir(parents=True, exist_ok=True)
        (src / p).write_bytes(d)
    deliv = tmp_path / "deliv"
    r = subprocess.run([sys.executable, "-m", "archiver", "export", str(src / "bag"), "--to", str(deliv)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (deliv / "sha256sums.txt").is_file()
    return deliv


def test_lying_sha256sums_txt_is_detected(tmp_path):
    """The delivery's sha256sums.txt disagrees with the archive: the delivery is not intact."""
    deliv = _export(tmp_path)
    (deliv / "sha256sums.txt").write_text("0" * 64 + "  bag.tar\n")
    r = receive(deliv, tmp_path / "library", tmp_path)
    assert_clean(r)
    assert r.returncode == 1, r.stdout
    assert not (tmp_path / "library").exists()


def test_lying_sha256sums_txt_without_delivery_xml_is_detected(tmp_path):
    deliv = _export(tmp_path)
    (deliv / "delivery.xml").unlink()
    (deliv / "sha256sums.txt").write_text("0" * 64 + "  bag.tar\n")
    r = receive(deliv, tmp_path / "library", tmp_path)
    assert_clean(r)
    assert r.returncode == 1, r.stdout
    assert not (tmp_path / "library").exists()


def test_sha256sums_txt_as_fifo_never_hangs(tmp_path):
    deliv = _export(tmp_path)
    (deliv / "sha256sums.txt").unlink()
    os.mkfifo(deliv / "sha256sums.txt")
    r = receive(deliv, None, tmp_path, timeout=30)
    assert_clean(r)
    assert r.returncode in (0, 1)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_delivery_xml_in_utf16_with_a_doctype_is_refused(tmp_path, encoding):
    """xmlsafe's '<!DOCTYPE' byte search misses UTF-16/32 text; libxml2 then expands the entity."""
    deliv = _export(tmp_path)
    xml = (deliv / "delivery.xml").read_text(encoding="utf-8")
    size = str((deliv / "bag.tar").stat().st_size)
    body = xml.split("?>", 1)[1].replace(f'size="{size}"', 'size="&s;"')
    assert "&s;" in body
    doc = f'<?xml version="1.0" encoding="{encoding.upper()}"?><!DOCTYPE delivery [<!ENTITY s "{size}">]>' + body
    data = doc.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (deliv / "delivery.xml").write_bytes(data)
    r = receive(deliv, tmp_path / "library", tmp_path)
    assert_clean(r)
    assert r.returncode == 1, r.stdout
    assert "ARC-E020" in r.stderr
    assert not (tmp_path / "library").exists()


def test_delivery_xml_with_external_dtd_never_touches_the_network(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    port = srv.getsockname()[1]
    hits = []

    def serve():
        for _ in range(100):
            try:
                c, _ = srv.accept()
                hits.append(1)
                c.close()
            except OSError:
                if stop.is_set():
                    return

    stop = threading.Event()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        deliv = _export(tmp_path)
        body = (deliv / "delivery.xml").read_text(encoding="utf-8").split("?>", 1)[1]
        doc = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE delivery SYSTEM "http://127.0.0.1:{port}/d.dtd">' + body
        (deliv / "delivery.xml").write_bytes(doc.encode("utf-16"))
        r = receive(deliv, None, tmp_path)
        assert_clean(r)
    finally:
        stop.set()
        t.join(5)
        srv.close()
    assert hits == []


# --- a failed receive leaves everything as it was --------------------------------------------


def test_failed_unpack_into_a_new_nested_target_leaves_no_parent_folders(tmp_path):
    """A bag valid as a stream but not writable (a 300-byte name): unpacking fails; --into a/b/c
    must not leave a/ and a/b/ behind (makedirs creates them, only c is removed)."""
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag", {"data/" + "n" * 300: b"x"}))
    before = snapshot(tmp_path)
    r = receive(arc, tmp_path / "a" / "b" / "c", tmp_path)
    assert_clean(r)
    assert r.returncode == 1
    assert not (tmp_path / "a").exists(), "parent folders of the target were left behind"
    assert snapshot(tmp_path) == before


def test_failed_unpack_into_an_existing_target_leaves_it_exactly_as_it_was(tmp_path):
    target = tmp_path / "library"
    (target / "old").mkdir(parents=True)
    (target / "old" / "keep.txt").write_text("keep")
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag", {"data/" + "n" * 300: b"x"}))
    before = snapshot(tmp_path)
    r = receive(arc, target, tmp_path)
    assert_clean(r)
    assert r.returncode == 1
    assert snapshot(tmp_path) == before


def test_deeply_nested_member_never_leaves_partial_folders(tmp_path):
    deep = "data/" + "/".join(["d" * 100] * 38) + "/x.txt"  # ~3.9 KB: past PATH_MAX with the target prefix
    target = tmp_path / "library"
    target.mkdir()
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag", {deep: b"deep"}))
    before = snapshot(tmp_path)
    r = receive(arc, target, tmp_path)
    assert_clean(r)
    if r.returncode != 0:
        assert snapshot(tmp_path) == before
    else:
        assert (target / "bag" / "bagit.txt").is_file()


# --- archive bombs and resource exhaustion ----------------------------------------------------


def _zip_with_lying_entry_count(dest: Path, entries: int) -> Path:
    """A zip whose end record declares 1 entry while its central directory holds ``entries``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for p, d in bag_members("bag"):
            zf.writestr(p, d)
    data = buf.getvalue()
    eocd = data.rfind(b"PK\x05\x06")
    cd_off = struct.unpack("<I", data[eocd + 16:eocd + 20])[0]
    cd = data[cd_off:eocd]
    n, m, k = struct.unpack("<HHH", cd[28:34])
    first = cd[:46 + n + m + k]
    big = cd + first * entries
    dest.write_bytes(data[:cd_off] + big + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(big), cd_off, 0))
    return dest


def test_zip_central_directory_with_a_lying_entry_count_stays_bounded(tmp_path):
    """EOCD says 1 entry, the central directory holds 200k: zipfile builds every ZipInfo before the
    member limit is checked (~135 MB here against ~30 MB for a normal receive; GBs for a 100 MB zip)."""
    arc = _zip_with_lying_entry_count(tmp_path / "bag.zip", 200_000)
    probe = ("import resource, subprocess, sys;"
             "r = subprocess.run(sys.argv[1:], capture_output=True, timeout=60);"
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "archiver", "receive", str(arc)],
                       capture_output=True, text=True, timeout=90, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    rc, maxrss_kb = map(int, r.stdout.split())
    assert rc == 1
    assert maxrss_kb < 100_000, f"receive used {maxrss_kb // 1024} MB for a {arc.stat().st_size >> 20} MB zip"


def test_gnu_sparse_member_claiming_a_terabyte_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for p, d in bag_members("bag"):
            tf.addfile(*tinfo(p, d))
    raw = buf.getvalue().rstrip(b"\0")
    raw += bytes(-len(raw) % 512)
    ti = tarfile.TarInfo("bag/data/sparse.bin")
    ti.type = tarfile.GNUTYPE_SPARSE
    ti.size = 512
    h = bytearray(ti.tobuf(tarfile.GNU_FORMAT))

    def num(n, width):
        return ("%0*o" % (width - 1, n)).encode() + b"\0"

    h[386:410] = num(0, 12) + num(512, 12)
    h[483:495] = num(1 << 40, 12)
    h[148:156] = b" " * 8
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    (tmp_path / "bag.tar").write_bytes(raw + bytes(h) + b"x" * 512 + bytes(1024))
    assert_refused(tmp_path / "bag.tar", tmp_path)


def test_pax_sparse_member_is_refused_or_bounded(tmp_path):
    ti, f = tinfo("bag/data/sparse.bin", b"x" * 512)
    ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "bag/data/sparse.bin",
                      "GNU.sparse.realsize": str(1 << 40)}
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag") + [(ti, f)])
    target = tmp_path / "library"
    before = snapshot(tmp_path)
    r = receive(arc, target, tmp_path, timeout=60)
    assert_clean(r)
    assert r.returncode == 1  # not in the manifest at the very least
    assert snapshot(tmp_path) == before


def test_nested_zip_payload_is_never_expanded(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(64 << 20))
    blob = inner.getvalue()
    arc = make_zip(tmp_path / "bag.zip", bag_members("bag", {"data/inner.zip": blob}), compression=zipfile.ZIP_STORED)
    bag = assert_accepted(arc, tmp_path)
    assert (bag / "data" / "inner.zip").stat().st_size == len(blob)
    assert sum(p.stat().st_size for p in bag.rglob("*") if p.is_file()) < (1 << 20)


def test_concatenated_gzip_member_smuggling_a_second_tar_is_refused(tmp_path):
    first = io.BytesIO()
    with tarfile.open(fileobj=first, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for p, d in bag_members("bag"):
            tf.addfile(*tinfo(p, d))
    second = io.BytesIO()
    with tarfile.open(fileobj=second, mode="w", format=tarfile.PAX_FORMAT) as tf:
        tf.addfile(*tinfo("bag/data/hidden.txt", b"smuggled\n"))
    (tmp_path / "bag.tar.gz").write_bytes(gzip.compress(first.getvalue(), mtime=0) + gzip.compress(second.getvalue(), mtime=0))
    assert_refused(tmp_path / "bag.tar.gz", tmp_path)


def test_truncated_tar_gz_is_refused(tmp_path):
    make_tar(tmp_path / "bag.tar.gz", bag_members("bag", {"data/big.bin": os.urandom(200_000)}), gz=True)
    data = (tmp_path / "bag.tar.gz").read_bytes()
    (tmp_path / "bag.tar.gz").write_bytes(data[: len(data) // 2])
    assert_refused(tmp_path / "bag.tar.gz", tmp_path, "ARC-E001")


def test_truncated_zip_is_refused(tmp_path):
    make_zip(tmp_path / "bag.zip", bag_members("bag"))
    data = (tmp_path / "bag.zip").read_bytes()
    (tmp_path / "bag.zip").write_bytes(data[:-30])
    assert_refused(tmp_path / "bag.zip", tmp_path)


@pytest.mark.parametrize("size_field", [
    b"\xff" + b"\xff" * 11,  # base-256: negative
    b"\x80" + b"\x00" * 3 + b"\x7f" + b"\xff" * 7,  # base-256: 2**63-1
])
def test_tar_size_header_extremes(tmp_path, size_field):
    make_tar(tmp_path / "bag.tar", bag_members("bag") + [("bag/data/lie.bin", b"y" * 600)], fmt=tarfile.GNU_FORMAT)
    data = bytearray((tmp_path / "bag.tar").read_bytes())
    at = data.find(b"bag/data/lie.bin")
    h = data[at:at + 512]
    h[124:136] = size_field
    h[148:156] = b" " * 8
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    data[at:at + 512] = h
    (tmp_path / "bag.tar").write_bytes(bytes(data))
    assert_refused(tmp_path / "bag.tar", tmp_path)


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("evil", [
    "C:\\evil.txt",
    "C:/evil.txt",
    "\\\\server\\share\\evil.txt",
    "bag\\..\\..\\evil.txt",
    "bag/data/..\\..\\..\\evil.txt",
    "//evil.txt",
    "bag/./../evil.txt",
    "bag/data/evil\r\n.txt",
    "bag/data/\x1b[2Jevil.txt",
])
def test_zip_member_names_that_escape_or_smuggle_are_refused(tmp_path, evil):
    arc = make_zip(tmp_path / "bag.zip", bag_members("bag") + [(evil, b"pwned\n")])
    assert_refused(arc, tmp_path)
    assert not list(tmp_path.parent.glob("evil*"))


def test_zip_name_with_nul_is_truncated_not_smuggled(tmp_path):
    """zipfile cuts names at NUL: 'bag/data/hello.txt\\0...' becomes a second hello.txt."""
    arc = make_zip(tmp_path / "bag.zip", bag_members("bag") + [("bag/data/hello.txt\x00/../../evil", b"replaced\n")])
    assert_refused(arc, tmp_path)


@pytest.mark.parametrize("evil", [
    "bag/../evil.txt",
    "bag/data/../../../evil.txt",
    "../" * 20 + "evil.txt",
    "/" + "x/" * 60 + "evil.txt",
])
def test_gnu_longname_with_dotdot_is_refused(tmp_path, evil):
    name = evil + ("" if len(evil) > 100 else "/" * 0)
    padded = name.replace("evil.txt", "a" * 120 + "/evil.txt") if len(name) < 100 else name
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag") + [(padded, b"pwned\n")], fmt=tarfile.GNU_FORMAT)
    assert b"././@LongLink" in arc.read_bytes()
    assert_refused(arc, tmp_path, "ARC-E003")


@pytest.mark.parametrize("linkname", ["../../../etc/passwd", "/etc/passwd", "bag/data/hello.txt", "hello.txt"])
@pytest.mark.parametrize("type_", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_tar_links_are_refused_wherever_they_point(tmp_path, linkname, type_):
    ti, _ = tinfo("bag/data/link", b"", type_)
    ti.linkname = linkname
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag") + [(ti, None)])
    assert_refused(arc, tmp_path, "ARC-E004")


def test_pax_linkpath_on_a_regular_file_is_harmless(tmp_path):
    """A regular member carrying a pax 'linkpath' must not become a link when unpacked."""
    ti, f = tinfo("bag/data/hello2.txt", b"x")
    ti.pax_headers = {"linkpath": "/etc/passwd"}
    members = bag_members("bag", {"data/hello2.txt": b"x"})
    members = [m for m in members if m[0] != "bag/data/hello2.txt"] + [(ti, f)]
    arc = make_tar(tmp_path / "bag.tar", members)
    bag = assert_accepted(arc, tmp_path)
    assert not (bag / "data" / "hello2.txt").is_symlink()
    assert (bag / "data" / "hello2.txt").read_bytes() == b"x"


@pytest.mark.parametrize("top", ["b\u0430g", "BAG", "bag ", "bag.", "\uff42ag", "./bag/../bag2"])
def test_top_folder_must_equal_the_archive_name_exactly(tmp_path, top):
    arc = make_tar(tmp_path / "bag.tar", bag_members(top))
    assert_refused(arc, tmp_path)


def test_dot_slash_members_land_inside(tmp_path):
    members = [("./", b"", tarfile.DIRTYPE), ("./bag/", b"", tarfile.DIRTYPE)] + [("./" + p, d) for p, d in bag_members("bag")]
    arc = make_tar(tmp_path / "bag.tar", members)
    target = tmp_path / "library"
    r = receive(arc, target, tmp_path)
    assert_clean(r)
    assert r.returncode in (0, 1)
    if r.returncode == 0:
        assert (target / "bag" / "data" / "hello.txt").read_bytes() == b"hello, library\n"
    assert not (tmp_path / "hello.txt").exists()


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_case_colliding_members_never_overwrite_silently(tmp_path, fmt):
    members = bag_members("bag", {"data/A.txt": b"first", "data/a.txt": b"second"})
    arc = (make_tar(tmp_path / "bag.tar", members) if fmt == "tar" else make_zip(tmp_path / "bag.zip", members))
    target = tmp_path / "library"
    before = snapshot(tmp_path)
    r = receive(arc, target, tmp_path)
    assert_clean(r)
    if r.returncode == 0:
        assert "BAG-W003" in r.stderr  # a case collision is at least a warning
        assert (target / "bag" / "data" / "A.txt").read_bytes() == b"first"
        assert (target / "bag" / "data" / "a.txt").read_bytes() == b"second"
    else:
        assert snapshot(tmp_path) == before


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_nfc_nfd_members_warn(tmp_path, fmt):
    members = bag_members("bag", {"data/caf\u00e9.txt": b"nfc", "data/cafe\u0301.txt": b"nfd"})
    arc = (make_tar(tmp_path / "bag.tar", members) if fmt == "tar" else make_zip(tmp_path / "bag.zip", members))
    r = receive(arc, None, tmp_path)
    assert_clean(r)
    assert "BAG-W004" in r.stderr


def test_zip_second_member_same_name_different_case_top(tmp_path):
    """'bag/data/hello.txt' then 'bag/DATA/hello.txt': a second tree outside data/ on Linux, one folder elsewhere."""
    arc = make_zip(tmp_path / "bag.zip", bag_members("bag") + [("bag/DATA/hello.txt", b"replaced\n")])
    r = receive(arc, None, tmp_path)
    assert_clean(r)
    assert "BAG-W003" in r.stderr or r.returncode == 1


def test_data_as_a_file_is_invalid(tmp_path):
    members = [m for m in bag_members("bag") if not m[0].startswith("bag/data/")] + [("bag/data", b"not a folder")]
    arc = make_tar(tmp_path / "bag.tar", members)
    assert_refused(arc, tmp_path)


def test_file_then_folder_of_the_same_name_in_zip(tmp_path):
    arc = make_zip(tmp_path / "bag.zip", bag_members("bag") + [("bag/data/hello.txt/", b"")])
    assert_refused(arc, tmp_path, "ARC-E006")


def test_zip_symlink_declared_by_unix_mode_on_a_dos_entry(tmp_path):
    zi = zipfile.ZipInfo("bag/data/link")
    zi.create_system = 0
    zi.external_attr = (0o120777 << 16)
    arc = make_zip(tmp_path / "bag.zip", bag_members("bag") + [(zi, b"/etc/passwd")])
    assert_refused(arc, tmp_path, "ARC-E004")


# --- zip structure lies -----------------------------------------------------------------------


def _patch_central(data: bytes, name: bytes, offset: int, value: bytes) -> bytes:
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    assert at >= 0
    return data[:at + offset] + value + data[at + offset + len(value):]


@pytest.mark.parametrize("field, value", [
    (24, struct.pack("<I", 3)),          # uncompressed size smaller than the data
    (24, struct.pack("<I", 10_000_000)),  # larger
    (20, struct.pack("<I", 5)),          # compressed size smaller
    (16, struct.pack("<I", 0xDEADBEEF)),  # CRC
])
def test_zip_central_directory_lies_are_refused(tmp_path, field, value):
    members = bag_members("bag", {"data/big.txt": b"abcdefgh" * 5000})
    arc = make_zip(tmp_path / "bag.zip", members)
    arc.write_bytes(_patch_central(arc.read_bytes(), b"bag/data/big.txt", field, value))
    assert_refused(arc, tmp_path)


def test_zip_with_data_descriptors_lying_about_sizes(tmp_path):
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buf = io.BytesIO()

        def writable(self):
            return True

        def write(self, b):
            return self.buf.write(b)

    out = Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p, d in bag_members("bag", {"data/big.txt": b"abcdefgh" * 5000}):
            with zf.open(p, "w") as w:
                w.write(d)
    data = out.buf.getvalue()
    # Lie in the central directory about the uncompressed size of data/big.txt.
    data = _patch_central(data, b"bag/data/big.txt", 24, struct.pack("<I", 100))
    (tmp_path / "bag.zip").write_bytes(data)
    assert_refused(tmp_path / "bag.zip", tmp_path)


def test_zip_local_and_central_names_differ(tmp_path):
    arc = make_zip(tmp_path / "bag.zip", bag_members("bag", {"data/aaaa.txt": b"x"}), compression=zipfile.ZIP_STORED)
    data = arc.read_bytes()
    at = data.find(b"bag/data/aaaa.txt")  # the local header's copy comes first
    data = data[:at] + b"bag/data/../a.txt" + data[at + len(b"bag/data/../a.txt"):]
    arc.write_bytes(data)
    assert_refused(arc, tmp_path)


def test_zip_with_prepended_tar_polyglot(tmp_path):
    make_tar(tmp_path / "t.tar", bag_members("bag"))
    make_zip(tmp_path / "z.zip", bag_members("bag") + [("bag/data/extra.txt", b"only in the zip")])
    (tmp_path / "bag.zip").write_bytes((tmp_path / "t.tar").read_bytes() + (tmp_path / "z.zip").read_bytes())
    (tmp_path / "t.tar").unlink()
    (tmp_path / "z.zip").unlink()
    assert_refused(tmp_path / "bag.zip", tmp_path)


# --- not archives, empty archives, wrong suffixes -----------------------------------------------


@pytest.mark.parametrize("name, data", [
    ("bag.tar", b""),
    ("bag.tar", bytes(1024)),
    ("bag.tar.gz", gzip.compress(b"", mtime=0)),
    ("bag.tar.gz", b"\x1f\x8b"),
    ("bag.zip", b"PK\x05\x06" + bytes(18)),
    ("bag.zip", b"PK\x03\x04"),
    ("bag.tar", b"\x00" * 511 + b"x"),
    ("bag.tgz", b"<html>not found</html>\n" * 30),
    (".tar", bytes(10240)),
    ("..tar", bytes(10240)),
])
def test_empty_and_fake_archives_are_refused_cleanly(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    assert_refused(tmp_path / name, tmp_path)


def test_a_zip_named_tar_gz_is_read_as_what_it_is(tmp_path):
    make_zip(tmp_path / "bag.tar.gz", bag_members("bag"))
    r = receive(tmp_path / "bag.tar.gz", None, tmp_path)
    assert_clean(r)
    assert "ARC-W002" in r.stderr


def test_lone_archive_that_is_a_symlink_inside_a_delivery_folder(tmp_path):
    outside = make_tar(tmp_path / "outside.tar", bag_members("bag"))
    deliv = tmp_path / "deliv"
    deliv.mkdir()
    os.symlink(outside, deliv / "bag.tar")
    before = snapshot(tmp_path)
    r = receive(deliv, tmp_path / "library", tmp_path)
    assert_clean(r)
    assert r.returncode == 1
    assert "ARC-E025" in r.stderr
    assert snapshot(tmp_path) == before


def test_fifo_named_like_an_archive_never_hangs(tmp_path):
    deliv = tmp_path / "deliv"
    deliv.mkdir()
    os.mkfifo(deliv / "bag.tar")
    os.mkfifo(deliv / "delivery.xml")
    r = receive(deliv, tmp_path / "library", tmp_path, timeout=30)
    assert_clean(r)
    assert r.returncode == 1


def test_a_target_that_is_a_symlink_is_refused_and_untouched(tmp_path):
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag"))
    real = tmp_path / "elsewhere"
    real.mkdir()
    os.symlink(real, tmp_path / "library")
    r = receive(arc, tmp_path / "library", tmp_path)
    assert_clean(r)
    assert r.returncode == 1
    assert list(real.iterdir()) == []


def test_existing_bag_as_a_dangling_symlink_in_the_target_is_not_replaced(tmp_path):
    arc = make_tar(tmp_path / "bag.tar", bag_members("bag"))
    target = tmp_path / "library"
    target.mkdir()
    os.symlink(tmp_path / "nowhere", target / "bag")
    before = snapshot(tmp_path)
    r = receive(arc, target, tmp_path)
    assert_clean(r)
    assert r.returncode == 1
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "nowhere").exists()


def test_an_archive_file_name_cannot_forge_output_lines(tmp_path):
    """deliver.ReceiveOutcome.lines prints ``a.file`` raw: a newline in a stranger's file name splits
    the 'clear one-line error' and can forge a line ('FAKE valid ...') in the report."""
    deliv = tmp_path / "deliv"
    deliv.mkdir()
    name = "evil\nFAKE valid bag.tar (fixity ok)"
    make_tar(deliv / f"{name}.tar", bag_members(name))
    r = receive(deliv, None, tmp_path)
    assert_clean(r)
    assert r.returncode == 1
    assert "\nFAKE" not in r.stdout and "\nFAKE" not in r.stderr, (r.stdout, r.stderr)


def test_two_archives_holding_the_same_bag_unpack_nothing(tmp_path):
    deliv = tmp_path / "deliv"
    deliv.mkdir()
    make_tar(deliv / "bag.tar", bag_members("bag"))
    make_zip(deliv / "bag.zip", bag_members("bag", {"data/other.txt": b"other"}))
    before = snapshot(tmp_path)
    r = receive(deliv, tmp_path / "library", tmp_path)
    assert_clean(r)
    assert r.returncode == 1 and "ARC-E029" in r.stderr
    assert snapshot(tmp_path) == before
