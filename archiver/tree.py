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

from dataclasses import dataclass
from typing import Iterable, Iterator, Literal, Protocol, Sequence

Kind = Literal["file", "dir", "symlink", "special"]


@dataclass(frozen=True)
class Entry:
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
