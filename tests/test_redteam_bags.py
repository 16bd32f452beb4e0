"""Red team: hostile bag folders for ``archiver validate`` (beyond tests/test_validate_hostile.py).

Each case runs the real command in a subprocess with a timeout and checks the exit code (0 valid,
1 invalid, 2 usage), that no traceback is printed, and, where a path could escape, that the file
outside the bag is never taken for the listed one (its digest is in the manifest: reading it would
make the bag look complete).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import pytest

from archiver import layout, tagfiles, xmlsafe

from .hostile import digest, retag, write_bag

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"secret outside the bag\n"


def validate(path, *args, timeout: int = 60) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "archiver", "validate", str(path), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                       errors="backslashreplace")
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr[-3000:]
    return r


def add_line(bag: Path, name: str, line: str, encoding: str = "utf-8") -> None:
    p = bag / name
    p.write_bytes((p.read_bytes() if p.exists() else b"") + (line + "\n").encode(encoding, "surrogateescape"))


def list_payload(bag: Path, rel: str, data: bytes) -> None:
    """Add one payload line to both manifests and re-sign (Payload-Oxum updated)."""
    for alg in ("sha256", "sha512"):
        add_line(bag, f"manifest-{alg}.txt", f"{digest(data, alg)}  {rel}")


class NoNetwork:
    """A local TCP listener: any connection attempt from the validator is recorded."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.srv.settimeout(0.1)
        self.port = self.srv.getsockname()[1]
        self.hits = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
                self.hits += 1
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.t.join(2)
        self.srv.close()


@pytest.fixture
def net():
    n = NoNetwork()
    yield n
    n.close()


# --- quadratic work: a hostile bag must not take minutes ----------------------------------------


def test_many_symlinks_times_many_manifest_lines_do_not_hang(tmp_path):
    """validate._check: for every manifest line, ``any(path.startswith(b + '/') for b in blocked)`` is
    O(lines x symlinks): 3,000 symlinks and 100,000 lines run for minutes."""
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    for i in range(3000):
        os.symlink("/etc/passwd", bag / "data" / f"l{i}")
    with open(bag / "manifest-sha256.txt", "ab") as f:
        f.write(b"".join(b"%s  data/m%d\n" % (b"0" * 64, i) for i in range(100_000)))
    retag(bag)
    t0 = time.monotonic()
    try:
        r = validate(bag, timeout=12)
    except subprocess.TimeoutExpired:
        pytest.fail("validate ran for more than 12 s (quadratic blocked-prefix check)")
    assert r.returncode == 1
    assert "SAFE-E002" in r.stderr
    assert time.monotonic() - t0 < 10


def test_bag_info_continuation_lines_are_parsed_in_linear_time():
    """tagfiles.parse_bag_info rebuilds the whole value for every continuation line: O(n^2) copying
    (~1e11 bytes for a 1 MB bag-info.txt of ' x' lines)."""
    text = "X-Long: v\n" + " x\n" * ((tagfiles.MAX_BAG_INFO // 2) // 3)
    t0 = time.monotonic()
    info = tagfiles.parse_bag_info(text, "bag-info.txt", (1, 0), [])
    took = time.monotonic() - t0
    assert len(info.first("X-Long")) > 300_000
    assert took < 1.0, f"{took:.1f} s for half a MB of bag-info.txt (the cap is 1 MB: 4x that)"


def test_many_case_variants_stay_bounded(tmp_path):
    """2^14 case variants of one name in a manifest: one collision group; output stays bounded."""
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    base = "abcdefghijklmnop"
    lines = []
    for i in range(1 << 14):
        name = "".join(c.upper() if i >> k & 1 else c for k, c in enumerate(base))
        lines.append(f"{'0' * 64}  data/{name}\n")
    (bag / "manifest-sha256.txt").write_bytes((bag / "manifest-sha256.txt").read_bytes() + "".join(lines).encode())
    retag(bag)
    r = validate(bag, timeout=30)
    assert r.returncode == 1
    assert len(r.stderr) < 2_000_000, f"{len(r.stderr)} bytes of findings"


# --- XML: the DOCTYPE filter works on bytes, so other encodings slip past it ---------------------


def _mets(text: str, encoding: str, bom: bytes = b"") -> bytes:
    return bom + text.encode(encoding)


_M = f'xmlns="http://www.loc.gov/METS/" PROFILE="{layout.METS_PROFILE}"'
UTF16_CASES = {
    "utf16-entity-in-attribute": lambda p: _mets(
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE mets [<!ENTITY x "EXPANDED">]><mets {_M} LABEL="&x;"/>', "utf-16"),
    "utf16-profile-from-entity": lambda p: _mets(
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE mets [<!ENTITY x "{layout.METS_PROFILE}">]>'
        '<mets xmlns="http://www.loc.gov/METS/" PROFILE="&x;"/>', "utf-16"),
    "utf16be-entity-in-attribute": lambda p: _mets(
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE mets [<!ENTITY x "EXPANDED">]><mets {_M} LABEL="&x;"/>', "utf-16-be", b"\xfe\xff"),
    "utf32-entity-in-attribute": lambda p: _mets(
        f'<?xml version="1.0" encoding="UTF-32"?><!DOCTYPE mets [<!ENTITY x "EXPANDED">]><mets {_M} LABEL="&x;"/>', "utf-32"),
    "utf16-external-dtd": lambda p: _mets(
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE mets SYSTEM "http://127.0.0.1:{p}/m.dtd"><mets {_M}/>', "utf-16"),
    "utf16-external-entity": lambda p: _mets(
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE mets [<!ENTITY x SYSTEM "file:///etc/passwd">]><mets {_M}>&x;</mets>', "utf-16"),
}


@pytest.mark.parametrize("case", sorted(UTF16_CASES))
def test_utf16_mets_of_ours_with_a_doctype_is_refused(tmp_path, case, net):
    """Our METS (PROFILE set) in UTF-16/32 with a DOCTYPE: xmlsafe.parse searches the raw bytes for
    b'<!DOCTYPE' (absent in UTF-16), so libxml2 expands internal entities in attribute values; and
    ourbag.check's byte test for the PROFILE misses UTF-16, so an UnsafeXML is then dropped silently."""
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x", "metadata/mets.xml": UTF16_CASES[case](net.port)})
    r = validate(bag)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "SAFE-E008" in r.stderr
    assert net.hits == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_foreign_utf16_mets_with_entities_never_touches_network(tmp_path, encoding, net):
    doc = (f'<?xml version="1.0" encoding="{encoding.upper()}"?><!DOCTYPE m SYSTEM "http://127.0.0.1:{net.port}/m.dtd" '
           f'[<!ENTITY x SYSTEM "http://127.0.0.1:{net.port}/x">]><m>&x;</m>')
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x", "metadata/mets.xml": doc.encode(encoding)})
    r = validate(bag)
    assert r.returncode in (0, 1)
    assert net.hits == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le"])
def test_xmlsafe_refuses_doctype_in_any_encoding(encoding):
    decl = encoding.upper().replace("-LE", "")
    doc = f'<?xml version="1.0" encoding="{decl}"?><!DOCTYPE m [<!ENTITY x "EXPANDED">]><m a="&x;"/>'
    data = doc.encode(encoding)
    if encoding == "utf-16-le":
        data = b"\xff\xfe" + data
    with pytest.raises(xmlsafe.UnsafeXML):
        tree = xmlsafe.parse(data)
        assert "EXPANDED" not in tree.getroot().get("a", "")


def test_mets_xinclude_and_remote_schema_location_are_never_fetched(tmp_path, net):
    shared_xsd = ROOT.parent / "shared" / "xsd"
    mets = (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xi="http://www.w3.org/2001/XInclude"'
            f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" PROFILE="{layout.METS_PROFILE}"'
            f' xsi:schemaLocation="http://www.loc.gov/METS/ http://127.0.0.1:{net.port}/mets.xsd">'
            f'<xi:include href="http://127.0.0.1:{net.port}/x.xml"/><xi:include href="/etc/passwd" parse="text"/>'
            f'</mets:mets>').encode()
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x", "metadata/mets.xml": mets})
    args = ["--schemas", shared_xsd] if shared_xsd.is_dir() else []
    r = validate(bag, *args)
    assert r.returncode == 1  # not a valid METS of ours
    assert net.hits == 0
    assert "root:" not in r.stdout + r.stderr  # /etc/passwd never included


def test_huge_attribute_in_mets_is_bounded(tmp_path):
    mets = b'<?xml version="1.0"?><mets PROFILE="' + b"A" * (20 << 20) + b'"/>'
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x", "metadata/mets.xml": mets})
    r = validate(bag, timeout=30)
    assert r.returncode in (0, 1)


def test_mets_lowercase_doctype_and_parameter_entities(tmp_path):
    mets = (b'<?xml version="1.0"?><!doctype m [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
            b'<mets PROFILE="' + layout.METS_PROFILE.encode() + b'"/>')
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x", "metadata/mets.xml": mets})
    r = validate(bag)
    assert r.returncode == 1
    assert "root:" not in r.stderr


# --- special files where tag files and mets.xml should be ------------------------------------------


def test_fifo_as_mets_listed_in_the_manifest_never_hangs(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    (bag / "data" / "metadata").mkdir()
    os.mkfifo(bag / "data" / "metadata" / "mets.xml")
    list_payload(bag, "data/metadata/mets.xml", b"")
    retag(bag)
    r = validate(bag, timeout=30)
    assert r.returncode == 1 and "SAFE-E003" in r.stderr


@pytest.mark.parametrize("name, target", [
    ("data/metadata/mets.xml", "/dev/zero"),
    ("manifest-sha256.txt", "/etc/passwd"),
    ("bag-info.txt", "/dev/zero"),
    ("bagit.txt", "/dev/zero"),
])
def test_symlinked_tag_files_and_mets_are_never_followed(tmp_path, name, target):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    p = bag / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists():
        p.unlink()
    os.symlink(target, p)
    r = validate(bag, timeout=30)
    assert r.returncode == 1
    assert "SAFE-E002" in r.stderr or "BAG-E001" in r.stderr


@pytest.mark.parametrize("name", ["bagit.txt", "manifest-sha256.txt", "fetch.txt", "data"])
def test_fifo_in_place_of_any_tag_file_never_hangs(tmp_path, name):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    p = bag / name
    if p.is_dir():
        import shutil
        shutil.rmtree(p)
    elif p.exists():
        p.unlink()
    os.mkfifo(p)
    r = validate(bag, timeout=30)
    assert r.returncode == 1


def test_char_device_as_a_manifest_is_never_read(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    (bag / "manifest-sha512.txt").unlink()
    try:
        os.mknod(bag / "manifest-sha512.txt", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero
    except PermissionError:
        pytest.skip("mknod needs root")
    r = validate(bag, timeout=30)
    assert r.returncode == 1 and "SAFE-E003" in r.stderr


def test_validate_path_that_is_a_fifo_is_a_usage_error(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    r = validate(tmp_path / "pipe", timeout=30)
    assert r.returncode == 2


# --- paths that try to leave the bag: the outside file's digest is in the manifest --------------


@pytest.mark.parametrize("escape", [
    "data/.. /outside.txt",
    "data/%2E%2E/%2E%2E/outside.txt",
    "data/%252e%252e/%252e%252e/outside.txt",
    "data/..%2F..%2Foutside.txt",
    "data/%c0%ae%c0%ae/%c0%ae%c0%ae/outside.txt",
    "data/\uff0e\uff0e/\uff0e\uff0e/outside.txt",
    "data/x%0A/../../../outside.txt",
    "data/../\u0000/outside.txt",
    "data/..\u2215..\u2215outside.txt",
    "data/C:/../../outside.txt",
    "\\\\?\\C:\\outside.txt",
])
def test_more_escaping_paths_never_reach_the_outside_file(tmp_path, escape):
    (tmp_path / "outside.txt").write_bytes(SECRET)
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    for alg in ("sha256", "sha512"):
        add_line(bag, f"manifest-{alg}.txt", f"{digest(SECRET, alg)}  {escape}")
    retag(bag)
    r = validate(bag)
    assert r.returncode == 1


def test_sibling_with_prefix_name_through_a_symlinked_subfolder(tmp_path):
    (tmp_path / "bag-evil" / "data").mkdir(parents=True)
    (tmp_path / "bag-evil" / "data" / "x.txt").write_bytes(SECRET)
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    os.symlink("../../bag-evil/data", bag / "data" / "sub")
    list_payload(bag, "data/sub/x.txt", SECRET)
    retag(bag)
    r = validate(bag)
    assert r.returncode == 1 and "SAFE-E002" in r.stderr


def test_fetch_txt_never_fetches(tmp_path, net):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    list_payload(bag, "data/remote.txt", b"remote")
    add_line(bag, "fetch.txt", f"http://127.0.0.1:{net.port}/remote.txt 6 data/remote.txt")
    add_line(bag, "fetch.txt", f"file:///etc/passwd - data/passwd.txt")
    retag(bag)
    r = validate(bag)
    assert r.returncode == 1 and "BAG-E019" in r.stderr
    assert net.hits == 0
    assert not (bag / "data" / "remote.txt").exists()


def test_manifest_listing_a_path_twice_in_disguise(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    add_line(bag, "manifest-sha256.txt", f"{digest(b'inside', 'sha256')}  ./data/a.txt")
    retag(bag)
    r = validate(bag)
    assert r.returncode == 1 and "BAG-E011" in r.stderr


def test_manifest_listing_a_path_twice_star_marker(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    add_line(bag, "manifest-sha256.txt", f"{digest(b'inside', 'sha256')} *data/a.txt")
    retag(bag)
    r = validate(bag)
    assert r.returncode == 1 and "BAG-E011" in r.stderr


# --- names equal up to case or normalization, anywhere in the bag ----------------------------------


def test_folders_differing_only_in_case_warn(tmp_path):
    """data/Dir/a.txt and data/dir/b.txt: the two folders merge on a case-insensitive file system,
    but _collisions compares whole paths only, so nothing is said."""
    bag = write_bag(tmp_path / "bag", {"Dir/a.txt": b"1", "dir/b.txt": b"2"})
    r = validate(bag)
    assert r.returncode == 0
    assert "BAG-W003" in r.stderr


def test_folders_differing_only_in_normalization_warn(tmp_path):
    nfc, nfd = unicodedata.normalize("NFC", "caf\u00e9"), unicodedata.normalize("NFD", "caf\u00e9")
    bag = write_bag(tmp_path / "bag", {f"{nfc}/a.txt": b"1", f"{nfd}/b.txt": b"2"})
    r = validate(bag)
    assert r.returncode == 0
    assert "BAG-W004" in r.stderr


def test_tag_files_differing_only_in_case_warn(tmp_path):
    """BAG-INFO.txt beside bag-info.txt: one replaces the other on a case-insensitive file system."""
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    (bag / "BAG-INFO.txt").write_text("Payload-Oxum: 999.9\n")
    retag(bag)
    r = validate(bag)
    assert "BAG-W003" in r.stderr


def test_tag_folder_colliding_with_data_warns(tmp_path):
    """DATA/a.txt beside data/a.txt: on a case-insensitive file system the tag file replaces the payload."""
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    (bag / "DATA").mkdir()
    (bag / "DATA" / "a.txt").write_bytes(b"replaced")
    retag(bag)
    r = validate(bag)
    assert "BAG-W003" in r.stderr or r.returncode == 1


def test_payload_files_differing_only_in_case_and_normalization_warn(tmp_path):
    bag = write_bag(tmp_path / "bag", {"A.txt": b"1", "a.txt": b"2", "caf\u00e9.txt": b"3", "cafe\u0301.txt": b"4"})
    r = validate(bag)
    assert r.returncode == 0
    assert "BAG-W003" in r.stderr and "BAG-W004" in r.stderr


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".encode("utf-16"),
    b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    b"BagIt-Version: 1.0\x00\nTag-File-Character-Encoding: UTF-8\n",
    b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n\xff\xfe",
    b"BagIt-Version: 1.0\nTag-File-Character-Encoding: base64\n",
    b"BagIt-Version: 1.0\nTag-File-Character-Encoding: zlib_codec\n",
    b"BagIt-Version: 1.0\nTag-File-Character-Encoding: punycode\n",
    b"BagIt-Version: 99999999999999999999999.0\nTag-File-Character-Encoding: UTF-8\n",
    b"BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n\r\n",
    b"",
])
def test_hostile_bagit_txt_is_invalid(tmp_path, raw):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    (bag / "bagit.txt").write_bytes(raw)
    retag(bag)
    r = validate(bag)
    assert r.returncode == 1


def test_cr_only_line_endings_are_valid(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"):
        (bag / name).write_bytes((bag / name).read_bytes().replace(b"\n", b"\r"))
    retag(bag)
    r = validate(bag)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("bad", [
    b"data/\xc0\xae\xc0\xae/x",  # overlong '.'
    b"data/\xed\xa0\x80",  # an encoded lone surrogate
    b"data/\xff\xfe",
    b"data/\xe2\x80",  # truncated sequence
])
def test_invalid_utf8_in_a_manifest_is_invalid_not_a_crash(tmp_path, bad):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    p = bag / "manifest-sha256.txt"
    p.write_bytes(p.read_bytes() + b"0" * 64 + b"  " + bad + b"\n")
    retag(bag)
    r = validate(bag)
    assert r.returncode == 1 and "BAG-E006" in r.stderr


def test_undecodable_file_names_on_disk(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    name = os.fsencode(bag / "data") + b"/\xff\xfe\x1b[31mred\n.txt"
    with open(name, "wb") as f:
        f.write(b"y")
    r = validate(bag)
    assert r.returncode == 1
    assert "\x1b[31m" not in r.stderr + r.stdout  # no terminal escapes from a stranger's file name


def test_utf16_tag_files_declared_as_such_are_valid(tmp_path):
    payload = {"a.txt": b"x"}
    bag = write_bag(tmp_path / "bag", payload, encoding="UTF-16")
    # tag manifests in the declared encoding too
    for p in bag.glob("tagmanifest-*.txt"):
        p.write_bytes(p.read_text(encoding="utf-8").encode("utf-16"))
    tags = sorted(p.name for p in bag.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-"))
    for alg in ("sha256", "sha512"):
        lines = "".join(f"{digest((bag / n).read_bytes(), alg)}  {n}\n" for n in tags)
        (bag / f"tagmanifest-{alg}.txt").write_bytes(lines.encode("utf-16"))
    r = validate(bag)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("content", [
    b"A: " + b"\x00" * 500_000 + b"\n",
    b"\xff" * 500_000,
    b"X: " + b"y" * (10 << 20) + b"\n",
])
def test_pathological_bag_info(tmp_path, content):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    (bag / "bag-info.txt").write_bytes(content)
    retag(bag)
    t0 = time.monotonic()
    r = validate(bag, timeout=30)
    assert r.returncode in (0, 1)
    assert time.monotonic() - t0 < 20


@pytest.mark.parametrize("name", ["bag-info.txt", "manifest-sha256.txt", "bagit.txt"])
def test_sparse_100mb_tag_files_are_refused_quickly(tmp_path, name):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    with open(bag / name, "ab") as f:
        f.truncate(100 << 20)
    t0 = time.monotonic()
    r = validate(bag, timeout=30)
    assert r.returncode == 1
    assert time.monotonic() - t0 < 20


# --- deep and long ------------------------------------------------------------------------------


def _rm_deep(top: Path, name: str, depth: int) -> None:
    """Remove a chain of ``depth`` nested folders ``name`` below ``top`` without recursion."""
    fds = [os.open(top, os.O_RDONLY)]
    for _ in range(depth):
        try:
            fds.append(os.open(name, os.O_RDONLY, dir_fd=fds[-1]))
        except FileNotFoundError:
            break
    while len(fds) > 1:
        fd = fds.pop()
        for n in os.listdir(fd):
            os.unlink(n, dir_fd=fd)
        os.close(fd)
        os.rmdir(name, dir_fd=fds[-1])
    os.close(fds[0])


def test_deep_nesting_past_path_max_cannot_hide_an_unlisted_file(tmp_path):
    """A file past PATH_MAX that no manifest lists is still found: DirTree lists each folder through its
    descriptor, so depth cannot hide it (an lstat of the whole path fails there with ENAMETOOLONG)."""
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    name, depth = "d" * 10, 450  # ~5,000 bytes of path
    fd = os.open(bag / "data", os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        w = os.open("x.txt", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        os.write(w, b"deep")
        os.close(w)
    finally:
        os.close(fd)
    try:
        r = validate(bag)
        assert r.returncode == 1, r.stdout  # data/dd.../x.txt is in no manifest
        assert "BAG-E012" in r.stderr and "the payload is 5.2" in r.stderr, r.stderr  # the deep file is counted
    finally:
        _rm_deep(bag / "data", name, depth)


def test_long_names_are_fine(tmp_path):
    bag = write_bag(tmp_path / "bag", {"n" * 255: b"x", ("d" * 200 + "/") * 10 + "x.txt": b"y"})
    r = validate(bag)
    assert r.returncode == 0, r.stderr


def test_folder_of_bags_with_a_fifo_and_a_symlink(tmp_path):
    good = write_bag(tmp_path / "coll" / "good", {"a.txt": b"x"})
    os.mkfifo(tmp_path / "coll" / "pipe")
    os.symlink(good, tmp_path / "coll" / "link")
    r = validate(tmp_path / "coll", timeout=30)
    assert r.returncode == 1
    assert "SAFE-E007" in r.stderr


def test_sparse_terabyte_payload_file_does_not_hang(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    with open(bag / "data" / "a.txt", "r+b") as f:
        f.truncate(1 << 40)
    r = validate(bag, timeout=8)
    assert r.returncode == 1


def test_fetch_txt_with_entries_for_present_files_is_complete(tmp_path):
    """RFC 8493 §2.2.3: a bag is complete when every file fetch.txt names is present.

    Only files *still to fetch* make a bag incomplete (see docs/decisions.md); nothing is fetched.
    """
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    add_line(bag, "fetch.txt", "https://example.invalid/a.txt 6 data/a.txt")
    retag(bag)
    assert validate(bag).returncode == 0
    (bag / "data" / "a.txt").unlink()
    r = validate(bag)
    assert r.returncode == 1 and "Traceback" not in r.stderr
