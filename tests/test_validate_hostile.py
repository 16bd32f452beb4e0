"""archiver validate against hostile bags: nothing outside the bag is opened, nothing hangs, memory stays bounded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import tagfiles
from archiver import validate as v
from archiver.tree import DirTree

from .hostile import ESCAPES, add_fetch_line, add_manifest_line, digest, mkfifo, retag, write_bag

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"secret outside the bag\n"


def errors(path, **kw):
    return [f.code for f in v.validate_path(str(path), **kw) if f.is_error]


class SpyTree(DirTree):
    """A DirTree that records every path it is asked to read or hash."""

    def __init__(self, root):
        super().__init__(root, threads=1)
        self.touched: list[str] = []

    def read(self, path, limit):
        self.touched.append(path)
        return super().read(path, limit)

    def digests(self, paths, algorithms):
        paths = list(paths)
        self.touched.extend(paths)
        return super().digests(paths, algorithms)


@pytest.fixture
def bag_with_outside(tmp_path):
    """A valid bag, and a file beside it that an attacker would like us to read."""
    (tmp_path / "outside.txt").write_bytes(SECRET)
    return write_bag(tmp_path / "bag", {"a.txt": b"inside"})


@pytest.mark.parametrize("escape", ESCAPES)
@pytest.mark.parametrize("where", ["manifest", "tagmanifest", "fetch"])
def test_escaping_paths_are_refused_and_never_opened(bag_with_outside, escape, where):
    bag = bag_with_outside
    line = f"{digest(SECRET, 'sha256')}  {escape}"
    if where == "manifest":
        add_manifest_line(bag, line)
    elif where == "tagmanifest":
        p = bag / "tagmanifest-sha256.txt"
        p.write_bytes(p.read_bytes() + line.encode() + b"\n")
    else:
        add_fetch_line(bag, f"http://127.0.0.1:9/x 23 {escape}")
    tree = SpyTree(bag)
    found = v.validate_tree(tree)
    assert any(f.is_error for f in found), escape
    for path in tree.touched:
        assert tagfiles.unsafe(path) is None and (bag / path).resolve().is_relative_to(bag.resolve())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "", "data", "x", "~", "~u", "C:", "a\\b", "\\", "\x00", "%2e%2e", "/"]), min_size=1, max_size=6))
def test_unsafe_is_a_fence_for_the_whole_class(parts):
    path = "/".join(parts)
    if tagfiles.unsafe(path) is None:
        # a path judged safe stays below any root it is joined to
        base = Path("/bag")
        assert os.path.normpath(base / path).startswith("/bag/")
        assert not path.startswith(("/", "~")) and "\\" not in path and "\x00" not in path


def test_sibling_folder_with_the_bags_name_as_prefix(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    evil = tmp_path / "bag-evil" / "data"
    evil.mkdir(parents=True)
    (evil / "x.txt").write_bytes(SECRET)
    add_manifest_line(bag, f"{digest(SECRET, 'sha256')}  ../bag-evil/data/x.txt")
    add_manifest_line(bag, f"{digest(SECRET, 'sha256')}  data/../../bag-evil/data/x.txt")
    tree = SpyTree(bag)
    found = v.validate_tree(tree)
    assert [f for f in found if f.code == "SAFE-E001"]
    assert not any("evil" in p for p in tree.touched)


def test_symlink_pointing_out_is_reported_not_followed(tmp_path):
    (tmp_path / "outside.txt").write_bytes(SECRET)
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    os.symlink(tmp_path / "outside.txt", bag / "data" / "link.txt")
    add_manifest_line(bag, f"{digest(SECRET, 'sha256')}  data/link.txt")
    add_manifest_line(bag, f"{digest(SECRET, 'sha512')}  data/link.txt", alg="sha512")
    tree = SpyTree(bag)
    found = v.validate_tree(tree)
    assert "SAFE-E002" in [f.code for f in found]
    assert "data/link.txt" not in tree.touched


def test_symlinked_data_folder(tmp_path):
    real = tmp_path / "elsewhere"
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    (bag / "data").rename(real)
    os.symlink(real, bag / "data")
    tree = SpyTree(bag)
    got = [f.code for f in v.validate_tree(tree) if f.is_error]
    assert "SAFE-E002" in got and "BAG-E007" in got
    assert not any(p.startswith("data/") for p in tree.touched)


def test_symlink_swapped_in_for_a_folder_after_listing_is_not_followed(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.txt").write_bytes(SECRET)
    bag = write_bag(tmp_path / "bag", {"sub/a.txt": b"inside"})
    tree = DirTree(bag)
    os.rename(bag / "data" / "sub", tmp_path / "moved")
    os.symlink(tmp_path / "outside", bag / "data" / "sub")
    with pytest.raises(OSError):
        tree.read("data/sub/a.txt", 100)
    [(_, result)] = list(tree.digests(["data/sub/a.txt"], ["sha256"]))
    assert isinstance(result, OSError)


def test_fifo_is_reported_and_never_blocks(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    if not mkfifo(bag / "data" / "pipe"):
        pytest.skip("no FIFOs here")
    add_manifest_line(bag, f"{digest(b'', 'sha256')}  data/pipe")
    # A FIFO as bagit.txt and as a tag manifest too: still never opened for a blocking read.
    mkfifo(bag / "fetch.txt")
    p = subprocess.run([sys.executable, "-m", "archiver", "validate", str(bag)], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert p.returncode == 1 and "SAFE-E003" in p.stderr and "Traceback" not in p.stderr


def test_fifo_as_bagit_txt(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    (bag / "bagit.txt").unlink()
    if not mkfifo(bag / "bagit.txt"):
        pytest.skip("no FIFOs here")
    got = errors(bag)
    assert "SAFE-E003" in got and "BAG-E001" in got


def test_socket_is_a_special_file(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(bag / "data" / "sock"))
    except OSError:
        pytest.skip("cannot bind a unix socket here")
    finally:
        s.close()
    assert "SAFE-E003" in errors(bag)


# --- pathological tag files: bounded work, bounded memory ------------------------------


def test_ten_megabyte_line(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    add_manifest_line(bag, "0" * 64 + "  data/" + "x" * (10 << 20))
    found = v.validate_path(str(bag))
    assert "SAFE-E005" in [f.code for f in found]
    assert all(len(f.line()) < 2000 for f in found)


def test_hundreds_of_thousands_of_bad_lines_give_a_bounded_report(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    # An algorithm we cannot compute still names files; short lines fit a million under the cap
    # (measured: a million take a few seconds; the test keeps the suite fast).
    with open(bag / "manifest-x.txt", "wb") as f:
        for i in range(300):
            f.write(b"".join(b"0 data/%d\n" % (i * 1000 + j) for j in range(1000)))
    assert (bag / "manifest-x.txt").stat().st_size <= tagfiles.MAX_MANIFEST
    found = v.validate_path(str(bag))
    assert len(found) <= 200
    assert any(f.code == "BAG-I002" and "BAG-E017" in f.message for f in found)
    assert v.BagResult(str(bag), found).count(v.Severity.ERROR) > 300_000  # the summary still counts them all


def test_oversized_tag_files_are_refused_unread(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    with open(bag / "bag-info.txt", "ab") as f:
        f.write(b"X-Padding: " + b"y" * (tagfiles.MAX_BAG_INFO + 1) + b"\n")
    with open(bag / "manifest-sha512.txt", "ab") as f:
        f.truncate(tagfiles.MAX_MANIFEST + 1)
    found = [f.code for f in v.validate_path(str(bag))]
    assert found.count("SAFE-E004") == 2


def test_many_short_bag_info_lines(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    with open(bag / "bag-info.txt", "ab") as f:
        f.write(b"A: b\n" * 200_000)
    retag(bag)
    assert errors(bag) == []


# --- XML in our bags -------------------------------------------------------------------


@pytest.mark.parametrize("xml", [
    b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><mets PROFILE="%s">&x;</mets>',
    b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><mets PROFILE="%s">&b;</mets>',
])
def test_mets_with_entities_is_refused_unparsed(tmp_path, xml):
    from archiver import layout

    bag = write_bag(tmp_path / "bag", {"metadata/mets.xml": xml.replace(b"%s", layout.METS_PROFILE.encode())})
    assert "SAFE-E008" in errors(bag)


def test_validator_never_writes_into_the_bag(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    before = {p: p.stat().st_mtime_ns for p in bag.rglob("*")}
    v.validate_path(str(bag))
    assert {p: p.stat().st_mtime_ns for p in bag.rglob("*")} == before


def test_symlinked_bag_in_a_folder_of_bags_is_reported_not_followed(tmp_path):
    real = write_bag(tmp_path / "elsewhere" / "bag", {"a.txt": b"x"})
    bags = tmp_path / "bags"
    write_bag(bags / "good", {"a.txt": b"x"})
    os.symlink(real, bags / "linked")
    out = v.validate([str(bags)])
    assert out.exit_code == 1
    assert [(Path(b.path).name, [f.code for f in b.findings if f.is_error]) for b in out.bags] == [
        ("good", []), ("linked", ["SAFE-E007"])]


def test_a_folder_of_plain_files_is_not_a_valid_bag(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "readme.txt").write_text("hi")
    assert v.validate([str(tmp_path / "x")]).exit_code == 1


def test_unlistable_folder_is_reported(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can list any folder")
    bag = write_bag(tmp_path / "bag", {"sub/a.txt": b"x"})
    (bag / "data" / "sub").chmod(0)
    try:
        assert "SAFE-E003" in errors(bag)
    finally:
        (bag / "data" / "sub").chmod(0o755)


def test_device_file_is_reported_never_opened(tmp_path):
    import stat

    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"})
    try:
        os.mknod(bag / "data" / "zero", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # like /dev/zero: endless if read
    except (OSError, AttributeError):
        pytest.skip("cannot create a device node here")
    add_manifest_line(bag, f"{digest(b'', 'sha256')}  data/zero")
    tree = SpyTree(bag)
    found = [f.code for f in v.validate_tree(tree)]
    assert "SAFE-E003" in found and "data/zero" not in tree.touched


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "fetch.txt"]),
       junk=st.one_of(st.binary(max_size=300),
                      st.lists(st.sampled_from([b"data/", b"../", b"%0A", b"%25", b"\r", b"\n", b"\t", b" ", b"*", b":", b"\xef\xbb\xbf",
                                                b"\xff", b"\x00", b"~", b"C:", b"\\", b"0" * 64, b"BagIt-Version: 1.0", b"Payload-Oxum: 1.1"]),
                               max_size=30).map(b"".join)))
def test_arbitrary_tag_file_bytes_never_crash_the_validator(tmp_path_factory, name, junk):
    bag = write_bag(tmp_path_factory.mktemp("fuzz") / "bag", {"a.txt": b"inside"}, algs=("sha256",))
    (bag / name).write_bytes(junk)
    found = v.validate_path(str(bag))
    assert "SAFE-E006" not in [f.code for f in found]
    assert all("\n" not in f.line() for f in found)


def test_someone_elses_broken_mets_is_only_payload(tmp_path):
    bag = write_bag(tmp_path / "bag", {"metadata/mets.xml": b"<mets><unclosed>", "a.txt": b"x"})
    assert errors(bag) == []
    bag2 = write_bag(tmp_path / "bag2", {"metadata/mets.xml": b'<!DOCTYPE m [<!ENTITY x "y">]><m>&x;</m>'})
    assert errors(bag2) == []


def test_many_large_manifests_share_one_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(tagfiles, "MAX_TAG_TOTAL", 4000)  # the real budget is tens of MiB; the rule is the same
    bag = write_bag(tmp_path / "bag", {"a.txt": b"inside"}, algs=("sha256",))
    for i in range(5):
        (bag / f"manifest-x{i}.txt").write_bytes(b"0 data/missing\n" * 100)
    found = [f for f in v.validate_path(str(bag)) if f.code == "SAFE-E004"]
    assert found and all("together" in f.message for f in found)


def test_a_sparse_terabyte_is_not_hashed_when_payload_oxum_rules_it_out(tmp_path):
    bag = write_bag(tmp_path / "bag", {"a.txt": b"x"})
    with open(bag / "data" / "a.txt", "r+b") as f:
        f.truncate(1 << 40)
    found = [f.code for f in v.validate_path(str(bag))]
    assert "BAG-E015" in found and "BAG-I004" in found
