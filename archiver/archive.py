"""Serialized bags: writing reproducible tar/zip files, and reading hostile ones safely.

Writing (RFC 8493 §4): one top-level folder named after the bag; members in a
fixed order (the bag folder, ``bagit.txt``, ``bag-info.txt``, the other tag
files sorted, then the payload sorted); fixed mtime, uid/gid 0, empty owner
names, modes 0644/0755; gzip with mtime 0 and no file name; zip with a fixed
date.  Same bag + same mtime => same bytes.

Reading: an archive from a stranger is read as a stream, never unpacked to
be looked at.  ``members()`` is the single gate every read goes through: it
refuses (``Refused``) names that escape (absolute, ``..``, backslashes, drive
letters), links, devices, FIFOs, duplicate names, a top-level folder other
than the bag's name, too many members, and archive bombs, counting the bytes
actually decompressed (header sizes are never trusted).  ``ArchiveTree``
implements the ``tree.BagTree`` protocol over it, so the validator runs on an
archive as on a folder; ``unpack`` writes members only as new regular files
and folders below a fresh staging folder, never through a link.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from .findings import one_line, rule
from .hashing import ALGORITHMS, CHUNK, open_regular
from .tree import Entry, TooLarge

FORMATS = ("tar", "tar.gz", "zip")
MEDIA_TYPES = {"tar": "application/x-tar", "tar.gz": "application/gzip", "zip": "application/zip"}
SUFFIXES = {"tar": ".tar", "tar.gz": ".tar.gz", "zip": ".zip"}
_SUFFIX_FORMAT = ((".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".tar", "tar"), (".zip", "zip"))

# The earliest time a zip can hold; a tar can hold any, but we use the same floor for both.
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z

rule("ARC-E001", "RFC 8493 §4", "the archive cannot be read as tar, tar.gz or zip")
rule("ARC-E002", "RFC 8493 §4", "a member lies outside the archive's one top-level folder, or that folder is not the bag's name")
rule("ARC-E003", "hostile input", "a member name is absolute, contains '..', a backslash, a drive letter or a control character")
rule("ARC-E004", "hostile input", "a member is a symbolic link or a hard link")
rule("ARC-E005", "hostile input", "a member is a device, FIFO, socket or other special file")
rule("ARC-E006", "hostile input", "a member name appears twice (or as both file and folder)")
rule("ARC-E007", "hostile input", "the archive holds more members than the limit")
rule("ARC-E008", "hostile input", "the archive expands past the size limit or the compression-ratio limit (archive bomb)")
rule("ARC-E009", "hostile input", "a zip member is encrypted or its data overlaps another member's")


class Refused(OSError):
    """An archive we will not read further; ``code`` is an ARC-E code, ``member`` the offending name.

    An OSError, so a BagTree caller that handles read failures handles this too."""

    def __init__(self, code: str, member: str, message: str):
        super().__init__(message)
        self.code = code
        self.member = member
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Caps that stop archive bombs; checked against bytes actually read, never header sizes."""

    max_members: int = 100_000
    max_total_bytes: int = 64 << 30  # uncompressed bytes of one archive
    max_ratio: int = 100  # uncompressed / compressed bytes read so far (text compresses ~3-10:1) ...
    ratio_floor: int = 32 << 20  # ... once this many uncompressed bytes have come out
    max_name: int = 4096  # bytes of one member name
    max_header_bytes: int = 1 << 20  # bytes a tar header (incl. pax/GNU long names) may take
    cache_file: int = 16 << 20  # tag files and metadata kept in memory after the first pass
    cache_total: int = 64 << 20
    max_directory_bytes: int = 64 << 20  # a zip's central directory (zipfile reads it whole)


DEFAULT_LIMITS = Limits()


def split_name(filename: str) -> tuple[str, str] | None:
    """(bag name, format) from an archive's file name, or None when the suffix is not ours."""
    base = os.path.basename(filename)
    for suffix, fmt in _SUFFIX_FORMAT:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)], fmt
    return None


def sniff(path: str) -> str | None:
    """The format from the first bytes (the name can lie); None when it is none of ours."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as f:
        head = f.read(512)
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    if len(head) == 512 and head == b"\0" * 512:
        return "tar"  # an empty tar: refused later for lacking the bag folder
    return None


# --- writing -------------------------------------------------------------------------


def member_order(paths: Iterable[str]) -> list[str]:
    """Bag-relative paths in archive order: bagit.txt first (a streaming reader meets it first), then
    bag-info.txt, the other tag files sorted, then the payload sorted (a folder before its contents)."""
    first = {"bagit.txt": 0, "bag-info.txt": 1}

    def key(p: str):
        top = "/" not in p and p != "data"
        return (0 if top else 1, first.get(p, 2), p.split("/"))

    return sorted(paths, key=key)


@dataclass(frozen=True)
class Item:
    path: str  # bag-relative
    is_dir: bool
    size: int = 0


def _bag_items(bag_dir: str) -> list[Item]:
    from .tree import DirTree

    items = []
    for e in DirTree(bag_dir).entries():
        if e.kind == "dir":
            items.append(Item(e.path, True))
        elif e.kind == "file":
            items.append(Item(e.path, False, e.size))
        else:
            raise OSError(f"{e.path}: a {e.kind} cannot be serialized (only files and folders)")
    by_path = {i.path: i for i in items}
    return [by_path[p] for p in member_order(by_path)]


def _copy(src_path: str, write: Callable[[bytes], object], size: int) -> None:
    fd = open_regular(src_path)
    with os.fdopen(fd, "rb", buffering=0) as f:
        done = 0
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            done += len(chunk)
            if done > size:
                raise OSError(f"{src_path}: changed while being serialized")
            write(chunk)
    if done != size:
        raise OSError(f"{src_path}: changed while being serialized")


class _Reader(io.RawIOBase):
    """A file read that fails if the file grows or shrinks under us (tarfile copies exactly ``size``)."""

    def __init__(self, path: str, size: int):
        self._f = os.fdopen(open_regular(path), "rb", buffering=0)
        self._left = size
        self._path = path

    def readable(self):
        return True

    def readinto(self, b):
        n = self._f.readinto(b)
        self._left -= n or 0
        if self._left < 0:
            raise OSError(f"{self._path}: changed while being serialized")
        return n

    def close(self):
        self._f.close()
        super().close()


def serialize(bag_dir: str, dest: str, fmt: str, mtime: int) -> None:
    """Write the bag at ``bag_dir`` as ``dest`` (tar, tar.gz or zip), reproducibly."""
    name = os.path.basename(os.path.normpath(bag_dir))
    items = _bag_items(bag_dir)
    mtime = max(int(mtime), ZIP_EPOCH)
    with open(dest, "xb") as raw:
        if fmt == "zip":
            _write_zip(bag_dir, name, items, raw, mtime)
        elif fmt in ("tar", "tar.gz"):
            if fmt == "tar.gz":
                # filename="" keeps the name out of the header; mtime=0 keeps time out of it.
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
                    _write_tar(bag_dir, name, items, gz, mtime)
            else:
                _write_tar(bag_dir, name, items, raw, mtime)
        else:
            raise ValueError(f"unknown format {fmt!r}")
        raw.flush()
        os.fsync(raw.fileno())


def _tarinfo(name: str, is_dir: bool, size: int, mtime: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    ti.size = 0 if is_dir else size
    ti.mode = 0o755 if is_dir else 0o644
    ti.mtime = mtime
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def _write_tar(bag_dir, name, items, fileobj, mtime) -> None:
    # PAX: long and non-ASCII names are stored exactly; the extra headers are themselves deterministic.
    with tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8") as tf:
        tf.addfile(_tarinfo(name, True, 0, mtime))
        for it in items:
            ti = _tarinfo(f"{name}/{it.path}", it.is_dir, it.size, mtime)
            if it.is_dir:
                tf.addfile(ti)
            else:
                with _Reader(os.path.join(bag_dir, it.path), it.size) as r:
                    tf.addfile(ti, io.BufferedReader(r, CHUNK))


def _write_zip(bag_dir, name, items, fileobj, mtime) -> None:
    import time

    date_time = time.gmtime(mtime)[:6]
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for path, it in [(name + "/", Item("", True))] + [(f"{name}/{i.path}" + ("/" if i.is_dir else ""), i) for i in items]:
            zi = zipfile.ZipInfo(path, date_time=date_time)
            zi.create_system = 3  # unix: the mode bits below mean what they say
            if it.is_dir:
                zi.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                zi.compress_type = zipfile.ZIP_STORED
                zf.writestr(zi, b"")
                continue
            zi.external_attr = (stat.S_IFREG | 0o644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.file_size = it.size  # lets zipfile decide zip64 up front, deterministically
            with zf.open(zi, "w", force_zip64=it.size >= zipfile.ZIP64_LIMIT) as out:
                _copy(os.path.join(bag_dir, it.path), out.write, it.size)


# --- reading: the one gate ------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    path: str  # bag-relative ("" for the top-level folder itself)
    kind: str  # "file" or "dir" (anything else is refused before it is yielded)
    size: int  # declared size; the bytes actually read are what is counted


class _Meter(io.RawIOBase):
    """Counts decompressed bytes and stops a bomb: total cap, ratio to compressed bytes consumed."""

    def __init__(self, source, compressed: "_Meter | None", limits: Limits, label: str):
        self.source = source
        self.compressed = compressed
        self.limits = limits
        self.label = label
        self.count = 0
        self.budget: int | None = None  # bytes still allowed in the current header read

    def readable(self):
        return True

    def read(self, n=-1):
        if n is None or n < 0:
            n = CHUNK
        data = self.source.read(n)
        self._tally(len(data))
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def _tally(self, n: int) -> None:
        self.count += n
        lim = self.limits
        if self.budget is not None:
            self.budget -= n
            if self.budget < 0:
                raise Refused("ARC-E008", "", f"a tar header takes more than {lim.max_header_bytes} bytes (oversized pax or long-name header)")
        if self.count > lim.max_total_bytes:
            raise Refused("ARC-E008", "", f"expands past {lim.max_total_bytes} bytes (size limit)")
        if self.compressed is not None and self.count > lim.ratio_floor:
            ratio = self.count / max(self.compressed.count, 1)
            if ratio > lim.max_ratio:
                raise Refused("ARC-E008", "", f"expands more than {lim.max_ratio}:1 ({self.count} bytes from {self.compressed.count}): archive bomb")


class _Fixed:
    """A compressed-byte count known up front (zip: the members' declared compressed sizes)."""

    def __init__(self, count: int):
        self.count = max(count, 1)


_DRIVE = re.compile(r"^[A-Za-z]:")
# One regex search instead of a per-character generator: receive of 300 bench bags spent 0.6 of 6 s in it.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _check_name(raw: str, limits: Limits) -> str:
    """The stored name, made plain: refuse every form that could land outside the target."""
    shown = one_line(raw, 200)
    if len(raw.encode("utf-8", "surrogateescape")) > limits.max_name:
        raise Refused("ARC-E003", shown, f"member name longer than {limits.max_name} bytes")
    if "\\" in raw:
        raise Refused("ARC-E003", shown, "member name contains a backslash (a Windows path separator)")
    if raw.startswith("/") or _DRIVE.match(raw):
        raise Refused("ARC-E003", shown, "member name is absolute")
    if _CONTROL.search(raw):
        raise Refused("ARC-E003", shown, "member name contains a control character")
    name = raw
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/") if name not in ("", "/") else ""
    parts = name.split("/") if name else []
    if any(p == ".." for p in parts):
        raise Refused("ARC-E003", shown, "member name contains '..'")
    if any(p in ("", ".") for p in parts):
        raise Refused("ARC-E003", shown, "member name has an empty or '.' segment")
    return name


class _Gate:
    """Per-archive bookkeeping shared by tar and zip: count, names, the top-level folder."""

    def __init__(self, bag_name: str, limits: Limits):
        self.bag = bag_name
        self.limits = limits
        self.count = 0
        self.kinds: dict[str, str] = {}

    def admit(self, raw: str, kind: str) -> str | None:
        """The bag-relative path of a member, or raise.  None for the top-level folder itself / '.'."""
        self.count += 1
        if self.count > self.limits.max_members:
            raise Refused("ARC-E007", "", f"more than {self.limits.max_members} members")
        name = _check_name(raw, self.limits)
        if name == "":
            if kind == "dir":
                return None
            raise Refused("ARC-E003", one_line(raw), "member has an empty name")
        top, _, rest = name.partition("/")
        if top != self.bag:
            raise Refused("ARC-E002", one_line(name, 200),
                          f"member is outside the top-level folder {self.bag!r} (the bag's name, from the archive's file name)")
        if not rest and kind != "dir":
            raise Refused("ARC-E002", one_line(name, 200), f"the top-level {self.bag!r} is a {kind}, not a folder")
        # Every parent must be (or become) a folder; the name itself must be new.
        parts = name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if self.kinds.setdefault(parent, "dir") != "dir":
                raise Refused("ARC-E006", one_line(name, 200), f"{one_line(parent)!r} is a file and also a folder")
        prev = self.kinds.get(name)
        if prev is not None and not (kind == "dir" and prev == "dir"):  # a folder may be named twice, harmlessly
            raise Refused("ARC-E006", one_line(name, 200), "member name appears twice" if prev == kind else "member is both a file and a folder")
        self.kinds[name] = kind
        return rest or None  # None: the top-level folder itself


def _refuse_kind(name: str, kind: str, target: str | None = None) -> None:
    shown = one_line(name, 200)
    if kind in ("symlink", "hardlink"):
        to = f" to {one_line(target or '', 200)!r}" if target is not None else ""
        raise Refused("ARC-E004", shown, f"member is a {'symbolic' if kind == 'symlink' else 'hard'} link{to}; links are refused")
    raise Refused("ARC-E005", shown, f"member is a {kind}; only regular files and folders are accepted")


_BROKEN = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, gzip.BadGzipFile, EOFError,
           NotImplementedError, UnicodeError, ValueError, RuntimeError, OverflowError)


def _broken(fmt: str, e: Exception, member: str = "") -> Refused:
    return Refused("ARC-E001", member, f"not a readable {fmt} archive: {one_line(str(e) or type(e).__name__, 200)}")


class _Checked(io.RawIOBase):
    """A member's reader whose format errors (truncated data, bad CRC) surface as Refused."""

    def __init__(self, source, fmt: str, member: str):
        self.source, self.fmt, self.member = source, fmt, member

    def readable(self):
        return True

    def read(self, n=-1):
        try:
            return self.source.read(CHUNK if n is None or n < 0 else n)
        except Refused:
            raise
        except _BROKEN as e:
            raise _broken(self.fmt, e, self.member) from None

    def readinto(self, b):
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def members(path: str, fmt: str, bag_name: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[Member, io.RawIOBase | None]]:
    """Every member, in archive order, with a reader for regular files (valid until the next member)."""
    try:
        if fmt == "zip":
            source = _zip_members(path, bag_name, limits)
        elif fmt in ("tar", "tar.gz"):
            source = _tar_members(path, fmt, bag_name, limits)
        else:
            raise Refused("ARC-E001", "", f"unknown archive format {fmt!r}")
        for m, reader in source:
            yield m, (_Checked(reader, fmt, m.path) if reader is not None else None)
    except Refused:
        raise
    except _BROKEN as e:
        raise _broken(fmt, e) from None


def _tar_members(path, fmt, bag_name, limits):
    gate = _Gate(bag_name, limits)
    with os.fdopen(open_regular(path), "rb") as raw:
        if fmt == "tar.gz":
            compressed = _Meter(raw, None, Limits(max_total_bytes=1 << 62, ratio_floor=1 << 62), "compressed")
            stream = _Meter(gzip.GzipFile(fileobj=compressed, mode="rb"), compressed, limits, "tar")
        else:
            stream = _Meter(raw, None, limits, "tar")
        tf = tarfile.open(fileobj=stream, mode="r|", encoding="utf-8", errors="surrogateescape")
        while True:
            stream.budget = limits.max_header_bytes  # only headers flow during next(): members are drained below
            ti = tf.next()
            stream.budget = None
            if ti is None:
                break
            if ti.isreg() and not ti.issparse():
                kind = "file"
            elif ti.isdir():
                kind = "dir"
            elif ti.issym():
                kind = "symlink"
            elif ti.islnk():
                kind = "hardlink"
            elif ti.isfifo():
                kind = "FIFO"
            elif ti.ischr() or ti.isblk():
                kind = "device"
            else:
                kind = "special member (tar type %r)" % ti.type.decode("latin-1", "replace")
            if kind not in ("file", "dir"):
                # The name is checked first: a link named '../x' is an escape before it is a link.
                _check_name(ti.name, limits)
                _refuse_kind(ti.name, kind, ti.linkname)
            rel = gate.admit(ti.name, kind)
            if rel is None:
                continue
            if kind == "dir":
                yield Member(rel, "dir", 0), None
                continue
            reader = tf.extractfile(ti)
            yield Member(rel, "file", ti.size), reader
            while reader.read(CHUNK):  # drain what the consumer left, so next() reads headers only
                pass
        # tarfile ends quietly at a damaged header; only zero padding may follow a real end.  Reading to
        # the end also makes gzip check its CRC and length, and a second archive appended is not ignored.
        while True:
            chunk = tf.fileobj.read(CHUNK)
            if not chunk:
                break
            if chunk.count(0) != len(chunk):
                raise Refused("ARC-E001", "", "data after the end of the tar archive (a damaged header, or members hidden after the end)")


def _zip_check_directory(raw, size: int, limits: Limits) -> None:
    """Walk the central directory ourselves before ``zipfile`` does, in bounded memory.

    ``zipfile.ZipFile`` builds a ZipInfo for every header in the directory, whatever the end record's
    entry count says, before we could count them: a directory of a million headers behind an end
    record that says "1" costs gigabytes.  So we find the directory exactly as zipfile will (the last
    end record; a zip64 record just before it) and count its headers, reading one header at a time.
    """
    tail_len = min(size, (1 << 16) + 22)
    raw.seek(size - tail_len)
    tail = raw.read(tail_len)
    # zipfile takes the last 22 bytes when they are an end record without comment, else the last signature.
    at = len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0" else tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise Refused("ARC-E001", "", "not a readable zip archive: no end-of-central-directory record")
    eocd = size - tail_len + at
    declared = int.from_bytes(tail[at + 10:at + 12], "little")
    cd_size = int.from_bytes(tail[at + 12:at + 16], "little")
    cd_end = eocd
    # zip64: zipfile trusts a locator + record found right before the end record (fixed sizes 20 and 56).
    if eocd >= 76:
        raw.seek(eocd - 76)
        z64 = raw.read(76)
        if z64[56:60] == b"PK\x06\x07" and z64[:4] == b"PK\x06\x06":
            declared = int.from_bytes(z64[32:40], "little")
            cd_size = int.from_bytes(z64[40:48], "little")
            cd_end = eocd - 76
    if declared > limits.max_members:
        raise Refused("ARC-E007", "", f"declares {declared} members; the limit is {limits.max_members}")
    # Each header is at least 46 bytes; a directory larger than the file or than any sane bag needs is a lie.
    if cd_size > cd_end or cd_size > limits.max_directory_bytes:
        raise Refused("ARC-E001", "", f"implausible zip central directory size ({cd_size} bytes)")
    raw.seek(cd_end - cd_size)
    left, count = cd_size, 0
    while left > 0:
        head = raw.read(46) if left >= 46 else b""
        if len(head) != 46 or head[:4] != b"PK\x01\x02":
            raise Refused("ARC-E001", "", "not a readable zip archive: damaged central directory")
        count += 1
        if count > limits.max_members:
            raise Refused("ARC-E007", "", f"more than {limits.max_members} members (the end record says {declared})")
        n, m, k = (int.from_bytes(head[i:i + 2], "little") for i in (28, 30, 32))
        if n > limits.max_name:
            raise Refused("ARC-E003", "", f"member name longer than {limits.max_name} bytes")
        left -= 46 + n + m + k
        raw.seek(n + m + k, os.SEEK_CUR)
    if left != 0 or count != declared:
        raise Refused("ARC-E001", "", f"the zip end record declares {declared} entries, the central directory holds "
                      f"{count}{'' if left == 0 else ' and does not end where it says'}")
    raw.seek(0)


def _zip_members(path, bag_name, limits):
    gate = _Gate(bag_name, limits)
    with os.fdopen(open_regular(path), "rb") as raw:
        archive_size = os.fstat(raw.fileno()).st_size
        _zip_check_directory(raw, archive_size, limits)  # bounded: before zipfile builds every entry
        zf = zipfile.ZipFile(raw)
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise Refused("ARC-E007", "", f"more than {limits.max_members} members")
        # Overlapping local entries are the trick of non-recursive zip bombs: refuse any overlap.
        ordered = sorted(infos, key=lambda i: i.header_offset)
        for a, b in zip(ordered, ordered[1:]):
            if a.header_offset + 30 + a.compress_size > b.header_offset:
                raise Refused("ARC-E009", one_line(b.filename, 200), "member data overlaps another member's (zip bomb)")
        if sum(i.compress_size for i in infos) > archive_size:
            raise Refused("ARC-E009", "", "declared compressed sizes exceed the archive's size")
        total = 0  # uncompressed bytes out, all members so far
        consumed = 0  # compressed bytes in, all members so far (upper bound)
        for info in ordered:
            mode = info.external_attr >> 16
            name = info.filename
            # The unix mode is honoured by unzip whatever create_system says, so it is checked whatever it says.
            if mode and not info.is_dir():
                fmt_bits = stat.S_IFMT(mode)
                if stat.S_ISLNK(mode):
                    _check_name(name, limits)
                    _refuse_kind(name, "symlink")
                if fmt_bits and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
                    _check_name(name, limits)
                    _refuse_kind(name, "FIFO" if stat.S_ISFIFO(mode) else "device" if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) else "special file")
            kind = "dir" if (info.is_dir() or stat.S_ISDIR(mode)) else "file"
            rel = gate.admit(name, kind)
            if info.flag_bits & 0x1:
                raise Refused("ARC-E009", one_line(name, 200), "member is encrypted")
            if rel is None:
                continue
            if kind == "dir":
                yield Member(rel, "dir", 0), None
                continue
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise Refused("ARC-E008", one_line(name, 200), f"member expands more than {limits.max_ratio}:1 (archive bomb)")
            consumed += info.compress_size
            with zf.open(info) as src:
                # One meter over the whole archive: many small members cannot add up to a bomb unseen.
                meter = _Meter(src, _Fixed(consumed), limits, name)
                meter.count = total
                yield Member(rel, "file", info.file_size), meter
                while meter.read(CHUNK):
                    pass
                size, total = meter.count - total, meter.count
                if size != info.file_size:
                    raise Refused("ARC-E001", one_line(name, 200), "member size differs from its header")


# --- a bag inside an archive, as a BagTree ------------------------------------------------


def _cacheable(rel: str) -> bool:
    return "/" not in rel or rel.startswith("data/metadata/")


_MANIFEST_NAME = re.compile(r"(?:tag)?manifest-([A-Za-z0-9_-]+)\.txt")


class ArchiveTree:
    """The ``tree.BagTree`` protocol over a tar/tar.gz/zip, without unpacking.

    ``scan()`` makes one pass: it checks every member through ``members()``
    (raising ``Refused``), lists the entries, and keeps tag files and
    ``data/metadata/*`` in memory (size-capped).  ``digests()`` hashes those
    from memory, and the others in one more sequential pass, unless the scan
    already hashed them (``prehash``, below).
    """

    def __init__(self, path: str, *, fmt: str | None = None, name: str | None = None, limits: Limits = DEFAULT_LIMITS,
                 prehash: bool = True):
        self.path = path
        split = split_name(path)
        self.fmt = fmt or (split[1] if split else None) or sniff(path) or "tar"
        self.name = name or (split[0] if split else os.path.basename(path))
        self.limits = limits
        self.media_type = MEDIA_TYPES.get(self.fmt)
        # prehash: the scan hashes each file it drains with the algorithms of the manifests it has
        # already passed (a bag's tag files come first in our archives, and usually in others), so
        # digests() need not read the archive again: receive of 300 bench bags, jobs=1, 2.1-3.0 -> 1.3-1.9 s
        # (with the regex name check; interleaved runs, same minute).
        self.prehash = prehash
        self._entries: list[Entry] | None = None
        self._cache: dict[str, bytes] = {}
        self._hashed: dict[str, dict[str, str]] = {}  # archive order; digests made by the scan
        self.total_bytes = 0

    def scan(self) -> "ArchiveTree":
        entries: dict[str, Entry] = {}
        cached = 0
        total = 0
        self._hashed = {}
        algorithms: list[str] = []  # of the manifests passed so far
        for m, reader in members(self.path, self.fmt, self.name, self.limits):
            parts = m.path.split("/")
            for i in range(1, len(parts)):
                entries.setdefault("/".join(parts[:i]), Entry("/".join(parts[:i]), "dir"))
            if m.kind == "dir":
                entries[m.path] = Entry(m.path, "dir")
                continue
            if _cacheable(m.path) and m.size <= self.limits.cache_file and cached + m.size <= self.limits.cache_total:
                # Ask for what the header declares (+1 to see more): a read of cache_file bytes
                # allocates that much and shrinks it, which fragmented the heap (receive of 1,000
                # small archives grew RSS by ~25 MB).  More data than declared is still read below.
                data = reader.read(min(self.limits.cache_file, m.size) + 1)
                while len(data) <= self.limits.cache_file:
                    more = reader.read(min(CHUNK, self.limits.cache_file + 1 - len(data)))
                    if not more:
                        break
                    data += more
                if len(data) <= self.limits.cache_file:
                    self._cache[m.path] = data
                    cached += len(data)
                size = len(data) + _drain(reader)
                if self.prehash and (named := _MANIFEST_NAME.fullmatch(m.path)) and named[1] in ALGORITHMS \
                        and named[1] not in algorithms:
                    algorithms.append(named[1])
            elif self.prehash and algorithms:
                size, self._hashed[m.path] = _drain_hashing(reader, algorithms)
            else:
                size = _drain(reader)
            total += size
            entries[m.path] = Entry(m.path, "file", size)
        self._entries = [entries[k] for k in sorted(entries)]
        self.total_bytes = total
        return self

    def entries(self) -> list[Entry]:
        if self._entries is None:
            self.scan()
        return list(self._entries)

    def read(self, path: str, limit: int) -> bytes:
        if self._entries is None:
            self.scan()
        if path in self._cache:
            data = self._cache[path]
            if len(data) > limit:
                raise TooLarge(f"{path}: larger than {limit} bytes")
            return data
        for m, reader in members(self.path, self.fmt, self.name, self.limits):
            if m.path == path and m.kind == "file":
                data = reader.read(min(limit, m.size) + 1)  # as in scan: never a limit-sized allocation
                while len(data) <= limit:
                    more = reader.read(min(CHUNK, limit + 1 - len(data)))
                    if not more:
                        break
                    data += more
                if len(data) > limit:
                    raise TooLarge(f"{path}: larger than {limit} bytes")
                return data
        raise FileNotFoundError(f"{path}: no such member")

    def digests(self, paths: Iterable[str], algorithms: Sequence[str]) -> Iterator[tuple[str, dict[str, str] | Exception]]:
        wanted = set(paths)
        algorithms = tuple(algorithms)
        if self._entries is None:
            self.scan()
        for p in sorted(wanted & self._cache.keys()):
            yield p, {a: hashlib.new(ALGORITHMS[a], self._cache[p]).hexdigest() for a in algorithms}
            wanted.discard(p)
        if wanted and all(p in self._hashed and all(a in self._hashed[p] for a in algorithms) for p in wanted):
            # The scan hashed them all: the same digests, in the same (archive) order, as a second pass.
            for p, got in self._hashed.items():
                if p in wanted:
                    yield p, {a: got[a] for a in algorithms}
            return
        if wanted:
            for m, reader in members(self.path, self.fmt, self.name, self.limits):
                if m.kind == "file" and m.path in wanted:
                    wanted.discard(m.path)
                    yield m.path, _drain_hashing(reader, algorithms)[1]
        for p in sorted(wanted):
            yield p, FileNotFoundError(f"{p}: no such member")


def _drain_hashing(reader, algorithms: Sequence[str]) -> tuple[int, dict[str, str]]:
    """Read the rest of a member, hashing it: (bytes read, digests)."""
    hashers = [hashlib.new(ALGORITHMS[a]) for a in algorithms]
    n = 0
    while True:
        chunk = reader.read(CHUNK)
        if not chunk:
            return n, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}
        n += len(chunk)
        for h in hashers:
            h.update(chunk)


def _drain(reader) -> int:
    n = 0
    while True:
        chunk = reader.read(CHUNK)
        if not chunk:
            return n
        n += len(chunk)


# --- unpacking ---------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def unpack(path: str, fmt: str, bag_name: str, staging: str, limits: Limits = DEFAULT_LIMITS) -> str:
    """Write the archive's bag under ``staging`` (a fresh, empty folder we own); return the bag folder.

    Every member goes through ``members()`` again (the file could have
    changed since it was scanned).  Files are created with O_EXCL|O_NOFOLLOW
    relative to folder descriptors reached with O_NOFOLLOW: nothing is ever
    written through a link, nothing existing is overwritten.  The caller
    removes ``staging`` on failure.
    """
    root_fd = os.open(staging, _DIR_FLAGS)
    try:
        os.mkdir(bag_name, 0o755, dir_fd=root_fd)
        bag_fd = os.open(bag_name, _DIR_FLAGS, dir_fd=root_fd)
    finally:
        os.close(root_fd)
    try:
        for m, reader in members(path, fmt, bag_name, limits):
            parts = m.path.split("/")
            dfd = os.dup(bag_fd)
            try:
                for part in parts[:-1]:
                    try:
                        os.mkdir(part, 0o755, dir_fd=dfd)
                    except FileExistsError:
                        pass
                    nfd = os.open(part, _DIR_FLAGS, dir_fd=dfd)
                    os.close(dfd)
                    dfd = nfd
                if m.kind == "dir":
                    try:
                        os.mkdir(parts[-1], 0o755, dir_fd=dfd)
                    except FileExistsError:
                        os.close(os.open(parts[-1], _DIR_FLAGS, dir_fd=dfd))  # must be a real folder
                    continue
                fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644, dir_fd=dfd)
                with os.fdopen(fd, "wb") as out:
                    while True:
                        chunk = reader.read(CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            finally:
                os.close(dfd)
        os.fsync(bag_fd)
    finally:
        os.close(bag_fd)
    return os.path.join(staging, bag_name)
