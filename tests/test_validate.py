"""archiver validate: RFC 8493 rules, the CLI contract and the conformance suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import validate as v
from archiver.cli import cli
from archiver.tree import DirTree

from .hostile import add_fetch_line, add_manifest_line, digest, retag, write_bag

ROOT = Path(__file__).resolve().parent.parent


def codes(path, **kw) -> list[str]:
    return [f.code for f in v.validate_path(str(path), **kw)]


def errors(path, **kw) -> list[str]:
    return [f.code for f in v.validate_path(str(path), **kw) if f.is_error]


def archiver_cmd() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "archiver"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "archiver"]


# --- the acceptance suite ----------------------------------------------------


def test_conformance_suite_passes(conformance_dir, shared):
    tool = shared / "tools" / "bagit-conformance"
    p = subprocess.run([sys.executable, str(tool), "--suite", str(conformance_dir), "--", *archiver_cmd(), "validate"],
                       capture_output=True, text=True, timeout=600)
    assert p.stdout.strip().splitlines()[-1] == "54 passed, 0 failed", p.stdout


# --- valid bags ----------------------------------------------------------------


def test_handmade_bag_is_valid(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"hello", "sub/b.txt": b"world"})
    assert [f for f in v.validate_path(str(bag)) if f.severity.value != "info"] == []


def test_bagit_python_bag_is_valid(tmp_path):
    src = tmp_path / "b"
    src.mkdir()
    (src / "x.txt").write_text("payload")
    bagit.make_bag(str(src), checksums=["sha256", "sha512"])
    assert errors(src) == []


def test_percent_encoded_names_are_read_right(tmp_path):
    # RFC 8493 §2.1.3: a newline, a carriage return and a percent sign in a file name.
    bag = write_bag(tmp_path / "b", {"line\nbreak.txt": b"1", "car\rriage.txt": b"2", "100%25.txt": b"3", "%7E.txt": b"4"})
    assert errors(bag) == []


def test_empty_directories_are_fine(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"})
    (bag / "data" / "empty").mkdir()
    assert errors(bag) == []


# --- RFC 8493 rules --------------------------------------------------------------


def test_unlisted_and_missing_files(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x", "b.txt": b"y"})
    (bag / "data" / "extra.txt").write_text("z")
    (bag / "data" / "a.txt").unlink()
    got = codes(bag)
    assert "BAG-E012" in got and "BAG-E017" in got


def test_every_payload_file_in_every_manifest(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x", "b.txt": b"y"})
    m = bag / "manifest-sha512.txt"
    m.write_text("".join(line + "\n" for line in m.read_text().splitlines() if "b.txt" not in line))
    retag(bag)
    found = v.validate_path(str(bag))
    assert any(f.code == "BAG-E012" and f.path == "data/b.txt" and "sha512" in f.message for f in found)


def test_every_algorithm_is_checked(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"})
    m = bag / "manifest-sha512.txt"
    m.write_text(f"{digest(b'other', 'sha512')}  data/a.txt\n")
    retag(bag)
    found = v.validate_path(str(bag))
    assert [f.code for f in found if f.is_error] == ["BAG-E013"] and "sha512" in found[0].message


def test_payload_oxum_mismatch(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"}, info=[("Payload-Oxum", "2.1")])
    assert errors(bag) == ["BAG-E015"]
    bag2 = write_bag(tmp_path / "c", {"a.txt": b"x"}, info=[("Payload-Oxum", "one.1")])
    assert errors(bag2) == ["BAG-E014"]


def test_duplicate_paths(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"}, algs=("sha256",))
    add_manifest_line(bag, f"{digest(b'x', 'sha256')}  data/a.txt")
    assert "BAG-E011" in errors(bag)  # 1.0: listed twice is an error
    bag = write_bag(tmp_path / "c", {"a.txt": b"x"}, algs=("sha256",), version="0.97")
    add_manifest_line(bag, f"{digest(b'x', 'sha256')}  data/a.txt")
    assert errors(bag) == [] and "BAG-W007" in codes(bag)
    add_manifest_line(bag, f"{digest(b'y', 'sha256')}  data/a.txt")
    assert "BAG-E010" in errors(bag)


def test_unknown_algorithm_is_a_warning(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"}, algs=("sha256",))
    (bag / "manifest-whirlpool.txt").write_text("00ff  data/a.txt\n")
    retag(bag, ("sha256",))
    assert errors(bag) == [] and "BAG-W006" in codes(bag)


def test_fetch_txt_is_never_fetched_and_missing_files_make_the_bag_incomplete(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x", "b.txt": b"y"})
    (bag / "data" / "b.txt").unlink()
    add_fetch_line(bag, "http://127.0.0.1:9/never - data/b.txt")
    got = errors(bag)
    assert "BAG-E019" in got and "BAG-E017" not in got


def test_bom_and_bad_declaration(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"})
    (bag / "bagit.txt").write_bytes(b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    assert "BAG-E003" in errors(bag)
    (bag / "bagit.txt").write_bytes(b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n")
    assert "BAG-E002" in errors(bag)
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n")
    assert "BAG-E004" in errors(bag)
    for codec in (b"zlib", b"unicode_escape", b"idna", b"no-such-charset"):  # transformations are not charsets
        (bag / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: " + codec + b"\n")
        assert "BAG-E005" in errors(bag), codec


def test_tag_files_in_declared_encoding(tmp_path):
    bag = write_bag(tmp_path / "b", {"é.txt": b"x"}, encoding="ISO-8859-1",
                    info=[("Contact-Name", "Zoë"), ("Payload-Oxum", "1.1")])
    assert errors(bag) == []
    (bag / "bag-info.txt").write_bytes(b"Contact-Name: Zo\xeb\n")
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    assert "BAG-E006" in errors(bag)


def test_bag_info_order_and_continuation_lines(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"}, info=[("Zeta", "1"), ("Alpha", "two\n  lines"), ("Payload-Oxum", "1.1")])
    tree = DirTree(bag)
    found = v.validate_tree(tree)
    assert not [f for f in found if f.is_error]
    from archiver import tagfiles

    info = tagfiles.parse_bag_info((bag / "bag-info.txt").read_text(), "bag-info.txt", (1, 0), [])
    assert info.elements == [("Zeta", "1"), ("Alpha", "two lines"), ("Payload-Oxum", "1.1")]


def test_os_junk_and_case_collisions_warn(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x", "A.txt": b"y", ".DS_Store": b""})
    got = codes(bag)
    assert errors(bag) == [] and "BAG-W003" in got and "BAG-W005" in got


# --- property: any change to any byte is reported ------------------------------------


def _flip(path: Path, index: int) -> None:
    data = bytearray(path.read_bytes())
    data[index % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(min_value=0), index=st.integers(min_value=0))
def test_any_flipped_byte_in_a_bagit_python_bag_is_reported(tmp_path_factory, which, index):
    src = tmp_path_factory.mktemp("bag")
    (src / "one.txt").write_text("first file\n")
    (src / "two.txt").write_text("second, longer file\n" * 5)
    bagit.make_bag(str(src), checksums=["sha256", "sha512"])
    assert errors(src) == []
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.stat().st_size)
    _flip(files[which % len(files)], index)
    assert errors(src), f"flipping a byte of {files[which % len(files)].name} went unnoticed"


# --- the command --------------------------------------------------------------------


def test_cli_folder_of_bags_summary_and_json(tmp_path):
    bags = tmp_path / "bags"
    write_bag(bags / "good", {"a.txt": b"x"})
    bad = write_bag(bags / "bad", {"a.txt": b"x"})
    (bad / "data" / "a.txt").write_text("changed")
    (bags / ".staging").mkdir()
    (bags / ".archiver-catalog.sqlite").write_text("")
    r = CliRunner().invoke(cli, ["validate", str(bags)])
    assert r.exit_code == 1
    assert "2 bags: 1 valid, 1 invalid" in r.stdout
    r = CliRunner().invoke(cli, ["validate", "--json", str(bags / "good")])
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["summary"]["valid"] == 1 and doc["bags"][0]["valid"] is True


def test_cli_missing_path_is_a_usage_error(tmp_path):
    p = subprocess.run([*archiver_cmd(), "validate", str(tmp_path / "nope")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "nope" in p.stderr


def test_cli_warning_goes_to_stderr_with_exit_0(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x", "Thumbs.db": b""})
    p = subprocess.run([*archiver_cmd(), "validate", str(bag)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "BAG-W005" in p.stderr


def test_fast_checks_oxum_and_completeness_only(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"})
    (bag / "data" / "a.txt").write_bytes(b"y")  # same size: only fixity can see it
    assert errors(bag, fast=True) == [] and "BAG-I001" in codes(bag, fast=True)
    assert errors(bag) == ["BAG-E013", "BAG-E013"]
    (bag / "data" / "b.txt").write_bytes(b"z")
    assert "BAG-E012" in errors(bag, fast=True)


def test_many_bags_in_parallel(tmp_path):
    for i in range(5):
        write_bag(tmp_path / f"bag{i}", {"a.txt": str(i).encode()})
    (tmp_path / "bag3" / "data" / "a.txt").write_text("9")
    out = v.validate([str(tmp_path)], jobs=2)
    assert out.exit_code == 1
    assert [b.valid for b in out.bags] == [True, True, True, False, True]
    assert out.summary_line() == "5 bags: 4 valid, 1 invalid (2 errors, 0 warnings)"


# --- the generated documentation ------------------------------------------------------


def test_validation_doc_is_current(root):
    doc = root / "docs" / "validation.md"
    assert doc.read_text(encoding="utf-8") == v.render_rules_markdown(), \
        "docs/validation.md is stale: run  python -m archiver.validate --rules-doc > docs/validation.md"


def test_every_code_used_here_is_documented():
    text = v.render_rules_markdown()
    for code in ("BAG-E001", "BAG-E013", "SAFE-E001", "SAFE-E003", "XSD-E001", "METS-E504"):
        assert f"| {code} |" in text


# --- profiles: local files only, never fetched -------------------------------------------


def test_local_profile_is_checked(tmp_path):
    prof = tmp_path / "profile.json"
    prof.write_text(json.dumps({
        "BagIt-Profile-Info": {"BagIt-Profile-Identifier": "http://127.0.0.1:9/library-profile.json"},
        "Bag-Info": {"Contact-Name": {"required": True}},
    }))
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"})
    out = v.validate([str(bag)], profile=str(prof))
    assert out.exit_code == 1 and "PROF-E001" in [f.code for f in out.bags[0].findings]


def test_bad_profile_file_is_a_usage_error(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"})
    (tmp_path / "p.json").write_text("{not json")
    r = CliRunner().invoke(cli, ["validate", "--profile", str(tmp_path / "p.json"), str(bag)])
    assert r.exit_code == 2


def test_unknown_profile_identifier_is_not_fetched(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"}, info=[("BagIt-Profile-Identifier", "http://127.0.0.1:9/p.json"), ("Payload-Oxum", "1.1")])
    found = v.validate_path(str(bag))
    assert [f.code for f in found if f.code.startswith(("BAG-I003", "PROF"))] == ["BAG-I003"]
    assert not [f for f in found if f.is_error]


def test_hostile_names_print_on_one_line(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"})
    (bag / "data").joinpath(os.fsdecode(b"bad\xff\x1b[31m\nname.txt")).write_bytes(b"z")
    out = v.validate([str(bag)])
    lines = [text for _, text in out.lines()]
    assert out.exit_code == 1
    assert all("\x1b" not in t and "\n" not in t for t in lines)
    json.dumps(out.to_json(), ensure_ascii=False).encode("utf-8")  # no lone surrogates


def test_a_finding_about_a_name_with_a_newline_stays_one_line(tmp_path):
    bag = write_bag(tmp_path / "b", {"line\nbreak.txt": b"1"})
    (bag / "data" / "line\nbreak.txt").write_bytes(b"2")
    found = v.validate_path(str(bag))
    assert [f.code for f in found if f.is_error] == ["BAG-E013", "BAG-E013"]
    assert all("\n" not in f.line() for f in found) and "line\\x0abreak.txt" in found[0].path


def test_a_note_about_many_bags_prints_once_even_from_worker_processes(tmp_path):
    for i in range(3):
        write_bag(tmp_path / f"bag{i}", {"a.txt": b"x"})
    p = subprocess.run([*archiver_cmd(), "validate", "--fast", "-j", "2", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("BAG-I001") == 1 and "3 bags" in p.stdout


def test_only_unknown_algorithms_cannot_be_valid(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"x"}, algs=("sha256",))
    (bag / "manifest-sha256.txt").rename(bag / "manifest-sha3_256.txt")
    retag(bag, ("sha256",))
    assert "BAG-E026" in errors(bag)


def test_absent_junk_files_explain_payload_oxum_but_hide_nothing(tmp_path):
    bag = write_bag(tmp_path / "b", {"a.txt": b"xy", ".DS_Store": b"", "sub/Thumbs.db": b""})
    (bag / "data" / ".DS_Store").unlink()
    (bag / "data" / "sub" / "Thumbs.db").unlink()
    got = codes(bag)
    assert errors(bag) == [] and "BAG-W012" in got
    (bag / "data" / "a.txt").write_bytes(b"x")
    assert "BAG-E015" in errors(bag, fast=True)


def test_a_serialized_bag_is_validated_without_unpacking(tmp_path):
    pytest.importorskip("archiver.archive")
    import io
    import tarfile

    bag = write_bag(tmp_path / "mybag", {"a.txt": b"hello"})
    good = tmp_path / "mybag.tar"
    with tarfile.open(good, "w") as t:
        t.add(bag, arcname="mybag")
    (bag / "data" / "a.txt").write_bytes(b"HELLO")
    bad = tmp_path / "other" / "mybag.tar"
    bad.parent.mkdir()
    with tarfile.open(bad, "w") as t:
        t.add(bag, arcname="mybag")
    evil = tmp_path / "evil" / "mybag.tar"
    evil.parent.mkdir()
    with tarfile.open(evil, "w") as t:
        info = tarfile.TarInfo("mybag/../../escape.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    out = v.validate([str(good), str(bad), str(evil)])
    assert [b.valid for b in out.bags] == [True, False, False]
    assert "BAG-E013" in [f.code for f in out.bags[1].findings]
    assert [f.code for f in out.bags[2].findings if f.is_error][0].startswith(("ARC-", "SAFE-"))
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("thread_bytes", [DirTree.THREAD_BYTES, 0])
def test_digests_are_right_with_and_without_the_thread_pool(tmp_path, monkeypatch, thread_bytes):
    """Small bags hash in one thread; past DirTree.THREAD_BYTES (forced to 0 here) a pool does: same digests, same findings."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    contents = {f"f{i:02d}.txt": bytes([i]) * (i * 977) for i in range(40)}
    bag = write_bag(tmp_path / "b", contents)
    (bag / "data" / "f07.txt").write_bytes(bytes([8]) * (7 * 977))  # same size, other bytes
    monkeypatch.setattr(DirTree, "THREAD_BYTES", thread_bytes)
    pools = []
    real = ThreadPoolExecutor.__init__
    monkeypatch.setattr(ThreadPoolExecutor, "__init__", lambda self, *a, **k: pools.append(1) or real(self, *a, **k))
    tree = DirTree(bag)
    files = [e.path for e in tree.entries() if e.kind == "file" and e.path.startswith("data/")]
    assert len(files) == 40 and tree.listed_bytes > 0
    got = dict(tree.digests(files, ("md5", "sha256")))
    for path in files:
        data = (bag / path).read_bytes()
        assert got[path] == {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
    assert bool(pools) == (thread_bytes == 0)
    found = v.validate_tree(DirTree(bag))
    assert sorted((f.code, f.path, f.message.split()[0]) for f in found if f.is_error) == [
        ("BAG-E013", "data/f07.txt", "sha256"), ("BAG-E013", "data/f07.txt", "sha512")]


def test_find_bags_in_a_folder_takes_folders_links_and_archives_only(tmp_path):
    from archiver.validate import find_bags

    coll = tmp_path / "coll"
    (coll / "bag-a").mkdir(parents=True)
    (coll / ".staging").mkdir()
    (coll / "notes.txt").write_text("x")
    (coll / "b.tar").write_bytes(b"")
    (coll / "loop").symlink_to("loop")
    (coll / "dangling").symlink_to("nowhere")
    (coll / "to-a").symlink_to("bag-a")
    bags, notes = find_bags([str(coll)])
    assert [(os.path.basename(b), inside) for b, inside in bags] == [
        ("b.tar", True), ("bag-a", True), ("dangling", True), ("loop", True), ("to-a", True)]
    assert notes == []
    (tmp_path / "empty").mkdir()
    assert find_bags([str(tmp_path / "empty")]) == ([], [f"archiver: {tmp_path / 'empty'}: no bags found"])
