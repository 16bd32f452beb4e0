"""Fixity: hash a file once, feeding every algorithm from the same read.

Files are read as a stream in fixed-size chunks, so memory stays bounded
whatever the file size.  Callers must only pass regular files (never FIFOs or
devices): opening is done with O_NONBLOCK and checked with fstat, so a special
file that slips through raises instead of hanging.
"""

from __future__ import annotations

import hashlib
import os
import stat

CHUNK = 1 << 20  # 1 MiB: large enough for hashlib to release the GIL

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


def open_regular(path, *, dir_fd=None) -> int:
    """Open a path for reading without following a final symlink or blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0), dir_fd=dir_fd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path}: not a regular file")
    return fd


def hash_bytes(data: bytes, algorithms=("sha256", "sha512")) -> dict[str, str]:
    return {a: hashlib.new(ALGORITHMS[a], data).hexdigest() for a in algorithms}


def hash_file(path, algorithms=("sha256", "sha512")) -> tuple[dict[str, str], int]:
    """Return ({algorithm: hexdigest}, size) from a single streaming read."""
    hashers = [hashlib.new(ALGORITHMS[a]) for a in algorithms]
    size = 0
    fd = open_regular(path)
    with os.fdopen(fd, "rb", buffering=0) as f:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            size += n
            chunk = view[:n]
            for h in hashers:
                h.update(chunk)
    return {a: h.hexdigest() for a, h in zip(algorithms, hashers)}, size
