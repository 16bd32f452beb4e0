"""The bag writer: the pure plan, identity and names, and the atomic staged write."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import bagit
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import bag, identity
from archiver.config import Config
from archiver.package import package
from tests import strategies

TEXT = "top of page\n\nA small test text\n\n  • Jul 9\n\nSome body text here.\n\nbottom of page\n"


def visible(out: Path) -> list[str]:
    return sorted(n for n in os.listdir(out) if not n.startswith(".")) if out.exists() else []


def test_plan_is_a_complete_bagit_bag(tmp_path):
    payload = {"data/objects/a.txt": b"hello\n", "data/objects/we%ird\nname.txt": b"x", "data/metadata/record.json": b"{}\n"}
    p = bag.plan("b", payload, [("Source-Organization", "Org\nWith newline")], algorithms=("sha256", "sha512"))
    paths = [f.path for f in p.files]
    assert paths == sorted(paths)
    assert {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
            "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"} <= set(paths)
    info = p.file("bag-info.txt").decode()
    assert "Payload-Oxum: 10.3\n" in info
    assert "Source-Organization: Org With newline\n" in info  # one line, always
    m = p.file("manifest-sha256.txt").decode()
    hello = hashlib.sha256(b"hello\n").hexdigest()
    assert f"{hello}  data/objects/a.txt\n" in m
    assert "data/objects/we%25ird%0Aname.txt" in m
    # The tag manifest covers every tag file except tag manifests.
    tm = p.file("tagmanifest-sha512.txt").decode()
    assert [ln.split("  ", 1)[1] for ln in tm.splitlines()] == ["bag-info.txt", "bagit.txt", "manifest-sha256.txt", "manifest-sha512.txt"]


def test_plan_rejects_paths_outside_data():
    for bad in ("../x", "data/../x", "bagit.txt", "data//x"):
        with pytest.raises(ValueError):
            bag.plan("b", {bad: b""}, [])


def test_plan_uses_given_digests_instead_of_rehashing():
    fake = {"sha256": "0" * 64, "sha512": "1" * 128}
    p = bag.plan("b", {"data/x": b"abc"}, [], digests={"data/x": fake})
    assert p.payload_digests["data/x"] == fake


def test_written_plan_validates_with_bagit_python(tmp_path):
    p = bag.plan("mybag", {"data/objects/a.txt": b"hello\n"}, [("Bagging-Date", "2024-01-01")])
    with bag.Staging(tmp_path / "out") as s:
        target = bag.write(p, tmp_path / "out", s.dir, mtime=1_000_000_000)
    bagit.Bag(str(target)).validate()
    assert os.stat(target / "data" / "objects" / "a.txt").st_mtime == 1_000_000_000
    assert os.stat(target).st_mtime == 1_000_000_000
    assert visible(tmp_path / "out") == ["mybag"]
    assert not (tmp_path / "out" / ".staging").exists()  # the run cleaned up after itself


def test_existing_bag_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    (out / "mybag").mkdir(parents=True)
    (out / "mybag" / "keep").write_text("mine")
    p = bag.plan("mybag", {"data/a": b"x"}, [])
    with bag.Staging(out) as s, pytest.raises(bag.BagExists):
        bag.write(p, out, s.dir)
    assert (out / "mybag" / "keep").read_text() == "mine"


# --- identity ---------------------------------------------------------------------


def test_slugs_are_ascii_bounded_and_word_cut():
    assert identity.slug("It is necessary to work with society, not to give Lukashenko a crutch", 40) == "it-is-necessary-to-work-with-society-not"
    assert identity.slug("Agnieszka Kamińska", 40) == "agnieszka-kaminska"
    assert identity.slug("Беларусь", 40) == "unknown"
    assert identity.date_slug("2025-07-09?") == "2025-07-09"
    assert identity.date_slug("XXXX-07-09") == "XXXX-07-09"
    assert identity.date_slug("unknown") == "undated"
    assert identity.payload_name("CON.txt") == "text-CON.txt"
    assert identity.payload_name("we:ird?.txt") == "we-ird.txt"
    assert identity.payload_name("Zażółć.txt") == "Zażółć.txt"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=1, max_value=80))
def test_slug_is_always_portable(text, limit):
    s = identity.slug(text, limit)
    assert s and len(s) <= max(limit, len("unknown"))
    assert all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in s)
    assert not s.startswith("-") and not s.endswith("-")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_payload_name_is_always_portable(name):
    n = identity.payload_name(name)
    assert n and "/" not in n and "\\" not in n and n not in (".", "..")
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") for c in n) and "%" not in n
    assert n.split(".")[0].lower() not in ("con", "nul", "aux", "prn", "com1", "lpt1")
    assert len(n.encode("utf-8", "surrogatepass")) <= identity.MAX_NAME_BYTES
    assert n == n.strip()  # no whitespace of any kind at either end (readers strip it)


@pytest.mark.parametrize("name", ["\xa0", "report\xa0.txt\u3000", "\u2003notes.txt", " a.txt", "a.txt "])
def test_payload_names_with_whitespace_at_an_end_become_slugs(name):
    # Found by hypothesis: bagit-python strips a manifest line, so "data/objects/\xa0" became "data/objects".
    n = identity.payload_name(name)
    assert n == n.strip() and n != name and n.endswith(".txt")


# --- failure injection at every write step ------------------------------------------

PRIMITIVES = ("_mkdir", "_write_file", "_sync", "_fsync_dir", "_rename")


class Injector:
    """Wrap every disk primitive; raise OSError on the k-th call (k=None: count only)."""

    def __init__(self, monkeypatch, fail_at: int | None):
        self.calls = 0
        self.fail_at = fail_at
        for name in PRIMITIVES:
            real = getattr(bag, name)
            monkeypatch.setattr(bag, name, self._wrap(name, real))

    def _wrap(self, name, real):
        def fn(*a, **kw):
            self.calls += 1
            if self.calls == self.fail_at:
                raise OSError(28, f"injected failure in {name}")  # ENOSPC
            return real(*a, **kw)
        return fn


class _NoCatalog:
    """catalog.Indexer that stores nothing."""

    def __init__(self, *a, **kw):
        pass

    def add(self, *a, **kw):
        pass

    def close(self):
        return []

    def discard(self):
        pass


def _make_input(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(TEXT)
    return src


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_a_failure_at_each_write_step_leaves_no_partial_bag(tmp_path, monkeypatch, syncfs):
    if not syncfs:
        monkeypatch.setattr(bag, "_SYNCFS", None)
        # The steps are what is under test here, not the disk's speed: fsync itself is a no-op.
        monkeypatch.setattr(os, "fsync", lambda fd: None)
    elif bag._SYNCFS is None:
        pytest.skip("no syncfs on this platform")
    # The catalog beside the bags is an index with its own tests; creating it ~100 times is slow.
    monkeypatch.setattr("archiver.catalog.Indexer", _NoCatalog)
    src = _make_input(tmp_path)
    with monkeypatch.context() as m:
        counter = Injector(m, None)
        assert package([src], out=tmp_path / "count", jobs=1, config=Config()).exit_code == 0
    steps = counter.calls
    assert steps > 10  # every file, folder, sync and the renames were seen
    for k in range(1, steps + 1):
        out = tmp_path / f"out{k}"
        with monkeypatch.context() as m:
            Injector(m, k)
            result = package([src], out=out, jobs=1, config=Config())
        assert result.exit_code == 1, k
        # Whatever made it into OUT is a complete, valid bag; nothing half-written.
        for name in visible(out):
            bagit.Bag(str(out / name)).validate()
        assert not list((out / ".staging").glob("run-*")) if (out / ".staging").exists() else True
        problems = result.notices + [f for r in result.results if r.status == "failed" for f in r.findings]
        assert problems and all(f.code == "IN-E011" and "injected" in f.message for f in problems), k
        # The next run completes the job.
        again = package([src], out=out, jobs=1, config=Config())
        assert again.exit_code == 0, [f.line() for r in again.results for f in r.findings]
        assert len(visible(out)) == 1
        for name in visible(out):
            bagit.Bag(str(out / name)).validate()


def test_stale_staging_of_a_dead_run_is_removed_but_a_live_one_is_kept(tmp_path):
    base = tmp_path / "out" / ".staging"
    (base / "run-1-1" / "half-bag" / "data").mkdir(parents=True)
    (base / "run-1-1.lock").write_text("")
    (base / "run-2-2" / "other").mkdir(parents=True)
    (base / "run-2-2.lock").write_text("")
    (base / "run-3-3.lock").write_text("")  # killed after taking its lock, before its folder
    fd = os.open(base / "run-2-2.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a live run holds its lock
    try:
        with bag.Staging(tmp_path / "out") as s:
            assert s.removed_stale == ["run-1-1", "run-3-3"]
        assert not (base / "run-1-1").exists() and not (base / "run-3-3.lock").exists()
        assert (base / "run-2-2" / "other").exists()
    finally:
        os.close(fd)


def test_a_killed_run_leaves_nothing_in_out_and_the_next_run_finishes(tmp_path):
    src = _make_input(tmp_path)
    out = tmp_path / "out"
    # A real process that dies (no cleanup, no finally) just before moving a finished bag in.
    code = (
        "import os, sys\n"
        "from archiver import bag\n"
        "bag._rename = lambda s, d: os._exit(9)\n"
        "from archiver.config import Config\n"
        "from archiver.package import package\n"
        "package([sys.argv[1]], out=sys.argv[2], jobs=1, config=Config())\n"
    )
    p = subprocess.run([sys.executable, "-c", code, str(src), str(out)], capture_output=True, timeout=120)
    assert p.returncode == 9
    assert visible(out) == []
    assert list((out / ".staging").glob("run-*"))  # the dead run's leftovers
    result = package([src], out=out, jobs=1, config=Config())
    assert result.exit_code == 0
    assert len(visible(out)) == 1
    assert not (out / ".staging").exists()


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=40), st.binary(max_size=200), min_size=1, max_size=4))
def test_any_payload_names_make_a_bag_bagit_python_accepts(tmp_path_factory, files):
    payload = {f"data/objects/{identity.payload_name(n)}": d for n, d in files.items()}
    p = bag.plan("b", payload, [("Bagging-Date", "2024-01-01")])
    out = tmp_path_factory.mktemp("prop")
    with bag.Staging(out) as s:
        target = bag.write(p, out, s.dir)
    bagit.Bag(str(target)).validate()
    for path, data in payload.items():
        assert (target / path).read_bytes() == data


@settings(max_examples=100, deadline=None)
@given(strategies.records())
def test_bag_names_are_portable_bounded_and_end_with_the_id(rec):
    name = identity.bag_name(rec)
    assert len(name) <= 110
    assert all(c in "abcdefghijklmnopqrstuvwxyzX0123456789-_" for c in name), name
    assert name.endswith("_" + rec.id[:12])
    assert name.split("_")[0] == "undated" or name[:4].replace("X", "0").isdigit()


def _payload_name_plain(filename: str) -> str:
    """identity._payload_name before its printable-ASCII shortcut (the reference)."""
    if (
        filename
        and not identity._UNPORTABLE.search(filename)
        and filename not in (".", "..")
        and not filename.startswith((".", "-"))
        and not filename.endswith(".")
        and not filename[0].isspace() and not filename[-1].isspace()
        and len(filename.encode("utf-8", "surrogateescape")) <= identity.MAX_NAME_BYTES
        and filename == unicodedata.normalize("NFC", filename)
        and not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for c in filename)
    ):
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, "txt"
    ext = identity.slug(ext, 8, empty="txt")
    return f"{identity.slug(stem, 80, empty='text')}.{ext}"


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(st.characters(max_codepoint=0x7F), max_size=40),
                 st.sampled_from([chr(c) for c in range(128)]).map(lambda c: f"a{c}b.txt")))
def test_payload_name_shortcut_for_printable_ascii_is_the_plain_rule(name):
    assert identity._payload_name(name) == _payload_name_plain(name)
