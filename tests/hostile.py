"""Bag builders for validator tests: a correct bag, then any hostile change to it.

Written by hand (not with bagit-python) so a test can put exactly the bytes it
wants into any tag file, including ones no sane tool would write.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def digest(data: bytes, alg: str) -> str:
    return hashlib.new(alg, data).hexdigest()


def write_bag(
    root: Path,
    payload: dict[str, bytes],
    *,
    version: str = "1.0",
    algs=("sha256", "sha512"),
    info: list[tuple[str, str]] | None = None,
    tag_algs=None,
    encoding: str = "UTF-8",
) -> Path:
    """A valid bag at ``root``: payload paths are relative to data/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    for rel, data in payload.items():
        p = root / "data" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "bagit.txt").write_bytes(f"BagIt-Version: {version}\nTag-File-Character-Encoding: {encoding}\n".encode())
    octets = sum(len(d) for d in payload.values())
    elements = list(info) if info is not None else [("Bagging-Date", "2025-01-02"), ("Payload-Oxum", f"{octets}.{len(payload)}")]
    (root / "bag-info.txt").write_bytes("".join(f"{k}: {v}\n" for k, v in elements).encode(encoding))
    for alg in algs:
        lines = "".join(f"{digest(d, alg)}  data/{encode(rel)}\n" for rel, d in sorted(payload.items()))
        (root / f"manifest-{alg}.txt").write_bytes(lines.encode(encoding))
    retag(root, tag_algs or algs)
    return root


def encode(path: str) -> str:
    """RFC 8493 §2.1.3 path encoding."""
    return path.replace("%", "%25").replace("\n", "%0A").replace("\r", "%0D")


def retag(root: Path, algs=("sha256", "sha512")) -> None:
    """(Re)write tag manifests over every top-level tag file, so a test's edit is 'signed'."""
    for old in root.glob("tagmanifest-*.txt"):
        old.unlink()
    tags = sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-"))
    for alg in algs:
        lines = "".join(f"{digest((root / n).read_bytes(), alg)}  {n}\n" for n in tags)
        (root / f"tagmanifest-{alg}.txt").write_text(lines)


def add_manifest_line(root: Path, line: str, alg: str = "sha256", sign: bool = True) -> None:
    p = root / f"manifest-{alg}.txt"
    p.write_bytes(p.read_bytes() + line.encode() + b"\n")
    if sign:
        retag(root)


def add_fetch_line(root: Path, line: str, sign: bool = True) -> None:
    p = root / "fetch.txt"
    p.write_bytes((p.read_bytes() if p.exists() else b"") + line.encode() + b"\n")
    if sign:
        retag(root)


# Every way a path can try to leave the bag (the class, not a list: tests combine these).
ESCAPES = [
    "../outside.txt",
    "data/../../outside.txt",
    "data/./../../outside.txt",
    "/etc/passwd",
    "~/outside.txt",
    "~root/outside.txt",
    "C:/outside.txt",
    "c:outside.txt",
    "data\\..\\..\\outside.txt",
    "..\\outside.txt",
    "\\\\server\\share\\outside.txt",
    "data//x.txt",
    "data/%2e%2e/%2e%2e/outside.txt",  # not decoded (only %0A %0D %25 are), so it is a plain missing name
]


def mkfifo(path: Path) -> bool:
    try:
        os.mkfifo(path)
        return True
    except (AttributeError, OSError):
        return False


def resign(root: Path) -> None:
    """Make the BagIt layer agree with whatever the payload now holds (manifests, Payload-Oxum, tag manifests).

    What is left to catch a change is then only what the bag says about itself
    elsewhere: our METS and record.json.
    """
    algs = sorted(p.name[len("manifest-"):-len(".txt")] for p in root.glob("manifest-*.txt"))
    files = sorted(p for p in (root / "data").rglob("*") if p.is_file())
    for alg in algs:
        (root / f"manifest-{alg}.txt").write_text(
            "".join(f"{digest(p.read_bytes(), alg)}  {encode(p.relative_to(root).as_posix())}\n" for p in files))
    info = root / "bag-info.txt"
    if info.exists():
        oxum = f"Payload-Oxum: {sum(p.stat().st_size for p in files)}.{len(files)}"
        lines = [oxum if line.startswith("Payload-Oxum:") else line for line in info.read_text().splitlines()]
        info.write_text("".join(line + "\n" for line in lines))
    tag_algs = sorted(p.name[len("tagmanifest-"):-len(".txt")] for p in root.glob("tagmanifest-*.txt")) or algs
    retag(root, tag_algs)
