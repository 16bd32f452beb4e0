"""Fixity: hash a file once, feeding every algorithm from the same read.

Files are read as a stream in fixed-size chunks, so memory stays bounded
whatever the file size.  Callers must only pass regular files (never FIFOs or
devices): opening is done with O_NONBLOCK and checked with fstat, so a special
file that slips through raises instead of hanging.

Three paths, chosen by size (bench/bench.py measures each):

- small files (most of our texts, 4-20 KB): one ``os.read`` and no 1 MiB
  buffer allocation per file;
- medium files: one reusable buffer, every algorithm fed in turn;
- large files with several algorithms: one reader and one thread per
  algorithm.  hashlib releases the GIL on buffers above 2 KiB, so sha256 and
  sha512 run on separate cores and the file costs the time of the slowest
  digest instead of the sum of them.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading

CHUNK = 1 << 20  # 1 MiB: large enough for hashlib to release the GIL

# Threaded path: 4 MiB chunks (a quarter of the queue hand-offs of 1 MiB; the
# two-thread floor measured ~5-10 % faster with 4 MiB than with 1 MiB updates),
# at most PIPELINE chunks in flight, so memory stays at PIPELINE * THREAD_CHUNK
# (16 MiB) whatever the file size.
THREAD_CHUNK = 4 << 20
PIPELINE = 4
# Below this size starting threads costs more than it saves.
THREAD_THRESHOLD = 16 << 20
# With one usable CPU the threads could only take turns: stay sequential.
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

# BagIt algorithm names (RFC 8493 §2.4) -> hashlib names.
ALGORITHMS = {
    "md5": "md5",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
}


class NotARegularFile(OSError):
    pass


def open_regular_stat(path, dir_fd=None) -> tuple[int, os.stat_result]:
    """open_regular, and the open file's fstat."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0), dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path}: not a regular file")
    return fd, st


def open_regular(path, *, dir_fd=None) -> int:
    """Open a path for reading without following a final symlink or blocking on a FIFO."""
    return open_regular_stat(path, dir_fd)[0]


# hashlib.sha256 and co. directly: hashlib.new looks the name up on every call
# (hash_bytes of a small file 12 -> 7 us here).
_CONSTRUCTORS = {a: getattr(hashlib, name) for a, name in ALGORITHMS.items()}


def hash_bytes(data: bytes, algorithms=("sha256", "sha512")) -> dict[str, str]:
    return {a: _CONSTRUCTORS[a](data).hexdigest() for a in algorithms}


def hash_file(path, algorithms=("sha256", "sha512"), *, dir_fd=None) -> tuple[dict[str, str], int]:
    """Return ({algorithm: hexdigest}, size) from a single streaming read."""
    fd, st = open_regular_stat(path, dir_fd)
    try:
        return hash_fd(fd, algorithms, size_hint=st.st_size)
    finally:
        os.close(fd)


def hash_fd(fd: int, algorithms=("sha256", "sha512"), *, size_hint: int = -1) -> tuple[dict[str, str], int]:
    """Hash an open regular file from its current offset to EOF.

    ``size_hint`` (the fstat size) only picks the strategy; the digests always
    cover exactly the bytes read, even if the file changes size meanwhile.
    """
    algorithms = tuple(algorithms)
    hashers = [hashlib.new(ALGORITHMS[a]) for a in algorithms]
    if 0 <= size_hint < CHUNK:
        size = _hash_small(fd, hashers, size_hint)
    elif size_hint >= THREAD_THRESHOLD and len(hashers) > 1 and _CPUS > 1:
        size = _hash_threaded(fd, hashers)
    else:
        size = _hash_sequential(fd, hashers)
    return {a: h.hexdigest() for a, h in zip(algorithms, hashers)}, size


def _hash_small(fd: int, hashers, size_hint: int) -> int:
    # Ask for one byte more than fstat said, so a file that grew is still read to EOF.
    size = 0
    want = size_hint + 1
    while True:
        data = os.read(fd, want)
        if not data:
            return size
        size += len(data)
        for h in hashers:
            h.update(data)
        want = CHUNK


def _hash_sequential(fd: int, hashers) -> int:
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = os.readv(fd, [buf])
        if not n:
            return size
        size += n
        chunk = view[:n]
        for h in hashers:
            h.update(chunk)


def _hash_threaded(fd: int, hashers) -> int:
    """One reader (this thread), one hashing thread per algorithm.

    Buffers are recycled through ``free``: a buffer goes back once every
    hasher has consumed it, so at most PIPELINE chunks exist at any time.
    """
    free: queue.Queue = queue.Queue()
    for _ in range(PIPELINE):
        free.put(bytearray(THREAD_CHUNK))
    inboxes = [queue.Queue() for _ in hashers]
    pending: dict[int, int] = {}  # id(buffer) -> hashers still to consume it
    lock = threading.Lock()
    errors: list[BaseException] = []

    def consume(h, inbox: queue.Queue) -> None:
        while True:
            item = inbox.get()
            if item is None:
                return
            buf, n = item
            try:
                if not errors:
                    with memoryview(buf) as view:
                        h.update(view[:n])
            except BaseException as e:  # pragma: no cover - hashlib does not fail on bytes
                errors.append(e)
            with lock:
                pending[id(buf)] -= 1
                done = pending[id(buf)] == 0
            if done:
                free.put(buf)

    workers = [threading.Thread(target=consume, args=(h, q), daemon=True) for h, q in zip(hashers, inboxes)]
    for w in workers:
        w.start()
    size = 0
    try:
        while not errors:
            buf = free.get()
            n = os.readv(fd, [buf])
            if not n:
                break
            size += n
            with lock:
                pending[id(buf)] = len(hashers)
            for q in inboxes:
                q.put((buf, n))
    finally:
        for q in inboxes:
            q.put(None)
        for w in workers:
            w.join()
    if errors:  # pragma: no cover
        raise errors[0]
    return size
