"""archiver.hashing: every read strategy gives hashlib's digests; special files never block."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import hashing


def expected(data: bytes, algorithms) -> dict[str, str]:
    return {a: hashlib.new(a, data).hexdigest() for a in algorithms}


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Shrink the thresholds so small test files exercise the sequential and threaded paths."""
    monkeypatch.setattr(hashing, "CHUNK", 64)
    monkeypatch.setattr(hashing, "THREAD_CHUNK", 96)
    monkeypatch.setattr(hashing, "THREAD_THRESHOLD", 512)
    monkeypatch.setattr(hashing, "PIPELINE", 2)
    monkeypatch.setattr(hashing, "_CPUS", 2)  # the threaded path even on a one-CPU runner


algorithm_sets = st.lists(st.sampled_from(sorted(hashing.ALGORITHMS)), min_size=1, max_size=4, unique=True)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000), algorithms=algorithm_sets)
def test_every_path_matches_hashlib(tmp_path_factory, data, algorithms):
    # With tiny_chunks semantics set inline (hypothesis forbids function-scoped fixtures).
    names = ("CHUNK", "THREAD_CHUNK", "THREAD_THRESHOLD", "PIPELINE", "_CPUS")
    saved = [getattr(hashing, n) for n in names]
    for n, v in zip(names, (64, 96, 512, 2, 2)):
        setattr(hashing, n, v)
    try:
        p = tmp_path_factory.mktemp("h") / "f"
        p.write_bytes(data)
        digests, size = hashing.hash_file(p, algorithms)
    finally:
        for n, v in zip(names, saved):
            setattr(hashing, n, v)
    assert size == len(data)
    assert list(digests) == list(algorithms)
    assert digests == expected(data, algorithms)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 511, 512, 513, 96 * 7, 96 * 7 + 1, 5000])
def test_sizes_at_every_boundary(tmp_path, tiny_chunks, size):
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    p = tmp_path / "f"
    p.write_bytes(data)
    algs = ("sha256", "sha512")
    assert hashing.hash_file(p, algs) == (expected(data, algs), size)
    assert hashing.hash_file(p, ("md5",)) == (expected(data, ("md5",)), size)


def test_default_sizes_real_threaded_path(tmp_path, monkeypatch):
    """A file above the real threshold goes through the threaded reader with real chunk sizes."""
    monkeypatch.setattr(hashing, "_CPUS", 2)
    used = []
    real = hashing._hash_threaded
    monkeypatch.setattr(hashing, "_hash_threaded", lambda fd, hs: used.append(1) or real(fd, hs))
    size = hashing.THREAD_THRESHOLD + hashing.THREAD_CHUNK + 12345
    data = os.urandom(1 << 16) * (size // (1 << 16)) + b"tail" * 10
    p = tmp_path / "big"
    p.write_bytes(data)
    before = threading.active_count()
    digests, n = hashing.hash_file(p)
    assert n == len(data)
    assert digests == expected(data, ("sha256", "sha512"))
    assert threading.active_count() == before  # workers joined, none left behind
    assert used == [1]


def test_one_cpu_stays_sequential(tmp_path, tiny_chunks, monkeypatch):
    monkeypatch.setattr(hashing, "_CPUS", 1)
    monkeypatch.setattr(hashing, "_hash_threaded", lambda fd, hs: pytest.fail("threads on one CPU"))
    data = os.urandom(5000)
    p = tmp_path / "f"
    p.write_bytes(data)
    assert hashing.hash_file(p) == (expected(data, ("sha256", "sha512")), 5000)


def test_hash_bytes_matches_hash_file(tmp_path):
    data = "Łukasz — “naïve” Мінск\n".encode() * 100
    p = tmp_path / "t.txt"
    p.write_bytes(data)
    assert hashing.hash_bytes(data) == hashing.hash_file(p)[0]


def test_fifo_raises_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(hashing.NotARegularFile):
        hashing.hash_file(fifo)
    with pytest.raises(hashing.NotARegularFile):
        hashing.open_regular(fifo)


def test_symlink_is_not_followed(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OSError):
        hashing.hash_file(link)


def test_directory_is_not_a_regular_file(tmp_path):
    with pytest.raises(OSError):
        hashing.hash_file(tmp_path)


def test_dir_fd_relative_open(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"abc")
    dfd = os.open(tmp_path, os.O_RDONLY)
    try:
        assert hashing.hash_file("a.txt", ("sha256",), dir_fd=dfd) == (expected(b"abc", ("sha256",)), 3)
    finally:
        os.close(dfd)


def test_size_hint_only_chooses_strategy(tmp_path, tiny_chunks):
    """A stale size (the file grew or shrank after fstat) still hashes exactly what is read."""
    data = os.urandom(2000)
    p = tmp_path / "f"
    p.write_bytes(data)
    for hint in (0, 10, 100, 600, 10**9):
        fd = os.open(p, os.O_RDONLY)
        try:
            assert hashing.hash_fd(fd, ("sha1", "sha256"), size_hint=hint) == (expected(data, ("sha1", "sha256")), 2000)
        finally:
            os.close(fd)


def test_unknown_algorithm_is_rejected(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x")
    with pytest.raises(KeyError):
        hashing.hash_file(p, ("crc32",))


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 3 * (1 << 20) + 5), slack=st.integers(-3, 3))
def test_read_regular_reads_the_whole_file_up_to_its_limit(tmp_path_factory, size, slack):
    # files.read_regular asks for the file's size, not its limit; the bytes and the refusal must
    # be those of one read of limit + 1 bytes, at and around the limit.
    from archiver.files import FileTooLarge, read_regular

    path = tmp_path_factory.mktemp("r") / "f"
    data = os.urandom(size)
    path.write_bytes(data)
    limit = max(0, size + slack)
    if size > limit:
        with pytest.raises(FileTooLarge):
            read_regular(path, limit)
    else:
        assert read_regular(path, limit) == data


def test_read_regular_reads_on_past_the_size_it_was_told(tmp_path, monkeypatch):
    # A file that grows between fstat and read (a log being written): read on to the limit, as before.
    from archiver import files
    from archiver.files import FileTooLarge

    path = tmp_path / "f"
    path.write_bytes(b"x" * 3000)
    real = os.fstat

    def told_ten_bytes(fd):
        st = real(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10,
                               st.st_atime, st.st_mtime, st.st_ctime))

    monkeypatch.setattr(files.os, "fstat", told_ten_bytes)
    assert files.read_regular(path, 5000) == b"x" * 3000
    with pytest.raises(FileTooLarge):
        files.read_regular(path, 2999)
