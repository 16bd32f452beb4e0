"""A bag as a tree of entries, whether a folder on disk or members of an archive.

The BagIt checks in ``archiver.validate`` read a bag only through this
protocol, so the same rules run on a folder (``DirTree``, here) and on a tar
or zip read as a stream without unpacking (``archiver.archive``).

Paths are bag-relative, '/'-separated, exactly as stored (undecodable bytes
kept with surrogateescape).  Implementations never follow a symlink and never
open a special file (FIFO, device, socket): those are reported as entries of
kind "symlink" or "special".
"""

from __future__ import annotations

from typing import Iterable, Iterator, Literal, NamedTuple, Protocol, Sequence

Kind = Literal["file", "dir", "symlink", "special"]


class Entry(NamedTuple):  # a tuple: a bag's entries are made by the thousand, a frozen dataclass costs ~4x more
    path: str
    kind: Kind
    size: int = 0
    target: str | None = None  # a symlink's target, as stored


class TooLarge(OSError):
    """A file is larger than the caller's limit; nothing was read past it."""


class BagTree(Protocol):
    name: str  # the bag's name: its folder, or the archive's top-level folder

    def entries(self) -> Iterable[Entry]:
        """Every entry below the bag root, recursively."""
        ...

    def read(self, path: str, limit: int) -> bytes:
        """A regular file's bytes; raise TooLarge past ``limit`` bytes."""
        ...

    def digests(self, paths: Iterable[str], algorithms: Sequence[str]) -> Iterator[tuple[str, dict[str, str] | Exception]]:
        """(path, {algorithm: hexdigest}) for each path, one read per file; an OSError instead on failure."""
        ...


# --- a bag that is a folder on disk ------------------------------------------

import os as _os
import re as _re
import stat as _stat
from concurrent.futures import ThreadPoolExecutor as _Threads
from threading import Lock as _Lock

from . import hashing as _hashing

_DIR_FLAGS = _os.O_RDONLY | getattr(_os, "O_DIRECTORY", 0) | getattr(_os, "O_NOFOLLOW", 0)
# An empty, "." or ".." segment anywhere in a path (an empty path too): never walked.
_NOT_PLAIN = _re.compile(r"(?:^|/)\.{0,2}(?:/|$)")


def _kind(mode: int) -> Kind:
    if _stat.S_ISREG(mode):
        return "file"
    if _stat.S_ISDIR(mode):
        return "dir"
    if _stat.S_ISLNK(mode):
        return "symlink"
    return "special"


class DirTree:
    """A bag that is a folder.  Nothing below the root is ever reached through a symlink.

    Listing uses lstat only.  Reading walks the path one component at a time
    from a descriptor of the root, each step with O_NOFOLLOW, so a symlink
    (even one swapped in after listing) or a ``..`` can never lead outside the
    bag, and a FIFO is never opened for a blocking read.
    """

    # A thread pool only pays when there is much to read: below this many bytes of regular files
    # in the whole bag, digests() hashes in this thread (one big file is spread over cores by
    # hashing.hash_file anyway).  Starting 4 threads for the few small files of a typical bag
    # was a measured loss (bench: 11.6 -> 11.0 ms per bag without them).
    THREAD_BYTES = 16 << 20

    # Folder descriptors are kept open for the tree's life (close() or the end of a ``with``):
    # a bag's ~10 files sit in ~4 folders, and walking each file's path from the root again
    # cost ~26 opens and closes per bag instead of ~14.  At most MAX_OPEN_DIRS stay open;
    # past that, a folder is walked to from the deepest one kept and closed after use.
    MAX_OPEN_DIRS = 64

    def __init__(self, root, *, threads: int = 4):
        self.root = _os.fspath(root)
        self.name = _os.path.basename(_os.path.normpath(_os.path.abspath(self.root)))
        self.threads = threads
        self.listed_bytes = -1  # regular files' bytes, known once entries() ran to the end; -1 unknown
        self._dirs: dict[str, int] = {}  # bag-relative folder ("" the root) -> its open descriptor
        self._lock = _Lock()  # digests() may open folders from several threads

    def close(self) -> None:
        with self._lock:
            dirs, self._dirs = self._dirs, {}
        for fd in dirs.values():
            _os.close(fd)

    def __enter__(self) -> "DirTree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # a caller that did not close: descriptors are not leaked
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def entries(self) -> Iterator[Entry]:
        # Each folder is listed through its kept descriptor (scandir(fd), lstat by fstatat): no path
        # is resolved from the root again, and no depth is too deep (a path past PATH_MAX is listed
        # like any other instead of hiding what is below it).  ~10 syscalls fewer per bag of ours.
        stack = [""]
        total = 0
        while stack:  # iterative: a deeply nested bag cannot exhaust the Python stack
            rel = stack.pop()
            try:
                fd, owned = self._folder(rel)
            except OSError:
                if rel:  # unlistable (permissions, replaced meanwhile): say so rather than hide what is inside
                    yield Entry(rel, "special")
                continue
            try:
                try:
                    with _os.scandir(fd) as it:
                        items = sorted(it, key=lambda e: e.name)
                except OSError:
                    if rel:
                        yield Entry(rel, "special")
                    continue
                for de in items:
                    path = f"{rel}/{de.name}" if rel else de.name
                    try:
                        st = de.stat(follow_symlinks=False)
                    except OSError:  # gone meanwhile: report it rather than let it hide
                        yield Entry(path, "special")
                        continue
                    kind = _kind(st.st_mode)
                    target = None
                    if kind == "symlink":
                        try:
                            target = _os.readlink(de.name, dir_fd=fd)
                        except OSError:
                            target = None
                    if kind == "file":
                        total += st.st_size
                    yield Entry(path, kind, st.st_size if kind == "file" else 0, target)
                    if kind == "dir":
                        stack.append(path)
            finally:
                if owned:
                    _os.close(fd)
        self.listed_bytes = total

    def _folder(self, rel: str) -> tuple[int, bool]:
        """(a descriptor of the bag folder ``rel``, whether the caller must close it).

        Each step is opened with O_NOFOLLOW, from the deepest folder already kept (else the root)."""
        fd = self._dirs.get(rel)  # the common case, without the lock (close() runs after the readers)
        if fd is not None:
            return fd, False
        with self._lock:
            fd = self._dirs.get(rel)
            if fd is not None:
                return fd, False
            parts = rel.split("/") if rel else []
            k = len(parts)
            while k and "/".join(parts[:k]) not in self._dirs:
                k -= 1
            fd = self._dirs.get("/".join(parts[:k]))
            owned = fd is None
            if owned:  # nothing kept yet: start at the root
                fd = self._keep("", _os.open(self.root, _os.O_RDONLY | getattr(_os, "O_DIRECTORY", 0)))
                owned = "" not in self._dirs
            for i in range(k, len(parts)):
                try:
                    nfd = _os.open(parts[i], _DIR_FLAGS, dir_fd=fd)
                finally:
                    if owned:
                        _os.close(fd)
                key = "/".join(parts[: i + 1])
                fd = self._keep(key, nfd)
                owned = key not in self._dirs
            return fd, owned

    def _keep(self, rel: str, fd: int) -> int:
        if len(self._dirs) < self.MAX_OPEN_DIRS:
            self._dirs[rel] = fd
        return fd

    def _open_parent(self, path: str) -> tuple[int, str, bool]:
        """(a descriptor of ``path``'s folder, reached without following any symlink, the last name, whether to close it)."""
        if _NOT_PLAIN.search(path) or "\x00" in path:
            raise FileNotFoundError(f"{path!r}: not a plain bag-relative path")
        folder, _, name = path.rpartition("/")
        fd, owned = self._folder(folder)
        return fd, name, owned

    def read(self, path: str, limit: int) -> bytes:
        dfd, name, owned = self._open_parent(path)
        try:
            fd, st = _hashing.open_regular_stat(name, dir_fd=dfd)
        finally:
            if owned:
                _os.close(dfd)
        try:
            chunks, total = [], 0
            # Ask for the size fstat gives (+1, to see EOF), then in 64 KiB steps (a file that grows):
            # os.read allocates what it asks for, and 1 MiB asks were an mmap and munmap each.
            want = min(st.st_size + 1, limit + 1)
            while True:
                data = _os.read(fd, want)
                if not data:
                    break
                total += len(data)
                if total > limit:
                    raise TooLarge(f"{path}: larger than {limit} bytes")
                chunks.append(data)
                want = min(1 << 16, limit + 1 - total)
            return b"".join(chunks)
        finally:
            _os.close(fd)

    def _digest(self, path: str, algorithms: Sequence[str]) -> dict[str, str] | Exception:
        try:
            dfd, name, owned = self._open_parent(path)
            try:
                return _hashing.hash_file(name, algorithms, dir_fd=dfd)[0]
            finally:
                if owned:
                    _os.close(dfd)
        except OSError as e:
            return e

    def digests(self, paths: Iterable[str], algorithms: Sequence[str]) -> Iterator[tuple[str, dict[str, str] | Exception]]:
        paths = list(paths)
        algorithms = tuple(algorithms)
        # Threads only for many files with much to read (THREAD_BYTES; unknown counts as much).
        small = 0 <= self.listed_bytes <= self.THREAD_BYTES
        if self.threads <= 1 or len(paths) < 16 or small:
            for p in paths:
                yield p, self._digest(p, algorithms)
            return
        # hashlib releases the GIL on large buffers: a few threads overlap I/O and hashing.
        with _Threads(max_workers=self.threads) as pool:
            for i in range(0, len(paths), 256):  # in batches: a million files never become a million futures
                batch = paths[i:i + 256]
                yield from zip(batch, pool.map(lambda p: self._digest(p, algorithms), batch))
