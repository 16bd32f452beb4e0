"""Builders of hostile archives for the receive tests.

Each builder writes one archive at ``dest`` (its file name decides the bag
name the receiver expects) that holds a small VALID bag plus one attack, so a
refusal can only be caused by the attack.  ``ATTACKS`` maps a name to
(builder, suffix, expected ARC code); tests iterate it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import stat
import tarfile
import zipfile
from pathlib import Path


def bag_files(name: str = "bag") -> list[tuple[str, bytes]]:
    """A minimal valid BagIt 1.0 bag as (archive path, bytes), top folder ``name``."""
    payload = {"data/hello.txt": b"hello, library\n"}
    manifest = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in payload.items()).encode()
    bagit = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    oxum = f"{sum(len(v) for v in payload.values())}.{len(payload)}"
    info = f"Source-Organization: Test Org\nBagging-Date: 2024-05-01\nPayload-Oxum: {oxum}\n".encode()
    tags = {"bagit.txt": bagit, "bag-info.txt": info, "manifest-sha256.txt": manifest}
    tagman = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in tags.items()).encode()
    files = {**tags, "tagmanifest-sha256.txt": tagman, **payload}
    return [(f"{name}/{k}", v) for k, v in sorted(files.items())]


# --- tar ----------------------------------------------------------------------------------


def _tar_file(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    return ti, io.BytesIO(data)


def _tar(dest: Path, extra: list, *, gz: bool = False, name: str = "bag", fmt=tarfile.PAX_FORMAT, before: bool = False) -> Path:
    """A tar of the valid bag with ``extra`` (TarInfo, fileobj|None) members appended (or prepended)."""
    raw = open(dest, "wb")
    fileobj = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") if gz else raw
    with tarfile.open(fileobj=fileobj, mode="w", format=fmt) as tf:
        if before:
            for ti, f in extra:
                tf.addfile(ti, f)
        for path, data in bag_files(name):
            tf.addfile(*_tar_file(path, data))
        if not before:
            for ti, f in extra:
                tf.addfile(ti, f)
    if gz:
        fileobj.close()
    raw.close()
    return dest


def tar_dotdot(dest: Path) -> Path:
    return _tar(dest, [_tar_file("bag/../../evil.txt", b"pwned\n")])


def tar_absolute(dest: Path) -> Path:
    return _tar(dest, [_tar_file("/tmp/archiver-evil-absolute.txt", b"pwned\n")])


def tar_symlink_then_write(dest: Path) -> Path:
    """A symlink pointing outside, then a file written 'through' it."""
    link = tarfile.TarInfo("bag/data/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "../../.."
    return _tar(dest, [(link, None), _tar_file("bag/data/link/evil.txt", b"pwned\n")])


def tar_pax_path(dest: Path) -> Path:
    """An innocent ustar name overridden by a pax 'path' record that escapes."""
    ti, f = _tar_file("bag/data/innocent.txt", b"pwned\n")
    ti.pax_headers = {"path": "bag/../../evil.txt"}
    return _tar(dest, [(ti, f)])


def tar_hardlink(dest: Path) -> Path:
    hl = tarfile.TarInfo("bag/data/passwd")
    hl.type = tarfile.LNKTYPE
    hl.linkname = "/etc/passwd"
    return _tar(dest, [(hl, None)])


def tar_fifo(dest: Path) -> Path:
    ti = tarfile.TarInfo("bag/data/pipe")
    ti.type = tarfile.FIFOTYPE
    return _tar(dest, [(ti, None)])


def tar_device(dest: Path) -> Path:
    ti = tarfile.TarInfo("bag/data/null")
    ti.type = tarfile.CHRTYPE
    ti.devmajor, ti.devminor = 1, 3
    return _tar(dest, [(ti, None)])


def tar_wrong_top(dest: Path) -> Path:
    """The archive is named after one bag but its folder is another (dest must be bag.tar)."""
    return _tar(dest, [], name="other")


def tar_two_tops(dest: Path) -> Path:
    return _tar(dest, [_tar_file("sibling/evil.txt", b"x")])


def tar_duplicate(dest: Path) -> Path:
    """The same name twice: the second would silently replace the checked first."""
    return _tar(dest, [_tar_file("bag/data/hello.txt", b"replaced\n")])


def tar_file_and_folder(dest: Path) -> Path:
    return _tar(dest, [_tar_file("bag/data/hello.txt/inner", b"x")])


def tar_top_is_file(dest: Path) -> Path:
    return _tar(dest, [_tar_file("bag", b"x")], before=True)


class _Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


_BUILT: dict[tuple, bytes] = {}  # slow builds are made once per test session


def gzip_bomb(dest: Path, size: int = 48 << 20) -> Path:
    """A tar.gz whose member of zeros expands ~1000:1 (dest must end .tar.gz)."""
    if ("gzip", size) in _BUILT:
        Path(dest).write_bytes(_BUILT["gzip", size])
        return dest
    ti = tarfile.TarInfo("bag/data/zeros.bin")
    ti.size = size
    raw = open(dest, "wb")
    gz = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=9)
    with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in bag_files():
            tf.addfile(*_tar_file(path, data))
        tf.addfile(ti, io.BufferedReader(_Zeros(size), 1 << 20))
    gz.close()
    raw.close()
    _BUILT["gzip", size] = Path(dest).read_bytes()
    return dest


def tar_many_members(dest: Path, n: int = 2_000) -> Path:
    return _tar(dest, [_tar_file(f"bag/data/f{i:06d}", b"") for i in range(n)])


def tar_huge_header(dest: Path) -> Path:
    """A GNU long-name header of 2 MiB: memory for a name, before any size check could see it."""
    return _tar(dest, [_tar_file("bag/data/" + "a" * (2 << 20), b"x")], fmt=tarfile.GNU_FORMAT)


def tar_lying_size(dest: Path) -> Path:
    """A header claiming 1 GiB on a file that ends right after it (truncated)."""
    _tar(dest, [])
    data = bytearray(Path(dest).read_bytes())
    ti = tarfile.TarInfo("bag/data/big.bin")
    ti.size = 1 << 30
    header = ti.tobuf(tarfile.USTAR_FORMAT)
    # Replace the end-of-archive blocks by the lying header and a little data.
    end = len(data) - 1024
    while end > 0 and data[end - 512:end] == bytes(512):
        end -= 512
    Path(dest).write_bytes(bytes(data[:end]) + header + b"x" * 512)
    return dest


def tar_appended(dest: Path) -> Path:
    """A second archive after the first one's end: members a reader stopping at the end never sees."""
    _tar(dest, [])
    first = Path(dest).read_bytes()
    _tar(dest, [_tar_file("bag/data/hidden.txt", b"smuggled\n")])
    Path(dest).write_bytes(first + Path(dest).read_bytes())
    return dest


def tgz_corrupted(dest: Path) -> Path:
    """A tar.gz with one byte flipped mid-stream."""
    _tar(dest, [_tar_file("bag/data/filler.bin", bytes(range(256)) * 400)], gz=True)
    data = bytearray(Path(dest).read_bytes())
    data[len(data) // 2] ^= 0x55
    Path(dest).write_bytes(bytes(data))
    return dest


def not_an_archive(dest: Path) -> Path:
    Path(dest).write_bytes(b"this is plain text pretending to be a tar\n" * 20)
    return dest


# --- zip ----------------------------------------------------------------------------------


def _zip(dest: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]], name: str = "bag") -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names: that is the point
        with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path, data in bag_files(name):
                zf.writestr(path, data)
            for zi, data in extra:
                zf.writestr(zi, data)
    return dest


def zip_slip(dest: Path) -> Path:
    return _zip(dest, [("bag/../../evil.txt", b"pwned\n")])


def zip_absolute(dest: Path) -> Path:
    return _zip(dest, [("/tmp/archiver-evil-zip-absolute.txt", b"pwned\n")])


def zip_backslash(dest: Path) -> Path:
    return _zip(dest, [("bag\\..\\..\\evil.txt", b"pwned\n")])


def zip_drive(dest: Path) -> Path:
    return _zip(dest, [("C:/Windows/evil.txt", b"pwned\n")])


def zip_symlink(dest: Path) -> Path:
    zi = zipfile.ZipInfo("bag/data/link")
    zi.create_system = 3
    zi.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip(dest, [(zi, b"/etc")])


def zip_fifo(dest: Path) -> Path:
    zi = zipfile.ZipInfo("bag/data/pipe")
    zi.create_system = 3
    zi.external_attr = (stat.S_IFIFO | 0o644) << 16
    return _zip(dest, [(zi, b"")])


def zip_duplicate(dest: Path) -> Path:
    return _zip(dest, [("bag/data/hello.txt", b"replaced\n")])


def zip_wrong_top(dest: Path) -> Path:
    return _zip(dest, [], name="other")


def zip_bomb(dest: Path, size: int = 48 << 20) -> Path:
    zi = zipfile.ZipInfo("bag/data/zeros.bin")
    zi.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(dest, "w") as zf:
        for path, data in bag_files():
            zf.writestr(path, data)
        with zf.open(zi, "w") as out:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                out.write(chunk)
    return dest


def zip_spread_bomb(dest: Path, members: int = 40, each: int = 1 << 20) -> Path:
    """Many members each too small to look like a bomb, adding up to one."""
    return _zip(dest, [(f"bag/data/z{i:03d}.bin", bytes(each)) for i in range(members)])


def zip_many_members(dest: Path, n: int = 2_000) -> Path:
    return _zip(dest, [(f"bag/data/f{i:06d}", b"") for i in range(n)])


def zip_encrypted_flag(dest: Path) -> Path:
    _zip(dest, [])
    data = bytearray(Path(dest).read_bytes())
    # Set the "encrypted" bit on every central-directory entry (signature PK\x01\x02, flags at +8).
    i = data.find(b"PK\x01\x02")
    while i != -1:
        data[i + 8] |= 1
        i = data.find(b"PK\x01\x02", i + 4)
    Path(dest).write_bytes(bytes(data))
    return dest


# name -> (builder, file name to build, ARC code expected)
ATTACKS = {
    "tar-dotdot": (tar_dotdot, "bag.tar", "ARC-E003"),
    "tar-absolute": (tar_absolute, "bag.tar", "ARC-E003"),
    "tar-symlink-then-write": (tar_symlink_then_write, "bag.tar", "ARC-E004"),
    "tar-hardlink": (tar_hardlink, "bag.tar", "ARC-E004"),
    "tar-pax-path": (tar_pax_path, "bag.tar", "ARC-E003"),
    "tar-fifo": (tar_fifo, "bag.tar", "ARC-E005"),
    "tar-device": (tar_device, "bag.tar", "ARC-E005"),
    "tar-wrong-top": (tar_wrong_top, "bag.tar", "ARC-E002"),
    "tar-two-tops": (tar_two_tops, "bag.tar", "ARC-E002"),
    "tar-top-is-file": (tar_top_is_file, "bag.tar", "ARC-E002"),
    "tar-duplicate": (tar_duplicate, "bag.tar", "ARC-E006"),
    "tar-file-and-folder": (tar_file_and_folder, "bag.tar", "ARC-E006"),
    "tar-huge-header": (tar_huge_header, "bag.tar", "ARC-E008"),
    "tar-lying-size": (tar_lying_size, "bag.tar", "ARC-E001"),
    "gzip-bomb": (gzip_bomb, "bag.tar.gz", "ARC-E008"),
    "not-an-archive": (not_an_archive, "bag.tar", "ARC-E026"),
    "tar-appended": (tar_appended, "bag.tar", "ARC-E001"),
    "tgz-corrupted": (tgz_corrupted, "bag.tar.gz", "ARC-E001"),
    "zip-slip": (zip_slip, "bag.zip", "ARC-E003"),
    "zip-absolute": (zip_absolute, "bag.zip", "ARC-E003"),
    "zip-backslash": (zip_backslash, "bag.zip", "ARC-E003"),
    "zip-drive": (zip_drive, "bag.zip", "ARC-E003"),
    "zip-symlink": (zip_symlink, "bag.zip", "ARC-E004"),
    "zip-fifo": (zip_fifo, "bag.zip", "ARC-E005"),
    "zip-duplicate": (zip_duplicate, "bag.zip", "ARC-E006"),
    "zip-wrong-top": (zip_wrong_top, "bag.zip", "ARC-E002"),
    "zip-bomb": (zip_bomb, "bag.zip", "ARC-E008"),
    "zip-encrypted": (zip_encrypted_flag, "bag.zip", "ARC-E009"),
}
