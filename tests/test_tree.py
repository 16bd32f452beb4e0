"""DirTree: a bag folder read through kept folder descriptors, never through a symlink."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver import tree
from archiver.tree import DirTree, TooLarge


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _plain_rule(path: str) -> bool:
    """The rule _NOT_PLAIN implements: an empty, "." or ".." segment anywhere (or an empty path)."""
    return not path or any(p in ("", ".", "..") for p in path.split("/"))


@given(st.lists(st.sampled_from(["a", ".", "/", "b", "..", "..."]), max_size=12).map("".join))
def test_not_plain_is_the_segment_rule(path):
    assert bool(tree._NOT_PLAIN.search(path)) == _plain_rule(path)


def _deep(root, depth: int) -> str:
    rel = "/".join(f"d{i}" for i in range(depth))
    os.makedirs(os.path.join(root, rel))
    with open(os.path.join(root, rel, "f.txt"), "wb") as f:
        f.write(b"deep")
    return rel


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")
def test_folders_are_kept_open_at_most_max_and_closed_with_the_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(DirTree, "MAX_OPEN_DIRS", 5)
    rel = _deep(tmp_path, 12)
    before = _open_fds()
    with DirTree(tmp_path) as t:
        listed = [e.path for e in t.entries()]
        assert f"{rel}/f.txt" in listed
        assert _open_fds() - before <= 5
        assert t.read(f"{rel}/f.txt", 10) == b"deep"  # past the kept ones: walked from the deepest kept
        assert dict(t.digests([f"{rel}/f.txt"], ["sha256"]))[f"{rel}/f.txt"]["sha256"].startswith("74611c1d")
        assert _open_fds() - before <= 5
    assert _open_fds() == before


def test_read_is_bounded_and_sees_a_file_grow(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 100)
    with DirTree(tmp_path) as t:
        assert t.read("a.txt", 100) == b"x" * 100
        with pytest.raises(TooLarge):
            t.read("a.txt", 99)
        with pytest.raises(FileNotFoundError):
            t.read("../a.txt", 100)


def test_a_folder_swapped_for_a_symlink_is_never_followed(tmp_path):
    bag, outside = tmp_path / "bag", tmp_path / "outside"
    (bag / "data").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    with DirTree(bag) as t:
        assert [e.kind for e in t.entries()] == ["dir"]
        (bag / "data").rmdir()
        (bag / "data").symlink_to(outside)
        with pytest.raises(OSError):
            t.read("data/secret.txt", 100)
    with DirTree(bag) as t:
        entries = list(t.entries())
        assert [(e.path, e.kind) for e in entries] == [("data", "symlink")]
